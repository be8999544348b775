//! The CLI as a user drives it: from a plain clone to typed worktrees, status, review, claim and removal.

use std::path::Path;

use crate::support::{on_both_backends, Sandbox, FILES};

on_both_backends!(
    init_clones_into_the_convention_layout,
    five_typed_worktrees_show_up_in_status_and_list,
    remove_refuses_uncommitted_and_unpushed_work,
    squash_merged_branches_are_recognised_and_deleted,
    prune_lists_then_removes_merged_worktrees,
    claim_changes_the_owner,
);

fn init_clones_into_the_convention_layout(sb: Sandbox) {
    let trunk = sb.project_from_origin();
    assert!(trunk.join("src/m0/f0.rs").is_file());
    assert_eq!(
        std::fs::read_dir(trunk.join("src"))
            .unwrap()
            .flatten()
            .map(|d| std::fs::read_dir(d.path()).unwrap().count())
            .sum::<usize>(),
        FILES
    );
    let project = sb.project();
    let entries: Vec<String> = std::fs::read_dir(&project)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries,
        ["trunk-main"],
        "nothing but trunk in {}",
        project.display()
    );
    // Running init again inside the layout only re-registers.
    let again = sb.imi(&["init"]);
    let data = again.data();
    assert_eq!(data["project"]["name"], "origin");
    assert_eq!(data["project"]["default_branch"], "main");
    assert_eq!(data["cloned"], false);
    assert_eq!(data["database_updated"], true);
    assert!(data["remote_origin"]
        .as_str()
        .unwrap()
        .ends_with("origin.git"));
    assert_eq!(
        sb.imi(&["list"]).data()["worktrees"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        sb.imi(&["trunk"]).data()["path"],
        trunk.display().to_string()
    );
}

fn five_typed_worktrees_show_up_in_status_and_list(sb: Sandbox) {
    let trunk = sb.project_from_origin();
    for (kind, name) in [
        ("feat", "login"),
        ("fix", "crash"),
        ("aiops", "agents"),
        ("devops", "ci"),
    ] {
        let r = sb.imi(&[
            "add",
            kind,
            name,
            "--agent",
            &format!("agent-{kind}"),
            "--no-tab",
        ]);
        let wt = &r.data()["worktree"];
        assert_eq!(wt["branch"], format!("{kind}/{name}"));
        assert_eq!(wt["worktree_name"], format!("{kind}-{name}"));
        assert!(sb
            .project()
            .join(format!("{kind}-{name}/src/m1/f1.rs"))
            .is_file());
    }
    // The shortcut form, and a pull request by number: fetched from refs/pull/7/head.
    let review = sb.imi(&["review", "7"]);
    let review = review.data();
    assert_eq!(review["worktree"]["worktree_name"], "pr-7");
    assert_eq!(review["worktree"]["branch"], "pr/7");
    assert!(sb.project().join("pr-7/PR.md").is_file());
    // Branch from another ref.
    let from = sb.imi(&["feat", "rel", "--from", "origin/release/1.0"]);
    assert_eq!(from.data()["from"], "origin/release/1.0");
    assert!(sb.project().join("feat-rel/RELEASE.md").is_file());

    // Some work: two dirty files in fix-crash, one commit ahead in feat-login.
    let login = sb.project().join("feat-login");
    sb.commit(&login, "login.rs", "fn login() {}\n", "Add the login page");
    std::fs::write(sb.project().join("fix-crash/src/m2/f2.rs"), "changed").unwrap();
    std::fs::write(sb.project().join("fix-crash/new.txt"), "new").unwrap();

    let status = sb.imi(&["status"]);
    let status = status.data();
    assert_eq!(status["repository"], "origin");
    assert_eq!(status["trunk"]["branch"], "main");
    assert_eq!(status["trunk"]["upstream"], "origin/main");
    let wts = status["worktrees"].as_array().unwrap();
    assert_eq!(wts.len(), 6, "{wts:#?}");
    let by_name = |n: &str| {
        wts.iter()
            .find(|w| w["name"] == n)
            .unwrap_or_else(|| panic!("{n} in {wts:#?}"))
    };
    assert_eq!(by_name("feat-login")["ahead"], 1);
    assert_eq!(by_name("feat-login")["last_commit"], "Add the login page");
    assert_eq!(by_name("feat-login")["agent_id"], "agent-feat");
    assert_eq!(by_name("feat-login")["type"], "feat");
    assert_eq!(by_name("fix-crash")["dirty_files"], 2);
    assert_eq!(by_name("pr-7")["ahead"], 1);
    assert_eq!(by_name("devops-ci")["dirty_files"], 0);
    assert!(
        by_name("devops-ci")["last_commit_age_seconds"]
            .as_i64()
            .unwrap()
            >= 0
    );

    // list reads the database only: status cached what it saw.
    let list = sb.imi(&["list"]);
    let list = list.data()["worktrees"].as_array().unwrap().clone();
    assert_eq!(list.len(), 6);
    let row = list.iter().find(|w| w["name"] == "fix-crash").unwrap();
    for key in [
        "id",
        "name",
        "type",
        "branch",
        "path",
        "agent_id",
        "created_at",
        "has_uncommitted_changes",
        "ahead_of_trunk",
    ] {
        assert!(row.get(key).is_some(), "list rows carry {key}: {row}");
    }
    assert_eq!(row["has_uncommitted_changes"], true);
    assert_eq!(row["agent_id"], "agent-fix");
    let pr = list.iter().find(|w| w["name"] == "pr-7").unwrap();
    assert_eq!(pr["metadata"]["pr_number"], 7);

    // go finds worktrees by folder or by name, from anywhere in the project.
    let go = sb.imi_in(&login.join("src"), &["go", "crash"]);
    assert_eq!(
        go.data()["path"],
        sb.project().join("fix-crash").display().to_string()
    );
    let text = sb.imi_text(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains("feat-login") && text.stdout.contains("@agent-feat"),
        "{}",
        text.stdout
    );
    let _ = trunk;
}

