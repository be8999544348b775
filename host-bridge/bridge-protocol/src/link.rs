//! The `perth::link` wire protocol between the perth server and its plugin perth-core.
//!
//! The perth server (native, in the server process) connects to the session's IPC socket the way
//! `zellij pipe` does and keeps one CLI pipe open to perth-core: every message it sends is a
//! `ClientToServerMsg::Action { action: Action::CliPipe { .. } }` with the same `pipe_id`,
//! `name: Some("perth::link")`, `plugin: Some(<perth-core's url>)` and as `payload` exactly one
//! JSON object, an [`Op`]. It waits for `ServerToClientMsg::UnblockCliPipeInput` before sending
//! the next one.
//!
//! The plugin answers with `cli_pipe_output(pipe_id, ..)`: one JSON object per line (each line
//! ends with `\n`), a [`Line`], which is an [`Ev`] plus the identity of the plugin instance that
//! wrote it. Besides answering, the plugin pushes [`Ev::State`] lines on the pipe of the last
//! successful `hello` whenever the tabs, panes or input mode it sees change.
//!
//! Rules both sides keep:
//! - `hello` comes first. Versions must match exactly; the plugin answers a `hello` of another
//!   version with its own `hello` (so the native side learns what it speaks) followed by an
//!   `error`, and does not adopt that pipe as the link.
//! - Every `perth::link` message from a CLI pipe is unblocked once handled, even when it was
//!   malformed (the answer is then an `error` line).
//! - A `perth::link` message without payload means the native side is closing the link: the
//!   plugin forgets that pipe and stops pushing to it.
//! - Unknown JSON fields are ignored in both directions, so fields can be added without a
//!   version bump; removing or retyping a field needs one.
//! - Zellij runs one plugin instance per attached client, and every instance receives each
//!   message sent to the plugin url. Each line therefore names the instance (`plugin_id`,
//!   `client_id`) so the native side can tell the answers apart and pick the client it follows.

use serde::{Deserialize, Serialize};

/// The name of the pipe the perth server talks to perth-core on.
pub const PIPE_NAME: &str = "perth::link";

/// How the perth server's link pipe ids begin (`perth-link-<pid>-<generation>`); an instance
/// that missed the hello joins a pipe of this form on the first server message it sees.
pub const LINK_ID_PREFIX: &str = "perth-link-";

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A request from the perth server to the plugin: the payload of one `perth::link` pipe message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Opens the link on this pipe (since version 1).
    ///
    /// Answered with [`Ev::Hello`] and, when the versions match, a full [`Ev::State`].
    Hello {
        /// The protocol version the native side speaks.
        version: u32,
        /// The session's name (Zellij does not give it to background plugins in mode updates);
        /// optional so that an older server's hello still reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
    },
    /// Asks for a [`Ev::Pong`] carrying the same `seq` (since version 1).
    Ping {
        /// An opaque number echoed back.
        seq: u64,
    },
    /// Asks for a full [`Ev::State`] now (since version 1).
    GetState,
    /// Asks the plugin to ping host-bridge through `web_request` and report the outcome as
    /// [`Ev::BridgeResult`]: proves the plugin-to-bridge path end to end (since version 1).
    BridgePing {
        /// An opaque number echoed back.
        seq: u64,
    },
    /// The session's active notifications, sent whenever they change; the plugin keeps them
    /// for other plugins and broadcasts them on the [`NOTICES_PIPE`] pipe (since version 1).
    Notices {
        /// Every active notification.
        notices: Vec<Notice>,
    },
    /// The session's agent panes and their states, sent whenever one changes; the plugin keeps
    /// them for other plugins and broadcasts them on the [`AGENTS_PIPE`] pipe (added to version
    /// 1 later: a perth-core without it answers an [`Ev::Error`], which the server ignores).
    Agents {
        /// Every agent pane, waiting ones first.
        agents: Vec<AgentNotice>,
    },
}

/// The pipe other plugins receive the agent panes' states on (payload: a JSON array of
/// [`AgentNotice`]); sending a message of this name to perth-core asks for a fresh copy.
pub const AGENTS_PIPE: &str = "perth::agents";

/// One agent pane's state as other plugins see it (`perth agents --json` has the same fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentNotice {
    /// The terminal pane's id.
    pub pane_id: u32,
    /// `waiting`, `working`, `idle` or `exited`.
    pub state: String,
    /// When the pane entered the state (Unix milliseconds).
    pub since_ms: u64,
    /// The question asked, the tool it wants to run; inert text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The agent program (`claude`, `codex`, ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The git worktree it works in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
}

