//! Inside a perth session: `iMi add` opens the worktree's tab from perth's `worktree` layout,
//! `iMi go` focuses it, `iMi remove` closes it. Each talks to the session it is given (the
//! command line's own, `ZELLIJ_SESSION_NAME`; the session a plugin runs in, for host-bridge)
//! through the one session client (`session_ipc::call`, DESIGN.md D13): every wait has the
//! call deadline, listings are queries, and what changes the session is sent once and, when
//! its answer is lost, confirmed by its effect. Without a session nothing happens and the
//! JSON output says why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;
use session_ipc::call::{self, CallError, Caller};
use zellij_utils::input::actions::Action;

/// How long a `perth` process may take to start before its own calls' deadlines begin
/// (it resolves and writes its configuration first).
const PERTH_START: Duration = Duration::from_secs(10);

/// The perth session whose tabs a command works on: its name (none outside a session) and
/// how long each call to it waits.
#[derive(Debug, Clone, Copy)]
pub struct SessionTarget<'a> {
    name: Option<&'a str>,
    deadline: Duration,
}

impl<'a> SessionTarget<'a> {
    /// The session `name` (none outside a session), whose calls wait at most `deadline`.
    pub fn new(name: Option<&'a str>, deadline: Duration) -> Self {
        SessionTarget { name, deadline }
    }
}

impl<'a> From<Option<&'a str>> for SessionTarget<'a> {
    /// The session `name` with the default call deadline.
    fn from(name: Option<&'a str>) -> Self {
        SessionTarget::new(name, call::DEFAULT_DEADLINE)
    }
}

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
    /// Whether the session did not answer (or could not be reached): `reason` says what to
    /// do, and the command line exits with 3.
    #[serde(skip)]
    pub unavailable: bool,
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

/// Why a tab operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TabError {
    /// The session answered no, or there was nothing to do; the text says why.
    Refused(String),
    /// The session did not answer, could not be reached, or closed the connection before
    /// saying whether the call took effect; the text says what to do.
    Unavailable(String),
}

impl From<CallError> for TabError {
    fn from(e: CallError) -> Self {
        if e.exit_code() == call::EXIT_UNAVAILABLE {
            TabError::Unavailable(e.to_string())
        } else {
            TabError::Refused(e.to_string())
        }
    }
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

    fn failed(name: &str, error: TabError) -> TabOutcome {
        let (reason, unavailable) = match error {
            TabError::Refused(reason) => (reason, false),
            TabError::Unavailable(reason) => (reason, true),
        };
        TabOutcome {
            unavailable,
            ..TabOutcome::skipped(name, reason, true)
        }
    }

