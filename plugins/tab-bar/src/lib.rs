//! perth-tab-bar: perth's tab bar. One row: the session's name, then the tabs, the active one
//! in the input mode's colour, with fullscreen, sync and floating markers; and for a worktree
//! tab (a tab named after one of the project's iMi worktrees, as iMi names the tabs it opens)
//! the branch and a compact status: `feat-login ⎇ feat/login ●3 ↑2 ↓1` (uncommitted files,
//! commits ahead of and behind trunk; zero parts are left out, so a clean worktree level with
//! trunk shows its branch alone). Tabs that do not fit collapse behind `← +N` / `+N →`;
//! clicking a tab or a marker switches to it, scrolling moves to the neighbouring tab.
//!
//! The status comes from host-bridge (`imi_status`, DESIGN.md D4), read when the bar loads,
//! when host-bridge pushes a `workspace.worktree.*` event, when a tab named like a worktree
//! appears, and every few seconds while the bar is shown and a worktree tab is open. Without
//! host-bridge the bar shows the tabs alone.
//!
//! All logic lives here so it runs natively in tests: [`App`] turns events into [`Effect`]s,
//! [`view::bar`] draws the state (a pure function of the state and the width), [`host`]
//! performs the effects, and `main.rs` only registers the plugin.

pub mod app;
pub mod host;
pub mod status;
pub mod view;

/// The bar's styled text, shared with the status bar.
pub use bar_style as style;

pub use app::{App, Effect, PERMISSIONS};

#[cfg(test)]
mod tests;
