//! Bad input to a running session (issue "Nothing an agent sends perth is lost": bad input, no
//! wedge): garbage on the session's socket, clients that leave half way through a pipe, pipes
//! to plugins that never answer, tabs and panes closed and the session killed under calls in
//! flight. Whatever one client does, every other client gets its answer and the server stays
//! up; a caller that cannot be answered gets a clear error within its deadline.

use std::io::{BufRead, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tests::PerthSession;

/// The test's own deadline for one call: far past the command line's (10 s by default), so a
/// call that ends late is seen as a failed call, not as a hung test.
const DEADLINE: Duration = Duration::from_secs(20);

/// Starts a session whose pipes to perth-core are answered (host-bridge up and reachable).
fn start(name: &str) -> PerthSession {
    let s = PerthSession::start_sized(name, 140, 45).unwrap();
    s.wait_for_core(1).unwrap();
    s.wait_for_status(
        "host-bridge running and answering perth-core",
        Duration::from_secs(30),
        |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
    )
    .unwrap();
    s
}

/// Returns the pid of the session's server (the process started with `--server`).
fn server_pid(s: &PerthSession) -> Option<i32> {
    s.leftover_processes()
        .into_iter()
        .find(|(_, cmdline)| cmdline.contains("--server"))
        .map(|(pid, _)| pid)
}

/// Returns why `out` is not a finished call whose standard output `answered` accepts.
fn judge(
    what: &str,
    out: anyhow::Result<Output>,
    answered: impl Fn(&str) -> bool,
) -> Option<String> {
    match out {
        Ok(out) if out.status.success() && answered(&String::from_utf8_lossy(&out.stdout)) => None,
        Ok(out) => Some(format!(
            "{what}: exited {} with stdout {:?}, stderr {:?}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("{what}: {e:#}")),
    }
}

/// Returns whether `stdout` is a JSON array of at least one pane.
fn lists_panes(stdout: &str) -> bool {
    serde_json::from_str::<Vec<serde_json::Value>>(stdout).is_ok_and(|p| !p.is_empty())
}

/// A call: what it is, its arguments, and what its standard output must satisfy.
type Call<'a> = (&'a str, Vec<&'a str>, fn(&str) -> bool);

/// One agent's round: a pipe perth-core answers, a notification, a listing. Returns what
/// went wrong.
fn agent_round(s: &PerthSession, agent: usize, k: usize) -> Vec<String> {
    let pane = format!("pane=ag{agent},source=agent");
    let step = format!("step {k}");
    let message = format!("agent {agent} step {k}");
    let calls: [Call<'_>; 3] = [
        (
            "pipe zdrive::log",
            vec![
                "pipe",
                "--name",
                "zdrive::log",
                "--args",
                &pane,
                "--",
                &step,
            ],
            |out| out.starts_with("logged "),
        ),
        (
            "action notify",
            vec![
                "action",
                "notify",
                "--pane-id",
                "terminal_0",
                "--message",
                &message,
            ],
            |_| true,
        ),
        (
            "action list-panes --json",
            vec!["action", "list-panes", "--json"],
            lists_panes,
        ),
    ];
    calls
        .into_iter()
        .filter_map(|(what, args, answered)| {
            judge(
                &format!("agent {agent} round {k}: {what}"),
                s.perth_within(&args, None, DEADLINE),
                answered,
            )
        })
        .collect()
}

/// Runs `disturb` while `agents` agents call the session, each at least `min_rounds` rounds
/// and on until `disturb` is done; returns what `disturb` returned, how many rounds ran, and
/// every call that was not answered.
fn with_agents<T: Send>(
    s: &PerthSession,
    agents: usize,
    min_rounds: usize,
    disturb: impl FnOnce() -> T + Send,
) -> (T, usize, Vec<String>) {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..agents)
            .map(|agent| {
                let done = &done;
                scope.spawn(move || {
                    let mut lost = Vec::new();
                    let mut k = 0;
                    while k < min_rounds || !done.load(Ordering::SeqCst) {
                        lost.extend(agent_round(s, agent, k));
                        k += 1;
                    }
                    (k, lost)
                })
            })
            .collect();
        // The agents stop even when `disturb` panics, so that a failure never hangs the test.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let stop = Stop(&done);
        let result = disturb();
        drop(stop);
        let mut rounds = 0;
        let mut lost = Vec::new();
        for agent in running {
            let (k, l) = agent.join().unwrap();
            rounds += k;
            lost.extend(l);
        }
        (result, rounds, lost)
    })
}

/// Asserts that no agent lost a call, and that the server runs and answers.
fn assert_answered_and_up(s: &PerthSession, rounds: usize, lost: &[String]) {
    assert!(
        lost.is_empty(),
        "{} of {} calls lost:\n{}",
        lost.len(),
        rounds * 3,
        lost.join("\n")
    );
    assert!(server_pid(s).is_some(), "the session's server is gone");
    let status = s.status().unwrap();
    assert_eq!(status["perth_core"]["connected"], true, "{status}");
    assert!(!s.list_panes().unwrap().is_empty());
}

/// Returns `n` bytes no protobuf reader accepts: each frame body starts with field 0 of wire
/// type 7, which does not exist, so the bytes cannot decode as any message by chance.
fn garbage(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut out: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    if let Some(first) = out.first_mut() {
        *first = 0x07;
    }
    out
}

/// Reads from `conn` until the peer closes it or `limit` passes; returns what was read and
/// whether it was closed.
fn read_until_closed(conn: &mut UnixStream, limit: Duration) -> (Vec<u8>, bool) {
    let until = Instant::now() + tests::wait::scaled(limit);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (got, false);
        }
        conn.set_read_timeout(Some(left)).unwrap();
        match conn.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (got, false)
            }
            Err(_) => return (got, true),
        }
    }
}

