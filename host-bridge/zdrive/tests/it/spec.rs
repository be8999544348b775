//! The specification's examples as written: summaries that start with `-`, `-` reading the
//! summary from standard input, and the history's JSON and context shapes.

use std::io::Write as _;
use std::process::Stdio;

use crate::support::Env;

#[test]
fn summaries_that_start_with_a_hyphen_are_text() {
    let env = Env::new();
    for summary in [
        "- fixed the login bug",
        "-----BEGIN NOTES-----",
        "--type is not a flag here",
    ] {
        let (code, v) = env.json(&["pane", "log", "api-server", summary]);
        assert_eq!(code, 0, "{summary:?}: {v}");
        assert_eq!(v["data"]["entry"]["summary"], summary, "{v}");
    }
    // Flags before the summary still read as flags.
    let (code, v) = env.json(&[
        "pane",
        "log",
        "api-server",
        "--type",
        "milestone",
        "- released v2",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["data"]["entry"]["entry_type"], "milestone", "{v}");
    assert_eq!(v["data"]["entry"]["summary"], "- released v2", "{v}");
}

#[test]
fn a_lone_hyphen_reads_the_summary_from_standard_input() {
    let env = Env::new();
    let mut child = env
        .command()
        .args([
            "--json",
            "pane",
            "log",
            "api-server",
            "-",
            "--type",
            "checkpoint",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"- wired the refresh token\n- tests pass\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(
        v["data"]["entry"]["summary"], "- wired the refresh token\n- tests pass",
        "{v}"
    );
}

#[test]
fn the_history_prints_the_documented_shapes() {
    let env = Env::new();
    env.json(&[
        "pane",
        "log",
        "api-server",
        "Added rate limiting middleware",
        "--source",
        "agent",
        "--artifacts",
        "src/middleware/rate_limit.rs",
    ]);
    env.json(&[
        "pane",
        "log",
        "api-server",
        "Released API v2.0",
        "--type",
        "milestone",
        "--artifacts",
        "CHANGELOG.md",
    ]);
    let (code, v) = env.json(&["pane", "history", "api-server", "--format", "json"]);
    assert_eq!(code, 0, "{v}");
    let data = &v["data"];
    assert!(
        data["pane_name"].is_string() && data["session"].is_string() && data["tab"].is_string(),
        "{v}"
    );
    assert_eq!(data["total_entries"], 2);
    for entry in data["entries"].as_array().unwrap() {
        assert!(entry["timestamp"].is_string(), "{entry}");
        assert!(entry["entry_type"].is_string(), "{entry}");
        assert!(entry["source"].is_string(), "{entry}");
        assert!(entry["summary"].is_string(), "{entry}");
        assert!(entry["artifacts"].is_array(), "{entry}");
    }
    let out = env.run(&["pane", "history", "api-server", "--format", "context"]);
    let context = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = context.lines().collect();
    assert_eq!(lines[0], "# Workspace Context: api-server", "{context}");
    assert!(lines[2].starts_with("Session: "), "{context}");
    assert_eq!(lines[3], "Total Entries: 2", "{context}");
    assert!(
        lines[4].starts_with("Time Range: ") && lines[4].ends_with("(0m)"),
        "{context}"
    );
    assert_eq!(lines[6], "## Recent Activity (Last 2 Entries)", "{context}");
    assert!(
        lines[8].starts_with("★ [") && lines[8].ends_with("] Released API v2.0"),
        "{context}"
    );
    assert_eq!(lines[9], "  Artifacts: CHANGELOG.md", "{context}");
    assert!(
        lines[11].starts_with("● [")
            && lines[11].ends_with("] [AGENT] Added rate limiting middleware"),
        "{context}"
    );
    assert_eq!(
        lines[12], "  Artifacts: src/middleware/rate_limit.rs",
        "{context}"
    );
    assert!(
        context.contains("\n## Current State\n")
            && context.contains("\n## Suggested Next Steps\n\n- "),
        "{context}"
    );
}
