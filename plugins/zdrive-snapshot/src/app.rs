//! The plugin's state machine: Zellij events, keys and pipe messages in, [`Effect`]s out.
//!
//! [`App`] never calls Zellij, so it runs natively in tests; `crate::host::run` performs the
//! effects, and [`crate::view`] draws the state.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bridge_client::zdrive::{
    parse_snapshot_pipe, snapshot_answer, snapshot_failure, SNAPSHOT_PIPE, SNAPSHOT_TIMEOUT,
};
use bridge_client::{BridgeClient, BridgeConfig, BridgeError, Completion};
use bridge_protocol::{Request, RequestId, Response};
use zellij_tile::prelude::{
    BareKey, Event, EventType, KeyModifier, KeyWithModifier, PaneManifest, PermissionStatus,
    PermissionType, PipeMessage, PipeSource, TabInfo,
};

use crate::record::Snapshot;

/// The events the plugin subscribes to.
pub const SUBSCRIPTIONS: [EventType; 9] = [
    // Focus: which pane the snapshots are of.
    EventType::PaneUpdate,
    EventType::TabUpdate,
    // The session's name, to find the focused pane among zdrive's tracked panes: from a
    // `ModeUpdate` (which a pane that loads at the wrong moment never gets) or from the
    // `SessionUpdate` that comes with every `PaneUpdate` (see `focus::current_session`).
    EventType::ModeUpdate,
    EventType::SessionUpdate,
    EventType::Key,
    // The spinner and the bridge client's deadlines and retries.
    EventType::Timer,
    EventType::WebRequestResult,
    EventType::PermissionRequestResult,
    // A hidden pane asks host-bridge nothing on focus changes.
    EventType::Visible,
];

/// The permissions it asks for, as `bridge_protocol::permissions::ZDRIVE_SNAPSHOT` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::ZDRIVE_SNAPSHOT)
});

/// How many snapshots the list asks for (zdrive keeps 20).
pub const LISTED: u32 = 20;

/// How often the spinner turns while a snapshot is being made.
pub const SPINNER_TICK: Duration = Duration::from_millis(125);

/// Pipe messages kept while permissions are pending.
const QUEUE_LIMIT: usize = 16;

/// CLI pipes remembered as handled. `zellij pipe` without a terminal on its input sends one
/// more message under the same id when its input ends; that one is not a new request.
const PIPES_REMEMBERED: usize = 32;

/// The title of the plugin's pane, before it knows which pane it shows.
pub const TITLE: &str = "zdrive snapshot";

/// Something the plugin asks Zellij to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Subscribes to events.
    Subscribe(Vec<EventType>),
    /// Requests permissions; Zellij answers with a `PermissionRequestResult` event.
    RequestPermission(Vec<PermissionType>),
    /// Talks to host-bridge: web requests and wake-ups of the bridge client.
    Bridge(Vec<bridge_client::Effect>),
    /// Asks for a `Timer` event after this long.
    WakeAfter(Duration),
    /// Writes `line` to the CLI pipe `pipe_id`.
    PipeOutput { pipe_id: String, line: String },
    /// Holds the CLI pipe's client until an [`Effect::Unblock`].
    Block { pipe_id: String },
    /// Lets the CLI pipe's client go on.
    Unblock { pipe_id: String },
    /// Writes a line to Zellij's log.
    Log(String),
    /// Closes the plugin's pane.
    Close,
    /// Names the plugin's pane.
    SetTitle(String),
}

/// The clock at an event: monotonic for deadlines, wall time for the snapshots' ages.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub mono: Instant,
    pub unix_seconds: i64,
}

pub use bridge_client::Permissions;

/// Which pane the snapshots shown are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The focused pane, by where it lives; zdrive knows its name, or does not track it.
    Focused { session: String, pane_id: String },
    /// A pane named by a `zdrive::snapshot` pipe.
    Named(String),
}

