//! perth's command line: Zellij's own (`zellij_utils::cli::CliArgs`) under perth's name, plus
//! perth's commands (`perth status`, `perth action perth-status`).

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches};
use zellij_utils::cli::CliArgs;

use crate::config::{self, ConfigSources};
use crate::control::{self, ControlRequest, ControlResponse};
use crate::{paths, server, session};

use crate::exit::UNAVAILABLE as EXIT_UNAVAILABLE;

/// Returns the version line: perth's version and the Zellij it is built on.
pub fn version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        format!(
            "{} (built on Zellij {})",
            env!("CARGO_PKG_VERSION"),
            zellij_utils::consts::VERSION
        )
    })
}

/// Returns the full command definition: Zellij's, renamed, with perth's commands added.
pub fn command() -> clap::Command {
    let status = clap::Command::new("status")
        .about("Print the state of the session's perth extensions as JSON")
        .long_about(
            "Print the state of the session's perth extensions as JSON: the server wrapper, \
             the in-process IPC client and the perth-core plugin link.\n\n\
             Exit codes: 0 all alive, 1 something is not alive, 3 no such running session.\n\n\
             Examples:\n  perth status\n  perth --session work status",
        );
    let events = clap::Command::new("events")
        .about("Print the workspace's events (iMi, zdrive, perth), newest last; --follow streams them")
        .long_about(
            "Print the workspace's events: the newest stored ones from the tools' outboxes, then \
             with --follow the live stream, from the Bloodbank broker (BLOODBANK_AMQP_URL) or, \
             without one, from the outboxes. Runs `host-bridge events`; its options: \
             --follow/-f, --json (one CloudEvent per line), --last N (20), --amqp-url URL, \
             --database-url URL.\n\n\
             Examples:\n  perth events\n  perth events --follow\n  perth events -f --json | jq -r .type",
        )
        .disable_help_flag(true)
        .arg(
            clap::Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(OsString)),
        );
    let perth_status = clap::Command::new("perth-status").about(
        "Print the state of the session's perth extensions as JSON (same as `perth status`)",
    );
    CliArgs::command()
        .name("perth")
        .bin_name("perth")
        .version(version())
        .about("perth: a terminal workspace for running many AI coding agents in parallel")
        .after_help(
            "perth accepts every Zellij command and flag. Its configuration lives in \
             ~/.config/perth/config.kdl (layered over perth's built-in one).\n\n\
             Examples:\n  \
             perth                              new session with the workspace layout, here\n  \
             perth --session work               new session named work\n  \
             perth attach work --create         attach, creating it if missing (or restoring it)\n  \
             perth -n agents                    a tab per active iMi worktree of this project\n  \
             perth status                       which of perth's extensions are alive\n  \
             perth agents                       what each coding agent does, waiting ones first\n  \
             perth events --follow              what the tools do, as it happens\n  \
             perth action notify --style error --message \"Build failed\"",
        )
        .subcommand(status)
        .subcommand(events)
        .subcommand(crate::agents_cli::command())
        .subcommand(crate::saved_cli::restore_cli())
        .subcommand(crate::saved_cli::layout_cli())
        .mut_subcommand("action", |action| {
            action
                .subcommand(perth_status)
                .subcommands(crate::notify_cli::commands())
                .subcommand(crate::agents_cli::action())
        })
}

/// `perth events ARGS`: runs `host-bridge events ARGS` in this process's place, so the
/// stream, its exit code and Ctrl-C are host-bridge's own. perth's database (its outbox holds
/// the notifications) is handed over as `PERTH_DATABASE_URL`; `--database-url` still wins.
fn events_command(args: &[OsString], perth_database: Option<String>) -> i32 {
    use std::os::unix::process::CommandExt as _;
    let Some(binary) = crate::bridge::BridgeSettings::from_env().and_then(|s| s.binary) else {
        eprintln!(
            "perth: events are read by host-bridge, which is not next to perth or on PATH; \
             install both with `cargo xtask install`"
        );
        return 1;
    };
    let mut command = std::process::Command::new(&binary);
    command.arg("events").args(args);
    if let Some(url) = perth_database {
        command.env("PERTH_DATABASE_URL", url);
    }
    let error = command.exec();
    eprintln!("perth: cannot run {}: {error}", binary.display());
    1
}

/// Runs perth with the process arguments; returns the exit code.
pub fn main() -> i32 {
    run(std::env::args_os().collect())
}

