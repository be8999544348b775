//! End-to-end: perth's tab bar in a live session started in an iMi project. The tab `iMi feat`
//! opens shows the worktree's branch, and a file written in the worktree shows up as its dirty
//! count (read by the shown bar on its timer, through host-bridge).

use std::time::Duration;

use tests::imi_sandbox::{run_output, Sandbox};
use tests::{IsolatedEnv, PerthSession};

/// Returns the tab bar's row.
fn bar(screen: &str) -> &str {
    screen.lines().next().unwrap_or_default()
}

#[test]
fn worktree_tabs_show_their_branch_and_dirty_count() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    let mut env = IsolatedEnv::new().unwrap();
    // host-bridge runs iMi's engine with the session's environment: the sandbox's database.
    let database = sb.home().join(".config/iMi/iMi.db");
    env.set_var("IMI_DATABASE_URL", database.display().to_string());
    env.set_work_dir(&trunk);
    let s = PerthSession::start_in(env, "e2e-tab-bar", 120, 30, &[]).unwrap();
    s.wait_for_status("host-bridge running", Duration::from_secs(30), |st| {
        st["bridge"]["state"] == "running"
    })
    .unwrap();
    // perth's bar, not Zellij's: the product's name before the session's.
    let screen = s.term.capture();
    assert!(
        bar(&screen).starts_with(" perth (e2e-tab-bar)  workspace"),
        "{screen}"
    );

    // iMi, run inside the session, opens the worktree's tab; the bar shows its branch.
    let mut cmd = sb.imi_command(&trunk, &["feat", "bar"]);
    cmd.env("ZELLIJ_SESSION_NAME", &s.name)
        .env("ZELLIJ_SOCKET_DIR", s.env.socket_dir());
    let added = run_output(cmd.output().expect("running iMi"));
    let data = added.data();
    assert_eq!(data["tab"]["done"], true, "{data}");
    let path = std::path::PathBuf::from(data["worktree"]["path"].as_str().unwrap());
    let screen = s
        .term
        .wait_for_screen(
            "the worktree tab with its branch in the tab bar",
            Duration::from_secs(20),
            |screen| bar(screen).contains(" feat-bar ⎇ feat/bar"),
        )
        .unwrap();
    assert!(!bar(&screen).contains('●'), "a clean worktree: {screen}");

    // Two files written in the worktree: the shown bar reads the status again on its timer.
    std::fs::write(path.join("NOTES.md"), "work in progress\n").unwrap();
    std::fs::write(path.join("TODO.md"), "more\n").unwrap();
    s.term
        .wait_for_screen(
            "the worktree's dirty count in the tab bar",
            Duration::from_secs(20),
            |screen| bar(screen).contains(" feat-bar ⎇ feat/bar ●2"),
        )
        .unwrap();
}
