//! `list-sessions`, `attach`, `kill-session`, `delete-session` and their `-all` forms: the
//! session subcommands, with Zellij's messages and exit codes.

use std::io::{BufRead, Write};

use super::client::{load_setup, start_client, watch};
use super::{pipe_action, send_action};
use zellij_utils::cli::{CliAction, CliArgs, Sessions};
use zellij_utils::data::UnblockCondition;
use zellij_utils::input::config::Config;
use zellij_utils::sessions::{
    assert_dead_session, assert_session, delete_session, get_resurrectable_sessions, get_sessions,
    kill_session, validate_session_name,
};

pub(super) fn sessions_command(sessions: Sessions, opts: CliArgs) -> i32 {
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
