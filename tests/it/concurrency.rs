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
    let s = PerthSession::start_sized("e2e-concurrency", 140, 45).unwrap();
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
    let s = PerthSession::start("e2e-wedged").unwrap();
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

/// A call names its session and goes to it alone: a neighbour session that takes connections
/// and never answers (wedged, zellij #5400) holds no call to another session, while a name that
/// is not running, a socket nobody listens on, and a name that leaves the socket folder are each
/// refused as Zellij refuses a session that is not there, listing the ones that are.
#[test]
fn a_named_call_goes_to_its_session_alone() {
    let s = PerthSession::start("e2e-named").unwrap();
    s.wait_for_core(1).unwrap();
    let sockets = s.socket().parent().unwrap().to_path_buf();
    // A socket left behind by a session that ended.
    let stale = sockets.join("e2e-stale");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    for name in ["e2e-not-running", "e2e-stale", "../e2e-named"] {
        let out = s
            .perth_naming(name, &[], &["action", "list-panes"], DEADLINE)
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("Session '{name}' not found")) && stderr.contains("e2e-named"),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
    let _ = std::fs::remove_file(stale);
    // A neighbour that accepts and never reads: what a stopped server looks like.
    let wedged =
        std::os::unix::net::UnixListener::bind(sockets.join("e2e-wedged-neighbour")).unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = wedged.incoming().take(64).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let started = std::time::Instant::now();
    let out = s
        .perth_within_env(
            &[("PERTH_CALL_TIMEOUT", "30")],
            &["action", "list-panes", "--json"],
            None,
            DEADLINE,
        )
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let panes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(panes.as_array().is_some_and(|p| !p.is_empty()), "{panes}");
    // Waiting on the neighbour would have taken its whole deadline (30 s).
    assert!(took < Duration::from_secs(15), "the call took {took:?}");
}

/// A call's arguments and what its standard output must satisfy.
type Call<'a> = (Vec<&'a str>, Box<dyn Fn(&str) -> bool + 'a>);

/// One of 50 agents: `rounds` rounds of a pipe perth-core answers, a notification (perth's
/// command line) or a rename (stock Zellij's), a listing, and a command pane made and closed.
/// Every pipe's answer counts the pane's entries, so a pipe that ran twice or not at all shows.
fn agent_of_fifty(
    s: &PerthSession,
    zellij: Option<&std::path::Path>,
    agent: usize,
    rounds: usize,
) -> (usize, Vec<String>) {
    let mut lost = Vec::new();
    let mut calls = 0;
    for k in 0..rounds {
        let step = format!("agent {agent} step {k}");
        let pane = format!("pane=fifty{agent},source=agent");
        let entries = if k == 0 {
            "1 entry".to_owned()
        } else {
            format!("{} entries", k + 1)
        };
        let pipe_answer = format!("logged checkpoint on fifty{agent} ({entries})\n");
        let mut round: Vec<Call<'_>> = vec![
            (
                vec![
                    "pipe",
                    "--name",
                    "zdrive::log",
                    "--args",
                    &pane,
                    "--",
                    &step,
                ],
                Box::new(|out: &str| out == pipe_answer),
            ),
            (
                vec!["action", "list-panes", "--json"],
                Box::new(|out: &str| {
                    serde_json::from_str::<Vec<serde_json::Value>>(out).is_ok_and(|p| !p.is_empty())
                }),
            ),
            (
                vec![
                    "action",
                    "new-pane",
                    "--floating",
                    "--close-on-exit",
                    "--",
                    "true",
                ],
                Box::new(|_: &str| true),
            ),
        ];
        round.push(match zellij {
            Some(_) => (
                vec!["action", "rename-pane", "--pane-id", "terminal_0", &step],
                Box::new(|_: &str| true),
            ),
            None => (
                vec![
                    "action",
                    "notify",
                    "--pane-id",
                    "terminal_0",
                    "--message",
                    &step,
                ],
                Box::new(|_: &str| true),
            ),
        });
        for (args, answered) in round {
            calls += 1;
            let out = match zellij {
                Some(bin) => s.program_within(bin, &[], &args, None, DEADLINE),
                None => s.perth_within(&args, None, DEADLINE),
            };
            let who = if zellij.is_some() { "zellij" } else { "perth" };
            match out {
                Ok(out)
                    if out.status.success()
                        && answered(&String::from_utf8_lossy(&out.stdout))
                        && !String::from_utf8_lossy(&out.stderr)
                            .contains("There is no active session") => {}
                Ok(out) => lost.push(format!(
                    "agent {agent} ({who}) round {k}: {} exited {} with {:?}, {:?}",
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr).trim()
                )),
                Err(e) => lost.push(format!("agent {agent} ({who}) round {k}: {e:#}")),
            }
        }
    }
    (calls, lost)
}

