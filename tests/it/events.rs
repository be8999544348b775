//! `perth events` shows the notifications raised in a session, beside the tools' events:
//! `perth action notify` and an OSC 9 printed in a pane, as text and as CloudEvents, stored
//! and followed.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::wait::scaled;
use tests::{wait_for_with_last, PerthSession};

const WAIT: Duration = Duration::from_secs(20);

/// `perth events --follow --json` running in the session's environment, its lines read by a
/// thread of their own.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(s: &PerthSession, args: &[&str]) -> Follower {
        let mut child = s
            .env
            .command(tests::workspace_bin("perth").unwrap())
            .args(["events", "--follow", "--json"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("perth events --follow starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Returns the next event printed that `pred` accepts, failing with what was printed
    /// instead once `timeout` passes.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + scaled(timeout);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let event: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("perth events printed {line:?}: {e}"));
                    if pred(&event) {
                        return event;
                    }
                    seen.push(line);
                }
                Err(_) => panic!(
                    "timed out after {:?} waiting for {what} from perth events --follow; it printed:\n{}",
                    scaled(timeout),
                    seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_notification(event: &Value, message: &str) -> bool {
    event["type"] == "workspace.notification.raised" && event["data"]["message"] == message
}

/// Returns what `perth events ARGS` prints, failing on a non-zero exit.
fn events(s: &PerthSession, args: &[&str]) -> String {
    let mut full = vec!["events"];
    full.extend_from_slice(args);
    let out = s.perth_plain(&full).unwrap();
    assert!(
        out.status.success(),
        "perth events exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn perth_events_shows_the_notifications_raised() {
    let s = PerthSession::start("e2e-events").unwrap();
    s.wait_for_core(1).unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "error",
        "--message",
        "stored first",
    ])
    .unwrap();
    let stored = wait_for_with_last("the notification among perth's events", WAIT, || {
        let text = events(&s, &["--last", "5"]);
        if text.contains("workspace.notification.raised")
            && text.contains("e2e-events/terminal_0")
            && text.contains("stored first")
        {
            Ok(())
        } else {
            Err(text)
        }
    });
    stored.unwrap();

    // Followed: the stored one comes first (so the follower reads every outbox by then), then
    // each new one as it is raised, whatever raised it.
    let follower = Follower::start(&s, &["--last", "1"]);
    let first = follower.wait_for("the stored notification", WAIT, |e| {
        is_notification(e, "stored first")
    });
    assert_eq!(first["subject"], "e2e-events/terminal_0");
    assert_eq!(first["perthorigin"], "perth");
    assert_eq!(first["data"]["style"], "error");
    assert_eq!(first["data"]["source"], "cli");
    assert_eq!(first["data"]["session"], "e2e-events");
    assert!(
        first["source"].as_str().unwrap().ends_with("/perth"),
        "{first}"
    );

    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "success",
        "--message",
        "raised while followed",
    ])
    .unwrap();
    let followed = follower.wait_for("the notification sent by perth action notify", WAIT, |e| {
        is_notification(e, "raised while followed")
    });
    assert_eq!(followed["data"]["style"], "success");

    s.term
        .send_text("printf '\\033]9;%s\\007' 'from the pane'")
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    let osc = follower.wait_for("the OSC 9 notification of the pane", WAIT, |e| {
        is_notification(e, "from the pane")
    });
    assert_eq!(osc["data"]["source"], "osc9");
    assert_eq!(osc["data"]["style"], "info");
}
