//! Where perth keeps its files: configuration, cache and runtime directories.
//!
//! Only the binary reads the environment; everything below takes these paths as arguments.

use std::path::PathBuf;

/// Returns `$XDG_CONFIG_HOME/perth` (or `~/.config/perth`): the user's perth configuration.
pub fn user_config_dir() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("perth"))
}

/// Returns `$XDG_CACHE_HOME/perth` (or `~/.cache/perth`): generated files perth can rebuild.
pub fn cache_dir() -> PathBuf {
    xdg_dir("XDG_CACHE_HOME", ".cache")
        .unwrap_or_else(std::env::temp_dir)
        .join("perth")
}

fn xdg_dir(var: &str, home_relative: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(dir) if !dir.is_empty() && PathBuf::from(&dir).is_absolute() => Some(dir.into()),
        _ => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|home| PathBuf::from(home).join(home_relative)),
    }
}

/// Returns `$XDG_DATA_HOME/perth` (or `~/.local/share/perth`): data perth keeps, such as the
/// embedded session database.
pub fn data_dir() -> PathBuf {
    xdg_dir("XDG_DATA_HOME", ".local/share")
        .unwrap_or_else(std::env::temp_dir)
        .join("perth")
}