/// The pipe other plugins receive the active notifications on (payload: a JSON array of
/// [`Notice`]); sending a message of this name to perth-core asks for a fresh copy.
pub const NOTICES_PIPE: &str = "perth::notifications";

/// The pipe scripts raise notifications on: `zellij pipe --name perth::notify --args
/// pane_id=3,style=error -- "Build failed"`.
pub const NOTIFY_PIPE: &str = "perth::notify";

/// The pipe scripts clear notifications on: `--args pane_id=3`, or no arguments for all.
pub const CLEAR_PIPE: &str = "perth::clear";

/// `zellij pipe --name imi::add --args type=feat,name=NAME[,from=REF,agent=ID]`: perth-core
/// has host-bridge add the worktree and open its tab.
pub const IMI_ADD_PIPE: &str = "imi::add";
/// `zellij pipe --name imi::open --args name=NAME`.
pub const IMI_OPEN_PIPE: &str = "imi::open";
/// `zellij pipe --name imi::remove --args name=NAME[,force=true,delete_branch=true]`.
pub const IMI_REMOVE_PIPE: &str = "imi::remove";
/// `zellij pipe --name imi::status`.
pub const IMI_STATUS_PIPE: &str = "imi::status";

/// `zellij pipe --name zdrive::log --args pane=NAME[,type=milestone] -- "TEXT"`: perth-core has
/// host-bridge log the entry to the pane's intent log.
pub const ZDRIVE_LOG_PIPE: &str = "zdrive::log";

/// One active notification as other plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The pane.
    pub pane: crate::notice::PaneRef,
    /// The style.
    pub style: crate::notice::Style,
    /// The message.
    pub message: String,
    /// The position of the pane's tab, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab_position: Option<usize>,
    /// Whether perth draws it on the pane's frame; a pane without a full frame (pane frames
    /// off, or title lines only) is highlighted by perth-core instead.
    #[serde(default)]
    pub drawn: bool,
    /// The style's colour (`#rrggbb`, from perth's settings or the theme); perth-core tints
    /// the background of a pane it cannot draw on with a dark shade of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A line from the plugin to the perth server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Ev {
    /// Answers [`Op::Hello`] (since version 1).
    Hello {
        /// The protocol version the plugin speaks.
        version: u32,
        /// Whether Zellij granted the plugin's permissions; always `true` in practice, because
        /// Zellij drops a plugin's pipe output until they are granted.
        permissions_granted: bool,
    },
    /// Answers [`Op::Ping`] (since version 1).
    Pong {
        /// The `seq` of the ping.
        seq: u64,
    },
    /// The whole state the plugin sees (since version 1).
    ///
    /// Sent after a matching `hello`, on `get_state`, and pushed on the link whenever Zellij's
    /// `PaneUpdate`, `TabUpdate` or `ModeUpdate` changed it (never when nothing changed).
    State(Snapshot),
    /// Reports a request the plugin could not handle (since version 1).
    Error {
        /// What went wrong, for a log.
        message: String,
    },
    /// Reports an event host-bridge pushed to the plugin on the `host-bridge::event` pipe; sent
    /// on the link (since version 1).
    BridgeEvent {
        /// The event's topic.
        topic: String,
    },
    /// A `perth::notify` pipe message, validated by the plugin (since version 1).
    Notify {
        /// What to raise.
        notify: crate::notice::NotifyArgs,
        /// The id of the CLI pipe it came on: every plugin instance forwards the same message,
        /// and the native side raises it once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_pipe: Option<String>,
    },
    /// A `perth::clear` pipe message (since version 1).
    Clear {
        /// The pane to clear; none clears every notification.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane: Option<crate::notice::PaneRef>,
        /// As in [`Ev::Notify`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_pipe: Option<String>,
    },
    /// Answers [`Op::BridgePing`] (since version 1).
    BridgeResult {
        /// The `seq` of the request.
        seq: u64,
        /// Whether host-bridge answered the ping.
        ok: bool,
        /// Time from the plugin's request to the bridge's answer, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<u64>,
        /// Why it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// One line of plugin output: an [`Ev`] and the plugin instance that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The event.
    #[serde(flatten)]
    pub ev: Ev,
    /// Zellij's id of the writing plugin instance (since version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_id: Option<u32>,
    /// The client whose view this instance reports (since version 1).
    ///
    /// Zellij starts one instance per attached client and sends each instance only its own
    /// client's events, so `active` tabs and the input mode are that client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<u16>,
}

