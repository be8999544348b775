//! Many agents calling one session at once (issue "Nothing an agent sends perth is lost"):
//! every call is answered, every time, and each answer is asserted as it first comes.
//!
//! The mix is what Zellij 0.45.1 loses: a piped `perth pipe` leaves at the end of its input
//! without waiting, and Zellij then broadcasts that pipe's unblock to every client (zellij
//! #5270), which ended other clients' calls early or made their session lookup report "There
//! is no active session!"; pane closes broadcast `UnblockInputThread`, which ended `list-panes`
//! calls before their answer.

use std::time::Duration;

use tests::PerthSession;

const AGENTS: usize = 10;
const ROUNDS: usize = 6;
const DEADLINE: Duration = Duration::from_secs(20);

/// One agent's round: a piped pipe nobody answers, a notification, a listing, a pane made
/// and closed. Returns what went wrong, if anything.
fn round(s: &PerthSession, agent: usize, k: usize) -> Vec<String> {
    let mut lost = Vec::new();
    let mut check = |what: &str, out: anyhow::Result<std::process::Output>| match out {
        Ok(out) if out.status.success() => Some(out),
        Ok(out) => {
            lost.push(format!(
                "agent {agent} round {k}: {what} exited {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            None
        }
        Err(e) => {
            lost.push(format!("agent {agent} round {k}: {what}: {e:#}"));
            None
        }
    };
    let payload = format!("agent {agent} step {k}\n");
    check(
        "a piped pipe",
        s.perth_within(
            &["pipe", "--name", "e2e-nobody-listens"],
            Some(&payload),
            DEADLINE,
        ),
    );
    check(
        "action notify",
        s.perth_within(
            &[
                "action",
                "notify",
                "--pane-id",
                "terminal_0",
                "--message",
                &format!("agent {agent} step {k}"),
            ],
            None,
            DEADLINE,
        ),
    );
    let listed = check(
        "list-panes --json",
        s.perth_within(&["action", "list-panes", "--json"], None, DEADLINE),
    );
    // A command pane that ends at once: its close makes Zellij unblock every client.
    check(
        "a command pane",
        s.perth_within(
            &[
                "action",
                "new-pane",
                "--floating",
                "--close-on-exit",
                "--",
                "true",
            ],
            None,
            DEADLINE,
        ),
    );
    if let Some(out) = listed {
        let panes: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if panes.is_empty() {
            lost.push(format!(
                "agent {agent} round {k}: list-panes answered no panes: {:?}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    lost
}

#[test]
fn ten_agents_at_once_lose_no_call() {
    let s = PerthSession::start_in(
        tests::IsolatedEnv::new().unwrap(),
        "e2e-concurrency",
        140,
        45,
        &[],
    )
    .unwrap();
    s.wait_for_core(1).unwrap();
    let lost: Vec<String> = std::thread::scope(|scope| {
        let agents: Vec<_> = (0..AGENTS)
            .map(|agent| {
                let s = &s;
                scope.spawn(move || {
                    (0..ROUNDS)
                        .flat_map(|k| round(s, agent, k))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        agents.into_iter().flat_map(|a| a.join().unwrap()).collect()
    });
    assert!(
        lost.is_empty(),
        "{} of {} calls lost:\n{}",
        lost.len(),
        AGENTS * ROUNDS * 4,
        lost.join("\n")
    );
    // The server kept other connections' answers back, and it is still responsive.
    let status = s.status().unwrap();
    assert!(status["os_api"]["clients_connected"].as_u64().unwrap() > 100);
    s.perth_within(&["action", "list-tabs"], None, DEADLINE)
        .unwrap();
}

/// A wedged server (zellij #5400: Zellij's command line then waits forever, in its liveness
/// check and for every answer) fails each call at its deadline with exit 3 and advice, and
/// answers again once it moves.
#[test]
fn a_wedged_session_fails_calls_at_their_deadline_and_answers_again() {
    let s = PerthSession::start_in(
        tests::IsolatedEnv::new().unwrap(),
        "e2e-wedged",
        120,
        40,
        &[],
    )
    .unwrap();
    s.wait_for_core(1).unwrap();
    // The server is the process started with `--server`; stopping it wedges it exactly.
    let server = s
        .leftover_processes()
        .into_iter()
        .find(|(_, cmdline)| cmdline.contains("--server"))
        .map(|(pid, _)| nix::unistd::Pid::from_raw(pid))
        .expect("the session's server runs");
    let deadline = "0.5";
    let call = |args: &[&str], stdin: Option<&str>| {
        s.perth_within_env(&[("PERTH_CALL_TIMEOUT", deadline)], args, stdin, DEADLINE)
            .unwrap()
    };
    nix::sys::signal::kill(server, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let mut outcomes = Vec::new();
    for (args, stdin) in [
        (&["action", "list-panes", "--json"][..], None),
        (&["pipe", "--name", "zdrive::log", "--", "x"][..], None),
        (
            &["pipe", "--name", "e2e-nobody-listens"][..],
            Some("a\nb\n"),
        ),
        (&["action", "new-tab"][..], None),
    ] {
        let started = std::time::Instant::now();
        let out = call(args, stdin);
        outcomes.push((args.join(" "), out, started.elapsed()));
    }
    nix::sys::signal::kill(server, nix::sys::signal::Signal::SIGCONT).unwrap();
    for (what, out, took) in &outcomes {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{what}: {stderr}");
        assert!(
            stderr.contains("did not answer") && stderr.contains("PERTH_CALL_TIMEOUT"),
            "{what}: {stderr}"
        );
        // One deadline for the liveness check, one per answer: never an open-ended wait.
        assert!(*took < Duration::from_secs(5), "{what} took {took:?}");
    }
    let panes = s.list_panes().unwrap();
    assert!(!panes.is_empty());
    let bad = call(&["action", "list-tabs"], None);
    assert_eq!(
        bad.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
