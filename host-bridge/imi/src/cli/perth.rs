//! Inside a perth session (`ZELLIJ_SESSION_NAME` set): `iMi add` opens the worktree's tab from
//! perth's `worktree` layout, `iMi go` focuses it. Both run `perth action ...` against the
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
}

impl TabOutcome {
    fn skipped(name: &str, reason: String, in_session: bool) -> TabOutcome {
        TabOutcome {
            name: name.to_owned(),
            done: false,
            reason: Some(reason),
            in_session,
        }
    }

    /// A line for the text output (empty outside a session).
    pub fn text(&self, verb: &str) -> String {
        match (&self.reason, self.in_session) {
            (None, _) => format!("\n  tab: {verb} {} in perth", self.name),
            (Some(reason), true) => format!("\n  tab: not {verb} ({reason})"),
            (Some(_), false) => String::new(),
        }
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
    /// Runs `perth --session NAME action ARGS`, bounded.
    fn action(&self, args: &[&str]) -> Result<(), String> {
        let mut child = Command::new(&self.perth)
            .arg("--session")
            .arg(&self.name)
            .arg("action")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.perth.display()))?;
        let deadline = Instant::now() + ACTION_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    let mut err = String::new();
                    if let Some(mut stderr) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                    }
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
        Ok(()) => TabOutcome {
            name: name.to_owned(),
            done: true,
            reason: None,
            in_session: true,
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
        Ok(()) => TabOutcome {
            name: name.to_owned(),
            done: true,
            reason: None,
            in_session: true,
        },
        Err(reason) => TabOutcome::skipped(name, reason, true),
    }
}
