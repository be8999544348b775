//! `zdrive pane snapshot` through the binary, against a local fake of the provider: consent,
//! dry runs, the stored result and its place in the context format, reuse, errors, `--all`.

use serde_json::Value;

use crate::fake_llm::{anthropic_error, anthropic_ok, FakeLlm, SUMMARY};
use crate::support::Env;

/// An isolated zdrive pointed at a fake Anthropic with a key, and panes with some history.
fn setup(fake: &FakeLlm) -> Env {
    let mut env = Env::new();
    env.env
        .set_var("ANTHROPIC_API_KEY", "sk-test-not-a-real-key");
    let (code, v) = env.json(&["config", "set", "llm.base_url", &fake.url]);
    assert_eq!(code, 0, "{v}");
    for (summary, kind) in [
        ("started the OAuth login", "checkpoint"),
        ("tried a JWT crate", "exploration"),
        ("login works; tests green", "milestone"),
    ] {
        let (code, v) = env.json(&["pane", "log", "api", summary, "--type", kind]);
        assert_eq!(code, 0, "{v}");
    }
    env
}

fn consent(env: &Env, grant: bool) {
    let flag = if grant { "--grant" } else { "--revoke" };
    let (code, v) = env.json(&["config", "consent", flag]);
    assert_eq!(code, 0, "{v}");
}

fn snapshot(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["pane", "snapshot"];
    all.extend_from_slice(args);
    env.json(&all)
}

