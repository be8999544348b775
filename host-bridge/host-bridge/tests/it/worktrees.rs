//! `imi_status`, `imi_add`, `imi_remove`, `imi_open` and `imi_review`: iMi's engine run by
//! host-bridge in its own environment (here the sandbox's HOME, so the daemon and the `iMi`
//! command line share the configuration and the SQLite database) against real git repositories.

use std::path::Path;

use bridge_protocol::{ErrorBody, ErrorKind, Request, Response};
use tests::imi_sandbox::Sandbox;

use crate::support::{Bridge, TestEnv};

/// Starts host-bridge with the sandbox's HOME (iMi's config folder and database) and PATH.
fn bridge_for(env: &TestEnv, sb: &Sandbox) -> Bridge {
    let path = std::env::var_os("PATH").unwrap_or_default();
    env.serve_with_env(
        &[],
        &[("HOME", sb.home().as_os_str()), ("PATH", path.as_os_str())],
    )
}

fn ask(bridge: &Bridge, request: Request) -> Result<Response, ErrorBody> {
    bridge.rpc(1, request).envelope().into_result()
}

fn add(trunk: &Path, kind: &str, name: &str, key: Option<&str>) -> Request {
    Request::ImiAdd {
        cwd: trunk.display().to_string(),
        kind: kind.into(),
        name: name.into(),
        from: None,
        agent: Some("claude-1".into()),
        session: None,
        key: key.map(str::to_owned),
    }
}

fn remove(trunk: &Path, name: &str, force: bool, dry_run: bool) -> Request {
    Request::ImiRemove {
        cwd: trunk.display().to_string(),
        name: name.into(),
        force,
        delete_branch: false,
        dry_run,
        session: None,
        key: None,
    }
}

fn open(trunk: &Path, name: &str) -> Request {
    open_in(trunk, name, None)
}

fn open_in(trunk: &Path, name: &str, session: Option<&str>) -> Request {
    Request::ImiOpen {
        cwd: trunk.display().to_string(),
        name: name.into(),
        session: session.map(str::to_owned),
        key: None,
    }
}

fn review(trunk: &Path, pr: u64) -> Request {
    Request::ImiReview {
        cwd: trunk.display().to_string(),
        pr,
        session: None,
        key: None,
    }
}

fn status(bridge: &Bridge, trunk: &Path) -> serde_json::Value {
    match ask(
        bridge,
        Request::ImiStatus {
            project: Some(trunk.display().to_string()),
            key: None,
            agents: true,
        },
    ) {
        Ok(Response::ImiStatus { status, first }) => {
            assert!(first);
            status
        }
        other => panic!("imi_status expected, got {other:?}"),
    }
}

fn names(status: &serde_json::Value) -> Vec<String> {
    field_of_each(&status["worktrees"], "name")
}

fn field_of_each(list: &serde_json::Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|w| w[field].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn worktrees_are_listed_created_once_per_key_and_opened() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);

    let before = status(&bridge, &trunk);
    assert_eq!(before["repository"], "origin");
    assert_eq!(before["trunk"]["name"], "trunk-main");
    assert_eq!(before["trunk"]["type"], "trunk");
    assert!(names(&before).is_empty(), "{before}");

    let Ok(Response::ImiAdded { report, first }) =
        ask(&bridge, add(&trunk, "feat", "login", Some("pipe-1")))
    else {
        panic!("imi_added expected");
    };
    assert!(first);
    assert_eq!(report["worktree"]["worktree_name"], "feat-login");
    assert_eq!(report["worktree"]["branch"], "feat/login");
    assert_eq!(report["worktree"]["agent_id"], "claude-1");
    // No session named: the worktree is made, no tab is tried.
    assert_eq!(report["tab"]["done"], false);
    assert_eq!(report["tab"]["reason"], "not inside a perth session");
    assert!(sb.project().join("feat-login/.git").exists());
    // The same pipe seen by another client's perth-core: nothing more is made.
    let again = ask(&bridge, add(&trunk, "feat", "login", Some("pipe-1")));
    assert!(
        matches!(&again, Ok(Response::ImiAdded { first: false, report: r }) if r == &report),
        "{again:?}"
    );
    assert_eq!(sb.git_worktrees(), ["trunk-main", "feat-login"]);

    // The command line sees what the bridge did: one engine, one database.
    let listed = sb.imi(&["list"]);
    assert_eq!(listed.data()["worktrees"][0]["name"], "feat-login");
    let after = status(&bridge, &trunk);
    assert_eq!(names(&after), ["feat-login"]);
    assert_eq!(after["worktrees"][0]["agent_id"], "claude-1");

    let Ok(Response::ImiOpened {
        name, path, tab, ..
    }) = ask(&bridge, open(&trunk, "login"))
    else {
        panic!("imi_opened expected");
    };
    assert_eq!(name, "feat-login");
    assert_eq!(Path::new(&path), sb.project().join("feat-login"));
    assert_eq!(tab["done"], false);
    let trunk_tab = ask(&bridge, open(&trunk, "trunk-main"));
    assert!(
        matches!(&trunk_tab, Ok(Response::ImiOpened { name, .. }) if name == "trunk-main"),
        "{trunk_tab:?}"
    );
}

