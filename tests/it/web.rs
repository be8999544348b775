//! perth's drawing on read-only clients: a web token made with `--create-read-only-token`
//! attaches as a Zellij watcher, the same server path as `perth watch` in a terminal, so a
//! watcher in tmux shows what a read-only browser gets from perth's server.

use std::time::Duration;

use tests::screen::{Rect, Screen};
use tests::{wait_for_with_last, PerthSession, TmuxTerminal};

const WAIT: Duration = Duration::from_secs(15);

fn pane_rect(s: &PerthSession, id: u64) -> Rect {
    let panes = s.terminal_panes().unwrap();
    let pane = panes
        .iter()
        .find(|p| p["id"].as_u64() == Some(id))
        .unwrap_or_else(|| panic!("no terminal pane {id}"));
    Rect::of_pane(pane)
}

fn wait_share(term: &TmuxTerminal, rect: Rect, what: &str, pred: impl Fn(f64) -> bool) {
    wait_for_with_last(what, WAIT, || {
        let sc = Screen::parse(&term.capture_colored());
        let share = sc.coloured_share(rect);
        if pred(share) {
            Ok(())
        } else {
            Err(format!(
                "{:.0}% coloured\n{}",
                share * 100.0,
                term.capture()
            ))
        }
    })
    .unwrap();
}

#[test]
fn a_watcher_sees_borders_messages_and_titles_as_text_and_sees_them_clear() {
    let s = PerthSession::start("e2e-web-watcher").unwrap();
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    wait_for_with_last("two terminal panes", WAIT, || {
        let n = s.terminal_panes().map_err(|e| e.to_string())?.len();
        if n == 2 {
            Ok(())
        } else {
            Err(format!("{n} panes"))
        }
    })
    .unwrap();
    s.wait_for_core(4).unwrap();
    let bin = tests::workspace_bin("perth").unwrap();
    let bin = bin.to_string_lossy().into_owned();
    // The same size as the session's client: a watcher is drawn the followed client's screen.
    let watcher = TmuxTerminal::start(&s.env, 120, 40, &[&bin, "watch", &s.name]).unwrap();
    watcher
        .wait_for_text("the watcher's screen", "Pane #2", WAIT)
        .unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "terminal_0",
        "--style",
        "error",
        "--message",
        "<script>alert(1)</script>",
    ])
    .unwrap();
    // The focused pane (the right one) gets a title in HTML.
    s.action(&["rename-pane", "<i>t</i>"]).unwrap();
    let left = pane_rect(&s, 0);
    let right = pane_rect(&s, 1);
    wait_share(&s.term, left, "the attached client's border", |x| x > 0.9);
    wait_share(&watcher, left, "the watcher's border", |x| x > 0.9);
    let sc = Screen::parse(&watcher.capture_colored());
    assert!(
        sc.line(left.y).contains("<script>alert(1)</script>"),
        "{}",
        sc.line(left.y)
    );
    watcher
        .wait_for_screen("the title as text", WAIT, |screen| {
            screen
                .lines()
                .nth(right.y)
                .is_some_and(|l| l.contains("<i>t</i>"))
        })
        .unwrap();
    // The attached client focuses the pane; the watcher follows and its border clears.
    s.term.send_keys(&["M-Left"]).unwrap();
    wait_share(
        &watcher,
        left,
        "the watcher's border back in the theme",
        |x| x == 0.0,
    );
}

/// FIXME(issue 21): perth cannot be built with Zellij's web server yet (Zellij's SQLite and
/// perth's are two libsqlite3-sys versions; see the README, "perth in a browser"). Until it is,
/// every `perth web` says so and exits 2, as a Zellij built without it does.
#[test]
fn perth_web_says_it_is_built_without_zellijs_web_server() {
    let env = tests::IsolatedEnv::new().unwrap();
    let bin = tests::workspace_bin("perth").unwrap();
    for args in [
        &["web"][..],
        &["web", "--create-token"],
        &["web", "--status"],
    ] {
        let out = env.command(&bin).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("built without Zellij's web server"), "{err}");
    }
}
