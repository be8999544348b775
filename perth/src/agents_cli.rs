//! `perth action agent-state` and `perth agents [wait]`: the command-line side of agent
//! awareness (DESIGN.md D12), talking to the session's server over its control socket.

use std::time::{Duration, Instant};

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::agent_state::{AgentPane, AgentState};
use crate::control::{self, ControlRequest, ControlResponse};
use crate::exit::UNAVAILABLE as EXIT_UNAVAILABLE;
use crate::notify::bus::PaneRef;
use crate::notify_cli::{json_arg, pane_arg, pane_or_env};

/// The action this module adds to `perth action`.
pub const ACTION: &str = "agent-state";

fn state_arg(help: &'static str) -> Arg {
    Arg::new("state")
        .long("state")
        .short('s')
        .value_name("STATE")
        .help(help)
        .value_parser(|s: &str| s.parse::<AgentState>())
}

/// `perth action agent-state`.
pub fn action() -> Command {
    Command::new(ACTION)
        .about("Set what the coding agent in a pane is doing: waiting, working, idle or exited")
        .after_help(
            "Hooks of coding agents call this, and so can any script. A program in a pane can \
             say the same by printing ESC ] 777 ; perth-agent ; STATE ; MESSAGE BEL, and a \
             script anywhere with `zellij pipe --name perth::agent --args \
             pane_id=ID,state=STATE -- MESSAGE`.\n\n\
             Examples:\n  \
             perth action agent-state --state waiting --message \"Allow edit of src/main.rs?\"\n  \
             perth action agent-state --pane-id terminal_3 --state idle",
        )
        .arg(pane_arg(
            "The agent's pane (3, terminal_3); defaults to $ZELLIJ_PANE_ID, the pane it runs in",
        ))
        .arg(state_arg("waiting, working, idle or exited").required(true))
        .arg(
            Arg::new("message")
                .long("message")
                .short('m')
                .value_name("TEXT")
                .help("What it asks or did (shown inert, at most 200 characters)"),
        )
        .arg(
            Arg::new("message-stdin")
                .long("message-stdin")
                .action(ArgAction::SetTrue)
                .conflicts_with("message")
                .help(
                    "Read the message from standard input: a hook's JSON (its `message` field) \
                     or plain text",
                ),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("Print nothing on success (hooks whose output the agent reads)"),
        )
        .arg(
            Arg::new("hook-payload")
                .value_name("JSON")
                .hide(true)
                .help("The JSON an agent's notify hook appends (Codex CLI); its message is used"),
        )
        .arg(json_arg())
}

pub use crate::agent_hooks::{hook_snippet, HOOK_AGENTS};

/// Returns the message of a hook's JSON (`message`, Codex's `last-assistant-message`), or the
/// text itself when it is not JSON.
pub fn hook_message(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() => [
            "message",
            "last-assistant-message",
            "last_assistant_message",
        ]
        .iter()
        .find_map(|k| v[*k].as_str())
        .map(str::to_string),
        _ => Some(text.to_string()),
    }
}

