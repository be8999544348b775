//! The bearer token and the runtime file: who may call, and what they can read.

use crate::support::TestEnv;
use bridge_protocol::{ErrorKind, Request, RequestEnvelope};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

#[test]
fn runtime_file_is_private_and_holds_port_and_token() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let mode = std::fs::metadata(env.info_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "runtime file mode");
    let info = &bridge.info;
    assert_ne!(info.port, 0);
    assert_eq!(info.url, format!("http://127.0.0.1:{}", info.port));
    assert_eq!(info.token.len(), 64);
    assert!(info.token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(info.protocol_version, bridge_protocol::PROTOCOL_VERSION);
    assert!(info.started_at > 0);
}

#[test]
fn runtime_dir_falls_back_to_the_config_folder() {
    let env = TestEnv::without_xdg_runtime_dir();
    let bridge = env.serve(&[]);
    assert!(env.runtime_dir().ends_with("home/.config/perth"));
    assert_eq!(env.read_info().map(|i| i.pid), Some(bridge.info.pid));
}

#[test]
fn requests_without_the_right_token_get_401_and_do_nothing() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let slow_echo = serde_json::to_vec(&RequestEnvelope {
        id: 1,
        body: Request::Echo {
            text: "should not run".into(),
            delay_ms: Some(5_000),
        },
    })
    .unwrap();
    let wrong = format!("Bearer {}", "0".repeat(64));
    let short = "Bearer abc".to_owned();
    let not_bearer = format!("Basic {}", bridge.info.token);
    for authorization in [
        None,
        Some(wrong.as_str()),
        Some(short.as_str()),
        Some(not_bearer.as_str()),
    ] {
        let started = Instant::now();
        let reply = bridge.post(slow_echo.clone(), authorization);
        assert_eq!(reply.status, 401, "{authorization:?}: {}", reply.body);
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the echo must not have run"
        );
        let error = reply.envelope().into_result().unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unauthorized);
        assert!(
            error.message.ends_with("nothing was done"),
            "{}",
            error.message
        );
    }
    // The status request itself is the only one that was carried out.
    assert_eq!(bridge.status().requests_handled, 1);
    let log = bridge.log();
    assert!(
        log.contains("WARN") && log.contains("wrong bearer token"),
        "log:\n{log}"
    );
    assert!(log.contains("missing bearer token"), "log:\n{log}");
    assert!(
        !log.contains(&bridge.info.token),
        "the token never appears in the log"
    );
}
