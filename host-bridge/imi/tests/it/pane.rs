//! End-to-end, in a live perth session (tmux) started in an iMi project: the `imi::*` pipes
//! answer on the command line and open and close the worktrees' tabs, and the iMi pane (`Alt g`)
//! lists the worktrees, creates one with its keys and follows changes made elsewhere.
//!
//! perth's host-bridge runs iMi's engine with the session's environment; it is pointed at the
//! sandbox's database, so the pane, the pipes and the `iMi` command line share one.

use std::time::Duration;

use serde_json::Value;
use tests::{IsolatedEnv, PerthSession};

use crate::support::Sandbox;

/// Starts perth in the sandbox project's trunk once the bridge runs and perth-core is linked
/// (it answers the pipes and knows the session's name from the link).
fn session_in_project(sb: &Sandbox, name: &str) -> Option<PerthSession> {
    tests::require_or_skip("perth", tests::workspace_bin("perth"))?;
    let trunk = sb.project_from_origin();
    let mut env = IsolatedEnv::new().unwrap();
    let database = sb.home().join(".config/iMi/iMi.db");
    env.set_var("IMI_DATABASE_URL", database.display().to_string());
    env.set_work_dir(&trunk);
    let s = PerthSession::start_in(env, name, 120, 40, &[]).unwrap();
    s.wait_for_status("host-bridge running", Duration::from_secs(20), |st| {
        st["bridge"]["state"] == "running"
    })
    .unwrap();
    s.wait_for_core(1).unwrap();
    Some(s)
}

/// Runs `perth --session S pipe --name NAME --args ARGS` once and returns what it printed: the
/// first answer is the answer (perth's server delivers it to the client that sent the pipe).
/// An `imi::*` pipe runs git and opens tabs, so the call may wait a minute.
fn pipe(s: &PerthSession, name: &str, args: Option<&str>) -> String {
    let mut full = vec!["pipe", "--name", name];
    if let Some(args) = args {
        full.extend(["--args", args]);
    }
    // A payload, so that `pipe` does not read its (absent) input instead.
    full.extend(["--", "now"]);
    let out = s
        .perth_within_env(
            &[("PERTH_CALL_TIMEOUT", "60")],
            &full,
            None,
            Duration::from_secs(90),
        )
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the screen satisfies `ready` (described by `what`) and returns it.
fn screen_until(s: &PerthSession, what: &str, ready: impl Fn(&str) -> bool) -> String {
    s.term
        .wait_for_screen(what, Duration::from_secs(20), ready)
        .unwrap()
}

/// Returns the session's tabs.
fn tabs(s: &PerthSession) -> Vec<Value> {
    let text = s.action(&["list-tabs", "--json"]).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("list-tabs answered {text:?}: {e}"))
}