/// Garbage on the session's socket, while five agents call it: bytes that are no frame, frames
/// of the right length that hold no message, and a length prefix of 4 GiB (stock Zellij
/// allocates whatever a client's first four bytes claim).
#[test]
fn garbage_on_the_socket_costs_no_other_client_its_answer() {
    let s = start("e2e-garbage");
    let socket = s.socket();
    let ((huge, frames), rounds, lost) = with_agents(&s, 5, 2, || {
        // A length longer than what follows: the connection waits for the rest, open.
        let mut open = UnixStream::connect(&socket).unwrap();
        open.write_all(&100_000u32.to_le_bytes()).unwrap();
        open.write_all(&garbage(4096, 1)).unwrap();
        // Bytes with no frame in them, then gone.
        let mut gone = UnixStream::connect(&socket).unwrap();
        gone.write_all(&garbage(64 << 10, 2)).unwrap();
        drop(gone);
        // Frames of the right length holding nothing Zellij can read: after 1000 in a row it
        // logs the client out, and only that client.
        let mut frames = UnixStream::connect(&socket).unwrap();
        for i in 0..1200 {
            let body = garbage(60, i);
            let mut frame = (body.len() as u32).to_le_bytes().to_vec();
            frame.extend(body);
            // Once logged out, the connection is closed under the frames still coming.
            if frames.write_all(&frame).is_err() {
                break;
            }
        }
        // A length prefix of 4 GiB: closed unread.
        let mut huge = UnixStream::connect(&socket).unwrap();
        huge.write_all(&u32::MAX.to_le_bytes()).unwrap();
        huge.write_all(b"tail").unwrap();
        let huge = read_until_closed(&mut huge, Duration::from_secs(10));
        let frames = read_until_closed(&mut frames, Duration::from_secs(10));
        drop(open);
        (huge, frames)
    });
    assert_answered_and_up(&s, rounds, &lost);
    assert!(
        huge.1,
        "a 4 GiB length prefix did not close its connection: {huge:?}"
    );
    // At most the goodbye Zellij tells every client it removes, and nothing else.
    assert!(huge.0.len() < 64, "{huge:?}");
    // Zellij's own answer to endless garbage: an exit with a reason, to that client only.
    let said = String::from_utf8_lossy(&frames.0);
    assert!(
        said.contains("Received empty message"),
        "{said:?} {}",
        frames.1
    );
}

