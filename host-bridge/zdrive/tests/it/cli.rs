//! The `zdrive` binary: bad input, exit codes, the JSON envelope, configuration, a dead Redis,
//! and fifty processes logging to one pane at once.

use std::time::{Duration, Instant};

use crate::support::{open_db, Env};

fn list_len(env: &Env) -> usize {
    let (code, v) = env.json(&["list"]);
    assert_eq!(code, 0, "{v}");
    v["data"].as_array().unwrap().len()
}

#[test]
fn bad_names_are_refused_with_exit_1_and_nothing_stored() {
    let env = Env::new();
    for name in [
        "a:b",
        "glob*",
        "what?",
        "two words",
        "tab\there",
        "bell\u{7}",
        "esc\u{1b}[0m",
        "",
    ] {
        let (code, v) = env.json(&["pane", "log", name, "summary"]);
        assert_eq!(code, 1, "{name:?}: {v}");
        assert_eq!(v["success"], false);
        assert_eq!(v["data"], serde_json::Value::Null);
        assert_eq!(v["error"]["kind"], "bad_input", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("invalid pane name") && message.contains("use letters"),
            "{message}"
        );
    }
    assert_eq!(list_len(&env), 0);
}

#[test]
fn summaries_must_be_non_empty_and_at_most_4_kb() {
    let env = Env::new();
    let (code, v) = env.json(&["pane", "log", "api", "   "]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("the summary is empty"));
    let long = "x".repeat(4097);
    let (code, v) = env.json(&["pane", "log", "api", &long]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4097 bytes, over the limit of 4096"),
        "{v}"
    );
    let (code, _) = env.json(&["pane", "log", "api", &"x".repeat(4096)]);
    assert_eq!(code, 0);
}

#[test]
fn invalid_type_source_and_meta_are_user_errors() {
    let env = Env::new();
    let (code, v) = env.json(&["pane", "log", "api", "x", "--type", "bugfix"]);
    assert_eq!(code, 1, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("use checkpoint, milestone or exploration"));
    let (code, v) = env.json(&["pane", "log", "api", "x", "--source", "robot"]);
    assert_eq!(code, 1, "{v}");
    let (code, v) = env.json(&["pane", "api", "--meta", "novalue"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("write --meta KEY=VALUE"),
        "{v}"
    );
    let (code, v) = env.json(&["pane", "history", "api", "--format", "yaml"]);
    assert_eq!(code, 2, "usage errors keep the envelope: {v}");
    assert_eq!(v["success"], false);
    assert_eq!(list_len(&env), 0);
}

#[test]
fn ansi_summaries_are_stored_as_given_and_shown_inert() {
    let env = Env::new();
    let summary = "\u{1b}[31mred alert\u{1b}[0m";
    let (code, v) = env.json(&["pane", "log", "api", summary]);
    assert_eq!(code, 0, "{v}");
    let (_, v) = env.json(&["pane", "history", "api"]);
    assert_eq!(
        v["data"]["entries"][0]["summary"], summary,
        "stored as given"
    );
    for format in ["text", "context"] {
        let out = env.run(&["pane", "history", "api", "--format", format]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\u{1b}'), "{format}: raw escape printed");
        assert!(text.contains("^[[31mred alert^[[0m"), "{format}: {text}");
    }
}

#[test]
fn log_history_info_and_list_work_on_the_embedded_store_with_events() {
    let env = Env::new();
    let token = format!("ghp_{}", "Zx9".repeat(12));
    let mut cmd = env.command();
    cmd.env("ZDRIVE_SOURCE", "agent").args([
        "--json",
        "pane",
        "log",
        "api",
        &format!("pushed with {token}"),
        "--type",
        "milestone",
        "--artifacts",
        "src/a.rs",
        "src/b.rs",
    ]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (code, v) = env.json(&["pane", "history", "api", "--last", "5"]);
    assert_eq!(code, 0);
    let e = &v["data"]["entries"][0];
    assert_eq!(e["summary"], "pushed with [REDACTED:github-token]");
    assert_eq!(e["source"], "agent");
    assert_eq!(e["entry_type"], "milestone");
    assert_eq!(e["artifacts"], serde_json::json!(["src/a.rs", "src/b.rs"]));
    assert_eq!(v["data"]["total_entries"], 1);
    let out = env.run(&["pane", "history", "api", "--format", "json"]);
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<_> = raw.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["entries", "pane_name", "session", "tab", "total_entries"]
    );
    let (code, v) = env.json(&["pane", "info", "api"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["status"], "active");
    let (code, v) = env.json(&["pane", "info", "nobody"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "not_tracked");
    assert_eq!(list_len(&env), 1);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        open_db(&env.data_db())
            .await
            .outbox_pending(100)
            .await
            .unwrap()
    });
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event_type, "workspace.intent.logged");
    assert!(
        !rows[0].payload.contains(&token),
        "the event carries the redacted summary"
    );
    let event: bloodbank::Event = serde_json::from_str(&rows[0].payload).unwrap();
    assert_eq!(event.subject.as_deref(), Some("api"));
}

#[test]
fn commands_that_need_a_session_say_so_outside_one() {
    let env = Env::new();
    for args in [&["pane", "api"][..], &["tab", "dev"], &["reconcile"]] {
        let mut cmd = env.command();
        cmd.env_remove("ZELLIJ_SESSION_NAME").args(args);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not inside a perth or Zellij session"),
            "{err}"
        );
    }
}

#[test]
fn a_dead_redis_fails_within_a_second_with_exit_3_and_writes_nothing() {
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", tests::free_port());
    let env = Env::with_redis(&url);
    let started = Instant::now();
    let (code, v) = env.json(&["pane", "log", "api", "will not be stored"]);
    let elapsed = started.elapsed();
    assert_eq!(code, 3, "{v}");
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert_eq!(v["error"]["kind"], "unavailable");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot reach Redis") && message.contains("start redis-server"),
        "{message}"
    );
    assert!(!message.contains("hunter2"));
    assert!(
        !env.data_db().exists(),
        "nothing written, not even the outbox"
    );
}

#[test]
fn config_is_written_private_masks_secrets_and_names_the_active_store() {
    let env = Env::new();
    let (code, v) = env.json(&["config", "show"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["active_store"], "embedded");
    let (code, _) = env.json(&[
        "config",
        "set",
        "redis_url",
        "redis://:hunter2@127.0.0.1:6379/0",
    ]);
    assert_eq!(code, 0);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(env.config_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let out = env.run(&["config", "show"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("active store: redis (redis://:***@127.0.0.1:6379/0)"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    let (code, v) = env.json(&["config", "set", "colour", "red"]);
    assert_eq!(code, 1, "{v}");
    let (code, _) = env.json(&["config", "consent", "--grant"]);
    assert_eq!(code, 0);
    let (_, v) = env.json(&["config", "show"]);
    assert_eq!(v["data"]["config"]["llm_consent"], true);
    let (code, _) = env.json(&["config", "consent", "--revoke"]);
    assert_eq!(code, 0);
    let (_, v) = env.json(&["config", "show"]);
    assert_eq!(v["data"]["config"]["llm_consent"], false);
}

#[test]
fn help_has_examples_and_completions_print() {
    let env = Env::new();
    let out = env.run(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Examples:") && text.contains("Exit codes:"),
        "{text}"
    );
    let out = env.run(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("_zdrive"));
}
