//! End-to-end: the zdrive pane in a real perth session. `Alt e` opens it on the focused pane,
//! `l` `m` and a summary log a milestone through host-bridge (zdrive's own command line reads
//! it back), an entry a script logs with a `zdrive::log` pipe shows up in the open pane, `r`
//! renames the pane, its history and its title in the session (as `zdrive pane rename` does),
//! and Tab shows the context view. In an 80x24 terminal the pane finds the focused pane each
//! time it opens and shows the newest entries.

use std::time::Duration;

use serde_json::Value;
use tests::{IsolatedEnv, PerthSession};

/// Runs `zdrive --json ARGS` in the session's environment and returns its data.
fn zdrive(s: &PerthSession, args: &[&str]) -> Value {
    let out = s
        .env
        .command(tests::workspace_bin("zdrive").unwrap())
        .env("ZELLIJ_SESSION_NAME", &s.name)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("zdrive {args:?} printed no JSON ({e}): {out:?}"));
    assert_eq!(v["success"], true, "zdrive {args:?}: {v}");
    v["data"].clone()
}

#[test]
fn the_zdrive_pane_logs_renames_and_shows_what_scripts_log() {
    let s = PerthSession::start_in(IsolatedEnv::new().unwrap(), "e2e-zdrive-pane", 120, 40, &[])
        .unwrap();
    s.wait_for_status(
        "host-bridge answering perth-core",
        Duration::from_secs(30),
        |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
    )
    .unwrap();
    // zdrive opens and tracks a pane named web, which takes the focus.
    let created = zdrive(&s, &["pane", "web"]);
    assert_eq!(created["action"], "created", "{created}");

    // Waits until the screen shows every one of `texts`, and returns it.
    let shows = |what: &str, texts: &[&str]| {
        let all = |screen: &str| texts.iter().all(|t| screen.contains(t));
        s.term
            .wait_for_screen(what, Duration::from_secs(20), all)
            .unwrap()
    };

    // Alt e opens the pane; l, then m for a milestone, then the summary, logs.
    let steps: [(&[&str], &str, &str, &[&str]); 4] = [
        (
            &["M-e"],
            "",
            "the zdrive pane on web, with an empty history",
            &[
                "zdrive · web",
                "active · tab",
                "no entries yet — press l to log one",
            ],
        ),
        (&["l"], "", "the type picker", &["log on web as:"]),
        (
            &["m"],
            "Released v2",
            "the summary prompt",
            &["milestone › Released v2"],
        ),
        (
            &["Enter"],
            "",
            "the milestone in the history",
            &["✓ logged a milestone on web (1 entry)", "★", "Released v2"],
        ),
    ];
    for (keys, text, what, shown) in steps {
        s.term.send_keys(keys).unwrap();
        if !text.is_empty() {
            s.term.send_text(text).unwrap();
        }
        shows(what, shown);
    }
    let history = zdrive(&s, &["pane", "history", "web"]);
    assert_eq!(history["total_entries"], 1, "{history}");
    let entry = &history["entries"][0];
    assert_eq!(
        (&entry["summary"], &entry["entry_type"], &entry["source"]),
        (
            &Value::from("Released v2"),
            &Value::from("milestone"),
            &Value::from("human")
        )
    );

    // A script logs through the session; the open pane, which sees the pipe, reads web again.
    let out = s
        .perth(&[
            "pipe",
            "--name",
            "zdrive::log",
            "--args",
            "pane=web,type=checkpoint",
            "--",
            "logged by a script",
        ])
        .unwrap();
    // Zellij 0.45.1 may drop a pipe's answer while other clients come and go; the entry
    // then shows below all the same.
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer == "logged checkpoint on web (2 entries)\n"
            || (out.status.success() && answer.is_empty()),
        "{out:?}"
    );
    shows(
        "the script's entry in the open pane",
        &["logged by a script", "history · 2 of 2"],
    );

    // r renames: the history follows, and the pane's title in the session too.
    s.term.send_keys(&["r", "C-u"]).unwrap();
    s.term.send_text("web-ui").unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    shows(
        "the rename done",
        &["✓ renamed web to web-ui, and its pane's title"],
    );
    let renamed = zdrive(&s, &["pane", "history", "web-ui"]);
    assert_eq!(renamed["total_entries"], 2, "{renamed}");
    tests::wait_for("the pane titled web-ui", Duration::from_secs(10), || {
        let panes = s.terminal_panes().ok()?;
        panes.iter().any(|p| p["title"] == "web-ui").then_some(())
    })
    .unwrap();

    // Tab shows the history as the context zdrive hands an LLM, its markdown rendered.
    s.term.send_keys(&["Tab"]).unwrap();
    let screen = shows("the context view", &["Workspace Context: web-ui"]);
    assert!(!screen.contains("# Workspace Context"), "{screen}");

    // The command line renames the same way, the pane's title in the session included.
    let back = zdrive(&s, &["pane", "rename", "web-ui", "web"]);
    assert_eq!(back["retitled"], true, "{back}");
    let titles: Vec<Value> = s
        .terminal_panes()
        .unwrap()
        .iter()
        .map(|p| p["title"].clone())
        .collect();
    assert!(titles.contains(&Value::from("web")), "{titles:?}");
}

/// The zdrive pane opened with `Alt e` in an 80x24 terminal (a floating pane of 38x8) learns
/// which pane is focused every time, and shows the newest entries: the header's lines are cut
/// to one each and the keys put on one line to make room for them.
#[test]
fn at_80x24_the_zdrive_pane_shows_the_newest_entries_each_time_it_opens() {
    let s = PerthSession::start_in(IsolatedEnv::new().unwrap(), "e2e-zdrive-small", 80, 24, &[])
        .unwrap();
    s.wait_for_status(
        "host-bridge answering perth-core",
        Duration::from_secs(30),
        |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
    )
    .unwrap();
    let created = zdrive(&s, &["pane", "web"]);
    assert_eq!(created["action"], "created", "{created}");
    let summaries = [
        ("first step taken", "checkpoint"),
        ("second step taken", "checkpoint"),
        ("newest milestone reached", "milestone"),
    ];
    for (summary, kind) in summaries {
        zdrive(&s, &["pane", "log", "web", summary, "--type", kind]);
    }
    for opening in 1..=3 {
        s.term.send_keys(&["M-e"]).unwrap();
        let screen = s
            .term
            .wait_for_screen(
                &format!("opening {opening}: the zdrive pane with web's entries"),
                Duration::from_secs(10),
                |screen| {
                    screen.contains("history · 3 of 3")
                        && summaries
                            .iter()
                            .all(|(summary, _)| screen.contains(summary))
                },
            )
            .unwrap();
        assert!(
            !screen.contains("waiting for a focused terminal pane"),
            "{screen}"
        );
        // Newest first.
        let newest = screen.find("newest milestone reached").unwrap();
        assert!(
            newest < screen.find("first step taken").unwrap(),
            "{screen}"
        );
        s.term.send_keys(&["q"]).unwrap();
        s.term
            .wait_for_screen(
                &format!("closing {opening}: the zdrive pane gone"),
                Duration::from_secs(10),
                |screen| !screen.contains("history · 3 of 3"),
            )
            .unwrap();
    }
}
