//! The project lock around git's worktree metadata, and the markers that let an interrupted `iMi add` be cleaned up.
//!
//! Every change to worktrees (`git worktree add/remove/prune`, branch creation and deletion)
//! happens while holding an exclusive `flock` on `<git common dir>/imi.lock`, so concurrent
//! `iMi add`s never race on `.git/config.lock`, `.git/worktrees/` or ref locks. Before `add`
//! touches git it writes a marker naming what it is about to create and removes the marker once
//! git is done; the kernel drops the lock when a process dies, so a marker found by whoever
//! holds the lock next belongs to a process that was killed half way. `iMi monitor` reads the
//! same markers: what happens in a worktree while its marker exists is iMi's own checkout.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An exclusive lock on a repository's worktree metadata, released on drop.
#[derive(Debug)]
pub struct ProjectLock {
    file: File,
    common_dir: PathBuf,
}

impl ProjectLock {
    /// Blocks until the lock of the repository whose common git directory is `common_dir` is held.
    pub fn acquire(common_dir: &Path) -> Result<Self> {
        let path = common_dir.join("imi.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open the lock file", &path, e))?;
        file.lock()
            .map_err(|e| Error::io("cannot lock", &path, e))?;
        Ok(Self {
            file,
            common_dir: common_dir.to_owned(),
        })
    }

    fn pending_dir(&self) -> PathBuf {
        pending_dir(&self.common_dir)
    }

    /// Records that `marker`'s worktree is about to be created.
    pub fn write_marker(&self, marker: &PendingAdd) -> Result<PathBuf> {
        let dir = self.pending_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
        let path = dir.join(format!("{}.json", marker.worktree_name));
        let json = serde_json::to_vec(marker).unwrap_or_default();
        std::fs::write(&path, json).map_err(|e| Error::io("cannot write", &path, e))?;
        Ok(path)
    }

    /// Returns the markers of interrupted adds (held under the lock, so their writers are gone).
    pub fn interrupted_adds(&self) -> Vec<(PathBuf, PendingAdd)> {
        let Ok(entries) = std::fs::read_dir(self.pending_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let marker = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
                Some((path, marker))
            })
            .collect()
    }
}

impl Drop for ProjectLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Returns the folder of the [`PendingAdd`] markers of the repository whose common git directory
/// is `common_dir`.
pub fn pending_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("imi-pending")
}

/// Returns the worktree whose add `path` marks, when `path` is a marker in `pending_dir`.
pub fn marked_worktree<'a>(pending_dir: &Path, path: &'a Path) -> Option<&'a str> {
    if path.parent()? != pending_dir || path.extension()? != "json" {
        return None;
    }
    path.file_stem()?.to_str()
}

/// What an `iMi add` in progress is creating.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingAdd {
    /// The folder name.
    pub worktree_name: String,
    /// The folder.
    pub path: PathBuf,
    /// The branch.
    pub branch: String,
    /// Whether the add creates the branch (so cleaning up deletes it).
    pub creates_branch: bool,
}
