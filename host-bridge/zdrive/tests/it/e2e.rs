//! The developer and agent workflows against a live perth session in tmux, on each store:
//! navigate, log with `--source agent --artifacts`, history in three formats, info, list, reconcile.
//!
//! perth comes from `PERTH_BIN` or the workspace's build (`tests::workspace_bin`); without it
//! the test is skipped, except under `CI=true`, where it fails.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::support::zdrive_bin;

struct Driver<'a> {
    session: &'a tests::PerthSession,
    redis_url: Option<String>,
}

impl Driver<'_> {
    fn run(&self, args: &[&str], agent: bool) -> Output {
        let mut cmd = self.session.env.command(zdrive_bin());
        cmd.env("ZELLIJ_SESSION_NAME", &self.session.name)
            .args(args);
        if let Some(url) = &self.redis_url {
            cmd.env("ZDRIVE_REDIS_URL", url);
        }
        if agent {
            cmd.env("ZDRIVE_SOURCE", "agent");
        }
        cmd.output().unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all, false);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(v["success"], true, "{args:?}: {v}");
        v["data"].clone()
    }

    fn text(&self, args: &[&str]) -> String {
        let out = self.run(args, false);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn pane_titled(session: &tests::PerthSession, title: &str) -> Option<Value> {
    session
        .terminal_panes()
        .ok()?
        .into_iter()
        .find(|p| p["title"] == title)
}

fn workflow(redis_url: Option<String>, session_name: &str) {
    let Some(perth) = tests::require_or_skip("perth", tests::workspace_bin("perth")) else {
        return;
    };
    assert!(perth.is_file());
    let session = tests::PerthSession::start(session_name).unwrap();
    let zd = Driver {
        session: &session,
        redis_url,
    };

    // Navigate: create in a new tab, then focus it again.
    let created = zd.json(&[
        "pane",
        "api-server",
        "--tab",
        "backend",
        "--meta",
        "issue=42",
    ]);
    assert_eq!(created["action"], "created", "{created}");
    let pane_id = created["pane"]["pane_id"].as_str().unwrap().to_owned();
    let live = tests::wait_for(
        "the pane titled api-server in tab backend",
        Duration::from_secs(10),
        || pane_titled(&session, "api-server").filter(|p| p["tab_name"] == "backend"),
    )
    .unwrap();
    assert_eq!(format!("terminal_{}", live["id"]), pane_id);
    let focused = zd.json(&["pane", "api-server"]);
    assert_eq!(focused["action"], "focused");
    assert_eq!(focused["pane"]["pane_id"], pane_id.as_str());

    // Log as a person and as an agent. The milestone's notification is a broadcast pipe, which
    // Zellij drops while perth-core is still loading: wait for it as a person would.
    session.wait_for_core(1).unwrap();
    zd.json(&["pane", "log", "api-server", "started on the login bug"]);
    let out = zd.run(
        &[
            "pane",
            "log",
            "api-server",
            "fixed login; tests green",
            "--type",
            "milestone",
            "--artifacts",
            "src/auth.rs",
            "tests/auth.rs",
        ],
        true,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The milestone lights the pane up in perth: a success notification (shown briefly, since
    // the pane has the focus).
    tests::wait_for(
        "perth's notification of the milestone",
        Duration::from_secs(10),
        || {
            let v = notifications(&session);
            v["history"]
                .as_array()?
                .iter()
                .find(|e| {
                    e["notification"]["message"] == "milestone: fixed login; tests green"
                        && e["notification"]["pane"] == pane_id.as_str()
                        && e["notification"]["style"] == "success"
                })
                .cloned()
        },
    )
    .unwrap();
    zd.json(&[
        "pane",
        "log",
        "api-server",
        "try a token cache",
        "--type",
        "exploration",
        "--source",
        "agent",
    ]);

    // History in three formats.
    let text = zd.text(&["pane", "history", "api-server"]);
    assert!(
        text.starts_with(&format!(
            "api-server (session {}, tab backend): 3 entries",
            session.name
        )),
        "{text}"
    );
    assert!(
        text.contains("★") && text.contains("artifacts: src/auth.rs, tests/auth.rs"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&zd.text(&[
        "pane",
        "history",
        "api-server",
        "--last",
        "2",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["pane_name"], "api-server");
    assert_eq!(json["session"], session.name.as_str());
    assert_eq!(json["tab"], "backend");
    assert_eq!(json["total_entries"], 3);
    assert_eq!(json["entries"].as_array().unwrap().len(), 2);
    assert_eq!(json["entries"][1]["source"], "agent");
    assert_eq!(json["entries"][1]["entry_type"], "milestone");
    let context = zd.text(&[
        "pane",
        "history",
        "api-server",
        "--format",
        "context",
        "--max-bytes",
        "2000",
    ]);
    assert!(
        context.starts_with("# Workspace Context: api-server\n"),
        "{context}"
    );
    assert!(
        context.contains("★ [")
            && context.contains("[AGENT]")
            && context.contains("Artifacts: src/auth.rs"),
        "{context}"
    );
    assert!(context.contains("## Suggested Next Steps"));

    // Info and list.
    let info = zd.json(&["pane", "info", "api-server"]);
    assert_eq!(info["status"], "active");
    assert_eq!(info["metadata"]["issue"], "42");
    let list = zd.json(&["list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // A second pane, closed behind zdrive's back, goes stale on reconcile.
    let web = zd.json(&["pane", "web", "--tab", "backend"]);
    let web_id = web["pane"]["pane_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("terminal_")
        .to_owned();
    tests::wait_for("the pane titled web", Duration::from_secs(10), || {
        pane_titled(&session, "web")
    })
    .unwrap();
    session
        .action(&["close-pane", "--pane-id", &format!("terminal_{web_id}")])
        .or_else(|_| {
            session.action(&["focus-pane-id", &format!("terminal_{web_id}")])?;
            session.action(&["close-pane"])
        })
        .unwrap();
    tests::wait_for("web to close", Duration::from_secs(10), || {
        pane_titled(&session, "web").is_none().then_some(())
    })
    .unwrap();
    let report = zd.json(&["reconcile"]);
    assert_eq!(
        report["changes"],
        serde_json::json!([{ "change": "marked_stale", "pane": "web" }]),
        "{report}"
    );
    assert_eq!(zd.json(&["pane", "info", "web"])["status"], "stale");
    assert_eq!(zd.json(&["pane", "info", "api-server"])["status"], "active");
    assert!(zd.text(&["reconcile"]).contains("nothing changed"));

    // Tabs: created once, switched to afterwards.
    assert_eq!(zd.json(&["tab", "review"])["created"], true);
    assert_eq!(zd.json(&["tab", "review"])["created"], false);
    tests::wait_for_with_last(
        "perth to list the tab review",
        Duration::from_secs(10),
        || {
            let tabs = session
                .action(&["list-tabs", "--json", "--all"])
                .map_err(|e| e.to_string())?;
            if tabs.contains("\"review\"") {
                Ok(())
            } else {
                Err(tabs)
            }
        },
    )
    .unwrap();
}

#[test]
fn workflows_run_against_a_live_perth_session_on_the_embedded_store() {
    workflow(None, "zd-embedded");
}

#[test]
fn workflows_run_against_a_live_perth_session_on_redis() {
    let Some(server) = tests::require_or_skip("redis", tests::Redis::start()) else {
        return;
    };
    workflow(Some(server.url()), "zd-redis");
}

#[test]
fn the_zellij_action_fallback_drives_a_live_session() {
    let Some(perth) = tests::require_or_skip("perth", tests::workspace_bin("perth")) else {
        return;
    };
    let session = tests::PerthSession::start("zd-cli").unwrap();
    let run = |args: &[&str]| -> Value {
        let out = session
            .env
            .command(zdrive_bin())
            .env("ZELLIJ_SESSION_NAME", &session.name)
            .env("ZDRIVE_MUX", "cli")
            .env("ZDRIVE_ZELLIJ", &perth)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["success"], true, "{args:?}: {v}");
        v["data"].clone()
    };
    let created = run(&["pane", "notes", "--tab", "docs"]);
    assert_eq!(created["action"], "created");
    tests::wait_for("the pane titled notes", Duration::from_secs(10), || {
        pane_titled(&session, "notes").filter(|p| p["tab_name"] == "docs")
    })
    .unwrap();
    let focused = run(&["pane", "notes"]);
    assert_eq!(focused["action"], "focused");
    assert_eq!(focused["pane"]["pane_id"], created["pane"]["pane_id"]);
    assert_eq!(run(&["reconcile"])["changes"], serde_json::json!([]));
    assert_eq!(run(&["tab", "docs"])["created"], false);
}

#[test]
fn scripts_log_through_the_zdrive_log_pipe() {
    let Some(perth) = tests::require_or_skip("perth", tests::workspace_bin("perth")) else {
        return;
    };
    assert!(perth.is_file());
    let session = tests::PerthSession::start("e2e-zdrive-pipe").unwrap();
    // The pipe goes through perth-core to host-bridge, which perth starts and supervises.
    session.wait_for_core(1).unwrap();
    session
        .wait_for_status(
            "host-bridge answering perth-core",
            Duration::from_secs(30),
            |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
        )
        .unwrap();
    let zd = Driver {
        session: &session,
        redis_url: None,
    };
    let created = zd.json(&["pane", "api-server"]);
    let pane_id = created["pane"]["pane_id"].as_str().unwrap().to_owned();
    tests::wait_for("the pane api-server", Duration::from_secs(10), || {
        pane_titled(&session, "api-server")
    })
    .unwrap();

    let pipe = |args: &str, summary: &str| {
        let out = session
            .perth(&[
                "pipe",
                "--name",
                "zdrive::log",
                "--args",
                args,
                "--",
                summary,
            ])
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let answer = pipe(
        "pane=api-server,type=milestone,source=agent,artifacts=src/a.rs;tests/a.rs",
        "Released v2",
    );
    // The first answer is the answer: perth's server delivers it to the client that sent
    // the pipe.
    assert_eq!(answer, "logged milestone on api-server (1 entry)\n");
    let read_history = || -> Value {
        serde_json::from_str(&zd.text(&["pane", "history", "api-server", "--format", "json"]))
            .unwrap()
    };
    let history = read_history();
    assert_eq!(history["total_entries"], 1, "{history}");
    let entry = &history["entries"][0];
    assert_eq!(entry["summary"], "Released v2");
    assert_eq!(entry["entry_type"], "milestone");
    assert_eq!(entry["source"], "agent");
    assert_eq!(
        entry["artifacts"],
        serde_json::json!(["src/a.rs", "tests/a.rs"])
    );
    // As from the command line, the milestone lights its pane up.
    tests::wait_for(
        "the milestone's notification",
        Duration::from_secs(10),
        || {
            let v = notifications(&session);
            v["history"]
                .as_array()?
                .iter()
                .find(|e| {
                    e["notification"]["message"] == "milestone: Released v2"
                        && e["notification"]["pane"] == pane_id.as_str()
                })
                .cloned()
        },
    )
    .unwrap();

    // Bad input is answered on the pipe, and nothing is logged.
    let refusal = |args: &str| pipe(args, "x");
    let refused = refusal("pane=api:server");
    assert!(
        refused.starts_with("zdrive::log: ") && refused.contains("pane name"),
        "{refused}"
    );
    let no_pane = refusal("type=milestone");
    assert!(no_pane.contains("pane=NAME"), "{no_pane}");
    let bad_type = refusal("pane=api-server,type=bogus");
    assert!(bad_type.contains("bogus"), "{bad_type}");
    let after = zd.json(&["pane", "info", "api-server"]);
    assert_eq!(after["pane_name"], "api-server");
    let history: Value =
        serde_json::from_str(&zd.text(&["pane", "history", "api-server", "--format", "json"]))
            .unwrap();
    assert_eq!(history["total_entries"], 1, "{history}");
}

/// The session's notifications (`list-notifications --json`). The listing's first answer is
/// its answer: a failed or unreadable one fails the test rather than reading as "not yet".
fn notifications(session: &tests::PerthSession) -> Value {
    let out = session
        .perth(&["action", "list-notifications", "--json"])
        .expect("perth runs");
    assert!(
        out.status.success(),
        "list-notifications failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "list-notifications answered no JSON ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
