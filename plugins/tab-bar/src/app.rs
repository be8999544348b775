//! The bar's state machine: Zellij events, mouse and pushed events in, [`Effect`]s out.
//!
//! [`App`] never calls Zellij, so it runs natively in tests; [`crate::host::run`] performs the
//! effects and [`crate::view::bar`] draws the state.
//!
//! Zellij runs one instance of the bar per tab and client. Only the instance a client sees
//! reads iMi's status on the timer, so a client costs one request per [`POLL`] at most, and
//! none while no tab is, or looks like, a worktree; hidden instances remember that something
//! changed and read again when they are shown.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bridge_client::imi::WORKTREE_TOPIC_PREFIX;
use bridge_client::{BridgeClient, BridgeConfig, BridgeError, Completion};
use bridge_protocol::{Grant, Request, RequestId, Response};
use zellij_tile::prelude::{
    Event, EventType, InputMode, Mouse, PaneManifest, PermissionStatus, PermissionType,
    PipeMessage, Styling, TabInfo,
};

use crate::status::{looks_like_worktree, read_status, Badge};

/// What the bar asks Zellij to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Subscribes to events.
    Subscribe(Vec<EventType>),
    /// Stops the delivery of events.
    Unsubscribe(Vec<EventType>),
    /// Requests permissions; Zellij answers with a `PermissionRequestResult` event.
    RequestPermission(Vec<PermissionType>),
    /// Makes the bar's pane (un)selectable: the bar never takes the focus.
    SetSelectable(bool),
    /// Talks to host-bridge: web requests and wake-ups of the bridge client.
    Bridge(Vec<bridge_client::Effect>),
    /// Asks for a `Timer` event after this long.
    WakeAfter(Duration),
    /// Switches the client to the tab at this 1-based index (`switch_tab_to`).
    SwitchTab(u32),
    /// Asks for the client's mode again (`bridge_protocol::REFRESH_PIPE`).
    AskForUpdates,
    /// Writes a line to Zellij's log.
    Log(String),
}

/// The events the bar subscribes to when it loads.
pub const SUBSCRIPTIONS: [EventType; 7] = [
    // The tabs, and which one the client is on.
    EventType::TabUpdate,
    // The input mode, the theme and the session's name.
    EventType::ModeUpdate,
    EventType::Visible,
    // Clicks and scrolling switch tabs.
    EventType::Mouse,
    EventType::PermissionRequestResult,
    EventType::WebRequestResult,
    // The refresh timer and the bridge client's deadlines and retries.
    EventType::Timer,
];

/// Subscribed to only while worktree tabs are open: which tab holds this instance, so that
/// only the shown instance reads iMi's status. Every pane change sends it to every instance
/// (one per tab and client), which a session of many tabs and panes should not pay for when
/// nothing is read.
pub const PANE_EVENTS: [EventType; 1] = [EventType::PaneUpdate];

/// The permissions it asks for, as `bridge_protocol::permissions::TAB_BAR` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::TAB_BAR)
});

/// How often the shown bar reads iMi's status while worktree tabs are open: file changes in a
/// worktree push no event, so the dirty count follows them at this pace.
pub const POLL: Duration = Duration::from_secs(5);

pub use bridge_client::Permissions;

/// A clickable stretch of the bar: columns `start..end` switch to the tab at `position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub position: usize,
}

/// The bar's state. Fields are read by [`crate::view`].
#[derive(Debug)]
pub struct App {
    permissions: Permissions,
    bridge: Option<BridgeClient>,
    /// The folder iMi finds the project from.
    cwd: Option<String>,
    /// This instance's plugin id, to find its own tab in pane updates.
    plugin_id: Option<u32>,
    pub(crate) tabs: Vec<TabInfo>,
    pub(crate) mode: InputMode,
    pub(crate) styling: Styling,
    pub(crate) session: Option<String>,
    pub(crate) hide_session_name: bool,
    /// The last status read, by worktree name.
    pub(crate) worktrees: BTreeMap<String, Badge>,
    /// Whether a tab update has come: the first read waits for the tabs.
    tabs_known: bool,
    /// Whether a status has ever been read.
    read_once: bool,
    /// The status request whose answer is awaited.
    loading: Option<RequestId>,
    /// Something changed while the status was being read: read it again.
    reload: bool,
    /// Something changed while the bar was hidden: read again when shown.
    stale: bool,
    /// When the status was last answered (or failed).
    read_at: Option<Instant>,
    /// The tab names when the status was last asked for: a new one is worth asking about.
    asked_names: BTreeSet<String>,
    /// The position of the tab holding this instance, from pane updates.
    my_tab: Option<usize>,
    /// Whether [`PANE_EVENTS`] are subscribed to.
    panes_subscribed: bool,
    /// The last `Visible` event, for when the pane updates have not placed the bar yet.
    visible_event: Option<bool>,
    was_visible: bool,
    /// When the refresh timer is due.
    next_poll: Option<Instant>,
    /// The last failure logged, so that a bridge that stays away is logged once.
    last_error: Option<String>,
    /// The clickable stretches of the bar as last drawn: clicks are mapped on them.
    hits: Vec<Hit>,
    /// When the bar asked for its permissions (a late grant makes it ask again).
    asked: Option<bridge_protocol::PermissionAsk>,
    /// Whether the client's mode came (a tab update without it means it was dropped).
    mode_seen: bridge_protocol::ModeSeen,
}

