//! Bad input, concurrent agents, a database that is down, and an `iMi add` killed half way.

use std::os::unix::process::CommandExt as _;
use std::time::Duration;

use crate::support::{on_both_backends, Sandbox};

on_both_backends!(
    ten_concurrent_adds_all_succeed,
    the_same_name_twice_at_once_one_wins
);

#[test]
fn bad_names_are_refused_and_nothing_is_created() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let before = sb.git_worktrees();
    for bad in [
        "..",
        "../escape",
        "a/b",
        "-rf",
        "with space",
        "tab\tname",
        "bell\u{7}",
        "x.lock",
        "a~1",
        "a:b",
        "star*",
        &"n".repeat(65),
    ] {
        // `--` ends the options, so names like `-rf` reach iMi's own validation.
        let run = sb.imi(&["feat", "--", bad]);
        assert_eq!(run.code, 1, "{bad:?}: {}", run.stdout);
        assert_eq!(run.error_kind(), "invalid_name", "{bad:?}");
        assert!(
            run.error_message().contains("use 1 to 64 ASCII letters"),
            "{bad:?}: {}",
            run.error_message()
        );
    }
    for bad_type in ["Feat", "../x", "a b", "-x"] {
        let run = sb.imi(&["add", "--", bad_type, "ok"]);
        assert_eq!(run.error_kind(), "invalid_name", "{bad_type:?}");
    }
    let unknown = sb.imi(&["add", "nosuchtype", "ok"]);
    assert_eq!(unknown.error_kind(), "not_found");
    assert!(
        unknown
            .error_message()
            .contains("feat, fix, review, aiops, devops"),
        "{}",
        unknown.error_message()
    );
    for bad_pr in [
        "0",
        "#0",
        "#x",
        "99999999999",
        "https://github.com/o/r/issues/3",
    ] {
        let run = sb.imi(&["review", bad_pr]);
        assert_eq!(
            run.error_kind(),
            "invalid_name",
            "{bad_pr:?}: {}",
            run.stdout
        );
        assert!(run.error_message().contains("pull request"), "{bad_pr:?}");
    }
    // A review of a pull request that does not exist says so.
    let missing_pr = sb.imi(&["review", "999"]);
    assert_eq!(missing_pr.error_kind(), "not_found");
    assert_eq!(sb.git_worktrees(), before);
    let entries = std::fs::read_dir(sb.project()).unwrap().count();
    assert_eq!(entries, 1, "only trunk-main in the project folder");
}

#[test]
fn user_defined_types_are_usable() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    sb.imi(&[
        "types",
        "add",
        "spike",
        "--branch-prefix",
        "exp/",
        "--worktree-prefix",
        "exp-",
    ])
    .data();
    let added = sb.imi(&["add", "spike", "cache"]);
    assert_eq!(added.data()["worktree"]["branch"], "exp/cache");
    assert!(sb.project().join("exp-cache").is_dir());
    let dup = sb.imi(&["types", "add", "spike"]);
    assert_eq!(dup.error_kind(), "already_exists");
}

