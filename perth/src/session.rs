//! Session commands: what `perth` does with Zellij's command line once the configuration is
//! resolved. Start or attach a client, send actions, list, kill and delete sessions.
//!
//! Behaviour, messages and exit codes follow the `zellij` binary's, so that a user who knows
//! Zellij finds no surprise; the Zellij library functions used here print and exit themselves
//! where the `zellij` binary does.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use zellij_client::os_input_output::{get_cli_client_os_input, get_client_os_input};
use zellij_client::{start_client as zellij_start_client, ClientInfo};
use zellij_utils::cli::{CliAction, CliArgs, Command, SessionCommand, Sessions};
use zellij_utils::consts::session_layout_cache_file_name;
use zellij_utils::data::{ConnectToSession, UnblockCondition};
use zellij_utils::envs;
use zellij_utils::input::actions::{initial_panes_from_cli, Action};
use zellij_utils::input::config::{Config, ConfigError};
use zellij_utils::input::options::Options;
use zellij_utils::sessions::{
    assert_dead_session, assert_session, delete_session, get_active_session,
    get_resurrectable_sessions, get_sessions, get_sessions_sorted_by_mtime, kill_session,
    list_sessions, match_session_name, print_sessions, print_sessions_with_index,
    resurrection_layout, session_exists, session_listing_error_message, validate_session_name,
    ActiveSession, SessionNameMatch,
};
use zellij_utils::setup::Setup;

