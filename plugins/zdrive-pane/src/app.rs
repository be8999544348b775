//! The pane's state machine: Zellij events, keys and pushed events in, [`Effect`]s out.
//!
//! [`App`] never calls Zellij, so it runs natively in tests; [`crate::Plugin`] performs the
//! effects, and [`crate::view`] draws the state.

use std::collections::BTreeMap;
use std::hash::{BuildHasher as _, Hasher as _};

use bridge_client::{BridgeClient, BridgeConfig, BridgeError, Completion};
use bridge_protocol::{Request, RequestId, Response};
use zellij_tile::prelude::{
    BareKey, Event, EventType, KeyModifier, KeyWithModifier, PaneManifest, PermissionType,
    PipeMessage, TabInfo,
};

/// What the pane asks Zellij to do: the snapshot pane's effects, performed by its host side.
pub use zdrive_snapshot::app::Effect;
/// The clock at an event.
pub use zdrive_snapshot::app::Now;
/// Where the permission request stands.
pub use zdrive_snapshot::app::Permissions;

use crate::editor::{Edit, LineEditor};
use crate::entry::{parse_tags, read, Entry, Record, LOG_TYPES};

/// The events the pane subscribes to.
pub const SUBSCRIPTIONS: [EventType; 9] = [
    EventType::PermissionRequestResult,
    // The session's name, its tabs and panes: which pane is focused, and which tracked pane
    // that is. The name comes with a `ModeUpdate` or a `SessionUpdate`: a pane that loads
    // while Zellij reports the session may get no `ModeUpdate` at all (see
    // `zdrive_snapshot::focus::current_session`), but every `PaneUpdate` comes with a
    // `SessionUpdate`.
    EventType::ModeUpdate,
    EventType::SessionUpdate,
    EventType::TabUpdate,
    EventType::PaneUpdate,
    // Shown or hidden: a hidden pane asks host-bridge nothing until it is shown again.
    EventType::Visible,
    EventType::Key,
    // Host-bridge's answers, and the bridge client's deadlines and retries.
    EventType::WebRequestResult,
    EventType::Timer,
];

/// The permissions it asks for, as `bridge_protocol::permissions::ZDRIVE_PANE` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::ZDRIVE_PANE)
});

/// How many of the newest entries the history asks for (zdrive keeps 100 unless configured).
pub const HISTORY_LAST: u32 = 100;

/// The pane's title before it knows the pane's name.
pub const TITLE: &str = "zdrive";

/// Pushed events that can change what the pane shows.
pub const REFRESH_TOPICS: [&str; 3] = [
    "workspace.intent.",
    "workspace.pane.",
    "workspace.snapshot.",
];

/// What the body shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum View {
    /// The entries, newest first.
    #[default]
    History,
    /// The history as the markdown zdrive hands an LLM.
    Context,
}

/// What a prompt's text is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The summary of an entry of this type.
    Log(&'static str),
    /// The pane's new name.
    Rename,
    /// `key=value` or `-key`.
    Tag,
    /// The name to track an untracked pane under.
    Track,
}

/// What the keys do right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Mode {
    /// Reading: scrolling, switching views, starting an action.
    #[default]
    Browse,
    /// Picking the type of the entry to log (an index into [`LOG_TYPES`]).
    PickType(usize),
    /// Typing into a prompt.
    Prompt(Purpose, LineEditor),
}

/// What host-bridge last said about the focused pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown {
    /// The zdrive name; `None` when zdrive does not track the pane.
    pub pane_name: Option<String>,
    pub record: Option<Record>,
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Entries in the pane's history in all.
    pub total: u64,
    /// The history as context markdown, when the context view asked for it.
    pub context: Option<String>,
}

/// The line above the keys: what is happening or just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A change is on its way to host-bridge.
    Working(String),
    Done(String),
    Failed {
        message: String,
        /// What to do about it.
        hint: Option<String>,
    },
}

/// The terminal pane the history is of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    pub session: String,
    /// `terminal_3`.
    pub pane_id: String,
    /// The name of the tab it is in.
    pub tab: String,
}

/// Where a key moves the body: a line or a page (`true`) down or up, or to an end.
#[derive(Debug, Clone, Copy)]
enum Scroll {
    Down(bool),
    Up(bool),
    Top,
    Bottom,
}

