//! Talking to the multiplexer: the session's own IPC socket for perth and Zellij 0.45
//! sessions, the `zellij action` command line for other Zellij versions (0.39 and newer).
//!
//! The binary decides which: it knows the session name (`ZELLIJ_SESSION_NAME`) and the
//! socket directory; this module never reads the environment.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use session_ipc::call::{CallError, Caller, PipeMessage};
use zellij_utils::input::actions::Action;

use crate::engine::LivePane;

/// The oldest Zellij whose `zellij action` command line zdrive drives.
pub const MIN_ZELLIJ: (u32, u32) = (0, 39);

/// Why a multiplexer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MuxError {
    /// Not inside a session.
    #[error("not inside a perth or Zellij session (ZELLIJ_SESSION_NAME is not set); run this from a pane of a session, or use `zdrive pane log`/`history`/`info`/`list`, which work anywhere")]
    NoSession,
    /// The session's socket cannot be reached and no usable `zellij` is installed.
    #[error("cannot reach session {session}: {reason}")]
    Unreachable {
        /// The session.
        session: String,
        /// Why.
        reason: String,
    },
    /// The multiplexer refused or failed an action.
    #[error("the session refused {action}: {reason}")]
    Action {
        /// The action.
        action: &'static str,
        /// What it said.
        reason: String,
    },
}

/// A tab of the live session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTab {
    /// Its name.
    pub name: String,
    /// Whether it is the active tab.
    pub active: bool,
}

/// The pane and tab operations zdrive needs.
pub trait Multiplexer {
    /// Returns the session's name.
    fn session(&self) -> &str;
    /// Returns the session's terminal panes.
    fn list_panes(&mut self) -> Result<Vec<LivePane>, MuxError>;
    /// Returns the session's tabs.
    fn list_tabs(&mut self) -> Result<Vec<LiveTab>, MuxError>;
    /// Switches to tab `name`, creating it when `create`.
    fn go_to_tab(&mut self, name: &str, create: bool) -> Result<(), MuxError>;
    /// Opens a terminal pane titled `name` in the current tab; returns its id (`terminal_N`).
    fn new_pane(&mut self, name: &str) -> Result<String, MuxError>;
    /// Focuses the pane with id `pane_id` (`terminal_N`).
    fn focus_pane(&mut self, pane_id: &str) -> Result<(), MuxError>;
    /// Raises a perth notification on the pane (the `perth::notify` pipe; stock Zellij has no
    /// plugin listening and nothing happens).
    fn notify(&mut self, pane_id: &str, style: &str, message: &str) -> Result<(), MuxError>;
    /// Returns the pane's screen as plain text, with its scrollback when `scrollback`.
    fn dump_screen(&mut self, pane_id: &str, scrollback: bool) -> Result<String, MuxError>;
    /// Sets the title of the pane with id `pane_id` (`terminal_N`) to `title`.
    fn rename_pane(&mut self, pane_id: &str, title: &str) -> Result<(), MuxError>;
}

/// The pipe perth's notification bus listens on.
pub const NOTIFY_PIPE: &str = "perth::notify";

/// Returns the active tab's name, if any.
pub fn active_tab(mux: &mut dyn Multiplexer) -> Result<Option<String>, MuxError> {
    Ok(mux
        .list_tabs()?
        .into_iter()
        .find(|t| t.active)
        .map(|t| t.name))
}

fn parse_panes(values: &[serde_json::Value]) -> Vec<LivePane> {
    values
        .iter()
        .filter(|p| p["is_plugin"] == serde_json::Value::Bool(false))
        .filter_map(|p| {
            Some(LivePane {
                pane_id: format!("terminal_{}", p["id"].as_u64()?),
                title: p["title"].as_str().unwrap_or_default().to_owned(),
                tab: p["tab_name"].as_str().unwrap_or_default().to_owned(),
                cwd: p["pane_cwd"].as_str().map(str::to_owned),
                command: p["pane_command"]
                    .as_str()
                    .or_else(|| p["terminal_command"].as_str())
                    .map(str::to_owned),
            })
        })
        .collect()
}

