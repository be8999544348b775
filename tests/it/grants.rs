//! End-to-end: perth's own plugins never wait at a permission question. Zellij 0.45.1 rewrites
//! its permission cache in place while other plugins read it, and a plugin that reads it in
//! that moment asks the user again for what perth granted it; perth's server answers for its
//! own plugins (`perth::server::grants`). Here the tab bar's grant is taken out of the cache, as
//! that race would make Zellij see it, before a tab bar is opened.

use std::path::PathBuf;
use std::time::Duration;

use tests::{wait_for_with_last, PerthSession, TmuxTerminal};

/// Takes the entries of perth's plugins whose file names start with one of `plugins` out of
/// the session's permission cache (an entry is a quoted path and a block); returns its path.
fn forget_grants(s: &PerthSession, plugins: &[&str]) -> PathBuf {
    let cache = s.env.cache_dir().join("zellij/permissions.kdl");
    // Zellij rewrites the whole file on every grant result (each plugin instance's, and again
    // for each that asks again): one read before this edit and written after it would undo
    // the edit, or drop the grant the test then waits for. Edit once the session is done.
    wait_for_with_last(
        "the session's permission cache unchanged for a second",
        Duration::from_secs(30),
        || {
            let age = std::fs::metadata(&cache)
                .and_then(|m| m.modified())
                .map_err(|e| e.to_string())?
                .elapsed()
                .unwrap_or_default();
            if age >= Duration::from_secs(1) {
                Ok(())
            } else {
                Err(format!("rewritten {age:?} ago"))
            }
        },
    )
    .unwrap();
    let granted = std::fs::read_to_string(&cache).unwrap();
    let mut kept = String::new();
    let mut skipping = false;
    for line in granted.lines() {
        if line.starts_with('"') {
            assert!(!skipping, "{granted}");
            skipping = plugins.iter().any(|p| line.contains(&format!("/{p}")));
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
        if line.starts_with('}') {
            skipping = false;
        }
    }
    for plugin in plugins {
        assert!(granted.contains(plugin), "{granted}");
        assert!(!kept.contains(plugin), "{kept}");
    }
    std::fs::write(&cache, &kept).unwrap();
    cache
}

/// The tab bar's pane is made while its grant is cached, and the bar asks again when it is
/// reloaded without it. (Made without it, the pane meets another upstream race on a loaded
/// machine: Zellij drops a permission request that reaches the screen before the plugin's pane
/// does, "PluginId not found - caching request", and replays it only when a client attaches,
/// so no question is ever shown; an open defect, written down in the README.)
#[test]
fn a_perth_plugin_asking_again_for_its_grant_is_answered_and_draws() {
    let s = PerthSession::start("e2e-grants").unwrap();
    let out = s
        .perth(&["action", "new-pane", "--plugin", "tab-bar"])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    wait_for_with_last(
        "the new pane's tab bar drawn",
        Duration::from_secs(20),
        || {
            let screen = s.term.capture();
            let drawn = screen
                .lines()
                .skip(1)
                .filter(|line| line.contains("perth (e2e-grants)"))
                .count();
            if drawn >= 1 {
                Ok(())
            } else {
                Err(screen)
            }
        },
    )
    .unwrap();
    let cache = forget_grants(&s, &["tab-bar-"]);

    // Reloaded, the bars ask Zellij for their grant again and find none in the cache.
    let out = s
        .perth(&["action", "start-or-reload-plugin", "tab-bar"])
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    wait_for_with_last(
        "the tab bar's grant answered and cached again",
        Duration::from_secs(10),
        || {
            let screen = s.term.capture();
            let cached = std::fs::read_to_string(&cache).unwrap_or_default();
            if !screen.contains("(y/n)") && cached.contains("tab-bar-") {
                Ok(())
            } else {
                Err(format!(
                    "cached tab bar: {}\n{screen}",
                    cached.contains("tab-bar-")
                ))
            }
        },
    )
    .unwrap();
    // The bar draws in its pane: no question is left on screen.
    let screen = s.term.capture();
    assert!(!screen.contains("asks permission"), "{screen}");
}

/// A client that attaches while the session runs loads its own instance of every plugin, all
/// at once: the race that makes a plugin ask again is likeliest then, and Zellij draws the
/// question only into copies of a pane a client already had, so the new client's tab bar is
/// blank and perth-core, floated to ask, an empty pane. perth answers both, and the instance
/// that asked ends up with its grant (the bar draws, perth-core hides again).
#[test]
fn perths_plugins_asking_again_for_a_client_that_just_attached_are_answered() {
    let mut s = PerthSession::start("e2e-grants-attach").unwrap();
    // The first client leaves, and a connection keeps its id: the next client gets another id
    // and loads its instances with nobody else to see their questions.
    let placeholder = TmuxTerminal::start(&s.env, 120, 40, &["sleep", "600"]).unwrap();
    drop(std::mem::replace(&mut s.term, placeholder));
    s.wait_no_clients(Duration::from_secs(20)).unwrap();
    let _hold = std::os::unix::net::UnixStream::connect(s.socket()).unwrap();
    let cache = forget_grants(&s, &["tab-bar-", "perth-core-"]);
    let bin = tests::workspace_bin("perth").unwrap();
    let bin = bin.to_string_lossy().into_owned();
    let second = TmuxTerminal::start(&s.env, 120, 40, &[&bin, "attach", &s.name]).unwrap();
    wait_for_with_last(
        "the second client's tab bar drawn and perth-core hidden again",
        Duration::from_secs(20),
        || {
            let screen = second.capture();
            let first_row = screen.lines().next().unwrap_or_default().to_owned();
            let cached = std::fs::read_to_string(&cache).unwrap_or_default();
            if first_row.contains("workspace")
                && !first_row.contains("FLOAT")
                && !screen.contains("perth-core-")
                && cached.contains("tab-bar-")
                && cached.contains("perth-core-")
            {
                Ok(())
            } else {
                Err(format!(
                    "cached: tab bar {}, perth-core {}\n{screen}",
                    cached.contains("tab-bar-"),
                    cached.contains("perth-core-")
                ))
            }
        },
    )
    .unwrap();
}