    fn done(name: &str) -> TabOutcome {
        TabOutcome {
            name: name.to_owned(),
            done: true,
            reason: None,
            in_session: true,
            unavailable: false,
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

/// Returns the session the command line runs in (`ZELLIJ_SESSION_NAME`), if any.
pub fn current_session() -> Option<String> {
    std::env::var("ZELLIJ_SESSION_NAME")
        .ok()
        .filter(|n| !n.is_empty())
}

/// Returns the call deadline named by `PERTH_CALL_TIMEOUT` (10 s when unset); a value that
/// is not a number of seconds is the user's mistake, and the message says so.
pub fn call_deadline() -> Result<Duration, String> {
    call::deadline_from(std::env::var(call::DEADLINE_ENV).ok().as_deref())
}

/// The perth session iMi runs in, with one connection to its socket.
struct Session {
    name: String,
    deadline: Duration,
    caller: Caller,
}

fn session(target: SessionTarget<'_>) -> Result<Session, String> {
    let name = target
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| "not inside a perth session".to_owned())?;
    let socket = zellij_utils::consts::ZELLIJ_SOCK_DIR.join(name);
    Ok(Session {
        name: name.to_owned(),
        deadline: target.deadline,
        caller: Caller::new(name, &socket, target.deadline),
    })
}

/// A tab as `list-tabs --json` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LiveTab {
    id: u64,
    name: String,
    active: bool,
}

/// Reads the JSON list a listing answered; an answer that holds nothing is an empty list.
fn json_list(lines: &[String]) -> Result<Vec<serde_json::Value>, TabError> {
    let text = lines.join("\n");
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(&text)
        .map_err(|e| TabError::Refused(format!("unreadable answer from perth: {e}")))
}

fn parse_tabs(values: &[serde_json::Value]) -> Vec<LiveTab> {
    values
        .iter()
        .filter_map(|t| {
            Some(LiveTab {
                id: t["tab_id"].as_u64()?,
                name: t["name"].as_str()?.to_owned(),
                active: t["active"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// Lists the session's tabs (a query: the session client may ask it again once).
fn list_tabs(caller: &mut Caller) -> Result<Vec<LiveTab>, CallError> {
    let answer = caller.query(session_ipc::list_tabs_action())?;
    // An unreadable listing confirms nothing; it is reported by the listings that need it.
    Ok(json_list(&answer.lines)
        .map(|values| parse_tabs(&values))
        .unwrap_or_default())
}

impl Session {
    fn tabs(&mut self) -> Result<Vec<LiveTab>, TabError> {
        let answer = self.caller.query(session_ipc::list_tabs_action())?;
        Ok(parse_tabs(&json_list(&answer.lines)?))
    }

    fn panes(&mut self) -> Result<Vec<serde_json::Value>, TabError> {
        let answer = self.caller.query(Action::ListPanes {
            show_tab: false,
            show_command: false,
            show_state: false,
            show_geometry: false,
            show_all: true,
            output_json: true,
        })?;
        json_list(&answer.lines)
    }

    /// Opens tab `name` from perth's `worktree` layout in `cwd`, once. The layout is named,
    /// so perth's command line turns it into the tab (a user's own `worktree` layout wins
    /// over perth's); when its answer is lost, the tab is looked for by its name instead of
    /// being opened again.
    fn open(&mut self, name: &str, cwd: &Path) -> Result<(), TabError> {
        let perth = find_perth().ok_or_else(|| {
            TabError::Refused(
                "no perth next to iMi or on PATH; install both with `cargo xtask install`"
                    .to_owned(),
            )
        })?;
        let mut cmd = Command::new(&perth);
        cmd.arg("--session")
            .arg(&self.name)
            .args(["action", "new-tab", "--layout", "worktree", "--cwd"])
            .arg(cwd)
            .args(["--name", name])
            .env(call::DEADLINE_ENV, self.deadline.as_secs_f64().to_string());
        let lost = match call::command_output(&mut cmd, self.deadline + PERTH_START) {
            Ok(out) if out.status.success() => return Ok(()),
            Ok(out) => {
                let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
                if out.status.code() != Some(call::EXIT_UNAVAILABLE) {
                    return Err(TabError::Refused(format!(
                        "perth action new-tab exited with {}: {said}",
                        out.status
                    )));
                }
                said
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => format!(
                "session '{}' did not answer 'new-tab' within {:.1?} (it may or may not have \
                 taken effect); `perth status` shows its state, {}=SECONDS waits longer",
                self.name,
                self.deadline + PERTH_START,
                call::DEADLINE_ENV
            ),
            Err(e) => {
                return Err(TabError::Refused(format!(
                    "cannot run {}: {e}",
                    perth.display()
                )))
            }
        };
        // The answer was lost: the tab is open if the session lists it.
        match list_tabs(&mut self.caller) {
            Ok(tabs) if tabs.iter().any(|t| t.name == name) => Ok(()),
            Ok(_) => Err(TabError::Unavailable(lost)),
            Err(e) => Err(e.into()),
        }
    }

    /// Brings tab `name` to the front, once; a lost answer is confirmed by the tab in front.
    fn focus(&mut self, name: &str) -> Result<(), TabError> {
        let action = Action::GoToTabName {
            name: name.to_owned(),
            create: false,
        };
        self.caller
            .act_confirmed(
                action,
                |_| Ok(()),
                |caller| {
                    let tabs = list_tabs(caller)?;
                    Ok(tabs
                        .iter()
                        .any(|t| t.name == name && t.active)
                        .then_some(()))
                },
            )
            .map_err(TabError::from)
    }

    /// Closes the tab with id `id`, once; a lost answer is confirmed by the tab being gone.
    fn close(&mut self, id: u64) -> Result<(), TabError> {
        self.caller
            .act_confirmed(
                Action::CloseTabById { id },
                |_| Ok(()),
                |caller| {
                    let tabs = list_tabs(caller)?;
                    Ok((!tabs.is_empty() && tabs.iter().all(|t| t.id != id)).then_some(()))
                },
            )
            .map_err(TabError::from)
    }
}

/// Returns the `perth` next to the running binary or on PATH: its command line turns a
/// layout's name into a tab (perth's layouts and the user's own).
/// Gives each checkout of `report` the coding agents that work in it, from every running
/// perth session (`perth agents --all-sessions --json`); without perth, or when it does not
/// answer within `deadline`, the lists stay empty.
pub fn attach_agents(report: &mut crate::StatusReport, deadline: Duration) {
    let Some(perth) = find_perth() else {
        return;
    };
    let mut cmd = Command::new(&perth);
    cmd.args(["agents", "--all-sessions", "--json"])
        .env(call::DEADLINE_ENV, deadline.as_secs_f64().to_string());
    let agents: Vec<crate::WorktreeAgent> =
        match call::command_output(&mut cmd, deadline + PERTH_START) {
            Ok(out) if out.status.success() => {
                serde_json::from_slice(&out.stdout).unwrap_or_default()
            }
            _ => return,
        };
    place_agents(report, agents);
}

/// Puts each agent on the checkout whose folder it works in.
pub fn place_agents(report: &mut crate::StatusReport, agents: Vec<crate::WorktreeAgent>) {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let checkouts = std::iter::once(&mut report.trunk).chain(report.worktrees.iter_mut());
    let mut checkouts: Vec<_> = checkouts.map(|c| (canonical(&c.path), c)).collect();
    for agent in agents {
        let Some(dir) = agent.worktree.as_deref().map(canonical) else {
            continue;
        };
        if let Some((_, checkout)) = checkouts.iter_mut().find(|(path, _)| *path == dir) {
            checkout.agents.push(agent);
        }
    }
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

/// Opens a tab named after the worktree, from perth's `worktree` layout, in its folder.
pub fn open_worktree_tab<'a>(
    target: impl Into<SessionTarget<'a>>,
    name: &str,
    cwd: &Path,
) -> TabOutcome {
    let mut session = match session(target.into()) {
        Ok(s) => s,
        Err(reason) => return TabOutcome::skipped(name, reason, false),
    };
    match session.open(name, cwd) {
        Ok(()) => TabOutcome {
            opened: true,
            ..TabOutcome::done(name)
        },
        Err(e) => TabOutcome::failed(name, e),
    }
}

/// Focuses the worktree's tab, if the session has one by that name.
pub fn focus_worktree_tab<'a>(target: impl Into<SessionTarget<'a>>, name: &str) -> TabOutcome {
    let mut session = match session(target.into()) {
        Ok(s) => s,
        Err(reason) => return TabOutcome::skipped(name, reason, false),
    };
    match session.focus(name) {
        Ok(()) => TabOutcome::done(name),
        Err(e) => TabOutcome::failed(name, e),
    }
}

/// Closes the worktree's tab, unless one of its panes runs a command that has not exited (that
/// would be lost: the answer says how to close it by hand).
pub fn close_worktree_tab<'a>(
    target: impl Into<SessionTarget<'a>>,
    name: &str,
    confirm: ConfirmClose<'_>,
) -> TabOutcome {
    let mut session = match session(target.into()) {
        Ok(s) => s,
        Err(reason) => return TabOutcome::skipped(name, reason, false),
    };
    match close_in(&mut session, name, confirm) {
        Ok(()) => TabOutcome::done(name),
        Err(e) => TabOutcome::failed(name, e),
    }
}

/// Asked, with what runs (`pane 'agent' still runs cargo test`), whether a worktree's tab may be
/// closed although one of its panes runs a command; `false` leaves the tab open.
pub type ConfirmClose<'a> = &'a dyn Fn(&str) -> bool;

/// Never closes a busy tab: for callers that cannot ask (plugins, `--json`, no terminal).
pub fn never(_: &str) -> bool {
    false
}

fn close_in(session: &mut Session, name: &str, confirm: ConfirmClose<'_>) -> Result<(), TabError> {
    let tab_id = session
        .tabs()?
        .into_iter()
        .find(|t| t.name == name)
        .map(|t| t.id)
        .ok_or_else(|| TabError::Refused(format!("the session has no tab named {name}")))?;
    let panes = session.panes()?;
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
            return Err(TabError::Refused(format!(
                "left open: {what}; close it with: perth action close-tab --tab-id {tab_id}"
            )));
        }
    }
    session.close(tab_id)
}

/// Opens the worktree's tab, or brings it to the front when the session already has one.
pub fn open_or_focus_tab<'a>(
    target: impl Into<SessionTarget<'a>>,
    name: &str,
    cwd: &Path,
) -> TabOutcome {
    let mut session = match session(target.into()) {
        Ok(s) => s,
        Err(reason) => return TabOutcome::skipped(name, reason, false),
    };
    let open = session
        .tabs()
        .map(|tabs| tabs.iter().any(|t| t.name == name));
    let done = match open {
        Ok(true) => session.focus(name).map(|()| false),
        Ok(false) => session.open(name, cwd).map(|()| true),
        Err(e) => Err(e),
    };
    match done {
        Ok(opened) => TabOutcome {
            opened,
            ..TabOutcome::done(name)
        },
        Err(e) => TabOutcome::failed(name, e),
    }
}

/// Opens the tab of a worktree `add` just made, in `session`, and has zdrive track its panes
/// with a `worktree created` checkpoint on the agent pane.
pub async fn open_added_tab<'a>(
    session: impl Into<SessionTarget<'a>>,
    report: &crate::AddReport,
    agent: Option<&str>,
) -> TabOutcome {
    let session = session.into();
    let w = &report.worktree;
    let tab = open_worktree_tab(session, &w.worktree_name, &w.path);
    let summary = format!(
        "worktree created: {} on branch {} at {}",
        w.worktree_name,
        w.branch,
        w.path.display()
    );
    tracked(tab, session.name, agent, &summary).await
}

/// Opens the tab of worktree `name` (folder `path`) in `session`, or brings it to the front;
/// a tab it opens has its panes tracked by zdrive.
pub async fn open_tab<'a>(
    session: impl Into<SessionTarget<'a>>,
    name: &str,
    path: &Path,
) -> TabOutcome {
    let session = session.into();
    let summary = format!("worktree tab opened: {name} at {}", path.display());
    tracked(
        open_or_focus_tab(session, name, path),
        session.name,
        None,
        &summary,
    )
    .await
}

/// Closes the tab of a worktree `remove` just removed and marks its zdrive panes stale; a tab
/// with a pane that runs a command is closed only if `confirm` says so.
pub async fn close_removed_tab<'a>(
    session: impl Into<SessionTarget<'a>>,
    name: &str,
    confirm: ConfirmClose<'_>,
) -> TabOutcome {
    let session = session.into();
    let mut tab = close_worktree_tab(session, name, confirm);
    if let (true, Some(session)) = (tab.done, session.name) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_are_read_from_the_listing() {
        let lines = vec![
            r#"[{"tab_id":0,"name":"trunk-main","active":false},"#.to_owned(),
            r#"{"tab_id":4,"name":"feat-x","active":true}]"#.to_owned(),
        ];
        let tabs = parse_tabs(&json_list(&lines).unwrap());
        assert_eq!(
            tabs,
            vec![
                LiveTab {
                    id: 0,
                    name: "trunk-main".into(),
                    active: false
                },
                LiveTab {
                    id: 4,
                    name: "feat-x".into(),
                    active: true
                }
            ]
        );
        assert_eq!(json_list(&[]).unwrap(), Vec::<serde_json::Value>::new());
        assert!(matches!(
            json_list(&["not json".to_owned()]),
            Err(TabError::Refused(_))
        ));
    }

    #[test]
    fn a_session_that_does_not_answer_makes_the_tab_unavailable_with_its_advice() {
        let timeout = CallError::Timeout {
            session: "s".into(),
            what: "'go-to-tab-name'".into(),
            waited: Duration::from_millis(500),
            may_have_taken_effect: true,
        };
        let tab = TabOutcome::failed("feat-x", timeout.clone().into());
        assert!(tab.unavailable && !tab.done && tab.in_session);
        assert_eq!(tab.reason, Some(timeout.to_string()));
        let refused = TabOutcome::failed("feat-x", CallError::Refused("no".into()).into());
        assert!(!refused.unavailable);
    }

    #[test]
    fn outside_a_session_nothing_is_called() {
        let tab = focus_worktree_tab(None, "feat-x");
        assert!(!tab.in_session && !tab.done && !tab.unavailable);
        assert_eq!(tab.reason.as_deref(), Some("not inside a perth session"));
    }
}
