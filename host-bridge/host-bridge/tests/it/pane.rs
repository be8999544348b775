//! `zdrive_pane`, `zdrive_rename`, `zdrive_tag` and `zdrive_track`: the zdrive pane's requests,
//! carried out by the zdrive engine in host-bridge's own environment (the embedded store under
//! the test's HOME). No session runs, so nothing is retitled.

use bridge_protocol::{ErrorBody, ErrorKind, Request, Response};
use serde_json::Value;

use crate::support::{Bridge, TestEnv};

/// Starts a bridge in a fresh environment (the bridge first, so it stops first).
fn served() -> (Bridge, TestEnv) {
    let env = TestEnv::new();
    (env.serve(&[]), env)
}

/// Asserts that `result` is a `bad_request` whose message holds `text`.
fn assert_refused(result: Result<Response, ErrorBody>, text: &str) {
    match result {
        Err(e) => assert!(
            e.kind == ErrorKind::BadRequest && e.message.contains(text),
            "{text:?} expected: {e}"
        ),
        Ok(other) => panic!("refused with {text:?} expected, got {other:?}"),
    }
}

/// Sends `request` and returns its result.
fn call(bridge: &Bridge, request: Request) -> Result<Response, ErrorBody> {
    bridge.rpc(1, request).envelope().into_result()
}

fn track(bridge: &Bridge, name: &str, pane_id: &str) -> Result<Response, ErrorBody> {
    call(
        bridge,
        Request::ZdriveTrack {
            session: "work".into(),
            pane_id: pane_id.into(),
            name: name.into(),
            tab: Some("backend".into()),
        },
    )
}

fn log(bridge: &Bridge, pane: &str, summary: &str, entry_type: &str) {
    let request = Request::ZdriveLog {
        pane: pane.into(),
        summary: summary.into(),
        entry_type: Some(entry_type.into()),
        source: None,
        artifacts: vec![],
        key: None,
    };
    call(bridge, request).unwrap();
}

fn pane_request(
    pane: Option<&str>,
    pane_id: Option<&str>,
    last: Option<u32>,
    format: Option<&str>,
) -> Request {
    Request::ZdrivePane {
        pane: pane.map(str::to_owned),
        session: pane_id.map(|_| "work".to_owned()),
        pane_id: pane_id.map(str::to_owned),
        last,
        format: format.map(str::to_owned),
    }
}

/// Returns the pane's name, record, entries' summaries, total and context.
type Shown = (
    Option<String>,
    Option<Value>,
    Vec<String>,
    u64,
    Option<String>,
);

fn shown(bridge: &Bridge, request: Request) -> Shown {
    match call(bridge, request).unwrap() {
        Response::ZdrivePane {
            pane_name,
            record,
            entries,
            total_entries,
            context,
        } => (
            pane_name,
            record,
            entries
                .iter()
                .map(|e| e["summary"].as_str().unwrap_or_default().to_owned())
                .collect(),
            total_entries,
            context,
        ),
        other => panic!("zdrive_pane expected, got {other:?}"),
    }
}

#[test]
fn a_tracked_pane_is_shown_by_where_it_lives_with_its_history_or_context() {
    let (bridge, _env) = served();
    let Response::ZdriveTracked {
        pane_name,
        record,
        retitled,
    } = track(&bridge, "api-server", "terminal_4").unwrap()
    else {
        panic!("zdrive_tracked expected");
    };
    assert_eq!(pane_name, "api-server");
    assert_eq!(record["tab"], "backend");
    assert!(!retitled, "no session runs");
    log(
        &bridge,
        "api-server",
        "started on the login bug",
        "checkpoint",
    );
    log(&bridge, "api-server", "try a token cache", "exploration");
    log(&bridge, "api-server", "Released v2", "milestone");

    let (name, record, entries, total, context) =
        shown(&bridge, pane_request(None, Some("terminal_4"), None, None));
    assert_eq!(name.as_deref(), Some("api-server"));
    let record = record.unwrap();
    assert_eq!(
        (&record["session"], &record["pane_id"], &record["stale"]),
        (
            &Value::from("work"),
            &Value::from("terminal_4"),
            &Value::from(false)
        )
    );
    assert_eq!(
        entries,
        [
            "Released v2",
            "try a token cache",
            "started on the login bug"
        ]
    );
    assert_eq!((total, context), (3, None));

    let (_, _, entries, total, _) = shown(
        &bridge,
        pane_request(Some("api-server"), None, Some(1), None),
    );
    assert_eq!((entries.len(), total), (1, 3));

    let (_, record, entries, total, context) = shown(
        &bridge,
        pane_request(Some("api-server"), None, None, Some("context")),
    );
    let context = context.unwrap();
    let milestone = context.lines().find(|l| l.starts_with("★ ["));
    assert!(
        context.starts_with("# Workspace Context: api-server\n")
            && milestone.is_some_and(|l| l.ends_with("Released v2")),
        "{context}"
    );
    assert!(entries.is_empty() && record.is_some());
    assert_eq!(total, 3);

    let untracked = shown(&bridge, pane_request(None, Some("terminal_9"), None, None));
    assert_eq!(untracked, (None, None, vec![], 0, None));
    let by_name = shown(&bridge, pane_request(Some("nobody"), None, None, None));
    assert_eq!(by_name.0, None);

    let yaml = pane_request(Some("api-server"), None, None, Some("yaml"));
    assert_refused(call(&bridge, yaml), "entries or context");
    assert_refused(
        call(&bridge, pane_request(None, None, None, None)),
        "zdrive_pane needs a pane name",
    );
}

