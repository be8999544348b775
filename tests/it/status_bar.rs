//! End-to-end: perth's status bar against stock Zellij 0.45.1's, side by side. Both run
//! Zellij's classic layout (tab bar, one pane, the two-row status bar) at the same size with
//! the default keybindings; in each mode the last two rows, text and colours, must be the same,
//! at full width and narrowed. The same with one layout file whose status bar is one row high
//! (Zellij's compact design), in every mode at 120, 80, 60 and 40 columns.
//! And a user's own `status-bar` alias, or `perth { status_bar { light false } }`, puts
//! Zellij's bar back.

use std::time::Duration;

use tests::tmux::TmuxTerminal;
use tests::{IsolatedEnv, PerthSession};

const WAIT: Duration = Duration::from_secs(20);

/// The status bar's rows, plain and coloured.
#[derive(Debug, PartialEq, Eq)]
struct Bars {
    plain: String,
    colored: String,
}

/// Returns the last `height` rows of a terminal `rows` high.
fn bars(term: &TmuxTerminal, rows: u16, height: u16) -> Bars {
    let capture = |colored| {
        term.capture_rows(rows - height, rows - 1, colored)
            .unwrap_or_else(|e| format!("<capture failed: {e:#}>"))
    };
    Bars {
        plain: capture(false),
        colored: capture(true),
    }
}

/// Waits until the bar's `height` rows satisfy `shows` (given their plain text); returns them.
fn wait_for_bar(
    term: &TmuxTerminal,
    rows: u16,
    height: u16,
    what: &str,
    shows: impl Fn(&str) -> bool,
) -> Bars {
    tests::wait_for_with_last(what, WAIT, || {
        let bars = bars(term, rows, height);
        if shows(&bars.plain) {
            Ok(bars)
        } else {
            Err(bars.plain)
        }
    })
    .unwrap()
}

/// One step of a comparison: at `cols` columns, `enter` is sent to both terminals, and once
/// Zellij's bar `shows` the mode (given its plain rows and the width), perth's bar must read
/// the same, text and colours; then `leave` takes both back to Normal mode.
struct Step {
    mode: &'static str,
    cols: u16,
    enter: &'static [&'static str],
    shows: fn(&str, u16) -> bool,
    leave: &'static [&'static str],
}

/// Runs `steps` on stock Zellij's terminal and perth's, both `rows` high with a status bar of
/// `height` rows; after each step's `leave`, waits until both bars show `normal` again.
fn compare_bars(
    zellij: &TmuxTerminal,
    perth: &TmuxTerminal,
    rows: u16,
    height: u16,
    steps: &[Step],
    normal: fn(&str, u16) -> bool,
) {
    let mut cols = 0;
    for step in steps {
        let mode = format!("{} mode at {} columns", step.mode, step.cols);
        if step.cols != cols {
            cols = step.cols;
            zellij.resize(cols, rows).unwrap();
            perth.resize(cols, rows).unwrap();
        }
        zellij.send_keys(step.enter).unwrap();
        perth.send_keys(step.enter).unwrap();
        let expected = wait_for_bar(
            zellij,
            rows,
            height,
            &format!("stock Zellij's bar in {mode}"),
            |plain| (step.shows)(plain, cols),
        );
        tests::wait_for_with_last(
            &format!("perth's status bar in {mode} to read as Zellij's"),
            WAIT,
            || {
                let perth_bars = bars(perth, rows, height);
                if perth_bars == expected {
                    Ok(())
                } else {
                    Err(format!("perth: {perth_bars:#?}\nzellij: {expected:#?}"))
                }
            },
        )
        .unwrap();
        if !step.leave.is_empty() {
            zellij.send_keys(step.leave).unwrap();
            perth.send_keys(step.leave).unwrap();
            // Both back in Normal mode before the next.
            for term in [zellij, perth] {
                wait_for_bar(
                    term,
                    rows,
                    height,
                    &format!("Normal mode after {mode}"),
                    |plain| normal(plain, cols),
                );
            }
        }
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

    let step = |mode, cols, enter, shows, leave| Step {
        mode,
        cols,
        enter,
        shows,
        leave,
    };
    let steps = [
        step("Normal", 120, &[], |p, _| p.contains("Tip:"), &[]),
        step(
            "Pane",
            120,
            &["C-p"],
            |p, _| p.contains("Embed"),
            &["Enter"],
        ),
        step("Tab", 120, &["C-t"], |p, _| p.contains("Sync"), &["Enter"]),
        step(
            "Resize",
            120,
            &["C-n"],
            |p, _| p.contains("Increase"),
            &["Enter"],
        ),
        step(
            "Session",
            120,
            &["C-o"],
            |p, _| p.contains("Detach"),
            &["Enter"],
        ),
        step(
            "Locked",
            120,
            &["C-g"],
            |p, _| p.contains("INTERFACE LOCKED"),
            &["C-g"],
        ),
        step("Pane", 70, &["C-p"], |p, _| p.contains("Rename ..."), &[]),
    ];
    compare_bars(&zellij_term, &perth.term, rows, 2, &steps, |p, _| {
        p.contains("Tip:")
    });
}

/// A layout whose status bar is one row high. `status-bar` is Zellij's own bar
/// (`zellij:status-bar`) under Zellij and perth's under perth.
const ONE_ROW_LAYOUT: &str = "layout {
    pane
    pane size=1 borderless=true {
        plugin location=\"status-bar\"
    }
}
";

