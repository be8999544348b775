//! Agent states in the intent log (DESIGN.md D12): perth's `workspace.agent.state_changed`
//! events read back, and the entry each becomes when `agents.log_transitions` is on.
//!
//! perth's server owns the states and writes every change to its outbox; host-bridge reads
//! that outbox and hands each change to [`crate::Zdrive::log_transition`]. This module is the
//! pure part: which events are transitions, and the one-line summary a person reads.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::text::cut_to;

/// The routing key of an agent pane's change of state, as perth writes it.
pub const EVENT_TYPE: &str = "workspace.agent.state_changed";

/// Longest question kept in a summary, in bytes; an agent's prompt can be a screenful.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// A state an agent pane can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentState {
    /// It asks its user something.
    Waiting,
    /// It is producing output.
    Working,
    /// Its turn is over.
    Idle,
    /// Its program ended.
    Exited,
}

impl AgentState {
    /// Returns the state for perth's name of it, `None` for a name zdrive does not know.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "waiting" => Some(Self::Waiting),
            "working" => Some(Self::Working),
            "idle" => Some(Self::Idle),
            "exited" => Some(Self::Exited),
            _ => None,
        }
    }

    /// Returns perth's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Working => "working",
            Self::Idle => "idle",
            Self::Exited => "exited",
        }
    }
}

/// One change of an agent pane's state, read from perth's CloudEvent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentTransition {
    /// The event's id (CloudEvents `id`).
    pub event_id: String,
    /// When it happened (CloudEvents `time`).
    pub time: DateTime<Utc>,
    /// The perth session.
    pub session: String,
    /// The pane, `terminal_N`: the form zdrive records pane ids in.
    pub pane_id: String,
    /// The state it left, if it had one.
    pub from: Option<AgentState>,
    /// The state it is in now.
    pub to: AgentState,
    /// The question asked, the tool it wants to run, what it finished.
    pub message: Option<String>,
    /// The agent program (`claude`, `codex`, ...), when perth knows it.
    pub program: Option<String>,
    /// The program's exit status, for `exited`.
    pub exit_status: Option<i64>,
}

