//! `cargo xtask build`: the wasm target, then the plugins, then the binaries that embed them.

use std::path::Path;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{
    find_program,
    workspace::{Profile, Workspace, PLUGIN_PROFILE, WASM_TARGET},
};

/// Builds the plugins for wasm32-wasip1 (always the `plugin` profile), then every native binary package in `profile`.
///
/// The order matters: perth's build script embeds `<target>/wasm32-wasip1/plugin/*.wasm`.
pub(crate) fn build(sh: &Shell, ws: &Workspace, profile: Profile) -> Result<()> {
    build_plugins(sh, ws)?;
    if !ws.bin_packages.is_empty() {
        let packages = package_args(&ws.bin_packages);
        let profile_args = profile.cargo_args();
        cmd!(sh, "cargo build {profile_args...} {packages...}")
            .run()
            .with_context(|| format!("building {}", ws.bin_packages.join(", ")))?;
    }
    Ok(())
}

/// Builds the plugins, then every target of the workspace (tests included) in release, the way
/// the test run will want them: one set of features for binaries and tests alike, so the large
/// upstream crates are compiled once, not once for the binaries and again for the tests.
pub(crate) fn build_for_tests(sh: &Shell, ws: &Workspace) -> Result<()> {
    build_plugins(sh, ws)?;
    cmd!(sh, "cargo build --release --workspace --all-targets")
        .run()
        .context("building the workspace and its tests")
}

fn build_plugins(sh: &Shell, ws: &Workspace) -> Result<()> {
    if !ws.plugins.is_empty() {
        ensure_wasm_target(sh)?;
        let packages = package_args(&ws.plugins);
        cmd!(
            sh,
            "cargo build --profile {PLUGIN_PROFILE} --target {WASM_TARGET} {packages...}"
        )
        .run()
        .context("building the plugins for wasm32-wasip1")?;
    }
    Ok(())
}

/// Returns `-p a -p b ...`, to build several packages in one cargo invocation.
pub(crate) fn package_args(packages: &[String]) -> Vec<String> {
    packages
        .iter()
        .flat_map(|p| ["-p".to_owned(), p.clone()])
        .collect()
}

/// Makes sure the wasm32-wasip1 standard library is installed, installing it with rustup when possible.
fn ensure_wasm_target(sh: &Shell) -> Result<()> {
    let how = format!(
        "install rustup (https://rustup.rs) and run `rustup target add {WASM_TARGET}`; \
         without rustup, install the {WASM_TARGET} standard library that matches `rustc --version`"
    );
    if find_program("rustup").is_none() {
        // Without rustup, the sysroot is the only place the target's standard library can be.
        let sysroot = cmd!(sh, "rustc --print sysroot")
            .read()
            .context("asking rustc for its sysroot")?;
        if Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .is_dir()
        {
            return Ok(());
        }
        bail!("the {WASM_TARGET} target is not installed and rustup is not available; {how}");
    }
    let installed = cmd!(sh, "rustup target list --installed")
        .read()
        .context("listing the installed rustup targets")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    eprintln!("xtask: the {WASM_TARGET} target is missing; installing it with rustup");
    cmd!(sh, "rustup target add {WASM_TARGET}")
        .run()
        .with_context(|| {
            format!("the {WASM_TARGET} target is missing and could not be installed; {how}")
        })
}