/// A request waiting for host-bridge, with what to say when it is done.
#[derive(Debug, Clone)]
enum Call {
    Lookup,
    /// A change; `what` names it for the status line.
    Change {
        what: String,
    },
}

/// The pane's state. Fields are read by [`crate::view`].
#[derive(Debug, Default)]
pub struct App {
    pub(crate) focus: Option<Focus>,
    pub(crate) shown: Option<Shown>,
    pub(crate) view: View,
    pub(crate) mode: Mode,
    /// The first line of the body shown.
    pub(crate) scroll: usize,
    pub(crate) status: Option<Status>,
    pub(crate) permissions: Permissions,
    /// What Zellij said last: the session's name, its tabs and their panes.
    session: Option<String>,
    tabs: Vec<TabInfo>,
    manifest: PaneManifest,
    /// Shown or hidden, and whether something changed while hidden (to look up when shown).
    hidden: bool,
    stale: bool,
    bridge: Option<BridgeClient>,
    /// Why there is no bridge client (the configuration lacks the bridge's address).
    pub(crate) bridge_error: Option<String>,
    /// Requests waiting for host-bridge, and the lookup whose answer is awaited (older
    /// answers are dropped).
    calls: BTreeMap<RequestId, Call>,
    lookup: Option<RequestId>,
    /// The pane's title as last set.
    title: Option<String>,
    pub(crate) now_unix: i64,
    /// The size last drawn at, to bound scrolling.
    size: (usize, usize),
    /// Tells this instance's log keys from another's, and counts its logs.
    instance: u64,
    logged: u64,
}

impl App {
    /// Starts the pane: reads the bridge's address, subscribes and requests permissions.
    pub fn load(&mut self, configuration: &BTreeMap<String, String>, now: Now) -> Vec<Effect> {
        self.now_unix = now.unix_seconds;
        // Randomly seeded per instance by the standard library (WASI's random_get).
        self.instance = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let bridge = BridgeConfig::from_plugin_config(configuration).map(BridgeClient::new);
        self.bridge_error = bridge.as_ref().err().map(ToString::to_string);
        self.bridge = bridge.ok();
        let subscribe = Effect::Subscribe(SUBSCRIPTIONS.to_vec());
        vec![subscribe, Effect::RequestPermission(PERMISSIONS.to_vec())]
    }

    /// Records the size the pane was last drawn at.
    pub fn note_size(&mut self, rows: usize, cols: usize) {
        self.size = (rows, cols);
    }

    /// Returns the zdrive name of the pane shown, when it is tracked.
    pub fn pane_name(&self) -> Option<&str> {
        self.shown.as_ref()?.pane_name.as_deref()
    }

    /// Handles one Zellij event; returns whether to draw again and what to do.
    pub fn update(&mut self, event: Event, now: Now) -> (bool, Vec<Effect>) {
        self.now_unix = now.unix_seconds;
        let mut effects = Vec::new();
        let render = match event {
            Event::Key(key) => self.key(key, now, &mut effects),
            Event::Timer(_) | Event::WebRequestResult(..) => {
                self.bridge_traffic(event, now, &mut effects)
            }
            Event::Visible(shown) => {
                self.hidden = !shown;
                if shown && self.stale {
                    self.look_up(now, &mut effects);
                }
                shown
            }
            event => self.observe(event, now, &mut effects),
        };
        (render, effects)
    }

    /// Takes in what Zellij says about the permissions, the session, its tabs and panes, and
    /// follows the focus; returns whether to draw again.
    fn observe(&mut self, event: Event, now: Now, effects: &mut Vec<Effect>) -> bool {
        let answered = match event {
            Event::PermissionRequestResult(status) => {
                self.permissions = status.into();
                true
            }
            Event::ModeUpdate(mode) => {
                self.session = mode.session_name.or(self.session.take());
                false
            }
            Event::SessionUpdate(sessions, _) => {
                if let Some(name) = zdrive_snapshot::focus::current_session(&sessions) {
                    self.session = Some(name.to_owned());
                }
                false
            }
            Event::TabUpdate(tabs) => {
                self.tabs = tabs;
                false
            }
            Event::PaneUpdate(manifest) => {
                self.manifest = manifest;
                false
            }
            _ => return false,
        };
        self.follow_focus(now, effects) || answered
    }

