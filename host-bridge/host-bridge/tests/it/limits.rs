//! Request limits: body size (413), per-request timeout (504), bounded concurrency (503).

use crate::support::{wait_for, TestEnv, DEADLINE};
use bridge_protocol::{ErrorKind, Request, Response, ResponseEnvelope};

fn echo_body(len: usize) -> Vec<u8> {
    format!(
        r#"{{"id":1,"body":{{"type":"echo","text":"{}"}}}}"#,
        "x".repeat(len)
    )
    .into_bytes()
}

#[test]
fn bodies_over_the_default_limit_of_1_mib_get_413() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let ok = bridge.rpc_raw(echo_body(1024 * 1024 - 100));
    assert_eq!(ok.status, 200, "just under 1 MiB is accepted");
    let reply = bridge.rpc_raw(echo_body(1024 * 1024));
    assert_eq!(reply.status, 413);
    let error = reply.envelope().into_result().unwrap_err();
    assert_eq!(error.kind, ErrorKind::TooLarge);
    assert_eq!(
        error.message,
        "the request body is over the limit of 1048576 bytes"
    );
}

#[test]
fn the_body_limit_is_configurable() {
    let env = TestEnv::new();
    let bridge = env.serve(&["--max-body-bytes", "100"]);
    assert_eq!(bridge.rpc_raw(echo_body(10)).status, 200);
    let reply = bridge.rpc_raw(echo_body(100));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(
        bridge.status().requests_handled,
        2,
        "the large echo was not carried out"
    );
}

#[test]
fn a_request_over_the_timeout_gets_504() {
    let env = TestEnv::new();
    let bridge = env.serve(&["--request-timeout-ms", "200"]);
    let reply = bridge.rpc(
        9,
        Request::Echo {
            text: "slow".into(),
            delay_ms: Some(10_000),
        },
    );
    assert_eq!(reply.status, 504);
    let envelope = reply.envelope();
    assert_eq!(envelope.id, Some(9));
    let error = envelope.into_result().unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(error.message, "the request took longer than 200 ms");
    assert_eq!(
        bridge.status().in_flight,
        1,
        "the timed-out request no longer counts"
    );
}

#[test]
fn requests_beyond_the_concurrency_limit_wait_then_get_503() {
    let env = TestEnv::new();
    let bridge = env.serve(&["--max-in-flight", "1", "--queue-timeout-ms", "100"]);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| {
            bridge.rpc(
                1,
                Request::Echo {
                    text: "slow".into(),
                    delay_ms: Some(3_000),
                },
            )
        });
        let busy = wait_for(
            "a ping to be refused while the slow echo holds the only slot",
            DEADLINE,
            || {
                let reply = bridge.rpc(2, Request::Ping);
                (reply.status == 503).then_some(reply)
            },
        );
        let error = busy.envelope().into_result().unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert!(
            error
                .message
                .starts_with("host-bridge is busy: 1 requests in flight"),
            "{error}"
        );
        let slow = slow.join().expect("slow client");
        assert_eq!(slow.status, 200);
        assert_eq!(
            slow.envelope(),
            ResponseEnvelope::ok(
                1,
                Response::Echo {
                    text: "slow".into()
                }
            )
        );
    });
    assert_eq!(
        bridge.rpc(3, Request::Ping).status,
        200,
        "the slot is free again"
    );
}