/// Runs perth with the given arguments (the first one is the program name).
pub fn run(args: Vec<OsString>) -> i32 {
    let matches = match command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            if e.kind() == clap::error::ErrorKind::InvalidSubcommand {
                eprintln!("\n{}", valid_subcommands(&args));
            }
            return e.exit_code();
        }
    };
    let session_flag = matches.get_one::<String>("session").cloned();
    if matches.subcommand_matches("status").is_some() {
        return status_command(session_flag);
    }
    if let Some(agents) = matches.subcommand_matches("agents") {
        return crate::agents_cli::run(agents, session_flag);
    }
    if let Some(events) = matches.subcommand_matches("events") {
        let args: Vec<OsString> = events
            .get_many::<OsString>("args")
            .map(|a| a.cloned().collect())
            .unwrap_or_default();
        return events_command(&args, perth_database(&matches));
    }
    if let Some(("action", action)) = matches.subcommand() {
        if action.subcommand_matches("perth-status").is_some() {
            return status_command(session_flag);
        }
        if let Some((name, sub)) = action.subcommand() {
            if crate::notify_cli::ACTIONS.contains(&name) {
                return crate::notify_cli::run(name, sub, session_flag);
            }
            if name == crate::agents_cli::ACTION {
                return crate::agents_cli::run_action(sub, session_flag);
            }
        }
    }
    // perth's persistence commands need the resolved configuration (where the database is),
    // so they continue below as the Zellij command line they stand for.
    let (perth_command, matches) = match matches.subcommand() {
        Some(("layout", m)) => match reparse(&args, "layout", &[]) {
            Ok(rest) => (Some(PerthCommand::Layout(m.clone())), rest),
            Err(code) => return code,
        },
        Some(("restore", m)) => {
            let name = m.get_one::<String>("name").cloned().unwrap_or_default();
            let mut attach = vec!["attach".to_string(), name.clone()];
            if m.get_flag("force-run-commands") {
                attach.push("--force-run-commands".into());
            }
            match reparse(&args, "restore", &attach) {
                Ok(rest) => (
                    Some(PerthCommand::Restore {
                        name,
                        from_db: m.get_flag("from-db"),
                    }),
                    rest,
                ),
                Err(code) => return code,
            }
        }
        _ => (None, matches),
    };
    let mut opts = match cli_args(&matches) {
        Ok(o) => o,
        Err(code) => return code,
    };

    zellij_utils::logging::configure_logger();
    if let Some(socket) = opts.server.clone() {
        return server::run(socket, opts.debug);
    }
    // A call into a running session (what agents and scripts send all the time) needs none of
    // the configuration below.
    if perth_command.is_none() && session::is_plain_call(&opts) {
        return session::dispatch_plain_call(opts);
    }
    for dir in [
        &*zellij_utils::consts::ZELLIJ_CACHE_DIR,
        &*zellij_utils::consts::ZELLIJ_SESSION_INFO_CACHE_DIR,
    ] {
        let _ = std::fs::create_dir_all(dir);
    }

    let sources = ConfigSources {
        explicit_file: opts.config.clone(),
        config_dir: opts.config_dir.clone(),
        user_dir: paths::user_config_dir(),
        cache_dir: paths::cache_dir(),
        perth_core_config: perth_core_config(&opts),
    };
    let resolved = match config::resolve(&sources) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", e.report());
            return 1;
        }
    };
    let plugins: Vec<(&std::path::Path, &[&str])> = resolved
        .plugins
        .all()
        .into_iter()
        .filter_map(|(_, wasm, permissions)| Some((wasm?, permissions)))
        .collect();
    if let Err(e) = config::pregrant_permissions(None, &plugins) {
        log::warn!("perth: cannot pre-grant the permissions of perth's plugins: {e}");
    }
    crate::saved_cli::set_opening_context(crate::saved::scrub::OpeningContext {
        plugin_files: resolved
            .plugins
            .all()
            .into_iter()
            .filter_map(|(plugin, wasm, _)| Some((plugin.name, wasm?.to_path_buf())))
            .collect(),
        bridge: sources.perth_core_config.clone(),
    });
    opts.config = Some(resolved.materialized_file.clone());
    // A server this client starts inherits the environment: it reads perth's own settings
    // (the `perth { ... }` block) from the same composed file.
    std::env::set_var(
        crate::settings::SERVER_CONFIG_ENV,
        &resolved.materialized_file,
    );
    match perth_command {
        Some(PerthCommand::Layout(m)) => return crate::saved_cli::layout_command(&m, session_flag),
        Some(PerthCommand::Restore { name, from_db }) => {
            return match crate::saved_cli::restore_source(&name, from_db) {
                Ok(file) => session::start_client_restoring(opts, Some(file)),
                Err(e) => {
                    eprintln!("perth: {}", e.message);
                    e.code
                }
            }
        }
        None => {}
    }
    if let Err(e) = resolve_generated_layouts(&mut opts, &resolved.layout_dir) {
        eprintln!("perth: {}", e.message);
        return e.code;
    }
    if let Err(e) = check_layouts(&opts, &sources, &resolved.layout_dir) {
        eprintln!("{}", e.report());
        return 1;
    }
    session::dispatch(opts)
}

