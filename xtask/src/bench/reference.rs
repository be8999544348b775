//! The reference tools perth's figures are measured against that do not come with the machine
//! (stock Zellij, worktrunk), each installed once into the bench cache with `cargo install`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::cmd;

use super::BenchContext;

/// The upstream release perth is built on; the reference must be exactly this version.
pub(crate) const ZELLIJ_VERSION: &str = "0.45.1";

/// worktrunk, iMi's reference for status across worktrees. Its newer releases need a newer
/// rustc than the toolchain pinned here; this is the newest that builds with it.
pub(crate) const WORKTRUNK_VERSION: &str = "0.67.0";

/// A crate whose binary is a reference, installed at an exact version.
struct Reference {
    krate: &'static str,
    version: &'static str,
    bin: &'static str,
    /// Overrides the installed binary (no version check, no install).
    override_var: &'static str,
    /// What a person waits for on the first run.
    build_time: &'static str,
}

/// Returns `<cache>/zellij-0.45.1/bin/zellij`, installing it with `cargo install` when it is missing or another version.
///
/// `PERTH_BENCH_ZELLIJ_BIN` names another reference binary instead (no version check, no install).
pub(crate) fn stock_zellij(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    installed(
        ctx,
        &Reference {
            krate: "zellij",
            version: ZELLIJ_VERSION,
            bin: "zellij",
            override_var: "PERTH_BENCH_ZELLIJ_BIN",
            build_time: "about 10 minutes on 2 cores",
        },
    )
}

/// Returns `<cache>/worktrunk-0.67.0/bin/wt`, installing it like [`stock_zellij`].
///
/// `PERTH_BENCH_WT_BIN` names another `wt` instead.
pub(crate) fn worktrunk(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    installed(
        ctx,
        &Reference {
            krate: "worktrunk",
            version: WORKTRUNK_VERSION,
            bin: "wt",
            override_var: "PERTH_BENCH_WT_BIN",
            build_time: "about 5 minutes on 2 cores",
        },
    )
}

fn installed(ctx: &BenchContext<'_>, reference: &Reference) -> Result<PathBuf> {
    let Reference {
        krate,
        version,
        bin: bin_name,
        override_var,
        build_time,
    } = reference;
    if let Some(bin) = std::env::var_os(override_var) {
        let bin = PathBuf::from(bin);
        eprintln!(
            "bench: {override_var} is set; the reference is {}",
            bin.display()
        );
        return Ok(bin);
    }
    let root = ctx.cache_dir()?.join(format!("{krate}-{version}"));
    let bin = root.join("bin").join(bin_name);
    if bin.is_file() {
        let reported = cmd!(ctx.sh, "{bin} --version")
            .ignore_status()
            .read()
            .unwrap_or_default();
        if reported
            .split_whitespace()
            .any(|word| word.trim_start_matches('v') == *version)
        {
            return Ok(bin);
        }
        eprintln!(
            "bench: {} reports {reported:?}; reinstalling {krate} {version}",
            bin.display()
        );
    }
    eprintln!(
        "bench: installing {krate} {version} into {} with cargo install \
         (a one-time build, {build_time}; cargo's progress follows)",
        root.display()
    );
    // Without CARGO_TARGET_DIR, cargo install builds in a temporary folder it deletes afterwards,
    // instead of filling (and locking) the workspace's target directory.
    cmd!(
        ctx.sh,
        "cargo install {krate} --version {version} --locked --force --root {root}"
    )
    .env_remove("CARGO_TARGET_DIR")
    .run()
    .with_context(|| format!("installing {krate} {version} with cargo install"))?;
    anyhow::ensure!(
        bin.is_file(),
        "cargo install finished but {} does not exist",
        bin.display()
    );
    Ok(bin)
}
