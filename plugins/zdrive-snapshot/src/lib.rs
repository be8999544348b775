//! zdrive-snapshot: the snapshot pane. It shows the latest zdrive snapshot of the focused pane
//! (an LLM's markdown summary of its work), the earlier ones, and whether the user consented
//! to snapshots; `g` asks for a new one and `c` grants consent. Scripts ask for one with
//! `zellij pipe --name zdrive::snapshot --args pane=NAME`.
//!
//! Everything goes through host-bridge (DESIGN.md D4): the plugin never reaches an LLM or a
//! store itself. All logic lives here so it runs natively in tests: [`App`] turns events, keys
//! and pipe messages into [`Effect`]s, [`view::lines`] draws the state (a pure function of the
//! state and the pane's size), [`host::run`] performs the effects inside Zellij, and `main.rs`
//! only registers the plugin.

pub mod app;
pub mod focus;
pub mod host;
pub mod markdown;
pub mod record;
pub mod style;
pub mod view;

pub use app::{App, Effect, Now, PERMISSIONS};

#[cfg(test)]
mod tests;