#[test]
fn nothing_is_sent_without_consent_and_a_dry_run_shows_the_exact_request() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let env = setup(&fake);

    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"]["kind"], "no_consent");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("zdrive config consent --grant") && message.contains("--dry-run"),
        "{message}"
    );
    assert!(
        fake.requests().is_empty(),
        "a request was made without consent"
    );

    // The dry run needs no consent, sends nothing, and shows what would go.
    let out = env.run(&["pane", "snapshot", "api", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("POST {}/v1/messages\n", fake.url)),
        "{text}"
    );
    assert!(text.contains("x-api-key: ***\n"), "{text}");
    assert!(
        !text.contains("sk-test-not-a-real-key"),
        "the key is masked"
    );
    assert!(text.contains("anthropic-version: 2023-06-01"), "{text}");
    assert!(
        text.contains("\"model\": \"claude-sonnet-4-20250514\""),
        "{text}"
    );
    assert!(text.contains("login works; tests green"), "{text}");
    assert!(fake.requests().is_empty());

    let (code, v) = snapshot(&env, &["api", "--dry-run"]);
    assert_eq!(code, 0, "{v}");
    let body = &v["data"]["body"];
    assert_eq!(body["model"], "claude-sonnet-4-20250514");
    assert!(body["system"]
        .as_str()
        .unwrap()
        .contains("## Current state"));
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(fake.requests().is_empty());

    // Granted: exactly the dry run's body goes out.
    consent(&env, true);
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 0, "{v}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(
        requests[0].header("x-api-key"),
        Some("sk-test-not-a-real-key")
    );
    assert_eq!(
        requests[0].json(),
        *body,
        "the dry run showed exactly what was sent"
    );

    // Revoked: stops at once.
    consent(&env, false);
    let (code, v) = snapshot(&env, &["api", "--force"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn a_snapshot_is_stored_in_history_and_leads_the_context_and_is_reused_when_nothing_changed() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let env = setup(&fake);
    consent(&env, true);

    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 0, "{v}");
    let data = &v["data"];
    assert_eq!(data["reused"], false);
    assert_eq!(data["record"]["provider"], "anthropic");
    assert_eq!(data["record"]["model"], "claude-sonnet-4-20250514");
    assert_eq!(data["record"]["summary"], SUMMARY);
    assert_eq!(data["total_entries"], 4);

    let (_, h) = env.json(&["pane", "history", "api", "--last", "1"]);
    let entry = &h["data"]["entries"][0];
    assert_eq!(entry["entry_type"], "snapshot", "{h}");
    assert!(entry["summary"]
        .as_str()
        .unwrap()
        .contains("Wire token refresh"));
    let text = String::from_utf8(env.run(&["pane", "history", "api"]).stdout).unwrap();
    assert!(text.contains("◆"), "{text}");

    let out = env.run(&["pane", "history", "api", "--format", "context"]);
    let context = String::from_utf8(out.stdout).unwrap();
    let state = context.find("## Current State").unwrap();
    let steps = context.find("## Suggested Next Steps").unwrap();
    assert!(
        context[state..steps].contains("Refresh is not wired yet"),
        "{context}"
    );
    assert!(context[steps..].contains("Wire token refresh"), "{context}");
    assert!(context.contains("[SNAPSHOT]"), "{context}");

    // Nothing changed (the snapshot's own entry does not count): the last one stands.
    let before = fake.requests().len();
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["reused"], true, "{v}");
    assert_eq!(fake.requests().len(), before, "reused without a request");
    let out = env.run(&["pane", "snapshot", "api"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed"));
    let (code, v) = snapshot(&env, &["api", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(v["data"]["reused"], false);
    assert_eq!(fake.requests().len(), before + 1);

    let (code, v) = env.json(&["pane", "snapshots", "api"]);
    assert_eq!(code, 0, "{v}");
    let list = v["data"]["snapshots"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    assert!(list[0]["timestamp"].as_str() >= list[1]["timestamp"].as_str());

    // The events: one per stored snapshot.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rt.block_on(async {
        crate::support::open_db(&env.data_db())
            .await
            .outbox_pending(1000)
            .await
            .unwrap()
    });
    let generated = rows
        .iter()
        .filter(|r| r.event_type == "workspace.snapshot.generated")
        .count();
    assert_eq!(generated, fake.requests().len());
}

#[test]
fn the_last_twenty_snapshots_are_kept() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let env = setup(&fake);
    consent(&env, true);
    for _ in 0..22 {
        let (code, v) = snapshot(&env, &["api", "--force"]);
        assert_eq!(code, 0, "{v}");
    }
    let (_, v) = env.json(&["pane", "snapshots", "api"]);
    assert_eq!(v["data"]["snapshots"].as_array().unwrap().len(), 20);
    let (_, v) = env.json(&["pane", "snapshots", "api", "--last", "2"]);
    assert_eq!(v["data"]["snapshots"].as_array().unwrap().len(), 2);
}

#[test]
fn provider_errors_say_what_to_do_and_store_nothing() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let env = setup(&fake);
    consent(&env, true);

    fake.script([anthropic_error(
        401,
        "authentication_error",
        "invalid x-api-key",
    )]);
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 1, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("401") && message.contains("ANTHROPIC_API_KEY"),
        "{message}"
    );
    assert!(!message.contains("sk-test-not-a-real-key"));

    fake.script([anthropic_error(404, "not_found_error", "model: nope")]);
    let out = env.run(&["pane", "snapshot", "api"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("llm.model"), "{stderr}");

    // 429 with retry-after, then an answer: one snapshot, two requests.
    let before = fake.requests().len();
    fake.script([
        anthropic_error(429, "rate_limit_error", "slow down").with_header("retry-after", "1")
    ]);
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(fake.requests().len(), before + 2);

    let (_, v) = env.json(&["pane", "snapshots", "api"]);
    assert_eq!(v["data"]["snapshots"].as_array().unwrap().len(), 1);

    // An unreachable Ollama: exit 3 and how to start it.
    let (code, _) = env.json(&["config", "set", "llm.provider", "ollama"]);
    assert_eq!(code, 0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    env.json(&[
        "config",
        "set",
        "llm.base_url",
        &format!("http://127.0.0.1:{port}"),
    ]);
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 3, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("ollama serve"), "{message}");
    let (_, show) = env.json(&["config", "show"]);
    assert_eq!(show["data"]["llm"]["local"], true, "{show}");
    assert!(show["data"]["llm"]["note"]
        .as_str()
        .unwrap()
        .contains("stays local"));
}

#[test]
fn all_panes_are_snapshotted_with_progress() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let env = setup(&fake);
    for name in ["web", "db"] {
        env.json(&["pane", "log", name, &format!("{name} work")]);
    }
    let out = env.run(&["pane", "snapshot", "--all"]);
    assert_eq!(out.status.code(), Some(1), "no consent yet");
    assert!(fake.requests().is_empty());

    consent(&env, true);
    let out = env.run(&["pane", "snapshot", "--all", "--jobs", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("snapshotting 3 pane(s), 2 at a time"),
        "{stderr}"
    );
    assert!(stderr.contains("[3/3]"), "{stderr}");
    assert_eq!(fake.requests().len(), 3);

    // One failure among them: the others are stored, the command fails and says which.
    fake.script([anthropic_error(400, "invalid_request_error", "bad")]);
    let (code, v) = snapshot(&env, &["--all", "--force", "--jobs", "1"]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("1 of 3"),
        "{v}"
    );
}