impl Default for App {
    fn default() -> Self {
        App {
            permissions: Permissions::Pending,
            bridge: None,
            cwd: None,
            plugin_id: None,
            tabs: Vec::new(),
            mode: InputMode::Normal,
            styling: Styling::default(),
            session: None,
            hide_session_name: false,
            worktrees: BTreeMap::new(),
            tabs_known: false,
            read_once: false,
            loading: None,
            reload: false,
            // The first read is decided in `settle`, by whether a tab could be a worktree.
            stale: false,
            read_at: None,
            asked_names: BTreeSet::new(),
            my_tab: None,
            panes_subscribed: false,
            visible_event: None,
            was_visible: false,
            next_poll: None,
            last_error: None,
            hits: Vec::new(),
            asked: None,
            mode_seen: bridge_protocol::ModeSeen::default(),
        }
    }
}

impl App {
    /// Notes what the bar drew: the stretches a click on it switches tabs with.
    pub fn drawn(&mut self, hits: Vec<Hit>) {
        self.hits = hits;
    }

    /// Starts the bar: reads the bridge's address and the project's folder (`cwd` in the
    /// configuration, else `initial_cwd`), subscribes and requests permissions. Without a bridge
    /// the bar still shows the tabs.
    pub fn load(
        &mut self,
        configuration: &BTreeMap<String, String>,
        initial_cwd: Option<String>,
        plugin_id: Option<u32>,
    ) -> Vec<Effect> {
        let mut effects = vec![
            Effect::SetSelectable(false),
            Effect::Subscribe(SUBSCRIPTIONS.to_vec()),
            Effect::RequestPermission(PERMISSIONS.to_vec()),
        ];
        self.asked = Some(bridge_protocol::PermissionAsk::new(Instant::now()));
        match BridgeConfig::from_plugin_config(configuration) {
            Ok(config) => self.bridge = Some(BridgeClient::new(config)),
            Err(e) => effects.push(Effect::Log(format!(
                "perth-tab-bar: no worktree status: {e}"
            ))),
        }
        self.cwd = configuration
            .get("cwd")
            .cloned()
            .or(initial_cwd)
            .filter(|c| !c.is_empty());
        self.plugin_id = plugin_id;
        effects
    }

    /// Handles one Zellij event; returns whether to draw again and what to do.
    pub fn update(&mut self, event: Event, now: Instant) -> (bool, Vec<Effect>) {
        let mut effects = Vec::new();
        let render = match event {
            Event::PermissionRequestResult(PermissionStatus::Granted) => {
                self.permissions = Permissions::Granted;
                if let Some(wait) = self.mode_seen.granted(now) {
                    effects.push(Effect::WakeAfter(wait));
                }
                match self.asked.as_mut().map(|a| a.granted(now)) {
                    Some(Grant::AskAgain) => {
                        effects.push(Effect::RequestPermission(PERMISSIONS.to_vec()))
                    }
                    Some(Grant::AfterAskingAgain) => effects.push(Effect::AskForUpdates),
                    Some(Grant::InTime) | None => {}
                }
                true
            }
            Event::PermissionRequestResult(PermissionStatus::Denied) => {
                self.permissions = Permissions::Denied;
                true
            }
            Event::TabUpdate(tabs) => {
                if self.mode_seen.tabs(now) {
                    effects.push(Effect::AskForUpdates);
                }
                effects.extend(self.mode_seen.follow_up().map(Effect::WakeAfter));
                let changed = tabs != self.tabs;
                self.tabs = tabs;
                self.tabs_known = true;
                self.new_names(now, &mut effects);
                changed
            }
            Event::ModeUpdate(mode) => {
                self.mode_seen.mode();
                let before = (
                    self.mode,
                    self.styling,
                    self.hide_session_name,
                    self.session.clone(),
                );
                self.mode = mode.mode;
                self.styling = mode.style.colors;
                self.hide_session_name = mode.style.hide_session_name;
                if mode.session_name.is_some() {
                    self.session = mode.session_name;
                }
                before
                    != (
                        self.mode,
                        self.styling,
                        self.hide_session_name,
                        self.session.clone(),
                    )
            }
            Event::PaneUpdate(manifest) => {
                self.my_tab = self.find_my_tab(&manifest).or(self.my_tab);
                false
            }
            Event::Visible(visible) => {
                self.visible_event = Some(visible);
                false
            }
            Event::Mouse(mouse) => {
                self.mouse(mouse, &mut effects);
                false
            }
            Event::Timer(_) => self.timer(now, &mut effects),
            Event::WebRequestResult(status, headers, body, context) => {
                let answered = self
                    .bridge
                    .as_mut()
                    .filter(|_| BridgeClient::owns(&context))
                    .map(|b| b.on_web_result(status, &headers, &body, &context, now));
                match answered {
                    Some((done, retries)) => {
                        push_bridge(retries, &mut effects);
                        done.is_some_and(|done| self.finish(done, now, &mut effects))
                    }
                    None => false,
                }
            }
            _ => false,
        };
        self.settle(now, &mut effects);
        (render, effects)
    }

