//! zdrive-pane: the zdrive pane. It follows the focused terminal pane and shows its zdrive name,
//! where it lives, its tags and its intent history (or the history as the LLM context zdrive
//! hands out), with keys to log an entry, rename the pane, tag it, or name a pane zdrive does not
//! track yet. Scripts log with `zellij pipe --name zdrive::log` (answered by perth-core); the
//! pane sees the pipe too and reads the pane it names again.
//!
//! Everything goes through host-bridge (DESIGN.md D4): the pane never reaches Redis or SQLite.
//! All logic lives here so it runs natively in tests: [`App`] turns events, keys and pushed
//! events into [`Effect`]s, [`view::lines`] draws the state (a pure function of the state and
//! the pane's size), [`Plugin`] performs the effects inside Zellij, and `main.rs` only registers
//! it. Focus following, the styled lines, wrapping, markdown and the effects' host side are the
//! snapshot pane's (`zdrive_snapshot::{focus, style, markdown, host}`), shared, not copied.

pub mod app;
pub mod editor;
pub mod entry;
pub mod plugin;
pub mod view;

pub use app::{App, Effect, Now, PERMISSIONS};
pub use plugin::Plugin;

#[cfg(test)]
mod tests;
