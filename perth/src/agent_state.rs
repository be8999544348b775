//! What each terminal pane's coding agent is doing (DESIGN.md D12): working, waiting for its
//! user, idle at its prompt, or exited. perth's server keeps one [`Board`] per session; this is
//! its pure state, with the clock passed in, and the vocabulary the command line, the
//! `perth::agent` pipe and the escape sequence share.
//!
//! Signals come, strongest first, from explicit calls (`perth action agent-state`, the
//! `perth::agent` pipe, the escape sequence `ESC ] 777 ; perth-agent ; STATE ; MESSAGE BEL` a
//! program prints, agents' hooks that run those), and from a command pane's exit.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest message kept with a state, in characters.
pub const MAX_MESSAGE: usize = 200;

/// The pipe a script or hook reports a state on: `--args pane_id=ID,state=STATE`, the message
/// as the payload.
pub const PIPE_NAME: &str = "perth::agent";

/// The escape sequence's namespace inside OSC 777 (`ESC ] 777 ; perth-agent ; STATE ; MESSAGE`).
pub const OSC_NAMESPACE: &str = "perth-agent";

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    /// It asks its user something: a permission, a question, a confirmation.
    Waiting,
    /// It is producing output or shows its busy indicator.
    Working,
    /// Its turn is over; it waits at its input prompt.
    Idle,
    /// The program ended.
    Exited,
}

/// Every state, in the order listings show them (waiting first).
pub const STATES: [AgentState; 4] = [
    AgentState::Waiting,
    AgentState::Working,
    AgentState::Idle,
    AgentState::Exited,
];

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgentState::Waiting => "waiting",
            AgentState::Working => "working",
            AgentState::Idle => "idle",
            AgentState::Exited => "exited",
        })
    }
}

impl FromStr for AgentState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        STATES
            .into_iter()
            .find(|state| state.to_string() == wanted)
            .ok_or_else(|| {
                format!(
                    "unknown agent state '{}'; use one of: waiting, working, idle, exited",
                    bridge_protocol::notice::clean_message(s)
                )
            })
    }
}

/// Where a state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    /// `perth action agent-state` (and hooks that run it).
    Cli,
    /// The `perth::agent` pipe.
    Pipe,
    /// The escape sequence in the pane's output.
    Escape,
    /// A command pane's command ended.
    CommandExit,
    /// perth read it from a known agent's screen.
    Screen,
    /// Output or silence of a configured agent program perth cannot read.
    Activity,
}

impl SignalSource {
    /// Whether the agent (or its hooks, or a script) said so itself: such a state is never
    /// overruled by what perth reads from the screen.
    pub fn is_explicit(self) -> bool {
        matches!(
            self,
            SignalSource::Cli | SignalSource::Pipe | SignalSource::Escape
        )
    }
}

/// One agent pane as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPane {
    /// The terminal pane's id (`terminal_N` is `N`).
    pub pane_id: u32,
    pub state: AgentState,
    /// When the pane entered this state (Unix milliseconds).
    pub since_ms: u64,
    /// The question asked, the tool it wants to run, what it finished; inert text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub source: SignalSource,
    /// The program's exit status, for `exited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<i32>,
    /// The agent program running in the pane, when perth knows it (`claude`, `codex`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Where the pane is and what it works on; filled in when the panes are listed.
    #[serde(flatten)]
    pub place: PanePlace,
    /// The state came back with a restored session: the last one known before the session
    /// ended, kept until the agent shows a new one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restored: bool,
}

/// Where an agent pane is: its name, its tab and the git worktree it works in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanePlace {
    /// The session, in listings of every session (`perth agents --all-sessions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The pane's name (its frame title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pane_name: Option<String>,
    /// The name of the pane's tab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    /// The root of the git worktree its foreground program works in (an iMi worktree's
    /// folder, or a repository's trunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
}

/// A change of a pane's state, for what follows from it (notifications, listeners).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub pane_id: u32,
    pub from: Option<AgentState>,
    pub to: AgentState,
    pub message: Option<String>,
}

