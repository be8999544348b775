//! perth-core: perth's background plugin, the perth server's eyes inside Zellij.
//!
//! Loaded in every perth session through `load_plugins`, without a visible pane. It watches
//! Zellij's `PaneUpdate`, `TabUpdate` and `ModeUpdate` events and talks to the perth server over
//! one long-lived CLI pipe named `perth::link` (see [`link`] for the protocol).
//!
//! All logic lives here so it runs natively in tests: [`Core`] turns events and pipe messages
//! into [`Effect`]s, [`host::run`] performs them inside Zellij, and `main.rs` only registers the
//! plugin.

pub mod core;
pub mod host;
pub mod imi;
pub mod snapshot;
pub mod zdrive;

// The link's and the notices' wire types, shared with perth's server.
use bridge_protocol::{link, notice};

pub use crate::core::{Core, Effect, InstanceIds, Permissions, Settings};

#[cfg(test)]
mod tests;
