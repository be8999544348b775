//! Inside a live perth session (tmux): `iMi add` opens the worktree's tab from perth's
//! `worktree` layout in the worktree's folder, `--no-tab` does not, `iMi go` focuses it,
//! `iMi remove` closes it unless a pane runs a command, `iMi open --all` opens the missing
//! ones, and outside a session nothing is attempted (`iMi open` refuses). A session that does not
//! answer fails the command at the call deadline.

use std::time::Duration;

use serde_json::Value;

use crate::support::{run_output, Run, Sandbox};

fn panes_in_tab(session: &tests::PerthSession, tab: &str) -> Vec<Value> {
    session
        .terminal_panes()
        .unwrap()
        .into_iter()
        .filter(|p| p["tab_name"] == tab)
        .collect()
}

/// Runs `read` on zdrive's engine over the sandbox's store (under its HOME).
fn with_zdrive<T>(sb: &Sandbox, read: impl AsyncFnOnce(&zdrive::Zdrive) -> T) -> T {
    let home = sb.home().display().to_string();
    let setup = zdrive::setup::Setup::resolve(&|k| (k == "HOME").then(|| home.clone())).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let engine = setup
                .open_engine(zdrive::setup::Access::Read)
                .await
                .unwrap();
            read(&engine).await
        })
}

/// zdrive's view of the sandbox's panes.
fn zdrive_panes(sb: &Sandbox) -> Vec<zdrive::PaneRecord> {
    with_zdrive(sb, async |engine| engine.list().await.unwrap())
}

fn zdrive_history(sb: &Sandbox, pane: &str) -> Vec<zdrive::IntentEntry> {
    with_zdrive(sb, async |engine| {
        engine.history(pane, None).await.unwrap().1.entries
    })
}