/// The tabs, panes and input mode of the session as one client sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Tabs ordered by position.
    pub tabs: Vec<TabState>,
    /// Panes ordered by tab position; within a tab tiled panes first, then floating panes in
    /// Zellij's order, then suppressed panes by (`is_plugin`, `id`).
    pub panes: Vec<PaneState>,
    /// The client's input mode in lower case, as in config.kdl: `normal`, `locked`, `resize`,
    /// `pane`, `tab`, `scroll`, `entersearch`, `search`, `renametab`, `renamepane`, `session`,
    /// `move`, `prompt`, `tmux`.
    pub mode: String,
}

/// One tab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TabState {
    /// The 0-based position of the tab.
    pub position: usize,
    /// The name shown in the tab bar.
    pub name: String,
    /// Whether this is the client's focused tab.
    pub active: bool,
    /// Zellij's stable tab id, which survives moves (since version 1).
    #[serde(default)]
    pub tab_id: usize,
    /// Whether one pane fills the tab (since version 1).
    #[serde(default)]
    pub is_fullscreen_active: bool,
    /// Whether the tab's floating panes are shown (since version 1).
    #[serde(default)]
    pub are_floating_panes_visible: bool,
}

/// One pane.
///
/// `x`, `y`, `cols` and `rows` are the whole pane including its frame; `content_*` is the area
/// inside the frame (equal to the whole pane when frames are off).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaneState {
    /// The pane id, unique among panes of its kind (terminal or plugin).
    pub id: u32,
    /// Whether `id` is a plugin id rather than a terminal id.
    pub is_plugin: bool,
    /// The title shown in the pane frame.
    pub title: String,
    /// The position of the tab holding the pane.
    pub tab_position: usize,
    /// Whether the pane is focused in its layer (tiled or floating).
    pub is_focused: bool,
    /// Whether the pane floats.
    pub is_floating: bool,
    /// Whether the pane is suppressed: running but not shown (Zellij's `is_suppressed`).
    pub is_suspended: bool,
    /// Whether the pane's command exited (command panes held open).
    pub exited: bool,
    /// Column of the pane's top-left corner.
    pub x: usize,
    /// Row of the pane's top-left corner.
    pub y: usize,
    /// Width in columns.
    pub cols: usize,
    /// Height in rows.
    pub rows: usize,
    /// Column of the content area (since version 1).
    #[serde(default)]
    pub content_x: usize,
    /// Row of the content area (since version 1).
    #[serde(default)]
    pub content_y: usize,
    /// Width of the content area (since version 1).
    #[serde(default)]
    pub content_cols: usize,
    /// Height of the content area (since version 1).
    #[serde(default)]
    pub content_rows: usize,
    /// Whether the pane fills its tab (since version 1).
    #[serde(default)]
    pub is_fullscreen: bool,
    /// Whether the user can focus the pane; false for bars (since version 1).
    #[serde(default)]
    pub is_selectable: bool,
    /// The exit status of an exited command pane (since version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// The command of a command pane (since version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_command: Option<String>,
    /// The url a plugin pane was loaded from (since version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_url: Option<String>,
}

/// Why a payload is not a valid [`Op`] or a line is not a valid [`Line`].
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The text is not the expected JSON object.
    #[error("malformed perth::link message: {source}")]
    Malformed {
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// Decodes the payload of a `perth::link` pipe message.
pub fn decode_op(payload: &str) -> Result<Op, LinkError> {
    serde_json::from_str(payload.trim()).map_err(|source| LinkError::Malformed { source })
}

/// Encodes a request as the payload of a `perth::link` pipe message.
pub fn encode_op(op: &Op) -> String {
    // Serializing these plain enums to a string cannot fail: no maps with non-string keys,
    // no custom Serialize impls.
    serde_json::to_string(op).unwrap_or_default()
}

/// Encodes one output line, with its trailing newline.
pub fn encode_line(line: &Line) -> String {
    // As in `encode_op`, serialization of these types cannot fail.
    let mut text = serde_json::to_string(line).unwrap_or_default();
    text.push('\n');
    text
}

/// Decodes one output line (with or without its trailing newline).
pub fn decode_line(text: &str) -> Result<Line, LinkError> {
    serde_json::from_str(text.trim()).map_err(|source| LinkError::Malformed { source })
}