/// `perth agents`.
pub fn command() -> Command {
    Command::new("agents")
        .about("List the coding agents of the session and what each is doing, waiting ones first")
        .arg(json_arg())
        .arg(
            Arg::new("all-sessions")
                .long("all-sessions")
                .short('a')
                .action(ArgAction::SetTrue)
                .help("List the agents of every running perth session, each with its session"),
        )
        .subcommand(
            Command::new("hooks")
                .about("Print or install the hook set-up that makes an agent report its state")
                .after_help(
                    "--install merges the set-up into the agent's configuration file (Claude \
                     Code: ~/.claude/settings.json, Gemini CLI: ~/.gemini/settings.json, Codex \
                     CLI: ~/.codex/config.toml, aider: ~/.aider.conf.yml) and keeps a copy of \
                     the file as FILE.perth-backup; a second install changes nothing, and a \
                     setting of yours it would replace is left alone with an error.",
                )
                .arg(
                    Arg::new("agent")
                        .required(true)
                        .value_parser(HOOK_AGENTS)
                        .help("Which agent's configuration to print or install"),
                )
                .arg(
                    Arg::new("install")
                        .long("install")
                        .action(ArgAction::SetTrue)
                        .help("Write it into the agent's configuration file"),
                )
                .arg(
                    Arg::new("project")
                        .long("project")
                        .value_name("DIR")
                        .value_parser(clap::value_parser!(std::path::PathBuf))
                        .requires("install")
                        .help("Claude Code: install into DIR/.claude/settings.json instead"),
                ),
        )
        .subcommand(
            Command::new("send")
                .about("Type text into an agent's input, as if its user typed it")
                .after_help(
                    "With --enter the text goes as one paste (bracketed, as a terminal pastes), \
                     so the agent takes it whole, and Enter follows once the agent has shown \
                     it; without, one line is typed as keys (an answer such as `y`) and several \
                     lines go as one paste. Control characters other than new lines and tabs \
                     are dropped. `-` reads the text from standard input.\n\n\
                     Examples:\n  \
                     perth agents send --pane-id 3 --enter -- \"run the tests again\"\n  \
                     git diff | perth agents send --pane-id terminal_5 -",
                )
                .arg(pane_arg("The agent's pane (3, terminal_3)").required(true))
                .arg(
                    Arg::new("enter")
                        .long("enter")
                        .action(ArgAction::SetTrue)
                        .help("Press Enter after the text (submits it)"),
                )
                .arg(
                    Arg::new("text")
                        .value_name("TEXT")
                        .num_args(1..)
                        .allow_hyphen_values(true)
                        .trailing_var_arg(true)
                        .help(
                            "What to type (words are joined with spaces); - reads standard input",
                        ),
                )
                .arg(json_arg()),
        )
        .subcommand(
            Command::new("wait")
                .about("Wait until an agent pane (or a given one) reaches a state")
                .after_help(
                    "Exits 0 when the state is reached (printing the pane), 1 when the timeout \
                     passes first, 3 when the session ends or cannot be reached.",
                )
                .arg(pane_arg("Wait for this pane only (3, terminal_3)"))
                .arg(state_arg("The state to wait for (default: waiting)").default_value("waiting"))
                .arg(
                    Arg::new("timeout")
                        .long("timeout")
                        .value_name("SECS")
                        .default_value("600")
                        .help("Give up after this many seconds")
                        .value_parser(clap::value_parser!(u64)),
                )
                .arg(json_arg()),
        )
}

/// Runs `perth action agent-state`; returns the exit code.
pub fn run_action(matches: &ArgMatches, session_flag: Option<String>) -> i32 {
    let pane = match pane_or_env(matches) {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let Some(state) = matches.get_one::<AgentState>("state").copied() else {
        return usage("pass --state waiting|working|idle|exited");
    };
    let message = if matches.get_flag("message-stdin") {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), 64 << 10),
            &mut text,
        );
        hook_message(&text)
    } else {
        matches.get_one::<String>("message").cloned().or_else(|| {
            matches
                .get_one::<String>("hook-payload")
                .and_then(|p| hook_message(p))
        })
    };
    let request = ControlRequest::AgentState {
        pane,
        state,
        message,
    };
    match ask(session_flag, &request) {
        Ok(_) if matches.get_flag("quiet") => 0,
        Ok(agents) => {
            if matches.get_flag("json") {
                print_json(&agents.first());
            } else if let Some(a) = agents.first() {
                println!("{}", line(a, now_ms()));
            }
            0
        }
        Err(code) => code,
    }
}

fn install_hooks(agent: &str, project: Option<&std::path::PathBuf>) -> i32 {
    let Some(home) = std::env::var_os("HOME").map(std::path::PathBuf::from) else {
        eprintln!("perth: HOME is not set; cannot find {agent}'s configuration");
        return 1;
    };
    if project.is_some() && agent != "claude" {
        return usage("--project is for Claude Code's project settings (claude)");
    }
    match crate::agent_hooks::install(agent, &home, project.map(|p| p.as_path())) {
        Ok(crate::agent_hooks::Installed::Written(file)) => {
            println!("installed perth's {agent} hooks in {}", file.display());
            0
        }
        Ok(crate::agent_hooks::Installed::Unchanged(file)) => {
            println!("{} already holds perth's {agent} hooks", file.display());
            0
        }
        Err(message) => {
            eprintln!("perth: {message}");
            1
        }
    }
}

/// Runs `perth agents [wait|send|hooks]`; returns the exit code.
pub fn run(matches: &ArgMatches, session_flag: Option<String>) -> i32 {
    if let Some(wait) = matches.subcommand_matches("wait") {
        return run_wait(wait, session_flag);
    }
    if let Some(send) = matches.subcommand_matches("send") {
        return run_send(send, session_flag);
    }
    if let Some(hooks) = matches.subcommand_matches("hooks") {
        let agent = hooks.get_one::<String>("agent").map_or("", String::as_str);
        if hooks.get_flag("install") {
            return install_hooks(agent, hooks.get_one::<std::path::PathBuf>("project"));
        }
        return match hook_snippet(agent) {
            Some(snippet) => {
                print!("{snippet}");
                0
            }
            None => usage(&format!(
                "no hook set-up for {agent}; use one of {HOOK_AGENTS:?}"
            )),
        };
    }
    let listed = if matches.get_flag("all-sessions") {
        Ok(every_sessions_agents())
    } else {
        ask(session_flag, &ControlRequest::ListAgents)
    };
    match listed {
        Ok(agents) => {
            if matches.get_flag("json") {
                print_json(&agents);
            } else if agents.is_empty() {
                println!("no agent panes (agents report with `perth action agent-state`)");
            } else {
                let now = now_ms();
                for a in &agents {
                    println!("{}", line(a, now));
                }
            }
            0
        }
        Err(code) => code,
    }
}

