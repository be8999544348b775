//! The requests the operations take and the reports they return, as the CLI prints them
//! (`--json`) and host-bridge passes them on.

use super::*;

/// A worktree type with its prefixes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WorktreeKind {
    /// Row id (0 for the built-in fallback used while the database is down).
    pub id: i64,
    /// `feat`, `fix`, ...
    pub name: String,
    /// `feat/`
    pub branch_prefix: String,
    /// `feat-`
    pub worktree_prefix: String,
}

/// The built-in types, as seeded by the migrations; used when the database is unavailable.
pub fn builtin_kinds() -> Vec<WorktreeKind> {
    [
        ("feat", "feat/", "feat-"),
        ("fix", "fix/", "fix-"),
        ("review", "pr/", "pr-"),
        ("aiops", "aiops/", "aiops-"),
        ("devops", "devops/", "devops-"),
    ]
    .into_iter()
    .map(|(name, b, w)| WorktreeKind {
        id: 0,
        name: name.into(),
        branch_prefix: b.into(),
        worktree_prefix: w.into(),
    })
    .collect()
}

/// Whether and how the database took an operation's record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DbNote {
    /// Whether the database was updated.
    pub database_updated: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_error: Option<String>,
}

impl DbNote {
    pub(super) fn ok() -> Self {
        Self {
            database_updated: true,
            database_error: None,
        }
    }

    pub(super) fn failed(e: impl std::fmt::Display) -> Self {
        Self {
            database_updated: false,
            database_error: Some(e.to_string()),
        }
    }
}

/// What `init` did.
#[derive(Clone, Debug, Serialize)]
pub struct InitReport {
    /// The project's layout.
    pub project: ProjectLayout,
    /// The `origin` remote.
    pub remote_origin: Option<String>,
    /// Whether the repository was cloned.
    pub cloned: bool,
    /// Whether an existing checkout was moved into `trunk-<branch>/` (only with `--force`).
    pub moved_from: Option<PathBuf>,
    /// The database outcome.
    #[serde(flatten)]
    pub db: DbNote,
}

/// How to run `add`.
#[derive(Clone, Debug, Default)]
pub struct AddRequest {
    /// Where the user is (any folder of the project).
    pub cwd: PathBuf,
    /// The worktree type's name.
    pub kind: String,
    /// The worktree name (a PR number or URL for `review`).
    pub name: String,
    /// What to branch from (default: the trunk branch).
    pub from: Option<String>,
    /// The owning agent.
    pub agent: Option<String>,
    /// Skips linking `sync/` folders and running post-create hooks.
    pub no_setup: bool,
}

/// A worktree as iMi reports it after creating or removing it.
#[derive(Clone, Debug, Serialize)]
pub struct WorktreeInfo {
    /// The database id, when recorded.
    pub id: Option<String>,
    /// The user's name (`x`).
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The branch.
    pub branch: String,
    /// The folder name (`feat-x`).
    pub worktree_name: String,
    /// The folder.
    pub path: PathBuf,
    /// The owning agent.
    pub agent_id: Option<String>,
}

/// What `add` did.
#[derive(Clone, Debug, Serialize)]
pub struct AddReport {
    /// The new worktree.
    pub worktree: WorktreeInfo,
    /// Whether the branch was created (false when an existing branch was checked out).
    pub created_branch: bool,
    /// What it branched from.
    pub from: String,
    /// Interrupted adds cleaned up first.
    pub cleaned_up: Vec<String>,
    /// Why the pull request's title, author and URL are missing, when they are.
    pub pr_metadata_error: Option<String>,
    /// How the metadata lookup failed, when it did: [`ErrorClass::Unavailable`] when GitHub could
    /// not be reached (the command line then exits 3, as for a database that is down).
    #[serde(skip)]
    pub pr_metadata_error_class: Option<ErrorClass>,
    /// The metadata recorded with the worktree (a review's PR number, title, author, URL).
    pub metadata: serde_json::Value,
    /// What the post-create setup did (`None` when skipped).
    pub setup: Option<SetupReport>,
    /// Why the post-create setup failed, when it did (the worktree is kept).
    pub setup_error: Option<String>,
    /// The database outcome.
    #[serde(flatten)]
    pub db: DbNote,
}

