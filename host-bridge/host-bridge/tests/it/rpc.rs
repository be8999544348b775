//! The protocol end to end: handshake, requests, malformed and unknown requests, concurrency.

use crate::support::{stdout, TestEnv};
use bridge_protocol::{ErrorKind, Request, Response, ResponseEnvelope, PROTOCOL_VERSION};

#[test]
fn handshake_succeeds_with_the_current_version() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let reply = bridge.rpc(
        7,
        Request::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "it".into(),
        },
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.envelope(),
        ResponseEnvelope::ok(
            7,
            Response::HelloOk {
                protocol_version: PROTOCOL_VERSION,
                server_version: store::PRODUCT_VERSION.into()
            }
        )
    );
}

#[test]
fn handshake_with_another_version_is_a_version_mismatch() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let reply = bridge.rpc(
        8,
        Request::Hello {
            protocol_version: PROTOCOL_VERSION + 1,
            client: "future".into(),
        },
    );
    assert_eq!(reply.status, 400);
    let envelope = reply.envelope();
    assert_eq!(envelope.id, Some(8));
    let error = envelope.into_result().unwrap_err();
    assert_eq!(error.kind, ErrorKind::VersionMismatch);
    assert!(
        error
            .message
            .contains(&format!("speaks protocol {}", PROTOCOL_VERSION + 1)),
        "{error}"
    );
    assert_eq!(
        error.hint.as_deref(),
        Some("upgrade host-bridge so that both speak the same protocol")
    );
}

#[test]
fn ping_echo_and_status_answer() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let before = bridge_protocol_time();
    let Ok(Response::Pong { server_time }) = bridge.rpc(1, Request::Ping).envelope().into_result()
    else {
        panic!("pong expected")
    };
    assert!(server_time >= before);
    let reply = bridge.rpc(
        2,
        Request::Echo {
            text: "héllo\n\"world\"".into(),
            delay_ms: None,
        },
    );
    assert_eq!(
        reply.envelope(),
        ResponseEnvelope::ok(
            2,
            Response::Echo {
                text: "héllo\n\"world\"".into()
            }
        )
    );
    let status = bridge.status();
    assert_eq!(status.pid, bridge.info.pid);
    assert_eq!(status.url, bridge.info.url);
    assert_eq!(status.in_flight, 1);
    assert_eq!(status.requests_handled, 3);
}

fn bridge_protocol_time() -> u64 {
    host_bridge::unix_millis()
}

#[test]
fn garbage_json_is_a_400_with_serdes_position() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let reply = bridge.rpc_raw("{\"id\": 4,\n \"body\": {\"type\": \"ping\"");
    assert_eq!(reply.status, 400);
    let envelope = reply.envelope();
    assert_eq!(envelope.id, None);
    let error = envelope.into_result().unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadRequest);
    assert_eq!(
        error.message,
        "invalid request: EOF while parsing an object at line 2 column 24"
    );

    let reply = bridge.rpc_raw(r#"{"id":5,"body":{"type":"echo","text":17}}"#);
    assert_eq!(reply.status, 400);
    let envelope = reply.envelope();
    assert_eq!(envelope.id, Some(5));
    assert_eq!(
        envelope.into_result().unwrap_err().message,
        "invalid request: invalid type: integer `17`, expected a string at line 1 column 41"
    );
    assert_eq!(bridge.rpc_raw("").status, 400);
    assert_eq!(
        bridge.status().requests_handled,
        1,
        "nothing undecodable was carried out"
    );
}

#[test]
fn an_unknown_request_type_is_a_400_naming_the_known_ones() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let reply = bridge.rpc_raw(r#"{"id":6,"body":{"type":"launch_missiles"}}"#);
    assert_eq!(reply.status, 400);
    let envelope = reply.envelope();
    assert_eq!(envelope.id, Some(6));
    let error = envelope.into_result().unwrap_err();
    assert_eq!(error.kind, ErrorKind::UnknownRequest);
    assert_eq!(
        error.message,
        "unknown request type `launch_missiles`: unknown variant `launch_missiles`, expected one of `hello`, `ping`, `echo`, `status`, `push_event`, `zdrive_log`, `zdrive_snapshots`, `zdrive_snapshot`, `zdrive_consent`, `imi_status`, `imi_add`, `imi_remove`, `imi_open`, `imi_review`, `zdrive_pane`, `zdrive_rename`, `zdrive_tag`, `zdrive_track` at line 1 column 40"
    );
}

#[test]
fn health_needs_no_token_and_other_paths_are_404() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut health = agent
        .get(format!("{}/v1/health", bridge.info.url))
        .call()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.body_mut().read_to_string().unwrap(),
        r#"{"ok":true}"#
    );
    let missing = agent
        .get(format!("{}/v2/anything", bridge.info.url))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[test]
fn a_hundred_concurrent_requests_all_succeed() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100u64)
            .map(|i| {
                let bridge = &bridge;
                scope.spawn(move || {
                    let text = format!("request {i}");
                    let reply = bridge.rpc(
                        i,
                        Request::Echo {
                            text: text.clone(),
                            delay_ms: Some(50),
                        },
                    );
                    (reply.status, reply.envelope(), text)
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let (status, envelope, text) = handle.join().expect("client thread");
            assert_eq!(status, 200, "request {i}");
            assert_eq!(
                envelope,
                ResponseEnvelope::ok(i as u64, Response::Echo { text })
            );
        }
    });
    assert_eq!(bridge.status().requests_handled, 101);
}

#[test]
fn status_command_reports_the_daemon() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let output = env.run(&["status"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("host-bridge is running\n"), "{text}");
    assert!(
        text.contains(&format!("pid:      {}\n", bridge.info.pid)),
        "{text}"
    );
    assert!(
        text.contains(&format!("url:      {}\n", bridge.info.url)),
        "{text}"
    );
    assert!(
        text.contains("uptime:   ") && text.contains(&format!("protocol: {PROTOCOL_VERSION}\n")),
        "{text}"
    );

    let output = env.run(&["status", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["success"], true);
    assert_eq!(json["error"], serde_json::Value::Null);
    assert_eq!(json["data"]["running"], true);
    assert_eq!(json["data"]["status"]["pid"], bridge.info.pid);
    assert_eq!(json["data"]["status"]["protocol_version"], PROTOCOL_VERSION);
    assert!(json["data"]["status"]["uptime_ms"].is_u64());
}
