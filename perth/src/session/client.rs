//! Starting a client: a new session, an attach by name or index, a watcher, a restore.

use std::path::PathBuf;
use std::time::Duration;

use zellij_client::os_input_output::get_client_os_input;
use zellij_client::{start_client as zellij_start_client, ClientInfo};
use zellij_utils::cli::{CliArgs, Command, SessionCommand, Sessions};
use zellij_utils::consts::session_layout_cache_file_name;
use zellij_utils::data::ConnectToSession;
use zellij_utils::envs;
use zellij_utils::input::actions::initial_panes_from_cli;
use zellij_utils::input::config::{Config, ConfigError};
use zellij_utils::input::options::Options;
use zellij_utils::sessions::{
    get_active_session, get_sessions_sorted_by_mtime, list_sessions, match_session_name,
    print_sessions, print_sessions_with_index, resurrection_layout, session_exists,
    session_listing_error_message, ActiveSession, SessionNameMatch,
};
use zellij_utils::setup::Setup;

use super::assert_session_ne;
use crate::client_os::PerthClientOsApi;

pub(super) fn no_terminal(e: std::io::Error) -> i32 {
    eprintln!(
        "perth: failed to open terminal: {e}\nperth needs an interactive terminal for this; run it from a terminal emulator, tmux or ssh -t."
    );
    1
}

/// The configuration Zellij's setup derives from the command line.
pub(super) struct LoadedSetup {
    pub(super) config: Config,
    layout: Option<zellij_utils::data::LayoutInfo>,
    options: Options,
    config_without_layout: Config,
    options_without_layout: Options,
}

pub(super) fn load_setup(opts: &CliArgs) -> Result<LoadedSetup, i32> {
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

pub(super) fn watch(session_name: Option<String>, opts: &CliArgs) -> i32 {
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
