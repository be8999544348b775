//! End-to-end tests of the notification bus and the border overlay: a real perth session in
//! tmux, its screen read in colour.

use std::time::Duration;

use tests::screen::{Rect, Screen};
use tests::{wait_for_with_last, PerthSession};

const WAIT: Duration = Duration::from_secs(15);

fn pane(s: &PerthSession, id: u64) -> serde_json::Value {
    s.terminal_panes()
        .unwrap()
        .into_iter()
        .find(|p| p["id"].as_u64() == Some(id))
        .unwrap_or_else(|| panic!("no terminal pane {id}"))
}

fn wait_terminals(s: &PerthSession, n: usize) {
    wait_for_with_last("the terminal panes", WAIT, || {
        let panes = s.terminal_panes().map_err(|e| e.to_string())?;
        if panes.len() == n {
            Ok(())
        } else {
            Err(format!("{} panes", panes.len()))
        }
    })
    .unwrap();
}

fn screen(s: &PerthSession) -> Screen {
    Screen::parse(&s.term.capture_colored())
}

fn wait_coloured(s: &PerthSession, rect: Rect, what: &str) -> Screen {
    wait_for_with_last(what, WAIT, || {
        let sc = screen(s);
        let share = sc.coloured_share(rect);
        if share > 0.9 {
            Ok(sc)
        } else {
            Err(format!(
                "{:.0}% coloured\n{}",
                share * 100.0,
                s.term.capture()
            ))
        }
    })
    .unwrap()
}

/// Waits until no pane shows perth's colours (the tab bar on row 0, which counts
/// notifications of every tab, is left out).
fn wait_plain(s: &PerthSession, what: &str) {
    wait_for_with_last(what, WAIT, || {
        let rgb = panes_rgb(&screen(s));
        if rgb.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} coloured cells\n{}",
                rgb.len(),
                s.term.capture()
            ))
        }
    })
    .unwrap();
}

/// The coloured cells below the tab bar.
fn panes_rgb(sc: &Screen) -> Vec<(usize, usize)> {
    sc.rgb_cells().into_iter().filter(|(r, _)| *r > 0).collect()
}