/// The agent state of every terminal pane that has one.
#[derive(Debug, Default, Clone)]
pub struct Board {
    panes: BTreeMap<u32, AgentPane>,
    /// Panes that closed: Zellij never gives a terminal id twice in a session, so a state that
    /// arrives for one of them (a hook racing its pane's close) is for a pane that is gone.
    closed: std::collections::BTreeSet<u32>,
}

impl Board {
    /// Records `state` for `pane_id`; returns the transition when the state changed (a new
    /// message in the same state updates the record and is no transition).
    pub fn set(
        &mut self,
        pane_id: u32,
        state: AgentState,
        message: Option<&str>,
        source: SignalSource,
        now_ms: u64,
    ) -> Option<Transition> {
        if self.closed.contains(&pane_id) {
            return None;
        }
        let message = message.map(clean).filter(|m| !m.is_empty());
        let previous = self.panes.get(&pane_id).map(|p| p.state);
        let record = self.panes.entry(pane_id).or_insert_with(|| AgentPane {
            pane_id,
            state,
            since_ms: now_ms,
            message: None,
            source,
            exit_status: None,
            program: None,
            place: PanePlace::default(),
            restored: false,
        });
        record.source = source;
        record.restored = false;
        if previous == Some(state) {
            // The same state again: a new message replaces the old one, none keeps it (a
            // pipe read from standard input ends with an empty message).
            if message.is_some() {
                record.message = message;
            }
            return None;
        }
        record.message = message.clone();
        record.state = state;
        record.since_ms = now_ms;
        record.exit_status = None;
        Some(Transition {
            pane_id,
            from: previous,
            to: state,
            message,
        })
    }

    /// A command pane's program ended with `status`; only a pane that has an agent state is
    /// marked `exited` (a build that ends is not an agent).
    pub fn exited(&mut self, pane_id: u32, status: Option<i32>, now_ms: u64) -> Option<Transition> {
        let record = self.panes.get_mut(&pane_id)?;
        let from = record.state;
        if from == AgentState::Exited {
            return None;
        }
        record.state = AgentState::Exited;
        record.restored = false;
        record.since_ms = now_ms;
        record.source = SignalSource::CommandExit;
        record.exit_status = status;
        record.message = Some(match status {
            Some(code) => format!("exit status {code}"),
            None => "killed".to_string(),
        });
        Some(Transition {
            pane_id,
            from: Some(from),
            to: AgentState::Exited,
            message: record.message.clone(),
        })
    }

    /// Takes a saved record for `pane_id` (a restored session's pane), marked as restored,
    /// unless the pane already has a state. Returns whether it was taken.
    pub fn restore(&mut self, pane_id: u32, mut record: AgentPane) -> bool {
        if self.panes.contains_key(&pane_id) || self.closed.contains(&pane_id) {
            return false;
        }
        record.pane_id = pane_id;
        record.restored = true;
        record.place = PanePlace::default();
        self.panes.insert(pane_id, record);
        true
    }

    /// Records which agent program runs in a pane that has a state.
    pub fn set_program(&mut self, pane_id: u32, program: &str) {
        if let Some(record) = self.panes.get_mut(&pane_id) {
            record.program = Some(program.to_string());
        }
    }

    /// Each pane's state, by pane.
    pub fn states(&self) -> BTreeMap<u32, AgentState> {
        self.panes.iter().map(|(id, p)| (*id, p.state)).collect()
    }

    /// Forgets a pane that closed.
    pub fn remove(&mut self, pane_id: u32) -> bool {
        self.closed.insert(pane_id);
        self.panes.remove(&pane_id).is_some()
    }

    /// Whether the pane closed.
    pub fn is_closed(&self, pane_id: u32) -> bool {
        self.closed.contains(&pane_id)
    }