/// Serves the session's socket at `dir/contract_version_1/NAME` and passes each connection on
/// to the real socket, except that a connection is cut, both ways, right after it sent a frame
/// that names `cut_after`; returns the frames that were cut after.
fn cutting_proxy(
    s: &PerthSession,
    dir: &std::path::Path,
    cut_after: &'static str,
    done: &AtomicBool,
) -> Vec<Vec<u8>> {
    let path = dir.join("contract_version_1").join(&s.name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let listener = UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let real = s.socket();
    let mut cut = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let mut client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(e) => panic!("proxy accept: {e}"),
        };
        client.set_nonblocking(false).unwrap();
        let mut server = UnixStream::connect(&real).unwrap();
        let mut back = server.try_clone().unwrap();
        let mut to_client = client.try_clone().unwrap();
        std::thread::spawn(move || std::io::copy(&mut back, &mut to_client));
        loop {
            let mut len = [0u8; 4];
            if client.read_exact(&mut len).is_err() {
                break;
            }
            let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
            if client.read_exact(&mut body).is_err() {
                break;
            }
            if body
                .windows(cut_after.len())
                .any(|w| w == cut_after.as_bytes())
            {
                // The client's side is cut before the frame goes on, so no answer can reach
                // it: a descheduled proxy once let the server's answer through first.
                let _ = client.shutdown(std::net::Shutdown::Both);
                server.write_all(&len).unwrap();
                server.write_all(&body).unwrap();
                let mut frame = len.to_vec();
                frame.extend(body);
                cut.push(frame);
                break;
            }
            server.write_all(&len).unwrap();
            server.write_all(&body).unwrap();
        }
        let _ = client.shutdown(std::net::Shutdown::Both);
        let _ = server.shutdown(std::net::Shutdown::Both);
    }
    cut
}

/// Clients that leave half way through a pipe, while five agents call the session: a
/// `perth pipe` fed from its input killed between two lines, one whose input ends in the middle
/// of a line, one whose connection is cut right after it sent its pipe, and a raw connection
/// that sends a pipe and closes before the answer.
#[test]
fn clients_that_leave_half_way_through_a_pipe_cost_others_nothing() {
    let s = start("e2e-half-way");
    let proxy_dir = s.env.root().join("proxy");
    let (outcome, rounds, lost) = with_agents(&s, 5, 2, || {
        // Killed between two lines, after the first was answered.
        let mut killed = s
            .env
            .command(tests::workspace_bin("perth").unwrap())
            .args(["--session", &s.name, "pipe", "--name", "zdrive::log"])
            .args(["--args", "pane=killed,source=agent"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut input = killed.stdin.take().unwrap();
        input.write_all(b"first line\n").unwrap();
        let (line_tx, line_rx) = mpsc::channel();
        let stdout = killed.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let _ = line_tx.send(line);
            }
        });
        let first = line_rx.recv_timeout(tests::wait::scaled(DEADLINE));
        input.write_all(b"half a li").unwrap();
        killed.kill().unwrap();
        killed.wait().unwrap();

        // Its input ends in the middle of a line: what there is is sent, and the call ends.
        let ended = s.perth_within(
            &[
                "pipe",
                "--name",
                "zdrive::log",
                "--args",
                "pane=ended,source=agent",
            ],
            Some("half a li"),
            DEADLINE,
        );

        // Cut right after the pipe went out, before its answer.
        let done = AtomicBool::new(false);
        let (cut_frames, cut_call) = std::thread::scope(|scope| {
            let proxy = scope.spawn(|| cutting_proxy(&s, &proxy_dir, "zdrive::log", &done));
            let proxy_socket_dir = proxy_dir.to_string_lossy().into_owned();
            let path = proxy_dir.join("contract_version_1").join(&s.name);
            tests::wait_for_with_last("the proxy's socket", tests::wait::scaled(DEADLINE), || {
                path.exists().then_some(()).ok_or("not yet")
            })
            .unwrap();
            let started = Instant::now();
            let call = s.perth_within_env(
                &[
                    ("ZELLIJ_SOCKET_DIR", &proxy_socket_dir),
                    ("PERTH_CALL_TIMEOUT", "2"),
                ],
                &[
                    "pipe",
                    "--name",
                    "zdrive::log",
                    "--args",
                    "pane=cut,source=agent",
                    "--",
                    "cut",
                ],
                None,
                DEADLINE,
            );
            done.store(true, Ordering::SeqCst);
            (proxy.join().unwrap(), (call, started.elapsed()))
        });

        // The same pipe frame, raw, on connections that close at once.
        for frame in &cut_frames {
            let mut raw = UnixStream::connect(s.socket()).unwrap();
            raw.write_all(frame).unwrap();
            drop(raw);
            let mut raw = UnixStream::connect(s.socket()).unwrap();
            raw.write_all(&frame[..frame.len() / 2]).unwrap();
            drop(raw);
        }
        (first, ended, cut_frames.len(), cut_call)
    });
    let (first, ended, cut_frames, (cut_call, cut_took)) = outcome;
    assert!(
        matches!(&first, Ok(Ok(line)) if line.starts_with("logged ")),
        "the killed pipe's first line was not answered: {first:?}"
    );
    let ended = ended.unwrap();
    assert!(ended.status.success(), "{ended:?}");
    assert_eq!(
        String::from_utf8_lossy(&ended.stdout),
        "logged checkpoint on ended (1 entry)\n",
        "{ended:?}"
    );
    assert_eq!(cut_frames, 1, "the proxy saw the pipe once");
    // Cut before the answer: perth's command line says it cannot tell whether the pipe ran.
    let cut_call = cut_call.unwrap();
    let stderr = String::from_utf8_lossy(&cut_call.stderr);
    assert_eq!(cut_call.status.code(), Some(3), "{stderr}");
    assert!(!stderr.trim().is_empty());
    // At the latest at its deadline (2 s): it ends, with a clear error.
    assert!(cut_took < Duration::from_secs(5), "{cut_took:?}: {stderr}");
    assert_answered_and_up(&s, rounds, &lost);
}

