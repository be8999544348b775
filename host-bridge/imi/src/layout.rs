//! The convention layout: a project folder holding `trunk-<default branch>/` and one sibling folder per worktree.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// The folder-name prefix of the main checkout.
pub const TRUNK_PREFIX: &str = "trunk-";

/// Where a project's folders are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProjectLayout {
    /// The project's name (the project folder's name).
    pub name: String,
    /// The project folder.
    pub root: PathBuf,
    /// The main checkout, `root/trunk-<branch>`.
    pub trunk: PathBuf,
    /// The trunk branch: the one checked out in trunk (else the trunk folder's suffix).
    pub default_branch: String,
}

impl ProjectLayout {
    /// Returns the layout of the project containing `start`, found from folder names alone (no git).
    pub fn locate(start: &Path) -> Result<Self> {
        let start = std::path::absolute(start).unwrap_or_else(|_| start.to_owned());
        for dir in start.ancestors() {
            if let Some(trunk) = find_trunk(dir) {
                return Self::from_trunk(&trunk);
            }
        }
        Err(Error::NotAProject {
            path: start.display().to_string(),
        })
    }

    /// Returns the layout whose main checkout is `trunk`.
    pub fn from_trunk(trunk: &Path) -> Result<Self> {
        let folder = trunk
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let root = trunk.parent().unwrap_or(trunk).to_owned();
        let name = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("project")
            .to_owned();
        Ok(Self {
            name,
            root,
            trunk: trunk.to_owned(),
            default_branch: head_branch(trunk).unwrap_or_else(|| {
                folder
                    .strip_prefix(TRUNK_PREFIX)
                    .unwrap_or(folder)
                    .to_owned()
            }),
        })
    }

    /// Returns the folder of the worktree named `worktree_name`.
    pub fn worktree_path(&self, worktree_name: &str) -> PathBuf {
        self.root.join(worktree_name)
    }

    /// Returns the project's checkouts, trunk included: the folders of `root` holding a `.git`,
    /// sorted (no git).
    pub fn checkouts(&self) -> Result<Vec<PathBuf>> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .map_err(|e| Error::io("cannot read", &self.root, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(".git").exists())
            .collect();
        found.sort();
        Ok(found)
    }
}

/// Returns the `trunk-*` child of `dir` that is a git checkout, if any.
fn find_trunk(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TRUNK_PREFIX))
        })
        .map(|e| e.path())
        .filter(|p| p.join(".git").is_dir())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Returns the trunk folder name for `branch` (`/` in branch names becomes `-`).
pub fn trunk_folder(branch: &str) -> String {
    format!("{TRUNK_PREFIX}{}", branch.replace('/', "-"))
}

/// Returns the branch checked out in the main checkout `trunk`, read from `.git/HEAD` (no git process).
fn head_branch(trunk: &Path) -> Option<String> {
    let head = std::fs::read_to_string(trunk.join(".git").join("HEAD")).ok()?;
    head.trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned)
}
