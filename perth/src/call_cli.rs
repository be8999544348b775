//! `perth action ...` and `perth pipe ...`: the command line of Zellij's CLI client, spoken
//! through the one session client (`session_ipc::call`, DESIGN.md D13) so that every wait
//! has a deadline (zellij #5400: a wedged server made every CLI call hang) and a call that
//! may have taken effect is never sent twice.
//!
//! What it prints and its exit statuses are those of `zellij action` / `zellij pipe`, plus
//! one: 3 when the session does not answer within the deadline (`PERTH_CALL_TIMEOUT`
//! seconds, 10 by default), could not be reached, or closed the connection before saying
//! whether the call took effect.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use session_ipc::call::{self, CallError, Caller, PipeEnd, PipeMessage};
use zellij_utils::input::actions::Action;

/// The deadline of each wait, from `PERTH_CALL_TIMEOUT`; a bad value is the user's error.
pub fn deadline() -> Result<Duration, String> {
    call::deadline_from(std::env::var(call::DEADLINE_ENV).ok().as_deref())
}

/// Connects to the session `session` (each wait of the calls after it bounded by `deadline`).
pub fn connect(session: &str, deadline: Duration) -> Result<Caller, CallError> {
    let socket = zellij_utils::consts::ZELLIJ_SOCK_DIR.join(session);
    let pane_id = std::env::var("ZELLIJ_PANE_ID")
        .ok()
        .and_then(|id| id.trim().parse().ok());
    let mut caller = Caller::new(session, &socket, deadline).from_pane(pane_id);
    caller.connect()?;
    Ok(caller)
}

/// Runs `actions` through `caller` as Zellij's CLI client does; returns the exit status.
pub fn run(mut caller: Caller, actions: Vec<Action>) -> i32 {
    let stdin = std::io::stdin();
    let piped = !stdin.is_terminal();
    let mut stdout = std::io::stdout();
    for action in actions {
        let status = match action {
            // As in `zellij pipe`, a pipe is the last thing a command does.
            Action::CliPipe {
                pipe_id,
                name,
                payload,
                args,
                plugin,
                configuration,
                launch_new,
                skip_cache,
                floating,
                in_place,
                cwd,
                pane_title,
            } => {
                let message = PipeMessage {
                    name: name
                        .or_else(|| plugin.clone())
                        .or_else(|| Some(unique_id())),
                    payload: None,
                    args,
                    configuration: launch_new
                        .then(|| {
                            // A fresh configuration value makes the session start a new
                            // instance of the plugin (then every chunk goes to that one).
                            let mut configuration = configuration.clone().unwrap_or_default();
                            configuration.insert("_zellij_id".to_owned(), unique_id());
                            configuration
                        })
                        .or(configuration),
                    plugin,
                    launch_new,
                    skip_cache,
                    floating,
                    in_place,
                    cwd,
                    pane_title,
                };
                let input = piped.then(|| stdin.lock());
                return pipe(&mut caller, &pipe_id, &message, payload, input, &mut stdout);
            }
            action => match caller.call(action) {
                Ok(answer) => {
                    for line in &answer.lines {
                        let _ = writeln!(stdout, "{line}");
                    }
                    answer.exit_status
                }
                Err(e) => Some(report(&e)),
            },
        };
        if let Some(status) = status {
            return status;
        }
    }
    0
}

/// Sends a pipe: the payload given, then (when standard input is piped) each line read from
/// it, each after the previous one was let go; prints its plugins' output as it arrives.
fn pipe(
    caller: &mut Caller,
    pipe_id: &str,
    message: &PipeMessage,
    mut payload: Option<String>,
    mut input: Option<impl BufRead>,
    out: &mut impl Write,
) -> i32 {
    let mut print = |text: &str| {
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    loop {
        let chunk = match (payload.take(), input.as_mut()) {
            (Some(payload), _) => Some(payload),
            // Nothing more to send: an empty message tells the plugin so.
            (None, None) => None,
            (None, Some(input)) => {
                let mut line = String::new();
                let _ = input.read_line(&mut line);
                if line.is_empty() {
                    // End of input: the closing empty message is sent, not waited for.
                    return match caller.send_pipe_end(pipe_id, message) {
                        Ok(()) => 0,
                        Err(e) => report(&e),
                    };
                }
                Some(line)
            }
        };
        match caller.pipe_chunk(pipe_id, message, chunk, &mut print) {
            Ok(PipeEnd::LetGo) if input.is_some() => continue,
            Ok(PipeEnd::LetGo) => return 0,
            Ok(PipeEnd::Logged(lines)) => {
                for line in lines {
                    println!("{line}");
                }
                return 0;
            }
            Err(e) => return report(&e),
        }
    }
}

/// Prints a failed call as the user should see it and returns its exit status.
pub fn report(e: &CallError) -> i32 {
    match e {
        // The session's own words, as `zellij action` prints them.
        CallError::Refused(text) => eprintln!("{text}"),
        other => eprintln!("perth: {other}"),
    }
    e.exit_code()
}

/// An identifier no other pipe of this session uses.
fn unique_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "perth-{}-{nanos:x}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Returns the session `perth status` and perth's own actions address, or why there is none.
pub fn target_session(requested: Option<String>) -> Result<String, String> {
    if let Some(name) = requested {
        return Ok(name);
    }
    if let Ok(name) = zellij_utils::envs::get_session_name() {
        return Ok(name);
    }
    match zellij_utils::sessions::get_active_session() {
        zellij_utils::sessions::ActiveSession::None => Err("there is no running session; start one with `perth`".into()),
        zellij_utils::sessions::ActiveSession::One(name) => Ok(name),
        zellij_utils::sessions::ActiveSession::Many => Err(
            "several sessions are running; choose one with `perth --session NAME ...` (see `perth list-sessions`)"
                .into(),
        ),
    }
}