fn remove_refuses_uncommitted_and_unpushed_work(sb: Sandbox) {
    sb.project_from_origin();
    sb.imi(&["feat", "dirty"]).data();
    let wt = sb.project().join("feat-dirty");
    for i in 0..3 {
        std::fs::write(wt.join(format!("scratch{i}.txt")), "x").unwrap();
    }
    let refused = sb.imi(&["remove", "feat-dirty"]);
    assert_eq!(refused.code, 1);
    assert_eq!(refused.error_kind(), "would_lose_work");
    assert!(
        refused.error_message().contains("3 uncommitted files"),
        "{}",
        refused.error_message()
    );
    assert!(refused.error_message().contains("--force"));
    assert!(wt.join("scratch0.txt").is_file(), "nothing was lost");

    // Committed but neither pushed nor merged.
    sb.git(&wt, &["add", "-A"]);
    sb.git(&wt, &["commit", "--quiet", "-m", "Scratch"]);
    let refused = sb.imi(&["remove", "dirty"]);
    assert_eq!(refused.error_kind(), "would_lose_work");
    assert!(
        refused.error_message().contains("1 commit"),
        "{}",
        refused.error_message()
    );
    let refused = sb.imi(&["remove", "dirty", "--delete-branch", "--force"]);
    let data = refused.data();
    assert_eq!(data["branch_deleted"], true);
    assert!(!wt.exists());
    assert!(!sb.branch_exists("feat/dirty"));

    // A pushed branch with nothing unmerged locally is removed; its branch is kept by default.
    sb.imi(&["feat", "pushed"]).data();
    let wt = sb.project().join("feat-pushed");
    sb.commit(&wt, "p.txt", "p", "Pushed work");
    sb.git(&wt, &["push", "--quiet", "origin", "feat/pushed"]);
    let removed = sb.imi(&["remove", "pushed"]);
    assert_eq!(removed.data()["branch_deleted"], false);
    assert!(sb.branch_exists("feat/pushed"));
    // The remote branch is never touched without --remote.
    assert!(sb
        .git(&sb.origin_path(), &["branch", "--list", "feat/pushed"])
        .contains("feat/pushed"));
    // Unmerged: --delete-branch is refused before anything is removed.
    sb.imi(&["feat", "pushed2"]).data();
    let wt = sb.project().join("feat-pushed2");
    sb.commit(&wt, "p.txt", "p", "Pushed work");
    sb.git(&wt, &["push", "--quiet", "origin", "feat/pushed2"]);
    let refused = sb.imi(&["remove", "pushed2", "--delete-branch"]);
    assert_eq!(refused.error_kind(), "would_lose_work");
    assert!(
        refused.error_message().contains("not merged"),
        "{}",
        refused.error_message()
    );
    assert!(wt.is_dir());
    // The trunk is never removed, and unknown names list what exists.
    assert_eq!(sb.imi(&["remove", "trunk-main"]).code, 1);
    let unknown = sb.imi(&["remove", "nope"]);
    assert_eq!(unknown.error_kind(), "not_found");
    assert!(
        unknown.error_message().contains("feat-pushed2"),
        "{}",
        unknown.error_message()
    );
}

