//! The control socket of a perth session: how perth's command line talks to the server
//! extensions of a running session (`perth status`, and later notifications and persistence).
//!
//! One socket per session at `<zellij socket dir>/perth/<session>`, in a folder of its own so
//! that Zellij's session listing never mistakes it for a session. The protocol is one JSON
//! request line answered by one JSON response line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::status::PerthStatus;

/// A request on the control socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Returns the state of every extension.
    Status,
    /// Raises a notification (`perth action notify`).
    Notify {
        pane: crate::notify::bus::PaneRef,
        style: crate::notify::bus::Style,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// Clears one pane's notification, or all (`perth action clear-notification`).
    ClearNotification {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane: Option<crate::notify::bus::PaneRef>,
    },
    /// Lists active notifications and recent history (`perth action list-notifications`).
    ListNotifications { history: usize },
    /// Asks the persistence writer to write the session's state now (a client detached); it
    /// is queued and answered at once.
    PersistFlush,
    /// Sets a terminal pane's agent state (`perth action agent-state`).
    AgentState {
        pane: crate::notify::bus::PaneRef,
        state: crate::agent_state::AgentState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Lists the agent panes (`perth agents`).
    ListAgents,
    /// Gives a restored session's pane its saved agent state (the client that restored it).
    RestoreAgent {
        pane: crate::notify::bus::PaneRef,
        record: crate::agent_state::AgentPane,
    },
    /// Types text into a terminal pane's input (`perth agents send`), then Enter when asked.
    SendText {
        pane: crate::notify::bus::PaneRef,
        text: String,
        #[serde(default)]
        enter: bool,
    },
}

/// A response on the control socket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ControlResponse {
    Status(Box<PerthStatus>),
    Notified(crate::notify::bus::Notification),
    Cleared {
        count: usize,
    },
    Notifications(crate::notify::engine::NotificationList),
    /// The flush is queued (`queued` false: persistence is off).
    FlushQueued {
        queued: bool,
    },
    /// The agent panes, waiting ones first (one for `AgentState`).
    Agents {
        agents: Vec<crate::agent_state::AgentPane>,
    },
    /// The bytes written to the pane's terminal (`SendText`).
    Sent {
        bytes: usize,
    },
    Error {
        message: String,
    },
}

/// Errors talking to a session's control socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("session '{session}' has no perth control socket at {path}; is it a perth session (not stock Zellij) and still running?", path = path.display())]
    NotRunning { session: String, path: PathBuf },
    #[error("the perth server of session '{session}' did not answer: {source}")]
    Io {
        session: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the perth server of session '{session}' sent an unreadable answer: {source}")]
    Decode {
        session: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Returns the control socket path of `session` under Zellij's socket directory.
pub fn socket_path(sock_dir: &Path, session: &str) -> PathBuf {
    let dir = sock_dir.join("perth");
    let plain = dir.join(session);
    // Unix socket paths are limited to 108 bytes; long names fall back to a digest.
    if plain.as_os_str().len() < 100 {
        plain
    } else {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(session.as_bytes());
        let name: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
        dir.join(name)
    }
}

/// Sends one request to a session's control socket and waits for the answer.
pub fn request(
    sock_dir: &Path,
    session: &str,
    req: &ControlRequest,
    timeout: Duration,
) -> Result<ControlResponse, ControlError> {
    let path = socket_path(sock_dir, session);
    let io = |source| ControlError::Io {
        session: session.to_string(),
        source,
    };
    let stream = UnixStream::connect(&path).map_err(|_| ControlError::NotRunning {
        session: session.to_string(),
        path: path.clone(),
    })?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let mut writer = &stream;
    let mut line = serde_json::to_string(req).expect("control requests always serialize");
    line.push('\n');
    writer.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(io)?;
    serde_json::from_str(&answer).map_err(|source| ControlError::Decode {
        session: session.to_string(),
        source,
    })
}

/// Reports an answer a command did not ask for (a server of another perth version) and
/// returns the exit code for it.
pub fn unexpected_answer(answer: &ControlResponse) -> i32 {
    eprintln!(
        "perth: the server answered with something else ({answer:?}); is it the same perth version?"
    );
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_round_trip() {
        let req = ControlRequest::Status;
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(json, r#"{"cmd":"status"}"#);
        assert_eq!(serde_json::from_str::<ControlRequest>(&json).unwrap(), req);
        let resp = ControlResponse::Error {
            message: "x".into(),
        };
        let json = serde_json::to_string(&resp).unwrap();
        assert_eq!(
            serde_json::from_str::<ControlResponse>(&json).unwrap(),
            resp
        );
    }

    #[test]
    fn long_session_names_get_short_socket_paths() {
        let dir = Path::new("/tmp/zellij-0/contract_version_1");
        assert_eq!(socket_path(dir, "s1"), dir.join("perth/s1"));
        let long = "x".repeat(200);
        let p = socket_path(dir, &long);
        assert!(p.as_os_str().len() < 100, "{}", p.display());
    }

    #[test]
    fn missing_socket_says_not_running() {
        let tmp = tempfile::tempdir().unwrap();
        let err = request(
            tmp.path(),
            "nope",
            &ControlRequest::Status,
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert!(matches!(err, ControlError::NotRunning { .. }));
    }
}