/// What host-bridge last said about the target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    /// The zdrive name; `None` when zdrive does not track the pane.
    pub pane_name: Option<String>,
    pub consent: bool,
    pub provider: String,
    pub model: String,
    pub local: bool,
    /// Newest first.
    pub snapshots: Vec<Snapshot>,
}

/// A snapshot being made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generating {
    /// The request.
    pub id: RequestId,
    /// The pane.
    pub pane: String,
    /// Whether the LLM was asked even for an unchanged context.
    pub force: bool,
    /// When it was asked for.
    pub started: Instant,
    /// Seconds since then, as last drawn.
    pub elapsed_seconds: u64,
    /// The spinner's frame.
    pub frame: usize,
}

/// The line under the snapshot: what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Info(String),
    Error(String),
}

/// A request waiting for host-bridge.
#[derive(Debug, Clone)]
enum Call {
    Lookup,
    Generate {
        pane: String,
        /// The CLI pipe to answer, for a `zdrive::snapshot` pipe.
        pipe_id: Option<String>,
    },
    Consent,
}

/// The plugin's state. Fields are read by [`crate::view`].
#[derive(Debug, Default)]
pub struct App {
    pub(crate) permissions: Permissions,
    bridge: Option<BridgeClient>,
    /// Why there is no bridge client (the configuration lacks the bridge's address).
    pub(crate) bridge_error: Option<String>,
    session: Option<String>,
    tabs: Vec<TabInfo>,
    manifest: PaneManifest,
    /// The focused terminal pane last seen.
    focus: Option<String>,
    pub(crate) target: Option<Target>,
    pub(crate) shown: Option<Shown>,
    /// The lookup whose answer is awaited (older answers are dropped).
    lookup: Option<RequestId>,
    /// The target changed while hidden: look it up when shown.
    stale: bool,
    hidden: bool,
    /// The snapshot shown (index into `shown.snapshots`).
    pub(crate) selected: usize,
    /// The first line of the snapshot shown.
    pub(crate) scroll: usize,
    /// Whether Up/Down move through the list (else they scroll).
    pub(crate) list_focus: bool,
    pub(crate) generating: Option<Generating>,
    tick_due: Option<Instant>,
    pub(crate) status: Option<Status>,
    calls: BTreeMap<RequestId, Call>,
    queued: VecDeque<PipeMessage>,
    /// CLI pipes already handled, newest last.
    pipes_seen: VecDeque<String>,
    /// The pane's title as last set.
    title: Option<String>,
    pub(crate) now_unix: i64,
    /// The size last drawn at, to bound scrolling.
    size: (usize, usize),
}

impl App {
    /// Starts the plugin: reads the bridge's address, subscribes and requests permissions.
    pub fn load(&mut self, configuration: &BTreeMap<String, String>, now: Now) -> Vec<Effect> {
        self.now_unix = now.unix_seconds;
        match BridgeConfig::from_plugin_config(configuration) {
            Ok(config) => self.bridge = Some(BridgeClient::new(config)),
            Err(e) => self.bridge_error = Some(e.to_string()),
        }
        vec![
            Effect::Subscribe(SUBSCRIPTIONS.to_vec()),
            Effect::RequestPermission(PERMISSIONS.to_vec()),
        ]
    }

    /// Records the size the pane was last drawn at.
    pub fn note_size(&mut self, rows: usize, cols: usize) {
        self.size = (rows, cols);
    }