    /// Returns the pane's record.
    pub fn get(&self, pane_id: u32) -> Option<&AgentPane> {
        self.panes.get(&pane_id)
    }

    /// Returns every agent pane, waiting ones first, then working, idle and exited; within a
    /// state the longest in it first.
    pub fn list(&self) -> Vec<AgentPane> {
        let mut panes: Vec<AgentPane> = self.panes.values().cloned().collect();
        panes.sort_by_key(|p| (p.state, p.since_ms, p.pane_id));
        panes
    }
}

/// Returns `message` as inert, one-line text of at most [`MAX_MESSAGE`] characters.
fn clean(message: &str) -> String {
    let inert = bridge_protocol::notice::clean_message(message);
    let one_line = inert.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// Parses the `perth::agent` pipe's arguments and payload into a pane, state and message.
pub fn parse_pipe(
    args: Option<&BTreeMap<String, String>>,
    payload: Option<&str>,
) -> Result<(u32, AgentState, Option<String>), String> {
    let arg = |k: &str| args.and_then(|a| a.get(k)).map(String::as_str);
    let pane = arg("pane_id")
        .ok_or("perth::agent needs --args pane_id=ID,state=STATE (the message as the payload)")?;
    let pane = match pane.parse::<bridge_protocol::notice::PaneRef>()? {
        bridge_protocol::notice::PaneRef::Terminal(id) => id,
        bridge_protocol::notice::PaneRef::Plugin(_) => {
            return Err("perth::agent: agent state is kept for terminal panes only".into())
        }
    };
    let state = arg("state")
        .ok_or("perth::agent needs --args state=STATE (waiting, working, idle or exited)")?
        .parse()?;
    let message = arg("message").or(payload).map(str::to_string);
    Ok((pane, state, message))
}

/// Parses the body of the escape sequence after `777;perth-agent;`: `STATE[;MESSAGE]`.
pub fn parse_escape(rest: &str) -> Option<(AgentState, Option<String>)> {
    let mut parts = rest.splitn(2, ';');
    let state = parts.next()?.parse().ok()?;
    Some((state, parts.next().map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_in_any_case_and_unknown_ones_name_the_valid_ones() {
        assert_eq!("Waiting".parse::<AgentState>(), Ok(AgentState::Waiting));
        assert_eq!(" idle ".parse::<AgentState>(), Ok(AgentState::Idle));
        let err = "sleeping\x1b[31m".parse::<AgentState>().unwrap_err();
        assert!(err.contains("waiting, working, idle, exited"), "{err}");
        assert!(!err.contains('\x1b'), "{err}");
    }

    #[test]
    fn transitions_are_reported_once_and_messages_kept_inert() {
        let mut board = Board::default();
        let t = board
            .set(3, AgentState::Working, None, SignalSource::Cli, 10)
            .unwrap();
        assert_eq!((t.from, t.to), (None, AgentState::Working));
        assert_eq!(
            board.set(
                3,
                AgentState::Working,
                Some("still"),
                SignalSource::Escape,
                20
            ),
            None
        );
        assert_eq!(board.get(3).unwrap().since_ms, 10);
        assert_eq!(board.get(3).unwrap().message.as_deref(), Some("still"));
        board.set(3, AgentState::Working, None, SignalSource::Pipe, 25);
        assert_eq!(board.get(3).unwrap().message.as_deref(), Some("still"));
        let t = board
            .set(
                3,
                AgentState::Waiting,
                Some("Allow \x1b[2Jedit\nof src/main.rs?"),
                SignalSource::Pipe,
                30,
            )
            .unwrap();
        assert_eq!(t.from, Some(AgentState::Working));
        let message = t.message.unwrap();
        assert!(
            !message.contains('\x1b') && !message.contains('\n'),
            "{message:?}"
        );
        assert!(message.contains("of src/main.rs?"), "{message:?}");
        let long = "x".repeat(MAX_MESSAGE * 3);
        board.set(3, AgentState::Waiting, Some(&long), SignalSource::Cli, 40);
        assert_eq!(
            board
                .get(3)
                .unwrap()
                .message
                .as_ref()
                .unwrap()
                .chars()
                .count(),
            MAX_MESSAGE + 1
        );
    }

    #[test]
    fn a_closed_pane_takes_no_state_and_a_restored_one_keeps_a_newer_state() {
        let mut board = Board::default();
        board.set(3, AgentState::Working, None, SignalSource::Cli, 1);
        assert!(board.remove(3));
        // A hook racing the close: refused, nothing listed.
        assert_eq!(
            board.set(3, AgentState::Idle, None, SignalSource::Cli, 2),
            None
        );
        assert!(board.is_closed(3) && board.list().is_empty());
        let saved = AgentPane {
            pane_id: 9,
            state: AgentState::Waiting,
            since_ms: 1,
            message: Some("Run tests?".into()),
            source: SignalSource::Screen,
            exit_status: None,
            program: Some("claude".into()),
            place: PanePlace::default(),
            restored: false,
        };
        assert!(!board.restore(3, saved.clone()), "a closed pane");
        assert!(board.restore(4, saved.clone()));
        assert!(board.get(4).unwrap().restored);
        assert_eq!(board.get(4).unwrap().pane_id, 4);
        // The agent's own state replaces the restored one, and is no longer marked restored.
        board.set(4, AgentState::Working, None, SignalSource::Screen, 5);
        assert!(!board.get(4).unwrap().restored);
        board.set(5, AgentState::Idle, None, SignalSource::Cli, 6);
        assert!(!board.restore(5, saved), "a pane with a state of its own");
        assert_eq!(board.get(5).unwrap().state, AgentState::Idle);
    }

    #[test]
    fn only_agent_panes_exit_and_listing_puts_waiting_first() {
        let mut board = Board::default();
        assert_eq!(
            board.exited(9, Some(0), 5),
            None,
            "a plain command is no agent"
        );
        board.set(1, AgentState::Idle, None, SignalSource::Cli, 1);
        board.set(2, AgentState::Working, None, SignalSource::Cli, 2);
        board.set(
            4,
            AgentState::Waiting,
            Some("Proceed?"),
            SignalSource::Cli,
            4,
        );
        board.set(5, AgentState::Waiting, None, SignalSource::Cli, 3);
        let t = board.exited(2, Some(1), 6).unwrap();
        assert_eq!(t.to, AgentState::Exited);
        let order: Vec<(u32, AgentState)> =
            board.list().iter().map(|p| (p.pane_id, p.state)).collect();
        assert_eq!(
            order,
            [
                (5, AgentState::Waiting),
                (4, AgentState::Waiting),
                (1, AgentState::Idle),
                (2, AgentState::Exited)
            ]
        );
        assert_eq!(board.get(2).unwrap().exit_status, Some(1));
        assert!(board.remove(2) && !board.remove(2));
    }

    #[test]
    fn the_pipe_and_the_escape_sequence_parse() {
        let args: BTreeMap<String, String> = [("pane_id", "terminal_4"), ("state", "waiting")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(
            parse_pipe(Some(&args), Some("Run npm test?")),
            Ok((4, AgentState::Waiting, Some("Run npm test?".into())))
        );
        assert!(parse_pipe(None, None).unwrap_err().contains("pane_id"));
        let mut bad = args.clone();
        bad.insert("state".into(), "asleep".into());
        assert!(parse_pipe(Some(&bad), None)
            .unwrap_err()
            .contains("waiting, working, idle, exited"));
        bad.insert("pane_id".into(), "plugin_2".into());
        assert!(parse_pipe(Some(&bad), None).is_err());
        assert_eq!(
            parse_escape("idle;turn over; all tests pass"),
            Some((AgentState::Idle, Some("turn over; all tests pass".into())))
        );
        assert_eq!(parse_escape("working"), Some((AgentState::Working, None)));
        assert_eq!(parse_escape("bogus;x"), None);
    }
}
