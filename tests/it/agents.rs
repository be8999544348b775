//! Agent awareness end to end (issue "perth knows what each agent is doing"): states set by
//! the command line, the `perth::agent` pipe and the escape sequence a program prints, listed
//! and awaited by scripts, and a pane that starts waiting lit for a user looking elsewhere.

use std::time::Duration;

use tests::{wait_for_with_last, PerthSession};

const WAIT: Duration = Duration::from_secs(15);

fn agents(s: &PerthSession) -> Vec<serde_json::Value> {
    let out = s.perth_within(&["agents", "--json"], None, WAIT).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn code(out: &std::process::Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn agent_states_come_from_cli_pipe_and_escape_and_scripts_can_wait_for_them() {
    let s = PerthSession::start("e2e-agents").unwrap();
    s.wait_for_core(1).unwrap();

    // The escape sequence, printed by the program in pane 0.
    s.term
        .send_text("printf '\\033]777;perth-agent;working;reading the code\\007'")
        .unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    let out = s
        .perth_within(
            &[
                "agents",
                "wait",
                "--pane-id",
                "0",
                "--state",
                "working",
                "--json",
                "--timeout",
                "10",
            ],
            None,
            WAIT,
        )
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", code(&out).1);
    let hit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(hit["source"], "escape");
    assert_eq!(hit["message"], "reading the code");

    // A second pane takes the focus; pane 0 then asks its user something.
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    s.wait_for_core(2).unwrap();
    let out = s
        .perth_within(
            &[
                "action",
                "agent-state",
                "--pane-id",
                "terminal_0",
                "--state",
                "waiting",
                "--message",
                "Allow edit of src/\x1b[31mmain.rs?",
            ],
            None,
            WAIT,
        )
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", code(&out).1);
    let listed = agents(&s);
    assert_eq!(listed[0]["pane_id"], 0, "{listed:?}");
    assert_eq!(listed[0]["state"], "waiting");
    assert_eq!(listed[0]["message"], "Allow edit of src/main.rs?");
    // The pane's border shows the question to a user looking at the other pane.
    let screen = s
        .term
        .wait_for_text(
            "the question on pane 0's border",
            "Allow edit of src/",
            WAIT,
        )
        .unwrap();
    assert!(!screen.contains('\u{1b}'), "the question is shown inert");
    let notes: serde_json::Value =
        serde_json::from_str(&s.action(&["list-notifications", "--json"]).unwrap()).unwrap();
    assert_eq!(notes["active"][0]["source"], "agent", "{notes}");
    assert_eq!(notes["active"][0]["style"], "warning", "{notes}");

    // The pipe, as hooks and scripts outside the pane send it.
    let out = s
        .perth_within(
            &[
                "pipe",
                "--name",
                "perth::agent",
                "--args",
                "pane_id=0,state=idle",
                "--",
                "turn over",
            ],
            None,
            WAIT,
        )
        .unwrap();
    assert!(out.status.success(), "{}", code(&out).1);
    wait_for_with_last("pane 0 idle", WAIT, || {
        let listed = agents(&s);
        if listed
            .iter()
            .any(|a| a["state"] == "idle" && a["message"] == "turn over")
        {
            Ok(())
        } else {
            Err(format!("{listed:?}"))
        }
    })
    .unwrap();

    // The listing says where the pane is; its frame shows the state beside its title.
    let listed = agents(&s);
    assert_eq!(listed[0]["tab"], "workspace", "{listed:?}");
    assert!(listed[0]["pane_name"].is_string(), "{listed:?}");
    s.term
        .wait_for_text("pane 0's badge beside its title", "✓ idle", WAIT)
        .unwrap();

    // A script types into the agent's input, as its user would; Enter submits it.
    let out = s
        .perth_within(
            &[
                "agents",
                "send",
                "--pane-id",
                "0",
                "--enter",
                "--",
                "echo $((40+2))-typed",
            ],
            None,
            WAIT,
        )
        .unwrap();
    assert!(out.status.success(), "{}", code(&out).1);
    s.term
        .wait_for_text("the typed command's output", "42-typed", WAIT)
        .unwrap();
    let out = s
        .perth_within(
            &["agents", "send", "--pane-id", "77", "--", "x"],
            None,
            WAIT,
        )
        .unwrap();
    let (exit, stderr) = code(&out);
    assert_eq!(exit, Some(1), "{stderr}");
    assert!(stderr.contains("no pane terminal_77"), "{stderr}");

    // Claude Code's Notification hook, as `perth agents hooks claude` sets it up: its JSON
    // on standard input, nothing printed for the agent to read.
    let out = s
        .perth_within(
            &["action", "agent-state", "--pane-id", "0", "--quiet", "--state", "waiting", "--message-stdin"],
            Some(r#"{"session_id":"s1","hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}"#),
            WAIT,
        )
        .unwrap();
    assert!(out.status.success(), "{}", code(&out).1);
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let listed = agents(&s);
    assert_eq!(
        listed[0]["message"], "Claude needs your permission to use Bash",
        "{listed:?}"
    );

    // Mistakes get clear errors.
    let out = s
        .perth_within(
            &[
                "action",
                "agent-state",
                "--pane-id",
                "0",
                "--state",
                "asleep",
            ],
            None,
            WAIT,
        )
        .unwrap();
    let (exit, stderr) = code(&out);
    assert_eq!(exit, Some(2), "{stderr}");
    assert!(
        stderr.contains("waiting, working, idle, exited"),
        "{stderr}"
    );
    let out = s
        .perth_within(
            &[
                "action",
                "agent-state",
                "--pane-id",
                "77",
                "--state",
                "idle",
            ],
            None,
            WAIT,
        )
        .unwrap();
    let (exit, stderr) = code(&out);
    assert_eq!(exit, Some(1), "{stderr}");
    assert!(stderr.contains("no pane terminal_77"), "{stderr}");
    let out = s
        .perth_within(
            &["agents", "wait", "--state", "exited", "--timeout", "1"],
            None,
            WAIT,
        )
        .unwrap();
    let (exit, stderr) = code(&out);
    assert_eq!(exit, Some(1), "{stderr}");
    assert!(stderr.contains("became exited within 1s"), "{stderr}");

    // A wait on a session that ends says so.
    let waiter = {
        let mut cmd = s.env.command(tests::workspace_bin("perth").unwrap());
        cmd.args([
            "--session",
            "e2e-agents",
            "agents",
            "wait",
            "--state",
            "exited",
            "--timeout",
            "60",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let out = s.perth_plain(&["kill-session", "e2e-agents"]).unwrap();
    assert!(out.status.success(), "{}", code(&out).1);
    let out = waiter.wait_with_output().unwrap();
    let (exit, stderr) = code(&out);
    assert_eq!(exit, Some(3), "{stderr}");
    assert!(stderr.contains("session ended"), "{stderr}");
}

/// Starts session `name` (160x50, perth-core linked) and writes a program the kernel names
/// `claude` into its home, running `body` (shell) with `$SCREENS` the recorded agent screens;
/// returns the session and the program's path.
fn session_with_fake_claude(name: &str, body: &str) -> (PerthSession, std::path::PathBuf) {
    let s = PerthSession::start_in(tests::IsolatedEnv::new().unwrap(), name, 160, 50, &[]).unwrap();
    s.wait_for_core(1).unwrap();
    let screens = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../perth/tests/fixtures/agent-screens");
    let bin = s.env.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let agent = bin.join("claude");
    std::fs::write(
        &agent,
        format!("#!/bin/sh\nSCREENS='{}'\n{body}", screens.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    (s, agent)
}

/// The recorded screens of a real Claude Code, replayed by a program that the kernel names
/// `claude`: perth reads working, waiting (with the question) and idle from the screen alone,
/// with no hook or escape sequence, and `exited` when the shell has the terminal again.
#[test]
fn a_known_agents_screen_tells_its_state_without_any_signal() {
    let step = |fixture: &str| format!("clear; cat \"$SCREENS/{fixture}\"; read _\n");
    let (s, agent) = session_with_fake_claude(
        "e2e-agent-screens",
        &[
            step("claude-working-1.txt"),
            step("claude-waiting-bash.txt"),
            step("claude-idle-1.txt"),
        ]
        .concat(),
    );
    s.term.send_text(&agent.display().to_string()).unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    let expect = |state: &str, what: &str| {
        wait_for_with_last(what, WAIT, || {
            let listed = agents(&s);
            match listed.iter().find(|a| a["pane_id"] == 0) {
                Some(a) if a["state"] == state => Ok(a.clone()),
                _ => Err(format!("{listed:?}\n{}", s.term.capture())),
            }
        })
        .unwrap()
    };
    let working = expect("working", "the busy line read as working");
    assert_eq!(working["program"], "claude");
    assert_eq!(working["source"], "screen");
    s.term.send_keys(&["Enter"]).unwrap();
    let waiting = expect("waiting", "the permission prompt read as waiting");
    let question = waiting["message"].as_str().unwrap_or_default();
    assert!(question.contains("Do you want to proceed?"), "{question}");
    // The tab bar counts the waiting agent, in the warning colour.
    wait_for_with_last("the tab bar's count of waiting agents", WAIT, || {
        let bar = s.term.capture_colored();
        let first = bar.lines().next().unwrap_or_default().to_string();
        if first.contains("✋1") {
            Ok(())
        } else {
            Err(first)
        }
    })
    .unwrap();
    // The pane's frame says it too, beside its title, in a colour of its own (the warning's);
    // the frame is drawn at the session's next render, which may come after the tab bar's.
    let title = wait_for_with_last("the badge on the frame", WAIT, || {
        let coloured = s.term.capture_colored();
        match coloured.lines().find(|l| l.contains("✋ waiting")) {
            Some(line) => Ok(line.to_owned()),
            None => Err(coloured),
        }
    })
    .unwrap();
    assert!(title.contains("38;2;"), "{title:?}");
    s.term.send_keys(&["Enter"]).unwrap();
    expect("idle", "the input box read as idle");
    s.term.send_keys(&["Enter"]).unwrap();
    let exited = expect("exited", "the shell back at the prompt");
    assert_eq!(exited["message"], "claude ended");
    // Every change is a workspace event, as `perth events` shows.
    wait_for_with_last("the agent's changes among perth's events", WAIT, || {
        let out = s.perth_plain(&["events", "--last", "20"]).unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let changes = text.matches("workspace.agent.state_changed").count();
        if changes >= 4 && text.contains("e2e-agent-screens/terminal_0") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .unwrap();
}

/// Bad input for agent awareness: an agent that floods its pane with megabytes of binary
/// garbage leaves the session answering and its state readable, and a pane closed in the
/// middle of its changes leaves no state behind.
#[test]
fn a_flooding_agent_and_a_pane_closed_mid_change_lose_nothing_else() {
    // 8 MB of random bytes as fast as the pane takes them, then Claude Code's prompt.
    let (s, agent) = session_with_fake_claude(
        "e2e-agent-flood",
        "head -c 8388608 /dev/urandom\nclear; cat \"$SCREENS/claude-waiting-bash.txt\"; read _\n",
    );
    // A second pane whose agent reports itself, closed below in the middle of its changes.
    s.action(&["new-pane", "--direction", "right"]).unwrap();
    s.wait_for_core(2).unwrap();
    s.action(&["focus-previous-pane"]).unwrap();
    s.term.send_text(&agent.display().to_string()).unwrap();
    s.term.send_keys(&["Enter"]).unwrap();
    // While the garbage streams, the session answers every call.
    for _ in 0..5 {
        let listed = agents(&s);
        assert!(listed.iter().all(|a| a["pane_id"] != 1), "{listed:?}");
    }
    let waiting = wait_for_with_last(
        "the prompt after the flood read as waiting",
        WAIT * 4,
        || {
            let listed = agents(&s);
            match listed.iter().find(|a| a["pane_id"] == 0) {
                Some(a) if a["state"] == "waiting" => Ok(a.clone()),
                _ => Err(format!("{listed:?}")),
            }
        },
    )
    .unwrap();
    assert_eq!(waiting["program"], "claude", "{waiting}");

    // Pane 1 changes state while it closes: whatever order they land in, no state is left for
    // a pane that is gone.
    let states = ["working", "waiting", "idle", "working"];
    let setter = {
        let perth = tests::workspace_bin("perth").unwrap();
        let mut script = String::new();
        for state in states {
            script.push_str(&format!(
                "'{}' --session e2e-agent-flood action agent-state --pane-id 1 --state {state} --quiet 2>/dev/null\n",
                perth.display()
            ));
        }
        let mut cmd = s.env.command("sh");
        cmd.args(["-c", &script]);
        cmd.spawn().unwrap()
    };
    s.action(&["close-pane", "--pane-id", "terminal_1"])
        .unwrap();
    let out = setter.wait_with_output().unwrap();
    assert!(out.status.code().is_some(), "the setter was killed");
    wait_for_with_last("no state for the closed pane", WAIT, || {
        let listed = agents(&s);
        if listed.iter().any(|a| a["pane_id"] == 1) {
            Err(format!("{listed:?}"))
        } else {
            Ok(())
        }
    })
    .unwrap();
    // The agent that flooded is still listed and the session still answers.
    let listed = agents(&s);
    assert!(listed.iter().any(|a| a["pane_id"] == 0), "{listed:?}");
}