/// Returns the tabs' names.
fn tab_names(s: &PerthSession) -> Vec<String> {
    tabs(s)
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// Brings the first tab to the front and waits until it is.
fn go_to_first_tab(s: &PerthSession) {
    s.action(&["go-to-tab", "1"]).unwrap();
    tests::wait_for("the first tab in front", Duration::from_secs(20), || {
        tabs(s)
            .iter()
            .any(|t| t["position"] == 0 && t["active"] == true)
            .then_some(())
    })
    .unwrap();
}

fn wait_for_tab(s: &PerthSession, name: &str, open: bool) {
    let waited = tests::wait_for(
        &format!("tab {name} {}", if open { "open" } else { "closed" }),
        Duration::from_secs(20),
        || {
            let names = tab_names(s);
            (names.iter().any(|t| t == name) == open).then_some(())
        },
    );
    if let Err(e) = waited {
        // What the pane said of the change, and the tabs the session last listed.
        panic!(
            "{e:?}\ntabs: {:?}\nscreen:\n{}",
            tab_names(s),
            s.term.capture()
        );
    }
}

#[test]
fn imi_pipes_answer_on_the_command_line_and_open_the_tabs() {
    let sb = Sandbox::new();
    let Some(s) = session_in_project(&sb, "e2e-imi-pipes") else {
        return;
    };

    let name = "pipe-x";
    let added = pipe(&s, "imi::add", Some(&format!("type=feat,name={name}")));
    let folder = format!("feat-{name}");
    assert_eq!(
        added,
        format!("created {folder} on branch feat/{name} from main; tab {folder} opened\n")
    );
    wait_for_tab(&s, &folder, true);
    assert!(sb.project().join(&folder).join(".git").exists());

    let status = pipe(&s, "imi::status", None);
    let lines: Vec<&str> = status.lines().collect();
    assert!(
        lines[0].starts_with("trunk-main  trunk  main  clean  ↑0 ↓0  Initial import ("),
        "{status}"
    );
    let line = format!("{folder}  feat  feat/{name}  clean  ↑0 ↓0");
    assert!(lines.iter().any(|l| l.starts_with(&line)), "{status}");

    // Bad input is refused with the reason, and nothing changes.
    let before = sb.git_worktrees();
    let escape = pipe(&s, "imi::add", Some("type=feat,name=../x"));
    assert!(
        escape.starts_with("imi::add: worktree name \"../x\" is not allowed"),
        "{escape}"
    );
    let nameless = pipe(&s, "imi::add", Some("type=feat"));
    assert_eq!(
        nameless,
        "imi::add: no worktree named: give --args name=NAME (e.g. name=login or name=feat-login)\n"
    );
    let unknown = pipe(&s, "imi::add", Some("type=nope,name=y"));
    assert!(
        unknown.starts_with("imi::add: worktree type \"nope\" not found; known types: feat"),
        "{unknown}"
    );
    assert_eq!(sb.git_worktrees(), before);

    // Open brings the tab forward; remove closes it and keeps the branch.
    go_to_first_tab(&s);
    let open = pipe(&s, "imi::open", Some(&format!("name={name}")));
    assert_eq!(open, format!("tab {folder} open\n"));
    let removed = pipe(&s, "imi::remove", Some(&format!("name={name}")));
    assert_eq!(
        removed,
        format!("removed {folder} (kept branch feat/{name}); tab {folder} closed\n")
    );
    assert!(!sb.git_worktrees().contains(&folder));
    wait_for_tab(&s, &folder, false);
    assert!(sb.branch_exists(&format!("feat/{name}")));
}

#[test]
fn the_imi_pane_lists_the_worktrees_and_creates_one_with_its_keys() {
    let sb = Sandbox::new();
    let Some(s) = session_in_project(&sb, "e2e-imi-pane") else {
        return;
    };
    // A worktree made by the command line outside the session: no tab.
    sb.imi(&["feat", "login", "--agent", "claude-1"]).data();

    s.term.send_keys(&["M-g"]).unwrap();
    screen_until(&s, "the iMi pane listing trunk and feat-login", |screen| {
        screen.contains("iMi · origin · 1 worktree")
            && screen.contains("▸ trunk-main")
            && screen.contains("feat-login")
    });

    s.term.send_keys(&["a"]).unwrap();
    screen_until(&s, "the type picker", |screen| {
        screen.contains("new worktree: pick a type")
    });
    s.term.send_keys(&["Enter"]).unwrap();
    screen_until(&s, "the name prompt", |screen| {
        screen.contains("new feat worktree")
    });
    s.term.send_text("pane-x").unwrap();
    screen_until(&s, "the name typed", |screen| {
        screen.contains("branch feat/pane-x")
    });
    s.term.send_keys(&["Enter"]).unwrap();

    // The worktree's tab opens and takes the focus (Zellij gives it the focus once its layout
    // is in place; a `go-to-tab` sent before that is lost in Zellij 0.45.1: it waits for the new
    // tab under the command line's own client id, one tab off, and the new tab's focus comes
    // after it)...
    wait_for_active_tab(&s, "feat-pane-x");
    assert!(sb.project().join("feat-pane-x/.git").exists());
    // ... and back in the first tab the pane lists it, selected, with what was done.
    go_to_first_tab(&s);
    let screen = screen_until(&s, "the new worktree in the pane", |screen| {
        screen.contains("iMi · origin · 2 worktrees")
            && screen.contains("▸ feat-pane-x")
            && screen.contains("✓ created feat-pane-x")
    });
    assert!(screen.contains("@claude-1"), "{screen}");
    // The selected row is drawn reversed: an SGR sequence on its line turns on attribute 7.
    let colored = s.term.capture_colored();
    let selected = colored
        .lines()
        .find(|l| l.contains("▸"))
        .unwrap_or_default();
    let reversed = selected.split("\u{1b}[").skip(1).any(|sgr| {
        sgr.split_once('m')
            .is_some_and(|(params, _)| params.split(';').any(|p| p == "7"))
    });
    assert!(reversed, "{selected:?}");

    // A change made elsewhere reaches the open pane through host-bridge's pushed event.
    let removed = pipe(&s, "imi::remove", Some("name=login"));
    assert!(removed.starts_with("removed feat-login"), "{removed}");
    screen_until(&s, "the pane without feat-login", |screen| {
        screen.contains("iMi · origin · 1 worktree") && !screen.contains("feat-login")
    });
}

/// Waits until the tab named `name` is the active one, the only tab of that name.
fn wait_for_active_tab(s: &PerthSession, name: &str) {
    let waited = tests::wait_for(
        &format!("tab {name} in front, once"),
        Duration::from_secs(20),
        || {
            let tabs = tabs(s);
            let named: Vec<&Value> = tabs.iter().filter(|t| t["name"] == name).collect();
            (named.len() == 1 && named[0]["active"] == true).then_some(())
        },
    );
    if let Err(e) = waited {
        panic!(
            "{e:?}\ntabs: {:?}\nscreen:\n{}",
            tab_names(s),
            s.term.capture()
        );
    }
}

#[test]
fn the_imi_pane_goes_to_the_trunk_with_t() {
    let sb = Sandbox::new();
    let Some(s) = session_in_project(&sb, "e2e-imi-trunk") else {
        return;
    };
    s.term.send_keys(&["M-g"]).unwrap();
    screen_until(&s, "the iMi pane listing trunk", |screen| {
        screen.contains("▸ trunk-main")
    });
    // The session's first tab is the workspace's: trunk's tab is opened, named as iMi names it.
    s.term.send_keys(&["t"]).unwrap();
    wait_for_active_tab(&s, "trunk-main");
    // The pane, brought into trunk's tab, says what it did, as a success.
    s.term.send_keys(&["M-g"]).unwrap();
    let screen = screen_until(&s, "the pane's answer", |screen| {
        screen.contains("✓ tab trunk-main open") || screen.contains('✗')
    });
    assert!(!screen.contains("not inside a perth session"), "{screen}");
    // From another tab, t brings the open trunk tab to the front instead of a second one.
    go_to_first_tab(&s);
    s.term.send_keys(&["M-g"]).unwrap();
    screen_until(&s, "the iMi pane in the first tab", |screen| {
        screen.contains("▸ trunk-main")
    });
    s.term.send_keys(&["t"]).unwrap();
    wait_for_active_tab(&s, "trunk-main");
}

/// Agent awareness in iMi: an agent whose shell works in a worktree shows on that worktree in
/// `iMi --json status` and in the iMi pane, which follows its changes as perth broadcasts them.
#[test]
fn imi_shows_the_agents_working_in_each_worktree() {
    let sb = Sandbox::new();
    let Some(s) = session_in_project(&sb, "e2e-imi-agents") else {
        return;
    };
    sb.imi(&["feat", "login", "--agent", "claude-1"]).data();
    let worktree = sb.project().join("feat-login");
    s.term
        .send_text(&format!("cd '{}' && clear", worktree.display()))
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    let set = |state: &str| {
        let out = s
            .perth_within(
                &[
                    "action",
                    "agent-state",
                    "--pane-id",
                    "0",
                    "--state",
                    state,
                    "--message",
                    "Run npm test?",
                ],
                None,
                Duration::from_secs(15),
            )
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    set("waiting");
    let status = tests::wait_for_with_last(
        "the agent on feat-login in iMi's status",
        Duration::from_secs(15),
        || {
            let mut cmd = s.env.command(tests::workspace_bin("iMi").unwrap());
            cmd.current_dir(sb.trunk()).args(["--json", "status"]);
            let out = cmd.output().map_err(|e| e.to_string())?;
            let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            let feat = json["data"]["worktrees"]
                .as_array()
                .and_then(|w| w.iter().find(|w| w["name"] == "feat-login").cloned())
                .unwrap_or_default();
            if feat["agents"][0]["state"] == "waiting" {
                Ok(json)
            } else {
                Err(json.to_string())
            }
        },
    )
    .unwrap();
    let feat = &status["data"]["worktrees"][0];
    assert_eq!(feat["agents"][0]["session"], "e2e-imi-agents", "{status}");
    assert_eq!(feat["agents"][0]["message"], "Run npm test?", "{status}");
    assert_eq!(
        status["data"]["trunk"]["agents"],
        serde_json::json!([]),
        "{status}"
    );

    s.term.send_keys(&["M-g"]).unwrap();
    screen_until(
        &s,
        "the waiting agent on feat-login in the iMi pane",
        |screen| {
            screen
                .lines()
                .any(|l| l.contains("feat-login") && l.contains("✋ waiting"))
        },
    );
    set("working");
    screen_until(&s, "the agent working, from perth's broadcast", |screen| {
        screen
            .lines()
            .any(|l| l.contains("feat-login") && l.contains("⏳ working"))
    });
}