    /// Handles one Zellij event; returns whether to draw again and what to do.
    pub fn update(&mut self, event: Event, now: Now) -> (bool, Vec<Effect>) {
        self.now_unix = now.unix_seconds;
        let mut effects = Vec::new();
        let render = match event {
            Event::PermissionRequestResult(PermissionStatus::Granted) => {
                self.permissions = Permissions::Granted;
                while let Some(message) = self.queued.pop_front() {
                    self.handle_pipe(message, now, &mut effects);
                }
                self.follow_focus(now, &mut effects);
                true
            }
            Event::PermissionRequestResult(PermissionStatus::Denied) => {
                self.permissions = Permissions::Denied;
                true
            }
            Event::ModeUpdate(mode) => {
                let known = self.session.is_some();
                if mode.session_name.is_some() {
                    self.session = mode.session_name;
                }
                !known && self.follow_focus(now, &mut effects)
            }
            Event::SessionUpdate(sessions, _) => {
                let known = self.session.is_some();
                if let Some(name) = crate::focus::current_session(&sessions) {
                    self.session = Some(name.to_owned());
                }
                !known && self.follow_focus(now, &mut effects)
            }
            Event::TabUpdate(tabs) => {
                self.tabs = tabs;
                self.follow_focus(now, &mut effects)
            }
            Event::PaneUpdate(manifest) => {
                self.manifest = manifest;
                self.follow_focus(now, &mut effects)
            }
            Event::Visible(visible) => {
                self.hidden = !visible;
                if visible && self.stale {
                    self.look_up(now, &mut effects);
                }
                visible
            }
            Event::Key(key) => self.key(key, now, &mut effects),
            Event::Timer(_) => self.timer(now, &mut effects),
            Event::WebRequestResult(status, headers, body, context) => {
                let Some(bridge) = self.bridge.as_mut() else {
                    return (false, effects);
                };
                if !BridgeClient::owns(&context) {
                    return (false, effects);
                }
                let (done, more) =
                    bridge.on_web_result(status, &headers, &body, &context, now.mono);
                if !more.is_empty() {
                    effects.push(Effect::Bridge(more));
                }
                match done {
                    Some(done) => self.finish(done, now, &mut effects),
                    None => false,
                }
            }
            _ => false,
        };
        (render, effects)
    }

    /// Handles one pipe message; returns whether to draw again and what to do.
    pub fn pipe(&mut self, message: PipeMessage, now: Now) -> (bool, Vec<Effect>) {
        self.now_unix = now.unix_seconds;
        let mut effects = Vec::new();
        if message.name == bridge_protocol::REDRAW_PIPE {
            return (true, effects);
        }
        if message.name != SNAPSHOT_PIPE {
            // Not ours to answer or unblock: an unblock would override another plugin's block.
            return (false, effects);
        }
        if self.permissions == Permissions::Pending {
            // Keep the message for the grant. Hold its CLI pipe now: a pipe no plugin holds is
            // let go once every plugin has seen it, before the answer. perth grants the
            // permissions up front, so Zellij allows the hold before the grant's event arrives.
            if let PipeSource::Cli(pipe_id) = &message.source {
                effects.push(Effect::Block {
                    pipe_id: pipe_id.clone(),
                });
            }
            if self.queued.len() >= QUEUE_LIMIT {
                self.queued.pop_front();
            }
            self.queued.push_back(message);
            return (false, effects);
        }
        self.handle_pipe(message, now, &mut effects);
        (true, effects)
    }

    fn handle_pipe(&mut self, message: PipeMessage, now: Now, effects: &mut Vec<Effect>) {
        let pipe_id = match &message.source {
            PipeSource::Cli(id) => Some(id.clone()),
            _ => None,
        };
        if let Some(id) = &pipe_id {
            if self.pipes_seen.contains(id) {
                return;
            }
            if self.pipes_seen.len() >= PIPES_REMEMBERED {
                self.pipes_seen.pop_front();
            }
            self.pipes_seen.push_back(id.clone());
        }
        let answer = |line: String, effects: &mut Vec<Effect>| match &pipe_id {
            Some(id) => {
                effects.push(Effect::PipeOutput {
                    pipe_id: id.clone(),
                    line,
                });
                effects.push(Effect::Unblock {
                    pipe_id: id.clone(),
                });
            }
            None => effects.push(Effect::Log(format!("zdrive-snapshot: {}", line.trim_end()))),
        };
        let request = match parse_snapshot_pipe(&message.args) {
            Ok(request) => request,
            Err(e) => {
                self.status = Some(Status::Error(e.clone()));
                return answer(snapshot_failure(&e), effects);
            }
        };
        if let Some(e) = &self.bridge_error {
            let e = e.clone();
            self.status = Some(Status::Error(e.clone()));
            return answer(snapshot_failure(&e), effects);
        }
        if let Some(id) = &pipe_id {
            effects.push(Effect::Block {
                pipe_id: id.clone(),
            });
        }
        let target = Target::Named(request.pane.clone());
        // A pipe about the pane on show keeps following it; another pane replaces it.
        if self.pane_name() != Some(request.pane.as_str()) && self.target.as_ref() != Some(&target)
        {
            self.target = Some(target);
            self.shown = None;
            self.reset_view();
            self.look_up(now, effects);
        }
        self.generate(
            request.pane.clone(),
            request.force,
            request.request(pipe_id.clone()),
            pipe_id,
            now,
            effects,
        );
    }

