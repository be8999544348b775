//! Session commands: what `perth` does with Zellij's command line once the configuration is
//! resolved. Start or attach a client, send actions, list, kill and delete sessions.
//!
//! Behaviour, messages and exit codes follow the `zellij` binary's, so that a user who knows
//! Zellij finds no surprise; the Zellij library functions used here print and exit themselves
//! where the `zellij` binary does.

use std::path::PathBuf;
use std::time::Duration;

use zellij_client::os_input_output::get_cli_client_os_input;
use zellij_utils::cli::{CliAction, CliArgs, Command, Sessions};
use zellij_utils::envs;
use zellij_utils::input::actions::Action;
use zellij_utils::input::config::Config;
use zellij_utils::sessions::validate_session_name;
use zellij_utils::setup::Setup;

mod client;
mod sessions;

pub use client::*;
use sessions::*;

/// Runs the command in `opts` (whose `config` already points at perth's merged configuration).
pub fn dispatch(opts: CliArgs) -> i32 {
    // Read only where it is used: parsing Zellij's defaults and the configuration again costs a
    // new session's client tens of milliseconds, and starting a client reads them itself.
    let config = |opts: &CliArgs| Config::try_from(opts).ok();
    match opts.command.clone() {
        Some(Command::Action(cli_action)) => {
            let config = config(&opts);
            send_action(*cli_action, opts.session, config)
        }
        Some(Command::Subscribe(subscribe)) => match resolve_action_session(opts.session) {
            Ok(name) => match get_cli_client_os_input() {
                Ok(os) => {
                    zellij_client::cli_client::start_subscribe_client(
                        Box::new(os),
                        &name,
                        subscribe,
                    );
                    0
                }
                Err(e) => no_terminal(e),
            },
            Err(code) => code,
        },
        Some(Command::Sessions(sessions)) => sessions_command(sessions, opts),
        Some(Command::Web(web)) => crate::web::run(web, &opts),
        _ => new_client_or_tab(opts),
    }
}

/// Whether the command is a call into a running session that needs no configuration: every
/// `action` but those that read layouts (`new-tab`, `override-layout`, `switch-session`), and
/// `pipe`. Such a call skips composing and parsing perth's configuration, which cost a call
/// more than its round trip to the session.
pub fn is_plain_call(opts: &CliArgs) -> bool {
    match opts.command.as_ref() {
        Some(Command::Action(action)) => !matches!(
            **action,
            CliAction::NewTab { .. }
                | CliAction::OverrideLayout { .. }
                | CliAction::SwitchSession { .. }
        ),
        Some(Command::Sessions(Sessions::Pipe { .. })) => true,
        _ => false,
    }
}

/// Runs a command [`is_plain_call`] accepts, without reading any configuration.
pub fn dispatch_plain_call(opts: CliArgs) -> i32 {
    match opts.command.clone() {
        Some(Command::Action(cli_action)) => send_action(*cli_action, opts.session, None),
        Some(Command::Sessions(Sessions::Pipe {
            name,
            payload,
            args,
            plugin,
            plugin_configuration,
        })) => send_action(
            pipe_action(name, payload, args, plugin, plugin_configuration),
            opts.session,
            None,
        ),
        _ => dispatch(opts),
    }
}

/// `perth pipe`, as the action it stands for.
pub(super) fn pipe_action(
    name: Option<String>,
    payload: Option<String>,
    args: Option<zellij_utils::input::layout::PluginUserConfiguration>,
    plugin: Option<String>,
    plugin_configuration: Option<zellij_utils::input::layout::PluginUserConfiguration>,
) -> CliAction {
    CliAction::Pipe {
        name,
        payload,
        args,
        plugin,
        plugin_configuration,
        force_launch_plugin: false,
        skip_plugin_cache: false,
        floating_plugin: None,
        in_place_plugin: None,
        plugin_cwd: None,
        plugin_title: None,
    }
}

/// Starts a new session, or with `--layout` and a running session (`--session NAME`, or the
/// one the caller runs inside) opens the layout as new tabs in it.
///
/// Zellij answers `--session NAME --layout X` with "Session 'NAME' not found" when NAME is not
/// running; perth starts session NAME with that layout instead.
fn new_client_or_tab(opts: CliArgs) -> i32 {
    if opts.layout.is_some() || opts.layout_string.is_some() {
        let target = match opts.session.clone() {
            Some(name) if !is_running(&name) => None,
            Some(name) => Some(name),
            None => envs::get_session_name().ok(),
        };
        if let Some(session_name) = target {
            let config = Config::try_from(&opts).ok();
            let options = Setup::from_cli_args(&opts).ok().map(|r| r.2);
            let action = CliAction::NewTab {
                layout: opts.layout.clone(),
                layout_string: opts.layout_string.clone(),
                layout_dir: options.as_ref().and_then(|o| o.layout_dir.clone()),
                name: None,
                cwd: options.as_ref().and_then(|o| o.default_cwd.clone()),
                initial_command: vec![],
                initial_plugin: None,
                close_on_exit: false,
                start_suspended: false,
                block_until_exit_success: false,
                block_until_exit_failure: false,
                block_until_exit: false,
                no_focus: false,
            };
            return send_action(action, Some(session_name), config);
        }
    } else if let Some(layout) = opts.new_session_with_layout.clone() {
        let mut opts = opts;
        opts.new_session_with_layout = None;
        opts.layout = Some(layout);
        return start_client(opts);
    }
    start_client(opts)
}

