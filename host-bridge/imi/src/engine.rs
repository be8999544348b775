//! The operations of iMi, one function each, returning serialisable reports: used by the CLI, later by host-bridge and the plugin.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use store::Database;

use crate::db::{self, NewProject, NewWorktree, ProjectRow, StatusUpdate, WorktreeRow};
use crate::error::{Error, ErrorClass, Result};
use crate::git::{Git, GitWorktree, MergeState};
use crate::github::{self, CreatedRepository, GitHubConfig};
use crate::layout::{trunk_folder, ProjectLayout, TRUNK_PREFIX};
use crate::lock::{PendingAdd, ProjectLock};
use crate::names;
use crate::setup::{read_repo_hooks, run_setup, RepoHooks, SetupReport, TrustStore, HOOK_FILE};

/// The agent id recorded for iMi's own operations when no agent is given.
pub const IMI_AGENT: &str = "iMi";

/// Settings the binary resolves (from flags, environment and config file) and passes in.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The CloudEvents `source` of emitted events, `perth://HOST/iMi`.
    pub event_source: String,
    /// The folder whose entries are linked into every new worktree (`~/.config/iMi/sync/global`).
    pub global_sync_dir: Option<PathBuf>,
    /// Where trust in repository hooks is recorded (`~/.config/iMi/trusted-hooks.json`).
    pub trust_file: Option<PathBuf>,
    /// How to reach GitHub; `None` skips pull request metadata.
    pub github: Option<GitHubConfig>,
    /// Told before each step that may take more than a second (clone, checkout, hooks).
    pub progress: Option<Progress>,
}

/// A receiver of progress lines (`cloning ...`, `running hook ...`), for slow steps.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl EngineConfig {
    /// Returns a configuration with `event_source` and no sync folder or trust store.
    pub fn new(event_source: impl Into<String>) -> Self {
        Self {
            event_source: event_source.into(),
            global_sync_dir: None,
            trust_file: None,
            github: None,
            progress: None,
        }
    }
}

/// The database as the engine sees it: open, or unavailable with the reason.
#[derive(Clone, Debug)]
pub enum DbState {
    /// Open and migrated.
    Open(Database),
    /// Could not be opened, with the reason (which says what to do); git work still happens
    /// and reports say the database was not updated.
    Unavailable(String),
}