    /// Follows the focused terminal pane; returns whether the target changed.
    fn follow_focus(&mut self, now: Now, effects: &mut Vec<Effect>) -> bool {
        if self.permissions != Permissions::Granted {
            return false;
        }
        let Some(session) = self.session.clone() else {
            return false;
        };
        let focus = crate::focus::focused_terminal(&self.tabs, &self.manifest);
        if focus.is_none() || focus == self.focus {
            return false;
        }
        self.focus = focus.clone();
        let target = Target::Focused {
            session,
            pane_id: focus.unwrap_or_default(),
        };
        if self.target.as_ref() == Some(&target) {
            return false;
        }
        self.target = Some(target);
        self.shown = None;
        self.status = None;
        self.reset_view();
        if self.hidden {
            self.stale = true;
        } else {
            self.look_up(now, effects);
        }
        true
    }

    fn reset_view(&mut self) {
        self.selected = 0;
        self.scroll = 0;
        self.list_focus = false;
    }

    /// Asks host-bridge for the target's snapshots.
    fn look_up(&mut self, now: Now, effects: &mut Vec<Effect>) {
        self.stale = false;
        let request = match &self.target {
            Some(Target::Focused { session, pane_id }) => Request::ZdriveSnapshots {
                pane: None,
                session: Some(session.clone()),
                pane_id: Some(pane_id.clone()),
                last: Some(LISTED),
            },
            Some(Target::Named(name)) => Request::ZdriveSnapshots {
                pane: Some(name.clone()),
                session: None,
                pane_id: None,
                last: Some(LISTED),
            },
            None => return,
        };
        let Some(bridge) = self.bridge.as_mut() else {
            return;
        };
        let (id, bridge_effects) = bridge.request(request, now.mono);
        self.lookup = Some(id);
        self.calls.insert(id, Call::Lookup);
        effects.push(Effect::Bridge(bridge_effects));
    }

    fn generate(
        &mut self,
        pane: String,
        force: bool,
        request: Request,
        pipe_id: Option<String>,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        let Some(bridge) = self.bridge.as_mut() else {
            return;
        };
        let (id, bridge_effects) = bridge.request_with_timeout(request, SNAPSHOT_TIMEOUT, now.mono);
        self.calls.insert(
            id,
            Call::Generate {
                pane: pane.clone(),
                pipe_id,
            },
        );
        effects.push(Effect::Bridge(bridge_effects));
        self.status = None;
        self.generating = Some(Generating {
            id,
            pane,
            force,
            started: now.mono,
            elapsed_seconds: 0,
            frame: 0,
        });
        if self.tick_due.is_none() {
            self.tick_due = Some(now.mono + SPINNER_TICK);
            effects.push(Effect::WakeAfter(SPINNER_TICK));
        }
    }

    /// Returns the zdrive name of the pane shown, when it is tracked.
    pub fn pane_name(&self) -> Option<&str> {
        self.shown.as_ref()?.pane_name.as_deref()
    }

