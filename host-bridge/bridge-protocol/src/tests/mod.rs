//! Unit tests: the exact JSON of every request and response, round trips, and request decoding errors.

use super::*;

mod link;

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("protocol types always serialize")
}

fn round_trip<T>(value: &T)
where
    T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
{
    let text = json(value);
    let back: T = serde_json::from_str(&text).expect("protocol types read back what they write");
    assert_eq!(&back, value, "round trip through {text}");
}

/// Checks that each request is written as its expected JSON, reads back, and decodes from an
/// envelope.
fn assert_wire_forms<'a>(cases: impl IntoIterator<Item = (Request, &'a str)>) {
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
        let envelope = format!(r#"{{"id":1,"body":{expected}}}"#);
        assert_eq!(
            RequestEnvelope::from_json(envelope.as_bytes()).map(|e| e.body),
            Ok(value)
        );
    }
}

fn request(id: RequestId, body: Request) -> RequestEnvelope {
    RequestEnvelope { id, body }
}

#[test]
fn request_shapes() {
    let cases = [
        (
            request(
                1,
                Request::Hello {
                    protocol_version: 1,
                    client: "perth-core 0.1.0".into(),
                },
            ),
            r#"{"id":1,"body":{"type":"hello","protocol_version":1,"client":"perth-core 0.1.0"}}"#,
        ),
        (
            request(2, Request::Ping),
            r#"{"id":2,"body":{"type":"ping"}}"#,
        ),
        (
            request(
                3,
                Request::Echo {
                    text: "hi".into(),
                    delay_ms: None,
                },
            ),
            r#"{"id":3,"body":{"type":"echo","text":"hi"}}"#,
        ),
        (
            request(
                4,
                Request::Echo {
                    text: "".into(),
                    delay_ms: Some(250),
                },
            ),
            r#"{"id":4,"body":{"type":"echo","text":"","delay_ms":250}}"#,
        ),
        (
            request(5, Request::Status),
            r#"{"id":5,"body":{"type":"status"}}"#,
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
        assert_eq!(RequestEnvelope::from_json(expected.as_bytes()), Ok(value));
    }
}

#[test]
fn response_shapes() {
    let status = BridgeStatus {
        pid: 42,
        url: "http://127.0.0.1:4000".into(),
        started_at: 1_700_000_000_000,
        uptime_ms: 1500,
        protocol_version: 1,
        server_version: "0.0.0".into(),
        in_flight: 1,
        requests_handled: 9,
        outboxes: Vec::new(),
    };
    let cases = [
        (
            ResponseEnvelope::ok(
                1,
                Response::HelloOk {
                    protocol_version: 1,
                    server_version: "0.0.0".into(),
                },
            ),
            r#"{"id":1,"result":{"type":"hello_ok","protocol_version":1,"server_version":"0.0.0"}}"#,
        ),
        (
            ResponseEnvelope::ok(
                2,
                Response::Pong {
                    server_time: 1_700_000_000_123,
                },
            ),
            r#"{"id":2,"result":{"type":"pong","server_time":1700000000123}}"#,
        ),
        (
            ResponseEnvelope::ok(3, Response::Echo { text: "hi".into() }),
            r#"{"id":3,"result":{"type":"echo","text":"hi"}}"#,
        ),
        (
            ResponseEnvelope::ok(5, Response::Status(status)),
            r#"{"id":5,"result":{"type":"status","pid":42,"url":"http://127.0.0.1:4000","started_at":1700000000000,"uptime_ms":1500,"protocol_version":1,"server_version":"0.0.0","in_flight":1,"requests_handled":9,"outboxes":[]}}"#,
        ),
        (
            ResponseEnvelope::error(
                Some(6),
                ErrorBody::new(ErrorKind::VersionMismatch, "client speaks 9")
                    .with_hint("upgrade host-bridge"),
            ),
            r#"{"id":6,"error":{"kind":"version_mismatch","message":"client speaks 9","hint":"upgrade host-bridge"}}"#,
        ),
        (
            ResponseEnvelope::error(None, ErrorBody::new(ErrorKind::Unauthorized, "no token")),
            r#"{"id":null,"error":{"kind":"unauthorized","message":"no token","hint":null}}"#,
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
    }
    // A daemon that does not list its outboxes (an older one) still reads.
    let older: ResponseEnvelope = serde_json::from_str(
        r#"{"id":5,"result":{"type":"status","pid":42,"url":"http://127.0.0.1:4000","started_at":1700000000000,"uptime_ms":1500,"protocol_version":1,"server_version":"0.0.0","in_flight":1,"requests_handled":9}}"#,
    )
    .unwrap();
    assert!(matches!(older.into_result(), Ok(Response::Status(s)) if s.outboxes.is_empty()));
}

#[test]
fn every_error_kind_has_its_wire_name_and_status() {
    let kinds = [
        (ErrorKind::BadRequest, 400),
        (ErrorKind::Unauthorized, 401),
        (ErrorKind::TooLarge, 413),
        (ErrorKind::Timeout, 504),
        (ErrorKind::UnknownRequest, 400),
        (ErrorKind::VersionMismatch, 400),
        (ErrorKind::Unavailable, 503),
        (ErrorKind::Internal, 500),
    ];
    for (kind, status) in kinds {
        assert_eq!(json(&kind), format!("\"{}\"", kind.as_str()));
        round_trip(&kind);
        assert_eq!(kind.http_status(), status, "{kind:?}");
    }
}

#[test]
fn an_error_kind_from_a_newer_server_reads_as_other() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"kind":"quota_exceeded","message":"slow down"}"#).unwrap();
    assert_eq!(body, ErrorBody::new(ErrorKind::Other, "slow down"));
}

