//! The real coding agents in perth panes (issue "perth knows what each agent is doing"): Claude
//! Code, Gemini CLI, Codex CLI and aider, installed from their registries by the harness, each
//! started in a pane's shell and driven like a user drives it, against a local fake of its
//! provider's API. perth reads from their screens alone that they work while the fake streams,
//! wait at their permission prompt, are idle when the turn is over and exited when they quit;
//! and the hooks `perth agents hooks claude` prints move a real Claude Code's state with screen
//! detection turned off.
//!
//! The fake holds each answer until the test releases it, so a test sees the busy screen for as
//! long as it looks and waits on states, never on time.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::fake_agents_api::{FakeAgentsApi, Hold, Script};
use tests::real_agents::{self, RealAgent};
use tests::wait::{scaled, wait_for_with_last};
use tests::{require_or_skip, IsolatedEnv, PerthSession};

/// How long an agent may take to show its input box: a node agent's first start in a fresh
/// home reads its bundle and writes its configuration.
const START: Duration = Duration::from_secs(40);

/// How long a state may take to follow what the agent shows or what the fake sends.
const STATE: Duration = Duration::from_secs(20);

/// What the user asks every agent; the fake answers any prompt the same way.
const PROMPT: &str = "Create the marker file perth-was-here.txt";

/// The file the fake's command makes in the project, once the user allowed it.
const MARKER: &str = "perth-was-here.txt";

/// One real agent's command line ready to start in pane 0 of a perth session.
struct AgentPane {
    s: PerthSession,
    api: FakeAgentsApi,
    project: PathBuf,
    command_line: String,
    agent: RealAgent,
    started: Instant,
}

