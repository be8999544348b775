//! Stock Zellij, the reference perth is measured against, installed once into the bench cache.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::cmd;

use super::BenchContext;

/// The upstream release perth is built on; the reference must be exactly this version.
pub(crate) const ZELLIJ_VERSION: &str = "0.45.1";

/// Returns `<cache>/zellij-0.45.1/bin/zellij`, installing it with `cargo install` when it is missing or another version.
///
/// `PERTH_BENCH_ZELLIJ_BIN` names another reference binary instead (no version check, no install).
pub(crate) fn stock_zellij(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("PERTH_BENCH_ZELLIJ_BIN") {
        let bin = PathBuf::from(bin);
        eprintln!(
            "bench: PERTH_BENCH_ZELLIJ_BIN is set; the reference is {}",
            bin.display()
        );
        return Ok(bin);
    }
    let root = ctx.cache_dir()?.join(format!("zellij-{ZELLIJ_VERSION}"));
    let bin = root.join("bin/zellij");
    if bin.is_file() {
        let version = cmd!(ctx.sh, "{bin} --version")
            .ignore_status()
            .read()
            .unwrap_or_default();
        if version
            .split_whitespace()
            .any(|word| word == ZELLIJ_VERSION)
        {
            return Ok(bin);
        }
        eprintln!(
            "bench: {} reports {version:?}; reinstalling {ZELLIJ_VERSION}",
            bin.display()
        );
    }
    eprintln!(
        "bench: installing stock zellij {ZELLIJ_VERSION} into {} with cargo install \
         (a one-time build, about 10 minutes on 2 cores; cargo's progress follows)",
        root.display()
    );
    // Without CARGO_TARGET_DIR, cargo install builds in a temporary folder it deletes afterwards,
    // instead of filling (and locking) the workspace's target directory.
    cmd!(
        ctx.sh,
        "cargo install zellij --version {ZELLIJ_VERSION} --locked --force --root {root}"
    )
    .env_remove("CARGO_TARGET_DIR")
    .run()
    .with_context(|| format!("installing zellij {ZELLIJ_VERSION} with cargo install"))?;
    anyhow::ensure!(
        bin.is_file(),
        "cargo install finished but {} does not exist",
        bin.display()
    );
    Ok(bin)
}
