//! The plugin's state machine: Zellij events and pipe messages in, [`Effect`]s out.
//!
//! [`Core`] never calls Zellij itself, so it runs natively in tests; `crate::host::run` performs
//! the effects inside Zellij.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use bridge_client::{BridgeClient, BridgeConfig};
use bridge_protocol::{Request, RequestId};

use zellij_tile::prelude::{
    Event, EventType, InputMode, PaneManifest, PermissionStatus, PermissionType, PipeMessage,
    PipeSource,
};

use crate::link::{self, Ev, Line, Op, PaneState, Snapshot, TabState, PIPE_NAME, PROTOCOL_VERSION};
use crate::snapshot;

/// The events the plugin subscribes to.
pub const SUBSCRIPTIONS: [EventType; 8] = [
    EventType::PaneUpdate,
    EventType::TabUpdate,
    EventType::ModeUpdate,
    EventType::PermissionRequestResult,
    // Drives the coalescing of state pushes.
    EventType::Timer,
    // Lets the plugin hide itself should it ever be shown.
    EventType::Visible,
    // Subscribing makes Zellij strip the keybindings from every ModeUpdate, which the plugin
    // never reads; the one InitialKeybinds event is ignored.
    EventType::InitialKeybinds,
    // Answers of host-bridge to the plugin's web requests.
    EventType::WebRequestResult,
];

/// The permissions it asks for, as `bridge_protocol::permissions::PERTH_CORE` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::PERTH_CORE)
});

/// How many `imi::*` CLI pipes are remembered as handled.
const IMI_PIPES_REMEMBERED: usize = 64;

/// How many `perth::link` messages are kept while permissions are pending.
pub const QUEUE_LIMIT: usize = 64;

/// How many notices (`perth::notify`, `perth::clear`, milestones) wait for perth's server to
/// link: a dozen agents each raising a few in a session's first second fit many times over.
pub const EARLY_LIMIT: usize = 1024;

/// The coalescing window for state pushes when the configuration sets none, in milliseconds.
pub const DEFAULT_COALESCE_MS: u32 = 20;

const MAX_COALESCE_MS: u32 = 1000;

/// The least time between two state pushes while changes keep coming, in milliseconds. Each
/// push is the whole session encoded in the interpreter (about 28 KB for 100 panes), and a
/// session that starts or restores many panes changes every few milliseconds for seconds; a
/// lone change after a quiet spell still goes out after the coalescing window.
pub const BURST_PUSH_INTERVAL_MS: u32 = 100;

/// Something the plugin asks Zellij to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Subscribes to events.
    Subscribe(Vec<EventType>),
    /// Requests permissions; Zellij answers with a `PermissionRequestResult` event.
    RequestPermission(Vec<PermissionType>),
    /// Writes text to the CLI pipe `pipe_id`.
    PipeOutput {
        /// The pipe.
        pipe_id: String,
        /// One JSON line, newline included.
        line: String,
    },
    /// Holds the CLI client of `pipe_id` until an [`Effect::Unblock`] (an answer that takes a
    /// round trip to host-bridge).
    Block {
        /// The pipe.
        pipe_id: String,
    },
    /// Lets the CLI client of `pipe_id` send its next message.
    Unblock {
        /// The pipe.
        pipe_id: String,
    },
    /// Asks for a `Timer` event after `seconds`.
    SetTimeout {
        /// The delay.
        seconds: f64,
    },
    /// Suppresses the plugin's own pane.
    HideSelf,
    /// Writes a line to Zellij's log.
    Log(String),
    /// Talks to host-bridge: web requests and wake-ups of the bridge client.
    Bridge(Vec<bridge_client::Effect>),
    /// Highlights panes (Zellij's frame colour override) and drops the highlight of others.
    Highlight {
        /// Panes to highlight.
        on: Vec<crate::notice::PaneRef>,
        /// Panes whose highlight goes.
        off: Vec<crate::notice::PaneRef>,
    },
    /// Sets a pane's default background (`None`: back to the terminal's own).
    PaneBackground {
        /// The pane.
        pane: crate::notice::PaneRef,
        /// `#rrggbb`.
        bg: Option<String>,
    },
    /// Switches this instance's client to an input mode (`switch_to_input_mode`).
    SwitchMode(InputMode),
    /// Makes Zellij report the session's tabs and panes to every plugin again (an empty
    /// `highlight_and_unhighlight_panes`, which changes nothing and reports the state).
    ReportState,
    /// Sends a pipe message to every plugin of the session.
    Broadcast {
        /// The pipe name.
        name: String,
        /// The payload.
        payload: String,
    },
}

/// Identifies a plugin instance: Zellij runs one per attached client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceIds {
    /// Zellij's plugin id, shared by the instances of one plugin.
    pub plugin_id: u32,
    /// The client this instance serves.
    pub client_id: u16,
}

pub use bridge_client::Permissions;

