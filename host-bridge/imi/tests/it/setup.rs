//! Post-create setup: shared files linked from sync/ folders, repository hooks that run only once trusted.

use crate::support::Sandbox;

#[test]
fn sync_folders_are_linked_without_replacing_anything() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let repo_sync = sb.project().join("sync/repo");
    std::fs::create_dir_all(&repo_sync).unwrap();
    std::fs::write(repo_sync.join(".editorconfig"), "root = true\n").unwrap();
    std::fs::write(
        repo_sync.join(".gitignore"),
        "must not replace the tracked file\n",
    )
    .unwrap();
    let global = sb.home().join(".config/iMi/sync/global");
    std::fs::create_dir_all(&global).unwrap();
    std::fs::write(global.join("AGENTS.md"), "be nice\n").unwrap();
    std::fs::write(global.join(".editorconfig"), "repo wins\n").unwrap();

    let added = sb.imi(&["feat", "linked"]);
    let setup = &added.data()["setup"];
    assert_eq!(
        setup["linked"],
        serde_json::json!([".editorconfig", "AGENTS.md"])
    );
    let wt = sb.project().join("feat-linked");
    assert!(wt
        .join("AGENTS.md")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(wt.join(".editorconfig")).unwrap(),
        "root = true\n"
    );
    assert_eq!(
        std::fs::read_to_string(wt.join(".gitignore")).unwrap(),
        "target/\n.env\n"
    );
    // Links are not uncommitted work: the worktree is removable without --force.
    sb.imi(&["remove", "linked"]).data();
    assert!(
        global.join("AGENTS.md").is_file(),
        "removing a worktree leaves the sync folder alone"
    );

    let skipped = sb.imi(&["feat", "bare", "--no-hooks"]);
    assert_eq!(skipped.data()["setup"], serde_json::Value::Null);
    assert!(!sb.project().join("feat-bare/AGENTS.md").exists());
}

#[test]
fn repository_hooks_run_only_after_trust() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    std::fs::write(
        trunk.join(".imi.toml"),
        "[post_create]\ncopy = [\".env\"]\nrun = [\"echo \\\"$IMI_BRANCH\\\" > hook-ran.txt\"]\n",
    )
    .unwrap();
    sb.git(&trunk, &["add", ".imi.toml"]);
    sb.git(&trunk, &["commit", "--quiet", "-m", "Add iMi hooks"]);
    std::fs::write(trunk.join(".env"), "SECRET=1\n").unwrap();

    let untrusted = sb.imi(&["feat", "first"]);
    let setup = &untrusted.data()["setup"];
    assert!(
        setup["hooks_skipped"]
            .as_str()
            .unwrap()
            .contains("iMi trust"),
        "{setup}"
    );
    let first = sb.project().join("feat-first");
    assert!(!first.join(".env").exists() && !first.join("hook-ran.txt").exists());

    let trusted = sb.imi(&["trust"]);
    assert_eq!(
        trusted.data()["hooks"]["post_create"]["copy"],
        serde_json::json!([".env"])
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sb.home().join(".config/iMi/trusted-hooks.json"))
            .unwrap()
            .permissions(),
    ) & 0o777;
    assert_eq!(mode, 0o600);
    let ran = sb.imi(&["feat", "second"]);
    assert!(
        ran.stderr.contains("iMi: running hook"),
        "progress goes to stderr: {}",
        ran.stderr
    );
    let setup = &ran.data()["setup"];
    assert_eq!(setup["copied"], serde_json::json!([".env"]));
    assert_eq!(setup["hooks"][0]["ok"], true, "{setup}");
    let second = sb.project().join("feat-second");
    assert_eq!(
        std::fs::read_to_string(second.join(".env")).unwrap(),
        "SECRET=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(second.join("hook-ran.txt")).unwrap(),
        "feat/second\n"
    );

    // A changed hook file needs trusting again.
    std::fs::write(
        trunk.join(".imi.toml"),
        "[post_create]\nrun = [\"exit 7\"]\n",
    )
    .unwrap();
    let changed = sb.imi(&["feat", "third"]);
    assert!(changed.data()["setup"]["hooks_skipped"].is_string());
    sb.imi(&["trust"]).data();
    let failing = sb.imi(&["feat", "fourth"]);
    let hook = &failing.data()["setup"]["hooks"][0];
    assert_eq!(hook["ok"], false);
    assert_eq!(hook["exit_code"], 7);
    assert!(
        sb.project().join("feat-fourth").is_dir(),
        "a failed hook keeps the worktree"
    );
}