fn squash_merged_branches_are_recognised_and_deleted(sb: Sandbox) {
    let trunk = sb.project_from_origin();
    sb.imi(&["feat", "squashy"]).data();
    let wt = sb.project().join("feat-squashy");
    sb.commit(&wt, "a.txt", "a\n", "First part");
    sb.commit(&wt, "b.txt", "b\n", "Second part");
    // Trunk moves on independently, then takes the branch as one squashed commit.
    sb.commit(&trunk, "other.txt", "other\n", "Unrelated trunk work");
    sb.git(&trunk, &["merge", "--squash", "--quiet", "feat/squashy"]);
    sb.git(&trunk, &["commit", "--quiet", "-m", "Squashed feature"]);

    let removed = sb.imi(&["remove", "feat-squashy", "--delete-branch"]);
    let data = removed.data();
    assert_eq!(data["merge"]["state"], "merged");
    assert_eq!(data["merge"]["how"], "squashed");
    assert_eq!(data["branch_deleted"], true);
    assert!(!sb.branch_exists("feat/squashy"));
    assert!(!wt.exists());
    // The database keeps the row as history: not listed, and the name is free again.
    assert!(sb.imi(&["list"]).data()["worktrees"]
        .as_array()
        .unwrap()
        .is_empty());
    sb.imi(&["feat", "squashy"]).data();
    assert_eq!(
        sb.imi(&["list"]).data()["worktrees"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A merged branch that was pushed: --remote deletes it on origin too.
    sb.imi(&["fix", "shipped"]).data();
    let wt = sb.project().join("fix-shipped");
    sb.commit(&wt, "s.txt", "s\n", "Ship it");
    sb.git(&wt, &["push", "--quiet", "origin", "fix/shipped"]);
    sb.git(&trunk, &["merge", "--quiet", "--ff-only", "fix/shipped"]);
    let removed = sb.imi(&["remove", "shipped", "--delete-branch", "--remote"]);
    let data = removed.data();
    assert_eq!(data["merge"]["how"], "ancestor");
    assert_eq!(data["remote_branch_deleted"], true);
    assert!(sb
        .git(&sb.origin_path(), &["branch", "--list", "fix/shipped"])
        .trim()
        .is_empty());
}

fn prune_lists_then_removes_merged_worktrees(sb: Sandbox) {
    let trunk = sb.project_from_origin();
    for name in ["merged", "open", "fresh", "dirtymerged"] {
        sb.imi(&["feat", name]).data();
    }
    let merged = sb.project().join("feat-merged");
    sb.commit(&merged, "m.txt", "m", "Merged work");
    sb.git(&trunk, &["merge", "--quiet", "--ff-only", "feat/merged"]);
    let dirtymerged = sb.project().join("feat-dirtymerged");
    sb.commit(&dirtymerged, "d.txt", "d", "Dirty merged work");
    sb.git(
        &trunk,
        &["merge", "--quiet", "--no-edit", "feat/dirtymerged"],
    );
    std::fs::write(dirtymerged.join("uncommitted.txt"), "keep me").unwrap();
    let open = sb.project().join("feat-open");
    sb.commit(&open, "o.txt", "o", "Open work");
    // A stale entry: a worktree folder deleted by hand.
    sb.imi(&["fix", "gone"]).data();
    std::fs::remove_dir_all(sb.project().join("fix-gone")).unwrap();

    let dry = sb.imi(&["prune"]);
    let dry = dry.data();
    let names: Vec<&str> = dry["merged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["worktree_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{dry}");
    assert!(names.contains(&"feat-merged") && names.contains(&"feat-dirtymerged"));
    assert_eq!(dry["stale_entries"].as_array().unwrap().len(), 1);
    assert!(merged.exists(), "a dry run changes nothing");

    let applied = sb.imi(&["prune", "--yes"]);
    let applied = applied.data();
    let action = |n: &str| {
        applied["merged"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["worktree_name"] == n)
            .unwrap()["action"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(action("feat-merged"), "removed");
    assert!(action("feat-dirtymerged").starts_with("kept: 1 uncommitted file"));
    assert!(!merged.exists());
    assert!(!sb.branch_exists("feat/merged"));
    assert!(dirtymerged.join("uncommitted.txt").is_file());
    assert!(open.exists() && sb.project().join("feat-fresh").exists());
    let wts = sb.git_worktrees();
    assert!(!wts.contains(&"fix-gone".to_owned()), "{wts:?}");
    let listed: Vec<String> = sb.imi(&["list"]).data()["worktrees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        !listed.contains(&"feat-merged".to_owned()) && !listed.contains(&"fix-gone".to_owned())
    );
}

fn claim_changes_the_owner(sb: Sandbox) {
    sb.project_from_origin();
    sb.imi(&["aiops", "tuning", "--agent", "claude-1"]).data();
    let claimed = sb.imi(&["claim", "tuning", "--agent", "codex-2"]);
    let data = claimed.data();
    assert_eq!(data["previous_agent"], "claude-1");
    assert_eq!(data["worktree"]["agent_id"], "codex-2");
    let list = sb.imi(&["list"]);
    assert_eq!(list.data()["worktrees"][0]["agent_id"], "codex-2");
    let bad = sb.imi(&["claim", "tuning", "--agent", "no spaces"]);
    assert_eq!(bad.error_kind(), "invalid_name");
    // The agent as a positional argument, as `iMi claim NAME AGENT` reads.
    let positional = sb.imi(&["claim", "tuning", "gemini-3"]);
    assert_eq!(positional.data()["previous_agent"], "codex-2");
    assert_eq!(positional.data()["worktree"]["agent_id"], "gemini-3");
    let both_same = sb.imi(&["claim", "tuning", "claude-4", "--agent", "claude-4"]);
    assert_eq!(both_same.data()["worktree"]["agent_id"], "claude-4");
    // Two different agents: a usage error that names both, and nothing changes.
    let both = sb.imi(&["claim", "tuning", "aider-5", "--agent", "codex-6"]);
    assert_eq!((both.code, both.error_kind()), (2, "usage"));
    let message = both.error_message();
    assert!(
        message.contains("aider-5") && message.contains("--agent codex-6"),
        "{message}"
    );
    let none = sb.imi(&["claim", "tuning"]);
    assert_eq!((none.code, none.error_kind()), (2, "usage"));
    assert_eq!(
        sb.imi(&["list"]).data()["worktrees"][0]["agent_id"],
        "claude-4"
    );
}

#[test]
fn init_explains_instead_of_moving_a_plain_clone() {
    let sb = Sandbox::new();
    sb.origin();
    let clone = sb.root().join("plain");
    sb.git(
        sb.root(),
        &[
            "clone",
            "--quiet",
            &sb.origin_path().display().to_string(),
            "plain",
        ],
    );
    std::fs::write(clone.join("untracked.txt"), "mine").unwrap();
    let refused = sb.imi_in(&clone, &["init"]);
    assert_eq!(refused.code, 1);
    assert_eq!(refused.error_kind(), "refused");
    let msg = refused.error_message();
    assert!(
        msg.contains("trunk-main")
            && msg.contains("--force")
            && msg.contains("Nothing was changed"),
        "{msg}"
    );
    assert!(clone.join("untracked.txt").is_file());
    assert!(!clone.join("trunk-main").exists());

    let moved = sb.imi_in(&clone, &["init", "--force"]);
    let data = moved.data();
    assert_eq!(data["moved_from"], clone.display().to_string());
    assert!(
        clone.join("trunk-main/untracked.txt").is_file(),
        "user files move along, untouched"
    );
    assert!(clone.join("trunk-main/src/m3/f3.rs").is_file());
    let added = sb.imi_in(&clone.join("trunk-main"), &["feat", "after-move"]);
    assert!(Path::new(added.data()["worktree"]["path"].as_str().unwrap()).is_dir());
}

#[test]
fn json_envelope_and_exit_codes_for_usage_errors() {
    let sb = Sandbox::new();
    let out = sb.imi_command(sb.root(), &["add"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let run = crate::support::run_output(out);
    assert_eq!(run.error_kind(), "usage");
    assert_eq!(run.json["data"], serde_json::Value::Null);
    // Outside any project: a user error that says what to do.
    let outside = sb.imi_in(sb.root(), &["status"]);
    assert_eq!(outside.code, 1);
    assert_eq!(outside.error_kind(), "not_a_project");
    assert!(outside.error_message().contains("iMi init"));
}

#[test]
fn help_shell_init_and_completions() {
    let sb = Sandbox::new();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_iMi"));
    let help = cmd.arg("--help").env("HOME", sb.home()).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Examples:") && help.contains("Exit codes"),
        "{help}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let init = sb.imi_in(sb.root(), &["shell-init", shell]);
        let text = init.data()["text"].as_str().unwrap().to_owned();
        assert!(
            text.contains("command iMi") && text.contains("cd "),
            "{shell}: {text}"
        );
    }
    let completions = sb.imi_in(sb.root(), &["completions", "bash"]);
    assert!(completions.data()["text"]
        .as_str()
        .unwrap()
        .contains("_iMi"));
}

#[test]
fn tab_completes_worktree_names_under_both_names() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    sb.imi(&["feat", "login", "--no-tab"]).data();
    sb.imi(&["fix", "crash", "--no-tab"]).data();
    // What the registered shell function runs at each TAB: `COMPLETE=bash BIN -- WORDS...`.
    let complete = |bin: &str, words: &[&str]| -> Vec<String> {
        let out = std::process::Command::new(bin)
            .current_dir(&trunk)
            .env_clear()
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
            .arg("--")
            .args(words)
            .output()
            .unwrap();
        assert!(out.status.success(), "{words:?}: {out:?}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    for (bin, name) in [
        (env!("CARGO_BIN_EXE_iMi"), "iMi"),
        (env!("CARGO_BIN_EXE_imi"), "imi"),
    ] {
        assert_eq!(complete(bin, &[name, "go", "fe"]), ["feat-login"]);
        assert_eq!(complete(bin, &[name, "remove", "cr"]), ["crash"]);
        for command in ["go", "open", "remove", "claim"] {
            let offered = complete(bin, &[name, command, ""]);
            assert!(
                offered.contains(&"feat-login".to_owned())
                    && offered.contains(&"fix-crash".to_owned())
                    && !offered.contains(&"trunk-main".to_owned()),
                "{name} {command}: {offered:?}"
            );
        }
    }
    // The whole path in bash: `iMi completions bash` registers both names, calling iMi back.
    let script = sb.imi_text(&["completions", "bash"]);
    assert_eq!(script.code, 0, "{}", script.stderr);
    let script_file = sb.root().join("completions.bash");
    std::fs::write(&script_file, &script.stdout).unwrap();
    let bash = std::process::Command::new("bash")
        .current_dir(&trunk)
        .env_clear()
        .args(["--norc", "--noprofile", "-c"])
        .arg(
            r#"source "$1"
for name in iMi imi; do
  fn=$(complete -p "$name" | sed -E 's/.* -F ([^ ]+) .*/\1/')
  COMP_WORDS=("$name" go fi); COMP_CWORD=2; COMP_TYPE=9
  "$fn" "$name" fi go
  echo "$name: ${COMPREPLY[*]}"
done"#,
        )
        .arg("bash")
        .arg(&script_file)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&bash.stdout),
        "iMi: fix-crash\nimi: fix-crash\n",
        "{}",
        String::from_utf8_lossy(&bash.stderr)
    );
}

#[test]
fn both_names_report_perths_product_version() {
    let version = |bin: &Path| {
        let out = std::process::Command::new(bin)
            .arg("--version")
            .env_clear()
            .output()
            .unwrap();
        assert!(out.status.success(), "{} --version: {out:?}", bin.display());
        String::from_utf8(out.stdout).unwrap()
    };
    for bin in [env!("CARGO_BIN_EXE_iMi"), env!("CARGO_BIN_EXE_imi")] {
        assert_eq!(
            version(Path::new(bin)),
            format!("iMi {}\n", store::PRODUCT_VERSION)
        );
    }
    // The same number as perth's own line, `perth X (built on Zellij Y)`.
    let Some(perth) = tests::require_or_skip("perth", tests::workspace_bin("perth")) else {
        return;
    };
    let perth = version(&perth);
    assert!(
        perth.starts_with(&format!("perth {} (", store::PRODUCT_VERSION)),
        "perth says {perth:?}, iMi says {}",
        store::PRODUCT_VERSION
    );
}

#[test]
fn doctor_says_each_lines_status_once() {
    let sb = Sandbox::new();
    sb.project_from_origin();
    let doctor = sb.imi_text(&["doctor"]);
    assert_eq!(doctor.code, 0, "{}{}", doctor.stdout, doctor.stderr);
    let git = sb.git(sb.root(), &["--version"]);
    let git = git.trim().replace("git version ", "git ");
    let lines: Vec<&str> = doctor.stdout.lines().collect();
    assert!(
        lines.contains(&format!("ok   git          {git}").as_str()),
        "{}",
        doctor.stdout
    );
    for line in &lines {
        let (status, detail) = (&line[..4], line[18..].to_ascii_lowercase());
        assert!(
            ["ok  ", "warn", "FAIL"].contains(&status),
            "no status word first: {line:?}"
        );
        assert!(
            !["ok", "warn", "fail"].iter().any(|w| detail.starts_with(w)),
            "the status is said twice: {line:?}"
        );
    }
    // The JSON form carries the status in `ok` and the same details.
    let json = sb.imi(&["doctor"]);
    for check in json.data()["checks"].as_array().unwrap() {
        let detail = check["detail"].as_str().unwrap();
        assert!(
            lines.iter().any(|l| l.ends_with(detail)) && !detail.starts_with("ok"),
            "{check}"
        );
    }
}

#[test]
fn config_file_is_private_and_the_environment_overrides_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    sb.project_from_origin();
    let config = sb.home().join(".config/iMi/config.toml");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        sb.home().join(".config/iMi/iMi.db").is_file(),
        "the default SQLite store"
    );
    // The file names one database, the environment another: the environment wins.
    let from_file = sb.root().join("from-file.db");
    std::fs::write(
        &config,
        format!("database_url = \"{}\"\n", from_file.display()),
    )
    .unwrap();
    let from_env = sb.root().join("from-env.db");
    let mut cmd = sb.imi_command(&sb.trunk(), &["list"]);
    cmd.env("DATABASE_URL", from_env.display().to_string());
    let run = crate::support::run_output(cmd.output().unwrap());
    assert_eq!(
        run.error_kind(),
        "not_found",
        "a fresh database knows no project"
    );
    assert!(from_env.is_file() && !from_file.exists());
    // And the flag beats both.
    let from_flag = sb.root().join("from-flag.db");
    let mut cmd = sb.imi_command(
        &sb.trunk(),
        &["list", "--database-url", &from_flag.display().to_string()],
    );
    cmd.env("DATABASE_URL", from_env.display().to_string());
    crate::support::run_output(cmd.output().unwrap());
    assert!(from_flag.is_file());
    // A loose mode is reported by doctor with the fix.
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let doctor = sb.imi(&["doctor"]);
    assert_eq!(doctor.code, 3);
    let checks = doctor.json["data"]["checks"].as_array().unwrap();
    let file = checks.iter().find(|c| c["name"] == "config file").unwrap();
    assert!(
        file["detail"].as_str().unwrap().contains("chmod 600"),
        "{file}"
    );
}
