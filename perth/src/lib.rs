//! perth: a Zellij distribution for running many AI coding agents side by side.
//!
//! The binary is at once the client, the command line and the server (Zellij re-executes the
//! current binary with `--server`). See ARCHITECTURE.md for the map.

pub mod agent_hooks;
pub mod agent_screens;
pub mod agent_state;
pub mod agents;
pub mod agents_cli;
pub mod assets;
pub mod bridge;
pub mod call_cli;
pub mod cli;
pub mod client_os;
pub mod config;
pub mod control;
pub mod exit;
pub mod foreground;
pub mod notify;
pub mod notify_cli;
pub mod paths;
pub mod saved;
pub mod saved_cli;
pub mod server;
pub mod session;
pub mod settings;
pub mod status;
pub mod web;
