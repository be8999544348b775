//! perth's own plugins: their files written out of the binary, and their permissions granted
//! up front in Zellij's permission cache.

use std::path::{Path, PathBuf};

use zellij_utils::data::PermissionType;
use zellij_utils::input::layout::RunPluginLocation;
use zellij_utils::input::permission::PermissionCache;

use super::{write_atomically, ConfigLoadError};
use crate::assets::{self, EmbeddedPlugin};

/// perth's plugin files, each when the binary carries it (a plain `cargo test` build has none).
#[derive(Debug, Clone, Default)]
pub struct PluginFiles {
    /// The `perth-core` background plugin.
    pub perth_core: Option<PathBuf>,
    /// The zdrive snapshot pane (alias `zdrive-snapshot`).
    pub zdrive_snapshot: Option<PathBuf>,
    /// The iMi pane (alias `imi`).
    pub imi_worktrees: Option<PathBuf>,
    /// The zdrive pane (alias `zdrive`).
    pub zdrive_pane: Option<PathBuf>,
    /// perth's tab bar (alias `tab-bar`).
    pub tab_bar: Option<PathBuf>,
    /// perth's status bar (alias `status-bar`).
    pub status_bar: Option<PathBuf>,
}

impl PluginFiles {
    /// Writes each plugin the binary carries under `cache_dir` (once per build).
    pub(super) fn materialize(cache_dir: &Path) -> Result<Self, ConfigLoadError> {
        Ok(PluginFiles {
            perth_core: materialize_plugin(cache_dir, &assets::PERTH_CORE)?,
            zdrive_snapshot: materialize_plugin(cache_dir, &assets::ZDRIVE_SNAPSHOT)?,
            imi_worktrees: materialize_plugin(cache_dir, &assets::IMI_WORKTREES)?,
            zdrive_pane: materialize_plugin(cache_dir, &assets::ZDRIVE_PANE)?,
            tab_bar: materialize_plugin(cache_dir, &assets::TAB_BAR)?,
            status_bar: materialize_plugin(cache_dir, &assets::STATUS_BAR)?,
        })
    }

    /// Every plugin with its file and the permissions perth grants it up front (by Zellij's
    /// names, see `bridge_protocol::permissions`), so no prompt ever appears for them.
    pub fn all(
        &self,
    ) -> [(
        &'static EmbeddedPlugin,
        Option<&Path>,
        &'static [&'static str],
    ); 6] {
        [
            (
                &assets::PERTH_CORE,
                self.perth_core.as_deref(),
                bridge_protocol::permissions::PERTH_CORE,
            ),
            (
                &assets::ZDRIVE_SNAPSHOT,
                self.zdrive_snapshot.as_deref(),
                bridge_protocol::permissions::ZDRIVE_SNAPSHOT,
            ),
            (
                &assets::IMI_WORKTREES,
                self.imi_worktrees.as_deref(),
                bridge_protocol::permissions::IMI_WORKTREES,
            ),
            (
                &assets::ZDRIVE_PANE,
                self.zdrive_pane.as_deref(),
                bridge_protocol::permissions::ZDRIVE_PANE,
            ),
            (
                &assets::TAB_BAR,
                self.tab_bar.as_deref(),
                bridge_protocol::permissions::TAB_BAR,
            ),
            (
                &assets::STATUS_BAR,
                self.status_bar.as_deref(),
                bridge_protocol::permissions::STATUS_BAR,
            ),
        ]
    }

    /// The plugins opened in panes (registered as aliases) with their files.
    pub(super) fn panes(&self) -> impl Iterator<Item = (&'static EmbeddedPlugin, &Path)> {
        [
            (&assets::ZDRIVE_SNAPSHOT, self.zdrive_snapshot.as_deref()),
            (&assets::IMI_WORKTREES, self.imi_worktrees.as_deref()),
            (&assets::ZDRIVE_PANE, self.zdrive_pane.as_deref()),
        ]
        .into_iter()
        .filter_map(|(plugin, wasm)| Some((plugin, wasm?)))
    }
}

/// Records the permissions of perth's plugins (each wasm file with its list) in Zellij's
/// permission cache (`permissions.kdl`), keeping every other plugin's entry as it was.
pub fn pregrant_permissions(
    cache_file: Option<PathBuf>,
    plugins: &[(&Path, &[&str])],
) -> std::io::Result<()> {
    if plugins.is_empty() {
        return Ok(());
    }
    if let Some(parent) = cache_file
        .clone()
        .unwrap_or_else(|| zellij_utils::consts::ZELLIJ_PLUGIN_PERMISSIONS_CACHE.clone())
        .parent()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut cache = PermissionCache::from_path_or_default(cache_file);
    let mut changed = false;
    for (wasm, permissions) in plugins {
        // The cache is keyed by the plugin's location as Zellij prints it: the bare path.
        let key = RunPluginLocation::File(wasm.to_path_buf()).to_string();
        let wanted = permission_types(permissions)?;
        if !cache.check_permissions(key.clone(), &wanted) {
            cache.cache(key, wanted);
            changed = true;
        }
    }
    if !changed {
        return Ok(());
    }
    cache.write_to_file()
}

/// Zellij's permissions named `names` (as `permissions.kdl` spells them); a name Zellij does
/// not know is an error.
pub fn permission_types(names: &[&str]) -> std::io::Result<Vec<PermissionType>> {
    bridge_protocol::permissions::parse(names).map_err(|name| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("Zellij has no permission named {name:?}"),
        )
    })
}

pub(super) fn materialize_plugin(
    cache_dir: &Path,
    plugin: &EmbeddedPlugin,
) -> Result<Option<PathBuf>, ConfigLoadError> {
    if !plugin.is_embedded() {
        return Ok(None);
    }
    let dir = cache_dir.join("plugins");
    let path = dir.join(format!("{}-{}.wasm", plugin.name, plugin.digest.trim()));
    if !path.is_file() {
        write_atomically(&path, plugin.wasm)?;
    }
    Ok(Some(path))
}
