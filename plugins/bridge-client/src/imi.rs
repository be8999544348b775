//! iMi's answers as the plugins read them: the worktree status host-bridge sends (the JSON of
//! `iMi status --json`), and one-line summaries of what an add, a removal or an open did, shared
//! by perth-core's `imi::*` pipes and the iMi pane.

use bridge_protocol::Response;
use serde::Deserialize;

use crate::client::BridgeError;
use crate::text::inert;

/// The prefix of the topics host-bridge pushes when worktrees change.
pub const WORKTREE_TOPIC_PREFIX: &str = "workspace.worktree.";

/// The built-in worktree types, in the order they are offered.
pub const KINDS: [&str; 5] = ["feat", "fix", "review", "aiops", "devops"];

/// How long a plugin waits for iMi: creating a worktree checks it out, runs trusted hooks and
/// opens its tab, which takes longer than the bridge client's default.
pub const IMI_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(40);

/// One checkout as `iMi status` sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Worktree {
    /// The folder name (`feat-login`, `trunk-main`).
    pub name: String,
    /// `trunk`, `feat`, ...; `None` for a worktree iMi did not make.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `None` when detached.
    pub branch: Option<String>,
    pub dirty_files: u64,
    /// Commits ahead of trunk (the trunk's own: ahead of its upstream).
    pub ahead: u64,
    /// Commits behind trunk (the trunk's own: behind its upstream).
    pub behind: u64,
    /// The tip commit's subject line.
    pub last_commit: Option<String>,
    pub last_commit_age_seconds: Option<i64>,
    pub agent_id: Option<String>,
    /// What went wrong reading it.
    pub error: Option<String>,
    /// The folder.
    pub path: Option<String>,
    /// The coding agents working in it, as perth's sessions see them.
    pub agents: Vec<Agent>,
}

/// A coding agent in a perth pane: in a worktree's `agents` (iMi's status), and on perth's
/// `perth::agents` pipe (where `worktree` says which checkout it works in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Agent {
    pub pane_id: u32,
    /// `waiting`, `working`, `idle` or `exited`.
    pub state: String,
    pub message: Option<String>,
    /// `claude`, `codex`, ...
    pub program: Option<String>,
    /// The folder it works in (on the pipe).
    pub worktree: Option<String>,
}

impl Agent {
    /// The state's mark, as perth draws it on the pane's frame.
    pub fn icon(&self) -> &'static str {
        match self.state.as_str() {
            "waiting" => "✋",
            "working" => "⏳",
            "idle" => "✓",
            _ => "■",
        }
    }
}

/// The pipe perth-core broadcasts the session's agents on (a JSON array of [`Agent`]).
pub const AGENTS_PIPE: &str = "perth::agents";

/// A worktree type as iMi knows it (`iMi types`): the built-in ones and those added with
/// `iMi types add`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct WorktreeType {
    /// `feat`, `fix`, ...
    pub name: String,
    /// `feat/`
    pub branch_prefix: String,
    /// `feat-`
    pub worktree_prefix: String,
}

impl WorktreeType {
    /// Returns a built-in type, named `name`, with iMi's default prefixes.
    pub fn builtin(name: &str) -> WorktreeType {
        WorktreeType {
            name: name.to_owned(),
            branch_prefix: format!("{name}/"),
            worktree_prefix: format!("{name}-"),
        }
    }
}

/// A project's trunk and worktrees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProjectStatus {
    /// The repository (the project's name).
    pub repository: String,
    pub trunk: Worktree,
    pub worktrees: Vec<Worktree>,
    /// The worktree types iMi offers; empty from a host-bridge older than this field.
    pub types: Vec<WorktreeType>,
}

impl ProjectStatus {
    /// Reads the status host-bridge answered with; `None` when it is not one.
    pub fn from_json(value: &serde_json::Value) -> Option<ProjectStatus> {
        ProjectStatus::deserialize(value).ok()
    }

    /// Returns the worktree types to offer: iMi's, or the built-in ones when the status does
    /// not carry them.
    pub fn kinds(&self) -> Vec<WorktreeType> {
        if self.types.is_empty() {
            KINDS.iter().map(|k| WorktreeType::builtin(k)).collect()
        } else {
            self.types.clone()
        }
    }

    /// Returns trunk first, then the worktrees.
    pub fn all(&self) -> impl Iterator<Item = &Worktree> {
        std::iter::once(&self.trunk).chain(&self.worktrees)
    }

    /// Gives each checkout the agents (from perth's `perth::agents` pipe) whose folder is its
    /// own, in place of those it had.
    pub fn place_agents(&mut self, agents: &[Agent]) {
        let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        for checkout in std::iter::once(&mut self.trunk).chain(self.worktrees.iter_mut()) {
            let Some(path) = checkout.path.as_deref() else {
                continue;
            };
            checkout.agents = agents
                .iter()
                .filter(|a| a.worktree.as_deref().is_some_and(|w| same(w, path)))
                .cloned()
                .collect();
        }
    }
}