/// Returns whether session `name` runs: it answers, or its socket is there but busy (a busy
/// session gets the layout as a tab, as Zellij does, rather than a second server of its name).
/// Every session is probed with the call deadline (Zellij's own listing waits for each answer
/// without one, zellij #5400: one session that does not answer left a new session's client
/// on a blank screen).
fn is_running(name: &str) -> bool {
    let sock_dir = &*zellij_utils::consts::ZELLIJ_SOCK_DIR;
    let deadline = crate::call_cli::deadline().unwrap_or(Duration::from_secs(5));
    session_ipc::call::sessions(sock_dir, deadline)
        .iter()
        .any(|(n, _)| n == name)
}

/// Exits when `name` cannot be a new session's name: invalid, running, or dead but kept for
/// resurrection (Zellij's `assert_session_ne`, with [`is_running`]'s deadlined probe).
pub(super) fn assert_session_ne(name: &str) {
    if let Err(e) = validate_session_name(name) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    if is_running(name) {
        println!(
            "Session with name {name:?} already exists. Use attach command to connect to it or specify a different name."
        );
        std::process::exit(1);
    }
    if zellij_utils::sessions::get_resurrectable_session_names()
        .iter()
        .any(|s| s == name)
    {
        println!(
            "Session with name {name:?} already exists, but is dead. Use the attach command to resurrect it or, the delete-session command to kill it or specify a different name."
        );
        std::process::exit(1);
    }
}

/// Finds the session an action goes to, as `zellij action` does: the one running session,
/// `--session NAME`, or the session the caller runs inside. perth's server answers the
/// liveness check itself (zellij #5270), so a busy session is never taken for a gone one, and
/// the check waits at most the call's deadline (zellij #5400: Zellij's waits forever on a
/// wedged server).
fn resolve_action_session(requested: Option<String>) -> Result<String, i32> {
    let deadline = crate::call_cli::deadline().map_err(|e| {
        eprintln!("perth: {e}");
        2
    })?;
    let running = session_ipc::call::sessions(&zellij_utils::consts::ZELLIJ_SOCK_DIR, deadline);
    let names = || {
        running
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let chosen = match (&requested, running.as_slice()) {
        (_, []) => {
            eprintln!("There is no active session!");
            return Err(1);
        }
        (Some(name), _) if running.iter().any(|(n, _)| n == name) => name.clone(),
        (Some(name), _) => {
            eprintln!(
                "Session '{name}' not found. The following sessions are active:\n{}",
                names()
            );
            return Err(1);
        }
        (None, [(only, _)]) => only.clone(),
        (None, _) => match envs::get_session_name() {
            Ok(inside) => inside,
            Err(_) => {
                eprintln!(
                    "Please specify the session name to send actions to. The following sessions are active:\n{}",
                    names()
                );
                return Err(1);
            }
        },
    };
    let unanswered = running
        .iter()
        .any(|(n, l)| *n == chosen && *l == session_ipc::call::Liveness::Unanswered);
    if unanswered {
        let e = session_ipc::call::CallError::Timeout {
            session: chosen,
            what: "whether it runs".into(),
            waited: deadline,
            may_have_taken_effect: false,
        };
        eprintln!("perth: {e}");
        return Err(e.exit_code());
    }
    Ok(chosen)
}

/// Sends a CLI action to a session and returns the exit status the session reports.
pub fn send_action(
    cli_action: CliAction,
    requested: Option<String>,
    config: Option<Config>,
) -> i32 {
    let deadline = match crate::call_cli::deadline() {
        Ok(deadline) => deadline,
        Err(e) => {
            eprintln!("perth: {e}");
            return 2;
        }
    };
    let cwd = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let actions = match Action::actions_from_cli(cli_action, Box::new(cwd), config) {
        Ok(actions) => actions,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    // A session named on the command line, or the one the caller runs in, is called at once:
    // listing and probing every session first costs each call one more connection to every
    // server on the machine (the same threads, the same answer), and under tens of agents
    // that is most of what the servers do. Only when nothing answers at that name is the
    // session resolved as Zellij does it, with its messages.
    let named = requested
        .clone()
        .or_else(|| envs::get_session_name().ok())
        .filter(|name| validate_session_name(name).is_ok());
    if let Some(caller) = named.and_then(|name| crate::call_cli::connect(&name, deadline).ok()) {
        return crate::call_cli::run(caller, actions);
    }
    let session = match resolve_action_session(requested) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::call_cli::connect(&session, deadline) {
        Ok(caller) => crate::call_cli::run(caller, actions),
        Err(e) => crate::call_cli::report(&e),
    }
}