    fn key(&mut self, key: KeyWithModifier, now: Now, effects: &mut Vec<Effect>) -> bool {
        // Shift is part of the character (`G`); other modifiers make another key.
        if key
            .key_modifiers
            .iter()
            .any(|m| !matches!(m, KeyModifier::Shift))
        {
            return false;
        }
        let count = self.shown.as_ref().map_or(0, |s| s.snapshots.len());
        match key.bare_key {
            BareKey::Char('g') | BareKey::Char('G') | BareKey::Enter => {
                if self.generating.is_some() {
                    // One at a time: a second press while the LLM works changes nothing.
                    return false;
                }
                let force = key.bare_key == BareKey::Char('G');
                match self.pane_name().map(str::to_owned) {
                    Some(pane) => {
                        let request = Request::ZdriveSnapshot {
                            pane: pane.clone(),
                            force,
                            key: None,
                        };
                        self.generate(pane, force, request, None, now, effects);
                    }
                    None => self.status = Some(Status::Error(
                        "this pane is not tracked by zdrive; name it first with: zdrive pane NAME"
                            .into(),
                    )),
                }
            }
            BareKey::Char('c') => self.grant_consent(now, effects),
            BareKey::Char('r') => {
                self.status = None;
                self.look_up(now, effects);
            }
            BareKey::Char('q') | BareKey::Esc => effects.push(Effect::Close),
            BareKey::Tab => self.list_focus = !self.list_focus && count > 1,
            BareKey::Char(']') => self.select(self.selected.saturating_sub(1)),
            BareKey::Char('[') => self.select(self.selected + 1),
            BareKey::Down | BareKey::Char('j') if self.list_focus => self.select(self.selected + 1),
            BareKey::Up | BareKey::Char('k') if self.list_focus => {
                self.select(self.selected.saturating_sub(1))
            }
            BareKey::Down | BareKey::Char('j') => self.scroll_by(1),
            BareKey::Up | BareKey::Char('k') => self.scroll_by(-1),
            BareKey::PageDown | BareKey::Char(' ') => self.scroll_by(self.page()),
            BareKey::PageUp => self.scroll_by(-self.page()),
            BareKey::Home => self.scroll = 0,
            BareKey::End => self.scroll_by(isize::MAX / 2),
            _ => return false,
        }
        true
    }

    fn page(&self) -> isize {
        isize::try_from(self.size.0.saturating_sub(8).max(1)).unwrap_or(1)
    }

    fn select(&mut self, index: usize) {
        let count = self.shown.as_ref().map_or(0, |s| s.snapshots.len());
        let index = index.min(count.saturating_sub(1));
        if index != self.selected {
            self.selected = index;
            self.scroll = 0;
        }
    }

    fn scroll_by(&mut self, delta: isize) {
        let (rows, cols) = self.size;
        let max = crate::view::max_scroll(self, rows, cols);
        self.scroll = self.scroll.saturating_add_signed(delta).min(max);
    }

    fn grant_consent(&mut self, now: Now, effects: &mut Vec<Effect>) {
        let Some(bridge) = self.bridge.as_mut() else {
            return;
        };
        let (id, bridge_effects) = bridge.request(Request::ZdriveConsent { grant: true }, now.mono);
        self.calls.insert(id, Call::Consent);
        effects.push(Effect::Bridge(bridge_effects));
    }

    fn timer(&mut self, now: Now, effects: &mut Vec<Effect>) -> bool {
        let mut render = false;
        if let Some(bridge) = self.bridge.as_mut() {
            let (done, more) = bridge.on_timer(now.mono);
            if !more.is_empty() {
                effects.push(Effect::Bridge(more));
            }
            for completion in done {
                render |= self.finish(completion, now, effects);
            }
        }
        // Timer events carry no name: a wake-up of the bridge client can arrive before the
        // spinner's, so the spinner turns only when its time has come.
        let tolerance = Duration::from_millis(10);
        if let Some(due) = self.tick_due {
            if now.mono + tolerance >= due {
                self.tick_due = None;
                if let Some(generating) = self.generating.as_mut() {
                    generating.frame += 1;
                    generating.elapsed_seconds =
                        now.mono.duration_since(generating.started).as_secs();
                    self.tick_due = Some(now.mono + SPINNER_TICK);
                    effects.push(Effect::WakeAfter(SPINNER_TICK));
                    render = true;
                }
            }
        }
        render
    }