    /// Handles a pipe message: host-bridge's pushes about worktrees read the status again (at
    /// once when shown, else once shown); every other pipe is not the bar's.
    pub fn pipe(&mut self, message: PipeMessage, now: Instant) -> (bool, Vec<Effect>) {
        let mut effects = Vec::new();
        if message.name == bridge_protocol::REDRAW_PIPE {
            return (true, effects);
        }
        let Some(Ok(event)) = bridge_client::decode_push(&message.name, message.payload.as_deref())
        else {
            return (false, effects);
        };
        if event.topic.starts_with(WORKTREE_TOPIC_PREFIX) {
            if self.visible() {
                self.refresh(now, &mut effects);
            } else {
                self.stale = true;
            }
        }
        self.settle(now, &mut effects);
        (false, effects)
    }

    /// Returns whether the client this instance draws for is looking at it.
    pub fn visible(&self) -> bool {
        if let Some(tab) = self
            .my_tab
            .and_then(|pos| self.tabs.iter().find(|t| t.position == pos))
        {
            return tab.active;
        }
        self.visible_event.unwrap_or(true)
    }

    /// Returns whether reading iMi's status on the timer is worth it: a tab is a known
    /// worktree, or, before any status was read, looks like one.
    pub fn wants_poll(&self) -> bool {
        self.bridge.is_some()
            && self.permissions == Permissions::Granted
            && self.tabs.iter().any(|t| {
                self.worktrees.contains_key(&t.name)
                    || (!self.read_once && looks_like_worktree(&t.name))
            })
    }

    fn find_my_tab(&self, manifest: &PaneManifest) -> Option<usize> {
        let id = self.plugin_id?;
        manifest
            .panes
            .iter()
            .find(|(_, panes)| panes.iter().any(|p| p.is_plugin && p.id == id))
            .map(|(position, _)| *position)
    }

    /// A tab whose name the last request did not know, and that looks like a worktree (one iMi
    /// just opened), is read about at once.
    fn new_names(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let fresh = self.tabs.iter().any(|t| {
            !self.asked_names.contains(&t.name)
                && !self.worktrees.contains_key(&t.name)
                && looks_like_worktree(&t.name)
        });
        if !fresh {
            return;
        }
        if self.visible() {
            self.refresh(now, effects);
        } else {
            self.stale = true;
        }
    }

    /// Reads again when the bar is shown after a change, and keeps the timer running while
    /// it is shown and worth it.
    fn settle(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted || !self.tabs_known {
            return;
        }
        let wants_panes = self.wants_poll();
        if wants_panes != self.panes_subscribed {
            self.panes_subscribed = wants_panes;
            if wants_panes {
                effects.push(Effect::Subscribe(PANE_EVENTS.to_vec()));
            } else {
                // What the last pane event said may be stale by the time they come again.
                self.my_tab = None;
                effects.push(Effect::Unsubscribe(PANE_EVENTS.to_vec()));
            }
        }
        let visible = self.visible();
        if visible && !self.was_visible && self.loading.is_none() {
            // Before the first read, only when a tab could be a worktree: a session without
            // one makes no request at all (a request's HTTP client costs a new session's start).
            let old = self
                .read_at
                .map_or_else(|| self.wants_poll(), |at| now >= at + POLL);
            if self.stale || old {
                self.refresh(now, effects);
            }
        }
        self.was_visible = visible;
        if visible && self.next_poll.is_none() && self.wants_poll() {
            self.next_poll = Some(now + POLL);
            effects.push(Effect::WakeAfter(POLL));
        }
    }

