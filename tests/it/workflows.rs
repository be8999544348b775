//! End-to-end: the seed's two workflows on a real perth session in tmux, each on real
//! PostgreSQL, Redis and RabbitMQ and on no servers at all (every tool on its embedded default,
//! which is what `cargo xtask run` gives a new user). Every step checks its effect: folders and
//! branches on disk, rows in iMi's and perth's databases, panes in the session, entries in
//! zdrive's store, CloudEvents on the broker or in the outboxes, the fake provider's summary in
//! the history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tests::fake_llm::FakeOllama;
use tests::imi_sandbox::Sandbox;
use tests::workflow::{
    history, imi, is_event, outbox_events, project, zdrive, BrokerConsumer, Db, Servers,
};
use tests::{wait_for_with_last, IsolatedEnv, PerthSession};

/// What the fake provider answers a snapshot with.
const SUMMARY: &str = "## What was done\n- Fixed token validation in `src/auth.rs`\n\n\
                       ## Current state\n- The fix is committed on fix/auth-bug\n\n\
                       ## Suggested next steps\n1. Open a pull request\n";

/// The stack a workflow runs on.
enum Stack {
    /// Real servers, and a consumer bound to the broker before anything is published.
    Servers(Box<Servers>, BrokerConsumer),
    /// No servers: SQLite for iMi and perth, the embedded store for zdrive, no broker.
    Embedded,
}

impl Stack {
    /// Starts the servers (or not) and points `env` at them; `None` when skipped outside CI.
    fn servers(env: &mut IsolatedEnv, database: &str) -> Option<Stack> {
        let servers = Servers::start(database)?;
        servers.configure(env);
        let consumer = BrokerConsumer::start(env, &servers.rabbitmq).unwrap();
        Some(Stack::Servers(Box::new(servers), consumer))
    }

    /// Returns iMi's database.
    fn imi_db(&self, env: &IsolatedEnv) -> Db<'_> {
        match self {
            Stack::Servers(servers, _) => servers.database(),
            Stack::Embedded => Db::sqlite(env.config_dir().join("iMi/iMi.db")),
        }
    }

    /// Returns perth's database.
    fn perth_db(&self, env: &IsolatedEnv) -> Db<'_> {
        match self {
            Stack::Servers(servers, _) => servers.database(),
            Stack::Embedded => Db::sqlite(env.data_dir().join("perth/perth.db")),
        }
    }

    /// Waits until the event `kind` about `subject` has been published: consumed from
    /// RabbitMQ with servers, in the outbox of `tool` (`host-bridge events`) without.
    fn wait_for_event(&self, env: &IsolatedEnv, tool: &str, kind: &str, subject: &str) -> Value {
        let what = format!("the event {kind} about {subject}");
        let event = match self {
            Stack::Servers(_, consumer) => {
                let event = consumer.wait_for(&what, Duration::from_secs(30), |e| {
                    is_event(e, kind, subject)
                });
                assert_eq!(event["perthorigin"], "broker", "{event}");
                event
            }
            Stack::Embedded => wait_for_with_last(&what, Duration::from_secs(15), || {
                let events = outbox_events(env).map_err(|e| format!("{e:#}"))?;
                events
                    .iter()
                    .find(|e| is_event(e, kind, subject))
                    .cloned()
                    .ok_or_else(|| {
                        events
                            .iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
            })
            .unwrap(),
        };
        if matches!(self, Stack::Embedded) {
            assert_eq!(event["perthorigin"], tool, "{event}");
        }
        event
    }
}

/// Checks that `iMi` made worktree `name` (`TYPE-NAME`) on branch `branch`: its folder is a
/// checkout of the branch, `iMi --json list` shows it, and its row is in iMi's database.
fn assert_worktree(
    env: &IsolatedEnv,
    stack: &Stack,
    sandbox: &Sandbox,
    trunk: &Path,
    added: &Value,
    name: &str,
    branch: &str,
) -> PathBuf {
    let path = PathBuf::from(added["worktree"]["path"].as_str().unwrap());
    assert_eq!(path, trunk.parent().unwrap().join(name), "{added}");
    assert!(
        path.join(".git").is_file(),
        "{} is no worktree",
        path.display()
    );
    assert_eq!(
        sandbox
            .git(&path, &["rev-parse", "--abbrev-ref", "HEAD"])
            .trim(),
        branch
    );
    let worktrees = sandbox.git(trunk, &["worktree", "list", "--porcelain"]);
    assert!(
        worktrees
            .lines()
            .any(|l| l.strip_prefix("worktree ") == path.to_str()),
        "{worktrees}"
    );
    let listed = imi(env, None, trunk, &["list"]);
    let row = listed.data()["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in iMi list: {}", listed.stdout))
        .clone();
    assert_eq!(row["branch"], branch, "{row}");
    assert_eq!(row["path"].as_str(), path.to_str(), "{row}");
    let stored = stack
        .imi_db(env)
        .query("SELECT worktree_name, branch_name FROM worktrees WHERE active")
        .unwrap();
    assert!(
        stored.lines().any(|l| l == format!("{name}|{branch}")),
        "{name} not stored in iMi's database: {stored}"
    );
    path
}