/// The iMi engine: git through the command line, state in the shared database.
#[derive(Clone, Debug)]
pub struct Engine {
    git: Git,
    db: DbState,
    config: EngineConfig,
}

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
    fn ok() -> Self {
        Self {
            database_updated: true,
            database_error: None,
        }
    }

    fn failed(e: impl std::fmt::Display) -> Self {
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

impl Engine {
    /// Returns an engine using `git` and the database `db`.
    pub fn new(git: Git, db: DbState, config: EngineConfig) -> Self {
        Self { git, db, config }
    }

    /// Returns the git runner.
    pub fn git(&self) -> &Git {
        &self.git
    }

    /// Returns the database state.
    pub fn db(&self) -> &DbState {
        &self.db
    }

    fn database(&self) -> Result<&Database> {
        match &self.db {
            DbState::Open(db) => Ok(db),
            DbState::Unavailable(why) => Err(Error::DatabaseUnavailable(why.clone())),
        }
    }

    /// Returns the worktree types: from the database, or the built-in ones while it is down.
    pub async fn kinds(&self) -> Vec<WorktreeKind> {
        let Ok(db) = self.database() else {
            return builtin_kinds();
        };
        match db.list_worktree_types().await {
            Ok(types) => types
                .into_iter()
                .map(|t| WorktreeKind {
                    id: t.id,
                    name: t.name,
                    branch_prefix: t.branch_prefix,
                    worktree_prefix: t.worktree_prefix,
                })
                .collect(),
            Err(_) => builtin_kinds(),
        }
    }

    fn progress(&self, line: &str) {
        if let Some(p) = &self.config.progress {
            (p.0)(line);
        }
    }

    fn event(&self, event_type: &str, subject: &str, data: serde_json::Value) -> bloodbank::Event {
        bloodbank::Event::new(self.config.event_source.clone(), event_type, data)
            .with_subject(subject)
    }

    /// Registers the repository at `cwd` (or `repo`: a path, or a URL to clone) as a project.
    ///
    /// A checkout that is not yet in the convention layout is moved into `trunk-<branch>/` of a
    /// folder of the same name only when `force` is set; otherwise the error explains the move.
    pub async fn init(&self, cwd: &Path, repo: Option<&str>, force: bool) -> Result<InitReport> {
        let local = match repo {
            None => Some(cwd.to_owned()),
            Some(r) => {
                let p = cwd.join(r);
                (p.join(".git").exists()).then_some(p)
            }
        };
        let (trunk, cloned, moved_from) = match (local, repo) {
            (Some(path), _) => {
                let (trunk, moved) = self.adopt_checkout(&path, force)?;
                (trunk, false, moved)
            }
            (None, Some(url)) => (self.clone_into_layout(cwd, url)?, true, None),
            (None, None) => unreachable!("a missing repo argument means the current folder"),
        };
        let project = ProjectLayout::from_trunk(&trunk)?;
        let remote_origin = self.origin_url(&trunk);
        let db = match self.register_project(&project, remote_origin.clone()).await {
            Ok(_) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        };
        Ok(InitReport {
            project,
            remote_origin,
            cloned,
            moved_from,
            db,
        })
    }

    async fn register_project(
        &self,
        project: &ProjectLayout,
        remote_origin: Option<String>,
    ) -> Result<ProjectRow> {
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::upsert_project(
            tx.conn(),
            &NewProject {
                name: project.name.clone(),
                remote_origin,
                default_branch: project.default_branch.clone(),
                trunk_path: project.trunk.display().to_string(),
            },
        )
        .await?;
        let event = self.event(
            "workspace.project.registered",
            &project.name,
            serde_json::json!({"project": project.name, "trunk_path": row.trunk_path, "default_branch": row.default_branch, "remote_origin": row.remote_origin}),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Returns the project row, registering the project on the fly when it is missing.
    async fn project_row(&self, project: &ProjectLayout) -> Result<ProjectRow> {
        let db = self.database()?;
        if let Some(row) = db::find_project(db.acquire().await?.conn(), &project.name).await? {
            if Path::new(&row.trunk_path) == project.trunk {
                return Ok(row);
            }
        }
        let origin = self.origin_url(&project.trunk);
        self.register_project(project, origin).await
    }

    /// Returns the repository's common git folder: trunk's `.git` folder, read without git.
    pub(crate) fn common_dir(&self, project: &ProjectLayout) -> Result<PathBuf> {
        let dot_git = project.trunk.join(".git");
        if dot_git.is_dir() {
            return Ok(dot_git);
        }
        self.git.common_dir(&project.trunk)
    }

    /// Returns whether `refname` exists, reading loose refs and `packed-refs` when the repository
    /// uses the files backend (one git process less on `add`'s path), else asking git.
    fn branch_exists(&self, project: &ProjectLayout, common: &Path, refname: &str) -> Result<bool> {
        if common.join("reftable").exists() {
            return self.git.ref_exists(&project.trunk, refname);
        }
        if common.join(refname).is_file() {
            return Ok(true);
        }
        let packed = std::fs::read_to_string(common.join("packed-refs")).unwrap_or_default();
        Ok(packed.lines().any(|l| {
            !l.starts_with('#')
                && !l.starts_with('^')
                && l.split_once(' ').is_some_and(|(_, r)| r == refname)
        }))
    }

    fn origin_url(&self, trunk: &Path) -> Option<String> {
        self.git
            .output(trunk, &["remote", "get-url", "origin"])
            .ok()
            .filter(|o| o.ok)
            .map(|o| o.stdout.trim().to_owned())
    }

    fn adopt_checkout(&self, path: &Path, force: bool) -> Result<(PathBuf, Option<PathBuf>)> {
        let common = self.git.common_dir(path)?;
        let main = common
            .parent()
            .filter(|_| common.file_name().is_some_and(|n| n == ".git"))
            .ok_or_else(|| {
                Error::Refused(format!(
                    "{} is a bare repository; run `iMi init --repo {}` from the folder that should hold the project",
                    common.display(),
                    common.display()
                ))
            })?
            .to_owned();
        let folder = main
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if folder.starts_with(TRUNK_PREFIX) {
            return Ok((main, None));
        }
        let branch = self.git.current_branch_or_main(&main)?;
        let target = main.join(trunk_folder(&branch));
        if !force {
            return Err(Error::Refused(format!(
                "{} is not in iMi's layout; iMi would move this checkout to {} (the project folder keeps its name and holds trunk-{} plus one folder per worktree). Nothing was changed: run `iMi init --force` to move it",
                main.display(),
                target.display(),
                branch.replace('/', "-")
            )));
        }
        let parent = main.parent().unwrap_or(Path::new("/"));
        let staging = parent.join(format!(".{folder}.imi-moving"));
        std::fs::rename(&main, &staging).map_err(|e| Error::io("cannot move", &main, e))?;
        std::fs::create_dir(&main).map_err(|e| Error::io("cannot create", &main, e))?;
        std::fs::rename(&staging, &target).map_err(|e| Error::io("cannot move", &staging, e))?;
        // Linked worktrees point at the old .git folder; git can fix both directions.
        self.git.run(&target, &["worktree", "repair"])?;
        Ok((target, Some(main)))
    }

    fn clone_into_layout(&self, cwd: &Path, url: &str) -> Result<PathBuf> {
        let name = url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(".git")
            .to_owned();
        names::validate_worktree_name(&name).map_err(|_| {
            Error::InvalidName(format!(
                "cannot derive a project name from {url:?}; clone it yourself and run `iMi init` inside"
            ))
        })?;
        let root = cwd.join(&name);
        if root.exists()
            && std::fs::read_dir(&root)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Error::AlreadyExists {
                what: "folder",
                name: root.display().to_string(),
                hint: "; remove it or run `iMi init --repo URL` from another folder".into(),
            });
        }
        std::fs::create_dir_all(&root).map_err(|e| Error::io("cannot create", &root, e))?;
        let staging = root.join(".imi-clone");
        let staging_arg = staging.display().to_string();
        self.progress(&format!("cloning {url} into {}", root.display()));
        self.git
            .run(cwd, &["clone", "--quiet", url, &staging_arg])
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&root);
            })?;
        let branch = self.git.current_branch_or_main(&staging)?;
        let trunk = root.join(trunk_folder(&branch));
        std::fs::rename(&staging, &trunk).map_err(|e| Error::io("cannot move", &staging, e))?;
        Ok(trunk)
    }

    /// Creates a typed worktree: branch `<prefix>NAME` in folder `<prefix>NAME/` next to trunk.
    pub async fn add(&self, req: &AddRequest) -> Result<AddReport> {
        names::validate_type_name(&req.kind)?;
        let kinds = self.kinds().await;
        let kind = kinds
            .iter()
            .find(|k| k.name == req.kind)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "worktree type",
                name: req.kind.clone(),
                hint: format!(
                    "; known types: {}",
                    kinds
                        .iter()
                        .map(|k| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let pr = (kind.name == "review")
            .then(|| names::parse_pr_reference(&req.name))
            .flatten();
        let looks_like_pr = req.name.starts_with('#')
            || req.name.starts_with("http")
            || (!req.name.is_empty() && req.name.chars().all(|c| c.is_ascii_digit()));
        if kind.name == "review" && pr.is_none() && looks_like_pr {
            return Err(Error::InvalidName(format!(
                "{:?} is not a pull request: give its number (1 to 9999999999, optionally as #N) or its URL https://github.com/OWNER/REPO/pull/N",
                req.name
            )));
        }
        let name = match pr {
            Some(n) => n.to_string(),
            None => {
                names::validate_worktree_name(&req.name)?;
                req.name.clone()
            }
        };
        if let Some(agent) = &req.agent {
            validate_agent(agent)?;
        }
        let project = ProjectLayout::locate(&req.cwd)?;
        let branch = format!("{}{}", kind.branch_prefix, name);
        let worktree_name = format!("{}{}", kind.worktree_prefix, name);
        let path = project.worktree_path(&worktree_name);
        let common = self.common_dir(&project)?;

        let lock = ProjectLock::acquire(&common)?;
        let cleaned_up = self.clean_interrupted_adds(&project, &lock)?;
        if path.exists() {
            return Err(Error::AlreadyExists {
                what: "worktree",
                name: worktree_name,
                hint: format!(
                    "; {} is taken: pick another name, or `iMi go {name}` to use it",
                    path.display()
                ),
            });
        }
        let branch_ref = format!("refs/heads/{branch}");
        if let Some(pr) = pr {
            // A pull request's head is fetched into its own local branch.
            let refspec = format!("+refs/pull/{pr}/head:{branch_ref}");
            let out = self
                .git
                .output(&project.trunk, &["fetch", "--quiet", "origin", &refspec])?;
            if !out.ok {
                return Err(pr_fetch_error(pr, &out.stderr));
            }
        }
        let branch_exists = self.branch_exists(&project, &common, &branch_ref)?;
        if branch_exists {
            if let Some(other) = self
                .git
                .worktrees(&project.trunk)?
                .into_iter()
                .find(|w| w.branch.as_deref() == Some(branch.as_str()))
            {
                return Err(Error::AlreadyExists {
                    what: "worktree for branch",
                    name: branch,
                    hint: format!("; it is checked out at {}", other.path.display()),
                });
            }
        }
        let from = req
            .from
            .clone()
            .unwrap_or_else(|| project.default_branch.clone());
        let marker_path = lock.write_marker(&PendingAdd {
            worktree_name: worktree_name.clone(),
            path: path.clone(),
            branch: branch.clone(),
            creates_branch: !branch_exists,
        })?;
        let path_arg = path.display().to_string();
        self.progress(&format!("checking out {branch} into {}", path.display()));
        let result = if branch_exists {
            self.git.run(
                &project.trunk,
                &["worktree", "add", "--quiet", &path_arg, &branch],
            )
        } else {
            self.git.run(
                &project.trunk,
                &[
                    "worktree",
                    "add",
                    "--quiet",
                    "--no-track",
                    "-b",
                    &branch,
                    &path_arg,
                    &from,
                ],
            )
        };
        if let Err(e) = result {
            self.undo_add(&project, &path, &branch, !branch_exists);
            let _ = std::fs::remove_file(&marker_path);
            return Err(e);
        }
        let _ = std::fs::remove_file(&marker_path);
        drop(lock);

        let trust = self.config.trust_file.clone().map(TrustStore::new);
        let (setup, setup_error) = if req.no_setup {
            (None, None)
        } else {
            match run_setup(
                &project,
                &common,
                &path,
                &branch,
                self.config.global_sync_dir.as_deref(),
                trust.as_ref(),
                &|line: &str| self.progress(line),
            ) {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e.to_string())),
            }
        };

        let agent = req.agent.clone();
        let mut metadata = serde_json::json!({});
        let mut pr_metadata_error = None;
        let mut pr_metadata_error_class = None;
        if let Some(pr) = pr {
            metadata["pr_number"] = serde_json::json!(pr);
            match self.pr_metadata(&project, pr).await {
                Ok(Some(info)) => {
                    metadata["pr_title"] = serde_json::json!(info.title);
                    metadata["pr_author"] = serde_json::json!(info.author);
                    metadata["pr_url"] = serde_json::json!(info.url);
                    metadata["pr_head_ref"] = serde_json::json!(info.head_ref);
                    metadata["pr_base_ref"] = serde_json::json!(info.base_ref);
                }
                Ok(None) => {}
                Err(e) => {
                    pr_metadata_error = Some(e.to_string());
                    pr_metadata_error_class = Some(e.class());
                }
            }
        }
        let mut info = WorktreeInfo {
            id: None,
            name,
            kind: kind.name.clone(),
            branch: branch.clone(),
            worktree_name,
            path,
            agent_id: agent,
        };
        let db = match self
            .record_add(&project, &kind, &info, metadata.clone())
            .await
        {
            Ok(id) => {
                info.id = Some(id);
                DbNote::ok()
            }
            Err(e) => DbNote::failed(e),
        };
        Ok(AddReport {
            worktree: info,
            created_branch: !branch_exists,
            from: if branch_exists { branch } else { from },
            cleaned_up,
            pr_metadata_error,
            pr_metadata_error_class,
            metadata,
            setup,
            setup_error,
            db,
        })
    }

    async fn pr_metadata(
        &self,
        project: &ProjectLayout,
        pr: u64,
    ) -> Result<Option<github::PullRequestInfo>> {
        let Some(config) = &self.config.github else {
            return Ok(None);
        };
        let origin = self.origin_url(&project.trunk).ok_or_else(|| {
            Error::Refused("the repository has no origin remote to find its pull requests".into())
        })?;
        let (owner, repo) = github::owner_repo(&origin).ok_or_else(|| {
            Error::Refused(format!(
                "cannot tell the GitHub repository from origin {origin}"
            ))
        })?;
        github::pull_request(config, &owner, &repo, pr)
            .await
            .map(Some)
    }

    /// Creates a GitHub repository (optionally from a template), clones it into the layout under
    /// `cwd` and registers it.
    pub async fn create_project(
        &self,
        cwd: &Path,
        name: &str,
        template: Option<&str>,
        private: bool,
    ) -> Result<ProjectCreateReport> {
        names::validate_worktree_name(name).map_err(|_| {
            Error::InvalidName(format!(
                "project name {name:?} is not allowed: use 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit"
            ))
        })?;
        let config =
            self.config.github.clone().ok_or_else(|| {
                Error::Refused("GitHub is not configured: set GITHUB_TOKEN".into())
            })?;
        if cwd.join(name).exists() {
            return Err(Error::AlreadyExists {
                what: "folder",
                name: cwd.join(name).display().to_string(),
                hint: "; nothing was created on GitHub. Pick another name or folder".into(),
            });
        }
        let repository = github::create_repository(&config, name, template, private).await?;
        let init = self.init(cwd, Some(&repository.clone_url), false).await?;
        Ok(ProjectCreateReport { repository, init })
    }

    /// Trusts the current content of trunk's `.imi.toml`, so its post-create hooks run from now on.
    pub fn trust(&self, cwd: &Path) -> Result<TrustReport> {
        let project = ProjectLayout::locate(cwd)?;
        let Some((hooks, sha256)) = read_repo_hooks(&project.trunk)? else {
            return Err(Error::NotFound {
                what: "hook file",
                name: project.trunk.join(HOOK_FILE).display().to_string(),
                hint: "; there is nothing to trust".into(),
            });
        };
        let store = self
            .config
            .trust_file
            .clone()
            .map(TrustStore::new)
            .ok_or_else(|| Error::Refused("no trust store is configured".into()))?;
        store.trust(&project.trunk, &sha256)?;
        Ok(TrustReport {
            file: project.trunk.join(HOOK_FILE),
            sha256,
            hooks,
        })
    }

    async fn record_add(
        &self,
        project: &ProjectLayout,
        kind: &WorktreeKind,
        info: &WorktreeInfo,
        metadata: serde_json::Value,
    ) -> Result<String> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let type_id = if kind.id == 0 {
            db.list_worktree_types()
                .await?
                .into_iter()
                .find(|t| t.name == kind.name)
                .map(|t| t.id)
                .unwrap_or(1)
        } else {
            kind.id
        };
        let mut tx = db.begin().await?;
        let row = db::insert_worktree(
            tx.conn(),
            &NewWorktree {
                project_id: project_row.id.clone(),
                type_id,
                name: info.name.clone(),
                branch_name: info.branch.clone(),
                worktree_name: info.worktree_name.clone(),
                path: info.path.display().to_string(),
                agent_id: info.agent_id.clone(),
                metadata,
            },
        )
        .await?;
        db::insert_activity(
            tx.conn(),
            info.agent_id.as_deref().unwrap_or(IMI_AGENT),
            &row.id,
            "worktree_created",
            None,
            &format!("iMi add {} {}", info.kind, info.name),
        )
        .await?;
        let event = self.event(
            "workspace.worktree.created",
            &info.worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": row.id,
                "name": info.name,
                "type": info.kind,
                "branch": info.branch,
                "worktree_name": info.worktree_name,
                "path": info.path,
                "agent_id": info.agent_id,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// Removes what a failed or interrupted add made: the worktree entry, its folder, and the
    /// branch when the add created it.
    fn undo_add(&self, project: &ProjectLayout, path: &Path, branch: &str, created_branch: bool) {
        let path_arg = path.display().to_string();
        let _ = self.git.output(
            &project.trunk,
            &["worktree", "remove", "--force", "--force", &path_arg],
        );
        if path.exists() {
            let _ = std::fs::remove_dir_all(path);
        }
        let _ = self.git.output(&project.trunk, &["worktree", "prune"]);
        if created_branch {
            let _ = self.git.output(&project.trunk, &["branch", "-D", branch]);
        }
    }

    fn clean_interrupted_adds(
        &self,
        project: &ProjectLayout,
        lock: &ProjectLock,
    ) -> Result<Vec<String>> {
        let mut cleaned = Vec::new();
        for (marker_path, marker) in lock.interrupted_adds() {
            self.undo_add(project, &marker.path, &marker.branch, marker.creates_branch);
            let _ = std::fs::remove_file(&marker_path);
            cleaned.push(marker.worktree_name);
        }
        Ok(cleaned)
    }

    /// Returns the live worktrees from the database alone, without running git.
    pub async fn list(&self, cwd: &Path) -> Result<ListReport> {
        let project = ProjectLayout::locate(cwd)?;
        let db = self.database()?;
        let mut conn = db.acquire().await?;
        let row = db::find_project(conn.conn(), &project.name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "project",
                name: project.name.clone(),
                hint: "; it is not registered: run `iMi init` in its trunk".into(),
            })?;
        let worktrees = db::list_worktrees(conn.conn(), &row.id, true).await?;
        Ok(ListReport {
            project: row,
            worktrees,
        })
    }

    /// Returns trunk's and every worktree's state, reading the worktrees in parallel.
    pub async fn status(&self, cwd: &Path) -> Result<StatusReport> {
        let project = ProjectLayout::locate(cwd)?;
        let worktrees = self.git.worktrees(&project.trunk)?;
        let live: Vec<&GitWorktree> = worktrees
            .iter()
            .filter(|w| !w.bare && w.prunable.is_none() && w.path.is_dir())
            .collect();
        // Every worktree's `git status` starts at once and runs while the branches and the
        // database are read.
        let pending: Vec<std::thread::JoinHandle<Result<usize>>> = live
            .iter()
            .map(|w| {
                let git = self.git.clone();
                let path = w.path.clone();
                std::thread::spawn(move || git.dirty_count(&path))
            })
            .collect();
        let branches = self.git.branches(&project.trunk, &project.default_branch)?;
        let kinds = self.kinds().await;
        // Without the database the agents are unknown: the report says why, and git's part
        // is shown all the same.
        let rows = async {
            let db = self.database()?;
            let p = self.project_row(&project).await?;
            let mut c = db.acquire().await?;
            Ok::<_, Error>(db::list_worktrees(c.conn(), &p.id, true).await?)
        }
        .await;
        let (rows, database_read_error) = match rows {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let now = Utc::now().timestamp();
        let dirty: Vec<Result<usize>> = pending
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Refused(
                        "reading this worktree's status failed".into(),
                    ))
                })
            })
            .collect();
        let mut trunk = None;
        let mut others = Vec::new();
        for (w, dirty) in live.iter().zip(dirty) {
            let folder = w
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let row = rows.iter().find(|r| Path::new(&r.path) == w.path);
            let mut st = WorktreeStatus {
                name: folder.clone(),
                kind: row.map(|r| r.type_name.clone()).or_else(|| {
                    kinds
                        .iter()
                        .find(|k| folder.starts_with(&k.worktree_prefix))
                        .map(|k| k.name.clone())
                }),
                branch: w.branch.clone(),
                path: w.path.clone(),
                agent_id: row.and_then(|r| r.agent_id.clone()),
                ..WorktreeStatus::default()
            };
            match dirty {
                Ok(n) => st.dirty_files = n,
                Err(e) => st.error = Some(e.to_string()),
            }
            if let Some(info) = w.branch.as_ref().and_then(|b| branches.get(b)) {
                st.ahead = info.ahead_trunk;
                st.behind = info.behind_trunk;
                st.upstream = info.upstream.clone();
                st.ahead_of_upstream = info.ahead_upstream;
                st.behind_upstream = info.behind_upstream;
                st.last_commit = Some(info.subject.clone());
                st.last_commit_hash = Some(info.tip.clone());
                st.last_commit_age_seconds = Some((now - info.committed_at).max(0));
            } else if let Some(head) = &w.head {
                st.last_commit_hash = Some(head.clone());
            }
            if w.path == project.trunk {
                st.kind = Some("trunk".into());
                // Trunk is never apart from itself: its distance is to its upstream.
                st.ahead = st.ahead_of_upstream;
                st.behind = st.behind_upstream;
                trunk = Some(st);
            } else {
                others.push(st);
            }
        }
        let db = match &database_read_error {
            Some(e) => DbNote::failed(e),
            None => self.cache_status(&rows, &others).await,
        };
        Ok(StatusReport {
            repository: project.name,
            trunk: trunk.unwrap_or_else(|| WorktreeStatus {
                name: trunk_folder(&project.default_branch),
                path: project.trunk.clone(),
                error: Some("trunk is not a git worktree".into()),
                ..WorktreeStatus::default()
            }),
            worktrees: others,
            db,
            database_read_error: database_read_error.map(std::sync::Arc::new),
        })
    }

    async fn cache_status(&self, rows: &[WorktreeRow], seen: &[WorktreeStatus]) -> DbNote {
        let db = match self.database() {
            Ok(db) => db,
            Err(e) => return DbNote::failed(e),
        };
        let write = async {
            let mut tx = db.begin().await?;
            for st in seen {
                if let Some(row) = rows.iter().find(|r| Path::new(&r.path) == st.path) {
                    db::update_status(
                        tx.conn(),
                        &row.id,
                        &StatusUpdate {
                            dirty_files: i32::try_from(st.dirty_files).unwrap_or(i32::MAX),
                            ahead_of_trunk: i32::try_from(st.ahead).unwrap_or(i32::MAX),
                            behind_trunk: i32::try_from(st.behind).unwrap_or(i32::MAX),
                            last_commit_hash: st.last_commit_hash.clone(),
                            last_commit_message: st.last_commit.clone(),
                        },
                    )
                    .await?;
                }
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        };
        match write.await {
            Ok(()) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        }
    }

    /// Finds a worktree of the project by folder name (`feat-x`) or by name (`x`).
    fn resolve_worktree(&self, project: &ProjectLayout, name: &str) -> Result<GitWorktree> {
        names::validate_worktree_name(name)?;
        let all = self.git.worktrees(&project.trunk)?;
        let folder = |w: &GitWorktree| {
            w.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned()
        };
        let candidates: Vec<&GitWorktree> = all
            .iter()
            .filter(|w| w.path != project.trunk && !w.bare)
            .collect();
        if let Some(w) = candidates.iter().find(|w| folder(w) == name) {
            return Ok((*w).clone());
        }
        let suffixed: Vec<&&GitWorktree> = candidates
            .iter()
            .filter(|w| {
                folder(w)
                    .split_once('-')
                    .is_some_and(|(_, rest)| rest == name)
            })
            .collect();
        match suffixed.as_slice() {
            [one] => Ok((**one).clone()),
            [] => {
                if project.trunk.file_name().and_then(|n| n.to_str()) == Some(name) {
                    return Err(Error::Refused(format!(
                        "{name} is the project's trunk; iMi never removes it"
                    )));
                }
                Err(Error::NotFound {
                    what: "worktree",
                    name: name.to_owned(),
                    hint: format!(
                        "; worktrees of {}: {}",
                        project.name,
                        if candidates.is_empty() {
                            "none".to_owned()
                        } else {
                            candidates
                                .iter()
                                .map(|w| folder(w))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                })
            }
            many => Err(Error::Refused(format!(
                "{name:?} matches several worktrees ({}); give the folder name",
                many.iter()
                    .map(|w| folder(w))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Returns what removing a worktree as `req` asks would lose, and whether `remove` would
    /// refuse it, without changing anything: what a confirmation shows.
    pub async fn remove_preview(&self, req: &RemoveRequest) -> Result<RemovePreview> {
        let project = ProjectLayout::locate(&req.cwd)?;
        let wt = self.resolve_worktree(&project, &req.name)?;
        let check = self.removal_check(&project, &wt, req)?;
        Ok(RemovePreview {
            branch_deleted: wt.branch.is_some()
                && (req.delete_branch || req.remote)
                && (req.force || check.merge.is_some_and(MergeState::is_safe_to_delete)),
            worktree_name: check.worktree_name,
            path: wt.path,
            branch: wt.branch,
            merge: check.merge,
            uncommitted_files: check.dirty,
            unpushed_commits: check.unpushed,
            refusal: check.refusal.map(|e| e.to_string()),
        })
    }

    /// Reads what removing `wt` would lose and why `remove` would refuse it (without `force`).
    fn removal_check(
        &self,
        project: &ProjectLayout,
        wt: &GitWorktree,
        req: &RemoveRequest,
    ) -> Result<RemovalCheck> {
        let worktree_name = wt
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let trunk = &project.default_branch;
        let dirty = if wt.path.is_dir() {
            self.git.dirty_count(&wt.path)?
        } else {
            0
        };
        let merge = match &wt.branch {
            Some(b) => Some(self.git.merge_state(&project.trunk, b, trunk)?),
            None => None,
        };
        let unpushed = match (&wt.head, merge) {
            (_, Some(m)) if m.is_safe_to_delete() => 0,
            (Some(head), _) => self.git.unpushed_count(&project.trunk, head, trunk)?,
            (None, _) => 0,
        };
        let refusal = if req.force {
            None
        } else if dirty > 0 {
            Some(Error::WouldLoseWork(format!(
                "worktree {worktree_name} has {dirty} uncommitted file{}; commit or stash them, or pass --force to discard them",
                plural(dirty)
            )))
        } else if unpushed > 0 {
            Some(Error::WouldLoseWork(format!(
                "worktree {worktree_name} has {unpushed} commit{} that are neither pushed nor merged into {trunk}; push them, or pass --force",
                plural(unpushed as usize)
            )))
        } else if (req.delete_branch || req.remote)
            && !merge.is_some_and(MergeState::is_safe_to_delete)
        {
            Some(Error::WouldLoseWork(format!(
                "branch {} is not merged into {trunk}; nothing was removed. Merge it first, drop --delete-branch/--remote, or pass --force",
                wt.branch.as_deref().unwrap_or("(detached)")
            )))
        } else {
            None
        };
        Ok(RemovalCheck {
            worktree_name,
            dirty,
            merge,
            unpushed,
            refusal,
        })
    }

    /// Removes a worktree, refusing to lose uncommitted or unpushed work without `force`.
    pub async fn remove(&self, req: &RemoveRequest) -> Result<RemoveReport> {
        let project = ProjectLayout::locate(&req.cwd)?;
        let wt = self.resolve_worktree(&project, &req.name)?;
        let RemovalCheck {
            worktree_name,
            dirty,
            merge,
            refusal,
            ..
        } = self.removal_check(&project, &wt, req)?;
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let common = self.common_dir(&project)?;
        let lock = ProjectLock::acquire(&common)?;
        let path_arg = wt.path.display().to_string();
        let mut args = vec!["worktree", "remove"];
        if req.force || wt.locked.is_some() {
            args.extend(["--force", "--force"]);
        }
        args.push(&path_arg);
        self.git.run(&project.trunk, &args)?;
        let mut branch_deleted = false;
        let mut remote_branch_deleted = false;
        if let Some(branch) = &wt.branch {
            if req.delete_branch || req.remote {
                self.git.run(&project.trunk, &["branch", "-D", branch])?;
                branch_deleted = true;
            }
            if req.remote {
                let out = self.git.output(
                    &project.trunk,
                    &["push", "--quiet", "origin", "--delete", branch],
                )?;
                remote_branch_deleted = out.ok;
            }
        }
        drop(lock);
        let merged = merge.filter(|m| matches!(m, MergeState::Merged { .. }));
        let db = match self
            .record_remove(
                &project,
                &worktree_name,
                wt.branch.as_deref(),
                merged.is_some(),
                wt.head.as_deref(),
            )
            .await
        {
            Ok(()) => DbNote::ok(),
            Err(e) => DbNote::failed(e),
        };
        Ok(RemoveReport {
            worktree_name,
            path: wt.path,
            branch: wt.branch,
            merge,
            discarded_files: dirty,
            branch_deleted,
            remote_branch_deleted,
            db,
        })
    }

    async fn record_remove(
        &self,
        project: &ProjectLayout,
        worktree_name: &str,
        branch: Option<&str>,
        merged: bool,
        head: Option<&str>,
    ) -> Result<()> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::find_active_worktree(tx.conn(), &project_row.id, worktree_name).await?;
        let id = row.as_ref().map(|r| r.id.clone());
        if let Some(row) = &row {
            db::insert_activity(
                tx.conn(),
                row.agent_id.as_deref().unwrap_or(IMI_AGENT),
                &row.id,
                "worktree_removed",
                None,
                &format!("iMi remove {worktree_name}"),
            )
            .await?;
            db::archive_worktree(
                tx.conn(),
                &row.id,
                merged.then(Utc::now),
                if merged { head } else { None },
            )
            .await?;
        }
        let event = self.event(
            "workspace.worktree.removed",
            worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": id,
                "worktree_name": worktree_name,
                "branch": branch,
                "merged": merged,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists (and with `apply` removes) worktrees whose branches are merged, stale git entries
    /// and interrupted adds. Dirty worktrees are never removed.
    pub async fn prune(&self, cwd: &Path, apply: bool) -> Result<PruneReport> {
        let project = ProjectLayout::locate(cwd)?;
        let common = self.common_dir(&project)?;
        let lock = ProjectLock::acquire(&common)?;
        let interrupted: Vec<String> = if apply {
            self.clean_interrupted_adds(&project, &lock)?
        } else {
            lock.interrupted_adds()
                .into_iter()
                .map(|(_, m)| m.worktree_name)
                .collect()
        };
        let worktrees = self.git.worktrees(&project.trunk)?;
        let stale_entries: Vec<String> = worktrees
            .iter()
            .filter(|w| w.prunable.is_some())
            .map(|w| w.path.display().to_string())
            .collect();
        if apply {
            self.git.run(&project.trunk, &["worktree", "prune"])?;
        }
        let mut merged = Vec::new();
        for w in worktrees
            .iter()
            .filter(|w| w.path != project.trunk && !w.bare && w.prunable.is_none())
        {
            let Some(branch) = &w.branch else { continue };
            let state = self
                .git
                .merge_state(&project.trunk, branch, &project.default_branch)?;
            if !matches!(state, MergeState::Merged { .. }) {
                continue;
            }
            let dirty = self.git.dirty_count(&w.path)?;
            let worktree_name = w
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            let action = if dirty > 0 {
                format!("kept: {dirty} uncommitted file{}", plural(dirty))
            } else if !apply {
                "would_remove".to_owned()
            } else {
                let path_arg = w.path.display().to_string();
                match self
                    .git
                    .run(&project.trunk, &["worktree", "remove", &path_arg])
                    .and_then(|_| self.git.run(&project.trunk, &["branch", "-D", branch]))
                {
                    Ok(_) => "removed".to_owned(),
                    Err(e) => format!("kept: {e}"),
                }
            };
            merged.push(PruneCandidate {
                worktree_name,
                path: w.path.clone(),
                branch: branch.clone(),
                merge: state,
                dirty_files: dirty,
                action,
            });
        }
        drop(lock);
        let db = if apply {
            match self.record_prune(&project, &merged).await {
                Ok(()) => DbNote::ok(),
                Err(e) => DbNote::failed(e),
            }
        } else {
            DbNote::ok()
        };
        Ok(PruneReport {
            merged,
            stale_entries,
            interrupted_adds: interrupted,
            applied: apply,
            db,
        })
    }

    async fn record_prune(&self, project: &ProjectLayout, merged: &[PruneCandidate]) -> Result<()> {
        let project_row = self.project_row(project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        // Rows whose folder is gone (removed by prune, by hand, or by an interrupted add) become history.
        for row in db::list_worktrees(tx.conn(), &project_row.id, true).await? {
            if Path::new(&row.path).exists() {
                continue;
            }
            let was_merged = merged
                .iter()
                .any(|c| c.worktree_name == row.worktree_name && c.action == "removed");
            db::archive_worktree(tx.conn(), &row.id, was_merged.then(Utc::now), None).await?;
            let event = self.event(
                "workspace.worktree.removed",
                &row.worktree_name,
                serde_json::json!({
                    "project": project.name,
                    "worktree_id": row.id,
                    "worktree_name": row.worktree_name,
                    "branch": row.branch_name,
                    "merged": was_merged,
                    "by": "prune",
                }),
            );
            bloodbank::outbox_append(tx.conn(), &event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets the agent that owns a worktree (the database is required).
    pub async fn claim(&self, cwd: &Path, name: &str, agent: &str) -> Result<ClaimReport> {
        validate_agent(agent)?;
        let project = ProjectLayout::locate(cwd)?;
        let wt = self.resolve_worktree(&project, name)?;
        let worktree_name = wt
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let project_row = self.project_row(&project).await?;
        let db = self.database()?;
        let mut tx = db.begin().await?;
        let row = db::find_active_worktree(tx.conn(), &project_row.id, &worktree_name)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "worktree record",
                name: worktree_name.clone(),
                hint: "; it was not created by iMi (or the database was down then): remove it and `iMi add` it again".into(),
            })?;
        db::set_agent(tx.conn(), &row.id, agent).await?;
        db::insert_activity(
            tx.conn(),
            agent,
            &row.id,
            "worktree_claimed",
            None,
            &format!("iMi claim {worktree_name} --agent {agent}"),
        )
        .await?;
        let event = self.event(
            "workspace.worktree.claimed",
            &worktree_name,
            serde_json::json!({
                "project": project.name,
                "worktree_id": row.id,
                "worktree_name": worktree_name,
                "agent_id": agent,
                "previous_agent_id": row.agent_id,
            }),
        );
        bloodbank::outbox_append(tx.conn(), &event).await?;
        let updated = db::get_worktree(tx.conn(), &row.id)
            .await?
            .unwrap_or(row.clone());
        tx.commit().await?;
        Ok(ClaimReport {
            worktree: updated,
            previous_agent: row.agent_id,
        })
    }

    /// Returns the trunk folder of the project containing `cwd` (no git, no database).
    pub fn trunk(&self, cwd: &Path) -> Result<PathBuf> {
        Ok(ProjectLayout::locate(cwd)?.trunk)
    }

    /// Returns the folder of worktree `name` (`feat-x` or `x`) from folder names alone.
    pub fn go(&self, cwd: &Path, name: &str) -> Result<PathBuf> {
        names::validate_worktree_name(name)?;
        let project = ProjectLayout::locate(cwd)?;
        let exact = project.root.join(name);
        if exact.join(".git").exists() {
            return Ok(exact);
        }
        let mut found: Vec<PathBuf> = project
            .checkouts()?
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split_once('-'))
                    .is_some_and(|(_, rest)| rest == name)
            })
            .collect();
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(Error::NotFound {
                what: "worktree",
                name: name.to_owned(),
                hint: format!("; `iMi list` shows the worktrees of {}", project.name),
            }),
            _ => Err(Error::Refused(format!(
                "{name:?} matches several worktrees ({}); give the folder name",
                found
                    .iter()
                    .filter_map(|p| p.file_name().and_then(|n| n.to_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// What [`Engine::removal_check`] found.
struct RemovalCheck {
    worktree_name: String,
    dirty: usize,
    merge: Option<MergeState>,
    unpushed: u64,
    refusal: Option<Error>,
}

/// Returns why `git fetch origin refs/pull/PR/head` failed: the pull request does not exist
/// (origin has no such ref), or origin could not be reached (an unavailable dependency).
fn pr_fetch_error(pr: u64, stderr: &str) -> Error {
    if stderr.contains("couldn't find remote ref") {
        return Error::NotFound {
            what: "pull request",
            name: pr.to_string(),
            hint: format!("; origin has no refs/pull/{pr}/head: check the number"),
        };
    }
    Error::RemoteUnreachable {
        remote: "origin".into(),
        what: format!("fetch pull request {pr}"),
        stderr: stderr.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Checks an agent id: what a name allows, plus ':' and '@' (`claude:1`, `bot@host`).
pub fn validate_agent(agent: &str) -> Result<()> {
    let ok = !agent.is_empty()
        && agent.len() <= 128
        && !agent.starts_with('-')
        && agent
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(format!(
            "agent id {agent:?} is not allowed: use 1 to 128 ASCII letters, digits, '-', '_', '.', ':' or '@', not starting with '-'"
        )))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Returns an RFC 3339 timestamp, for reports.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::pr_fetch_error;
    use crate::ErrorClass;

    #[test]
    fn a_failed_pull_request_fetch_is_missing_only_when_origin_answered() {
        let missing = pr_fetch_error(123, "fatal: couldn't find remote ref refs/pull/123/head");
        assert_eq!(
            (missing.class(), missing.kind()),
            (ErrorClass::User, "not_found")
        );
        let unreachable = pr_fetch_error(
            123,
            "fatal: unable to access 'https://github.com/o/r.git/': Could not resolve host: github.com",
        );
        assert_eq!(
            (unreachable.class(), unreachable.kind()),
            (ErrorClass::Unavailable, "remote_unavailable")
        );
        let ssh = pr_fetch_error(
            123,
            "ssh: Could not resolve hostname github.com: Name or service not known\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.",
        );
        assert_eq!(ssh.kind(), "remote_unavailable");
        assert!(!ssh.to_string().contains('\n'), "{ssh}");
    }
}