#[test]
fn bad_input_is_refused_with_the_reason_and_changes_nothing() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);
    let refused = |request: Request| -> ErrorBody {
        match ask(&bridge, request) {
            Err(error) => error,
            Ok(other) => panic!("a refusal expected, got {other:?}"),
        }
    };

    let escape = refused(add(&trunk, "feat", "../x", None));
    assert_eq!(escape.kind, ErrorKind::BadRequest);
    assert!(escape.message.contains("\"../x\""), "{escape}");
    let unknown = refused(add(&trunk, "nope", "x", None));
    assert_eq!(unknown.kind, ErrorKind::BadRequest);
    assert!(
        unknown
            .message
            .contains("worktree type \"nope\" not found; known types: feat, fix, review"),
        "{unknown}"
    );
    let relative = refused(add(Path::new("trunk-main"), "feat", "x", None));
    assert!(relative.message.contains("absolute path"), "{relative}");
    let outside = refused(add(sb.root(), "feat", "x", None));
    assert!(
        outside.message.contains("not inside an iMi project"),
        "{outside}"
    );
    let no_project = refused(Request::ImiStatus {
        project: None,
        key: None,
        agents: true,
    });
    assert!(no_project.message.contains("needs project"), "{no_project}");
    let missing = refused(remove(&trunk, "ghost", false, true));
    assert!(missing.message.contains("\"ghost\" not found"), "{missing}");
    let the_trunk = refused(remove(&trunk, "trunk-main", true, false));
    assert!(
        the_trunk.message.contains("never removes it"),
        "{the_trunk}"
    );
    assert_eq!(sb.git_worktrees(), ["trunk-main"]);
    assert!(!sb.root().join("x").exists() && !sb.root().join("work/feat-x").exists());
}

#[test]
fn removal_says_what_would_be_lost_and_needs_force_to_lose_it() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);
    ask(&bridge, add(&trunk, "fix", "crash", None)).unwrap();
    let worktree = sb.project().join("fix-crash");
    sb.commit(&worktree, "fix.rs", "fn fix() {}\n", "Fix the crash");
    std::fs::write(worktree.join("notes.txt"), "unsaved").unwrap();
    std::fs::write(worktree.join("src/m0/f0.rs"), "changed").unwrap();

    let Ok(Response::ImiRemoveChecked { preview }) =
        ask(&bridge, remove(&trunk, "crash", false, true))
    else {
        panic!("imi_remove_checked expected");
    };
    assert_eq!(preview["worktree_name"], "fix-crash");
    assert_eq!(preview["branch"], "fix/crash");
    assert_eq!(preview["uncommitted_files"], 2);
    assert_eq!(preview["unpushed_commits"], 1);
    assert_eq!(preview["branch_deleted"], false);
    assert!(
        preview["refusal"]
            .as_str()
            .unwrap()
            .starts_with("worktree fix-crash has 2 uncommitted files"),
        "{preview}"
    );
    assert!(worktree.exists(), "a dry run changes nothing");

    let refused = ask(&bridge, remove(&trunk, "crash", false, false)).unwrap_err();
    assert_eq!(refused.kind, ErrorKind::BadRequest);
    assert!(refused.hint.unwrap().contains("force=true"));
    assert!(worktree.exists());

    let Ok(Response::ImiRemoved { report, first }) =
        ask(&bridge, remove(&trunk, "crash", true, false))
    else {
        panic!("imi_removed expected");
    };
    assert!(first);
    assert_eq!(report["worktree_name"], "fix-crash");
    assert_eq!(report["discarded_files"], 2);
    assert_eq!(report["branch_deleted"], false);
    assert_eq!(report["tab"]["reason"], "not inside a perth session");
    assert!(!worktree.exists());
    assert!(sb.branch_exists("fix/crash"), "the branch is kept");
    assert!(names(&status(&bridge, &trunk)).is_empty());
}

#[test]
fn a_review_without_github_checks_the_pull_request_out() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);
    let reviewed = ask(&bridge, review(&trunk, 7));
    let Ok(Response::ImiAdded { report, .. }) = reviewed else {
        panic!("imi_added expected, got {reviewed:?}");
    };
    assert_eq!(report["worktree"]["worktree_name"], "pr-7");
    assert_eq!(report["metadata"]["pr_number"], 7);
    assert!(sb.project().join("pr-7/PR.md").exists());
    let missing = ask(&bridge, review(&trunk, 8)).unwrap_err();
    assert!(
        missing.message.contains("pull request \"8\" not found"),
        "{missing}"
    );
}

#[test]
fn the_status_carries_the_worktree_types_imi_knows() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);
    let before = status(&bridge, &trunk);
    assert_eq!(
        field_of_each(&before["types"], "name"),
        ["feat", "fix", "review", "aiops", "devops"]
    );
    sb.imi(&["types", "add", "spike", "--worktree-prefix", "exp-"])
        .data();
    let after = status(&bridge, &trunk);
    assert_eq!(
        field_of_each(&after["types"], "name"),
        ["feat", "fix", "review", "aiops", "devops", "spike"]
    );
    assert_eq!(after["types"][5]["branch_prefix"], "spike/");
    assert_eq!(after["types"][5]["worktree_prefix"], "exp-");
}

#[test]
fn the_trunk_and_worktrees_are_opened_in_the_session_the_request_names() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let env = TestEnv::new();
    let bridge = bridge_for(&env, &sb);
    ask(&bridge, add(&trunk, "feat", "login", None)).unwrap();
    // No such session runs: the tab is not opened, but for that reason, not for want of a
    // session (the iMi pane's `t` once answered "not inside a perth session" for trunk).
    for name in ["trunk-main", "login"] {
        let answer = ask(&bridge, open_in(&trunk, name, Some("e2e-no-such-session")));
        let Ok(Response::ImiOpened { tab, .. }) = answer else {
            panic!("imi_opened expected, got {answer:?}");
        };
        assert_eq!(tab["done"], false, "{tab}");
        let reason = tab["reason"].as_str().unwrap_or_default();
        assert!(
            !reason.is_empty() && reason != "not inside a perth session",
            "{name}: {tab}"
        );
    }
}