/// Returns an age in its largest whole unit: `42s`, `5m`, `3h`, `12d`.
pub fn short_age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Returns one line about a worktree, its stored text inert: name, type, branch, changes,
/// distance to trunk, last commit and its age, agent.
pub fn worktree_line(w: &Worktree) -> String {
    let mut parts = vec![
        inert(&w.name),
        inert(w.kind.as_deref().unwrap_or("-")),
        inert(w.branch.as_deref().unwrap_or("(detached)")),
        match w.dirty_files {
            0 => "clean".to_owned(),
            n => format!("●{n}"),
        },
        format!("↑{} ↓{}", w.ahead, w.behind),
    ];
    if let Some(subject) = &w.last_commit {
        let age = w
            .last_commit_age_seconds
            .map(|s| format!(" ({} ago)", short_age(s)))
            .unwrap_or_default();
        parts.push(format!("{}{age}", inert(subject)));
    }
    if let Some(agent) = &w.agent_id {
        parts.push(format!("@{}", inert(agent)));
    }
    if let Some(error) = &w.error {
        parts.push(format!("error: {}", inert(error)));
    }
    parts.join("  ")
}

/// Says what happened to a worktree's tab (`tab feat-x opened`, `no tab (why)`).
fn tab_summary(tab: &serde_json::Value, verb: &str) -> String {
    let name = inert(tab["name"].as_str().unwrap_or_default());
    match (tab["done"].as_bool(), tab["reason"].as_str()) {
        (Some(true), _) => format!("tab {name} {verb}"),
        (_, Some(reason)) => format!("tab not {verb}: {}", inert_lines(reason)),
        _ => format!("tab not {verb}"),
    }
}

/// Returns the line about a created worktree: `created feat-x on branch feat/x from main; tab
/// feat-x opened`.
pub fn added_summary(report: &serde_json::Value) -> String {
    let w = &report["worktree"];
    let mut line = format!(
        "created {} on branch {}",
        inert(w["worktree_name"].as_str().unwrap_or_default()),
        inert(w["branch"].as_str().unwrap_or_default())
    );
    if let Some(from) = report["from"].as_str() {
        line.push_str(&format!(" from {}", inert(from)));
    }
    if report["database_updated"] == false {
        line.push_str(" (iMi's database was not updated; see iMi doctor)");
    }
    if !report["tab"].is_null() {
        line.push_str(&format!("; {}", tab_summary(&report["tab"], "opened")));
    }
    line
}

/// Returns the line about a removed worktree: `removed feat-x (kept branch feat/x); tab
/// feat-x closed`.
pub fn removed_summary(report: &serde_json::Value) -> String {
    let mut line = format!(
        "removed {}",
        inert(report["worktree_name"].as_str().unwrap_or_default())
    );
    match report["discarded_files"].as_u64() {
        Some(0) | None => {}
        Some(n) => line.push_str(&format!(
            ", discarding {n} uncommitted file{}",
            if n == 1 { "" } else { "s" }
        )),
    }
    if let Some(branch) = report["branch"].as_str() {
        let what = if report["branch_deleted"] == true {
            "deleted"
        } else {
            "kept"
        };
        line.push_str(&format!(" ({what} branch {})", inert(branch)));
    }
    if !report["tab"].is_null() {
        line.push_str(&format!("; {}", tab_summary(&report["tab"], "closed")));
    }
    line
}

/// Returns the line about an opened worktree tab.
pub fn opened_summary(tab: &serde_json::Value) -> String {
    tab_summary(tab, "open")
}

/// Returns the line for a finished iMi request: the summary, or what went wrong; `None` for a
/// repeat of a keyed request (the first one's instance answers).
pub fn answer(result: &Result<Response, BridgeError>) -> Option<Result<String, String>> {
    Some(match result {
        Ok(Response::ImiAdded { first: false, .. })
        | Ok(Response::ImiRemoved { first: false, .. })
        | Ok(Response::ImiOpened { first: false, .. })
        | Ok(Response::ImiStatus { first: false, .. }) => return None,
        Ok(Response::ImiAdded { report, .. }) => Ok(added_summary(report)),
        Ok(Response::ImiRemoved { report, .. }) => Ok(removed_summary(report)),
        Ok(Response::ImiOpened { tab, .. }) => Ok(opened_summary(tab)),
        Ok(Response::ImiStatus { status, .. }) => match ProjectStatus::from_json(status) {
            Some(status) => Ok(status
                .all()
                .map(worktree_line)
                .collect::<Vec<_>>()
                .join("\n")),
            None => Err("host-bridge sent a status iMi could not read".to_owned()),
        },
        Ok(other) => Err(crate::zdrive::unexpected(other)),
        Err(e) => Err(inert_lines(&e.user_message())),
    })
}