use crate::client_os::PerthClientOsApi;

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
fn pipe_action(
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

fn sessions_command(sessions: Sessions, opts: CliArgs) -> i32 {
    let config = |opts: &CliArgs| Config::try_from(opts).ok();
    match sessions {
        Sessions::Run {
            command,
            direction,
            cwd,
            floating,
            in_place,
            close_replaced_pane,
            name,
            close_on_exit,
            start_suspended,
            x,
            y,
            width,
            height,
            pinned,
            stacked,
            blocking,
            block_until_exit_success,
            block_until_exit_failure,
            block_until_exit,
            near_current_pane,
            no_focus,
            borderless,
            tab_id,
        } => {
            let unblock_condition = match (
                block_until_exit_success,
                block_until_exit_failure,
                block_until_exit,
            ) {
                (true, _, _) => Some(UnblockCondition::OnExitSuccess),
                (_, true, _) => Some(UnblockCondition::OnExitFailure),
                (_, _, true) => Some(UnblockCondition::OnAnyExit),
                _ => None,
            };
            let action = CliAction::NewPane {
                command,
                plugin: None,
                direction,
                cwd: cwd.or_else(|| std::env::current_dir().ok()),
                floating,
                in_place,
                close_replaced_pane,
                pane_id: None,
                name,
                close_on_exit,
                start_suspended,
                configuration: None,
                skip_plugin_cache: false,
                x,
                y,
                width,
                height,
                pinned,
                stacked,
                blocking,
                block_until_exit_success: false,
                block_until_exit_failure: false,
                block_until_exit: false,
                unblock_condition,
                near_current_pane,
                no_focus,
                borderless,
                tab_id,
            };
            send_action(action, opts.session.clone(), config(&opts))
        }
        Sessions::Plugin {
            url,
            configuration,
            floating,
            in_place,
            close_replaced_pane,
            skip_plugin_cache,
            x,
            y,
            width,
            height,
            pinned,
            no_focus,
            borderless,
            tab_id,
        } => {
            let action = CliAction::NewPane {
                command: vec![],
                plugin: Some(url),
                direction: None,
                cwd: None,
                floating,
                in_place,
                close_replaced_pane,
                pane_id: None,
                name: None,
                close_on_exit: false,
                start_suspended: false,
                configuration,
                skip_plugin_cache,
                x,
                y,
                width,
                height,
                pinned,
                stacked: false,
                blocking: false,
                block_until_exit_success: false,
                block_until_exit_failure: false,
                block_until_exit: false,
                unblock_condition: None,
                near_current_pane: false,
                no_focus,
                borderless,
                tab_id,
            };
            send_action(action, opts.session.clone(), config(&opts))
        }
        Sessions::Edit {
            file,
            line_number,
            direction,
            in_place,
            close_replaced_pane,
            floating,
            cwd,
            x,
            y,
            width,
            height,
            pinned,
            near_current_pane,
            no_focus,
            borderless,
            tab_id,
        } => {
            let cwd = cwd.or_else(|| std::env::current_dir().ok());
            let file = match (&cwd, file.is_relative()) {
                (Some(cwd), true) => cwd.join(file),
                _ => file,
            };
            let action = CliAction::Edit {
                file,
                direction,
                line_number,
                floating,
                in_place,
                close_replaced_pane,
                cwd,
                x,
                y,
                width,
                height,
                pinned,
                near_current_pane,
                no_focus,
                borderless,
                tab_id,
            };
            send_action(action, opts.session.clone(), config(&opts))
        }
        Sessions::Pipe {
            name,
            payload,
            args,
            plugin,
            plugin_configuration,
        } => send_action(
            pipe_action(name, payload, args, plugin, plugin_configuration),
            opts.session.clone(),
            config(&opts),
        ),
        Sessions::ListSessions {
            no_formatting,
            short,
            reverse,
        } => crate::saved_cli::list_sessions(no_formatting, short, reverse),
        Sessions::ListAliases => match load_setup(&opts) {
            Ok(setup) => {
                for alias in setup.config.plugins.list() {
                    println!("{alias}");
                }
                0
            }
            Err(code) => code,
        },
        Sessions::Watch { session_name } => watch(session_name, &opts),
        Sessions::KillAllSessions { yes } => kill_all(yes),
        Sessions::KillSession { target_session } => match target_session {
            Some(name) => {
                assert_session(&name);
                kill_session(&name);
                0
            }
            None => {
                println!("Please specify the session name to kill.");
                1
            }
        },
        Sessions::DeleteAllSessions { yes, force } => delete_all(yes, force),
        Sessions::DeleteSession {
            target_session,
            force,
        } => match target_session {
            Some(name) => {
                if let Err(e) = validate_session_name(&name) {
                    eprintln!("{e}");
                    return 1;
                }
                assert_dead_session(&name, force);
                // The database copy goes too; Zellij's cache folder as Zellij does it.
                let saved = crate::saved_cli::delete_saved(&name);
                if let Err(e) = &saved {
                    eprintln!("perth: {}", e.message);
                }
                let cached = zellij_utils::consts::session_info_folder_for_session(&name).exists();
                if cached || !matches!(saved, Ok(true)) {
                    delete_session(&name, force);
                } else {
                    println!("Session: {name:?} successfully deleted.");
                }
                0
            }
            None => {
                println!("Please specify the session name to delete.");
                1
            }
        },
        Sessions::Attach { .. } => start_client(opts),
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
fn assert_session_ne(name: &str) {
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

fn no_terminal(e: std::io::Error) -> i32 {
    eprintln!(
        "perth: failed to open terminal: {e}\nperth needs an interactive terminal for this; run it from a terminal emulator, tmux or ssh -t."
    );
    1
}

/// The configuration Zellij's setup derives from the command line.
struct LoadedSetup {
    config: Config,
    layout: Option<zellij_utils::data::LayoutInfo>,
    options: Options,
    config_without_layout: Config,
    options_without_layout: Options,
}

fn load_setup(opts: &CliArgs) -> Result<LoadedSetup, i32> {
    match Setup::from_cli_args(opts) {
        Ok((config, layout, options, config_without_layout, options_without_layout)) => {
            Ok(LoadedSetup {
                config,
                layout,
                options,
                config_without_layout,
                options_without_layout,
            })
        }
        Err(ConfigError::KdlError(error)) => {
            let report: miette::Report = error.into();
            eprintln!("{report:?}");
            Err(1)
        }
        Err(e) => {
            eprintln!("{e}");
            Err(1)
        }
    }
}

/// One start of the Zellij client: what to connect to and how.
struct ClientPlan {
    opts: CliArgs,
    config: Config,
    options: Options,
    info: ClientInfo,
    tab_to_focus: Option<usize>,
    pane_to_focus: Option<(u32, bool)>,
    is_reconnect: bool,
    detached: bool,
}

/// Starts (or attaches) an interactive client and follows session switches until it exits.
pub fn start_client(opts: CliArgs) -> i32 {
    start_client_restoring(opts, None)
}

/// Starts an interactive client; with `restore`, the session is resurrected from that layout
/// file (`perth restore`).
pub fn start_client_restoring(opts: CliArgs, restore: Option<PathBuf>) -> i32 {
    let mut setup = match load_setup(&opts) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if std::env::var_os("PERTH_ALLOW_NO_TTY").is_none() && !stdin_is_terminal() {
        let creates_detached = matches!(
            &opts.command,
            Some(Command::Sessions(Sessions::Attach {
                create_background: true,
                ..
            }))
        );
        if !creates_detached {
            eprintln!("perth: standard input is not a terminal; run perth from a terminal emulator, tmux or ssh -t (or use `perth attach --create-background NAME` to start a session without one)");
            return 1;
        }
    }
    let os_input = match get_client_os_input() {
        Ok(os) => os,
        Err(e) => return no_terminal(e),
    };
    let mut reconnect: Option<ConnectToSession> = None;
    loop {
        let plan = match &reconnect {
            Some(to) => plan_reconnect(&opts, &mut setup, to),
            None => match plan_first_start(&opts, &setup, restore.as_ref()) {
                Ok(plan) => plan,
                Err(code) => return code,
            },
        };
        let session_name = plan.info.get_session_name().to_string();
        reconnect = zellij_start_client(
            Box::new(PerthClientOsApi::new(Box::new(os_input.clone()))),
            plan.opts,
            plan.config,
            plan.options,
            plan.info,
            plan.tab_to_focus,
            plan.pane_to_focus,
            plan.is_reconnect,
            plan.detached,
        );
        // A client left (detach, quit, or a switch): the server writes its state now.
        crate::saved_cli::notify_detached(&session_name);
        if reconnect.is_none() {
            return 0;
        }
    }
}

fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

fn plan_reconnect(opts: &CliArgs, setup: &mut LoadedSetup, to: &ConnectToSession) -> ClientPlan {
    if let Ok(fresh) = load_setup(opts) {
        setup.config_without_layout = fresh.config_without_layout;
        setup.options_without_layout = fresh.options_without_layout;
    }
    let mut opts = opts.clone();
    let mut options = setup.options_without_layout.clone();
    let info = match &to.name {
        Some(name) => {
            opts.command = None;
            match session_exists(name) {
                Ok(true) => ClientInfo::Attach(name.clone(), options.clone()),
                _ => ClientInfo::New(name.clone(), to.layout.clone(), to.cwd.clone(), None),
            }
        }
        None => {
            opts.command = None;
            opts.session = None;
            options.attach_to_session = None;
            let name = match unique_session_name() {
                Ok(n) => n,
                Err(_) => std::process::exit(1),
            };
            ClientInfo::New(name, to.layout.clone(), to.cwd.clone(), None)
        }
    };
    ClientPlan {
        opts,
        config: setup.config_without_layout.clone(),
        options,
        info,
        tab_to_focus: to.tab_position,
        pane_to_focus: to.pane_id,
        is_reconnect: true,
        detached: false,
    }
}

fn plan_first_start(
    opts: &CliArgs,
    setup: &LoadedSetup,
    restore: Option<&PathBuf>,
) -> Result<ClientPlan, i32> {
    let mut plan = ClientPlan {
        opts: opts.clone(),
        config: setup.config.clone(),
        options: setup.options.clone(),
        info: ClientInfo::New(String::new(), setup.layout.clone(), None, None),
        tab_to_focus: None,
        pane_to_focus: None,
        is_reconnect: false,
        detached: false,
    };
    if let Some(Command::Sessions(Sessions::Attach {
        session_name,
        create,
        create_background,
        force_run_commands,
        index,
        options,
        initial_command,
        close_on_exit,
        start_suspended,
        ..
    })) = opts.command.clone()
    {
        if session_name
            .as_deref()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
        {
            eprintln!("perth is built without Zellij's web/remote-attach capabilities.");
            return Err(2);
        }
        if let Some(SessionCommand::Options(o)) = options.as_deref() {
            plan.options = plan.options.merge_from_cli(o.to_owned());
        }
        plan.detached = create_background;
        let create = create || create_background;
        let mut info = if let (Some(file), Some(name)) = (restore, session_name.as_ref()) {
            ClientInfo::Resurrect(name.clone(), file.clone(), force_run_commands, None)
        } else if let Some(index) = index {
            attach_by_index(plan.options.clone(), index, create)?
        } else {
            let exists = session_name
                .as_deref()
                .and_then(|s| session_exists(s).ok())
                .unwrap_or(false);
            let resurrectable = match session_name.as_deref().map(resurrection_layout) {
                Some(Ok(layout)) => layout,
                Some(Err(e)) => {
                    eprintln!("{e}");
                    return Err(2);
                }
                None => None,
            };
            match (&session_name, resurrectable) {
                (Some(name), Some(_)) if !exists => ClientInfo::Resurrect(
                    name.clone(),
                    session_layout_cache_file_name(name),
                    force_run_commands,
                    None,
                ),
                (Some(name), None) if !exists && saved_copy(name).is_some() => {
                    match saved_copy(name) {
                        Some(file) => {
                            ClientInfo::Resurrect(name.clone(), file, force_run_commands, None)
                        }
                        None => attach_by_name(Some(name.clone()), plan.options.clone(), create)?,
                    }
                }
                (name, _) => {
                    if create && !exists {
                        if let Some(name) = name {
                            assert_session_ne(name);
                        }
                    }
                    attach_by_name(name.clone(), plan.options.clone(), create)?
                }
            }
        };
        if let Ok(current) = envs::get_session_name() {
            if current == info.get_session_name() {
                eprintln!("You are trying to attach to the current session (\"{current}\"). This is not supported.");
                return Err(1);
            }
        }
        if let Some(layout) = setup.layout.clone() {
            info.set_layout_info(layout);
        }
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        if let Some(panes) = initial_panes_from_cli(
            initial_command,
            None,
            Some(here.clone()),
            here,
            close_on_exit,
            start_suspended,
        ) {
            info.set_initial_panes(panes);
        }
        plan.info = info;
        return Ok(plan);
    }

    let name = if let Some(name) = opts.session.clone() {
        assert_session_ne(&name);
        name
    } else if let Some(name) = setup.options.session_name.clone() {
        if envs::get_session_name().ok().as_deref() == Some(name.as_str()) {
            eprintln!("You are trying to attach to the current session (\"{name}\"). Zellij does not support nesting a session in itself.");
            return Err(1);
        }
        if setup.options.attach_to_session == Some(true) {
            plan.info = attach_by_name(Some(name), setup.options.clone(), true)?;
            return Ok(plan);
        }
        assert_session_ne(&name);
        name
    } else {
        unique_session_name()?
    };
    plan.info = ClientInfo::New(name, setup.layout.clone(), None, None);
    Ok(plan)
}

/// Returns the layout file of a session only the database has (it is written once and
/// remembered, so the check and the use read the database once).
fn saved_copy(name: &str) -> Option<PathBuf> {
    static FOUND: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    FOUND
        .get_or_init(|| match crate::saved_cli::restore_file(name) {
            Ok(Some((file, plan))) => {
                eprintln!(
                    "perth: restoring session {name:?} from the database: {} tabs, {} panes",
                    plan.tabs, plan.panes
                );
                crate::saved_cli::after_restore(name, plan.names);
                Some(file)
            }
            Ok(None) => None,
            Err(e) => {
                eprintln!("perth: not looking in the session database: {}", e.message);
                None
            }
        })
        .clone()
}

fn unique_session_name() -> Result<String, i32> {
    zellij_utils::sessions::generate_unique_session_name().ok_or_else(|| {
        eprintln!("Failed to generate a unique session name, giving up");
        1
    })
}

fn attach_by_index(options: Options, index: usize, create: bool) -> Result<ClientInfo, i32> {
    match get_sessions_sorted_by_mtime() {
        Ok(sessions) if sessions.is_empty() => {
            if create {
                Ok(ClientInfo::New(unique_session_name()?, None, None, None))
            } else {
                eprintln!("No active zellij sessions found.");
                Err(1)
            }
        }
        Ok(sessions) => match sessions.get(index) {
            Some(name) => Ok(ClientInfo::Attach(name.clone(), options)),
            None if create => Ok(ClientInfo::New(unique_session_name()?, None, None, None)),
            None => {
                println!("No session indexed by {index} found. The following sessions are active:");
                print_sessions_with_index(sessions);
                Err(1)
            }
        },
        Err(e) => {
            eprintln!("Error occurred: {e:?}");
            Err(1)
        }
    }
}

fn attach_by_name(name: Option<String>, options: Options, create: bool) -> Result<ClientInfo, i32> {
    match name {
        Some(name) if create => match session_exists(&name) {
            Ok(true) => Ok(ClientInfo::Attach(name, options)),
            Ok(false) => Ok(ClientInfo::New(name, None, None, None)),
            Err(kind) => {
                eprintln!("{}", session_listing_error_message(kind));
                Err(1)
            }
        },
        Some(prefix) => match match_session_name(&prefix) {
            Ok(SessionNameMatch::UniquePrefix(s)) | Ok(SessionNameMatch::Exact(s)) => {
                Ok(ClientInfo::Attach(s, options))
            }
            Ok(SessionNameMatch::AmbiguousPrefix(sessions)) => {
                println!("Ambiguous selection: multiple sessions names start with '{prefix}':");
                print_sessions(
                    sessions
                        .into_iter()
                        .map(|s| (s, Duration::default(), false))
                        .collect(),
                    false,
                    false,
                    true,
                );
                Err(1)
            }
            Ok(SessionNameMatch::None) => {
                eprintln!("No session with the name '{prefix}' found!");
                Err(1)
            }
            Err(kind) => {
                eprintln!("{}", session_listing_error_message(kind));
                Err(1)
            }
        },
        None => match get_active_session() {
            ActiveSession::None if create => {
                Ok(ClientInfo::New(unique_session_name()?, None, None, None))
            }
            ActiveSession::None => {
                eprintln!("No active zellij sessions found.");
                Err(1)
            }
            ActiveSession::One(name) => Ok(ClientInfo::Attach(name, options)),
            ActiveSession::Many => {
                println!("Please specify the session to attach to, either by using the full name or a unique prefix.\nThe following sessions are active:");
                list_sessions(false, false, true);
                Err(1)
            }
        },
    }
}

fn watch(session_name: Option<String>, opts: &CliArgs) -> i32 {
    let setup = match load_setup(opts) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let name = match session_name {
        Some(prefix) => match match_session_name(&prefix) {
            Ok(SessionNameMatch::UniquePrefix(s)) | Ok(SessionNameMatch::Exact(s)) => s,
            Ok(SessionNameMatch::AmbiguousPrefix(_)) => {
                eprintln!("Ambiguous selection: multiple sessions names start with '{prefix}'");
                return 1;
            }
            _ => {
                eprintln!("No session with the name '{prefix}' found!");
                return 1;
            }
        },
        None => match get_active_session() {
            ActiveSession::One(name) => name,
            ActiveSession::None => {
                eprintln!("No active zellij sessions found.");
                return 1;
            }
            ActiveSession::Many => {
                eprintln!("Please specify the session name to watch.");
                return 1;
            }
        },
    };
    let os_input = match get_client_os_input() {
        Ok(os) => os,
        Err(e) => return no_terminal(e),
    };
    let mut opts = opts.clone();
    opts.session = Some(name.clone());
    zellij_start_client(
        Box::new(PerthClientOsApi::new(Box::new(os_input))),
        opts,
        setup.config,
        setup.options.clone(),
        ClientInfo::Watch(name, setup.options),
        None,
        None,
        false,
        false,
    );
    0
}

fn confirm(prompt: &str) -> bool {
    print!("{prompt} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

fn kill_all(yes: bool) -> i32 {
    match get_sessions() {
        Ok(sessions) if sessions.is_empty() => {
            eprintln!("No active zellij sessions found.");
            1
        }
        Ok(sessions) => {
            if !yes {
                println!("WARNING: this action will kill all sessions.");
                if !confirm("Do you want to continue?") {
                    println!("Abort.");
                    return 1;
                }
            }
            for (name, _) in &sessions {
                kill_session(name);
            }
            0
        }
        Err(e) => {
            eprintln!("Error occurred: {e:?}");
            1
        }
    }
}

fn delete_all(yes: bool, force: bool) -> i32 {
    let running: Vec<String> = get_sessions()
        .unwrap_or_default()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let targets: Vec<String> = get_resurrectable_sessions()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| force || !running.contains(name))
        .collect();
    if !yes {
        println!("WARNING: this action will delete all resurrectable sessions.");
        if !confirm("Do you want to continue?") {
            println!("Abort.");
            return 1;
        }
    }
    for name in &targets {
        delete_session(name, force);
    }
    0
}
