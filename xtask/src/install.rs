//! `cargo xtask install`: copies the release binaries into an install root's `bin` folder.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::{
    build::build,
    workspace::{Profile, Workspace},
};

/// Builds in the dist profile (Zellij's own release settings), then copies every binary to
/// `<root>/bin`, the way `cargo install --root` lays it out.
pub(crate) fn install(sh: &Shell, ws: &Workspace, root: Option<PathBuf>) -> Result<()> {
    build(sh, ws, Profile::Dist)?;
    let root = match root {
        Some(root) => root,
        None => default_root()?,
    };
    let bin_dir = root.join("bin");
    fs::create_dir_all(&bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    for name in &ws.bin_names {
        let from = ws.bin_path(Profile::Dist, name);
        let to = bin_dir.join(name);
        replace_file(&from, &to)?;
        println!("installed {} -> {}", from.display(), to.display());
    }
    let path = env::var_os("PATH").unwrap_or_default();
    if !env::split_paths(&path).any(|dir| same_dir(&dir, &bin_dir)) {
        println!(
            "note: {dir} is not on your PATH; add it, for example: export PATH=\"{dir}:$PATH\"",
            dir = bin_dir.display()
        );
    }
    Ok(())
}

/// Returns `$CARGO_HOME`, else `~/.cargo`.
fn default_root() -> Result<PathBuf> {
    if let Some(cargo_home) = env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(cargo_home));
    }
    let home = env::var_os("HOME").context("HOME is not set; pass --root DIR")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

/// Copies `from` next to `to` and renames it over `to`, so a running copy of the old binary is not disturbed.
fn replace_file(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("xtask-new");
    fs::copy(from, &tmp)
        .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    fs::rename(&tmp, to).with_context(|| format!("moving {} to {}", tmp.display(), to.display()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}