fn list(s: &PerthSession) -> serde_json::Value {
    let text = s.action(&["list-notifications", "--json"]).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn active_count(s: &PerthSession) -> usize {
    list(s)["active"].as_array().map_or(0, Vec::len)
}

fn wait_history(s: &PerthSession, what: &str, pred: impl Fn(&serde_json::Value) -> bool) {
    wait_for_with_last(what, WAIT, || {
        let l = list(s);
        let hit = l["history"].as_array().is_some_and(|h| h.iter().any(&pred));
        if hit {
            Ok(())
        } else {
            Err(l.to_string())
        }
    })
    .unwrap();
}

/// Two tiled panes side by side; the right one (terminal_1) has the focus.
fn two_panes(name: &str) -> PerthSession {
    let s = PerthSession::start(name).unwrap();
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    wait_terminals(&s, 2);
    // Focus and geometry reach the engine through perth-core.
    s.wait_for_core(4).unwrap();
    s
}

#[test]
fn notified_border_is_coloured_alone_animates_and_focus_clears_it() {
    let s = two_panes("e2e-notify-border");
    let out = s
        .action(&[
            "notify",
            "--pane-id",
            "terminal_0",
            "--style",
            "error",
            "--message",
            "Build failed",
        ])
        .unwrap();
    assert!(out.contains("raised error on terminal_0"), "{out}");
    let left = Rect::of_pane(&pane(&s, 0));
    let right = Rect::of_pane(&pane(&s, 1));
    let first = wait_coloured(&s, left, "the notified pane's frame in colour");
    assert_eq!(first.coloured_share(right), 0.0, "{}", s.term.capture());
    assert!(
        panes_rgb(&first).iter().all(|(r, c)| left.contains(*r, *c)),
        "only the notified pane carries perth's colours"
    );
    assert!(
        first.line(left.y).contains("✗ Build failed"),
        "{}",
        first.line(left.y)
    );
    // Error borders pulse and carry the candycane: two captures 100 ms apart differ on the
    // border, and nowhere else.
    let before = screen(&s);
    std::thread::sleep(Duration::from_millis(100));
    let after = screen(&s);
    let mut border_changed = false;
    for row in 0..40 {
        for col in 0..120 {
            let (a, b) = (before.cell(row, col), after.cell(row, col));
            if a != b {
                let on_border = left.border().contains(&(row, col));
                assert!(
                    on_border || row == left.y,
                    "cell {row},{col} changed off the border"
                );
                border_changed |= on_border;
            }
        }
    }
    assert!(border_changed, "the border animates");
    let status = s.status().unwrap();
    assert_eq!(status["notifications"]["active"], 1, "{status}");
    // Focus by keyboard clears it.
    s.term.send_keys(&["M-Left"]).unwrap();
    wait_plain(&s, "the border back in the theme's colours");
    wait_for_with_last("no active notification", WAIT, || {
        let l = list(&s);
        if l["active"].as_array().is_some_and(Vec::is_empty) {
            Ok(())
        } else {
            Err(l.to_string())
        }
    })
    .unwrap();
    wait_history(&s, "a focused entry", |e| e["event"] == "focused");
}

#[test]
fn pipe_osc_bell_and_command_exit_each_raise() {
    let s = two_panes("e2e-notify-sources");
    // The stock CLI: zellij pipe (perth pipe is the same command).
    let out = s
        .perth(&[
            "pipe",
            "--name",
            "perth::notify",
            "--args",
            "pane_id=0,style=warning",
            "--",
            "via pipe",
        ])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    wait_coloured(&s, Rect::of_pane(&pane(&s, 0)), "the piped notification");
    let l = list(&s);
    assert_eq!(l["active"][0]["source"], "pipe", "{l}");
    assert_eq!(l["active"][0]["style"], "warning", "{l}");
    // Malformed pipe messages are answered on the pipe and raise nothing.
    let bad = s
        .pipe_answer(&["--name", "perth::notify", "--args", "pane_id=99", "--", "x"])
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("no pane terminal_99"),
        "{bad:?}"
    );
    s.perth(&["pipe", "--name", "perth::clear"]).unwrap();
    wait_plain(&s, "perth::clear");

    // A program in the focused right pane asks for notifications after a second; by then the
    // left pane has the focus, so they stay.
    s.term
        .send_text(
            "sleep 1; printf '\\033]777;notify;Agent;needs input\\007'; sleep 0.3; printf '\\007'",
        )
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term.send_keys(&["M-Left"]).unwrap();
    wait_history(&s, "OSC 777 from the pane", |e| {
        e["notification"]["source"] == "osc777"
            && e["notification"]["message"] == "Agent: needs input"
            && e["notification"]["pane"] == "terminal_1"
    });
    wait_history(&s, "a bell from the pane", |e| {
        e["notification"]["source"] == "bell"
    });
    // OSC 9 with a style prefix, from the left pane while the right one is focused.
    s.term
        .send_text("sleep 1; printf '\\033]9;error: tests failed\\033\\\\'")
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term.send_keys(&["M-Right"]).unwrap();
    wait_history(&s, "OSC 9 with a style", |e| {
        e["notification"]["source"] == "osc9" && e["notification"]["style"] == "error"
    });
    wait_coloured(&s, Rect::of_pane(&pane(&s, 0)), "the OSC 9 border");

    // Command panes: red for a failure, green for success.
    for (code, style) in [(3, "error"), (0, "success")] {
        s.perth(&["run", "--", "sh", "-c", &format!("exit {code}")])
            .unwrap();
        wait_history(&s, "the command's exit", |e| {
            e["notification"]["source"] == "command_exit"
                && e["notification"]["style"] == style
                && e["notification"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("exit status {code}")))
        });
    }
}