/// Accepts connections on a loopback port and never answers them: a plugin URL whose download
/// never ends. Returns the port; stops when `done` is set.
fn silent_http(done: &'static AtomicBool) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while !done.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((conn, _)) => held.push(conn),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    port
}

/// Runs `perth pipe --plugin URL` with a deadline of one second; returns its output and how
/// long it took.
fn pipe_to_plugin(s: &PerthSession, url: &str, name: &str) -> (Output, Duration) {
    let started = Instant::now();
    let out = s
        .perth_within_env(
            &[("PERTH_CALL_TIMEOUT", "1")],
            &["pipe", "--plugin", url, "--name", name, "--", "hello"],
            None,
            DEADLINE,
        )
        .unwrap();
    (out, started.elapsed())
}

/// Pipes to plugins that never answer, while five agents call the session: one whose download
/// never ends (it stays loading), one whose file is no WebAssembly (its load fails). The caller
/// gets a clear error within its deadline; everyone else gets their answers.
#[test]
fn a_pipe_to_a_plugin_that_never_answers_fails_within_its_deadline() {
    static SILENT_DONE: AtomicBool = AtomicBool::new(false);
    let s = start("e2e-no-plugin");
    let port = silent_http(&SILENT_DONE);
    let broken = s.env.root().join("broken.wasm");
    std::fs::write(&broken, garbage(4096, 3)).unwrap();
    let (outcomes, rounds, lost) = with_agents(&s, 5, 2, || {
        [
            pipe_to_plugin(
                &s,
                &format!("http://127.0.0.1:{port}/never.wasm"),
                "e2e-never",
            ),
            pipe_to_plugin(&s, &format!("file:{}", broken.display()), "e2e-broken"),
        ]
    });
    SILENT_DONE.store(true, Ordering::SeqCst);
    for (out, took) in &outcomes {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{out:?}");
        assert!(!stderr.trim().is_empty(), "{out:?}");
        // One second for the answer, one for the session's liveness check, and some slack.
        assert!(*took < Duration::from_secs(5), "took {took:?}: {stderr}");
    }
    let (never, _) = &outcomes[0];
    let stderr = String::from_utf8_lossy(&never.stderr);
    assert_eq!(never.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("did not answer") && stderr.contains("PERTH_CALL_TIMEOUT"),
        "{stderr}"
    );
    assert_answered_and_up(&s, rounds, &lost);
}