#[test]
fn request_types_lists_every_variant() {
    let all = [
        Request::Hello {
            protocol_version: 1,
            client: String::new(),
        },
        Request::Ping,
        Request::Echo {
            text: String::new(),
            delay_ms: None,
        },
        Request::Status,
        Request::PushEvent {
            topic: "t".into(),
            data: serde_json::json!({"a": 1}),
        },
        Request::ZdriveLog {
            pane: "api".into(),
            summary: "s".into(),
            entry_type: None,
            source: None,
            artifacts: vec![],
            key: None,
        },
        Request::ZdriveSnapshots {
            pane: Some("api".into()),
            session: None,
            pane_id: None,
            last: None,
        },
        Request::ZdriveSnapshot {
            pane: "api".into(),
            force: false,
            key: None,
        },
        Request::ZdriveConsent { grant: true },
        Request::ImiStatus {
            project: None,
            key: None,
            agents: true,
        },
        imi_add(),
        Request::ImiRemove {
            cwd: "/p".into(),
            name: "x".into(),
            force: false,
            delete_branch: false,
            dry_run: true,
            session: None,
            key: None,
        },
        Request::ImiOpen {
            cwd: "/p".into(),
            name: "x".into(),
            session: None,
            key: None,
        },
        Request::ImiReview {
            cwd: "/p".into(),
            pr: 7,
            session: None,
            key: None,
        },
        zdrive_pane_by_name("api"),
        Request::ZdriveRename {
            pane: "api".into(),
            new_name: "web".into(),
        },
        Request::ZdriveTag {
            pane: "api".into(),
            set: BTreeMap::new(),
            remove: vec![],
        },
        Request::ZdriveTrack {
            session: "s".into(),
            pane_id: "terminal_1".into(),
            name: "api".into(),
            tab: None,
        },
    ];
    let names: Vec<&str> = all.iter().map(Request::type_name).collect();
    assert_eq!(names, Request::TYPES);
    for request in &all {
        let value = serde_json::to_value(request).unwrap();
        assert_eq!(value["type"], request.type_name());
    }
}

#[test]
fn garbage_is_a_bad_request_with_line_and_column() {
    let err = RequestEnvelope::from_json(b"{\"id\": 1,\n  \"body\": nope}").unwrap_err();
    assert_eq!(err.id, None);
    assert_eq!(err.error.kind, ErrorKind::BadRequest);
    assert_eq!(
        err.error.message,
        "invalid request: expected ident at line 2 column 12"
    );
}