/// The most text `perth agents send` types at once.
const MAX_SEND: u64 = 1 << 20;

fn run_send(matches: &ArgMatches, session_flag: Option<String>) -> i32 {
    let Some(pane) = matches.get_one::<PaneRef>("pane-id").copied() else {
        return usage("pass --pane-id ID");
    };
    let words: Vec<&String> = matches
        .get_many::<String>("text")
        .map(Iterator::collect)
        .unwrap_or_default();
    let text = if words.len() == 1 && words[0] == "-" {
        let mut text = String::new();
        let read = std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin(), MAX_SEND + 1),
            &mut text,
        );
        if let Err(e) = read {
            return usage(&format!("cannot read the text from standard input: {e}"));
        }
        if text.len() as u64 > MAX_SEND {
            return usage("the text is over 1 MiB; send it in parts");
        }
        text
    } else {
        words
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let enter = matches.get_flag("enter");
    if text.is_empty() && !enter {
        return usage("nothing to send: pass the text (or - to read it), or --enter");
    }
    let session = match crate::call_cli::target_session(session_flag) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("perth: {message}");
            return EXIT_UNAVAILABLE;
        }
    };
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let request = ControlRequest::SendText { pane, text, enter };
    match control::request(&sock_dir, &session, &request, Duration::from_secs(10)) {
        Ok(ControlResponse::Sent { bytes }) => {
            if matches.get_flag("json") {
                print_json(&serde_json::json!({ "pane": pane.to_string(), "bytes": bytes }));
            }
            0
        }
        Ok(ControlResponse::Error { message }) => {
            eprintln!("perth: {message}");
            1
        }
        Ok(other) => control::unexpected_answer(&other),
        Err(e) => {
            eprintln!("perth: {e}");
            EXIT_UNAVAILABLE
        }
    }
}