    /// Feeds host-bridge traffic (a web result or a timer tick) to the bridge client and
    /// handles the requests that finished; returns whether to draw again.
    fn bridge_traffic(&mut self, event: Event, now: Now, effects: &mut Vec<Effect>) -> bool {
        let Some(bridge) = self.bridge.as_mut() else {
            return false;
        };
        let (finished, more): (Vec<Completion>, _) = match event {
            Event::WebRequestResult(status, headers, body, context)
                if BridgeClient::owns(&context) =>
            {
                let (done, more) =
                    bridge.on_web_result(status, &headers, &body, &context, now.mono);
                (done.into_iter().collect(), more)
            }
            Event::Timer(_) => bridge.on_timer(now.mono),
            _ => return false,
        };
        if !more.is_empty() {
            effects.push(Effect::Bridge(more));
        }
        // Every finished request is handled; any of them may call for a new frame.
        let drawn: Vec<bool> = finished
            .into_iter()
            .map(|done| self.finish(done, now, effects))
            .collect();
        drawn.contains(&true)
    }

    /// Handles one pipe message: perth-core's word that a script logged on the pane shown
    /// ([`bridge_protocol::ZDRIVE_LOGGED_PIPE`]), or a host-bridge event about zdrive panes,
    /// brings the history up to date. The pane answers no pipe, and never blocks or unblocks
    /// one.
    pub fn pipe(&mut self, message: PipeMessage, now: Now) -> (bool, Vec<Effect>) {
        self.now_unix = now.unix_seconds;
        let mut effects = Vec::new();
        if message.name == bridge_protocol::REDRAW_PIPE {
            return (true, effects);
        }
        let concerned = if message.name == bridge_protocol::ZDRIVE_LOGGED_PIPE {
            let named = message.payload.as_deref().map(str::trim);
            named.is_some() && named == self.pane_name()
        } else {
            let pushed = bridge_client::decode_push(&message.name, message.payload.as_deref());
            matches!(pushed, Some(Ok(event))
                if REFRESH_TOPICS.iter().any(|t| event.topic.starts_with(t))
                    && self.concerns(&event.data))
        };
        if !concerned {
            return (false, effects);
        }
        if self.hidden || self.permissions != Permissions::Granted {
            self.stale = true;
        } else {
            self.look_up(now, &mut effects);
        }
        (false, effects)
    }

    /// Returns whether an event's data may change what is shown: it names the pane shown (or
    /// its old name), names no pane, or the pane shown is not tracked (it may just have been).
    fn concerns(&self, data: &serde_json::Value) -> bool {
        let Some(shown) = self.pane_name() else {
            return true;
        };
        let named: Vec<&str> = ["pane_name", "previous_name"]
            .iter()
            .filter_map(|k| data[*k].as_str())
            .collect();
        named.is_empty() || named.contains(&shown)
    }

    /// Returns the terminal pane the history is of now: the focused one of this client's
    /// active tab, once permissions are granted and the session is known.
    fn focused(&self) -> Option<Focus> {
        if self.permissions != Permissions::Granted {
            return None;
        }
        let tab = self.tabs.iter().find(|t| t.active)?;
        Some(Focus {
            session: self.session.clone()?,
            pane_id: zdrive_snapshot::focus::focused_terminal(&self.tabs, &self.manifest)?,
            tab: tab.name.clone(),
        })
    }

    /// Says why no pane is shown yet, and what to do about it.
    fn no_focus(&self) -> Status {
        let (message, hint) = if self.permissions != Permissions::Granted {
            ("the pane's permissions are not granted yet", None)
        } else if self.session.is_none() {
            (
                "Zellij has not said which session this is yet",
                Some("switching panes tells it; then press R"),
            )
        } else {
            (
                "no terminal pane has the focus in this tab",
                Some("focus a terminal pane, then press R"),
            )
        };
        Status::Failed {
            message: message.to_owned(),
            hint: hint.map(str::to_owned),
        }
    }