/// Waits until `pane` (`terminal_N`) is a terminal pane of the session in `tab`, focused in
/// it, and `tab` is the active tab, so the pane is the one the user sees and types in.
fn wait_for_focused_pane(s: &PerthSession, pane: &str, tab: &str, pane_id: &str) -> Value {
    wait_for_with_last(
        &format!("the pane {pane} in tab {tab}, focused"),
        Duration::from_secs(15),
        || {
            let panes = s.terminal_panes().map_err(|e| format!("{e:#}"))?;
            let focused = panes.iter().find(|p| {
                p["title"] == pane
                    && p["tab_name"] == tab
                    && p["is_focused"] == true
                    && format!("terminal_{}", p["id"]) == pane_id
            });
            let Some(focused) = focused else {
                return Err(format!("{panes:#?}"));
            };
            let tabs = s
                .action(&["list-tabs", "--json"])
                .map_err(|e| format!("{e:#}"))?;
            let tabs: Vec<Value> = serde_json::from_str(&tabs).map_err(|_| tabs.clone())?;
            if tabs.iter().any(|t| t["name"] == tab && t["active"] == true) {
                Ok(focused.clone())
            } else {
                Err(format!("{tabs:#?}"))
            }
        },
    )
    .unwrap()
}

/// `iMi feat user-auth` makes and records the worktree; perth opens in it and its session
/// lands in the database; `zdrive pane api-server` makes and focuses the pane; `zdrive pane log`
/// stores the entry and its event is published.
fn developer_workflow(mut env: IsolatedEnv, stack: Stack, session: &str) {
    let sandbox = Sandbox::new();
    let trunk = project(&mut env, &sandbox);

    let added = imi(&env, None, &trunk, &["feat", "user-auth"]);
    let worktree = assert_worktree(
        &env,
        &stack,
        &sandbox,
        &trunk,
        added.data(),
        "feat-user-auth",
        "feat/user-auth",
    );

    // perth opens in the worktree: its first shell works there.
    env.set_work_dir(&worktree);
    let s = PerthSession::start_in(env, session, 120, 40, &[]).unwrap();
    let shell = wait_for_with_last(
        "the session's shell in the worktree",
        Duration::from_secs(15),
        || {
            let panes = s.terminal_panes().map_err(|e| format!("{e:#}"))?;
            panes
                .iter()
                .find(|p| p["pane_cwd"].as_str() == worktree.to_str())
                .cloned()
                .ok_or_else(|| format!("{panes:#?}"))
        },
    )
    .unwrap();
    let tab = shell["tab_name"].as_str().unwrap().to_owned();

    // zdrive pane api-server: a new pane named api-server, with the focus.
    let created = zdrive(&s, &worktree, &["pane", "api-server"]);
    assert_eq!(created["action"], "created", "{created}");
    let pane_id = created["pane"]["pane_id"].as_str().unwrap().to_owned();
    wait_for_focused_pane(&s, "api-server", &tab, &pane_id);

    // zdrive pane log: stored, and published.
    let logged = zdrive(
        &s,
        &worktree,
        &["pane", "log", "api-server", "Implemented OAuth"],
    );
    assert_eq!(logged["total_entries"], 1, "{logged}");
    let h = history(&s, &worktree, "api-server");
    assert_eq!(h["session"], session, "{h}");
    assert_eq!(h["tab"], tab.as_str(), "{h}");
    assert_eq!(h["total_entries"], 1, "{h}");
    let entry = &h["entries"][0];
    assert_eq!(entry["summary"], "Implemented OAuth", "{h}");
    assert_eq!(entry["entry_type"], "checkpoint", "{h}");
    assert_eq!(entry["source"], "human", "{h}");
    if let Stack::Servers(servers, _) = &stack {
        let stored = servers.redis_history("api-server").unwrap();
        assert_eq!(stored.len(), 1, "{stored:?}");
        assert_eq!(stored[0]["summary"], "Implemented OAuth");
    }
    let event = stack.wait_for_event(&s.env, "zdrive", "workspace.intent.logged", "api-server");
    assert_eq!(
        event["data"]["entry"]["summary"], "Implemented OAuth",
        "{event}"
    );
    stack.wait_for_event(
        &s.env,
        "iMi",
        "workspace.worktree.created",
        "feat-user-auth",
    );

    // The session's state lands in perth's database: the shell in the worktree and api-server.
    let db = stack.perth_db(&s.env);
    let rows = wait_for_with_last(
        "perth's session rows, api-server included",
        Duration::from_secs(30),
        || {
            let rows = db.session_panes(session).map_err(|e| format!("{e:#}"))?;
            let cwd = worktree.display().to_string();
            let has = |title: &str| rows.iter().any(|r| *r == format!("{title}|{cwd}"));
            let shell = shell["title"].as_str().unwrap_or_default();
            if has(shell) && has("api-server") {
                Ok(rows)
            } else {
                Err(format!("{rows:?}"))
            }
        },
    )
    .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
}

