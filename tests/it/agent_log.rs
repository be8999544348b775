//! End-to-end: an agent's changes of state in a real perth session reach the intent log of the
//! pane zdrive tracks, once `zdrive config set agents.log_transitions true` asks for it (perth's
//! server writes them to its outbox, the host-bridge perth started logs them), and are read
//! back with `zdrive pane history NAME --format json`. A pane zdrive does not track gets nothing.

use std::time::Duration;

use serde_json::Value;
use tests::{wait_for_with_last, IsolatedEnv, PerthSession};

const WAIT: Duration = Duration::from_secs(30);

/// Runs `zdrive --json ARGS` in the session's environment and returns its data.
fn zdrive(s: &PerthSession, args: &[&str]) -> Value {
    let out = s
        .env
        .command(tests::workspace_bin("zdrive").unwrap())
        .env("ZELLIJ_SESSION_NAME", &s.name)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("zdrive {args:?} printed no JSON ({e}): {out:?}"));
    assert_eq!(v["success"], true, "zdrive {args:?}: {v}");
    v["data"].clone()
}

/// Sets the agent state of pane `id` with `perth action agent-state`.
fn agent_state(s: &PerthSession, id: &str, state: &str, message: Option<&str>) {
    let mut args = vec!["action", "agent-state", "--pane-id", id, "--state", state];
    if let Some(m) = message {
        args.extend(["--message", m]);
    }
    let out = s.perth_within(&args, None, WAIT).unwrap();
    assert!(
        out.status.success(),
        "agent-state {state}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Returns the summaries of `name`'s intent log, newest first.
fn summaries(s: &PerthSession, name: &str) -> Vec<String> {
    let history = zdrive(s, &["pane", "history", name, "--format", "json"]);
    history["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries in {history}"))
        .iter()
        .map(|e| e["summary"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn agent_transitions_reach_the_intent_log_of_the_pane_zdrive_tracks() {
    let s =
        PerthSession::start_in(IsolatedEnv::new().unwrap(), "e2e-agent-log", 120, 40, &[]).unwrap();
    s.wait_for_status("host-bridge running", WAIT, |st| {
        st["bridge"]["state"] == "running"
    })
    .unwrap();
    zdrive(&s, &["config", "set", "agents.log_transitions", "true"]);
    // zdrive opens and tracks a pane named agent; pane 0 stays untracked.
    let created = zdrive(&s, &["pane", "agent"]);
    let pane_id = created["pane"]["pane_id"].as_str().unwrap().to_owned();
    assert!(pane_id.starts_with("terminal_"), "{created}");

    agent_state(&s, &pane_id, "working", None);
    agent_state(
        &s,
        &pane_id,
        "waiting",
        Some("Do you want to run npm test?"),
    );
    agent_state(&s, "terminal_0", "waiting", Some("not tracked"));
    agent_state(&s, &pane_id, "idle", None);
    let expected = [
        "agent idle",
        "agent waiting: Do you want to run npm test?",
        "agent working",
    ];
    let logged = wait_for_with_last("the three transitions in agent's log", WAIT, || {
        let logged = summaries(&s, "agent");
        if logged.len() >= expected.len() {
            Ok(logged)
        } else {
            Err(format!("{logged:?}"))
        }
    })
    .unwrap();
    assert_eq!(logged, expected);
    let history = zdrive(&s, &["pane", "history", "agent", "--format", "json"]);
    assert_eq!(history["entries"][1]["source"], "agent", "{history}");
    assert_eq!(
        history["entries"][1]["entry_type"], "checkpoint",
        "{history}"
    );
    // The untracked pane's question went nowhere: zdrive tracks one pane, and its log holds
    // only its own transitions (compared whole above).
    let listed = zdrive(&s, &["list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}