#[test]
fn add_inside_perth_opens_the_worktrees_tab_and_go_focuses_it() {
    if tests::require_or_skip("perth", tests::workspace_bin("perth")).is_none() {
        return;
    }
    let session = tests::PerthSession::start("e2e-imi-tab").unwrap();
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let in_session = |args: &[&str]| -> Run {
        let mut cmd = sb.imi_command(&trunk, args);
        cmd.env("ZELLIJ_SESSION_NAME", &session.name)
            .env("ZELLIJ_SOCKET_DIR", session.env.socket_dir());
        run_output(cmd.output().expect("running iMi"))
    };

    let added = in_session(&["feat", "login"]);
    let data = added.data();
    assert_eq!(data["tab"]["done"], true, "{data}");
    assert_eq!(data["tab"]["name"], "feat-login");
    let path = data["worktree"]["path"].as_str().unwrap().to_owned();
    let panes = tests::wait_for(
        "the worktree's tab and its panes",
        Duration::from_secs(15),
        || {
            let panes = panes_in_tab(&session, "feat-login");
            (panes.len() == 3).then_some(panes)
        },
    )
    .unwrap();
    let mut titles: Vec<&str> = panes.iter().filter_map(|p| p["title"].as_str()).collect();
    titles.sort();
    assert_eq!(titles, ["agent", "editor", "shell"]);
    for pane in &panes {
        assert_eq!(pane["pane_cwd"].as_str(), Some(path.as_str()), "{pane}");
    }

    // zdrive tracks the tab's panes under TAB/TITLE, with a checkpoint on the agent pane.
    let mut names: Vec<&str> = data["tab"]["panes"]
        .as_array()
        .unwrap_or_else(|| panic!("zdrive did not track the tab's panes: {data}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["feat-login/agent", "feat-login/editor", "feat-login/shell"],
        "{data}"
    );
    let records = zdrive_panes(&sb);
    for pane in &panes {
        let id = format!("terminal_{}", pane["id"]);
        let record = records
            .iter()
            .find(|r| r.pane_id == id)
            .unwrap_or_else(|| panic!("{id} not tracked: {records:?}"));
        assert_eq!(
            record.name,
            format!("feat-login/{}", pane["title"].as_str().unwrap())
        );
        assert_eq!(record.session, session.name);
        assert_eq!(record.tab, "feat-login");
        assert_eq!(
            record.metadata.get("worktree").map(String::as_str),
            Some("feat-login")
        );
        assert!(!record.stale);
    }
    let log = zdrive_history(&sb, "feat-login/agent");
    assert!(
        log[0]
            .summary
            .starts_with("worktree created: feat-login on branch feat/login"),
        "{log:?}"
    );

    // --no-tab: the worktree, no tab.
    let quiet = in_session(&["fix", "crash", "--no-tab"]);
    assert!(quiet.data().get("tab").is_none(), "{}", quiet.stdout);
    std::thread::sleep(Duration::from_millis(300));
    assert!(panes_in_tab(&session, "fix-crash").is_empty());

    // iMi go brings the worktree's tab to the front.
    session.action(&["go-to-tab", "1"]).unwrap();
    let went = in_session(&["go", "login"]);
    assert_eq!(went.data()["tab"]["done"], true, "{}", went.stdout);
    tests::wait_for(
        "the worktree's tab in front",
        Duration::from_secs(10),
        || {
            let text = session.action(&["list-tabs", "--json"]).unwrap();
            let tabs: Vec<Value> = serde_json::from_str(&text).unwrap();
            tabs.iter()
                .any(|t| t["name"] == "feat-login" && t["active"] == true)
                .then_some(())
        },
    )
    .unwrap();

    // iMi remove closes the tab.
    let removed = in_session(&["remove", "login"]);
    assert_eq!(removed.data()["tab"]["done"], true, "{}", removed.stdout);
    tests::wait_for(
        "the worktree's tab to close",
        Duration::from_secs(10),
        || {
            panes_in_tab(&session, "feat-login")
                .is_empty()
                .then_some(())
        },
    )
    .unwrap();
    let stale: Vec<String> = zdrive_panes(&sb)
        .into_iter()
        .filter(|r| r.name.starts_with("feat-login/") && r.stale)
        .map(|r| r.name)
        .collect();
    assert_eq!(
        stale.len(),
        3,
        "the removed worktree's panes are stale: {stale:?}"
    );
    assert_eq!(
        removed.data()["tab"]["panes"].as_array().map(Vec::len),
        Some(3)
    );

    // ... but not while one of its panes runs a command: that tab stays, and the answer says
    // how to close it.
    in_session(&["feat", "busy"]).data();
    tests::wait_for("the busy worktree's tab", Duration::from_secs(15), || {
        (panes_in_tab(&session, "feat-busy").len() == 3).then_some(())
    })
    .unwrap();
    session.action(&["go-to-tab-name", "feat-busy"]).unwrap();
    session.action(&["new-pane", "--", "sleep", "600"]).unwrap();
    tests::wait_for("the command pane", Duration::from_secs(10), || {
        (panes_in_tab(&session, "feat-busy").len() == 4).then_some(())
    })
    .unwrap();
    let kept = in_session(&["remove", "busy"]);
    let tab = &kept.data()["tab"];
    assert_eq!(tab["done"], false, "{}", kept.stdout);
    let reason = tab["reason"].as_str().unwrap();
    assert!(
        reason.contains("still runs sleep") && reason.contains("close-tab --tab-id"),
        "{reason}"
    );
    assert_eq!(panes_in_tab(&session, "feat-busy").len(), 4);

    // iMi open --all: a tab for each active worktree, without opening one twice.
    let opened = in_session(&["open", "--all"]);
    let tabs = opened.data()["tabs"].as_array().unwrap().clone();
    assert!(tabs.iter().all(|t| t["done"] == true), "{}", opened.stdout);
    let mut names: Vec<&str> = tabs.iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    // feat-busy was removed (its tab stayed for the running command): not active any more.
    assert_eq!(names, ["fix-crash"]);
    tests::wait_for(
        "the tab of the worktree made with --no-tab",
        Duration::from_secs(15),
        || (panes_in_tab(&session, "fix-crash").len() == 3).then_some(()),
    )
    .unwrap();
    let again = in_session(&["open", "--all"]);
    assert_eq!(again.data()["tabs"][0]["done"], true, "{}", again.stdout);
    std::thread::sleep(Duration::from_millis(300));
    let listed: Vec<Value> =
        serde_json::from_str(&session.action(&["list-tabs", "--json"]).unwrap()).unwrap();
    assert_eq!(
        listed.iter().filter(|t| t["name"] == "fix-crash").count(),
        1,
        "no second tab for an open worktree"
    );
    let neither = in_session(&["open"]);
    assert_eq!(neither.code, 1, "{}", neither.stdout);

    // Outside a session nothing is tried, and the text output says nothing of tabs.
    let outside = sb.imi(&["feat", "other"]);
    assert_eq!(outside.data()["tab"]["done"], false);
    assert_eq!(
        outside.data()["tab"]["reason"],
        "not inside a perth session"
    );
    let text = sb.imi_text(&["feat", "third"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(!text.stdout.contains("tab:"), "{}", text.stdout);
    let refused = sb.imi(&["open", "--all"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stdout.contains("inside a perth session"),
        "{}",
        refused.stdout
    );
}

#[test]
fn the_agents_layout_opens_a_tab_per_active_worktree_from_the_database() {
    if tests::require_or_skip("perth", tests::workspace_bin("perth")).is_none() {
        return;
    }
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    for args in [
        ["feat", "login", "--no-tab"],
        ["fix", "crash", "--no-tab"],
        ["feat", "gone", "--no-tab"],
    ] {
        sb.imi(&args).data();
    }
    // A removed worktree stays in the database as history, and gets no tab.
    sb.imi(&["remove", "gone"]).data();

    // perth starts in the trunk, with iMi's database of the sandbox.
    let mut env = tests::IsolatedEnv::new().unwrap();
    env.set_work_dir(&trunk);
    let db = sb.home().join(".config/iMi/iMi.db");
    env.set_var("IMI_DATABASE_URL", db.display().to_string());
    let name = "e2e-imi-agents";
    let session = tests::PerthSession::launch(
        env,
        name,
        140,
        40,
        &["--session", name, "--new-session-with-layout", "agents"],
        "the agents layout's tabs",
        |screen| screen.contains("feat-login") && screen.contains("fix-crash"),
    )
    .unwrap();
    let project = trunk.parent().unwrap();
    let tabs = tests::wait_for(
        "a tab for the trunk and one per active worktree, with their panes",
        Duration::from_secs(15),
        || {
            let trunk_tab = panes_in_tab(&session, "trunk-main");
            let login = panes_in_tab(&session, "feat-login");
            let crash = panes_in_tab(&session, "fix-crash");
            (trunk_tab.len() == 1 && login.len() == 3 && crash.len() == 3)
                .then_some((trunk_tab, login, crash))
        },
    )
    .unwrap();
    assert_eq!(
        tabs.0[0]["pane_cwd"].as_str(),
        Some(trunk.to_str().unwrap())
    );
    for (panes, folder) in [(&tabs.1, "feat-login"), (&tabs.2, "fix-crash")] {
        let mut titles: Vec<&str> = panes.iter().filter_map(|p| p["title"].as_str()).collect();
        titles.sort();
        assert_eq!(titles, ["agent", "editor", "shell"]);
        for pane in panes {
            assert_eq!(
                pane["pane_cwd"].as_str(),
                Some(project.join(folder).to_str().unwrap()),
                "{pane}"
            );
        }
    }
    assert!(panes_in_tab(&session, "feat-gone").is_empty());

    // iMi finds these tabs as its own: `go` brings one forward instead of opening another.
    let mut go = sb.imi_command(&trunk, &["go", "crash"]);
    go.env("ZELLIJ_SESSION_NAME", name)
        .env("ZELLIJ_SOCKET_DIR", session.env.socket_dir());
    let went = run_output(go.output().expect("running iMi go"));
    assert_eq!(went.code, 0, "{}", went.stdout);
    assert_eq!(panes_in_tab(&session, "fix-crash").len(), 3);

    // At a terminal, `iMi remove` asks before it closes a tab whose pane runs a command.
    session.action(&["new-pane", "--", "sleep", "600"]).unwrap();
    tests::wait_for("the command pane", Duration::from_secs(10), || {
        (panes_in_tab(&session, "fix-crash").len() == 4).then_some(())
    })
    .unwrap();
    session.action(&["go-to-tab-name", "trunk-main"]).unwrap();
    let imi = tests::workspace_bin("iMi").unwrap();
    session
        .term
        .send_text(&format!("{} remove crash", imi.display()))
        .unwrap();
    session.term.send_keys(&["Enter"]).unwrap();
    session
        .term
        .wait_for_text(
            "iMi's question",
            "Close it anyway? [y/N]",
            Duration::from_secs(15),
        )
        .unwrap();
    session.term.send_text("y").unwrap();
    session.term.send_keys(&["Enter"]).unwrap();
    tests::wait_for("the busy tab closed", Duration::from_secs(15), || {
        panes_in_tab(&session, "fix-crash").is_empty().then_some(())
    })
    .unwrap();

    // Outside an iMi project the layout says so and nothing starts.
    let out = session
        .env
        .command(tests::workspace_bin("perth").unwrap())
        .current_dir(sb.root())
        .args([
            "--session",
            "e2e-imi-agents-none",
            "--new-session-with-layout",
            "agents",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("iMi project"), "{stderr}");
}

/// Stops a process until dropped (then it runs on, even when the test fails).
struct Stopped(i32);

impl Stopped {
    fn new(pid: i32) -> Stopped {
        signal(pid, "STOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

fn signal(pid: i32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{name} {pid}: {status}");
}

/// A wedged session (zellij #5400: its server takes connections and never answers) fails
/// `iMi go` at the call deadline with exit 3 and what to do, the worktree's path still
/// printed; once the server runs again, `iMi go` brings the tab forward.
#[test]
fn a_wedged_session_fails_go_at_the_call_deadline_and_answers_again() {
    if tests::require_or_skip("perth", tests::workspace_bin("perth")).is_none() {
        return;
    }
    let session = tests::PerthSession::start("e2e-imi-wedged").unwrap();
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let go = || -> (Run, Duration) {
        let mut cmd = sb.imi_command(&trunk, &["go", "login"]);
        cmd.env("ZELLIJ_SESSION_NAME", &session.name)
            .env("ZELLIJ_SOCKET_DIR", session.env.socket_dir())
            .env("PERTH_CALL_TIMEOUT", "0.5");
        let started = std::time::Instant::now();
        let run = run_output(cmd.output().expect("running iMi go"));
        (run, started.elapsed())
    };
    let mut added = sb.imi_command(&trunk, &["feat", "login"]);
    added
        .env("ZELLIJ_SESSION_NAME", &session.name)
        .env("ZELLIJ_SOCKET_DIR", session.env.socket_dir());
    let added = run_output(added.output().expect("running iMi feat"));
    assert_eq!(added.data()["tab"]["done"], true, "{}", added.stdout);
    let path = added.data()["worktree"]["path"].clone();
    session.action(&["go-to-tab", "1"]).unwrap();

    // The server is the process started with `--server`; stopping it wedges it exactly.
    let server = session
        .leftover_processes()
        .into_iter()
        .find(|(_, cmdline)| cmdline.contains("--server"))
        .map(|(pid, _)| pid)
        .expect("the session's server runs");
    let stopped = Stopped::new(server);
    let (wedged, took) = go();
    drop(stopped);
    assert_eq!(
        wedged.code, 3,
        "{}\nstderr: {}",
        wedged.stdout, wedged.stderr
    );
    assert_eq!(wedged.error_kind(), "session_unavailable");
    let advice = wedged.error_message();
    assert!(
        advice.contains("did not answer")
            && advice.contains("perth status")
            && advice.contains("PERTH_CALL_TIMEOUT"),
        "{advice}"
    );
    assert_eq!(wedged.json["data"]["path"], path, "{}", wedged.stdout);
    assert_eq!(wedged.json["data"]["tab"]["done"], false);
    // One deadline for the answer: never an open-ended wait.
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(5),
        "iMi go took {took:?}"
    );

    let (went, _) = go();
    assert_eq!(went.data()["tab"]["done"], true, "{}", went.stdout);
    tests::wait_for(
        "the worktree's tab in front",
        Duration::from_secs(10),
        || {
            let tabs: Vec<Value> =
                serde_json::from_str(&session.action(&["list-tabs", "--json"]).unwrap()).unwrap();
            tabs.iter()
                .any(|t| t["name"] == "feat-login" && t["active"] == true)
                .then_some(())
        },
    )
    .unwrap();
}