    /// Follows the focused terminal pane; returns whether it changed.
    fn follow_focus(&mut self, now: Now, effects: &mut Vec<Effect>) -> bool {
        let Some(focus) = self.focused().filter(|f| self.focus.as_ref() != Some(f)) else {
            return false;
        };
        let moved = self.focus.as_ref().is_none_or(|old| {
            (old.session.as_str(), old.pane_id.as_str()) != (&focus.session, &focus.pane_id)
        });
        self.focus = Some(focus);
        if moved {
            // Another pane: nothing shown or typed is about it.
            self.shown = None;
            self.status = None;
            self.scroll = 0;
            self.mode = Mode::Browse;
            if self.hidden {
                self.stale = true;
            } else {
                self.look_up(now, effects);
            }
        }
        true
    }

    /// Asks host-bridge for the focused pane, in the form the view shows.
    fn look_up(&mut self, now: Now, effects: &mut Vec<Effect>) {
        self.stale = false;
        let Some(focus) = &self.focus else {
            return;
        };
        let request = Request::ZdrivePane {
            pane: None,
            session: Some(focus.session.clone()),
            pane_id: Some(focus.pane_id.clone()),
            last: Some(HISTORY_LAST),
            format: (self.view == View::Context).then(|| "context".to_owned()),
        };
        self.lookup = self.ask((Call::Lookup, request), now, effects);
    }

    /// Sends a request to host-bridge, remembering what it is for; returns its id, or `None`
    /// without a bridge.
    fn ask(
        &mut self,
        (call, request): (Call, Request),
        now: Now,
        out: &mut Vec<Effect>,
    ) -> Option<RequestId> {
        let (id, traffic) = self.bridge.as_mut()?.request(request, now.mono);
        out.push(Effect::Bridge(traffic));
        self.calls.insert(id, call);
        Some(id)
    }

    fn key(&mut self, key: KeyWithModifier, now: Now, effects: &mut Vec<Effect>) -> bool {
        match std::mem::take(&mut self.mode) {
            Mode::Prompt(purpose, mut editor) => {
                match editor.key(&key) {
                    Edit::Submit => self.submit(purpose, editor, now, effects),
                    Edit::Cancel => {}
                    Edit::Changed => self.mode = Mode::Prompt(purpose, editor),
                    Edit::Ignored => {
                        self.mode = Mode::Prompt(purpose, editor);
                        return false;
                    }
                }
                true
            }
            mode => {
                self.mode = mode;
                // Shift is part of the character (`R`); other chords are Zellij's.
                if key
                    .key_modifiers
                    .iter()
                    .any(|m| !matches!(m, KeyModifier::Shift))
                {
                    return false;
                }
                match self.mode {
                    Mode::PickType(selected) => self.pick_key(key.bare_key, selected),
                    _ => self.browse_key(key.bare_key, now, effects),
                }
            }
        }
    }

    fn browse_key(&mut self, key: BareKey, now: Now, effects: &mut Vec<Effect>) -> bool {
        let tracked = self.pane_name().map(str::to_owned);
        match (key, tracked) {
            (BareKey::Char('l'), Some(_)) => self.mode = Mode::PickType(0),
            (BareKey::Char('r'), Some(name)) => {
                self.mode = Mode::Prompt(Purpose::Rename, LineEditor::new(&name));
            }
            (BareKey::Char('t'), Some(_)) => {
                self.mode = Mode::Prompt(Purpose::Tag, LineEditor::default());
            }
            (BareKey::Char('n'), Some(name)) => {
                self.status = Some(Status::Done(format!(
                    "this pane is tracked as {name} already; r renames it"
                )));
            }
            (BareKey::Char('n'), None) if self.shown.is_some() => {
                self.mode = Mode::Prompt(Purpose::Track, LineEditor::default());
            }
            (BareKey::Char('l' | 'r' | 't'), None) if self.shown.is_some() => {
                self.status = Some(Status::Failed {
                    message: "zdrive does not track this pane yet".into(),
                    hint: Some("press n to name it".into()),
                });
            }
            (BareKey::Tab | BareKey::Char('v'), _) => {
                self.view = match self.view {
                    View::History => View::Context,
                    View::Context => View::History,
                };
                self.scroll = 0;
                // What was done is said; what went wrong stays until something else happens.
                if matches!(self.status, Some(Status::Done(_))) {
                    self.status = None;
                }
                self.look_up(now, effects);
            }
            (BareKey::Char('R'), _) => {
                // What Zellij said last is read again, so a focus the pane missed is found.
                self.status = None;
                let asked = self.lookup;
                self.follow_focus(now, effects);
                if self.lookup == asked {
                    self.look_up(now, effects);
                }
                if self.focus.is_none() {
                    self.status = Some(self.no_focus());
                }
            }
            (BareKey::Char('q') | BareKey::Esc, _) => effects.push(Effect::Close),
            (BareKey::Down | BareKey::Char('j'), _) => self.scroll_to(Scroll::Down(false)),
            (BareKey::Up | BareKey::Char('k'), _) => self.scroll_to(Scroll::Up(false)),
            (BareKey::PageDown | BareKey::Char(' '), _) => self.scroll_to(Scroll::Down(true)),
            (BareKey::PageUp, _) => self.scroll_to(Scroll::Up(true)),
            (BareKey::Home | BareKey::Char('g'), _) => self.scroll_to(Scroll::Top),
            (BareKey::End | BareKey::Char('G'), _) => self.scroll_to(Scroll::Bottom),
            _ => return false,
        }
        true
    }

