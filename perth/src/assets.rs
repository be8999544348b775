//! perth's built-in files: the configuration, the layouts and the plugins compiled into the binary.

/// perth's default configuration (`config.kdl` at the repository root).
pub const CONFIG_KDL: &str = include_str!("../../config.kdl");

/// The layouts perth ships, by file name (`layouts/` at the repository root).
pub const LAYOUTS: &[(&str, &str)] = &[
    ("workspace.kdl", include_str!("../../layouts/workspace.kdl")),
    ("worktree.kdl", include_str!("../../layouts/worktree.kdl")),
];

/// Name of the layout a new session starts with unless told otherwise.
pub const DEFAULT_LAYOUT: &str = "workspace";

/// A WebAssembly plugin embedded in the binary.
pub struct EmbeddedPlugin {
    /// Name used as the plugin alias in configuration (`perth-core`).
    pub name: &'static str,
    /// The compiled module; empty when the binary was built without `cargo xtask build`.
    pub wasm: &'static [u8],
    /// A digest of `wasm`, computed at build time, naming the file perth writes it to.
    pub digest: &'static str,
}

/// The built-in `perth-core` plugin, loaded into every session through `load_plugins`.
pub const PERTH_CORE: EmbeddedPlugin = EmbeddedPlugin {
    name: "perth-core",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/perth-core.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/perth-core.wasm.digest")),
};

/// The zdrive snapshot pane, opened by a keybinding or a layout under the alias `zdrive-snapshot`.
pub const ZDRIVE_SNAPSHOT: EmbeddedPlugin = EmbeddedPlugin {
    name: "zdrive-snapshot",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/zdrive-snapshot.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/zdrive-snapshot.wasm.digest")),
};

/// The iMi pane (the project's worktrees), opened by a keybinding or a layout under the alias
/// `imi`.
pub const IMI_WORKTREES: EmbeddedPlugin = EmbeddedPlugin {
    name: "imi",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/imi-worktrees.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/imi-worktrees.wasm.digest")),
};

/// The zdrive pane (the focused pane's name, tags and intent history), opened by a keybinding
/// or a layout under the alias `zdrive`.
pub const ZDRIVE_PANE: EmbeddedPlugin = EmbeddedPlugin {
    name: "zdrive",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/zdrive-pane.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/zdrive-pane.wasm.digest")),
};

/// perth's tab bar (branch and iMi status on worktree tabs). It takes over Zellij's `tab-bar`
/// alias, so perth's layouts and Zellij's own use it, a user's `tab-bar` alias still wins, and
/// a binary without it falls back to Zellij's bar. Its file name keeps `tab-bar`, which is how
/// the notification overlay finds the bar among the panes.
pub const TAB_BAR: EmbeddedPlugin = EmbeddedPlugin {
    name: "tab-bar",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/perth-tab-bar.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/perth-tab-bar.wasm.digest")),
};

/// perth's status bar: Zellij's modes and key hints, built once per mode change rather than
/// on every render (issue 22: one Zellij status bar per tab made most of a restore's time). It
/// takes over Zellij's `status-bar` alias as the tab bar takes over `tab-bar`; a user's
/// `status-bar` alias wins, `perth { status_bar { light false } }` puts Zellij's back, and a
/// binary without it falls back to Zellij's bar.
pub const STATUS_BAR: EmbeddedPlugin = EmbeddedPlugin {
    name: "status-bar",
    wasm: include_bytes!(concat!(env!("OUT_DIR"), "/perth-status-bar.wasm")),
    digest: include_str!(concat!(env!("OUT_DIR"), "/perth-status-bar.wasm.digest")),
};

/// Every plugin perth carries, by alias.
pub const PLUGINS: [&EmbeddedPlugin; 6] = [
    &PERTH_CORE,
    &ZDRIVE_SNAPSHOT,
    &IMI_WORKTREES,
    &ZDRIVE_PANE,
    &TAB_BAR,
    &STATUS_BAR,
];

impl EmbeddedPlugin {
    /// Returns whether the plugin was compiled into this binary.
    pub fn is_embedded(&self) -> bool {
        !self.wasm.is_empty()
    }
}
