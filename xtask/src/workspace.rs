//! What the workspace holds, as `cargo metadata` reports it: the target directory, the plugins and the binaries.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;
use xshell::{cmd, Shell};

/// The target triple the WebAssembly plugins are built for.
pub(crate) const WASM_TARGET: &str = "wasm32-wasip1";
/// The cargo profile plugins are built with (see the root `Cargo.toml`); perth's build script reads it too.
pub(crate) const PLUGIN_PROFILE: &str = "plugin";

/// The workspace as seen by cargo, discovered once per `cargo xtask` run.
#[derive(Debug)]
pub(crate) struct Workspace {
    /// Honours `CARGO_TARGET_DIR` and `build.target-dir`, because cargo resolves it for us.
    pub(crate) target_dir: PathBuf,
    /// Package names of the workspace members under `plugins/`.
    pub(crate) plugins: Vec<String>,
    /// Native packages with at least one binary target (everything but xtask and the plugins).
    pub(crate) bin_packages: Vec<String>,
    /// Names of the binaries those packages build, in the order cargo lists them.
    pub(crate) bin_names: Vec<String>,
}

impl Workspace {
    /// Asks `cargo metadata` about the workspace rooted at the current directory of `sh`.
    pub(crate) fn discover(sh: &Shell) -> Result<Workspace> {
        let json = cmd!(sh, "cargo metadata --no-deps --format-version 1")
            .read()
            .context("running cargo metadata")?;
        Workspace::from_metadata(&json)
    }

    /// Parses the output of `cargo metadata --no-deps --format-version 1`.
    pub(crate) fn from_metadata(json: &str) -> Result<Workspace> {
        let meta: Value = serde_json::from_str(json).context("parsing cargo metadata")?;
        let root = PathBuf::from(
            meta["workspace_root"]
                .as_str()
                .context("cargo metadata has no workspace_root")?,
        );
        let target_dir = PathBuf::from(
            meta["target_directory"]
                .as_str()
                .context("cargo metadata has no target_directory")?,
        );
        let members: Vec<&str> = meta["workspace_members"]
            .as_array()
            .context("cargo metadata has no workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let plugins_dir = root.join("plugins");

        let mut plugins = Vec::new();
        let mut bin_packages = Vec::new();
        let mut bin_names = Vec::new();
        for package in meta["packages"]
            .as_array()
            .context("cargo metadata has no packages")?
        {
            let id = package["id"].as_str().unwrap_or_default();
            if !members.contains(&id) {
                continue;
            }
            let name = package["name"].as_str().context("package without a name")?;
            let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
            if manifest.starts_with(&plugins_dir) {
                plugins.push(name.to_owned());
                continue;
            }
            if name == "xtask" {
                continue;
            }
            let bins: Vec<String> = package["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|target| {
                    target["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
                })
                .filter_map(|target| target["name"].as_str().map(str::to_owned))
                .collect();
            if !bins.is_empty() {
                bin_packages.push(name.to_owned());
                bin_names.extend(bins);
            }
        }
        Ok(Workspace {
            target_dir,
            plugins,
            bin_packages,
            bin_names,
        })
    }

    /// Returns `<target>/<profile>/<name>`, where cargo puts a native binary.
    pub(crate) fn bin_path(&self, profile: Profile, name: &str) -> PathBuf {
        self.target_dir.join(profile.dir()).join(name)
    }
}

/// A cargo build profile of the native binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    Release,
    Debug,
    /// Zellij's own release settings (fat LTO, one codegen unit): installs and benchmarks.
    Dist,
}

impl Profile {
    /// Returns the cargo arguments that select this profile.
    pub(crate) fn cargo_args(self) -> &'static [&'static str] {
        match self {
            Profile::Release => &["--release"],
            Profile::Debug => &[],
            Profile::Dist => &["--profile", "dist"],
        }
    }

    /// Returns the folder under the target directory that cargo uses for this profile.
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Debug => "debug",
            Profile::Dist => "dist",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"{
        "workspace_root": "/w",
        "target_directory": "/w/target",
        "workspace_members": ["path+file:///w/perth#0.1.0", "path+file:///w/plugins/perth-core#0.0.0",
                              "path+file:///w/xtask#0.0.0", "path+file:///w/tests#0.0.0",
                              "path+file:///w/host-bridge/zdrive#0.0.0"],
        "packages": [
            {"id": "path+file:///w/perth#0.1.0", "name": "perth", "manifest_path": "/w/perth/Cargo.toml",
             "targets": [{"kind": ["bin"], "name": "perth"}, {"kind": ["custom-build"], "name": "build-script-build"}]},
            {"id": "path+file:///w/plugins/perth-core#0.0.0", "name": "perth-core",
             "manifest_path": "/w/plugins/perth-core/Cargo.toml",
             "targets": [{"kind": ["lib"], "name": "perth_core"}, {"kind": ["bin"], "name": "perth-core"}]},
            {"id": "path+file:///w/xtask#0.0.0", "name": "xtask", "manifest_path": "/w/xtask/Cargo.toml",
             "targets": [{"kind": ["bin"], "name": "xtask"}]},
            {"id": "path+file:///w/tests#0.0.0", "name": "tests", "manifest_path": "/w/tests/Cargo.toml",
             "targets": [{"kind": ["lib"], "name": "tests"}, {"kind": ["test"], "name": "it"}]},
            {"id": "path+file:///w/host-bridge/zdrive#0.0.0", "name": "zdrive",
             "manifest_path": "/w/host-bridge/zdrive/Cargo.toml",
             "targets": [{"kind": ["lib"], "name": "zdrive"}, {"kind": ["bin"], "name": "zdrive"},
                         {"kind": ["bin"], "name": "zdrive-admin"}]}
        ]
    }"#;

    #[test]
    fn discovers_plugins_and_binaries_from_metadata() {
        let ws = Workspace::from_metadata(METADATA).unwrap();
        assert_eq!(ws.target_dir, PathBuf::from("/w/target"));
        assert_eq!(ws.plugins, ["perth-core"]);
        assert_eq!(ws.bin_packages, ["perth", "zdrive"]);
        assert_eq!(ws.bin_names, ["perth", "zdrive", "zdrive-admin"]);
        assert_eq!(
            ws.bin_path(Profile::Release, "perth"),
            PathBuf::from("/w/target/release/perth")
        );
    }
}