#[test]
fn floating_panes_stay_intact_and_hidden_tabs_show_on_switch() {
    let s = two_panes("e2e-notify-layers");
    s.action(&["new-pane", "--floating"]).unwrap();
    wait_terminals(&s, 3);
    // The engine learns of the floating pane from perth-core's next (coalesced) push; until
    // then a border under it can be painted for a moment and is given back on that push.
    s.wait_for_core(5).unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "success",
        "--message",
        "done",
    ])
    .unwrap();
    let left = Rect::of_pane(&pane(&s, 0));
    let float = Rect::of_pane(&pane(&s, 2));
    let sc = wait_for_with_last("the tiled border under the floating pane", WAIT, || {
        let sc = screen(&s);
        if sc.coloured_share(left) > 0.3 {
            Ok(sc)
        } else {
            Err(s.term.capture())
        }
    })
    .unwrap();
    assert!(
        panes_rgb(&sc).iter().all(|(r, c)| !float.contains(*r, *c)),
        "the floating pane is never painted over\n{}",
        s.term.capture()
    );
    s.action(&["toggle-floating-panes"]).unwrap();
    // A notification in a tab nobody looks at waits, then shows on switching.
    s.action(&["new-tab"]).unwrap();
    wait_plain(&s, "the new tab, without colours");
    // Pane 0 is not the focused pane of its tab, so switching there shows it rather than
    // clearing it; the error outranks the success it had.
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "error",
        "--message",
        "hidden",
    ])
    .unwrap();
    // Its pane is not drawn; the tab bar counts it, in the style's colour.
    let bar = wait_for_with_last("the tab bar's count", WAIT, || {
        let sc = screen(&s);
        if sc.line(0).contains("workspace ✗1") && panes_rgb(&sc).is_empty() {
            Ok(sc)
        } else {
            Err(s.term.capture())
        }
    })
    .unwrap();
    assert!(
        bar.rgb_cells().iter().all(|(row, _)| *row == 0),
        "only the tab bar is coloured\n{}",
        s.term.capture()
    );
    assert_eq!(active_count(&s), 1);
    s.action(&["go-to-tab", "1"]).unwrap();
    let sc = wait_coloured(&s, left, "the hidden pane's border after the switch");
    assert!(sc.line(left.y).contains("✗ hidden"), "{}", sc.line(left.y));
}

#[test]
fn bad_input_is_rejected_and_floods_are_survived() {
    let s = two_panes("e2e-notify-bad");
    let run = |args: &[&str]| {
        let mut full = vec!["action"];
        full.extend_from_slice(args);
        s.perth(&full).unwrap()
    };
    let unknown = run(&["notify", "--pane-id", "terminal_42", "--message", "x"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no pane terminal_42"));
    let style = run(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "loud",
        "--message",
        "x",
    ]);
    assert_eq!(style.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&style.stderr).contains("unknown style 'loud'"));
    let empty = run(&["notify", "--pane-id", "0", "--message", "\u{1b}[31m"]);
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");
    let bad_id = run(&["notify", "--pane-id", "../3", "--message", "x"]);
    assert_eq!(bad_id.status.code(), Some(2));
    // A huge message with escape sequences and wide characters: inert, cut to the frame.
    let huge = format!("\u{1b}]0;evil\u{7}\u{1b}[2J{}", "界x".repeat(2000));
    run(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "info",
        "--message",
        &huge,
    ]);
    let left = Rect::of_pane(&pane(&s, 0));
    let sc = wait_coloured(&s, left, "the huge message's border");
    let top: String = sc
        .line(left.y)
        .chars()
        .skip(left.x)
        .take(left.cols)
        .collect();
    assert!(
        top.starts_with('┌') && top.ends_with('┐') && top.contains('…'),
        "{top}"
    );
    assert!(!s.term.capture().contains("evil"));
    // 10,000 notifications in about a second from a program: coalesced, the server answers.
    s.term
        .send_text("i=0; while [ $i -lt 10000 ]; do printf '\\033]9;n%d\\007' $i; i=$((i+1)); done; echo flood-done")
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    s.term
        .wait_for_text("the flood's end", "flood-done", Duration::from_secs(60))
        .unwrap();
    let started = std::time::Instant::now();
    let status = s.status().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "status took {:?}",
        started.elapsed()
    );
    assert!(
        status["notifications"]["active"].as_u64().unwrap_or(0) <= 2,
        "{status}"
    );
    let l = list(&s);
    assert!(l["history"].as_array().unwrap().len() <= 200);
}

