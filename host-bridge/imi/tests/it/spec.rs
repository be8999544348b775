//! The specification's JSON examples: `iMi --json list` and `iMi --json status`, whole, from
//! fixed data, and every documented field present with its documented type in a real run.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use imi::db::{ProjectRow, WorktreeRow};
use imi::{DbNote, ListReport, StatusReport, WorktreeStatus};
use serde_json::Value;

use crate::support::Sandbox;

/// The documented type of a field.
#[derive(Clone, Copy, Debug)]
enum Ty {
    Str,
    /// A string or null (an agent not yet known).
    OptStr,
    /// An RFC 3339 time.
    Time,
    Bool,
    Count,
}

fn check(what: &str, value: &Value, fields: &[(&str, Ty)]) {
    let Some(object) = value.as_object() else {
        panic!("{what} is not an object: {value}");
    };
    for &(name, ty) in fields {
        let Some(v) = object.get(name) else {
            panic!("{what} lacks `{name}`: {value}");
        };
        let ok = match ty {
            Ty::Str => v.is_string(),
            Ty::OptStr => v.is_string() || v.is_null(),
            Ty::Time => v
                .as_str()
                .is_some_and(|t| DateTime::parse_from_rfc3339(t).is_ok()),
            Ty::Bool => v.is_boolean(),
            Ty::Count => v.is_u64(),
        };
        assert!(ok, "{what}.{name} should be {ty:?}: {v}");
    }
}

/// Checks `iMi --json list`'s whole output against the specification.
fn assert_list_shape(printed: &Value) {
    check("the envelope", printed, &[("success", Ty::Bool)]);
    let worktrees = printed["data"]["worktrees"]
        .as_array()
        .unwrap_or_else(|| panic!("data.worktrees is no array: {printed}"));
    assert!(!worktrees.is_empty(), "{printed}");
    for w in worktrees {
        check(
            "data.worktrees[]",
            w,
            &[
                ("id", Ty::Str),
                ("name", Ty::Str),
                ("type", Ty::Str),
                ("branch", Ty::Str),
                ("path", Ty::Str),
                ("agent_id", Ty::OptStr),
                ("created_at", Ty::Time),
                ("has_uncommitted_changes", Ty::Bool),
                ("ahead_of_trunk", Ty::Count),
            ],
        );
    }
}

/// Checks `iMi --json status`'s whole output against the specification.
fn assert_status_shape(printed: &Value) {
    check("the envelope", printed, &[("success", Ty::Bool)]);
    let data = &printed["data"];
    check("data", data, &[("repository", Ty::Str)]);
    check(
        "data.trunk",
        &data["trunk"],
        &[
            ("path", Ty::Str),
            ("branch", Ty::Str),
            ("ahead", Ty::Count),
            ("behind", Ty::Count),
        ],
    );
    let worktrees = data["worktrees"]
        .as_array()
        .unwrap_or_else(|| panic!("data.worktrees is no array: {printed}"));
    assert!(!worktrees.is_empty(), "{printed}");
    for w in worktrees {
        check(
            "data.worktrees[]",
            w,
            &[
                ("name", Ty::Str),
                ("type", Ty::Str),
                ("dirty_files", Ty::Count),
                ("ahead", Ty::Count),
                ("behind", Ty::Count),
                ("last_commit", Ty::Str),
            ],
        );
    }
}

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).unwrap().to_utc()
}

fn fixed_list() -> ListReport {
    let project = ProjectRow {
        id: "0b6f7c1e-3f7a-4c51-9a61-2b1f0d4c8e01".into(),
        name: "api".into(),
        remote_origin: Some("git@github.com:acme/api.git".into()),
        default_branch: "main".into(),
        trunk_path: "/home/dev/code/api/trunk-main".into(),
        created_at: at("2026-01-28T09:00:00Z"),
    };
    let row = |id: &str, kind: &str, name: &str, agent: Option<&str>, dirty: i32, ahead: i32| {
        WorktreeRow {
            id: id.into(),
            project_id: project.id.clone(),
            type_name: kind.into(),
            name: name.into(),
            branch_name: format!("{kind}/{name}"),
            worktree_name: format!("{kind}-{name}"),
            path: format!("/home/dev/code/api/{kind}-{name}"),
            agent_id: agent.map(Into::into),
            has_uncommitted_changes: dirty > 0,
            uncommitted_files_count: dirty,
            ahead_of_trunk: ahead,
            behind_trunk: 0,
            created_at: at("2026-01-28T10:00:00Z"),
            merged_at: None,
            active: true,
            metadata: serde_json::json!({}),
        }
    };
    ListReport {
        worktrees: vec![
            row(
                "5d0c2f4e-8a41-4b7e-9f3a-6c2d1e0b9a77",
                "feat",
                "user-auth",
                Some("claude-1"),
                3,
                2,
            ),
            row(
                "9e4b1a2c-7d35-4f86-8b0e-1a2c3d4e5f60",
                "fix",
                "login-bug",
                None,
                0,
                1,
            ),
        ],
        project,
    }
}