fn run_wait(matches: &ArgMatches, session_flag: Option<String>) -> i32 {
    let pane = match matches.get_one::<PaneRef>("pane-id").copied() {
        Some(PaneRef::Terminal(id)) => Some(id),
        Some(p @ PaneRef::Plugin(_)) => {
            return usage(&format!(
                "{p} is a plugin pane; agents run in terminal panes"
            ))
        }
        None => None,
    };
    let state = matches
        .get_one::<AgentState>("state")
        .copied()
        .unwrap_or(AgentState::Waiting);
    let timeout = Duration::from_secs(matches.get_one::<u64>("timeout").copied().unwrap_or(600));
    let deadline = Instant::now() + timeout;
    loop {
        let agents = match ask(session_flag.clone(), &ControlRequest::ListAgents) {
            Ok(a) => a,
            Err(_) => {
                eprintln!("perth: the session ended or cannot be reached; nothing to wait for");
                return EXIT_UNAVAILABLE;
            }
        };
        if let Some(hit) = agents
            .iter()
            .find(|a| a.state == state && pane.is_none_or(|p| p == a.pane_id))
        {
            if matches.get_flag("json") {
                print_json(hit);
            } else {
                println!("{}", line(hit, now_ms()));
            }
            return 0;
        }
        if Instant::now() >= deadline {
            eprintln!(
                "perth: no agent pane{} became {state} within {}s",
                pane.map(|p| format!(" terminal_{p}")).unwrap_or_default(),
                timeout.as_secs()
            );
            return 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The agents of every running perth session, waiting ones first; a session that does not
/// answer (or is stock Zellij's) is left out with a line on standard error.
fn every_sessions_agents() -> Vec<AgentPane> {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let sessions = session_ipc::call::sessions(&sock_dir, Duration::from_secs(2));
    let mut all = Vec::new();
    for (name, _) in sessions {
        match control::request(
            &sock_dir,
            &name,
            &ControlRequest::ListAgents,
            Duration::from_secs(5),
        ) {
            Ok(ControlResponse::Agents { agents }) => {
                all.extend(agents.into_iter().map(|mut a| {
                    a.place.session = Some(name.clone());
                    a
                }));
            }
            Ok(_) => {}
            Err(crate::control::ControlError::NotRunning { .. }) => {}
            Err(e) => eprintln!("perth: {e}"),
        }
    }
    all.sort_by_key(|a| (a.state, a.since_ms, a.pane_id));
    all
}

/// Asks the session's server; on failure prints why and returns the exit code.
fn ask(session_flag: Option<String>, request: &ControlRequest) -> Result<Vec<AgentPane>, i32> {
    let session = crate::call_cli::target_session(session_flag).map_err(|message| {
        eprintln!("perth: {message}");
        EXIT_UNAVAILABLE
    })?;
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    match control::request(&sock_dir, &session, request, Duration::from_secs(5)) {
        Ok(ControlResponse::Agents { agents }) => Ok(agents),
        Ok(ControlResponse::Error { message }) => {
            eprintln!("perth: {message}");
            Err(1)
        }
        Ok(other) => Err(control::unexpected_answer(&other)),
        Err(e) => {
            eprintln!("perth: {e}");
            Err(EXIT_UNAVAILABLE)
        }
    }
}

/// Returns one listing line: `terminal_3  waiting  12s  Allow edit of src/main.rs?`.
pub fn line(a: &AgentPane, now_ms: u64) -> String {
    let ago = now_ms.saturating_sub(a.since_ms) / 1000;
    let since = if ago < 60 {
        format!("{ago}s")
    } else if ago < 3600 {
        format!("{}m", ago / 60)
    } else {
        format!("{}h", ago / 3600)
    };
    let program = a.program.as_deref().unwrap_or("-");
    let mut out = format!(
        "terminal_{:<4} {program:<8} {:<8} {since:>4}",
        a.pane_id, a.state
    );
    if let Some(session) = &a.place.session {
        out.push_str(&format!("  {session}:"));
    }
    match (&a.place.tab, &a.place.pane_name) {
        (Some(tab), Some(name)) => out.push_str(&format!("  {tab} › {name}")),
        (Some(tab), None) => out.push_str(&format!("  {tab}")),
        (None, Some(name)) => out.push_str(&format!("  {name}")),
        (None, None) => {}
    }
    if a.restored {
        out.push_str("  (restored)");
    }
    if let Some(m) = &a.message {
        out.push_str("  ");
        out.push_str(m);
    }
    out
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    );
}

fn now_ms() -> u64 {
    bridge_runtime::unix_millis()
}

fn usage(message: &str) -> i32 {
    eprintln!("perth: {message}");
    2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_unknown_states_are_usage_errors() {
        action().debug_assert();
        command().debug_assert();
        let err = action()
            .try_get_matches_from(["agent-state", "--state", "dreaming"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("waiting, working, idle, exited"),
            "{err}"
        );
        let m = command()
            .try_get_matches_from(["agents", "wait", "--pane-id", "3", "--timeout", "5"])
            .unwrap();
        let wait = m.subcommand_matches("wait").unwrap();
        assert_eq!(
            wait.get_one::<AgentState>("state"),
            Some(&AgentState::Waiting)
        );
    }

    #[test]
    fn hook_json_gives_the_message() {
        assert_eq!(
            hook_message(
                r#"{"session_id":"x","message":"Claude needs your permission to use Bash"}"#
            ),
            Some("Claude needs your permission to use Bash".into())
        );
        assert_eq!(
            hook_message(r#"{"type":"agent-turn-complete","last-assistant-message":"Done."}"#),
            Some("Done.".into())
        );
        assert_eq!(hook_message("plain words\n"), Some("plain words".into()));
        assert_eq!(hook_message(" "), None);
        let m = action()
            .try_get_matches_from(["agent-state", "--state", "idle", "--quiet", r#"{"x":1}"#])
            .unwrap();
        assert!(m.get_flag("quiet"));
    }

    #[test]
    fn send_takes_its_session_pane_and_text() {
        let m = command()
            .try_get_matches_from([
                "agents",
                "send",
                "--pane-id",
                "3",
                "--enter",
                "--",
                "- item",
            ])
            .unwrap();
        let send = m.subcommand_matches("send").unwrap();
        assert!(send.get_flag("enter"));
        assert_eq!(
            send.get_many::<String>("text").unwrap().collect::<Vec<_>>(),
            ["- item"]
        );
        let err = command()
            .try_get_matches_from(["agents", "send", "hello"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn lines_show_pane_state_age_and_message() {
        let a = AgentPane {
            pane_id: 3,
            state: AgentState::Waiting,
            since_ms: 1_000,
            message: Some("Allow edit?".into()),
            source: crate::agent_state::SignalSource::Cli,
            exit_status: None,
            program: None,
            place: Default::default(),
            restored: false,
        };
        assert_eq!(
            line(&a, 13_500),
            "terminal_3    -        waiting  12s  Allow edit?"
        );
        let read = AgentPane {
            program: Some("claude".into()),
            source: crate::agent_state::SignalSource::Screen,
            ..a
        };
        assert_eq!(
            line(&read, 13_500),
            "terminal_3    claude   waiting  12s  Allow edit?"
        );
    }
}