/// Settings read from the plugin's configuration (the children of its `load_plugins` entry).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// How long state changes are gathered before one push; 0 pushes on every change.
    pub coalesce_ms: u32,
    /// The mode a client starts in (`default_mode` of the session's configuration): the mode
    /// of this instance's client until Zellij says otherwise.
    pub default_mode: InputMode,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            coalesce_ms: DEFAULT_COALESCE_MS,
            default_mode: InputMode::Normal,
        }
    }
}

impl Settings {
    /// Reads the settings, falling back to defaults; returns what it could not use.
    pub fn from_configuration(configuration: &BTreeMap<String, String>) -> (Settings, Vec<String>) {
        let mut settings = Settings::default();
        let mut warnings = Vec::new();
        if let Some(raw) = configuration.get("coalesce_ms") {
            match raw.trim().parse::<u32>() {
                Ok(ms) if ms <= MAX_COALESCE_MS => settings.coalesce_ms = ms,
                Ok(ms) => {
                    settings.coalesce_ms = MAX_COALESCE_MS;
                    warnings.push(format!(
                        "coalesce_ms {ms} is above {MAX_COALESCE_MS}; using {MAX_COALESCE_MS}"
                    ));
                },
                Err(e) => warnings.push(format!(
                    "coalesce_ms {raw:?} is not a number of milliseconds ({e}); using {DEFAULT_COALESCE_MS}"
                )),
            }
        }
        if let Some(raw) = configuration.get("default_mode") {
            match raw.trim().parse::<InputMode>() {
                Ok(mode) => settings.default_mode = mode,
                Err(_) => warnings.push(format!(
                    "default_mode {raw:?} is not an input mode; using normal"
                )),
            }
        }
        (settings, warnings)
    }
}

/// A `perth::link` message held until permissions are granted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueuedMessage {
    pipe_id: String,
    payload: Option<String>,
}

/// The plugin's state.
#[derive(Debug, Default)]
pub struct Core {
    ids: Option<InstanceIds>,
    settings: Settings,
    permissions: Permissions,
    queue: VecDeque<QueuedMessage>,
    dropped: usize,
    link: Option<String>,
    tabs: Vec<TabState>,
    panes: Vec<PaneState>,
    /// The newest `PaneUpdate` not yet turned into `panes`: with coalescing on, only the last
    /// of a burst is converted, when it is needed.
    unread_panes: Option<PaneManifest>,
    /// The client's input mode, once a mode update said it (before that, the default mode).
    mode: Option<InputMode>,
    /// A refresh was asked for before this instance held its permissions.
    refresh_due: bool,
    /// Answers to CLI pipes ready before this instance held its permissions: pipe and line.
    held_answers: Vec<(String, String)>,
    pushed: Option<Snapshot>,
    /// When the last state push on the link went out.
    pub(crate) last_push: Option<Instant>,
    timer_armed: bool,
    bridge: Option<BridgeClient>,
    bridge_config_error: Option<String>,
    bridge_pings: BTreeMap<RequestId, BridgePing>,
    /// `zdrive::log` and `imi::*` messages waiting for host-bridge.
    pipe_calls: BTreeMap<RequestId, PipeCall>,
    /// The session's folder (where the session started): the project `imi::*` pipes act on
    /// unless they name another with `cwd=PATH`.
    cwd: Option<String>,
    /// CLI pipes of `imi::*` messages already handed on, newest last: `zellij pipe` whose
    /// input is not a terminal sends one more message under the same id once it is answered,
    /// which is not a new request.
    imi_pipes_seen: VecDeque<String>,
    /// How many `zdrive::log` messages each recent CLI pipe brought: a piped `zellij pipe`
    /// sends one message per input line under one pipe id, and each is its own entry.
    log_pipe_counts: VecDeque<(String, u64)>,
    /// The session's name (from the link's hello, or mode updates), to recognise its panes
    /// in zdrive's answers.
    session_name: Option<String>,
    notices: Vec<link::Notice>,
    /// The agent panes the perth server last sent.
    agents: Vec<link::AgentNotice>,
    /// `perth::notify` / `perth::clear` messages that arrived before the link: sent on hello.
    early: VecDeque<Ev>,
    /// Notified panes perth cannot draw on, highlighted by this plugin.
    highlighted: std::collections::BTreeSet<crate::notice::PaneRef>,
    /// The background tint given to each of them (`None`: no colour known).
    tinted: BTreeMap<crate::notice::PaneRef, Option<String>>,
}

/// A `zdrive::log` or `imi::*` message handed to host-bridge.
#[derive(Debug, Clone)]
struct PipeCall {
    /// The pipe's name, which failures start with.
    pipe: String,
    /// The CLI pipe to answer on, if it came from one.
    pipe_id: Option<String>,
}

impl PipeCall {
    /// Returns the call for `message`, answered on its CLI pipe when it came from one.
    fn of(message: &PipeMessage) -> PipeCall {
        PipeCall {
            pipe: message.name.clone(),
            pipe_id: match &message.source {
                PipeSource::Cli(id) => Some(id.clone()),
                _ => None,
            },
        }
    }
}

