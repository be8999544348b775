//! The server side of the control socket (see `crate::control`): answers `perth status`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use super::Extensions;
use crate::control::{socket_path, ControlRequest, ControlResponse};

/// Accepts control connections until the process ends.
pub fn control_main(extensions: Arc<Extensions>) {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let path = socket_path(&sock_dir, &extensions.session);
    if let Some(dir) = path.parent() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            log::error!("perth: cannot create {}: {e}", dir.display());
            return;
        }
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            log::error!("perth: cannot listen on {}: {e}", path.display());
            return;
        }
    };
    for stream in listener.incoming().flatten() {
        let ext = extensions.clone();
        let _ = std::thread::Builder::new()
            .name("perth-control-conn".into())
            .spawn(move || serve(stream, &ext));
    }
}

fn serve(stream: UnixStream, extensions: &Extensions) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    if BufReader::new(&stream).read_line(&mut line).is_err() {
        return;
    }
    let response = match serde_json::from_str::<ControlRequest>(&line) {
        Ok(ControlRequest::Status) => ControlResponse::Status(Box::new(extensions.status())),
        Ok(ControlRequest::Notify { pane, .. })
        | Ok(ControlRequest::ClearNotification { pane: Some(pane) })
        | Ok(ControlRequest::AgentState { pane, .. })
        | Ok(ControlRequest::SendText { pane, .. })
        | Ok(ControlRequest::RestoreAgent { pane, .. })
            if !pane_known(extensions, pane)
                || matches!(pane, crate::notify::bus::PaneRef::Terminal(id)
                    if extensions.agents.is_closed(id)) =>
        {
            ControlResponse::Error {
                message: format!("no pane {pane} in this session; see `perth action list-panes`"),
            }
        }
        Ok(ControlRequest::Notify {
            pane,
            style,
            message,
            ttl_ms,
        }) => {
            let raise = crate::notify::bus::Raise {
                pane,
                style,
                message: bridge_protocol::notice::clean_message(&message),
                source: crate::notify::bus::Source::Cli,
                ttl: ttl_ms.map(Duration::from_millis),
            };
            // The pane exists (checked above, against the session when the engine's view
            // has not caught up with a pane made a moment ago).
            ControlResponse::Notified(extensions.notify.raise_existing(raise))
        }
        Ok(ControlRequest::ClearNotification { pane }) => match extensions.notify.clear(pane) {
            Ok(count) => ControlResponse::Cleared { count },
            Err(message) => ControlResponse::Error { message },
        },
        Ok(ControlRequest::ListNotifications { history }) => {
            ControlResponse::Notifications(extensions.notify.list(history))
        }
        Ok(ControlRequest::PersistFlush) => ControlResponse::FlushQueued {
            queued: super::persist::request_flush(),
        },
        Ok(ControlRequest::AgentState {
            pane,
            state,
            message,
        }) => match pane {
            crate::notify::bus::PaneRef::Terminal(id) => ControlResponse::Agents {
                agents: extensions
                    .agents
                    .signal(
                        id,
                        state,
                        message.as_deref(),
                        crate::agent_state::SignalSource::Cli,
                    )
                    .into_iter()
                    .collect(),
            },
            crate::notify::bus::PaneRef::Plugin(_) => ControlResponse::Error {
                message: format!("{pane} is a plugin pane; agent state is kept for terminal panes"),
            },
        },
        Ok(ControlRequest::RestoreAgent { pane, record }) => match pane {
            crate::notify::bus::PaneRef::Terminal(id) => {
                extensions.agents.restore(id, record);
                ControlResponse::Agents {
                    agents: extensions.agents.list(),
                }
            }
            crate::notify::bus::PaneRef::Plugin(_) => ControlResponse::Error {
                message: format!("{pane} is a plugin pane; agent state is kept for terminal panes"),
            },
        },
        Ok(ControlRequest::SendText { pane, text, enter }) => match pane {
            crate::notify::bus::PaneRef::Terminal(id) => send_text(extensions, id, &text, enter),
            crate::notify::bus::PaneRef::Plugin(_) => ControlResponse::Error {
                message: format!("{pane} is a plugin pane; text goes to terminal panes"),
            },
        },
        Ok(ControlRequest::ListAgents) => ControlResponse::Agents {
            agents: extensions.agents.placed(&extensions.ptys),
        },
        Err(e) => ControlResponse::Error {
            message: format!("malformed control request: {e}"),
        },
    };
    let mut out = serde_json::to_string(&response).unwrap_or_else(|e| {
        format!("{{\"result\":\"error\",\"message\":\"cannot encode the answer: {e}\"}}")
    });
    out.push('\n');
    let mut writer = &stream;
    let _ = writer.write_all(out.as_bytes());
}

/// Enter waits for the text's echo and then for this much quiet: an input box that takes a
/// return close behind other input as part of it (Gemini CLI, within 30 ms) gets it as Enter.
const ENTER_QUIET: Duration = Duration::from_millis(100);

/// The longest Enter waits for the echo (a program that echoes nothing).
const ECHO_WAIT: Duration = Duration::from_secs(1);

/// How long a write may wait for a pane whose program does not read its input.
const SEND_DEADLINE: Duration = Duration::from_secs(2);