/// Returns `text` inert line by line: its newlines stay newlines (a message of git's or
/// GitHub's is read as lines), every other control character is shown in caret form.
pub fn inert_lines(text: &str) -> String {
    text.lines().map(inert).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_protocol::{ErrorBody, ErrorKind};
    use serde_json::json;

    fn status() -> serde_json::Value {
        json!({
            "repository": "widgets",
            "trunk": {"path": "/w/trunk-main", "branch": "main", "ahead": 0, "behind": 0,
                      "name": "trunk-main", "type": "trunk",
                      "last_commit": "Initial import", "last_commit_age_seconds": 7200},
            "worktrees": [{"name": "feat-login", "type": "feat", "dirty_files": 2, "ahead": 1,
                           "behind": 0, "last_commit": "Log in\u{1b}[2J",
                           "branch": "feat/login", "agent_id": "claude-1",
                           "last_commit_age_seconds": 90,
                           "upstream": null, "path": "/w/feat-login"}],
            "database_updated": true,
        })
    }

    #[test]
    fn the_status_reads_and_prints_one_inert_line_per_checkout() {
        let read = ProjectStatus::from_json(&status()).unwrap();
        assert_eq!(read.repository, "widgets");
        assert_eq!(read.all().count(), 2);
        let lines: Vec<String> = read.all().map(worktree_line).collect();
        assert_eq!(
            lines,
            [
                "trunk-main  trunk  main  clean  ↑0 ↓0  Initial import (2h ago)",
                "feat-login  feat  feat/login  ●2  ↑1 ↓0  Log in^[[2J (1m ago)  @claude-1",
            ]
        );
        assert_eq!(ProjectStatus::from_json(&json!("nope")), None);
    }

    #[test]
    fn the_types_are_imis_own_or_the_built_in_ones_from_an_older_bridge() {
        let older = ProjectStatus::from_json(&status()).unwrap();
        let names: Vec<String> = older.kinds().into_iter().map(|k| k.name).collect();
        assert_eq!(names, KINDS);
        assert_eq!(older.kinds()[0].branch_prefix, "feat/");
        let mut value = status();
        value["types"] = json!([
            {"id": 1, "name": "feat", "branch_prefix": "feat/", "worktree_prefix": "feat-"},
            {"id": 6, "name": "spike", "branch_prefix": "spike/", "worktree_prefix": "sp-"},
        ]);
        let newer = ProjectStatus::from_json(&value).unwrap();
        assert_eq!(
            newer.kinds(),
            [
                WorktreeType::builtin("feat"),
                WorktreeType {
                    name: "spike".into(),
                    branch_prefix: "spike/".into(),
                    worktree_prefix: "sp-".into(),
                },
            ]
        );
    }

    #[test]
    fn summaries_say_what_was_done_to_the_worktree_and_its_tab() {
        let added = json!({
            "worktree": {"worktree_name": "feat-x", "branch": "feat/x"},
            "from": "main",
            "database_updated": true,
            "tab": {"name": "feat-x", "done": true},
        });
        assert_eq!(
            added_summary(&added),
            "created feat-x on branch feat/x from main; tab feat-x opened"
        );
        let removed = json!({
            "worktree_name": "feat-x", "branch": "feat/x", "branch_deleted": false,
            "discarded_files": 3,
            "tab": {"name": "feat-x", "done": false, "reason": "not inside a perth session"},
        });
        assert_eq!(
            removed_summary(&removed),
            "removed feat-x, discarding 3 uncommitted files (kept branch feat/x); tab not closed: not inside a perth session"
        );
        assert_eq!(
            opened_summary(&json!({"name": "trunk-main", "done": true})),
            "tab trunk-main open"
        );
    }

    #[test]
    fn repeats_say_nothing_and_refusals_carry_their_hint() {
        let repeat = Ok(Response::ImiAdded {
            report: json!({}),
            first: false,
        });
        assert_eq!(answer(&repeat), None);
        let refused = Err(BridgeError::Refused(
            ErrorBody::new(
                ErrorKind::BadRequest,
                "worktree name \"../x\" is not allowed",
            )
            .with_hint("pick another"),
        ));
        assert_eq!(
            answer(&refused),
            Some(Err(
                "worktree name \"../x\" is not allowed (pick another)".to_owned()
            ))
        );
        let status = Ok(Response::ImiStatus {
            status: status(),
            first: true,
        });
        assert!(answer(&status).unwrap().unwrap().starts_with("trunk-main"));
    }

    #[test]
    fn a_failure_of_several_lines_keeps_its_lines() {
        let failed = Err(BridgeError::Refused(ErrorBody::new(
            ErrorKind::BadRequest,
            "git fetch failed:\r\nfatal: no such ref\u{1b}[2J\n",
        )));
        assert_eq!(
            answer(&failed),
            Some(Err("git fetch failed:\nfatal: no such ref^[[2J".to_owned()))
        );
    }

    #[test]
    fn ages_use_their_largest_unit() {
        assert_eq!(
            [5, 300, 7200, 200_000, -3].map(short_age),
            ["5s", "5m", "2h", "2d", "0s"]
        );
    }
}
