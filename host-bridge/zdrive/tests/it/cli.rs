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
        text.contains(
            "active store: redis (redis://:***@127.0.0.1:6379/0, plain text (not encrypted))"
        ),
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
fn agent_transition_logging_is_a_key_set_got_and_shown_like_the_others() {
    let env = Env::new();
    let (code, v) = env.json(&["config", "get", "agents.log_transitions"]);
    assert_eq!(
        (code, &v["data"]["value"]),
        (0, &serde_json::Value::Bool(false)),
        "{v}"
    );
    let (code, v) = env.json(&["config", "set", "agents.log_transitions", "true"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["value"], "true");
    let out = env.run(&["config", "get", "agents.log_transitions"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "true\n");
    let (_, v) = env.json(&["config", "show"]);
    assert_eq!(v["data"]["config"]["agents.log_transitions"], true);
    let text = std::fs::read_to_string(env.config_file()).unwrap();
    assert!(text.contains("[agents]\nlog_transitions = true"), "{text}");
    let (code, v) = env.json(&["config", "set", "agents.log_transitions", "on"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["kind"], "bad_config");
    let (code, v) = env.json(&["config", "get", "agents.log"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agents.log_transitions"),
        "{v}"
    );
    let out = env.run(&["config", "set", "--help"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("agents.log_transitions"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
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

/// Asserts that `zdrive --json ARGS` exits 1 with an error of `kind` whose message holds `text`.
fn assert_refused(env: &Env, args: &[&str], kind: &str, text: &str) {
    let (code, v) = env.json(args);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert_eq!((code, v["error"]["kind"].as_str()), (1, Some(kind)), "{v}");
    assert!(message.contains(text), "{args:?}: {message}");
}

#[test]
fn rename_refuses_bad_and_taken_names_and_the_history_follows() {
    let env = Env::new();
    for (pane, summary) in [("api", "first"), ("api", "second"), ("web", "other")] {
        let (code, v) = env.json(&["pane", "log", pane, summary]);
        assert_eq!(code, 0, "{v}");
    }
    let refused = |args: &[&str], kind: &str, text: &str| assert_refused(&env, args, kind, text);
    for bad in ["a:b", "two words", "esc\u{1b}[0m", ""] {
        refused(
            &["pane", "rename", "api", bad],
            "bad_input",
            "invalid new pane name",
        );
    }
    refused(
        &["pane", "rename", "api", "web"],
        "name_taken",
        "a pane named \"web\" is tracked already",
    );
    refused(
        &["pane", "rename", "nobody", "somebody"],
        "not_tracked",
        "no pane named \"nobody\"",
    );

    let (code, v) = env.json(&["pane", "rename", "api", "api-server"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["previous_name"], "api");
    assert_eq!(v["data"]["pane"]["pane_name"], "api-server");
    assert_eq!(v["data"]["retitled"], false, "no session to retitle in");
    let (code, v) = env.json(&["pane", "history", "api-server"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["total_entries"], 2);
    assert_eq!(v["data"]["entries"][0]["summary"], "second");
    let (code, v) = env.json(&["pane", "history", "api"]);
    assert_eq!(code, 1, "the old name is gone: {v}");
    let out = env.run(&["pane", "rename", "web", "web-ui"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "renamed web to web-ui\n"
    );
    let (_, v) = env.json(&["list"]);
    let names: Vec<_> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pane_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["api-server", "web-ui"]);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let types: Vec<String> = rt.block_on(async {
        open_db(&env.data_db())
            .await
            .outbox_pending(100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.event_type)
            .collect()
    });
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "workspace.pane.renamed")
            .count(),
        2,
        "{types:?}"
    );
}

#[test]
fn tag_sets_and_removes_metadata_without_a_session() {
    let env = Env::new();
    let (code, v) = env.json(&["pane", "log", "api", "started"]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = env.json(&["pane", "tag", "api", "issue=42", "owner=me"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["metadata"]["issue"], "42");
    let out = env.run(&["pane", "tag", "api", "area=auth", "--remove", "owner"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "tagged api: area=auth -owner\n"
    );
    let (_, v) = env.json(&["pane", "info", "api"]);
    assert_eq!(
        v["data"]["metadata"],
        serde_json::json!({"area": "auth", "issue": "42"})
    );
    let refused = |args: &[&str], kind: &str, text: &str| assert_refused(&env, args, kind, text);
    refused(&["pane", "tag", "api"], "bad_input", "nothing to tag");
    refused(&["pane", "tag", "api", "novalue"], "bad_input", "KEY=VALUE");
    refused(
        &["pane", "tag", "api", "--remove", "a:b"],
        "bad_input",
        "invalid metadata key",
    );
    refused(&["pane", "tag", "nobody", "x=1"], "not_tracked", "nobody");
}
