//! End-to-end: perth supervises host-bridge, and a plugin reaches it through `web_request`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tests::PerthSession;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn bridge_restarts_after_kill_9_and_plugins_reach_it_again() {
    let s = PerthSession::start("e2e-bridge").unwrap();
    let first = s
        .wait_for_status(
            "host-bridge running and perth-core's ping through it answered",
            Duration::from_secs(20),
            |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
        )
        .unwrap();
    let pid = first["bridge"]["pid"].as_u64().unwrap();
    let url = first["bridge"]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(first["bridge"]["restarts"], 0);

    // The runtime file holding the token is private to the user.
    use std::os::unix::fs::PermissionsExt;
    let runtime_file = s.env.runtime_dir().join("perth/host-bridge.json");
    let mode = std::fs::metadata(&runtime_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{}", runtime_file.display());

    let killed_at = now_ms();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let restarted = s
        .wait_for_status(
            "host-bridge restarted by perth with a new pid (within 2 s)",
            Duration::from_secs(2),
            |st| {
                st["bridge"]["state"] == "running"
                    && st["bridge"]["pid"].as_u64().is_some_and(|p| p != pid)
            },
        )
        .unwrap();
    assert!(
        restarted["bridge"]["restarts"].as_u64().unwrap() >= 1,
        "{restarted}"
    );
    // Same address (plugins carry it in their configuration).
    assert_eq!(restarted["bridge"]["url"], url.as_str());
    s.wait_for_status(
        "a plugin request through the restarted bridge",
        Duration::from_secs(15),
        |st| {
            st["bridge"]["plugin_ping_ok"] == true
                && st["bridge"]["plugin_ping_at"]
                    .as_u64()
                    .is_some_and(|t| t > killed_at)
        },
    )
    .unwrap();
    // Events pushed through the bridge reach the session's plugins over its IPC socket.
    let bridge_bin = tests::workspace_bin("host-bridge").unwrap();
    let out = s
        .env
        .command(&bridge_bin)
        .args(["push", "workspace.e2e.pushed", r#"{"n":1}"#])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "pushed to 1 session(s)"
    );
    s.wait_for_status(
        "perth-core to receive the pushed event",
        Duration::from_secs(10),
        |st| {
            st["bridge"]["events_received"].as_u64().unwrap_or(0) >= 1
                && st["bridge"]["last_event_topic"] == "workspace.e2e.pushed"
        },
    )
    .unwrap();
    let out = s
        .env
        .command(&bridge_bin)
        .args(["push", "workspace.e2e.pushed", "{not json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // The terminal never stopped working.
    s.action(&["new-pane"]).unwrap();
    assert!(s.perth(&["status"]).unwrap().status.success());
}

#[test]
fn perth_events_shows_what_the_tools_did() {
    let (Some(perth), Some(zdrive)) = (
        tests::require_or_skip("perth", tests::workspace_bin("perth")),
        tests::require_or_skip("zdrive", tests::workspace_bin("zdrive")),
    ) else {
        return;
    };
    let env = tests::IsolatedEnv::new().unwrap();
    let logged = env
        .command(&zdrive)
        .args(["pane", "log", "api-server", "fixed token validation"])
        .output()
        .unwrap();
    assert!(logged.status.success(), "{logged:?}");
    let out = env
        .command(&perth)
        .args(["events", "--last", "5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("workspace.intent.logged")
            && text.contains("api-server")
            && text.contains("fixed token validation"),
        "{text}"
    );
    let out = env
        .command(&perth)
        .args(["events", "--json", "--last", "1"])
        .output()
        .unwrap();
    let event: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one CloudEvent as JSON");
    assert_eq!(event["type"], "workspace.intent.logged");
    assert_eq!(event["perthorigin"], "zdrive");
}