impl AgentTransition {
    /// Reads a CloudEvent (the whole JSON perth stored); `None` for any other event and for
    /// one that lacks what a log entry needs (a session, a pane, a known state).
    pub fn from_event(event: &Value) -> Option<Self> {
        if event["type"].as_str() != Some(EVENT_TYPE) {
            return None;
        }
        let data = &event["data"];
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let time = event["time"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?
            .with_timezone(&Utc);
        Some(Self {
            event_id: text(&event["id"])?,
            time,
            session: text(&data["session"])?,
            pane_id: text(&data["pane_id"]).filter(|p| p.starts_with("terminal_"))?,
            from: data["from"].as_str().and_then(AgentState::parse),
            to: AgentState::parse(data["to"].as_str()?)?,
            message: text(&data["message"]),
            program: text(&data["program"]),
            exit_status: data["exit_status"].as_i64(),
        })
    }

    /// Returns the entry's summary: `agent waiting: Do you want to run npm test?`,
    /// `agent idle`, `agent exited (status 1)`.
    ///
    /// The message becomes one line (line breaks and runs of blanks are one space) of at
    /// most [`MAX_MESSAGE_BYTES`]; other characters stay as given, as in any summary, and are
    /// shown inert by every format (and passed through the secret filter when logged).
    pub fn summary(&self) -> String {
        let mut summary = format!("agent {}", self.to.as_str());
        if self.to == AgentState::Exited {
            if let Some(status) = self.exit_status {
                summary.push_str(&format!(" (status {status})"));
            }
        }
        let message = self
            .message
            .as_deref()
            .map(|m| m.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        if !message.is_empty() {
            let cut = cut_to(&message, MAX_MESSAGE_BYTES);
            summary.push_str(": ");
            summary.push_str(cut);
            if cut.len() < message.len() {
                summary.push('…');
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(to: &str, message: Value, exit_status: Value) -> Value {
        json!({
            "specversion": "1.0",
            "id": "0190b1e2-0000-7000-8000-000000000001",
            "source": "perth://host/perth",
            "type": EVENT_TYPE,
            "subject": "work/terminal_3",
            "time": "2026-03-04T05:06:07.089Z",
            "datacontenttype": "application/json",
            "data": {
                "session": "work",
                "pane_id": "terminal_3",
                "from": "working",
                "to": to,
                "message": message,
                "source": "cli",
                "program": "claude",
                "exit_status": exit_status,
            }
        })
    }

    fn summary(to: &str, message: Value, exit_status: Value) -> String {
        AgentTransition::from_event(&event(to, message, exit_status))
            .unwrap()
            .summary()
    }

    #[test]
    fn summaries_say_the_state_and_what_the_agent_asked() {
        assert_eq!(
            summary(
                "waiting",
                json!("Do you want to run npm test?"),
                Value::Null
            ),
            "agent waiting: Do you want to run npm test?"
        );
        assert_eq!(summary("idle", Value::Null, Value::Null), "agent idle");
        assert_eq!(summary("idle", json!(""), Value::Null), "agent idle");
        assert_eq!(
            summary("idle", json!("Tests pass"), Value::Null),
            "agent idle: Tests pass"
        );
        assert_eq!(
            summary("working", Value::Null, Value::Null),
            "agent working"
        );
        assert_eq!(
            summary("exited", Value::Null, json!(1)),
            "agent exited (status 1)"
        );
        assert_eq!(summary("exited", Value::Null, Value::Null), "agent exited");
        assert_eq!(
            summary("exited", json!("bye"), json!(0)),
            "agent exited (status 0): bye"
        );
    }

    #[test]
    fn messages_become_one_bounded_line_and_controls_stay_for_the_formats() {
        assert_eq!(
            summary(
                "waiting",
                json!("Allow\n  edit of\tsrc/a.rs?\r\n"),
                Value::Null
            ),
            "agent waiting: Allow edit of src/a.rs?"
        );
        // Escapes are stored as given, like any summary; every format prints them inert.
        let s = summary("waiting", json!("\u{1b}[31mrm -rf?\u{7}"), Value::Null);
        assert_eq!(s, "agent waiting: \u{1b}[31mrm -rf?\u{7}");
        assert_eq!(crate::format::inert(&s), "agent waiting: ^[[31mrm -rf?^G");
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let s = summary("waiting", json!(long), Value::Null);
        assert!(s.ends_with('…'), "{s}");
        assert!(
            s.len() <= "agent waiting: ".len() + MAX_MESSAGE_BYTES + '…'.len_utf8(),
            "{}",
            s.len()
        );
    }

    #[test]
    fn events_are_read_with_their_pane_state_and_time() {
        let t =
            AgentTransition::from_event(&event("waiting", json!("Proceed?"), Value::Null)).unwrap();
        assert_eq!(t.session, "work");
        assert_eq!(t.pane_id, "terminal_3");
        assert_eq!(t.from, Some(AgentState::Working));
        assert_eq!(t.to, AgentState::Waiting);
        assert_eq!(t.program.as_deref(), Some("claude"));
        assert_eq!(t.event_id, "0190b1e2-0000-7000-8000-000000000001");
        assert_eq!(
            crate::model::format_time(&t.time),
            "2026-03-04T05:06:07.089000Z"
        );
    }

    #[test]
    fn other_and_incomplete_events_are_not_transitions() {
        let mut other = event("idle", Value::Null, Value::Null);
        other["type"] = json!("workspace.notification.raised");
        assert_eq!(AgentTransition::from_event(&other), None);
        for (field, value) in [
            ("session", json!("")),
            ("session", Value::Null),
            ("pane_id", json!("plugin_2")),
            ("pane_id", json!(3)),
            ("to", json!("dancing")),
            ("to", Value::Null),
        ] {
            let mut e = event("idle", Value::Null, Value::Null);
            e["data"][field] = value.clone();
            assert_eq!(AgentTransition::from_event(&e), None, "{field} = {value}");
        }
        let mut no_time = event("idle", Value::Null, Value::Null);
        no_time["time"] = json!("yesterday");
        assert_eq!(AgentTransition::from_event(&no_time), None);
        assert_eq!(AgentTransition::from_event(&Value::Null), None);
        // A first state has no `from`.
        let mut first = event("working", Value::Null, Value::Null);
        first["data"]["from"] = Value::Null;
        assert_eq!(AgentTransition::from_event(&first).unwrap().from, None);
    }
}