fn ten_concurrent_adds_all_succeed(sb: Sandbox) {
    sb.project_from_origin();
    let children: Vec<_> = (0..10)
        .map(|i| {
            sb.imi_command(
                &sb.trunk(),
                &["feat", &format!("agent{i}"), "--agent", &format!("a{i}")],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        let run = crate::support::run_output(child.wait_with_output().unwrap());
        run.data();
    }
    assert_eq!(sb.git_worktrees().len(), 11);
    let list = sb.imi(&["list"]);
    assert_eq!(list.data()["worktrees"].as_array().unwrap().len(), 10);
    let fsck = sb.git(&sb.trunk(), &["worktree", "list", "--porcelain"]);
    assert!(
        !fsck.contains("prunable") && !fsck.contains("locked"),
        "{fsck}"
    );
}

fn the_same_name_twice_at_once_one_wins(sb: Sandbox) {
    sb.project_from_origin();
    let children: Vec<_> = (0..2)
        .map(|i| {
            sb.imi_command(
                &sb.trunk(),
                &["feat", "contested", "--agent", &format!("a{i}")],
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let runs: Vec<_> = children
        .into_iter()
        .map(|c| crate::support::run_output(c.wait_with_output().unwrap()))
        .collect();
    let winners = runs.iter().filter(|r| r.code == 0).count();
    assert_eq!(winners, 1, "{runs:#?}");
    let loser = runs.iter().find(|r| r.code != 0).unwrap();
    assert_eq!(loser.code, 1);
    assert_eq!(loser.error_kind(), "already_exists");
    assert!(
        loser.error_message().contains("feat-contested"),
        "{}",
        loser.error_message()
    );
    assert_eq!(
        sb.imi(&["list"]).data()["worktrees"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn git_work_happens_while_the_database_is_down() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    // A PostgreSQL URL where nothing listens.
    let port = tests::free_port();
    let down = format!("postgres://imi:secret@127.0.0.1:{port}/imi");
    let run = |args: &[&str]| {
        let mut cmd = sb.imi_command(&sb.trunk(), args);
        cmd.env("IMI_DATABASE_URL", &down);
        crate::support::run_output(cmd.output().unwrap())
    };
    let added = run(&["feat", "offline"]);
    assert_eq!(added.code, 3, "{}", added.stdout);
    assert_eq!(added.json["success"], true);
    assert_eq!(added.json["data"]["database_updated"], false);
    let why = added.json["data"]["database_error"].as_str().unwrap();
    assert!(
        why.contains(&format!("127.0.0.1:{port}")) && !why.contains("secret"),
        "{why}"
    );
    assert!(sb.project().join("feat-offline/src").is_dir());
    // Status still reads git, and says the database is down; list needs the database.
    let status = run(&["status"]);
    assert_eq!(status.code, 3, "{}", status.stdout);
    assert_eq!(status.error_kind(), "database_unavailable");
    assert_eq!(status.json["data"]["worktrees"][0]["name"], "feat-offline");
    let list = run(&["list"]);
    assert_eq!(list.code, 3);
    assert_eq!(list.error_kind(), "database_unavailable");
    let doctor = run(&["doctor"]);
    assert_eq!(doctor.code, 3);
    let db = doctor.json["data"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database")
        .unwrap()
        .clone();
    assert_eq!(db["ok"], false);
    let removed = run(&["remove", "offline"]);
    assert_eq!(removed.code, 3);
    assert!(!sb.project().join("feat-offline").exists());
    // Once the database is back, the default store carries on (it never saw the offline worktree).
    assert_eq!(
        sb.imi(&["list"]).data()["worktrees"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn status_shows_git_and_says_the_database_is_down() {
    let mut sb = Sandbox::new();
    sb.project_from_origin();
    sb.imi(&["feat", "login", "--agent", "claude-1"]).data();
    // Nothing listens on port 1.
    sb.database_url = Some("postgres://imi:secret@127.0.0.1:1/imi".into());

    let status = sb.imi(&["status"]);
    assert_eq!(status.code, 3, "{}", status.stdout);
    assert_eq!(status.json["success"], false);
    assert_eq!(status.error_kind(), "database_unavailable");
    let message = status.error_message();
    assert!(
        message.starts_with(
            "agents not shown: the database is not available: cannot reach PostgreSQL at 127.0.0.1:1"
        ),
        "{message}"
    );
    // The advice names the variable that chose the server, once; the password stays out.
    assert!(message.contains("IMI_DATABASE_URL"), "{message}");
    assert_eq!(message.matches("start the server").count(), 1, "{message}");
    assert_eq!(message.matches("SQLite").count(), 1, "{message}");
    assert!(!message.contains("secret"), "{message}");
    // git's part is all there, in `data`; only the agents are missing.
    let data = &status.json["data"];
    assert_eq!(data["trunk"]["branch"], "main");
    assert_eq!(data["worktrees"][0]["name"], "feat-login");
    assert_eq!(data["worktrees"][0]["branch"], "feat/login");
    assert_eq!(data["worktrees"][0]["agent_id"], serde_json::Value::Null);
    assert_eq!(data["database_updated"], false);

    let text = sb.imi_text(&["status"]);
    assert_eq!(text.code, 3, "{}", text.stderr);
    assert!(
        text.stdout.contains("trunk-main") && text.stdout.contains("feat-login"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("@claude-1"), "{}", text.stdout);
    assert_eq!(
        text.stderr.trim_end(),
        format!("iMi: {message}"),
        "one line on stderr, the same as --json's"
    );

    // list and add say it with the same advice, once.
    let list = sb.imi(&["list"]);
    assert_eq!((list.code, list.error_kind()), (3, "database_unavailable"));
    assert_eq!(
        list.error_message().matches("start the server").count(),
        1,
        "{}",
        list.error_message()
    );
    assert!(!list.error_message().contains("DATABASE_URL/"));

    // With the database back, the agent is shown again and status exits 0.
    sb.database_url = None;
    let text = sb.imi_text(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("@claude-1"), "{}", text.stdout);
    assert!(text.stderr.is_empty(), "{}", text.stderr);
}

#[test]
fn a_killed_add_is_cleaned_up_by_prune() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    // A post-checkout hook that signals and then blocks: git is inside `worktree add` when killed.
    let signal = sb.root().join("checkout-started");
    let hook = sb.trunk().join(".git/hooks/post-checkout");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", signal.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let mut child = sb
        .imi_command(&sb.trunk(), &["feat", "killed"])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tests::wait_for(
        "the post-checkout hook to start",
        Duration::from_secs(30),
        || signal.exists().then_some(()),
    )
    .unwrap();
    let pgid = child.id();
    let killed = std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();
    std::fs::remove_file(&hook).unwrap();
    assert!(
        sb.project().join("feat-killed").exists(),
        "the kill left a half-made worktree"
    );

    let dry = sb.imi(&["prune"]);
    assert_eq!(
        dry.data()["interrupted_adds"],
        serde_json::json!(["feat-killed"])
    );
    let cleaned = sb.imi(&["prune", "--yes"]);
    assert_eq!(
        cleaned.data()["interrupted_adds"],
        serde_json::json!(["feat-killed"])
    );
    assert!(!sb.project().join("feat-killed").exists());
    assert!(!sb.branch_exists("feat/killed"));
    assert_eq!(sb.git_worktrees(), ["trunk-main"]);
    // And the name is usable again.
    sb.imi(&["feat", "killed"]).data();
}

#[test]
fn a_killed_add_is_cleaned_up_by_the_next_add() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let signal = sb.root().join("checkout-started");
    let hook = sb.trunk().join(".git/hooks/post-checkout");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\ntouch '{}'\nexec sleep 600\n", signal.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = sb
        .imi_command(&sb.trunk(), &["fix", "half"])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tests::wait_for(
        "the post-checkout hook to start",
        Duration::from_secs(30),
        || signal.exists().then_some(()),
    )
    .unwrap();
    std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    let _ = child.wait();
    std::fs::remove_file(&hook).unwrap();
    let next = sb.imi(&["fix", "half"]);
    assert_eq!(next.data()["cleaned_up"], serde_json::json!(["fix-half"]));
    assert!(sb.project().join("fix-half/src").is_dir());
    assert_eq!(sb.git_worktrees(), ["trunk-main", "fix-half"]);
}

#[test]
fn an_existing_branch_is_checked_out_even_when_packed() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    sb.git(&trunk, &["branch", "feat/packed", "origin/develop"]);
    sb.git(&trunk, &["pack-refs", "--all"]);
    assert!(!trunk.join(".git/refs/heads/feat/packed").exists());
    let added = sb.imi(&["feat", "packed"]);
    let data = added.data();
    assert_eq!(data["created_branch"], false);
    assert!(sb.project().join("feat-packed/DEVELOP.md").is_file());
    // Removing it keeps the branch: only --delete-branch deletes one.
    sb.imi(&["remove", "packed"]).data();
    assert!(sb.branch_exists("feat/packed"));
}