#[test]
fn a_missing_field_is_a_bad_request_that_keeps_the_id() {
    let err = RequestEnvelope::from_json(br#"{"id":9,"body":{"type":"echo"}}"#).unwrap_err();
    assert_eq!(err.id, Some(9));
    assert_eq!(err.error.kind, ErrorKind::BadRequest);
    assert_eq!(
        err.error.message,
        "invalid request: missing field `text` at line 1 column 31"
    );
}

#[test]
fn an_unknown_type_is_an_unknown_request() {
    let err = RequestEnvelope::from_json(br#"{"id":3,"body":{"type":"frobnicate"}}"#).unwrap_err();
    assert_eq!(err.id, Some(3));
    assert_eq!(err.error.kind, ErrorKind::UnknownRequest);
    // serde names every known type, in declaration order (which `TYPES` keeps).
    let known: Vec<String> = Request::TYPES.iter().map(|t| format!("`{t}`")).collect();
    assert_eq!(
        err.error.message,
        format!(
            "unknown request type `frobnicate`: unknown variant `frobnicate`, expected one of {} at line 1 column 35",
            known.join(", ")
        )
    );
    assert!(err.error.hint.is_some());
}

#[test]
fn runtime_info_shape() {
    let info = RuntimeInfo {
        pid: 7,
        port: 4000,
        url: "http://127.0.0.1:4000".into(),
        token: "ab".repeat(32),
        started_at: 1,
        protocol_version: 1,
    };
    let expected = format!(
        r#"{{"pid":7,"port":4000,"url":"http://127.0.0.1:4000","token":"{}","started_at":1,"protocol_version":1}}"#,
        "ab".repeat(32)
    );
    assert_eq!(json(&info), expected);
    round_trip(&info);
}

#[test]
fn error_body_displays_kind_message_and_hint() {
    let body = ErrorBody::new(ErrorKind::Timeout, "took 30 s")
        .with_hint("start host-bridge with a larger --request-timeout-ms");
    assert_eq!(
        body.to_string(),
        "timeout: took 30 s (start host-bridge with a larger --request-timeout-ms)"
    );
}

#[test]
fn a_zdrive_log_needs_only_pane_and_summary() {
    let env = RequestEnvelope::from_json(
        br#"{"id":3,"body":{"type":"zdrive_log","pane":"api","summary":"done"}}"#,
    )
    .unwrap();
    assert_eq!(
        env.body,
        Request::ZdriveLog {
            pane: "api".into(),
            summary: "done".into(),
            entry_type: None,
            source: None,
            artifacts: vec![],
            key: None,
        }
    );
    let back = serde_json::to_string(&env.body).unwrap();
    assert_eq!(
        back,
        r#"{"type":"zdrive_log","pane":"api","summary":"done"}"#
    );
}

#[test]
fn zdrive_snapshot_requests_leave_out_what_is_not_given() {
    let cases = [
        (
            Request::ZdriveSnapshots {
                pane: None,
                session: Some("work".into()),
                pane_id: Some("terminal_3".into()),
                last: Some(20),
            },
            r#"{"type":"zdrive_snapshots","session":"work","pane_id":"terminal_3","last":20}"#,
        ),
        (
            Request::ZdriveSnapshots {
                pane: Some("api".into()),
                session: None,
                pane_id: None,
                last: None,
            },
            r#"{"type":"zdrive_snapshots","pane":"api"}"#,
        ),
        (
            Request::ZdriveSnapshot {
                pane: "api".into(),
                force: false,
                key: None,
            },
            r#"{"type":"zdrive_snapshot","pane":"api"}"#,
        ),
        (
            Request::ZdriveSnapshot {
                pane: "api".into(),
                force: true,
                key: Some("pipe-7".into()),
            },
            r#"{"type":"zdrive_snapshot","pane":"api","force":true,"key":"pipe-7"}"#,
        ),
        (
            Request::ZdriveConsent { grant: false },
            r#"{"type":"zdrive_consent","grant":false}"#,
        ),
    ];
    assert_wire_forms(cases);
}

#[test]
fn zdrive_snapshot_responses() {
    let record = serde_json::json!({
        "timestamp": "2026-11-24T10:00:00.000000Z",
        "provider": "ollama",
        "model": "llama3.2",
        "summary": "## What was done\n- fixed login",
    });
    let cases = [
        (
            Response::ZdriveSnapshots {
                pane_name: None,
                consent: false,
                provider: "anthropic".into(),
                model: "claude-sonnet-4-5".into(),
                local: false,
                snapshots: vec![],
            },
            r#"{"type":"zdrive_snapshots","consent":false,"provider":"anthropic","model":"claude-sonnet-4-5","local":false,"snapshots":[]}"#.to_owned(),
        ),
        (
            Response::ZdriveSnapshots {
                pane_name: Some("api".into()),
                consent: true,
                provider: "ollama".into(),
                model: "llama3.2".into(),
                local: true,
                snapshots: vec![record.clone()],
            },
            format!(
                r#"{{"type":"zdrive_snapshots","pane_name":"api","consent":true,"provider":"ollama","model":"llama3.2","local":true,"snapshots":[{record}]}}"#
            ),
        ),
        (
            Response::ZdriveSnapshotted {
                pane_name: "api".into(),
                snapshot: record.clone(),
                reused: true,
                first: false,
            },
            format!(
                r#"{{"type":"zdrive_snapshotted","pane_name":"api","snapshot":{record},"reused":true,"first":false}}"#
            ),
        ),
        (
            Response::ZdriveConsent { consent: true },
            r#"{"type":"zdrive_consent","consent":true}"#.to_owned(),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
    }
}

fn imi_add() -> Request {
    Request::ImiAdd {
        cwd: "/work/widgets/trunk-main".into(),
        kind: "feat".into(),
        name: "login".into(),
        from: None,
        agent: None,
        session: Some("work".into()),
        key: None,
    }
}

#[test]
fn imi_requests_leave_out_what_is_not_given() {
    let cases = [
        (
            Request::ImiStatus {
                project: Some("/work/widgets".into()),
                key: None,
                agents: true,
            },
            r#"{"type":"imi_status","project":"/work/widgets"}"#,
        ),
        (
            Request::ImiStatus {
                project: Some("/work/widgets".into()),
                key: None,
                agents: false,
            },
            r#"{"type":"imi_status","project":"/work/widgets","agents":false}"#,
        ),
        (
            imi_add(),
            r#"{"type":"imi_add","cwd":"/work/widgets/trunk-main","kind":"feat","name":"login","session":"work"}"#,
        ),
        (
            Request::ImiRemove {
                cwd: "/w".into(),
                name: "feat-login".into(),
                force: true,
                delete_branch: false,
                dry_run: false,
                session: None,
                key: Some("pipe-3".into()),
            },
            r#"{"type":"imi_remove","cwd":"/w","name":"feat-login","force":true,"key":"pipe-3"}"#,
        ),
        (
            Request::ImiRemove {
                cwd: "/w".into(),
                name: "x".into(),
                force: false,
                delete_branch: true,
                dry_run: true,
                session: Some("s".into()),
                key: None,
            },
            r#"{"type":"imi_remove","cwd":"/w","name":"x","delete_branch":true,"dry_run":true,"session":"s"}"#,
        ),
        (
            Request::ImiOpen {
                cwd: "/w".into(),
                name: "trunk-main".into(),
                session: Some("s".into()),
                key: None,
            },
            r#"{"type":"imi_open","cwd":"/w","name":"trunk-main","session":"s"}"#,
        ),
        (
            Request::ImiReview {
                cwd: "/w".into(),
                pr: 123,
                session: None,
                key: None,
            },
            r#"{"type":"imi_review","cwd":"/w","pr":123}"#,
        ),
    ];
    assert_wire_forms(cases);
    // A request without what it needs is a bad request naming the field.
    let error = RequestEnvelope::from_json(br#"{"id":4,"body":{"type":"imi_add","cwd":"/w"}}"#)
        .unwrap_err();
    assert_eq!(error.id, Some(4));
    assert_eq!(error.error.kind, ErrorKind::BadRequest);
    assert!(
        error.error.message.contains("missing field `kind`"),
        "{error:?}"
    );
}

#[test]
fn imi_responses() {
    let tab = serde_json::json!({"name": "feat-login", "done": true});
    let cases = [
        (
            Response::ImiStatus {
                status: serde_json::json!({"project": "widgets"}),
                first: true,
            },
            r#"{"type":"imi_status","status":{"project":"widgets"},"first":true}"#.to_owned(),
        ),
        (
            Response::ImiAdded {
                report: serde_json::json!({"tab": tab}),
                first: false,
            },
            format!(r#"{{"type":"imi_added","report":{{"tab":{tab}}},"first":false}}"#),
        ),
        (
            Response::ImiRemoveChecked {
                preview: serde_json::json!({"uncommitted_files": 3}),
            },
            r#"{"type":"imi_remove_checked","preview":{"uncommitted_files":3}}"#.to_owned(),
        ),
        (
            Response::ImiRemoved {
                report: serde_json::json!({"worktree_name": "feat-login"}),
                first: true,
            },
            r#"{"type":"imi_removed","report":{"worktree_name":"feat-login"},"first":true}"#
                .to_owned(),
        ),
        (
            Response::ImiOpened {
                name: "feat-login".into(),
                path: "/w/feat-login".into(),
                tab: tab.clone(),
                first: true,
            },
            format!(
                r#"{{"type":"imi_opened","name":"feat-login","path":"/w/feat-login","tab":{tab},"first":true}}"#
            ),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
    }
}

fn zdrive_pane_by_name(pane: &str) -> Request {
    Request::ZdrivePane {
        format: None,
        last: None,
        session: None,
        pane_id: None,
        pane: Some(pane.into()),
    }
}

#[test]
fn zdrive_pane_requests_leave_out_what_is_not_given() {
    let cases = [
        (
            zdrive_pane_by_name("api"),
            r#"{"type":"zdrive_pane","pane":"api"}"#,
        ),
        (
            Request::ZdrivePane {
                pane: None,
                session: Some("work".into()),
                pane_id: Some("terminal_3".into()),
                last: Some(100),
                format: Some("context".into()),
            },
            r#"{"type":"zdrive_pane","format":"context","last":100,"session":"work","pane_id":"terminal_3"}"#,
        ),
        (
            Request::ZdriveRename {
                pane: "api".into(),
                new_name: "api-server".into(),
            },
            r#"{"type":"zdrive_rename","pane":"api","new_name":"api-server"}"#,
        ),
        (
            Request::ZdriveTag {
                pane: "api".into(),
                set: [("issue".to_owned(), "42".to_owned())].into(),
                remove: vec!["owner".into()],
            },
            r#"{"type":"zdrive_tag","pane":"api","set":{"issue":"42"},"remove":["owner"]}"#,
        ),
        (
            Request::ZdriveTag {
                pane: "api".into(),
                set: BTreeMap::new(),
                remove: vec![],
            },
            r#"{"type":"zdrive_tag","pane":"api"}"#,
        ),
        (
            Request::ZdriveTrack {
                session: "work".into(),
                pane_id: "terminal_3".into(),
                name: "api".into(),
                tab: Some("backend".into()),
            },
            r#"{"type":"zdrive_track","session":"work","pane_id":"terminal_3","name":"api","tab":"backend"}"#,
        ),
    ];
    for (request, wire) in cases {
        let read: Request = serde_json::from_str(wire).unwrap();
        assert_eq!((json(&request).as_str(), &read), (wire, &request));
        let body = format!(r#"{{"id":2,"body":{wire}}}"#);
        let decoded = RequestEnvelope::from_json(body.as_bytes()).map(|e| e.body);
        assert_eq!(decoded, Ok(request));
    }
}

#[test]
fn zdrive_pane_responses() {
    let record = serde_json::json!({"name": "api", "session": "work", "stale": false});
    let entry = serde_json::json!({"entry_type": "milestone", "summary": "Released v2"});
    // What a pane zdrive does not track gets.
    let untracked = Response::ZdrivePane {
        pane_name: None,
        record: None,
        entries: vec![],
        total_entries: 0,
        context: None,
    };
    let cases = [
        (
            untracked.clone(),
            r#"{"type":"zdrive_pane","entries":[],"total_entries":0}"#.to_owned(),
        ),
        (
            Response::ZdrivePane {
                pane_name: Some("api".into()),
                record: Some(record.clone()),
                entries: vec![entry.clone()],
                total_entries: 7,
                context: None,
            },
            format!(
                r#"{{"type":"zdrive_pane","pane_name":"api","record":{record},"entries":[{entry}],"total_entries":7}}"#
            ),
        ),
        (
            Response::ZdrivePane {
                pane_name: Some("api".into()),
                record: Some(record.clone()),
                entries: vec![],
                total_entries: 7,
                context: Some("# Workspace Context: api\n".into()),
            },
            format!(
                r##"{{"type":"zdrive_pane","pane_name":"api","record":{record},"entries":[],"total_entries":7,"context":"# Workspace Context: api\n"}}"##
            ),
        ),
        (
            Response::ZdriveRenamed {
                pane_name: "web".into(),
                previous_name: "api".into(),
                record: record.clone(),
                retitled: true,
            },
            format!(
                r#"{{"type":"zdrive_renamed","pane_name":"web","previous_name":"api","record":{record},"retitled":true}}"#
            ),
        ),
        (
            Response::ZdriveTagged {
                pane_name: "api".into(),
                record: record.clone(),
            },
            format!(r#"{{"type":"zdrive_tagged","pane_name":"api","record":{record}}}"#),
        ),
        (
            Response::ZdriveTracked {
                pane_name: "api".into(),
                record: record.clone(),
                retitled: false,
            },
            format!(
                r#"{{"type":"zdrive_tracked","pane_name":"api","record":{record},"retitled":false}}"#
            ),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(json(&value), expected);
        round_trip(&value);
    }
    // A reply from an older server without the optional fields still reads.
    let bare: Response = serde_json::from_str(r#"{"type":"zdrive_pane"}"#).unwrap();
    assert_eq!(bare, untracked);
}

#[test]
fn a_late_grant_asks_again_until_a_prompt_one_and_at_most_five_times() {
    use std::time::{Duration, Instant};
    let asked = Instant::now();
    let mut prompt = PermissionAsk::new(asked);
    assert_eq!(
        prompt.granted(asked + Duration::from_millis(5)),
        Grant::InTime
    );
    // Another instance's late grant reaching this one, long after its own: it asks again.
    assert_eq!(
        prompt.granted(asked + Duration::from_secs(9)),
        Grant::AskAgain
    );
    let mut late = PermissionAsk::new(asked);
    let first = asked + ASK_AGAIN_AFTER + Duration::from_millis(1);
    assert_eq!(late.granted(first), Grant::AskAgain);
    // Asking again met the race as well: asked again; then a prompt grant ends it, and the
    // updates dropped before are asked for.
    let second = first + ASK_AGAIN_AFTER * 2;
    assert_eq!(late.granted(second), Grant::AskAgain);
    let third = second + Duration::from_millis(3);
    assert_eq!(late.granted(third), Grant::AfterAskingAgain);
    // Never more than five times; past that every grant asks for the updates.
    let mut slow = PermissionAsk::new(asked);
    let mut at = asked;
    let mut asked_again = 0;
    let mut refreshes = 0;
    for _ in 0..20 {
        at += ASK_AGAIN_AFTER * 2;
        match slow.granted(at) {
            Grant::AskAgain => asked_again += 1,
            Grant::AfterAskingAgain => refreshes += 1,
            Grant::InTime => panic!("a late grant is never in time"),
        }
    }
    assert_eq!(asked_again, usize::from(PermissionAsk::AGAIN_AT_MOST));
    assert_eq!(refreshes, 20 - asked_again);
}

#[test]
fn tabs_without_a_mode_ask_for_it_at_most_once_a_second_until_it_comes() {
    use std::time::Duration;
    let start = std::time::Instant::now();
    let ms = |n| start + Duration::from_millis(n);
    // The usual order: the mode first, then the tabs; nothing to ask.
    let mut usual = ModeSeen::default();
    usual.mode();
    assert!(!usual.tabs(ms(0)));
    // The mode update was dropped: the first tab update asks, the next ones within a second do
    // not, one a second later asks again, and none once the mode came.
    let mut lost = ModeSeen::default();
    assert!(lost.tabs(ms(0)));
    assert!(!lost.tabs(ms(10)));
    assert!(!lost.tabs(ms(999)));
    assert!(lost.tabs(ms(1000)));
    lost.mode();
    assert!(!lost.tabs(ms(5000)));
}

#[test]
fn a_grant_with_no_mode_after_it_asks_for_the_mode_once_its_wait_is_over() {
    use std::time::Duration;
    let start = std::time::Instant::now();
    let ms = |n| start + Duration::from_millis(n);
    let mut lost = ModeSeen::default();
    assert_eq!(lost.granted(ms(0)), Some(MODE_WAIT_AFTER_GRANT));
    assert!(!lost.due(ms(500)));
    assert!(lost.due(ms(1000)));
    assert!(!lost.due(ms(1500)));
    lost.mode();
    assert!(!lost.due(ms(3000)));
    // The usual order: the mode comes with the grant's first updates; nothing to wait for.
    let mut usual = ModeSeen::default();
    assert_eq!(usual.granted(ms(0)), Some(MODE_WAIT_AFTER_GRANT));
    usual.mode();
    assert!(!usual.due(ms(1000)));
    let mut early = ModeSeen::default();
    early.mode();
    assert_eq!(early.granted(ms(0)), None);
    // Never granted: never asks from a timer (the tab updates' path still may).
    assert!(!ModeSeen::default().due(ms(5000)));
}

/// An ask nobody answered (perth-core of the client still loading) sets off no update: the
/// instance asks again on a timer, a second apart, until the mode comes, and gives up after
/// [`MODE_ASKS_AT_MOST`] asks. One timer at a time; none once the mode came.
#[test]
fn an_unanswered_ask_is_followed_up_on_a_timer_until_the_mode_comes() {
    use std::time::Duration;
    let start = std::time::Instant::now();
    let ms = |n| start + Duration::from_millis(n);
    let mut never_asked = ModeSeen::default();
    assert_eq!(never_asked.follow_up(), None);

    let mut lost = ModeSeen::default();
    assert!(lost.tabs(ms(0)));
    assert_eq!(lost.follow_up(), Some(MODE_ASK_EVERY));
    assert_eq!(lost.follow_up(), None, "one timer at a time");
    // A timer a little early asks nothing but sets the next one.
    assert!(!lost.due(ms(990)));
    assert_eq!(lost.follow_up(), Some(MODE_ASK_EVERY));
    assert!(lost.due(ms(2000)));
    assert_eq!(lost.follow_up(), Some(MODE_ASK_EVERY));
    lost.mode();
    assert!(!lost.due(ms(3000)));
    assert_eq!(lost.follow_up(), None);

    let mut unanswered = ModeSeen::default();
    let mut asks = 0;
    let mut at = 0;
    if unanswered.tabs(ms(at)) {
        asks += 1;
    }
    while let Some(wait) = unanswered.follow_up() {
        at += wait.as_millis() as u64;
        if unanswered.due(ms(at)) {
            asks += 1;
        }
        assert!(asks <= usize::from(MODE_ASKS_AT_MOST));
    }
    assert_eq!(asks, usize::from(MODE_ASKS_AT_MOST));
}
