//! End-to-end: perth's own plugins never wait at a permission question. Zellij 0.45.1 rewrites
//! its permission cache in place while other plugins read it, and a plugin that reads it in
//! that moment asks the user again for what perth granted it; perth's server answers for its
//! own plugins (`perth::server::grants`). Here the tab bar's grant is taken out of the cache, as
//! that race would make Zellij see it, before a tab bar is opened.

use std::time::Duration;

use tests::{wait_for_with_last, PerthSession};

#[test]
fn a_perth_plugin_asking_again_for_its_grant_is_answered_and_draws() {
    let s = PerthSession::start("e2e-grants").unwrap();
    let cache = s.env.cache_dir().join("zellij/permissions.kdl");
    let granted = std::fs::read_to_string(&cache).unwrap();
    assert!(granted.contains("tab-bar-"), "{granted}");
    // The cache without the tab bar's entry (an entry is a quoted path and a block).
    let mut kept = String::new();
    let mut skipping = false;
    for line in granted.lines() {
        if line.starts_with('"') {
            skipping = line.contains("/tab-bar-");
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
        if line.starts_with('}') {
            skipping = false;
        }
    }
    assert!(!kept.contains("tab-bar-"), "{kept}");
    std::fs::write(&cache, &kept).unwrap();

    // A new pane with perth's tab bar: a plain call, which writes no grant of its own.
    let out = s
        .perth(&["action", "new-pane", "--plugin", "tab-bar"])
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