/// `iMi add fix auth-bug` from the agent's session opens the worktree's tab; `zdrive pane
/// bugfix --tab backend` makes the agent's pane; the agent logs with `--source agent
/// --artifacts`, commits in its pane, and `zdrive pane snapshot` stores the fake provider's
/// summary in the history.
fn agent_workflow(mut env: IsolatedEnv, stack: Stack, session: &str) {
    let sandbox = Sandbox::new();
    let trunk = project(&mut env, &sandbox);
    let provider = FakeOllama::start(SUMMARY, Duration::ZERO);
    env.set_work_dir(&trunk);
    let s = PerthSession::start_in(env, session, 120, 40, &[]).unwrap();

    // iMi add fix auth-bug, run in the session: the worktree, recorded, and its tab.
    let added = imi(&s.env, Some(session), &trunk, &["add", "fix", "auth-bug"]);
    let data = added.data();
    assert_eq!(data["tab"]["name"], "fix-auth-bug", "{data}");
    assert_eq!(data["tab"]["done"], true, "{data}");
    let worktree = assert_worktree(
        &s.env,
        &stack,
        &sandbox,
        &trunk,
        data,
        "fix-auth-bug",
        "fix/auth-bug",
    );
    wait_for_with_last(
        "the worktree's tab: three panes in the worktree",
        Duration::from_secs(15),
        || {
            let panes = s.terminal_panes().map_err(|e| format!("{e:#}"))?;
            let in_tab: Vec<&Value> = panes
                .iter()
                .filter(|p| p["tab_name"] == "fix-auth-bug")
                .collect();
            if in_tab.len() == 3
                && in_tab
                    .iter()
                    .all(|p| p["pane_cwd"].as_str() == worktree.to_str())
            {
                Ok(())
            } else {
                Err(format!("{panes:#?}"))
            }
        },
    )
    .unwrap();

    // zdrive pane bugfix --tab backend: the tab and the pane, focused.
    let created = zdrive(&s, &worktree, &["pane", "bugfix", "--tab", "backend"]);
    assert_eq!(created["action"], "created", "{created}");
    let pane_id = created["pane"]["pane_id"].as_str().unwrap().to_owned();
    wait_for_focused_pane(&s, "bugfix", "backend", &pane_id);

    // The agent logs what it did.
    zdrive(
        &s,
        &worktree,
        &[
            "pane",
            "log",
            "bugfix",
            "Fixed token validation",
            "--source",
            "agent",
            "--artifacts",
            "src/auth.rs",
        ],
    );
    let h = history(&s, &worktree, "bugfix");
    assert_eq!(h["tab"], "backend", "{h}");
    let entry = &h["entries"][0];
    assert_eq!(entry["summary"], "Fixed token validation", "{h}");
    assert_eq!(entry["source"], "agent", "{h}");
    assert_eq!(
        entry["artifacts"],
        serde_json::json!(["src/auth.rs"]),
        "{h}"
    );
    if let Stack::Servers(servers, _) = &stack {
        let stored = servers.redis_history("bugfix").unwrap();
        assert_eq!(stored[0]["summary"], "Fixed token validation", "{stored:?}");
    }
    let event = stack.wait_for_event(&s.env, "zdrive", "workspace.intent.logged", "bugfix");
    assert_eq!(event["data"]["entry"]["source"], "agent", "{event}");
    assert_eq!(
        event["data"]["entry"]["artifacts"],
        serde_json::json!(["src/auth.rs"]),
        "{event}"
    );

    // The agent commits from its pane, in the worktree.
    s.term
        .send_text(&format!(
            "cd {} && printf 'pub fn validate() {{}}\\n' > src/auth.rs && git add src/auth.rs \
             && git commit -q -m 'Fix token validation' && echo committed-$((6*7))",
            worktree.display()
        ))
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term
        .wait_for_text(
            "the commit in the agent's pane",
            "committed-42",
            Duration::from_secs(15),
        )
        .unwrap();
    assert_eq!(
        sandbox.git(&worktree, &["log", "-1", "--format=%s"]).trim(),
        "Fix token validation"
    );
    let status = imi(&s.env, None, &trunk, &["status"]);
    let row = status.data()["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "fix-auth-bug")
        .cloned()
        .unwrap_or_else(|| panic!("fix-auth-bug in {}", status.stdout));
    assert_eq!(row["ahead"], 1, "{row}");
    assert_eq!(row["dirty_files"], 0, "{row}");
    assert_eq!(row["last_commit"], "Fix token validation", "{row}");

    // zdrive pane snapshot bugfix against the local provider: consent, then the summary.
    zdrive(&s, &worktree, &["config", "set", "llm.provider", "ollama"]);
    zdrive(
        &s,
        &worktree,
        &["config", "set", "llm.base_url", &provider.url],
    );
    zdrive(&s, &worktree, &["config", "consent", "--grant"]);
    let snap = zdrive(&s, &worktree, &["pane", "snapshot", "bugfix"]);
    assert_eq!(snap["reused"], false, "{snap}");
    assert_eq!(snap["record"]["provider"], "ollama", "{snap}");
    assert_eq!(snap["record"]["summary"], SUMMARY, "{snap}");
    let sent = provider.bodies();
    assert_eq!(sent.len(), 1, "one request to the provider");
    for context in [
        "Fixed token validation",
        "fix/auth-bug",
        "committed-42",
        &worktree.display().to_string(),
    ] {
        assert!(sent[0].contains(context), "{context} not sent: {}", sent[0]);
    }
    let h = history(&s, &worktree, "bugfix");
    assert_eq!(h["total_entries"], 2, "{h}");
    let newest = &h["entries"][0];
    assert_eq!(newest["entry_type"], "snapshot", "{h}");
    assert!(
        newest["summary"]
            .as_str()
            .unwrap()
            .contains("Fixed token validation in `src/auth.rs`"),
        "{h}"
    );
    stack.wait_for_event(&s.env, "zdrive", "workspace.snapshot.generated", "bugfix");
    stack.wait_for_event(&s.env, "iMi", "workspace.worktree.created", "fix-auth-bug");
}

#[test]
fn developer_on_postgres_redis_and_rabbitmq() {
    let mut env = IsolatedEnv::new().unwrap();
    let Some(stack) = Stack::servers(&mut env, "developer") else {
        return;
    };
    developer_workflow(env, stack, "wf-dev-servers");
}

#[test]
fn developer_on_embedded_defaults() {
    developer_workflow(
        IsolatedEnv::new().unwrap(),
        Stack::Embedded,
        "wf-dev-embedded",
    );
}

#[test]
fn agent_on_postgres_redis_and_rabbitmq() {
    let mut env = IsolatedEnv::new().unwrap();
    let Some(stack) = Stack::servers(&mut env, "agent") else {
        return;
    };
    agent_workflow(env, stack, "wf-agent-servers");
}

#[test]
fn agent_on_embedded_defaults() {
    agent_workflow(
        IsolatedEnv::new().unwrap(),
        Stack::Embedded,
        "wf-agent-embedded",
    );
}
