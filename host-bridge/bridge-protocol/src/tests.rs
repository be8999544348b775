//! Unit tests: the exact JSON of every request and response, round trips, and request decoding errors.

use super::*;

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
            r#"{"id":5,"result":{"type":"status","pid":42,"url":"http://127.0.0.1:4000","started_at":1700000000000,"uptime_ms":1500,"protocol_version":1,"server_version":"0.0.0","in_flight":1,"requests_handled":9}}"#,
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
    assert_eq!(
        err.error.message,
        "unknown request type `frobnicate`: unknown variant `frobnicate`, expected one of `hello`, `ping`, `echo`, `status`, `push_event`, `zdrive_log` at line 1 column 35"
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
    let body = ErrorBody::new(ErrorKind::Timeout, "took 30 s").with_hint("retry");
    assert_eq!(body.to_string(), "timeout: took 30 s (retry)");
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
