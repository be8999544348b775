//! Pushes events to the plugins of running sessions: one `host-bridge::event` pipe message per
//! session, sent through the session's IPC socket (no process per event).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use bridge_protocol::{PushedEvent, PUSH_PIPE_NAME};
use session_ipc::SessionClient;

static NEXT_PIPE: AtomicU64 = AtomicU64::new(1);

/// Sends `event` to every session socket in `session_dir`; returns how many took it.
///
/// Each message goes on a connection of its own: Zellij holds a CLI connection until every
/// plugin has seen a broadcast pipe message, so a shared connection would queue events behind
/// each other. Sessions that do not answer are skipped.
pub fn push_to_sessions(session_dir: &Path, event: &PushedEvent) -> u32 {
    let Ok(entries) = std::fs::read_dir(session_dir) else {
        return 0;
    };
    // Serializing a PushedEvent cannot fail: a string and a JSON value.
    let payload = serde_json::to_string(event).unwrap_or_default();
    let mut reached = 0;
    for entry in entries.flatten() {
        let is_socket = entry
            .file_type()
            .map(|t| std::os::unix::fs::FileTypeExt::is_socket(&t))
            .unwrap_or(false);
        if !is_socket {
            continue;
        }
        let pipe_id = format!(
            "host-bridge-{}-{}",
            std::process::id(),
            NEXT_PIPE.fetch_add(1, Ordering::Relaxed)
        );
        let sent = SessionClient::connect(&entry.path()).and_then(|mut client| {
            client.send_pipe(&pipe_id, PUSH_PIPE_NAME, Some(payload.clone()))
        });
        match sent {
            Ok(()) => reached += 1,
            Err(e) => {
                tracing::debug!(session = %entry.path().display(), error = %e, "session did not take a pushed event")
            }
        }
    }
    reached
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_session_folder_reaches_nobody() {
        let event = PushedEvent {
            topic: "t".into(),
            data: serde_json::Value::Null,
        };
        assert_eq!(push_to_sessions(Path::new("/nonexistent/perth"), &event), 0);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("not-a-socket"), "").unwrap();
        assert_eq!(push_to_sessions(tmp.path(), &event), 0);
    }
}