/// The state of one checkout as `status` shows it.
///
/// Serialized in the specification's shape: `name`, `type`, `dirty_files`, `ahead`, `behind`,
/// `last_commit` (the tip's subject line) first, then what iMi adds. The trunk is written by
/// [`TrunkStatus`] instead, whose documented fields differ.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorktreeStatus {
    /// The folder name (`feat-x`, `trunk-main`).
    pub name: String,
    /// The type, for worktrees iMi knows.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Changed, staged or untracked files.
    pub dirty_files: usize,
    /// Commits ahead of trunk (for the trunk itself: ahead of its upstream).
    pub ahead: u64,
    /// Commits behind trunk (for the trunk itself: behind its upstream).
    pub behind: u64,
    /// The tip commit's subject line.
    pub last_commit: Option<String>,
    /// The checked-out branch (`None` when detached).
    pub branch: Option<String>,
    /// The folder.
    pub path: PathBuf,
    /// The upstream branch.
    pub upstream: Option<String>,
    /// Commits ahead of the upstream.
    pub ahead_of_upstream: u64,
    /// Commits behind the upstream.
    pub behind_upstream: u64,
    /// The tip commit's hash.
    pub last_commit_hash: Option<String>,
    /// The tip's age in seconds.
    pub last_commit_age_seconds: Option<i64>,
    /// The owning agent.
    pub agent_id: Option<String>,
    /// What went wrong reading this worktree, if anything did.
    pub error: Option<String>,
    /// The coding agents working in this checkout, as the running perth sessions see them
    /// (the command line fills this in; empty without perth).
    pub agents: Vec<WorktreeAgent>,
}

/// A coding agent in a perth pane whose program works in a worktree (`perth agents
/// --all-sessions --json`, matched by the worktree's folder).
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct WorktreeAgent {
    /// The perth session.
    #[serde(default)]
    pub session: String,
    /// The terminal pane (`terminal_N` is `N`).
    pub pane_id: u32,
    /// `waiting`, `working`, `idle` or `exited`.
    pub state: String,
    /// Since when (Unix milliseconds).
    pub since_ms: u64,
    /// The question asked or what it did, inert text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The agent program (`claude`, `codex`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The pane's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pane_name: Option<String>,
    /// The folder the agent works in (the worktree's).
    #[serde(default, skip_serializing)]
    pub worktree: Option<PathBuf>,
}

/// The trunk's entry of `status --json`: the specification's `path`, `branch`, `ahead` and
/// `behind` (against the trunk's upstream) first, then the fields every worktree has.
#[derive(Serialize)]
pub struct TrunkStatus<'a> {
    path: &'a PathBuf,
    branch: &'a Option<String>,
    ahead: u64,
    behind: u64,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a Option<String>,
    dirty_files: usize,
    last_commit: &'a Option<String>,
    upstream: &'a Option<String>,
    last_commit_hash: &'a Option<String>,
    last_commit_age_seconds: Option<i64>,
    agent_id: &'a Option<String>,
    error: &'a Option<String>,
    agents: &'a [WorktreeAgent],
}

impl<'a> From<&'a WorktreeStatus> for TrunkStatus<'a> {
    fn from(st: &'a WorktreeStatus) -> Self {
        Self {
            path: &st.path,
            branch: &st.branch,
            ahead: st.ahead,
            behind: st.behind,
            name: &st.name,
            kind: &st.kind,
            dirty_files: st.dirty_files,
            last_commit: &st.last_commit,
            upstream: &st.upstream,
            last_commit_hash: &st.last_commit_hash,
            last_commit_age_seconds: st.last_commit_age_seconds,
            agent_id: &st.agent_id,
            error: &st.error,
            agents: &st.agents,
        }
    }
}

fn serialize_trunk<S: serde::Serializer>(st: &WorktreeStatus, s: S) -> Result<S::Ok, S::Error> {
    TrunkStatus::from(st).serialize(s)
}

/// What `status` saw, in the specification's shape: `repository`, `trunk`, `worktrees`.
#[derive(Clone, Debug, Serialize)]
pub struct StatusReport {
    /// The repository (the project's name).
    pub repository: String,
    /// The trunk checkout; its `ahead` and `behind` count against its upstream.
    #[serde(serialize_with = "serialize_trunk")]
    pub trunk: WorktreeStatus,
    /// Every other worktree; `ahead` and `behind` count against trunk.
    pub worktrees: Vec<WorktreeStatus>,
    /// The database outcome of caching the status.
    #[serde(flatten)]
    pub db: DbNote,
    /// Why the worktrees' agents are missing: the database could not be read. The git part of
    /// the report is complete; callers report this error with it (the command line exits 3).
    #[serde(skip)]
    pub database_read_error: Option<std::sync::Arc<Error>>,
}

/// How to run `remove`.
#[derive(Clone, Debug, Default)]
pub struct RemoveRequest {
    /// Where the user is.
    pub cwd: PathBuf,
    /// The worktree (`feat-x` or `x`).
    pub name: String,
    /// Allows losing uncommitted or unpushed work and deleting an unmerged branch.
    pub force: bool,
    /// Deletes the local branch (merged, or with `force`).
    pub delete_branch: bool,
    /// Also deletes the branch on `origin` (merged, or with `force`).
    pub remote: bool,
}

/// What `remove` did.
#[derive(Clone, Debug, Serialize)]
pub struct RemoveReport {
    /// The folder name.
    pub worktree_name: String,
    /// The folder.
    pub path: PathBuf,
    /// The branch.
    pub branch: Option<String>,
    /// How the branch relates to trunk.
    pub merge: Option<MergeState>,
    /// Uncommitted files that were discarded (only with `--force`).
    pub discarded_files: usize,
    /// Whether the local branch was deleted.
    pub branch_deleted: bool,
    /// Whether the remote branch was deleted.
    pub remote_branch_deleted: bool,
    /// The database outcome.
    #[serde(flatten)]
    pub db: DbNote,
}

