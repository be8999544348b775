//! End-to-end tests of the perth foundation: a real perth session in tmux.

use std::time::Duration;

use tests::{wait_for_with_last, IsolatedEnv, PerthSession};

fn json_bool(v: &serde_json::Value, path: &[&str]) -> bool {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_bool().unwrap_or(false)
}

#[test]
fn starts_with_workspace_layout_and_runs_shell_input() {
    let s = PerthSession::start("e2e-start").unwrap();
    let screen = s.term.capture();
    // The tab bar names the session and the workspace tab; the status bar shows the modes.
    let first_line = screen.lines().next().unwrap_or_default();
    assert!(first_line.contains("e2e-start"), "tab bar: {first_line}");
    assert!(first_line.contains("workspace"), "tab bar: {first_line}");
    s.term
        .wait_for_text("the status bar", "LOCK", Duration::from_secs(10))
        .unwrap();
    // No startup tips or release notes (perth's defaults).
    assert!(!screen.contains("Release Notes"), "{screen}");

    s.term.send_text("echo typed-$((6*7))").unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term
        .wait_for_text(
            "the shell's echo of typed text",
            "typed-42",
            Duration::from_secs(10),
        )
        .unwrap();
}

#[test]
fn new_pane_shows_in_list_panes() {
    let s = PerthSession::start("e2e-panes").unwrap();
    let before = s.terminal_panes().unwrap();
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["title"], "shell");
    s.action(&["new-pane", "--name", "second"]).unwrap();
    let after = wait_for_with_last(
        "list-panes to report two terminals",
        Duration::from_secs(10),
        || {
            let panes = s.terminal_panes().map_err(|e| e.to_string())?;
            if panes.len() == 2 {
                Ok(panes)
            } else {
                Err(format!("{panes:?}"))
            }
        },
    )
    .unwrap();
    assert!(after.iter().any(|p| p["title"] == "second"), "{after:?}");
}

#[test]
fn status_reports_every_extension_alive() {
    let s = PerthSession::start("e2e-status").unwrap();
    let status = s
        .wait_for_status(
            "perth-core connected and answering pings",
            Duration::from_secs(20),
            |st| {
                json_bool(st, &["perth_core", "connected"])
                    && st["perth_core"]["pings_answered"].as_u64().unwrap_or(0) > 0
            },
        )
        .unwrap();
    assert_eq!(status["session"], "e2e-status");
    assert_eq!(status["zellij_version"], "0.45.1");
    assert!(json_bool(&status, &["os_api", "installed"]), "{status}");
    assert!(
        status["os_api"]["terminals_spawned"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert!(json_bool(&status, &["ipc_client", "connected"]), "{status}");
    assert!(
        status["ipc_client"]["panes_seen"].as_u64().unwrap() >= 1,
        "{status}"
    );
    assert!(json_bool(&status, &["perth_core", "embedded"]), "{status}");
    assert_eq!(
        status["perth_core"]["permissions_granted"], true,
        "{status}"
    );
    assert!(
        status["perth_core"]["rtt_ms"].as_f64().is_some(),
        "{status}"
    );
    // The plugin never prompted for permissions: nothing on screen asks.
    assert!(!s.term.capture().contains("Allow?"), "{}", s.term.capture());
    // `perth action perth-status` is the same report.
    let via_action = s.action(&["perth-status"]).unwrap();
    let via_action: serde_json::Value = serde_json::from_str(&via_action).unwrap();
    assert_eq!(via_action["session"], "e2e-status");
    // Each `perth status` pings perth-core and waits for the answer, so its round trip is
    // current; the link's own pings come only every 10 s.
    let mut answered = via_action["perth_core"]["pings_answered"].as_u64().unwrap();
    for _ in 0..3 {
        let st = s.status().unwrap();
        let now = st["perth_core"]["pings_answered"].as_u64().unwrap();
        assert!(now > answered, "no fresh ping: {answered} then {st}");
        answered = now;
    }
}

#[test]
fn kill_session_leaves_no_processes() {
    let s = PerthSession::start("e2e-kill").unwrap();
    s.action(&["new-pane"]).unwrap();
    let out = s.perth_plain(&["kill-session", "e2e-kill"]).unwrap();
    assert!(out.status.success(), "{out:?}");
    let left = wait_for_with_last(
        "every perth process to exit",
        Duration::from_secs(15),
        || {
            let left = s.leftover_processes();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
    left.unwrap();
    let out = s
        .perth_plain(&["list-sessions", "--no-formatting"])
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("e2e-kill"),
        "{out:?}"
    );
}

#[test]
fn broken_user_config_names_file_line_and_column() {
    let env = IsolatedEnv::new().unwrap();
    let dir = env.config_dir().join("perth");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.kdl");
    std::fs::write(&file, "pane_frames true\nkeybinds {\n    normal {\n        bind \"Alt x\" { NoSuchAction; }\n    }\n}\n").unwrap();
    let out = env
        .command(tests::workspace_bin("perth").unwrap())
        .args(["--session", "broken"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:4:", file.display())), "{err}");
    assert!(err.contains("NoSuchAction"), "{err}");
    // Nothing started half-configured.
    assert!(env.processes().is_empty());
}

#[test]
fn outside_a_terminal_says_so() {
    let env = IsolatedEnv::new().unwrap();
    let out = env
        .command(tests::workspace_bin("perth").unwrap())
        .args(["--session", "no-tty"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a terminal"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn usage_errors_exit_2_and_version_names_zellij() {
    let env = IsolatedEnv::new().unwrap();
    let bin = tests::workspace_bin("perth").unwrap();
    let out = env.command(&bin).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("frobnicate"), "{err}");
    assert!(
        err.contains("Valid commands: ") && err.contains("attach"),
        "{err}"
    );
    let out = env.command(&bin).args(["--no-such-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env.command(&bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "perth 0.1.0 (built on Zellij 0.45.1)"
    );
    // With no session running, actions fail like Zellij's.
    let out = env
        .command(&bin)
        .args(["action", "new-pane"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("There is no active session!"));
    let out = env.command(&bin).arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}
