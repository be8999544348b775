//! The plugin side of host-bridge (DESIGN.md D4): plugins cannot open sockets, so they reach
//! the bridge with Zellij's `web_request`, and the bridge pushes events back as pipe messages.
//!
//! [`BridgeClient`] is a state machine that never calls Zellij: it turns requests into
//! [`Effect`]s (send this HTTP request, wake me after this long) and web results and timer
//! ticks into [`Completion`]s. That keeps it testable natively; [`host`] carries the effects
//! out with `zellij-tile` inside a plugin.

pub mod client;
pub mod config;
pub mod host;
pub mod push;

pub use client::{BridgeClient, BridgeError, Completion, Effect};
pub use config::{BridgeConfig, ConfigError};
pub use push::{decode_push, PushedEvent, PUSH_PIPE_NAME};