impl AgentPane {
    /// Installs `agent` (once per cache), starts the fake with `hold`, and a perth session
    /// whose panes start in a fresh project folder; `config` is perth's user configuration.
    /// `None` when the agent cannot be installed here and the run is not under `CI=true`.
    fn start(agent: RealAgent, session: &str, hold: Hold, config: &str) -> Option<AgentPane> {
        let started = Instant::now();
        let exe = require_or_skip(agent.name(), real_agents::ensure_installed(agent))?;
        let mut env = IsolatedEnv::new().unwrap();
        let project = env.home().join("proj");
        std::fs::create_dir_all(&project).unwrap();
        env.set_work_dir(&project);
        // The hooks call `perth` by name, as a user's shell finds it.
        let perth = tests::workspace_bin("perth").unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        env.set_var(
            "PATH",
            format!("{}:{path}", perth.parent().unwrap().display()),
        );
        if !config.is_empty() {
            let dir = env.config_dir().join("perth");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("config.kdl"), config).unwrap();
        }
        let api = FakeAgentsApi::start(Script {
            hold,
            ..Script::default()
        })
        .unwrap();
        let argv = real_agents::prepare(agent, &exe, &mut env, &api, &project).unwrap();
        let command_line = argv
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let s = PerthSession::start_in(env, session, 160, 50, &[]).unwrap();
        s.wait_for_core(1).unwrap();
        Some(AgentPane {
            s,
            api,
            project,
            command_line,
            agent,
            started,
        })
    }

    /// Types the agent's command line into the pane's shell, as a user starts it.
    fn launch(&self) {
        self.s.term.send_text(&self.command_line).unwrap();
        self.s.term.send_keys(&["Enter"]).unwrap();
    }

    /// Returns `perth agents --json`.
    fn agents(&self) -> anyhow::Result<Vec<Value>> {
        let out = self.s.perth_within(&["agents", "--json"], None, STATE)?;
        anyhow::ensure!(
            out.status.success(),
            "perth agents --json exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// What a failed wait shows: the agents perth lists, the pane and what the fake was asked.
    fn situation(&self) -> String {
        let listed = match self.agents() {
            Ok(a) => format!("{a:?}"),
            Err(e) => format!("{e:#}"),
        };
        let asked: Vec<String> = self
            .api
            .received()
            .iter()
            .map(|r| {
                let body = serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null);
                let tools = body["tools"].as_array().map_or(0, Vec::len);
                format!(
                    "{} {} ({} bytes, model {}, stream {}, {tools} tools)",
                    r.method,
                    r.target,
                    r.body.len(),
                    body["model"],
                    body["stream"]
                )
            })
            .collect();
        format!(
            "perth agents: {listed}\nthe fake was asked: {asked:#?}\nthe screen:\n{}",
            self.s.term.capture()
        )
    }

    /// Waits with `perth agents wait` until pane 0 is `state`, and returns its entry.
    fn wait_state(&self, state: &str, what: &str, timeout: Duration) -> Value {
        let secs = scaled(timeout).as_secs().max(1).to_string();
        let out = self
            .s
            .perth_within(
                &[
                    "agents",
                    "wait",
                    "--pane-id",
                    "0",
                    "--state",
                    state,
                    "--timeout",
                    &secs,
                    "--json",
                ],
                None,
                timeout + Duration::from_secs(10),
            )
            .unwrap();
        assert!(
            out.status.success(),
            "{} {what}: pane 0 did not become {state} within {secs}s ({}): {}\n{}",
            self.agent.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.situation()
        );
        let entry: Value = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!(
            "{}: {state} ({what}) at {:.1}s, from {}",
            self.agent.name(),
            self.started.elapsed().as_secs_f64(),
            entry["source"]
        );
        entry
    }

    /// Returns how many calls of the agent's turn the fake received: streamed (the answers it
    /// holds) and offering the agent's tools (aider offers none). Agents make other calls
    /// beside them, which the fake may hold too: Claude Code streams a short call without
    /// tools when a prompt is submitted, sometimes before, sometimes after its turn's call.
    fn held_calls(&self) -> usize {
        self.api
            .received()
            .iter()
            .filter(|r| {
                let body = serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null);
                let streamed = r.target.contains(":streamGenerateContent")
                    || body["stream"] == Value::Bool(true);
                let tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
                streamed && (tools || self.agent == RealAgent::Aider)
            })
            .count()
    }

    /// Waits until the fake has received `n` calls of the agent's turn ([`Self::held_calls`]),
    /// so that the next release lets the last of them go.
    fn wait_held_calls(&self, n: usize, what: &str) {
        wait_for_with_last(what, STATE, || {
            if self.held_calls() >= n {
                Ok(())
            } else {
                Err(self.situation())
            }
        })
        .unwrap();
    }

    /// Types `text` into the agent's input with `perth agents send`, Enter after it when asked.
    fn send(&self, text: &str, enter: bool) {
        let mut args = vec!["agents", "send", "--pane-id", "0"];
        if enter {
            args.push("--enter");
        }
        if !text.is_empty() {
            args.extend(["--", text]);
        }
        let out = self.s.perth_within(&args, None, STATE).unwrap();
        assert!(
            out.status.success(),
            "perth {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Types `text` into the agent's input and submits it, in one `perth agents send --enter`
    /// as a script does: perth presses Enter once the agent echoed the text and went quiet
    /// (an agent that reads a burst of keys with a carriage return close behind takes the
    /// return for part of a paste, as Codex CLI and Gemini CLI do).
    fn enter(&self, text: &str) {
        self.send(text, true);
    }

    /// Waits until the command the fake asked for has made its file in the project.
    fn wait_marker(&self) {
        let marker = self.project.join(MARKER);
        wait_for_with_last("the allowed command's marker file", STATE, || {
            if marker.is_file() {
                Ok(())
            } else {
                Err(self.situation())
            }
        })
        .unwrap();
    }
}

/// How the user answers an agent's permission prompt and leaves it.
struct Drive {
    /// The keys that allow the command once (`perth agents send` text; empty for Enter alone).
    allow: &'static str,
    /// Whether Enter follows `allow`.
    allow_enter: bool,
    /// Whether the agent sends the command's result back to its model, for a second answer
    /// (aider runs the command for the user and ends the turn).
    result_to_model: bool,
    /// The command that quits the agent, typed then entered.
    quit: &'static str,
}

/// A whole turn of `agent` with perth's screen detection: idle at its input box, working while
/// its model's answer is held, waiting at the permission prompt with the command in the
/// question, working again while the answer to the command's result is held, idle once that
/// answer is in, exited when it quits. Every state must come from the screen, and the pane's
/// program is the agent's name.
fn a_turn_read_from_the_screen(agent: RealAgent, hold: Hold, drive: Drive) {
    let session = format!("e2e-real-{}", agent.name());
    let Some(a) = AgentPane::start(agent, &session, hold, "") else {
        return;
    };
    let read = |state: &str, what: &str, timeout: Duration| {
        let entry = a.wait_state(state, what, timeout);
        assert_eq!(entry["program"], agent.name(), "{entry}");
        assert_eq!(entry["source"], "screen", "{entry}");
        entry
    };
    a.launch();
    read("idle", "its input box after start", START);

    a.enter(PROMPT);
    a.wait_held_calls(1, "the agent's first call of its model");
    read("working", "its model's answer held", STATE);

    a.api.release();
    let waiting = read("waiting", "its permission prompt", STATE);
    let question = waiting["message"].as_str().unwrap_or_default();
    assert!(
        question.contains("touch"),
        "the question names the command: {question:?}"
    );

    let calls = a.held_calls();
    a.send(drive.allow, drive.allow_enter);
    a.wait_marker();
    if drive.result_to_model {
        a.wait_held_calls(calls + 1, "the call with the command's result");
        read("working", "the answer to the command's result held", STATE);
        a.api.release();
    }
    read("idle", "the turn over", STATE);
    if drive.result_to_model {
        a.s.term
            .wait_for_text("the final answer on the screen", "Done: I created", STATE)
            .unwrap();
    }

    a.enter(drive.quit);
    // The agent's end is seen in the pane's foreground job, not on its screen.
    let exited = a.wait_state("exited", "the shell back at its prompt", STATE);
    assert_eq!(exited["program"], agent.name(), "{exited}");
    assert_eq!(exited["source"], "activity", "{exited}");
    assert_eq!(
        exited["message"],
        format!("{} ended", agent.name()),
        "{exited}"
    );
    eprintln!(
        "{}: whole turn in {:.1}s",
        agent.name(),
        a.started.elapsed().as_secs_f64()
    );
}

#[test]
fn real_claude_code_works_waits_idles_and_exits() {
    a_turn_read_from_the_screen(
        RealAgent::Claude,
        Hold::AfterFirstPart,
        Drive {
            allow: "",
            allow_enter: true,
            result_to_model: true,
            quit: "/exit",
        },
    );
}

#[test]
fn real_gemini_cli_works_waits_idles_and_exits() {
    a_turn_read_from_the_screen(
        RealAgent::Gemini,
        Hold::AfterFirstPart,
        Drive {
            allow: "",
            allow_enter: true,
            result_to_model: true,
            quit: "/quit",
        },
    );
}

#[test]
fn real_codex_cli_works_waits_idles_and_exits() {
    // Codex hides its busy line while it streams text, so the answer is held before its
    // first token, where Codex shows "Working (… esc to interrupt)".
    a_turn_read_from_the_screen(
        RealAgent::Codex,
        Hold::BeforeFirstToken,
        Drive {
            allow: "y",
            allow_enter: false,
            result_to_model: true,
            quit: "/quit",
        },
    );
}

#[test]
fn real_aider_works_waits_idles_and_exits() {
    a_turn_read_from_the_screen(
        RealAgent::Aider,
        Hold::BeforeFirstToken,
        Drive {
            allow: "y",
            allow_enter: true,
            result_to_model: false,
            quit: "/exit",
        },
    );
}

/// `perth agents hooks claude`, merged into the isolated home's `~/.claude/settings.json` as
/// its first line says, with perth's screen detection off: a real Claude Code's own hooks move
/// the pane's state, each change from the command line (`source` is `cli`).
#[test]
fn real_claude_codes_hooks_move_the_state_with_detection_off() {
    let Some(a) = AgentPane::start(
        RealAgent::Claude,
        "e2e-real-claude-hooks",
        Hold::AfterFirstPart,
        "perth {\n    agents {\n        detect false\n    }\n}\n",
    ) else {
        return;
    };
    let out = a.s.perth_plain(&["agents", "hooks", "claude"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    // The snippet says where it goes, then the JSON to merge there.
    assert!(printed.contains("~/.claude/settings.json"), "{printed}");
    let json = &printed[printed.find('{').unwrap()..];
    let hooks: Value = serde_json::from_str(json).unwrap();
    let settings = a.s.env.home().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, hooks.to_string()).unwrap();

    a.launch();
    // Claude's input box, on the screen but not read: with detection off the pane is no agent
    // until a hook says otherwise.
    a.s.term
        .wait_for_screen("Claude Code's input box", START, |screen| {
            screen.contains("? for shortcuts")
        })
        .unwrap();
    let listed = a.agents().unwrap();
    assert!(listed.is_empty(), "no state without a hook: {listed:?}");

    a.enter(PROMPT);
    let working = a.wait_state("working", "UserPromptSubmit", STATE);
    assert_eq!(working["source"], "cli", "{working}");

    a.wait_held_calls(1, "Claude Code's first call of its model");
    a.api.release();
    let waiting = a.wait_state("waiting", "Notification at the permission prompt", STATE);
    assert_eq!(waiting["source"], "cli", "{waiting}");
    let message = waiting["message"].as_str().unwrap_or_default();
    // Claude Code says this a few seconds after the prompt shows (its screen says it at once).
    assert!(
        message.contains("needs your permission"),
        "the hook's message: {message:?}"
    );

    let calls = a.held_calls();
    a.send("", true);
    a.wait_marker();
    a.wait_held_calls(calls + 1, "the call with the command's result");
    // The PostToolUse hook: Claude Code works again once the command it was allowed ran.
    let working = a.wait_state("working", "PostToolUse", STATE);
    assert_eq!(working["source"], "cli", "{working}");
    assert_eq!(working["program"], "claude", "{working}");
    a.api.release();
    let idle = a.wait_state("idle", "Stop", STATE);
    assert_eq!(idle["source"], "cli", "{idle}");

    a.enter("/exit");
    a.s.term
        .wait_for_screen(
            "Claude Code's farewell, then the shell's prompt",
            STATE,
            |screen| {
                screen
                    .rsplit_once("Resume this session with")
                    .is_some_and(|(_, after)| after.contains(tests::isolate::PROMPT.trim()))
            },
        )
        .unwrap();
    // The shell has the terminal again when it runs a command.
    a.s.term.send_text("echo shell-$((6 * 7))").unwrap();
    a.s.term.send_keys(&["Enter"]).unwrap();
    a.s.term
        .wait_for_text("the shell back after /exit", "shell-42", STATE)
        .unwrap();
    // The SessionEnd hook: the pane is `exited` although nothing reads its screen.
    let exited = a.wait_state("exited", "SessionEnd", STATE);
    assert_eq!(exited["source"], "cli", "{exited}");
}