#[test]
fn renames_move_the_history_and_tags_mark_the_pane() {
    let (bridge, _env) = served();
    track(&bridge, "api", "terminal_1").unwrap();
    track(&bridge, "web", "terminal_2").unwrap();
    log(&bridge, "api", "fixed login", "milestone");

    let rename = |pane: &str, new_name: &str| {
        call(
            &bridge,
            Request::ZdriveRename {
                pane: pane.into(),
                new_name: new_name.into(),
            },
        )
    };
    assert_refused(
        rename("api", "web"),
        "a pane named \"web\" is tracked already",
    );
    assert_refused(rename("api", "two words"), "invalid new pane name");
    assert_refused(rename("nobody", "somebody"), "no pane named \"nobody\"");
    let Response::ZdriveRenamed {
        pane_name,
        previous_name,
        record,
        retitled,
    } = rename("api", "api-server").unwrap()
    else {
        panic!("zdrive_renamed expected");
    };
    assert_eq!(
        (pane_name.as_str(), previous_name.as_str()),
        ("api-server", "api")
    );
    assert_eq!(record["pane_id"], "terminal_1");
    assert!(!retitled);
    let (name, _, entries, _, _) =
        shown(&bridge, pane_request(None, Some("terminal_1"), None, None));
    assert_eq!(name.as_deref(), Some("api-server"));
    assert_eq!(entries, ["fixed login"]);
    assert_eq!(
        shown(&bridge, pane_request(Some("api"), None, None, None)).0,
        None
    );

    let tag = |set: &[(&str, &str)], remove: &[&str]| {
        call(
            &bridge,
            Request::ZdriveTag {
                pane: "api-server".into(),
                set: set
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                remove: remove.iter().map(|k| k.to_string()).collect(),
            },
        )
    };
    tag(&[("issue", "42"), ("owner", "me")], &[]).unwrap();
    let Response::ZdriveTagged { record, .. } = tag(&[("area", "auth")], &["owner"]).unwrap()
    else {
        panic!("zdrive_tagged expected");
    };
    assert_eq!(
        record["metadata"],
        serde_json::json!({"area": "auth", "issue": "42"})
    );
    assert_refused(tag(&[], &[]), "nothing to set or remove");
    assert_refused(tag(&[("a:b", "1")], &[]), "invalid metadata key");
    let nobody = Request::ZdriveTag {
        pane: "nobody".into(),
        set: [("x".to_owned(), "1".to_owned())].into(),
        remove: vec![],
    };
    assert_refused(call(&bridge, nobody), "no pane named \"nobody\"");
}

#[test]
fn tracking_refuses_a_second_name_and_a_name_in_use() {
    let (bridge, _env) = served();
    track(&bridge, "api", "terminal_1").unwrap();
    // Again under the same name: nothing to refuse.
    track(&bridge, "api", "terminal_1").unwrap();
    assert_refused(
        track(&bridge, "other", "terminal_1"),
        "is tracked as \"api\" already",
    );
    assert_refused(track(&bridge, "api", "terminal_2"), "tracked already");
    assert_refused(
        track(&bridge, "bad name", "terminal_3"),
        "invalid pane name",
    );
    for pane_id in ["plugin_3", "3"] {
        assert_refused(track(&bridge, "ok", pane_id), "terminal pane id");
    }
}