/// What `remove` would lose and whether it would go ahead: the same checks, nothing changed.
#[derive(Clone, Debug, Serialize)]
pub struct RemovePreview {
    /// The folder name.
    pub worktree_name: String,
    /// The folder.
    pub path: PathBuf,
    /// The branch.
    pub branch: Option<String>,
    /// How the branch relates to trunk.
    pub merge: Option<MergeState>,
    /// Uncommitted files that removing would discard.
    pub uncommitted_files: usize,
    /// Commits neither pushed nor merged into trunk that removing would leave behind.
    pub unpushed_commits: u64,
    /// Whether the local branch would be deleted (asked for, and merged or forced).
    pub branch_deleted: bool,
    /// Why `remove` would refuse as asked (without `force`), in its own words.
    pub refusal: Option<String>,
}

/// One worktree `prune` looked at.
#[derive(Clone, Debug, Serialize)]
pub struct PruneCandidate {
    /// The folder name.
    pub worktree_name: String,
    /// The folder.
    pub path: PathBuf,
    /// The branch.
    pub branch: String,
    /// How it was merged.
    pub merge: MergeState,
    /// Uncommitted files.
    pub dirty_files: usize,
    /// `removed`, `would_remove`, or why it was kept.
    pub action: String,
}

/// What `prune` found and did.
#[derive(Clone, Debug, Serialize)]
pub struct PruneReport {
    /// Worktrees whose branches are merged.
    pub merged: Vec<PruneCandidate>,
    /// Stale git worktree entries (folders gone) that were (or would be) pruned.
    pub stale_entries: Vec<String>,
    /// Interrupted `iMi add`s that were (or would be) cleaned up.
    pub interrupted_adds: Vec<String>,
    /// Whether anything was changed (`--yes`).
    pub applied: bool,
    /// The database outcome.
    #[serde(flatten)]
    pub db: DbNote,
}

/// What `claim` did.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimReport {
    /// The worktree.
    pub worktree: WorktreeRow,
    /// The agent that owned it before.
    pub previous_agent: Option<String>,
}

/// What `project create` did.
#[derive(Clone, Debug, Serialize)]
pub struct ProjectCreateReport {
    /// The repository GitHub created.
    pub repository: CreatedRepository,
    /// The clone and registration.
    pub init: InitReport,
}

/// What `trust` recorded.
#[derive(Clone, Debug, Serialize)]
pub struct TrustReport {
    /// The hook file.
    pub file: PathBuf,
    /// The hash of the trusted content.
    pub sha256: String,
    /// What it will run.
    pub hooks: RepoHooks,
}

/// What `list` returns, serialized in the specification's shape: `worktrees` first, each row
/// as [`ListedWorktree`], then the project.
#[derive(Clone, Debug, Serialize)]
pub struct ListReport {
    /// Its live worktrees.
    #[serde(serialize_with = "serialize_listed")]
    pub worktrees: Vec<WorktreeRow>,
    /// The project.
    pub project: ProjectRow,
}

/// One worktree of `list --json`: the specification's `id`, `name` (the worktree's name,
/// `feat-user-auth`), `type`, `branch`, `path`, `agent_id`, `created_at`,
/// `has_uncommitted_changes` and `ahead_of_trunk` first, then the rest of the row.
#[derive(Serialize)]
pub struct ListedWorktree<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    branch: &'a str,
    path: &'a str,
    agent_id: &'a Option<String>,
    created_at: &'a DateTime<Utc>,
    has_uncommitted_changes: bool,
    ahead_of_trunk: i32,
    /// The name the user gave (`user-auth` in `iMi feat user-auth`).
    short_name: &'a str,
    project_id: &'a str,
    uncommitted_files_count: i32,
    behind_trunk: i32,
    merged_at: &'a Option<DateTime<Utc>>,
    active: bool,
    metadata: &'a serde_json::Value,
}

impl<'a> From<&'a WorktreeRow> for ListedWorktree<'a> {
    fn from(r: &'a WorktreeRow) -> Self {
        Self {
            id: &r.id,
            name: &r.worktree_name,
            kind: &r.type_name,
            branch: &r.branch_name,
            path: &r.path,
            agent_id: &r.agent_id,
            created_at: &r.created_at,
            has_uncommitted_changes: r.has_uncommitted_changes,
            ahead_of_trunk: r.ahead_of_trunk,
            short_name: &r.name,
            project_id: &r.project_id,
            uncommitted_files_count: r.uncommitted_files_count,
            behind_trunk: r.behind_trunk,
            merged_at: &r.merged_at,
            active: r.active,
            metadata: &r.metadata,
        }
    }
}

fn serialize_listed<S: serde::Serializer>(rows: &[WorktreeRow], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rows.iter().map(ListedWorktree::from))
}