/// A bridge ping asked for on the link, waiting for host-bridge's answer.
#[derive(Debug, Clone)]
struct BridgePing {
    pipe_id: String,
    seq: u64,
    sent: Instant,
}

/// Writes `line` to the CLI pipe `pipe_id` and lets the pipe go.
fn push_answer(pipe_id: String, line: String, effects: &mut Vec<Effect>) {
    effects.push(Effect::PipeOutput {
        pipe_id: pipe_id.clone(),
        line,
    });
    effects.push(Effect::Unblock { pipe_id });
}

impl Core {
    /// Records the session's folder (the plugin's initial working directory), which `imi::*`
    /// pipes act on unless they give `cwd=PATH`.
    pub fn set_cwd(&mut self, cwd: impl Into<String>) {
        self.cwd = Some(cwd.into()).filter(|c: &String| !c.is_empty());
    }

    /// Starts the plugin: reads its configuration, subscribes and requests permissions.
    pub fn load(
        &mut self,
        configuration: &BTreeMap<String, String>,
        ids: Option<InstanceIds>,
    ) -> Vec<Effect> {
        let (settings, warnings) = Settings::from_configuration(configuration);
        self.settings = settings;
        match BridgeConfig::from_plugin_config(configuration) {
            Ok(config) => self.bridge = Some(BridgeClient::new(config)),
            Err(e) => self.bridge_config_error = Some(e.to_string()),
        }
        self.ids = ids;
        let mut effects: Vec<Effect> = warnings
            .into_iter()
            .map(|warning| Effect::Log(format!("perth-core: configuration: {warning}")))
            .collect();
        effects.push(Effect::Subscribe(SUBSCRIPTIONS.to_vec()));
        effects.push(Effect::RequestPermission(PERMISSIONS.to_vec()));
        effects
    }

