//! imi-worktrees: the iMi pane. It lists the project's trunk and worktrees with their status
//! (branch, uncommitted files, distance to trunk, last commit, agent), read again whenever
//! host-bridge says worktrees changed, and has keys to create a worktree, open its tab, review
//! a pull request, remove one after showing what would be lost, jump to trunk and filter.
//!
//! Everything goes through host-bridge (DESIGN.md D4), which runs iMi's engine and opens the
//! tabs: the pane never runs git or reaches a database. All logic lives here so it runs natively
//! in tests: [`App`] turns events, keys and pushed events into [`Effect`]s, [`view::lines`]
//! draws the state (a pure function of the state and the pane's size), and `main.rs` only
//! registers the plugin. The styled lines, their printing and the effects' host side are the
//! snapshot pane's (`zdrive_snapshot::{style, host}`), shared rather than copied.

pub mod app;
pub mod view;

pub use app::{App, Effect, PERMISSIONS};

#[cfg(test)]
mod tests;
