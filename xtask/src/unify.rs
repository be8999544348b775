//! The README's two commands share one build of every upstream crate: `cargo xtask run` (the
//! binaries) and `cargo xtask test` (the whole workspace with its tests) ask cargo for the same
//! features of each, so neither recompiles what the other compiled (Zellij's crates alone take
//! minutes).
//!
//! Cargo unifies features per build, over the packages that build selects; the tests and the
//! plugins' host builds turn on features the binaries alone would not (a dev-dependency's
//! `tempfile` with `getrandom` made `zellij-utils`, `zellij-server` and `zellij-client` build
//! twice). The `workspace-hack` crate, kept by `cargo hakari` (`.config/hakari.toml`), depends
//! on each crate with the union of its features, and every native member depends on it. This
//! check, part of `cargo xtask lint`, asks `cargo tree` for both builds' features and names any
//! upstream crate they would build differently, so a new dependency that breaks the sharing is
//! caught without installing cargo-hakari. It also checks that nothing the plugins build for
//! wasm32-wasip1 depends on `workspace-hack`, whose native crates do not build there.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{build::package_args, workspace::Workspace};

/// The feature sets each upstream crate (`name vX.Y.Z`) is built with in one build; a crate
/// built for the host (a build script's or proc-macro's dependency) and for the target can
/// have two.
type Features = BTreeMap<String, BTreeSet<String>>;

/// Fails, naming the crates, when the binaries' build and the test build would compile an
/// upstream crate with different features.
pub(crate) fn check(sh: &Shell, ws: &Workspace) -> Result<()> {
    check_plugins(sh, ws)?;
    let host = host_triple(sh)?;
    let packages = package_args(&ws.bin_packages);
    let format = "{p}|{f}";
    let run = cmd!(
        sh,
        "cargo tree --quiet --target {host} -e normal,build --prefix none -f {format} {packages...}"
    )
    .read()
    .context("asking cargo tree for the binaries' features")?;
    let test = cmd!(
        sh,
        "cargo tree --quiet --target {host} -e normal,build,dev --prefix none -f {format} --workspace"
    )
    .read()
    .context("asking cargo tree for the test build's features")?;
    let differing = differences(&parse(&run), &parse(&test));
    if differing.is_empty() {
        return Ok(());
    }
    bail!(
        "`cargo xtask run` and `cargo xtask test` would build these crates with different \
         features, so each would recompile them:\n{}\nregenerate the workspace-hack crate: \
         `cargo install cargo-hakari --locked` once, then `cargo hakari generate && cargo \
         hakari manage-deps`",
        differing.join("\n")
    )
}

/// Fails when a crate the plugins build for wasm32-wasip1 depends on `workspace-hack`.
fn check_plugins(sh: &Shell, ws: &Workspace) -> Result<()> {
    if ws.plugins.is_empty() {
        return Ok(());
    }
    let packages = package_args(&ws.plugins);
    let target = crate::workspace::WASM_TARGET;
    let tree = cmd!(
        sh,
        "cargo tree --quiet --target {target} -e normal,build --prefix depth {packages...}"
    )
    .read()
    .context("asking cargo tree for the plugins' dependencies")?;
    let dependents = hack_dependents(&tree);
    if dependents.is_empty() {
        return Ok(());
    }
    bail!(
        "the plugins' wasm build reaches workspace-hack through {}: add them to \
         `final-excludes` in .config/hakari.toml, then `cargo hakari generate && cargo hakari \
         manage-deps`",
        dependents.join(", ")
    )
}

/// Returns the packages that depend on `workspace-hack` in `cargo tree --prefix depth` output
/// (each line its depth, then the package): the nearest line above one level shallower.
fn hack_dependents(tree: &str) -> Vec<String> {
    let mut path: Vec<&str> = Vec::new();
    let mut found = BTreeSet::new();
    for line in tree.lines() {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let Ok(depth) = line[..digits].parse::<usize>() else {
            continue;
        };
        let name = line[digits..].split_whitespace().next().unwrap_or_default();
        path.truncate(depth);
        if name == "workspace-hack" {
            if let Some(parent) = path.last() {
                found.insert((*parent).to_owned());
            }
        }
        path.push(name);
    }
    found.into_iter().collect()
}

fn host_triple(sh: &Shell) -> Result<String> {
    let version = cmd!(sh, "rustc -vV")
        .read()
        .context("asking rustc its host")?;
    version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV printed no host line")
}

/// Reads `cargo tree --prefix none -f '{p}|{f}'`: one `name vX.Y.Z [(source)] [(*)]|a,b` per
/// line. Workspace members (their source is a path) are left out: they are ours to build.
fn parse(tree: &str) -> Features {
    let mut features = Features::new();
    for line in tree.lines() {
        let Some((package, list)) = line.split_once('|') else {
            continue;
        };
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if package.contains("(/") {
            continue;
        }
        let list = list.trim().trim_end_matches("(*)").trim();
        let set: Vec<&str> = list.split(',').filter(|f| !f.is_empty()).collect();
        features
            .entry(format!("{name} {version}"))
            .or_default()
            .insert(set.join(","));
    }
    features
}

/// Returns a line for each crate both builds compile whose feature sets differ.
fn differences(run: &Features, test: &Features) -> Vec<String> {
    run.iter()
        .filter_map(|(krate, in_run)| {
            let in_test = test.get(krate)?;
            (in_run != in_test).then(|| {
                let show = |sets: &BTreeSet<String>| {
                    sets.iter()
                        .map(|s| format!("[{s}]"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                format!(
                    "  {krate}: binaries {}, tests {}",
                    show(in_run),
                    show(in_test)
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_built_with_other_features_are_named_and_members_left_out() {
        let run = parse(
            "perth v0.1.0 (/w/perth)|default\n\
             tempfile v3.27.0|\n\
             serde v1.0.0|derive,std\n\
             libc v0.2.1|std (*)\n\
             libc v0.2.1|extra_traits,std\n",
        );
        let test = parse(
            "perth v0.1.0 (/w/perth)|\n\
             tempfile v3.27.0|default,getrandom\n\
             serde v1.0.0|derive,std (*)\n\
             libc v0.2.1|std\n\
             libc v0.2.1|extra_traits,std\n\
             insta v1.49.0|default\n",
        );
        assert!(!run.contains_key("perth v0.1.0"));
        assert_eq!(
            differences(&run, &test),
            ["  tempfile v3.27.0: binaries [], tests [default,getrandom]"]
        );
        assert!(differences(&test, &test).is_empty());
    }

    #[test]
    fn the_crates_that_bring_workspace_hack_into_a_plugin_build_are_named() {
        let tree = "0perth-core v0.0.0 (/w/plugins/perth-core)\n\
                    1bridge-protocol v0.0.0 (/w/host-bridge/bridge-protocol)\n\
                    2serde v1.0.0\n\
                    2workspace-hack v0.1.0 (/w/workspace-hack)\n\
                    3rustls v0.23.0\n\
                    1zellij-tile v0.45.1\n\
                    0pipe-echo v0.0.0 (/w/plugins/pipe-echo)\n\
                    1workspace-hack v0.1.0 (/w/workspace-hack)\n";
        assert_eq!(hack_dependents(tree), ["bridge-protocol", "pipe-echo"]);
        assert!(hack_dependents("0pipe-echo v0.0.0 (/w)\n1zellij-tile v0.45.1\n").is_empty());
    }
}