    /// Handles one Zellij event.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        let mut effects = Vec::new();
        match event {
            Event::PermissionRequestResult(PermissionStatus::Granted) => {
                self.permissions = Permissions::Granted;
                for (pipe_id, line) in std::mem::take(&mut self.held_answers) {
                    push_answer(pipe_id, line, &mut effects);
                }
                self.drain_queue(&mut effects);
                if std::mem::take(&mut self.refresh_due) {
                    self.refresh(&mut effects);
                }
                self.state_changed(&mut effects);
            }
            Event::PermissionRequestResult(PermissionStatus::Denied) => {
                self.permissions = Permissions::Denied;
                effects.push(Effect::Log(format!(
                    "perth-core: permissions denied; perth cannot see this session. Grant {} to \
                     this plugin in Zellij's permissions.kdl",
                    bridge_protocol::permissions::PERTH_CORE.join(", ")
                )));
            }
            Event::PaneUpdate(manifest) => {
                if self.settings.coalesce_ms == 0 {
                    self.panes = snapshot::panes(&manifest);
                } else {
                    self.unread_panes = Some(manifest);
                }
                self.state_changed(&mut effects);
            }
            Event::TabUpdate(tab_infos) => {
                self.tabs = snapshot::tabs(&tab_infos);
                self.state_changed(&mut effects);
            }
            Event::ModeUpdate(mode_info) => {
                if mode_info.session_name.is_some() {
                    self.session_name = mode_info.session_name.clone();
                }
                self.mode = Some(mode_info.mode);
                self.state_changed(&mut effects);
            }
            Event::Timer(_) => {
                // Unread panes wait for the push timer (or a pipe that needs them): the timer
                // that fired may be the bridge's.
                if self.timer_armed {
                    self.timer_armed = false;
                    self.push_if_changed(&mut effects);
                }
                self.bridge_timer(&mut effects);
            }
            Event::WebRequestResult(status, headers, body, context) => {
                self.bridge_result(status, &headers, &body, &context, &mut effects);
            }
            Event::Visible(true) => effects.push(Effect::HideSelf),
            _ => {}
        }
        effects
    }

    /// Handles one pipe message.
    pub fn pipe(&mut self, message: PipeMessage) -> Vec<Effect> {
        self.read_panes();
        let mut effects = Vec::new();
        if let Some(pushed) = bridge_client::decode_push(&message.name, message.payload.as_deref())
        {
            self.bridge_pushed(pushed, &mut effects);
            return effects;
        }
        match message.name.as_str() {
            PIPE_NAME => {}
            link::NOTIFY_PIPE | link::CLEAR_PIPE => {
                self.notice_pipe(message, &mut effects);
                return effects;
            }
            name if crate::imi::is_imi_pipe(name) => {
                self.imi_pipe(message, &mut effects);
                return effects;
            }
            crate::link::ZDRIVE_LOG_PIPE => {
                self.zdrive_log_pipe(message, &mut effects);
                return effects;
            }
            bridge_protocol::REFRESH_PIPE => {
                let own = self.ids.map(|ids| ids.client_id.to_string());
                if own.is_some() && message.payload.as_deref().map(str::trim) == own.as_deref() {
                    self.refresh(&mut effects);
                }
                return effects;
            }
            link::NOTICES_PIPE | link::AGENTS_PIPE => {
                // Another plugin asks for the current notifications or agents (our own
                // broadcasts come back here too, from this plugin: those are ignored).
                if !matches!(message.source, PipeSource::Plugin(id) if Some(id) == self.ids.map(|i| i.plugin_id))
                {
                    if message.name == link::NOTICES_PIPE {
                        self.broadcast_notices(&mut effects);
                    } else {
                        self.broadcast_agents(&mut effects);
                    }
                }
                return effects;
            }
            // Other pipes are not ours to answer or unblock: an unblock would override a block
            // another plugin placed on a broadcast pipe.
            _ => return effects,
        }
        let PipeSource::Cli(pipe_id) = message.source else {
            // Messages from keybinds or plugins have no pipe to answer on.
            effects.push(Effect::Log(format!(
                "perth-core: ignored a {PIPE_NAME} message that did not come from a CLI pipe"
            )));
            return effects;
        };
        let message = QueuedMessage {
            pipe_id,
            payload: message.payload,
        };
        if self.permissions == Permissions::Granted {
            self.handle(message, &mut effects);
        } else {
            // Anything written now would be denied; keep the message for the grant.
            if self.queue.len() >= QUEUE_LIMIT {
                self.queue.pop_front();
                self.dropped += 1;
            }
            self.queue.push_back(message);
        }
        effects
    }

    /// Returns where the permission request stands.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// Returns the pipe id of the open link, if any.
    pub fn link(&self) -> Option<&str> {
        self.link.as_deref()
    }

    /// Returns how many messages wait for permissions.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Returns the state as the plugin sees it now.
    /// Turns the newest unread `PaneUpdate` into `panes`.
    fn read_panes(&mut self) {
        if let Some(manifest) = self.unread_panes.take() {
            self.panes = snapshot::panes(&manifest);
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            tabs: self.tabs.clone(),
            panes: self.panes.clone(),
            mode: snapshot::mode_name(self.mode()).to_owned(),
        }
    }

    /// The client's input mode: the last a mode update said, else the default mode.
    fn mode(&self) -> InputMode {
        self.mode.unwrap_or(self.settings.default_mode)
    }

    /// This instance holds its permissions only after asking again (see
    /// `bridge_protocol::Grant::AfterAskingAgain`): the updates Zellij handed it before were
    /// dropped, and so were the bars' of its client if they met the same race.
    pub fn granted_after_asking_again(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.refresh(&mut effects);
        effects
    }

    /// Has Zellij send its state again (see `bridge_protocol::REFRESH_PIPE`): the client is
    /// switched to the mode it is in, for which Zellij sends every plugin of every tab (and
    /// this client's background plugins) the mode of its client, and the tabs and panes are
    /// reported to every plugin. The mode is left alone while the client renames a tab or
    /// pane: switching to that mode again would take the half-typed name for the one to go
    /// back to.
    fn refresh(&mut self, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted {
            // Zellij would deny both calls: done once this instance holds its grant.
            self.refresh_due = true;
            return;
        }
        let mode = self.mode();
        if !matches!(mode, InputMode::RenameTab | InputMode::RenamePane) {
            effects.push(Effect::SwitchMode(mode));
        }
        effects.push(Effect::ReportState);
    }

    fn drain_queue(&mut self, effects: &mut Vec<Effect>) {
        if self.dropped > 0 {
            if let Some(first) = self.queue.front() {
                let message = format!(
                    "dropped {} {PIPE_NAME} messages that arrived before permissions were granted",
                    self.dropped
                );
                let pipe_id = first.pipe_id.clone();
                self.output(&pipe_id, Ev::Error { message }, effects);
            }
            self.dropped = 0;
        }
        while let Some(message) = self.queue.pop_front() {
            self.handle(message, effects);
        }
    }

    fn handle(&mut self, message: QueuedMessage, effects: &mut Vec<Effect>) {
        let QueuedMessage { pipe_id, payload } = message;
        match payload {
            None => {
                // The native side closes the link (or a CLI pipe reached its end).
                if self.link.as_deref() == Some(pipe_id.as_str()) {
                    self.link = None;
                    self.pushed = None;
                }
            }
            Some(payload) => match link::decode_op(&payload) {
                Ok(op) => self.handle_op(&pipe_id, op, effects),
                Err(e) => self.output(
                    &pipe_id,
                    Ev::Error {
                        message: e.to_string(),
                    },
                    effects,
                ),
            },
        }
        effects.push(Effect::Unblock { pipe_id });
    }

    fn handle_op(&mut self, pipe_id: &str, op: Op, effects: &mut Vec<Effect>) {
        // An instance that loaded after the hello (a client attached later) joins the link on
        // the first message it sees on it.
        if self.link.is_none()
            && self.permissions == Permissions::Granted
            && pipe_id.starts_with(link::LINK_ID_PREFIX)
            && matches!(
                op,
                Op::Ping { .. } | Op::BridgePing { .. } | Op::Notices { .. } | Op::Agents { .. }
            )
        {
            self.link = Some(pipe_id.to_owned());
            self.send_state(pipe_id, effects);
        }
        match op {
            Op::Hello { version, session } => {
                if session.is_some() {
                    self.session_name = session;
                }
                let hello = Ev::Hello {
                    version: PROTOCOL_VERSION,
                    permissions_granted: self.permissions == Permissions::Granted,
                };
                self.output(pipe_id, hello, effects);
                if version == PROTOCOL_VERSION {
                    self.link = Some(pipe_id.to_owned());
                    self.send_state(pipe_id, effects);
                    while let Some(ev) = self.early.pop_front() {
                        self.output(pipe_id, ev, effects);
                    }
                } else {
                    let message = format!(
                        "unsupported protocol version {version}; this perth-core speaks \
                         {PROTOCOL_VERSION}"
                    );
                    self.output(pipe_id, Ev::Error { message }, effects);
                }
            }
            Op::Ping { seq } => self.output(pipe_id, Ev::Pong { seq }, effects),
            Op::GetState => self.send_state(pipe_id, effects),
            Op::BridgePing { seq } => self.bridge_ping(pipe_id, seq, effects),
            Op::Notices { notices } => {
                if notices != self.notices {
                    self.notices = notices;
                    self.broadcast_notices(effects);
                    self.highlight_undrawn(effects);
                }
            }
            Op::Agents { agents } => {
                if agents != self.agents {
                    self.agents = agents;
                    self.broadcast_agents(effects);
                }
            }
        }
    }

    /// Returns the agent panes the perth server last sent.
    pub fn agents(&self) -> &[link::AgentNotice] {
        &self.agents
    }

    /// Returns the active notifications the perth server last sent.
    pub fn notices(&self) -> &[link::Notice] {
        &self.notices
    }

    /// Without a full frame there is no border to colour: Zellij's highlight stands in, and
    /// the pane's background takes a dark shade of the style's colour until it clears.
    fn highlight_undrawn(&mut self, effects: &mut Vec<Effect>) {
        let tints: BTreeMap<_, _> = self
            .notices
            .iter()
            .filter(|n| !n.drawn)
            .map(|n| {
                (
                    n.pane,
                    n.color.as_deref().and_then(crate::notice::dark_tint),
                )
            })
            .collect();
        let want: std::collections::BTreeSet<_> = tints.keys().copied().collect();
        let on: Vec<_> = want.difference(&self.highlighted).copied().collect();
        let off: Vec<_> = self.highlighted.difference(&want).copied().collect();
        for (pane, bg) in &tints {
            if self.tinted.get(pane) != Some(bg) {
                effects.push(Effect::PaneBackground {
                    pane: *pane,
                    bg: bg.clone(),
                });
            }
        }
        for pane in self.tinted.keys().filter(|p| !tints.contains_key(p)) {
            effects.push(Effect::PaneBackground {
                pane: *pane,
                bg: None,
            });
        }
        self.tinted = tints;
        if on.is_empty() && off.is_empty() {
            return;
        }
        self.highlighted = want;
        effects.push(Effect::Highlight { on, off });
    }

    fn broadcast_agents(&self, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted {
            return;
        }
        effects.push(Effect::Broadcast {
            name: link::AGENTS_PIPE.to_owned(),
            payload: serde_json::to_string(&self.agents).unwrap_or_else(|_| "[]".into()),
        });
    }

    fn broadcast_notices(&self, effects: &mut Vec<Effect>) {
        if self.permissions != Permissions::Granted {
            return;
        }
        effects.push(Effect::Broadcast {
            name: link::NOTICES_PIPE.to_owned(),
            payload: serde_json::to_string(&self.notices).unwrap_or_else(|_| "[]".into()),
        });
    }

    /// Handles `perth::notify` and `perth::clear`: validates them and forwards them to the
    /// perth server on the link. Errors go back to the CLI pipe that sent the message.
    fn notice_pipe(&mut self, message: PipeMessage, effects: &mut Vec<Effect>) {
        let cli_pipe = match &message.source {
            PipeSource::Cli(id) => Some(id.clone()),
            _ => None,
        };
        let result = if message.name == link::NOTIFY_PIPE {
            crate::notice::parse_notify_pipe(&message.args, message.payload.as_deref())
                .and_then(|args| self.known_pane(args.pane).map(|_| args))
                .map(|notify| Ev::Notify {
                    notify,
                    source_pipe: cli_pipe.clone(),
                })
        } else {
            self.parse_clear(&message.args).map(|pane| Ev::Clear {
                pane,
                source_pipe: cli_pipe.clone(),
            })
        };
        match result {
            Ok(ev) => {
                match (self.link.clone(), self.permissions) {
                    (Some(link), Permissions::Granted) => self.output(&link, ev, effects),
                    // Before perth's server links (a session's first moments, a reconnect),
                    // the notice waits here and goes out with the hello: nothing raised early
                    // is lost.
                    _ => self.keep_early(ev, effects),
                }
                if let (Some(pipe_id), Permissions::Granted) = (cli_pipe, self.permissions) {
                    effects.push(Effect::Unblock { pipe_id });
                }
            }
            Err(e) => {
                let line = format!("{}: {e}\n", message.name);
                self.answer_cli(cli_pipe, line, effects);
            }
        }
    }

    fn parse_clear(
        &self,
        args: &BTreeMap<String, String>,
    ) -> Result<Option<crate::notice::PaneRef>, String> {
        if let Some(unknown) = args.keys().find(|k| k.as_str() != "pane_id") {
            return Err(format!(
                "unknown argument '{}'; perth::clear takes pane_id (or nothing, to clear all)",
                crate::notice::clean_message(unknown)
            ));
        }
        match args.get("pane_id") {
            Some(id) => {
                let pane = id.parse()?;
                self.known_pane(pane)?;
                Ok(Some(pane))
            }
            None => Ok(None),
        }
    }

    /// Checks that a pane exists, when the plugin has seen the session's panes.
    fn known_pane(&self, pane: crate::notice::PaneRef) -> Result<(), String> {
        if self.panes.is_empty()
            || self
                .panes
                .iter()
                .any(|p| crate::notice::PaneRef::new(p.id, p.is_plugin) == pane)
        {
            Ok(())
        } else {
            Err(format!(
                "no pane {pane} in this session; see `perth action list-panes`"
            ))
        }
    }

    fn bridge_pushed(
        &mut self,
        pushed: Result<bridge_client::PushedEvent, serde_json::Error>,
        effects: &mut Vec<Effect>,
    ) {
        match pushed {
            Ok(event) => {
                if let (Some(link), Permissions::Granted) = (self.link.clone(), self.permissions) {
                    self.output(&link, Ev::BridgeEvent { topic: event.topic }, effects);
                }
            }
            Err(e) => effects.push(Effect::Log(format!(
                "perth-core: unreadable event from host-bridge: {e}"
            ))),
        }
    }

    fn bridge_ping(&mut self, pipe_id: &str, seq: u64, effects: &mut Vec<Effect>) {
        let Some(bridge) = self.bridge.as_mut() else {
            let error = self
                .bridge_config_error
                .clone()
                .unwrap_or_else(|| "host-bridge is not configured".to_owned());
            let ev = Ev::BridgeResult {
                seq,
                ok: false,
                rtt_ms: None,
                error: Some(error),
            };
            self.output(pipe_id, ev, effects);
            return;
        };
        let now = Instant::now();
        let (id, bridge_effects) = bridge.request(Request::Ping, now);
        self.bridge_pings.insert(
            id,
            BridgePing {
                pipe_id: pipe_id.to_owned(),
                seq,
                sent: now,
            },
        );
        effects.push(Effect::Bridge(bridge_effects));
    }

    fn bridge_result(
        &mut self,
        status: u16,
        headers: &BTreeMap<String, String>,
        body: &[u8],
        context: &BTreeMap<String, String>,
        effects: &mut Vec<Effect>,
    ) {
        let Some(bridge) = self.bridge.as_mut() else {
            return;
        };
        if !BridgeClient::owns(context) {
            return;
        }
        let (done, more) = bridge.on_web_result(status, headers, body, context, Instant::now());
        if !more.is_empty() {
            effects.push(Effect::Bridge(more));
        }
        if let Some(done) = done {
            self.finish_bridge_call(done, effects);
        }
    }

    fn bridge_timer(&mut self, effects: &mut Vec<Effect>) {
        let Some(bridge) = self.bridge.as_mut() else {
            return;
        };
        let (done, more) = bridge.on_timer(Instant::now());
        if !more.is_empty() {
            effects.push(Effect::Bridge(more));
        }
        for completion in done {
            self.finish_bridge_call(completion, effects);
        }
    }

    fn finish_bridge_call(&mut self, done: bridge_client::Completion, effects: &mut Vec<Effect>) {
        match self.pipe_calls.remove(&done.id) {
            Some(call) if call.pipe == crate::link::ZDRIVE_LOG_PIPE => {
                self.finish_zdrive_log(call, done.result, effects)
            }
            Some(call) => {
                if let Some(answer) = bridge_client::imi::answer(&done.result) {
                    self.answer_pipe(&call, answer, effects);
                }
            }
            None => self.finish_bridge_ping(done, effects),
        }
    }

    /// Hands an `imi::*` message to host-bridge, holding its CLI pipe until the answer.
    fn imi_pipe(&mut self, message: PipeMessage, effects: &mut Vec<Effect>) {
        let call = PipeCall::of(&message);
        if let Some(pipe_id) = &call.pipe_id {
            if self.imi_pipes_seen.contains(pipe_id) {
                return;
            }
            if self.imi_pipes_seen.len() >= IMI_PIPES_REMEMBERED {
                self.imi_pipes_seen.pop_front();
            }
            self.imi_pipes_seen.push_back(pipe_id.clone());
        }
        let request = crate::imi::parse_imi_pipe(&message.name, &message.args).and_then(|pipe| {
            pipe.request(
                self.cwd.as_deref(),
                self.session_name.clone(),
                call.pipe_id.clone(),
            )
        });
        let timeout = Some(bridge_client::imi::IMI_TIMEOUT);
        self.forward_pipe(call, request, timeout, effects);
    }

    /// Sends host-bridge the request a pipe message asks for, holding its CLI pipe until the
    /// answer, or answers at once what is wrong with it. `timeout` replaces the bridge client's
    /// own for requests that take long.
    fn forward_pipe(
        &mut self,
        call: PipeCall,
        request: Result<Request, String>,
        timeout: Option<std::time::Duration>,
        effects: &mut Vec<Effect>,
    ) {
        let request = match request {
            Ok(request) => request,
            Err(e) => return self.answer_pipe(&call, Err(e), effects),
        };
        let Some(bridge) = self.bridge.as_mut() else {
            let error = self
                .bridge_config_error
                .clone()
                .unwrap_or_else(|| "host-bridge is not configured".to_owned());
            return self.answer_pipe(&call, Err(error), effects);
        };
        let (id, bridge_effects) = match timeout {
            Some(timeout) => bridge.request_with_timeout(request, timeout, Instant::now()),
            None => bridge.request(request, Instant::now()),
        };
        if let (Some(pipe_id), Permissions::Granted) = (call.pipe_id.clone(), self.permissions) {
            effects.push(Effect::Block { pipe_id });
        }
        self.pipe_calls.insert(id, call);
        effects.push(Effect::Bridge(bridge_effects));
    }

    /// Hands a `zdrive::log` message to host-bridge, holding its CLI pipe until the answer.
    fn zdrive_log_pipe(&mut self, message: PipeMessage, effects: &mut Vec<Effect>) {
        let call = PipeCall::of(&message);
        let key = call
            .pipe_id
            .as_deref()
            .map(|id| self.log_message_key(id, message.payload.as_deref()));
        let request = crate::zdrive::parse_log_pipe(&message.args, message.payload.as_deref())
            .map(|log| log.request(key));
        self.forward_pipe(call, request, None, effects);
    }

    /// The key host-bridge logs one message under once, whichever client's instance hands it
    /// on: the pipe's id, the message's number on that pipe and its payload's digest. Every
    /// instance sees the same messages of a pipe in the same order, so they agree on it, and
    /// the lines of one piped `zellij pipe` get keys of their own (each line is logged).
    fn log_message_key(&mut self, pipe_id: &str, payload: Option<&str>) -> String {
        let count = match self
            .log_pipe_counts
            .iter_mut()
            .find(|(id, _)| id == pipe_id)
        {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                if self.log_pipe_counts.len() >= IMI_PIPES_REMEMBERED {
                    self.log_pipe_counts.pop_front();
                }
                self.log_pipe_counts.push_back((pipe_id.to_owned(), 1));
                1
            }
        };
        // FNV-1a: a digest the same in every instance, without a dependency.
        let digest = payload
            .unwrap_or_default()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{pipe_id}#{count}:{digest:016x}")
    }

    fn finish_zdrive_log(
        &mut self,
        call: PipeCall,
        result: Result<bridge_protocol::Response, bridge_client::BridgeError>,
        effects: &mut Vec<Effect>,
    ) {
        use bridge_protocol::Response;
        let answer = match result {
            // Another client's instance got there first and answers the pipe.
            Ok(Response::ZdriveLogged { first: false, .. }) => return,
            Ok(Response::ZdriveLogged {
                pane_name,
                entry,
                total_entries,
                session,
                pane_id,
                first: true,
            }) => {
                let kind = entry["entry_type"].as_str().unwrap_or("entry").to_owned();
                if kind == "milestone" && session.is_some() && session == self.session_name {
                    let summary = entry["summary"].as_str().unwrap_or_default();
                    self.milestone_notice(pane_id.as_deref(), summary, &call, effects);
                }
                effects.push(Effect::Broadcast {
                    name: bridge_protocol::ZDRIVE_LOGGED_PIPE.to_owned(),
                    payload: pane_name.clone(),
                });
                Ok(format!(
                    "logged {kind} on {} ({})",
                    crate::notice::clean_message(&pane_name),
                    bridge_client::zdrive::entry_count(total_entries)
                ))
            }
            Ok(other) => Err(bridge_client::zdrive::unexpected(&other)),
            Err(e) => Err(e.user_message()),
        };
        self.answer_pipe(&call, answer, effects);
    }

    /// Lights the pane of a milestone up (success), as `zdrive pane log` does from a shell.
    fn milestone_notice(
        &mut self,
        pane_id: Option<&str>,
        summary: &str,
        call: &PipeCall,
        effects: &mut Vec<Effect>,
    ) {
        let Some(pane) = pane_id.and_then(|id| id.parse::<crate::notice::PaneRef>().ok()) else {
            return;
        };
        if self.known_pane(pane).is_err() {
            return;
        }
        let ev = Ev::Notify {
            notify: crate::notice::NotifyArgs {
                pane,
                style: crate::notice::Style::Success,
                message: crate::notice::clean_message(&format!("milestone: {summary}")),
                ttl_ms: None,
            },
            source_pipe: call.pipe_id.clone(),
        };
        match (self.link.clone(), self.permissions) {
            (Some(link), Permissions::Granted) => self.output(&link, ev, effects),
            _ => self.keep_early(ev, effects),
        }
    }

    /// Keeps a notice for the link's hello; past [`EARLY_LIMIT`] the oldest goes, and says so.
    fn keep_early(&mut self, ev: Ev, effects: &mut Vec<Effect>) {
        if self.early.len() >= EARLY_LIMIT {
            self.early.pop_front();
            effects.push(Effect::Log(format!(
                "perth-core: more than {EARLY_LIMIT} notices arrived before perth's server linked; \
                 the oldest was dropped"
            )));
        }
        self.early.push_back(ev);
    }

    /// Answers a `zdrive::log` or `imi::*` message on its CLI pipe and lets the pipe go (or
    /// writes the answer to the log when it has no pipe); a failure starts with the pipe's name.
    fn answer_pipe(
        &mut self,
        call: &PipeCall,
        answer: Result<String, String>,
        effects: &mut Vec<Effect>,
    ) {
        let line = match answer {
            Ok(text) => format!("{text}\n"),
            Err(e) => format!("{}: {e}\n", call.pipe),
        };
        self.answer_cli(call.pipe_id.clone(), line, effects);
    }

    /// Writes `line` to the CLI pipe `pipe_id` and lets it go; before this instance holds its
    /// permissions the answer waits for the grant (written now, Zellij would deny it). Without
    /// a pipe, or with permissions denied, the line goes to the log.
    fn answer_cli(&mut self, pipe_id: Option<String>, line: String, effects: &mut Vec<Effect>) {
        match (pipe_id, self.permissions) {
            (Some(pipe_id), Permissions::Granted) => push_answer(pipe_id, line, effects),
            (Some(pipe_id), Permissions::Pending) => self.held_answers.push((pipe_id, line)),
            _ => effects.push(Effect::Log(format!("perth-core: {}", line.trim_end()))),
        }
    }

    fn finish_bridge_ping(&mut self, done: bridge_client::Completion, effects: &mut Vec<Effect>) {
        let Some(ping) = self.bridge_pings.remove(&done.id) else {
            return;
        };
        let rtt_ms = u64::try_from(ping.sent.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ev = match done.result {
            Ok(_) => Ev::BridgeResult {
                seq: ping.seq,
                ok: true,
                rtt_ms: Some(rtt_ms),
                error: None,
            },
            Err(e) => Ev::BridgeResult {
                seq: ping.seq,
                ok: false,
                rtt_ms: None,
                error: Some(e.to_string()),
            },
        };
        self.output(&ping.pipe_id, ev, effects);
    }

    fn send_state(&mut self, pipe_id: &str, effects: &mut Vec<Effect>) {
        self.read_panes();
        let state = self.snapshot();
        if self.link.as_deref() == Some(pipe_id) {
            self.pushed = Some(state.clone());
        }
        self.output(pipe_id, Ev::State(state), effects);
    }

    fn state_changed(&mut self, effects: &mut Vec<Effect>) {
        // Unread panes are compared when the timer fires.
        if self.link.is_none()
            || self.permissions != Permissions::Granted
            || (self.unread_panes.is_none() && !self.differs())
        {
            return;
        }
        if self.settings.coalesce_ms == 0 {
            self.push_if_changed(effects);
        } else if !self.timer_armed {
            self.timer_armed = true;
            let since_push = self
                .last_push
                .map_or(u128::MAX, |at| at.elapsed().as_millis());
            let burst_wait = u128::from(BURST_PUSH_INTERVAL_MS).saturating_sub(since_push);
            let ms = u128::from(self.settings.coalesce_ms).max(burst_wait);
            effects.push(Effect::SetTimeout {
                seconds: ms as f64 / 1000.0,
            });
        }
    }

    fn push_if_changed(&mut self, effects: &mut Vec<Effect>) {
        self.read_panes();
        if self.permissions != Permissions::Granted || !self.differs() {
            return;
        }
        if let Some(pipe_id) = self.link.clone() {
            self.send_state(&pipe_id, effects);
            self.last_push = Some(Instant::now());
        }
    }

    fn differs(&self) -> bool {
        match &self.pushed {
            None => true,
            Some(pushed) => {
                pushed.tabs != self.tabs
                    || pushed.panes != self.panes
                    || pushed.mode != snapshot::mode_name(self.mode())
            }
        }
    }

    fn output(&self, pipe_id: &str, ev: Ev, effects: &mut Vec<Effect>) {
        let line = Line {
            ev,
            plugin_id: self.ids.map(|ids| ids.plugin_id),
            client_id: self.ids.map(|ids| ids.client_id),
        };
        effects.push(Effect::PipeOutput {
            pipe_id: pipe_id.to_owned(),
            line: link::encode_line(&line),
        });
    }
}