/// Checks the KDL syntax of the layout files the command line names (of a new session or of
/// `action new-tab`), so that an error says what the parser found wrong and where.
fn check_layouts(
    opts: &zellij_utils::cli::CliArgs,
    sources: &ConfigSources,
    layout_dir: &std::path::Path,
) -> Result<(), config::ConfigLoadError> {
    use zellij_utils::cli::{CliAction, Command};
    let new_tab = match opts.command.as_ref() {
        Some(Command::Action(action)) => match action.as_ref() {
            CliAction::NewTab { layout, .. } => layout.as_ref(),
            _ => None,
        },
        _ => None,
    };
    [
        opts.layout.as_ref(),
        opts.new_session_with_layout.as_ref(),
        new_tab,
    ]
    .into_iter()
    .flatten()
    .filter_map(|arg| config::layout_file(arg, sources, layout_dir))
    .try_for_each(|file| config::check_layout_syntax(&file))
}

/// Returns the database perth's server writes to, as it resolves it (the environment, then
/// `perth { persistence { database_url } }` of the user's file, else the embedded file);
/// `None` when persistence is off or the settings are invalid (the server stores nothing then).
fn perth_database(matches: &ArgMatches) -> Option<String> {
    use crate::saved::settings::PersistSettings;
    let sources = ConfigSources {
        explicit_file: matches.get_one::<std::path::PathBuf>("config").cloned(),
        config_dir: matches.get_one::<std::path::PathBuf>("config_dir").cloned(),
        user_dir: paths::user_config_dir(),
        cache_dir: paths::cache_dir(),
        perth_core_config: Default::default(),
    };
    let settings = match config::user_config_file(&sources).ok().flatten() {
        Some(file) => crate::settings::PerthSettings::from_file(&file).ok()?,
        None => Default::default(),
    };
    let persist = PersistSettings::from_settings(&settings, &|k| std::env::var(k).ok()).ok()?;
    persist.enabled.then_some(persist.url)
}

/// perth's own commands that run after the configuration is resolved.
enum PerthCommand {
    Layout(ArgMatches),
    Restore { name: String, from_db: bool },
}

/// Parses the command line again with perth's command `word` (and what follows it) replaced
/// by `with`, keeping the global flags given before it.
fn reparse(args: &[OsString], word: &str, with: &[String]) -> Result<ArgMatches, i32> {
    let at = args
        .iter()
        .skip(1)
        .position(|a| a == word)
        .map(|i| i + 1)
        .unwrap_or(args.len());
    let mut rest: Vec<OsString> = args[..at].to_vec();
    rest.extend(with.iter().map(OsString::from));
    command().try_get_matches_from(&rest).map_err(|e| {
        let _ = e.print();
        e.exit_code()
    })
}

/// Replaces the layouts perth makes (of a new session or of `action new-tab`) by files written
/// for them: `db:NAME` from the layout template NAME in the session database, `agents` from
/// iMi's worktrees (`crate::agents`).
fn resolve_generated_layouts(
    opts: &mut CliArgs,
    layout_dir: &std::path::Path,
) -> Result<(), crate::saved_cli::CommandError> {
    use crate::saved_cli::{resolve_layout_arg, CommandError};
    use std::path::PathBuf;
    use zellij_utils::cli::{CliAction, Command};
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let resolve = |slot: &mut Option<PathBuf>| -> Result<(), CommandError> {
        let Some(arg) = slot.as_ref() else {
            return Ok(());
        };
        if arg.to_string_lossy().starts_with("db:") {
            *slot = Some(resolve_layout_arg(arg)?);
        } else if let Some(file) =
            crate::agents::resolve(arg, layout_dir, &cwd, &crate::paths::cache_dir())
                .map_err(|e| CommandError::user(e.0))?
        {
            *slot = Some(file);
        }
        Ok(())
    };
    resolve(&mut opts.layout)?;
    resolve(&mut opts.new_session_with_layout)?;
    if let Some(Command::Action(action)) = opts.command.as_mut() {
        if let CliAction::NewTab { layout, .. } = action.as_mut() {
            resolve(layout)?;
        }
    }
    Ok(())
}