#[test]
fn a_slow_provider_times_out_with_a_hint() {
    let fake = FakeLlm::start(anthropic_ok(SUMMARY).after(std::time::Duration::from_secs(5)));
    let env = setup(&fake);
    consent(&env, true);
    env.json(&["config", "set", "llm.timeout_secs", "1"]);
    let started = std::time::Instant::now();
    let (code, v) = snapshot(&env, &["api"]);
    assert_eq!(code, 3, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("llm.timeout_secs"),
        "{v}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// The whole path on a live perth session: the pane's screen, its folder's git state and its
/// log go out redacted, the answer is stored, and the pane gets an `info` notification.
#[test]
fn a_live_panes_screen_and_git_state_go_out_redacted_and_the_pane_lights_up() {
    let Some(_perth) = tests::require_or_skip("perth", tests::workspace_bin("perth")) else {
        return;
    };
    let fake = FakeLlm::start(anthropic_ok(SUMMARY));
    let session = tests::PerthSession::start("zd-snapshot").unwrap();
    let zd = |args: &[&str]| {
        let out = session
            .env
            .command(crate::support::zdrive_bin())
            .env("ZELLIJ_SESSION_NAME", &session.name)
            .env("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    // A repository on a feature branch with a change, and a file of credentials to print.
    let repo = session.env.home().join("work/api");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "feat/oauth"]);
    std::fs::write(repo.join("auth.rs"), "fn login() {}\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "login"]);
    std::fs::write(repo.join("auth.rs"), "fn login() { refresh() }\n").unwrap();
    let secrets = [
        "export GITHUB_TOKEN=ghp_R4nd0mFak3T0k3nF0rT3st1ngOnly0123456",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "DATABASE_URL=postgres://app:Sup3rS3cretPw@db.internal:5432/app",
    ];
    std::fs::write(repo.join("leak.txt"), secrets.join("\n") + "\n").unwrap();

    session.wait_for_core(1).unwrap();
    zd(&["pane", "agent"]);
    zd(&["pane", "log", "agent", "implementing token refresh"]);
    tests::wait_for(
        "the agent pane to take focus",
        std::time::Duration::from_secs(10),
        || {
            session
                .terminal_panes()
                .ok()?
                .into_iter()
                .find(|p| p["title"] == "agent" && p["is_focused"] == true)
        },
    )
    .unwrap();
    session
        .term
        .send_text(&format!(
            "cd {} && cat leak.txt && echo build-finished-$((40+2))\n",
            repo.display()
        ))
        .unwrap();
    session
        .term
        .wait_for_text(
            "the pane's output",
            "build-finished-42",
            std::time::Duration::from_secs(10),
        )
        .unwrap();

    zd(&["config", "set", "llm.base_url", &fake.url]);
    zd(&["config", "consent", "--grant"]);
    let out = zd(&["--json", "pane", "snapshot", "agent"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["data"]["reused"], false, "{v}");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0].body;
    let user = requests[0].json()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        user.contains("build-finished-42"),
        "the screen is sent: {user}"
    );
    assert!(user.contains("Branch: feat/oauth"), "{user}");
    assert!(user.contains("M auth.rs"), "{user}");
    assert!(user.contains("implementing token refresh"), "{user}");
    assert!(
        user.contains(&format!("Working directory: {}", repo.display())),
        "{user}"
    );
    for secret in [
        "ghp_R4nd0mFak3T0k3nF0rT3st1ngOnly0123456",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "Sup3rS3cretPw",
    ] {
        assert!(!body.contains(secret), "{secret} left the machine: {body}");
    }
    assert!(user.contains("[REDACTED:"), "{user}");

    // The pane says so in perth: an info notification (cleared at once on the focused pane,
    // so it is looked for in the history).
    tests::wait_for(
        "the snapshot's info notification",
        std::time::Duration::from_secs(10),
        || {
            let text = session.action(&["list-notifications", "--json"]).ok()?;
            let list: Value = serde_json::from_str(&text).ok()?;
            list["history"]
                .as_array()?
                .iter()
                .find(|e| {
                    let n = &e["notification"];
                    n["style"] == "info"
                        && n["message"]
                            .as_str()
                            .is_some_and(|m| m.starts_with("snapshot: Token validation"))
                })
                .cloned()
        },
    )
    .unwrap();
}