/// Types `text` into terminal `id` (see [`keys_of`]), then Enter.
fn send_text(extensions: &Extensions, id: u32, text: &str, enter: bool) -> ControlResponse {
    let keys = keys_of(text, enter);
    let sent_at = super::detect::output_clock_ms();
    let mut written = match write_all(extensions, id, &keys) {
        Ok(n) => n,
        Err(message) => return ControlResponse::Error { message },
    };
    if enter {
        if !keys.is_empty() {
            wait_for_echo(extensions, id, sent_at);
        }
        match write_all(extensions, id, b"\r") {
            Ok(n) => written += n,
            Err(message) => return ControlResponse::Error { message },
        }
    }
    ControlResponse::Sent { bytes: written }
}

/// Waits until the pane echoed what was sent at `sent_at` and then stayed quiet for
/// [`ENTER_QUIET`], at most [`ECHO_WAIT`].
fn wait_for_echo(extensions: &Extensions, id: u32, sent_at: u64) {
    let deadline = std::time::Instant::now() + ECHO_WAIT;
    let quiet = ENTER_QUIET.as_millis() as u64;
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let now = super::detect::output_clock_ms();
        let echoed = extensions
            .detector
            .last_output_ms(id)
            .filter(|&last| last >= sent_at);
        if echoed.is_some_and(|last| now.saturating_sub(last) >= quiet)
            || std::time::Instant::now() >= deadline
        {
            return;
        }
    }
}

fn write_all(extensions: &Extensions, id: u32, mut bytes: &[u8]) -> Result<usize, String> {
    let total = bytes.len();
    let deadline = std::time::Instant::now() + SEND_DEADLINE;
    while !bytes.is_empty() {
        match extensions.ptys.write(id, bytes) {
            None => {
                return Err(format!(
                    "terminal_{id} is not a shell or command pane of this session; \
                     text goes to those"
                ))
            }
            Some(Err(e)) => return Err(format!("cannot write to terminal_{id}: {e}")),
            Some(Ok(n)) => bytes = &bytes[n..],
        }
        if !bytes.is_empty() {
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "terminal_{id} took {} of {total} bytes in {}s: its program does not \
                     read its input",
                    total - bytes.len(),
                    SEND_DEADLINE.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(total)
}

/// Whether a pane exists: the notification engine's view (perth-core's last push) when it
/// holds the pane, else the session itself (a pane made a moment ago, or the first second of
/// a session, before perth-core pushed it).
fn pane_known(extensions: &Extensions, pane: crate::notify::bus::PaneRef) -> bool {
    extensions.notify.has_pane(pane) == Some(true)
        || session_has_pane(&extensions.socket_path, pane)
}

/// Asks the session at `socket_path` whether it has `pane` (`list-panes`); a session that
/// cannot say is taken at its word that it has (as the engine would).
pub fn session_has_pane(socket_path: &std::path::Path, pane: crate::notify::bus::PaneRef) -> bool {
    let listed = session_ipc::SessionClient::connect(socket_path)
        .and_then(|mut client| client.list_panes(Duration::from_secs(2)));
    match listed {
        Ok(panes) => panes.iter().any(|p| {
            let is_plugin = p["is_plugin"].as_bool().unwrap_or(false);
            p["id"]
                .as_u64()
                .map(|id| crate::notify::bus::PaneRef::new(id as u32, is_plugin))
                == Some(pane)
        }),
        Err(_) => true,
    }
}

/// Removes the control socket when the session ends.
pub fn remove_socket(extensions: &Extensions) {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let _ = std::fs::remove_file(socket_path(&sock_dir, &extensions.session));
}

/// Returns the keys that type `text`: as one bracketed paste when it is a message to submit
/// (`submit`) or holds several lines (each line break a carriage return, as a terminal
/// pastes), else as typed keys (an answer to a prompt, `y`). Control characters other than
/// line breaks and tabs are dropped: the text cannot carry an escape sequence.
///
/// A message goes as a paste because agents' input boxes take a fast burst of typed keys for
/// a paste of their own guessing, and the Enter after it for a new line in it (Codex CLI);
/// a bracketed paste is taken whole, and the Enter after it submits.
pub fn keys_of(text: &str, submit: bool) -> Vec<u8> {
    let text = text.replace("\r\n", "\n");
    let lines = text.trim_end_matches('\n');
    let clean: String = lines
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .map(|c| if c == '\n' { '\r' } else { c })
        .collect();
    if !clean.is_empty() && (submit || clean.contains('\r')) {
        format!("\u{1b}[200~{clean}\u{1b}[201~").into_bytes()
    } else {
        clean.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_text_is_typed_inert_and_several_lines_go_as_one_paste() {
        assert_eq!(keys_of("y", false), b"y");
        assert_eq!(keys_of("fix it\n", false), b"fix it");
        assert_eq!(keys_of("a\u{1b}[2Jb\u{7}\tc", false), b"a[2Jb\tc");
        assert_eq!(
            keys_of("first\r\nsecond\n", false),
            b"\x1b[200~first\rsecond\x1b[201~"
        );
        // A message to submit is pasted whole; Enter alone stays a key.
        assert_eq!(
            keys_of("run the tests", true),
            b"\x1b[200~run the tests\x1b[201~"
        );
        assert_eq!(keys_of("", true), b"");
    }
}