fn fixed_status() -> StatusReport {
    let base = "/home/dev/code/api";
    StatusReport {
        repository: "api".into(),
        trunk: WorktreeStatus {
            name: "trunk-main".into(),
            kind: Some("trunk".into()),
            branch: Some("main".into()),
            path: PathBuf::from(format!("{base}/trunk-main")),
            ahead: 0,
            behind: 2,
            last_commit: Some("Merge pull request #41".into()),
            upstream: Some("origin/main".into()),
            behind_upstream: 2,
            last_commit_hash: Some("4f1c2a9e0d7b3c5a8e6f1d2c3b4a5e6f7a8b9c0d".into()),
            last_commit_age_seconds: Some(7200),
            ..WorktreeStatus::default()
        },
        worktrees: vec![WorktreeStatus {
            name: "feat-user-auth".into(),
            kind: Some("feat".into()),
            dirty_files: 3,
            ahead: 2,
            behind: 0,
            last_commit: Some("Add endpoint validation".into()),
            branch: Some("feat/user-auth".into()),
            path: PathBuf::from(format!("{base}/feat-user-auth")),
            last_commit_hash: Some("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678".into()),
            last_commit_age_seconds: Some(300),
            agent_id: Some("claude-1".into()),
            ..WorktreeStatus::default()
        }],
        db: DbNote {
            database_updated: true,
            database_error: None,
        },
        database_read_error: None,
    }
}

fn printed(data: &impl serde::Serialize) -> String {
    imi::cli::envelope_line(true, &serde_json::to_string(data).unwrap(), None)
}

#[test]
fn list_json_is_the_specifications_shape() {
    let line = printed(&fixed_list());
    assert_list_shape(&serde_json::from_str(&line).unwrap());
    insta::assert_snapshot!(line);
}

/// The agents perth's sessions report: one in the feature's worktree, one elsewhere.
fn fixed_agents() -> Vec<imi::WorktreeAgent> {
    let at = |dir: &str| Some(PathBuf::from(format!("/home/dev/code/api/{dir}")));
    vec![
        imi::WorktreeAgent {
            session: "main".into(),
            pane_id: 3,
            state: "waiting".into(),
            since_ms: 1_780_000_000_000,
            message: Some("Do you want to run npm test?".into()),
            program: Some("claude".into()),
            pane_name: Some("agent".into()),
            worktree: at("feat-user-auth"),
        },
        imi::WorktreeAgent {
            session: "main".into(),
            pane_id: 4,
            state: "idle".into(),
            worktree: at("somewhere-else"),
            ..Default::default()
        },
    ]
}

#[test]
fn status_json_is_the_specifications_shape() {
    let mut status = fixed_status();
    imi::cli::perth::place_agents(&mut status, fixed_agents());
    assert_eq!(status.worktrees[0].agents.len(), 1);
    assert!(status.trunk.agents.is_empty());
    let line = printed(&status);
    assert_status_shape(&serde_json::from_str(&line).unwrap());
    insta::assert_snapshot!(line);
}

/// The examples run as written against a fresh project.
#[test]
fn a_fresh_project_prints_the_documented_shapes() {
    let sb = Sandbox::new();
    let trunk = sb.project_from_origin();
    sb.imi(&["feat", "user-auth", "--agent", "claude-1", "--no-tab"])
        .data();
    let wt = sb.project().join("feat-user-auth");
    sb.commit(&wt, "validate.rs", "fn v() {}\n", "Add endpoint validation");

    let list = sb.imi(&["list"]);
    assert_list_shape(&list.json);
    assert_eq!(list.data()["worktrees"][0]["name"], "feat-user-auth");

    let status = sb.imi(&["status"]);
    assert_status_shape(&status.json);
    let data = status.data();
    assert_eq!(data["repository"], "origin");
    assert_eq!(data["trunk"]["path"], trunk.display().to_string());
    assert_eq!(data["trunk"]["branch"], "main");
    let feat = &data["worktrees"][0];
    assert_eq!(feat["name"], "feat-user-auth");
    assert_eq!(feat["type"], "feat");
    assert_eq!(feat["ahead"], 1);
    assert_eq!(feat["last_commit"], "Add endpoint validation");
}
