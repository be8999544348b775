//! End-to-end: perth's status bar against stock Zellij 0.45.1's, side by side. Both run
//! Zellij's classic layout (tab bar, one pane, the two-row status bar) at the same size with
//! the default keybindings; in each mode the last two rows, text and colours, must be the same,
//! at full width and narrowed.
//! And a user's own `status-bar` alias, or `perth { status_bar { light false } }`, puts
//! Zellij's bar back.

use std::time::Duration;

use tests::tmux::TmuxTerminal;
use tests::{IsolatedEnv, PerthSession};

const WAIT: Duration = Duration::from_secs(20);

/// The status bar's two rows, plain and coloured.
#[derive(Debug, PartialEq, Eq)]
struct Bars {
    plain: String,
    colored: String,
}

/// Returns the last two rows of a terminal `rows` high.
fn bars(term: &TmuxTerminal, rows: u16) -> Bars {
    let capture = |colored| {
        term.capture_rows(rows - 2, rows - 1, colored)
            .unwrap_or_else(|e| format!("<capture failed: {e:#}>"))
    };
    Bars {
        plain: capture(false),
        colored: capture(true),
    }
}

#[test]
fn status_bar_shows_what_zellijs_shows_in_each_mode() {
    let Some(zellij) = tests::stock_zellij("perth's status bar is not compared with Zellij's")
    else {
        return;
    };
    let (cols, rows) = (120, 30);
    let zellij_env = IsolatedEnv::new().unwrap();
    // Zellij's first start shows its tips and release notes in a floating pane; perth's own
    // configuration turns both off. (Zellij reads `--layout` with `--session` as a layout for
    // a running session, so its layout is set here.)
    let zellij_config = zellij_env.tmp_dir().join("zellij.kdl");
    std::fs::write(
        &zellij_config,
        "show_startup_tips false\nshow_release_notes false\ndefault_layout \"classic\"\n",
    )
    .unwrap();
    let zellij_argv = [
        zellij.to_str().unwrap(),
        "--config",
        zellij_config.to_str().unwrap(),
        "--session",
        "e2e-status-zellij",
    ];
    let zellij_term = TmuxTerminal::start(&zellij_env, cols, rows, &zellij_argv).unwrap();
    let perth = PerthSession::launch(
        IsolatedEnv::new().unwrap(),
        "e2e-status-perth",
        cols,
        rows,
        &["--session", "e2e-status-perth", "--layout", "classic"],
        "perth with Zellij's classic layout and its status bar",
        |screen| screen.contains("LOCK") && screen.contains("QUIT"),
    )
    .unwrap();
    zellij_term
        .wait_for_screen("stock Zellij's status bar", WAIT, |screen| {
            screen.contains("LOCK") && screen.contains("Tip:")
        })
        .unwrap();

    // The bar compared is perth's own, not Zellij's under perth.
    assert_own_bar(&perth);

    // (mode, keys that enter it, text only its hints show, keys that leave it)
    let modes: [(&str, &[&str], &str, &[&str]); 7] = [
        ("Normal", &[], "Tip:", &[]),
        ("Pane", &["C-p"], "Embed", &["Enter"]),
        ("Tab", &["C-t"], "Sync", &["Enter"]),
        ("Resize", &["C-n"], "Increase", &["Enter"]),
        ("Session", &["C-o"], "Detach", &["Enter"]),
        ("Locked", &["C-g"], "INTERFACE LOCKED", &["C-g"]),
        ("Pane, narrowed to 70 columns", &["C-p"], "Rename ...", &[]),
    ];
    for (mode, enter, shown, leave) in modes {
        if mode.starts_with("Pane, narrowed") {
            zellij_term.resize(70, rows).unwrap();
            perth.term.resize(70, rows).unwrap();
        }
        zellij_term.send_keys(enter).unwrap();
        perth.term.send_keys(enter).unwrap();
        let expected = wait_for_bar(
            &zellij_term,
            rows,
            &format!("stock Zellij's bar in {mode} mode"),
            shown,
        );
        tests::wait_for_with_last(
            &format!("perth's status bar in {mode} mode to read as Zellij's"),
            WAIT,
            || {
                let perth_bars = bars(&perth.term, rows);
                if perth_bars == expected {
                    Ok(())
                } else {
                    Err(format!("perth: {perth_bars:#?}\nzellij: {expected:#?}"))
                }
            },
        )
        .unwrap();
        if !leave.is_empty() {
            zellij_term.send_keys(leave).unwrap();
            perth.term.send_keys(leave).unwrap();
            // Both back in Normal mode before the next.
            for term in [&zellij_term, &perth.term] {
                wait_for_bar(
                    term,
                    rows,
                    &format!("Normal mode after {mode} mode"),
                    "Tip:",
                );
            }
        }
    }
}

/// Waits until the bar's rows show `shown`; returns them.
fn wait_for_bar(term: &TmuxTerminal, rows: u16, what: &str, shown: &str) -> Bars {
    tests::wait_for_with_last(what, WAIT, || {
        let bars = bars(term, rows);
        if bars.plain.contains(shown) {
            Ok(bars)
        } else {
            Err(bars.plain)
        }
    })
    .unwrap()
}

/// The status bar perth's own plugin file runs as, in a dumped layout.
const OWN_BAR: &str = "/plugins/status-bar-";

/// Asserts that the session's status bar runs `plugin` (as `dump-layout` names the plugins: by
/// the files or built-ins they run), and not `not`.
fn assert_bar_runs(session: &PerthSession, plugin: &str, not: &str) {
    let layout = session.action(&["dump-layout"]).unwrap();
    assert!(
        layout.contains(plugin) && !layout.contains(not),
        "the status bar runs {plugin}: {layout}"
    );
}

fn assert_own_bar(session: &PerthSession) {
    assert_bar_runs(session, OWN_BAR, "zellij:status-bar");
}

/// Starts perth's workspace with `config` as the user's file.
fn workspace_with(name: &str, config: &str) -> PerthSession {
    let env = IsolatedEnv::new().unwrap();
    let dir = env.config_dir().join("perth");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.kdl"), config).unwrap();
    PerthSession::start_in(env, name, 120, 30, &[]).unwrap()
}

#[test]
fn status_bar_gives_way_to_the_users_alias_and_setting() {
    let own = workspace_with("e2e-status-own", "");
    assert_own_bar(&own);
    drop(own);

    let user_alias = "plugins {\n    status-bar location=\"zellij:compact-bar\"\n}\n";
    let user = workspace_with("e2e-status-user", user_alias);
    assert_bar_runs(&user, "zellij:compact-bar", OWN_BAR);
    drop(user);

    let off_setting = "perth {\n    status_bar {\n        light false\n    }\n}\n";
    let off = workspace_with("e2e-status-off", off_setting);
    assert_bar_runs(&off, "zellij:status-bar", OWN_BAR);
}
