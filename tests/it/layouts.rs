//! `perth --session NAME --layout FILE`: a new session when NAME is not running (Zellij says
//! "Session 'NAME' not found" when another session runs), tabs added when it is.

use std::time::Duration;

use serde_json::Value;
use tests::{wait_for_with_last, PerthSession, TmuxTerminal};

const WAIT: Duration = Duration::from_secs(30);

/// A layout of two named tabs, each a shell.
const TWO_TABS: &str = "layout {\n    tab name=\"alpha\" {\n        pane\n    }\n    tab name=\"beta\" {\n        pane\n    }\n}\n";

/// Returns the names of session `name`'s tabs in order, as `perth action list-tabs --json`
/// answers, or what it printed instead.
fn tab_names(s: &PerthSession, name: &str) -> Result<Vec<String>, String> {
    let out = s
        .perth_plain(&["--session", name, "action", "list-tabs", "--json"])
        .map_err(|e| format!("{e:#}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tabs: Vec<Value> = serde_json::from_str(&text).map_err(|_| {
        format!(
            "exit {}: {text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let mut tabs: Vec<(i64, String)> = tabs
        .iter()
        .map(|t| {
            let name = t["name"].as_str().unwrap_or_default().to_string();
            (t["position"].as_i64().unwrap_or(-1), name)
        })
        .collect();
    tabs.sort();
    Ok(tabs.into_iter().map(|(_, n)| n).collect())
}

#[test]
fn a_layout_for_a_session_not_running_starts_it_while_another_runs() {
    let a = PerthSession::start("e2e-layout-a").unwrap();
    let layout = a.env.tmp_dir().join("two-tabs.kdl");
    std::fs::write(&layout, TWO_TABS).unwrap();
    let tabs_of_a = tab_names(&a, "e2e-layout-a").unwrap();
    assert_eq!(tabs_of_a, ["workspace"]);

    let bin = tests::workspace_bin("perth").unwrap();
    let argv = [
        bin.to_str().unwrap(),
        "--session",
        "e2e-layout-b",
        "--layout",
        layout.to_str().unwrap(),
    ];
    let b = TmuxTerminal::start(&a.env, 120, 40, &argv).unwrap();
    let tabs_of_b =
        wait_for_with_last(
            "session e2e-layout-b with the layout's tabs",
            WAIT,
            || match tab_names(&a, "e2e-layout-b") {
                Ok(tabs) if tabs == ["alpha", "beta"] => Ok(tabs),
                Ok(tabs) => Err(format!("tabs {tabs:?}\n{}", b.capture())),
                Err(e) => Err(format!("{e}\n{}\n{}", b.capture(), a.env.diagnostics())),
            },
        )
        .unwrap();
    assert_eq!(tabs_of_b, ["alpha", "beta"]);
    assert!(b.is_alive(), "the client of e2e-layout-b left");
    assert_eq!(tab_names(&a, "e2e-layout-a").unwrap(), tabs_of_a);

    // A running session keeps Zellij's rule: the layout is added to it as tabs.
    let out = a.perth(&["--layout", layout.to_str().unwrap()]).unwrap();
    assert!(out.status.success(), "{out:?}");
    wait_for_with_last(
        "the layout's tabs added to e2e-layout-a",
        WAIT,
        || match tab_names(&a, "e2e-layout-a") {
            Ok(tabs) if tabs == ["workspace", "alpha", "beta"] => Ok(()),
            Ok(tabs) => Err(format!("tabs {tabs:?}")),
            Err(e) => Err(e),
        },
    )
    .unwrap();
    assert_eq!(tab_names(&a, "e2e-layout-b").unwrap(), ["alpha", "beta"]);
}
