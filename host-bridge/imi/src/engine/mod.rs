//! The operations of iMi, returning serialisable reports: used by the CLI, host-bridge and the
//! plugin. One module per operation (`init`, `add`, `status`, `remove`, `claim`); what they
//! share (the engine, its settings, the database and git helpers) is here, the requests and
//! reports in `reports`.

mod add;
mod claim;
mod init;
mod remove;
mod reports;
mod status;

pub use reports::*;

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

/// Returns an RFC 3339 timestamp, for reports.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A project to run the operations on: `<tmp>/demo/trunk-main` with one commit, registered
/// in a fresh SQLite database, and the engine over both.
#[cfg(test)]
pub(super) mod fixture {
    use std::process::Command;

    use super::*;

    pub(crate) struct Project {
        /// Holds the folder; dropped last.
        pub dir: tempfile::TempDir,
        pub trunk: PathBuf,
        pub engine: Engine,
    }

    /// Runs `git ARGS` in `dir`, with an identity of its own, and returns its standard output.
    pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=iMi tests",
                "-c",
                "user.email=imi@example.test",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub(crate) async fn project() -> Project {
        let dir = tempfile::tempdir().expect("a temp dir");
        let trunk = dir.path().join("demo").join("trunk-main");
        std::fs::create_dir_all(&trunk).unwrap();
        git(&trunk, &["init", "-q", "-b", "main"]);
        std::fs::write(trunk.join("README.md"), "demo\n").unwrap();
        git(&trunk, &["add", "README.md"]);
        git(&trunk, &["commit", "-q", "-m", "First commit"]);
        let url = format!("sqlite://{}", dir.path().join("imi.db").display());
        let db = Database::open(&url).await.expect("opening the database");
        let engine = Engine::new(
            Git::new("git"),
            DbState::Open(db),
            EngineConfig::new("perth://test/iMi"),
        );
        Project { dir, trunk, engine }
    }

    impl Project {
        /// Registers the project, then adds worktree `kind`/`name` without hooks.
        pub(crate) async fn with_worktree(kind: &str, name: &str) -> (Project, AddReport) {
            let p = project().await;
            p.engine.init(&p.trunk, None, false).await.unwrap();
            let added = p.engine.add(&p.request(kind, name)).await.unwrap();
            (p, added)
        }

        pub(crate) fn request(&self, kind: &str, name: &str) -> AddRequest {
            AddRequest {
                cwd: self.trunk.clone(),
                kind: kind.into(),
                name: name.into(),
                from: None,
                agent: None,
                no_setup: true,
            }
        }
    }
}
