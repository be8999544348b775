//! `cargo xtask test` and `cargo xtask ci`: the workspace test suite and the checks CI runs before it.

use std::{env, ffi::OsString};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

use crate::{
    build::build_for_tests,
    find_program,
    workspace::{Profile, Workspace},
};

/// Builds, makes sure tmux exists, then runs every workspace test in release mode with `PERTH_BIN` set.
///
/// `--workspace` covers the plugin crates too: their libraries are built and tested for the host.
pub(crate) fn test(sh: &Shell, ws: &Workspace, args: &[OsString]) -> Result<()> {
    build_for_tests(sh, ws)?;
    // The end-to-end tests run perth inside tmux; the harness installs the Debian package when it is missing.
    ::tests::ensure_tmux().context("making sure tmux is installed")?;
    // The package test (tests/it/dist.rs) runs `cargo xtask dist`; installing cargo-deb here
    // keeps a first run's `cargo install` out of that test's time.
    crate::dist::ensure_cargo_deb(sh)?;
    let _perth_bin = sh.push_env("PERTH_BIN", ws.bin_path(Profile::Release, "perth"));
    if find_program("cargo-nextest").is_some() {
        cmd!(sh, "cargo nextest run --release --workspace {args...}")
            .run()
            .context("running the workspace tests with cargo nextest")?;
        // nextest does not run doctests; with a filter given, the user asked for specific tests only.
        if args.is_empty() {
            cmd!(sh, "cargo test --release --workspace --doc")
                .run()
                .context("running the workspace doctests")?;
        }
    } else {
        cmd!(sh, "cargo test --release --workspace {args...}")
            .run()
            .context("running the workspace tests with cargo test")?;
    }
    Ok(())
}

/// Runs rustfmt's check, clippy with warnings denied, and the check that the binaries and the
/// tests share one build of every upstream crate ([`crate::unify`]).
///
/// Clippy runs in the release profile: a check build never reuses compiled libraries, but it does reuse
/// build scripts (with their outputs, such as compiled C code) and proc-macros of the same profile, and
/// those are what the release build and the release tests compile anyway.
pub(crate) fn lint(sh: &Shell, ws: &Workspace) -> Result<()> {
    cmd!(sh, "cargo fmt --all -- --check")
        .run()
        .context("checking formatting (fix with `cargo fmt --all`)")?;
    cmd!(
        sh,
        "cargo clippy --workspace --all-targets --release -- -D warnings"
    )
    .run()
    .context("running clippy")?;
    crate::unify::check(sh, ws)
}

/// Runs what CI runs: [`lint`], then the tests with `CI=true`.
pub(crate) fn ci(sh: &Shell, ws: &Workspace) -> Result<()> {
    lint(sh, ws)?;
    let _ci = env::var_os("CI")
        .is_none()
        .then(|| sh.push_env("CI", "true"));
    test(sh, ws, &[])
}