/// A piped `perth pipe --name zdrive::log` sends each input line as a message of one pipe:
/// every line is logged and answered, in order, and the pipe ends when its input does.
#[test]
fn every_line_of_a_piped_zdrive_log_is_logged_and_answered() {
    let s = start("e2e-two-lines");
    let out = s
        .perth_within_env(
            &[("PERTH_CALL_TIMEOUT", "5")],
            &["pipe", "--name", "zdrive::log", "--args", "pane=lines"],
            Some("first line\nsecond line\nfirst line\n"),
            DEADLINE,
        )
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "logged checkpoint on lines (1 entry)\nlogged checkpoint on lines (2 entries)\nlogged checkpoint on lines (3 entries)\n",
        "{out:?}"
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Returns the ids of the session's tabs, from `list-tabs --json`.
fn tab_ids(s: &PerthSession) -> Vec<u64> {
    let text = s.action(&["list-tabs", "--json"]).unwrap();
    let tabs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    tabs.iter().filter_map(|t| t["tab_id"].as_u64()).collect()
}

/// Runs one call of the mix in flight during a close or a kill: a pipe perth-core answers, a
/// listing or a notification. Returns what it was, its output (or the harness's error) and
/// how long it took.
fn call_in_flight(s: &PerthSession, i: usize) -> (String, anyhow::Result<Output>, Duration) {
    let pane = format!("pane=flight{i}");
    let message = format!("call {i}");
    let args: Vec<&str> = match i % 3 {
        0 => vec![
            "pipe",
            "--name",
            "zdrive::log",
            "--args",
            &pane,
            "--",
            "in flight",
        ],
        1 => vec!["action", "list-panes", "--json"],
        _ => vec![
            "action",
            "notify",
            "--pane-id",
            "terminal_0",
            "--message",
            &message,
        ],
    };
    let started = Instant::now();
    let out = s.perth_within_env(&[("PERTH_CALL_TIMEOUT", "5")], &args, None, DEADLINE);
    (args.join(" "), out, started.elapsed())
}

/// No wedge (zellij #5440: closing a tab with tens of pipes in flight wedged the server): tabs
/// and panes closed while 20 callers are in flight; every call is answered, every close done,
/// and the server answers after.
#[test]
fn closing_tabs_and_panes_under_calls_in_flight_wedges_nothing() {
    let s = start("e2e-close-under-load");
    for _ in 0..3 {
        s.action(&["new-tab"]).unwrap();
    }
    for _ in 0..4 {
        s.action(&["new-pane"]).unwrap();
    }
    let tabs = tab_ids(&s);
    let panes: Vec<String> = s
        .terminal_panes()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_u64())
        .filter(|id| *id != 0)
        .map(|id| format!("terminal_{id}"))
        .collect();
    assert!(tabs.len() >= 4 && panes.len() >= 7, "{tabs:?} {panes:?}");
    let (calls, closes) = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..20)
            .map(|i| {
                let s = &s;
                scope.spawn(move || (0..3).map(|_| call_in_flight(s, i)).collect::<Vec<_>>())
            })
            .collect();
        let mut closes = Vec::new();
        for pane in &panes {
            closes.push(s.perth_within(
                &["action", "close-pane", "--pane-id", pane],
                None,
                DEADLINE,
            ));
        }
        for tab in tabs.iter().skip(1) {
            let tab = tab.to_string();
            closes.push(s.perth_within(&["action", "close-tab", "--tab-id", &tab], None, DEADLINE));
        }
        let calls: Vec<_> = calls.into_iter().flat_map(|c| c.join().unwrap()).collect();
        (calls, closes)
    });
    let mut lost = Vec::new();
    for (what, out, took) in calls {
        let answered = |stdout: &str| {
            if what.starts_with("pipe") {
                stdout.starts_with("logged ")
            } else if what.contains("list-panes") {
                lists_panes(stdout)
            } else {
                true
            }
        };
        if let Some(e) = judge(&what, out, answered) {
            lost.push(format!("{e} (after {took:?})"));
        }
    }
    for close in closes {
        if let Some(e) = judge("a close", close, |_| true) {
            lost.push(e);
        }
    }
    assert!(
        lost.is_empty(),
        "{} calls failed:\n{}",
        lost.len(),
        lost.join("\n")
    );
    assert_answered_and_up(&s, 0, &[]);
    assert_eq!(tab_ids(&s).len(), 1);
}

