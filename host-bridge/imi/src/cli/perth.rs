//! Inside a perth session: `iMi add` opens the worktree's tab from perth's `worktree` layout,
//! `iMi go` focuses it, `iMi remove` closes it. Each runs `perth action ...` against the session
//! it is given (the command line's own, `ZELLIJ_SESSION_NAME`; the session a plugin runs in, for
//! host-bridge); without a session, or without a `perth` next to the running binary or on PATH,
//! nothing happens and the JSON output says why.

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

/// Returns the session the command line runs in (`ZELLIJ_SESSION_NAME`), if any.
pub fn current_session() -> Option<String> {
    std::env::var("ZELLIJ_SESSION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
}

fn session(name: Option<&str>) -> Result<Session, (String, bool)> {
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ("not inside a perth session".to_owned(), false))?
        .to_owned();
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
    /// Runs a `perth action` that answers a JSON list (`list-tabs --json`, `list-panes --json`).
    ///
    /// Zellij's command line now and then prints nothing for a query when the server drops its
    /// connection (clients come and go at once, and Zellij 0.45.1 reuses their ids); an empty
    /// answer is asked again.
    fn query(&self, args: &[&str]) -> Result<Vec<serde_json::Value>, String> {
        // Zellij 0.45.1 may answer a listing with nothing, or fail to see a busy session
        // ("There is no active session!"), while other clients come and go: ask again.
        let mut text = String::new();
        for attempt in 0..3 {
            text = match self.action(args) {
                Ok(text) => text,
                Err(e) if attempt < 2 && e.contains("There is no active session") => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !text.trim().is_empty() {
                break;
            }
        }
        serde_json::from_str(&text).map_err(|e| format!("unreadable answer from perth: {e}"))
    }

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
pub fn open_worktree_tab(session_name: Option<&str>, name: &str, cwd: &Path) -> TabOutcome {
    let session = match session(session_name) {
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
pub fn focus_worktree_tab(session_name: Option<&str>, name: &str) -> TabOutcome {
    let session = match session(session_name) {
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
pub fn close_worktree_tab(
    session_name: Option<&str>,
    name: &str,
    confirm: ConfirmClose<'_>,
) -> TabOutcome {
    let session = match session(session_name) {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    match close_in(&session, name, confirm) {
        Ok(()) => TabOutcome::done(name),
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}

/// Asked, with what runs (`pane 'agent' still runs cargo test`), whether a worktree's tab may be
/// closed although one of its panes runs a command; `false` leaves the tab open.
pub type ConfirmClose<'a> = &'a dyn Fn(&str) -> bool;

/// Never closes a busy tab: for callers that cannot ask (plugins, `--json`, no terminal).
pub fn never(_: &str) -> bool {
    false
}

fn close_in(session: &Session, name: &str, confirm: ConfirmClose<'_>) -> Result<(), String> {
    let tabs = session.query(&["list-tabs", "--json"])?;
    let tab_id = tabs
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["tab_id"].as_u64())
        .ok_or_else(|| format!("the session has no tab named {name}"))?;
    let panes = session.query(&["list-panes", "--json", "--all"])?;
    let busy = panes.iter().find(|p| {
        p["tab_id"].as_u64() == Some(tab_id)
            && p["is_plugin"] == false
            && p["exited"] == false
            && p["terminal_command"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
    });
    if let Some(pane) = busy {
        let what = format!(
            "pane '{}' still runs {}",
            pane["title"].as_str().unwrap_or_default(),
            pane["terminal_command"].as_str().unwrap_or_default()
        );
        if !confirm(&what) {
            return Err(format!(
                "left open: {what}; close it with: perth action close-tab --tab-id {tab_id}"
            ));
        }
    }
    session
        .action(&["close-tab", "--tab-id", &tab_id.to_string()])
        .map(drop)
}

/// Opens the worktree's tab, or brings it to the front when the session already has one.
pub fn open_or_focus_tab(session_name: Option<&str>, name: &str, cwd: &Path) -> TabOutcome {
    let session = match session(session_name) {
        Ok(s) => s,
        Err((reason, in_session)) => return TabOutcome::skipped(name, reason, in_session),
    };
    let open = session
        .query(&["list-tabs", "--json"])
        .map(|tabs| tabs.iter().any(|t| t["name"] == name));
    match open {
        Ok(true) => focus_worktree_tab(session_name, name),
        Ok(false) => open_worktree_tab(session_name, name, cwd),
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}

/// Opens the tab of a worktree `add` just made, in `session`, and has zdrive track its panes
/// with a `worktree created` checkpoint on the agent pane.
pub async fn open_added_tab(
    session: Option<&str>,
    report: &crate::AddReport,
    agent: Option<&str>,
) -> TabOutcome {
    let w = &report.worktree;
    let tab = open_worktree_tab(session, &w.worktree_name, &w.path);
    let summary = format!(
        "worktree created: {} on branch {} at {}",
        w.worktree_name,
        w.branch,
        w.path.display()
    );
    tracked(tab, session, agent, &summary).await
}

/// Opens the tab of worktree `name` (folder `path`) in `session`, or brings it to the front;
/// a tab it opens has its panes tracked by zdrive.
pub async fn open_tab(session: Option<&str>, name: &str, path: &Path) -> TabOutcome {
    let summary = format!("worktree tab opened: {name} at {}", path.display());
    tracked(
        open_or_focus_tab(session, name, path),
        session,
        None,
        &summary,
    )
    .await
}

/// Closes the tab of a worktree `remove` just removed and marks its zdrive panes stale; a tab
/// with a pane that runs a command is closed only if `confirm` says so.
pub async fn close_removed_tab(
    session: Option<&str>,
    name: &str,
    confirm: ConfirmClose<'_>,
) -> TabOutcome {
    let mut tab = close_worktree_tab(session, name, confirm);
    if let (true, Some(session)) = (tab.done, session) {
        match super::track::untrack_tab(session, name).await {
            Ok(panes) => tab.panes = panes,
            Err(why) => tab.zdrive = Some(why),
        }
    }
    tab
}

/// Has zdrive track the panes of a tab that was just opened, with `summary` as a checkpoint on
/// its agent pane.
async fn tracked(
    mut tab: TabOutcome,
    session: Option<&str>,
    agent: Option<&str>,
    summary: &str,
) -> TabOutcome {
    if let (true, Some(session)) = (tab.opened, session) {
        match super::track::track_tab(session, &tab.name, agent, summary).await {
            Ok(panes) => tab.panes = panes,
            Err(why) => tab.zdrive = Some(why),
        }
    }
    tab
}