    fn pick_key(&mut self, key: BareKey, selected: usize) -> bool {
        let last = LOG_TYPES.len() - 1;
        let chosen = match key {
            BareKey::Char(c) => LOG_TYPES.iter().position(|(k, _)| *k == c),
            BareKey::Enter => Some(selected),
            BareKey::Left | BareKey::Up => {
                self.mode = Mode::PickType(selected.checked_sub(1).unwrap_or(last));
                return true;
            }
            BareKey::Right | BareKey::Down | BareKey::Tab => {
                self.mode = Mode::PickType(if selected >= last { 0 } else { selected + 1 });
                return true;
            }
            BareKey::Esc => {
                self.mode = Mode::Browse;
                return true;
            }
            _ => None,
        };
        match chosen {
            Some(index) => {
                self.mode = Mode::Prompt(Purpose::Log(LOG_TYPES[index].1), LineEditor::default());
                true
            }
            None => false,
        }
    }

    /// Carries out what a prompt was for; a text that cannot be sent keeps the prompt open.
    fn submit(
        &mut self,
        purpose: Purpose,
        editor: LineEditor,
        now: Now,
        effects: &mut Vec<Effect>,
    ) {
        let text = editor.text().trim().to_owned();
        let Some(focus) = self.focus.clone() else {
            return;
        };
        let refuse = |app: &mut App, message: String, purpose: Purpose| {
            app.status = Some(Status::Failed {
                message,
                hint: Some("Esc cancels".into()),
            });
            app.mode = Mode::Prompt(purpose, editor.clone());
        };
        if text.is_empty() {
            let wanted = match purpose {
                Purpose::Log(_) => "type what happened",
                Purpose::Rename => "type the new name",
                Purpose::Tag => "type key=value, or -key to remove a tag",
                Purpose::Track => "type a name for this pane",
            };
            return refuse(self, wanted.into(), purpose);
        }
        let (request, what) = match (purpose, self.pane_name().map(str::to_owned)) {
            (Purpose::Log(entry_type), Some(pane)) => {
                self.logged += 1;
                let what = format!("logging a {entry_type} on {pane}");
                let request = Request::ZdriveLog {
                    pane,
                    summary: text,
                    entry_type: Some(entry_type.to_owned()),
                    source: Some("human".into()),
                    artifacts: Vec::new(),
                    // A retry of this request logs nothing more.
                    key: Some(format!(
                        "zdrive-pane:{:016x}:{}",
                        self.instance, self.logged
                    )),
                };
                (request, what)
            }
            (Purpose::Rename, Some(pane)) if pane == text => {
                self.status = Some(Status::Done(format!("the name stays {pane}")));
                return;
            }
            (Purpose::Rename, Some(pane)) => {
                let what = format!("renaming {pane} to {text}");
                let request = Request::ZdriveRename {
                    pane,
                    new_name: text,
                };
                (request, what)
            }
            (Purpose::Tag, Some(pane)) => match parse_tags(&text) {
                Ok((set, remove)) => {
                    let what = format!("tagging {pane} with {text}");
                    (Request::ZdriveTag { pane, set, remove }, what)
                }
                Err(e) => return refuse(self, e, Purpose::Tag),
            },
            (Purpose::Track, None) => {
                let what = format!("naming this pane {text}");
                let request = Request::ZdriveTrack {
                    session: focus.session,
                    pane_id: focus.pane_id,
                    name: text,
                    tab: Some(focus.tab),
                };
                (request, what)
            }
            // The pane became tracked, or stopped being, while the prompt was open.
            _ => return,
        };
        self.status = Some(Status::Working(format!("{what}…")));
        self.ask((Call::Change { what }, request), now, effects);
    }

