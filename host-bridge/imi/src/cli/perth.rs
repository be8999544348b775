//! Inside a perth session (`ZELLIJ_SESSION_NAME` set): `iMi add` opens the worktree's tab from
//! perth's `worktree` layout, `iMi go` focuses it, `iMi remove` closes it. Both run `perth action ...` against the
//! session; outside a session, or without a `perth` next to iMi or on PATH, nothing happens
//! and the JSON output says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long one `perth action` may take.
const ACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// What happened to the worktree's tab.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TabOutcome {
    /// The tab's name (the worktree's folder name).
    pub name: String,
    /// Whether perth opened (or focused) it.
    pub done: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether iMi runs inside a session at all (text output stays quiet outside one).
    #[serde(skip)]
    pub in_session: bool,
    /// Whether a new tab was opened (not an open one focused).
    #[serde(skip)]
    pub opened: bool,
    /// The zdrive names of the tab's panes, tracked (on add) or marked stale (on remove).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub panes: Vec<String>,
    /// Why zdrive could not track them, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zdrive: Option<String>,
}

impl TabOutcome {
    fn skipped(name: &str, reason: String, in_session: bool) -> TabOutcome {
        TabOutcome {
            name: name.to_owned(),
            done: false,
            reason: Some(reason),
            in_session,
            ..TabOutcome::done(name)
        }
    }

    fn done(name: &str) -> TabOutcome {
        TabOutcome {
            name: name.to_owned(),
            done: true,
            reason: None,
            in_session: true,
            opened: false,
            panes: Vec::new(),
            zdrive: None,
        }
    }

    /// A line for the text output (empty outside a session).
    pub fn text(&self, verb: &str) -> String {
        let mut text = match (&self.reason, self.in_session) {
            (None, _) => format!("\n  tab: {verb} {} in perth", self.name),
            (Some(reason), true) => format!("\n  tab: not {verb} ({reason})"),
            (Some(_), false) => String::new(),
        };
        if !self.panes.is_empty() {
            text.push_str(&format!("; zdrive panes: {}", self.panes.join(", ")));
        }
        if let Some(why) = &self.zdrive {
            text.push_str(&format!("\n  zdrive: not updated ({why})"));
        }
        text
    }
}

/// The perth session iMi runs in.
struct Session {
    name: String,
    perth: PathBuf,
}

fn session() -> Result<Session, (String, bool)> {
    let name = std::env::var("ZELLIJ_SESSION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ("not inside a perth session".to_owned(), false))?;
    let perth = find_perth().ok_or_else(|| {
        (
            "no perth next to iMi or on PATH; install both with `cargo xtask install`".to_owned(),
            true,
        )
    })?;
    Ok(Session { name, perth })
}

fn find_perth() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("perth"))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("perth"))
                .find(|p| p.is_file())
        })
    })
}

impl Session {
    /// Runs `perth --session NAME action ARGS`, bounded; returns its standard output.
    fn action(&self, args: &[&str]) -> Result<String, String> {
        let mut child = Command::new(&self.perth)
            .arg("--session")
            .arg(&self.name)
            .arg("action")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.perth.display()))?;
        // Read while it runs: a big session's pane listing fills a pipe buffer.
        let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_string(&mut text);
                }
                text
            })
        };
        let stdout = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        );
        let stderr = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        );
        let deadline = Instant::now() + ACTION_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => {
                    return Ok(stdout.join().unwrap_or_default())
                }
                Ok(Some(status)) => {
                    let err = stderr.join().unwrap_or_default();
                    return Err(format!(
                        "perth action {} exited with {status}: {}",
                        args.first().copied().unwrap_or_default(),
                        err.trim()
                    ));
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "session {} did not answer within {ACTION_TIMEOUT:?}",
                        self.name
                    ));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}

/// Opens a tab named after the worktree, from perth's `worktree` layout, in its folder.
pub fn open_worktree_tab(name: &str, cwd: &Path) -> TabOutcome {
    let session = match session() {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    let cwd = cwd.to_string_lossy();
    let opened = session.action(&[
        "new-tab", "--layout", "worktree", "--cwd", &cwd, "--name", name,
    ]);
    match opened {
        Ok(_) => TabOutcome {
            opened: true,
            ..TabOutcome::done(name)
        },
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}

/// Focuses the worktree's tab, if the session has one by that name.
pub fn focus_worktree_tab(name: &str) -> TabOutcome {
    let session = match session() {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    match session.action(&["go-to-tab-name", name]) {
        Ok(_) => TabOutcome::done(name),
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}

/// Closes the worktree's tab, unless one of its panes runs a command that has not exited (that
/// would be lost: the answer says how to close it by hand).
pub fn close_worktree_tab(name: &str) -> TabOutcome {
    let session = match session() {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    match close_in(&session, name) {
        Ok(()) => TabOutcome::done(name),
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}

fn close_in(session: &Session, name: &str) -> Result<(), String> {
    let json = |text: String| -> Result<Vec<serde_json::Value>, String> {
        serde_json::from_str(&text).map_err(|e| format!("unreadable answer from perth: {e}"))
    };
    let tabs = json(session.action(&["list-tabs", "--json"])?)?;
    let tab_id = tabs
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["tab_id"].as_u64())
        .ok_or_else(|| format!("the session has no tab named {name}"))?;
    let panes = json(session.action(&["list-panes", "--json", "--all"])?)?;
    let busy = panes.iter().find(|p| {
        p["tab_id"].as_u64() == Some(tab_id)
            && p["is_plugin"] == false
            && p["exited"] == false
            && p["terminal_command"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
    });
    if let Some(pane) = busy {
        return Err(format!(
            "left open: pane '{}' still runs {}; close it with: perth action close-tab --tab-id {tab_id}",
            pane["title"].as_str().unwrap_or_default(),
            pane["terminal_command"].as_str().unwrap_or_default()
        ));
    }
    session
        .action(&["close-tab", "--tab-id", &tab_id.to_string()])
        .map(drop)
}

/// Opens the worktree's tab, or brings it to the front when the session already has one.
pub fn open_or_focus_tab(name: &str, cwd: &Path) -> TabOutcome {
    let session = match session() {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    let open = session
        .action(&["list-tabs", "--json"])
        .and_then(|text| {
            serde_json::from_str::<Vec<serde_json::Value>>(&text)
                .map_err(|e| format!("unreadable answer from perth: {e}"))
        })
        .map(|tabs| tabs.iter().any(|t| t["name"] == name));
    match open {
        Ok(true) => focus_worktree_tab(name),
        Ok(false) => open_worktree_tab(name, cwd),
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}
