//! The plugin side of host-bridge (DESIGN.md D4): plugins cannot open sockets, so they reach
//! the bridge with Zellij's `web_request`, and the bridge pushes events back as pipe messages.
//!
//! [`BridgeClient`] is a state machine that never calls Zellij: it turns requests into
//! [`Effect`]s (send this HTTP request, wake me after this long) and web results and timer
//! ticks into [`Completion`]s. That keeps it testable natively; [`host`] carries the effects
//! out with `zellij-tile` inside a plugin.
//!
//! [`zdrive`] holds what the plugins answering the `zdrive::snapshot` pipe share, [`imi`] how
//! the iMi pane and perth-core's `imi::*` pipes read iMi's answers, and [`text`] makes outside
//! text safe to print.

pub mod client;
pub mod config;
pub mod host;
pub mod imi;
pub mod push;
pub mod text;
pub mod zdrive;

pub use client::{BridgeClient, BridgeError, Completion, Effect};
pub use config::{BridgeConfig, ConfigError};
pub use push::{decode_push, PushedEvent, PUSH_PIPE_NAME};

/// The permissions of a list in `bridge_protocol::permissions`, as a plugin asks for them.
///
/// # Panics
/// On a name Zellij does not know: the lists are perth's own, and perth's tests parse them all.
pub fn permission_types(names: &[&str]) -> Vec<zellij_tile::prelude::PermissionType> {
    bridge_protocol::permissions::parse(names)
        .unwrap_or_else(|name| panic!("Zellij has no permission named {name:?}"))
}

/// Where a perth plugin's permission request stands (every perth plugin keeps one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Permissions {
    /// Requested, no answer yet.
    #[default]
    Pending,
    /// Granted: the plugin can read events and write to pipes.
    Granted,
    /// Denied: Zellij drops the plugin's output and state events.
    Denied,
}

impl From<zellij_tile::prelude::PermissionStatus> for Permissions {
    fn from(status: zellij_tile::prelude::PermissionStatus) -> Self {
        match status {
            zellij_tile::prelude::PermissionStatus::Granted => Permissions::Granted,
            zellij_tile::prelude::PermissionStatus::Denied => Permissions::Denied,
        }
    }
}