/// Lists the commands valid where an unknown one was given: under `action` the actions,
/// otherwise perth's top-level commands.
fn valid_subcommands(args: &[OsString]) -> String {
    let cmd = command();
    let in_action = args.iter().skip(1).any(|a| a == "action" || a == "ac");
    let (scope, parent) = if in_action {
        (
            "actions",
            cmd.find_subcommand("action").cloned().unwrap_or(cmd),
        )
    } else {
        ("commands", cmd)
    };
    let names: Vec<&str> = parent
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name())
        .filter(|n| *n != "help")
        .collect();
    format!("Valid {scope}: {}", names.join(", "))
}

/// Returns perth-core's configuration: host-bridge's address and token for commands that
/// start or attach a session (plugins get both through their configuration). Other commands
/// never start the bridge.
fn perth_core_config(opts: &CliArgs) -> std::collections::BTreeMap<String, String> {
    use zellij_utils::cli::{Command, Sessions};
    let starts_session = matches!(
        opts.command,
        None | Some(Command::Options(_)) | Some(Command::Sessions(Sessions::Attach { .. }))
    );
    let mut config = std::collections::BTreeMap::new();
    if !starts_session {
        return config;
    }
    if let Some(info) =
        crate::bridge::BridgeSettings::from_env().and_then(|s| crate::bridge::identity(&s))
    {
        config.insert("bridge_url".to_string(), info.url);
        config.insert("bridge_token".to_string(), info.token);
    }
    config
}

fn cli_args(matches: &ArgMatches) -> Result<CliArgs, i32> {
    CliArgs::from_arg_matches(matches).map_err(|e| {
        let e = e.format(&mut command());
        let _ = e.print();
        e.exit_code()
    })
}

/// `perth status`: asks the session's server for its extensions' state.
fn status_command(session_flag: Option<String>) -> i32 {
    let session = match crate::call_cli::target_session(session_flag) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("perth: {message}");
            return EXIT_UNAVAILABLE;
        }
    };
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    match control::request(
        &sock_dir,
        &session,
        &ControlRequest::Status,
        Duration::from_secs(10),
    ) {
        Ok(ControlResponse::Status(status)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&status).expect("status always serializes")
            );
            if status.healthy() {
                0
            } else {
                1
            }
        }
        Ok(ControlResponse::Error { message }) => {
            eprintln!("perth: {message}");
            1
        }
        Ok(other) => crate::control::unexpected_answer(&other),
        Err(e) => {
            eprintln!("perth: {e}");
            EXIT_UNAVAILABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn unknown_subcommand_is_a_usage_error() {
        let err = command()
            .try_get_matches_from(["perth", "frobnicate"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.render().to_string();
        assert!(text.contains("frobnicate"), "{text}");
    }

    #[test]
    fn unknown_commands_list_the_valid_ones() {
        let top = valid_subcommands(&["perth".into(), "frob".into()]);
        assert!(top.starts_with("Valid commands: "), "{top}");
        assert!(top.contains("attach") && top.contains("status"), "{top}");
        let actions = valid_subcommands(&["perth".into(), "action".into(), "frob".into()]);
        assert!(
            actions.contains("new-pane") && actions.contains("perth-status"),
            "{actions}"
        );
    }

    #[test]
    fn version_names_zellij() {
        assert!(version().contains("Zellij 0.45.1"));
        let err = command()
            .try_get_matches_from(["perth", "--version"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 0);
        assert!(err.render().to_string().starts_with("perth "));
    }

    #[test]
    fn zellij_commands_still_parse() {
        let m = command()
            .try_get_matches_from(["perth", "action", "list-panes", "--json"])
            .unwrap();
        let opts = CliArgs::from_arg_matches(&m).unwrap();
        assert!(matches!(
            opts.command,
            Some(zellij_utils::cli::Command::Action(_))
        ));
        assert!(command()
            .try_get_matches_from(["perth", "action", "perth-status"])
            .is_ok());
        assert!(command().try_get_matches_from(["perth", "status"]).is_ok());
    }
}