/// 50 agents at once, half of them on stock Zellij 0.45.1's command line, while tabs are made
/// and closed: every call is answered, every pipe takes effect exactly once, within a bound.
#[test]
fn fifty_agents_at_once_on_both_command_lines_lose_no_call() {
    const FIFTY: usize = 50;
    const FIFTY_ROUNDS: usize = 3;
    let zellij = tests::stock_zellij("the 50 agents use perth's command line only");
    let s = PerthSession::start_sized("e2e-fifty", 140, 45).unwrap();
    s.wait_for_core(1).unwrap();
    s.wait_for_status(
        "host-bridge running and answering perth-core",
        Duration::from_secs(30),
        |st| st["bridge"]["state"] == "running" && st["bridge"]["plugin_ping_ok"] == true,
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (calls, lost, tab_failures) = std::thread::scope(|scope| {
        let agents: Vec<_> = (0..FIFTY)
            .map(|agent| {
                let (s, zellij) = (&s, zellij.as_deref());
                let zellij = zellij.filter(|_| agent % 2 == 1);
                scope.spawn(move || agent_of_fifty(s, zellij, agent, FIFTY_ROUNDS))
            })
            .collect();
        // Tabs made and closed under the load.
        let mut tab_failures = Vec::new();
        for _ in 0..3 {
            for args in [&["action", "new-tab"][..], &["action", "close-tab"][..]] {
                match s.perth_within(args, None, DEADLINE) {
                    Ok(out) if out.status.success() => {}
                    other => tab_failures.push(format!("{}: {other:?}", args.join(" "))),
                }
            }
        }
        let mut calls = 0;
        let mut lost = Vec::new();
        for agent in agents {
            let (n, l) = agent.join().unwrap();
            calls += n;
            lost.extend(l);
        }
        (calls, lost, tab_failures)
    });
    let took = started.elapsed();
    assert!(
        lost.is_empty(),
        "{} of {calls} calls lost:\n{}",
        lost.len(),
        lost.join("\n")
    );
    assert!(tab_failures.is_empty(), "{tab_failures:?}");
    assert!(
        took < tests::wait::scaled(Duration::from_secs(45)),
        "{calls} calls took {took:?}"
    );
    eprintln!("50 agents: {calls} calls in {took:?}");
    s.perth_within(&["action", "list-tabs"], None, DEADLINE)
        .unwrap();
}

/// What reaches a session in its first moments is not lost (issue 19, item 2): the moment
/// its socket appears, a pane is made with zdrive and a milestone logged on it; the
/// milestone's notification lights that pane once perth-core is up.
#[test]
fn a_milestone_logged_as_the_session_starts_lights_its_pane() {
    let env = tests::IsolatedEnv::new().unwrap();
    let s = PerthSession::launch(
        env,
        "e2e-early",
        120,
        40,
        &["--session", "e2e-early"],
        "the terminal started",
        |_| true,
    )
    .unwrap();
    let socket = s.socket();
    let appeared = std::time::Instant::now() + tests::wait::scaled(DEADLINE);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < appeared,
            "the session's socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let zdrive = |args: &[&str]| {
        let out = s
            .env
            .command(tests::workspace_bin("zdrive").unwrap())
            .env("ZELLIJ_SESSION_NAME", &s.name)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "zdrive {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    zdrive(&["pane", "api-server", "--tab", "backend"]);
    zdrive(&[
        "pane",
        "log",
        "api-server",
        "Implemented OAuth",
        "--type",
        "milestone",
    ]);
    tests::wait_for_with_last("the milestone's notification", DEADLINE, || {
        let out = s
            .perth_within(
                &["action", "list-notifications", "--json", "--history", "20"],
                None,
                DEADLINE,
            )
            .map_err(|e| format!("{e:#}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("Implemented OAuth") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .unwrap();
}

/// A new session's server survives every session lookup made while it starts: Zellij 0.45.1
/// panics when a connection ends before the first client's session exists, and every
/// `perth action`, `zellij list-sessions` or liveness probe in those first moments killed the
/// new session (its client left on a blank screen, "Session not found" for good). Here the
/// lookups are perth's and stock Zellij's command lines, and bare connections opened and
/// closed as soon as the socket exists (what a lookup of a busy machine looks like).
#[test]
fn a_session_looked_up_while_it_starts_comes_up() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let env = tests::IsolatedEnv::new().unwrap();
    let vars = env.envs();
    let home = env.work_dir();
    let name = "e2e-looked-up";
    let socket = env.socket_dir().join("contract_version_1").join(name);
    let mut lookups = vec![vec![
        tests::workspace_bin("perth").unwrap(),
        "list-sessions".into(),
        "--no-formatting".into(),
    ]];
    if let Some(zellij) = tests::stock_zellij("the lookups use perth's command line only") {
        lookups.push(vec![
            zellij,
            "list-sessions".into(),
            "--no-formatting".into(),
        ]);
    }
    let stop = AtomicBool::new(false);
    let made = AtomicUsize::new(0);
    let early = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for argv in &lookups {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::process::Command::new(&argv[0])
                        .args(&argv[1..])
                        .env_clear()
                        .envs(vars.iter().cloned())
                        .current_dir(&home)
                        .stdin(std::process::Stdio::null())
                        .output();
                    made.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                    early.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let started = PerthSession::launch(
            env,
            name,
            120,
            40,
            &["--session", name],
            "the terminal started",
            |_| true,
        )
        .and_then(|s| {
            let up = s.wait_for_core(1);
            stop.store(true, Ordering::Relaxed);
            up.map_err(|e| e.context(s.env.diagnostics()))?;
            Ok(s)
        });
        stop.store(true, Ordering::Relaxed);
        let s = started.unwrap();
        let (made, early) = (made.load(Ordering::Relaxed), early.load(Ordering::Relaxed));
        eprintln!("{made} lookups and {early} bare connections while the session started");
        assert!(
            made >= 2 && early >= 2,
            "the session was not looked up while it started"
        );
        let tabs = s.action(&["list-tabs", "--json"]).unwrap();
        assert!(tabs.contains("workspace"), "{tabs}");
    });
}