#[test]
fn every_client_that_shows_the_pane_draws_it() {
    let s = two_panes("e2e-notify-clients");
    // A second client, smaller, attached to the same session.
    let bin = tests::workspace_bin("perth").unwrap();
    let bin = bin.to_string_lossy().into_owned();
    let second = tests::TmuxTerminal::start(&s.env, 100, 30, &[&bin, "attach", &s.name]).unwrap();
    second
        .wait_for_text("the second client", "Pane #2", WAIT)
        .unwrap();
    s.wait_for_status("two clients followed", WAIT, |st| {
        st["notifications"]["clients"].as_u64() >= Some(2)
    })
    .unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "warning",
        "--message",
        "both",
    ])
    .unwrap();
    // Zellij sizes the session to its smallest client; read the geometry after the attach.
    let left = Rect::of_pane(&pane(&s, 0));
    wait_coloured(&s, left, "the first client's border");
    wait_for_with_last("the second client's border", WAIT, || {
        let sc = Screen::parse(&second.capture_colored());
        let share = sc.coloured_share(left);
        if share > 0.3 {
            Ok(())
        } else {
            Err(format!("{:.0}%\n{}", share * 100.0, second.capture()))
        }
    })
    .unwrap();
}

#[test]
fn fullscreen_panes_hide_what_is_behind_them_until_they_end() {
    let s = two_panes("e2e-notify-fullscreen");
    // Pane 1 fullscreen: pane 0 is behind it, so nothing is drawn but the tab bar's count.
    s.action(&["toggle-fullscreen"]).unwrap();
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "warning",
        "--message",
        "behind",
    ])
    .unwrap();
    wait_for_with_last("the tab bar's count over a fullscreen pane", WAIT, || {
        let sc = screen(&s);
        if sc.line(0).contains("workspace ▲1") && panes_rgb(&sc).is_empty() {
            Ok(())
        } else {
            Err(s.term.capture())
        }
    })
    .unwrap();
    // Back to tiled: pane 0's border within a frame of the layout change.
    s.action(&["toggle-fullscreen"]).unwrap();
    let left = Rect::of_pane(&pane(&s, 0));
    wait_coloured(&s, left, "pane 0's border after fullscreen ends");
    s.action(&["clear-notification", "--all"]).unwrap();
    wait_plain(&s, "no colours after clearing");
}

#[test]
fn frameless_panes_are_tinted_until_cleared() {
    let env = tests::IsolatedEnv::new().unwrap();
    let dir = env.config_dir().join("perth");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.kdl"), "pane_frames false\n").unwrap();
    let s = PerthSession::start_in(env, "e2e-notify-frameless", 100, 20, &[]).unwrap();
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    wait_terminals(&s, 2);
    s.wait_for_core(4).unwrap();
    // No frame to draw on: the pane's background takes a dark shade of the style's colour.
    let tint = "\u{1b}[48;2;47;16;16m";
    s.action(&[
        "notify",
        "--pane-id",
        "0",
        "--style",
        "error",
        "--message",
        "no frame",
    ])
    .unwrap();
    wait_for_with_last("the pane's dark red background", WAIT, || {
        let screen = s.term.capture_colored();
        if screen.contains(tint) {
            Ok(())
        } else {
            Err(screen)
        }
    })
    .unwrap();
    s.action(&["clear-notification", "--all"]).unwrap();
    wait_for_with_last("the background back to the terminal's", WAIT, || {
        let screen = s.term.capture_colored();
        if screen.contains(tint) {
            Err(screen)
        } else {
            Ok(())
        }
    })
    .unwrap();
}