/// `perth kill-session` while calls are in flight, some of them pipes no plugin will ever
/// answer: every caller ends at once with its answer or a clear error, and the server is gone.
#[test]
fn killing_the_session_under_calls_in_flight_ends_every_call() {
    static SILENT_DONE: AtomicBool = AtomicBool::new(false);
    let s = start("e2e-kill-under-load");
    let port = silent_http(&SILENT_DONE);
    let server = server_pid(&s).expect("the session's server runs");
    let never = format!("http://127.0.0.1:{port}/never.wasm");
    let (held, calls, killed) = std::thread::scope(|scope| {
        // Pipes to a plugin that never loads: in flight for sure when the kill comes.
        let held: Vec<_> = (0..4)
            .map(|i| {
                let (s, never) = (&s, &never);
                scope.spawn(move || {
                    let name = format!("e2e-held-{i}");
                    let started = Instant::now();
                    let out = s.perth_within_env(
                        &[("PERTH_CALL_TIMEOUT", "30")],
                        &["pipe", "--plugin", never, "--name", &name, "--", "x"],
                        None,
                        Duration::from_secs(40),
                    );
                    (out, started.elapsed())
                })
            })
            .collect();
        let calls: Vec<_> = (0..16)
            .map(|i| {
                let s = &s;
                scope.spawn(move || (0..3).map(|_| call_in_flight(s, i)).collect::<Vec<_>>())
            })
            .collect();
        // The held pipes reached the session: their plugin is loading.
        tests::wait_for_with_last(
            "the held pipes' plugin loading",
            tests::wait::scaled(DEADLINE),
            || {
                let panes = s.list_panes().map_err(|e| e.to_string())?;
                panes
                    .iter()
                    .any(|p| p.to_string().contains("never.wasm"))
                    .then_some(())
                    .ok_or_else(|| serde_json::Value::from(panes).to_string())
            },
        )
        .unwrap();
        let kill_at = Instant::now();
        let killed = s.perth_within(&["kill-session", &s.name], None, DEADLINE);
        let held: Vec<_> = held
            .into_iter()
            .map(|h| {
                let (out, took) = h.join().unwrap();
                (out, took, kill_at.elapsed())
            })
            .collect();
        let calls: Vec<_> = calls.into_iter().flat_map(|c| c.join().unwrap()).collect();
        (held, calls, killed)
    });
    SILENT_DONE.store(true, Ordering::SeqCst);
    let killed = killed.unwrap();
    assert!(killed.status.success(), "{killed:?}");
    for (out, took, since_kill) in &held {
        let out = out.as_ref().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && !stderr.trim().is_empty(),
            "{out:?}"
        );
        // Told at the kill, not at their deadline 30 s later.
        assert!(
            *since_kill < Duration::from_secs(5),
            "ended {since_kill:?} after the kill ({took:?}): {stderr}"
        );
    }
    for (what, out, took) in &calls {
        let out = out
            .as_ref()
            .unwrap_or_else(|e| panic!("{what} hung: {e:#}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || !stderr.trim().is_empty(),
            "{what} failed without saying why: {out:?}"
        );
        assert!(
            *took < Duration::from_secs(8),
            "{what} took {took:?}: {stderr}"
        );
    }
    tests::wait_for(
        "the session's server to be gone",
        tests::wait::scaled(Duration::from_secs(10)),
        || (server_pid(&s) != Some(server)).then_some(()),
    )
    .unwrap();
}