fn parse_tabs(values: &[serde_json::Value]) -> Vec<LiveTab> {
    values
        .iter()
        .filter_map(|t| {
            Some(LiveTab {
                name: t["name"].as_str()?.to_owned(),
                active: t["active"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

fn terminal_id(pane_id: &str) -> Result<u32, MuxError> {
    pane_id
        .strip_prefix("terminal_")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| MuxError::Action {
            action: "focus-pane",
            reason: format!("{pane_id:?} is not a terminal pane id"),
        })
}

/// A session reached through its IPC socket (perth, Zellij 0.45), with the one session
/// client's deadline and retry policy (DESIGN.md D13): listings may be asked again, a pane is
/// never created twice (a lost answer is confirmed by looking for the pane).
pub struct IpcMux {
    caller: Caller,
}

impl IpcMux {
    /// A caller of `session` at `socket` whose every wait ends after `deadline`.
    pub fn connect(session: &str, socket: PathBuf, deadline: Duration) -> Result<Self, MuxError> {
        Ok(Self {
            caller: Caller::new(session, &socket, deadline),
        })
    }

    fn run(&mut self, action_name: &'static str, action: Action) -> Result<Vec<String>, MuxError> {
        self.caller
            .call(action)
            .map(|answer| answer.lines)
            .map_err(|e| call_error(action_name, e))
    }

    fn query_json(
        &mut self,
        action_name: &'static str,
        action: Action,
    ) -> Result<Vec<serde_json::Value>, MuxError> {
        let lines = self.run(action_name, action)?;
        let text = lines.join("\n");
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_str(&text).map_err(|e| MuxError::Action {
            action: action_name,
            reason: format!("unreadable JSON from the session: {e}"),
        })
    }
}

/// A failed call as zdrive reports it: a refusal in the session's words, anything else (no
/// answer in time, a connection closed before the answer) as the session being unavailable.
fn call_error(action: &'static str, e: CallError) -> MuxError {
    match e {
        CallError::Refused(reason) => MuxError::Action { action, reason },
        other => MuxError::Unreachable {
            session: other_session(&other),
            reason: other.to_string(),
        },
    }
}

fn other_session(e: &CallError) -> String {
    match e {
        CallError::Unreachable { session, .. }
        | CallError::Timeout { session, .. }
        | CallError::Unknown { session, .. }
        | CallError::Closed { session, .. } => session.clone(),
        CallError::Refused(_) => String::new(),
    }
}

impl Multiplexer for IpcMux {
    fn session(&self) -> &str {
        self.caller.session()
    }

    fn notify(&mut self, pane_id: &str, style: &str, message: &str) -> Result<(), MuxError> {
        let args: std::collections::BTreeMap<String, String> = [
            ("pane_id".to_owned(), pane_id.to_owned()),
            ("style".to_owned(), style.to_owned()),
        ]
        .into_iter()
        .collect();
        let pipe_id = format!("zdrive-notify-{}", std::process::id());
        // Waits until the plugins let the pipe go: the message is theirs, not lost with the
        // connection.
        self.caller
            .pipe(
                &pipe_id,
                &PipeMessage::named(NOTIFY_PIPE, args, Some(message.to_owned())),
            )
            .map(|_| ())
            .map_err(|e| call_error("pipe perth::notify", e))
    }

    fn list_panes(&mut self) -> Result<Vec<LivePane>, MuxError> {
        let values = self.query_json("list-panes", session_ipc::list_panes_action())?;
        Ok(parse_panes(&values))
    }

    fn list_tabs(&mut self) -> Result<Vec<LiveTab>, MuxError> {
        let values = self.query_json("list-tabs", session_ipc::list_tabs_action())?;
        Ok(parse_tabs(&values))
    }

    fn go_to_tab(&mut self, name: &str, create: bool) -> Result<(), MuxError> {
        self.run(
            "go-to-tab-name",
            Action::GoToTabName {
                name: name.to_owned(),
                create,
            },
        )
        .map(|_| ())
    }

    fn new_pane(&mut self, name: &str) -> Result<String, MuxError> {
        let action = Action::NewTiledPane {
            direction: None,
            command: None,
            pane_name: Some(name.to_owned()),
            near_current_pane: false,
            no_focus: false,
            borderless: None,
            tab_id: None,
        };
        let listing = session_ipc::list_panes_action();
        self.caller
            .act_confirmed(
                action,
                |answer| created_id(&answer.lines).map_err(|e| CallError::Refused(e.to_string())),
                // The answer was lost: the pane made is the one with its name, if any.
                |caller| {
                    let answer = caller.query(listing)?;
                    let values: Vec<serde_json::Value> =
                        serde_json::from_str(&answer.lines.join("\n")).unwrap_or_default();
                    Ok(parse_panes(&values)
                        .into_iter()
                        .find(|p| p.title == name)
                        .map(|p| p.pane_id))
                },
            )
            .map_err(|e| call_error("new-pane", e))
    }

    fn focus_pane(&mut self, pane_id: &str) -> Result<(), MuxError> {
        let id = terminal_id(pane_id)?;
        let focused = self.run(
            "focus-pane-id",
            Action::FocusTerminalPaneWithId {
                pane_id: id,
                should_float_if_hidden: false,
                should_be_in_place_if_hidden: false,
            },
        );
        match focused {
            // Focusing the pane that has the focus is what was asked for, not a failure.
            Err(MuxError::Action { reason, .. }) if is_already_focused(&reason) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn dump_screen(&mut self, pane_id: &str, scrollback: bool) -> Result<String, MuxError> {
        let id = terminal_id(pane_id)?;
        let lines = self.run(
            "dump-screen",
            Action::DumpScreen {
                file_path: None,
                include_scrollback: scrollback,
                pane_id: Some(zellij_utils::data::PaneId::Terminal(id)),
                ansi: false,
            },
        )?;
        Ok(lines.join("\n"))
    }

    fn rename_pane(&mut self, pane_id: &str, title: &str) -> Result<(), MuxError> {
        let id = terminal_id(pane_id)?;
        self.run(
            "rename-pane",
            Action::RenamePaneByPaneId {
                pane_id: Some(zellij_utils::data::PaneId::Terminal(id)),
                name: title.as_bytes().to_vec(),
            },
        )
        .map(|_| ())
    }
}

/// Whether a refused focus action only says the pane has the focus already.
fn is_already_focused(reason: &str) -> bool {
    reason.contains("is already focused")
}

fn created_id(lines: &[String]) -> Result<String, MuxError> {
    lines
        .iter()
        .map(|l| l.trim())
        .find(|l| l.starts_with("terminal_"))
        .map(str::to_owned)
        .ok_or_else(|| MuxError::Action {
            action: "new-pane",
            reason: format!("no pane id in the answer {lines:?}"),
        })
}

/// Parses `zellij --version` output (`zellij 0.43.1`, or perth's `perth 0.1.0 (built on
/// Zellij 0.45.1)`) into the Zellij (major, minor).
pub fn parse_zellij_version(text: &str) -> Option<(u32, u32)> {
    let version = match text.find("Zellij ") {
        Some(at) => text[at + "Zellij ".len()..].split_whitespace().next()?,
        None => text.split_whitespace().nth(1)?,
    };
    let mut parts = version.trim_end_matches(')').split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A session of another Zellij version, driven through `zellij action` (one process per action).
pub struct CliMux {
    session: String,
    zellij: PathBuf,
    deadline: Duration,
}

impl CliMux {
    /// Checks that `zellij` is at least [`MIN_ZELLIJ`] and returns a driver for `session`.
    pub fn new(session: &str, zellij: PathBuf, deadline: Duration) -> Result<Self, MuxError> {
        let unreachable = |reason: String| MuxError::Unreachable {
            session: session.to_owned(),
            reason,
        };
        let out =
            session_ipc::call::command_output(Command::new(&zellij).arg("--version"), deadline)
                .map_err(|e| unreachable(format!("cannot run {}: {e}", zellij.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        match parse_zellij_version(&text) {
            Some(v) if v >= MIN_ZELLIJ => Ok(Self {
                session: session.to_owned(),
                zellij,
                deadline,
            }),
            Some((major, minor)) => Err(unreachable(format!(
                "zellij {major}.{minor} is older than 0.39; upgrade Zellij or run perth"
            ))),
            None => Err(unreachable(format!(
                "unreadable `zellij --version`: {text:?}"
            ))),
        }
    }

    fn action(&self, name: &'static str, args: &[&str]) -> Result<String, MuxError> {
        let out = session_ipc::call::command_output(
            Command::new(&self.zellij)
                .args(["--session", &self.session, "action"])
                .args(args),
            self.deadline,
        )
        .map_err(|e| MuxError::Action {
            action: name,
            reason: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(MuxError::Action {
                action: name,
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn json(&self, name: &'static str, args: &[&str]) -> Result<Vec<serde_json::Value>, MuxError> {
        // A live session always has a tab and a pane, so empty output means the answer was
        // lost with a dropped connection (see `IpcMux`); these queries are safe to repeat.
        let mut text = self.action(name, args)?;
        for _ in 1..session_ipc::call::QUERY_ATTEMPTS {
            if !text.trim().is_empty() {
                break;
            }
            text = self.action(name, args)?;
        }
        serde_json::from_str(&text).map_err(|e| MuxError::Action {
            action: name,
            reason: format!(
                "this Zellij does not print JSON for {name} ({e}); upgrade to 0.45 or run perth"
            ),
        })
    }
}

impl Multiplexer for CliMux {
    fn session(&self) -> &str {
        &self.session
    }

    fn notify(&mut self, pane_id: &str, style: &str, message: &str) -> Result<(), MuxError> {
        let args = format!("pane_id={pane_id},style={style}");
        let out = Command::new(&self.zellij)
            .args([
                "--session",
                &self.session,
                "pipe",
                "--name",
                NOTIFY_PIPE,
                "--args",
                &args,
                "--",
                message,
            ])
            .output()
            .map_err(|e| MuxError::Action {
                action: "pipe perth::notify",
                reason: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(MuxError::Action {
                action: "pipe perth::notify",
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    fn list_panes(&mut self) -> Result<Vec<LivePane>, MuxError> {
        Ok(parse_panes(
            &self.json("list-panes", &["list-panes", "--json", "--all"])?,
        ))
    }

    fn list_tabs(&mut self) -> Result<Vec<LiveTab>, MuxError> {
        Ok(parse_tabs(
            &self.json("list-tabs", &["list-tabs", "--json", "--all"])?,
        ))
    }

    fn go_to_tab(&mut self, name: &str, create: bool) -> Result<(), MuxError> {
        let mut args = vec!["go-to-tab-name"];
        if create {
            args.push("--create");
        }
        args.push(name);
        self.action("go-to-tab-name", &args).map(|_| ())
    }

    fn new_pane(&mut self, name: &str) -> Result<String, MuxError> {
        let out = self.action("new-pane", &["new-pane", "--name", name])?;
        let lines: Vec<String> = out.lines().map(str::to_owned).collect();
        created_id(&lines)
    }

    fn focus_pane(&mut self, pane_id: &str) -> Result<(), MuxError> {
        terminal_id(pane_id)?;
        match self.action("focus-pane-id", &["focus-pane-id", pane_id]) {
            Err(MuxError::Action { reason, .. }) if is_already_focused(&reason) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn dump_screen(&mut self, pane_id: &str, scrollback: bool) -> Result<String, MuxError> {
        terminal_id(pane_id)?;
        let mut args = vec!["dump-screen", "--pane-id", pane_id];
        if scrollback {
            args.push("--full");
        }
        self.action("dump-screen", &args)
    }

    fn rename_pane(&mut self, pane_id: &str, title: &str) -> Result<(), MuxError> {
        terminal_id(pane_id)?;
        match self.action(
            "rename-pane",
            &["rename-pane", "--pane-id", pane_id, "--", title],
        ) {
            Ok(_) => Ok(()),
            // An older Zellij has no `--pane-id` there: its rename-pane names the focused pane.
            Err(MuxError::Action { reason, .. }) if reason.contains("--pane-id") => {
                self.focus_pane(pane_id)?;
                self.action("rename-pane", &["rename-pane", "--", title])
                    .map(|_| ())
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_zellij_version("zellij 0.43.1\n"), Some((0, 43)));
        assert_eq!(
            parse_zellij_version("perth 0.1.0 (built on Zellij 0.45.1)\n"),
            Some((0, 45))
        );
        assert_eq!(parse_zellij_version("zellij 0.38.2"), Some((0, 38)));
        assert_eq!(parse_zellij_version("nonsense"), None);
        assert!((0, 38) < MIN_ZELLIJ && (0, 39) >= MIN_ZELLIJ && (1, 0) >= MIN_ZELLIJ);
    }

    #[test]
    fn live_panes_come_from_list_panes_json() {
        let json: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"id":0,"is_plugin":false,"title":"api","tab_name":"dev"},
                {"id":1,"is_plugin":true,"title":"status","tab_name":"dev"}]"#,
        )
        .unwrap();
        assert_eq!(
            parse_panes(&json),
            vec![LivePane {
                pane_id: "terminal_0".into(),
                title: "api".into(),
                tab: "dev".into(),
                ..LivePane::default()
            }]
        );
        assert_eq!(created_id(&["terminal_7".into()]).unwrap(), "terminal_7");
        assert!(terminal_id("plugin_2").is_err());
    }
}