/// Whether a one-row bar shows Normal mode with one pane at `cols` columns: the mode ribbons
/// and, filling the row to its end, `...` where the keys on the right do not fit.
fn one_row_normal(plain: &str, cols: u16) -> bool {
    let row = plain.trim_end();
    row.ends_with("...") && row.chars().count() == usize::from(cols)
}

/// Whether a one-row bar shows a mode with a ribbon of its own other than Locked: its name,
/// without the lock's ribbon.
fn one_row_own_ribbon(plain: &str, name: &str) -> bool {
    plain.contains(name) && !plain.contains("LOCK")
}

#[test]
fn one_row_status_bar_shows_what_zellijs_shows_in_each_mode() {
    let Some(zellij) =
        tests::stock_zellij("perth's one-row status bar is not compared with Zellij's")
    else {
        return;
    };
    let (cols, rows) = (120, 20);
    let zellij_env = IsolatedEnv::new().unwrap();
    // One layout file for both.
    let layout = zellij_env.tmp_dir().join("one-row-status-bar.kdl");
    std::fs::write(&layout, ONE_ROW_LAYOUT).unwrap();
    let layout = layout.to_str().unwrap();
    let zellij_config = zellij_env.tmp_dir().join("zellij.kdl");
    std::fs::write(
        &zellij_config,
        format!("show_startup_tips false\nshow_release_notes false\ndefault_layout \"{layout}\"\n"),
    )
    .unwrap();
    let zellij_session = "e2e-status-row-zellij";
    let zellij_argv = [
        zellij.to_str().unwrap(),
        "--config",
        zellij_config.to_str().unwrap(),
        "--session",
        zellij_session,
    ];
    let zellij_term = TmuxTerminal::start(&zellij_env, cols, rows, &zellij_argv).unwrap();
    let perth = PerthSession::launch(
        IsolatedEnv::new().unwrap(),
        "e2e-status-row-perth",
        cols,
        rows,
        &["--session", "e2e-status-row-perth", "--layout", layout],
        "perth with a one-row status bar",
        |screen| screen.contains("LOCK") && screen.contains("QUIT"),
    )
    .unwrap();
    zellij_term
        .wait_for_screen("stock Zellij's one-row status bar", WAIT, |screen| {
            screen.contains("LOCK") && screen.contains("QUIT")
        })
        .unwrap();

    // Zellij's own bar against perth's own bar.
    let dumped = zellij_env
        .command(&zellij)
        .args(["--session", zellij_session, "action", "dump-layout"])
        .output()
        .unwrap();
    let dumped = String::from_utf8_lossy(&dumped.stdout);
    assert!(
        dumped.contains("zellij:status-bar"),
        "stock Zellij runs its own status bar: {dumped}"
    );
    assert_own_bar(&perth);

    let mut steps = Vec::new();
    for cols in [120, 80, 60, 40] {
        let step = |mode, enter, shows, leave| Step {
            mode,
            cols,
            enter,
            shows,
            leave,
        };
        steps.extend([
            step("Normal", &[], one_row_normal, &[]),
            step(
                "Locked",
                &["C-g"],
                |p, _| p.contains("LOCK") && !p.contains("..."),
                &["C-g"],
            ),
            step(
                "Pane",
                &["C-p"],
                |p, _| p.contains("PANE") && p.contains("New"),
                &["Enter"],
            ),
            step(
                "Tab",
                &["C-t"],
                |p, _| p.contains("TAB") && p.contains("New"),
                &["Enter"],
            ),
            step(
                "Resize",
                &["C-n"],
                |p, _| one_row_own_ribbon(p, "RESIZE"),
                &["Enter"],
            ),
            step(
                "Move",
                &["C-h"],
                |p, _| one_row_own_ribbon(p, "MOVE"),
                &["C-h"],
            ),
            step(
                "Scroll",
                &["C-s"],
                |p, _| one_row_own_ribbon(p, "SEARCH"),
                &[],
            ),
            step(
                "EnterSearch",
                &["s"],
                |p, _| p.contains("ENTERING SEARCH TERM"),
                &[],
            ),
            step(
                "Search",
                &["a", "Enter"],
                |p, _| p.contains("SEARCHING"),
                &["C-s"],
            ),
            step(
                "Session",
                &["C-o"],
                |p, _| one_row_own_ribbon(p, "SESSION"),
                &["Enter"],
            ),
            step(
                "RenamePane",
                &["C-p", "c"],
                |p, _| p.contains("RENAMING PANE"),
                &["Enter"],
            ),
            step(
                "RenameTab",
                &["C-t", "r"],
                |p, _| p.contains("RENAMING TAB"),
                &["Enter"],
            ),
            step(
                "Tmux",
                &["C-b"],
                |p, _| p.contains("Move") && !p.contains("Ctrl +"),
                &["Escape"],
            ),
        ]);
    }
    // Wide enough for the keys on the right: with a second pane they name moving focus and
    // resizing; with the floating panes shown, theirs is the selected ribbon.
    let wide = |mode, enter, shows| Step {
        mode,
        cols: 200,
        enter,
        shows,
        leave: &[],
    };
    steps.extend([
        wide("Normal, two panes,", &["M-n"], |p, _| {
            p.contains("Change Focus")
        }),
        wide("Normal, floating panes shown,", &["M-f"], |p, _| {
            p.contains("Floating") && !p.contains("Change Focus")
        }),
    ]);
    compare_bars(&zellij_term, &perth.term, rows, 1, &steps, one_row_normal);
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