    /// Asks host-bridge for the status, or for it again once the current request is answered.
    fn refresh(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted {
            self.stale = true;
            return;
        }
        let (Some(bridge), Some(cwd)) = (self.bridge.as_mut(), self.cwd.clone()) else {
            return;
        };
        if self.loading.is_some() {
            self.reload = true;
            return;
        }
        // The bar shows no agents: it spares every session the `perth agents` call.
        let request = Request::ImiStatus {
            project: Some(cwd),
            key: None,
            agents: false,
        };
        let (id, bridge_effects) = bridge.request(request, now);
        effects.push(Effect::Bridge(bridge_effects));
        self.loading = Some(id);
        self.reload = false;
        self.stale = false;
        self.asked_names = self.tabs.iter().map(|t| t.name.clone()).collect();
    }

    fn mouse(&mut self, mouse: Mouse, effects: &mut Vec<Effect>) {
        let active = self.tabs.iter().find(|t| t.active).map(|t| t.position);
        let target = match mouse {
            Mouse::LeftClick(_, col) => self
                .hits
                .iter()
                .find(|h| (h.start..h.end).contains(&col))
                .map(|h| h.position),
            Mouse::ScrollUp(_) | Mouse::ScrollLeft(_) => active.and_then(|a| a.checked_sub(1)),
            Mouse::ScrollDown(_) | Mouse::ScrollRight(_) => active
                .map(|a| a + 1)
                .filter(|next| self.tabs.iter().any(|t| t.position == *next)),
            _ => None,
        };
        if let Some(position) = target.filter(|p| Some(*p) != active) {
            effects.push(Effect::SwitchTab(position as u32 + 1));
        }
    }

    fn timer(&mut self, now: Instant, effects: &mut Vec<Effect>) -> bool {
        if self.mode_seen.due(now) {
            effects.push(Effect::AskForUpdates);
        }
        effects.extend(self.mode_seen.follow_up().map(Effect::WakeAfter));
        let (done, retries) = match self.bridge.as_mut() {
            Some(bridge) => bridge.on_timer(now),
            None => Default::default(),
        };
        push_bridge(retries, effects);
        let mut render = false;
        for completion in done {
            render |= self.finish(completion, now, effects);
        }
        // Zellij's timer events carry no name and the bridge client asks for wake-ups too, so
        // the poll counts only once its time has come.
        let due = self
            .next_poll
            .is_some_and(|at| now + Duration::from_millis(10) >= at);
        if due {
            self.next_poll = None;
            if self.visible() && self.wants_poll() {
                self.refresh(now, effects);
            }
        }
        render
    }

    /// Handles a finished request; returns whether to draw again.
    fn finish(&mut self, done: Completion, now: Instant, effects: &mut Vec<Effect>) -> bool {
        if self.loading != Some(done.id) {
            return false;
        }
        self.loading = None;
        self.read_at = Some(now);
        let before = self.worktrees.clone();
        match done.result {
            Ok(Response::ImiStatus { status, .. }) => match read_status(&status) {
                Some(badges) => {
                    self.worktrees = badges;
                    self.read_once = true;
                    self.last_error = None;
                }
                None => self.failed("host-bridge sent a status the bar could not read", effects),
            },
            Ok(other) => self.failed(&bridge_client::zdrive::unexpected(&other), effects),
            Err(e) => self.failed(&failure(&e), effects),
        }
        if self.reload {
            self.refresh(now, effects);
        }
        before != self.worktrees
    }

    /// A failed read shows the tabs without status, and says why in the log once.
    fn failed(&mut self, why: &str, effects: &mut Vec<Effect>) {
        self.worktrees.clear();
        if self.last_error.as_deref() != Some(why) {
            self.last_error = Some(why.to_owned());
            effects.push(Effect::Log(format!(
                "perth-tab-bar: no worktree status: {why}"
            )));
        }
    }
}

fn failure(error: &BridgeError) -> String {
    error.user_message()
}

/// Hands the bridge client's effects (retries, wake-ups) on, when there are any.
fn push_bridge(bridge: Vec<bridge_client::Effect>, effects: &mut Vec<Effect>) {
    if !bridge.is_empty() {
        effects.push(Effect::Bridge(bridge));
    }
}