    /// Moves the body, never past its end at the size last drawn.
    fn scroll_to(&mut self, to: Scroll) {
        let (rows, cols) = self.size;
        let bottom = crate::view::max_scroll(self, rows, cols);
        let page = crate::view::body_rows(self, rows, cols).max(1);
        self.scroll = match to {
            Scroll::Top => 0,
            Scroll::Bottom => bottom,
            Scroll::Down(page_wise) => self.scroll + if page_wise { page } else { 1 },
            Scroll::Up(page_wise) => self.scroll.saturating_sub(if page_wise { page } else { 1 }),
        }
        .min(bottom);
    }

    /// Handles a finished request; returns whether to draw again.
    fn finish(&mut self, done: Completion, now: Now, effects: &mut Vec<Effect>) -> bool {
        match self.calls.remove(&done.id) {
            Some(Call::Lookup) if self.lookup == Some(done.id) => {
                self.lookup = None;
                match done.result {
                    Ok(Response::ZdrivePane {
                        pane_name,
                        record,
                        entries,
                        total_entries,
                        context,
                    }) => {
                        self.shown = Some(Shown {
                            record: record.as_ref().and_then(read),
                            entries: entries.iter().filter_map(read).collect(),
                            pane_name,
                            total: total_entries,
                            context,
                        });
                        self.retitle(effects);
                    }
                    other => {
                        let (message, hint) = failure(other);
                        self.status = Some(Status::Failed { message, hint });
                    }
                }
                true
            }
            Some(Call::Change { what }) => {
                let message = match done.result {
                    Ok(response) => done_message(&response).ok_or_else(|| failure(Ok(response))),
                    Err(e) => Err(failure(Err(e))),
                };
                match message {
                    Ok(message) => {
                        self.status = Some(Status::Done(message));
                        self.look_up(now, effects);
                    }
                    Err((message, hint)) => {
                        let message = format!("{what} failed: {message}");
                        self.status = Some(Status::Failed { message, hint });
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Names the plugin's pane after the pane it shows.
    fn retitle(&mut self, effects: &mut Vec<Effect>) {
        let title = match self.pane_name() {
            Some(name) => format!("{TITLE} · {name}"),
            None => TITLE.to_owned(),
        };
        if self.title.as_ref() != Some(&title) {
            self.title = Some(title.clone());
            effects.push(Effect::SetTitle(title));
        }
    }
}

/// Says what a change did, from host-bridge's answer; `None` for an answer to another request.
fn done_message(response: &Response) -> Option<String> {
    Some(match response {
        Response::ZdriveLogged {
            pane_name,
            entry,
            total_entries,
            ..
        } => format!(
            "logged a {} on {pane_name} ({})",
            entry["entry_type"].as_str().unwrap_or("entry"),
            bridge_client::zdrive::entry_count(*total_entries)
        ),
        Response::ZdriveRenamed {
            pane_name,
            previous_name,
            retitled,
            ..
        } => format!(
            "renamed {previous_name} to {pane_name}{}",
            if *retitled {
                ", and its pane's title"
            } else {
                ""
            }
        ),
        Response::ZdriveTagged { pane_name, record } => {
            let tags = record["metadata"].as_object().map_or(0, |m| m.len());
            let plural = if tags == 1 { "" } else { "s" };
            format!("tagged {pane_name} ({tags} tag{plural})")
        }
        Response::ZdriveTracked { pane_name, .. } => {
            format!("zdrive tracks this pane as {pane_name}")
        }
        _ => return None,
    })
}

/// Returns what a failed request says and what to do about it (host-bridge's hint).
fn failure(result: Result<Response, BridgeError>) -> (String, Option<String>) {
    match result {
        Err(BridgeError::Refused(body)) => (body.message, body.hint),
        Err(e) => (
            e.user_message(),
            Some("is host-bridge running? see: perth status".into()),
        ),
        Ok(other) => (bridge_client::zdrive::unexpected(&other), None),
    }
}
