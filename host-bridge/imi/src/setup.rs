//! After a worktree is created: shared configuration linked from `sync/` folders, then post-create hooks (repository hooks only once trusted).
//!
//! Shared files: every entry of the global sync folder (the binary passes
//! `~/.config/iMi/sync/global/`) and of `<project>/sync/repo/` is symlinked into the new
//! worktree under the same name, `sync/repo/` first; existing paths are never replaced.
//! Hooks: `.imi.toml` at the root of the repository (committed, so written by whoever can push)
//! may list `[post_create] copy = [...]` (files, usually git-ignored ones such as `.env`, copied
//! from trunk) and `run = [...]` (shell commands run in the worktree). They run only after the
//! user trusted that exact content once with `iMi trust`; a changed file needs trusting again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::layout::ProjectLayout;

/// The repository's hook file, at the root of trunk.
pub const HOOK_FILE: &str = ".imi.toml";

/// What `.imi.toml` may hold.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RepoHooks {
    /// What runs after `iMi add`.
    #[serde(default)]
    pub post_create: PostCreate,
}

/// The post-create steps.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PostCreate {
    /// Paths (relative to the repository root) copied from trunk when they exist there.
    #[serde(default)]
    pub copy: Vec<String>,
    /// Shell commands run in the new worktree, in order; the first failure stops the rest.
    #[serde(default)]
    pub run: Vec<String>,
}

/// What the post-create setup did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SetupReport {
    /// Paths linked from `sync/` folders (relative to the worktree).
    pub linked: Vec<String>,
    /// Paths copied from trunk.
    pub copied: Vec<String>,
    /// Commands run, with their outcome.
    pub hooks: Vec<HookRun>,
    /// Why repository hooks did not run, when they did not.
    pub hooks_skipped: Option<String>,
}

/// One hook command's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct HookRun {
    /// The command.
    pub command: String,
    /// Whether it exited with status 0.
    pub ok: bool,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// The last lines it printed (stdout and stderr).
    pub output_tail: String,
}

/// Where the user's trust decisions are kept (a JSON file written 0600 by the binary's path).
#[derive(Clone, Debug)]
pub struct TrustStore {
    path: PathBuf,
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct TrustFile {
    trusted: Vec<TrustEntry>,
}

#[derive(Debug, Deserialize, Serialize, PartialEq, Eq)]
struct TrustEntry {
    trunk: String,
    sha256: String,
}

impl TrustStore {
    /// Returns the store kept in `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn load(&self) -> TrustFile {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Returns whether the hook file content `sha256` of `trunk` is trusted.
    pub fn is_trusted(&self, trunk: &Path, sha256: &str) -> bool {
        let trunk = trunk.display().to_string();
        self.load()
            .trusted
            .iter()
            .any(|e| e.trunk == trunk && e.sha256 == sha256)
    }

    /// Records trust in the hook file content `sha256` of `trunk`.
    pub fn trust(&self, trunk: &Path, sha256: &str) -> Result<()> {
        let mut file = self.load();
        let trunk = trunk.display().to_string();
        file.trusted.retain(|e| e.trunk != trunk);
        file.trusted.push(TrustEntry {
            trunk,
            sha256: sha256.to_owned(),
        });
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        }
        let tmp = self.path.with_extension("tmp");
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| Error::io("cannot write", &tmp, e))?;
            f.write_all(&serde_json::to_vec_pretty(&file).unwrap_or_default())
                .map_err(|e| Error::io("cannot write", &tmp, e))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io("cannot write", &self.path, e))
    }
}

/// Reads trunk's `.imi.toml`: `None` when there is none; its hooks and content hash otherwise.
pub fn read_repo_hooks(trunk: &Path) -> Result<Option<(RepoHooks, String)>> {
    let path = trunk.join(HOOK_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    let hooks: RepoHooks = toml::from_str(&text).map_err(|e| {
        Error::Refused(format!(
            "{} is not valid: {e}; it may hold [post_create] with copy = [\"PATH\", ...] and run = [\"COMMAND\", ...]",
            path.display()
        ))
    })?;
    let sha = format!("{:x}", Sha256::digest(text.as_bytes()));
    Ok(Some((hooks, sha)))
}

/// Links shared configuration and runs the post-create steps for a new worktree.
pub fn run_setup(
    project: &ProjectLayout,
    common_dir: &Path,
    worktree: &Path,
    branch: &str,
    global_sync: Option<&Path>,
    trust: Option<&TrustStore>,
    progress: &dyn Fn(&str),
) -> Result<SetupReport> {
    let mut report = SetupReport::default();
    let repo_sync = project.root.join("sync").join("repo");
    for dir in [Some(repo_sync.as_path()), global_sync]
        .into_iter()
        .flatten()
    {
        link_all(dir, worktree, &mut report.linked)?;
    }
    exclude_links(common_dir, &report.linked)?;
    let Some((hooks, sha)) = read_repo_hooks(&project.trunk)? else {
        return Ok(report);
    };
    if hooks.post_create.copy.is_empty() && hooks.post_create.run.is_empty() {
        return Ok(report);
    }
    if !trust.is_some_and(|t| t.is_trusted(&project.trunk, &sha)) {
        report.hooks_skipped = Some(format!(
            "{HOOK_FILE} defines post-create hooks that are not trusted yet: read {} and run `iMi trust` to allow them",
            project.trunk.join(HOOK_FILE).display()
        ));
        return Ok(report);
    }
    for rel in &hooks.post_create.copy {
        if Path::new(rel).is_absolute() || rel.split('/').any(|c| c == "..") {
            continue;
        }
        let from = project.trunk.join(rel);
        let to = worktree.join(rel);
        if from.is_file() && !to.exists() {
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
            }
            std::fs::copy(&from, &to).map_err(|e| Error::io("cannot copy", &from, e))?;
            report.copied.push(rel.clone());
        }
    }
    for command in &hooks.post_create.run {
        progress(&format!(
            "running hook `{command}` in {}",
            worktree.display()
        ));
        let out = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(worktree)
            .env("IMI_WORKTREE", worktree)
            .env("IMI_BRANCH", branch)
            .env("IMI_TRUNK", &project.trunk)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io("cannot run sh for a hook in", worktree, e))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        let ok = out.status.success();
        report.hooks.push(HookRun {
            command: command.clone(),
            ok,
            exit_code: out.status.code(),
            output_tail: tail,
        });
        if !ok {
            break;
        }
    }
    Ok(report)
}

fn link_all(dir: &Path, worktree: &Path, linked: &mut Vec<String>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let target = worktree.join(&name);
        if target.symlink_metadata().is_ok() {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), &target)
            .map_err(|e| Error::io("cannot link", &target, e))?;
        linked.push(name.to_string_lossy().into_owned());
    }
    Ok(())
}

/// Adds the linked names to the repository's `info/exclude`, so links do not count as
/// uncommitted files (which would make `iMi remove` refuse).
fn exclude_links(common_dir: &Path, linked: &[String]) -> Result<()> {
    if linked.is_empty() {
        return Ok(());
    }
    let path = common_dir.join("info").join("exclude");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let mut text = existing.clone();
    for name in linked {
        let line = format!("/{name}");
        if !existing.lines().any(|l| l == line) {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&line);
            text.push('\n');
        }
    }
    if text != existing {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create", dir, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io("cannot write", &path, e))?;
    }
    Ok(())
}
