//! One instance per user, `stop`, background `serve`, and graceful shutdown on signals.

use crate::support::{stdout, wait_for, TestEnv, DEADLINE};
use bridge_protocol::{Request, Response, ResponseEnvelope};
use nix::sys::signal::Signal;

#[test]
fn a_second_serve_names_the_first_and_exits_0() {
    let env = TestEnv::new();
    let bridge = env.serve(&[]);
    let expected = format!(
        "host-bridge is already running at {} (pid {})\n",
        bridge.info.url, bridge.info.pid
    );
    for args in [&["serve", "--foreground"][..], &["serve"][..]] {
        let output = env.run(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(stdout(&output), expected, "{args:?}");
    }
    assert_eq!(
        env.read_info(),
        Some(bridge.info.clone()),
        "the first one's runtime file is untouched"
    );
}

#[test]
fn stop_ends_the_daemon_and_removes_the_runtime_file() {
    let env = TestEnv::new();
    let mut bridge = env.serve(&[]);
    let output = env.run(&["stop"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!(
            "host-bridge (pid {}) stopped after ",
            bridge.info.pid
        )),
        "{text}"
    );
    assert!(bridge.wait_exit().success());
    assert!(!env.info_path().exists());
    assert!(bridge.log().contains("host-bridge stopped"));

    let output = env.run(&["stop"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "host-bridge is not running\n");
    let output = env.run(&["status"]);
    assert_eq!(output.status.code(), Some(3));
    let output = env.run(&["status", "--json"]);
    assert_eq!(output.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["success"], false);
    assert_eq!(json["data"]["running"], false);
}

#[test]
fn a_stale_runtime_file_is_not_a_running_daemon() {
    let env = TestEnv::new();
    let mut bridge = env.serve(&[]);
    bridge.signal(Signal::SIGKILL);
    bridge.wait_exit();
    assert!(
        env.info_path().exists(),
        "SIGKILL leaves the runtime file behind"
    );
    assert_eq!(env.run(&["status"]).status.code(), Some(3));
    assert_eq!(stdout(&env.run(&["stop"])), "host-bridge is not running\n");
    let second = env.serve(&[]);
    assert_ne!(second.info.pid, bridge.info.pid, "a new serve takes over");
}

#[test]
fn serve_without_foreground_runs_in_the_background() {
    let env = TestEnv::new();
    let output = env.run(&["serve"]);
    assert_eq!(output.status.code(), Some(0));
    let info = env
        .read_info()
        .expect("the background daemon wrote its runtime file");
    // Make sure the daemon goes away even if an assertion below fails.
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0 as i32), Signal::SIGKILL);
        }
    }
    let _reap = Reap(info.pid);
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!(
            "host-bridge started at {} (pid {}, log ",
            info.url, info.pid
        )),
        "{text}"
    );
    assert_eq!(env.run(&["status"]).status.code(), Some(0));
    let output = env.run(&["stop"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(!env.info_path().exists());
    let log = std::fs::read_to_string(env.runtime_dir().join("host-bridge.log")).unwrap();
    assert!(
        log.contains("host-bridge listening") && log.contains("host-bridge stopped"),
        "{log}"
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let env = TestEnv::new();
    let mut bridge = env.serve(&[]);
    std::thread::scope(|scope| {
        let slow = scope.spawn(|| {
            bridge.rpc(
                1,
                Request::Echo {
                    text: "finish me".into(),
                    delay_ms: Some(1_500),
                },
            )
        });
        wait_for("the slow echo to be in flight", DEADLINE, || {
            (bridge.status().in_flight >= 2).then_some(())
        });
        bridge.signal(Signal::SIGTERM);
        let reply = slow.join().expect("slow client");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.envelope(),
            ResponseEnvelope::ok(
                1,
                Response::Echo {
                    text: "finish me".into()
                }
            )
        );
    });
    assert!(bridge.wait_exit().success());
    assert!(!env.info_path().exists(), "the runtime file is removed");
    let log = bridge.log();
    assert!(log.contains("signal=\"SIGTERM\" in_flight=1"), "{log}");
    assert_eq!(env.run(&["status"]).status.code(), Some(3));
}

#[test]
fn sigint_stops_it_too() {
    let env = TestEnv::new();
    let mut bridge = env.serve(&[]);
    bridge.signal(Signal::SIGINT);
    assert!(bridge.wait_exit().success());
    assert!(!env.info_path().exists());
}

/// A restarted daemon takes its old address again, unless another process (another test,
/// on a shared machine) held that port at that moment: then the daemon says so in its log (a
/// port taken for a moment by another test's connection may be free again by the time a test
/// could look, so the daemon's own word is what counts).
fn assert_same_address_unless_taken(now: &str, before: &str, log: &str) {
    if now == before {
        return;
    }
    let port = before.rsplit(':').next().unwrap();
    assert!(
        log.contains("the previous address is taken") && log.contains(&format!("port={port}")),
        "moved from {before} to {now} without saying the old port was taken: {log}"
    );
}

#[test]
fn a_restarted_daemon_answers_at_the_same_address_with_the_same_token() {
    let env = TestEnv::new();
    let mut first = env.serve(&[]);
    let first_info = first.info.clone();
    // Killed without a chance to clean up, as a crash would.
    first.signal(Signal::SIGKILL);
    first.wait_exit();
    let mut second = env.serve(&[]);
    assert_same_address_unless_taken(&second.info.url, &first_info.url, &second.log());
    assert_eq!(second.info.token, first_info.token);
    assert_ne!(second.info.pid, first_info.pid);
    // Stopped cleanly, then started again: still the same place and token.
    let output = env.run(&["stop"]);
    assert_eq!(output.status.code(), Some(0));
    second.wait_exit();
    let third = env.serve(&[]);
    assert_same_address_unless_taken(&third.info.url, &second.info.url, &third.log());
    assert_eq!(third.info.token, first_info.token);
    let reply = third.rpc(1, Request::Ping).envelope();
    assert!(matches!(reply.into_result(), Ok(Response::Pong { .. })));
}