    /// Handles a finished request; returns whether to draw again.
    fn finish(&mut self, done: Completion, now: Now, effects: &mut Vec<Effect>) -> bool {
        let Some(call) = self.calls.remove(&done.id) else {
            return false;
        };
        match call {
            Call::Lookup => {
                if self.lookup != Some(done.id) {
                    return false;
                }
                self.lookup = None;
                match done.result {
                    Ok(Response::ZdriveSnapshots {
                        pane_name,
                        consent,
                        provider,
                        model,
                        local,
                        snapshots,
                    }) => {
                        let snapshots: Vec<Snapshot> =
                            snapshots.iter().filter_map(Snapshot::from_json).collect();
                        self.selected = self.selected.min(snapshots.len().saturating_sub(1));
                        let title = match &pane_name {
                            Some(name) => format!("{TITLE} · {name}"),
                            None => TITLE.to_owned(),
                        };
                        if self.title.as_ref() != Some(&title) {
                            self.title = Some(title.clone());
                            effects.push(Effect::SetTitle(title));
                        }
                        self.shown = Some(Shown {
                            pane_name,
                            consent,
                            provider,
                            model,
                            local,
                            snapshots,
                        });
                    }
                    other => self.status = Some(Status::Error(failure(other))),
                }
            }
            Call::Consent => match done.result {
                Ok(Response::ZdriveConsent { consent }) => {
                    if let Some(shown) = self.shown.as_mut() {
                        shown.consent = consent;
                    }
                    self.status = Some(Status::Info(if consent {
                        "consent granted: a snapshot sends the pane's redacted context to the LLM"
                            .into()
                    } else {
                        "consent is not granted".into()
                    }));
                }
                other => self.status = Some(Status::Error(failure(other))),
            },
            Call::Generate { pane, pipe_id } => {
                if let Some(id) = &pipe_id {
                    if let Some(line) = snapshot_answer(&done.result) {
                        effects.push(Effect::PipeOutput {
                            pipe_id: id.clone(),
                            line,
                        });
                        effects.push(Effect::Unblock {
                            pipe_id: id.clone(),
                        });
                    }
                }
                let current = self.generating.as_ref().is_some_and(|g| g.id == done.id);
                if current {
                    self.generating = None;
                }
                let shows_pane = self.pane_name() == Some(pane.as_str())
                    || self.target == Some(Target::Named(pane.clone()));
                match done.result {
                    Ok(Response::ZdriveSnapshotted {
                        snapshot, reused, ..
                    }) => {
                        if current || shows_pane {
                            let record = Snapshot::from_json(&snapshot).unwrap_or_default();
                            self.status = Some(Status::Info(if reused {
                                format!(
                                    "{pane}'s context has not changed since its last snapshot: kept it (G asks the LLM again)"
                                )
                            } else {
                                format!(
                                    "snapshot of {pane} stored ({} in {:.1} s)",
                                    record.model,
                                    record.duration_ms as f64 / 1000.0
                                )
                            }));
                        }
                        if shows_pane {
                            self.reset_view();
                            self.look_up(now, effects);
                        }
                    }
                    other if current || shows_pane => {
                        self.status = Some(Status::Error(failure(other)))
                    }
                    _ => {}
                }
            }
        }
        true
    }
}

fn failure(result: Result<Response, BridgeError>) -> String {
    match result {
        Ok(other) => bridge_client::zdrive::unexpected(&other),
        Err(e) => e.user_message(),
    }
}
