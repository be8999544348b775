//! host-bridge: the loopback RPC daemon that does for perth's plugins what WebAssembly cannot.
//!
//! The library holds everything; `main.rs` only parses the command line, resolves paths from the
//! environment and maps errors to exit codes. Nothing here reads `$HOME` or the environment.
//!
//! - [`runtime`] and [`control`] (from `bridge-runtime`): the runtime folder, the lock, the
//!   token, and the client side of a running daemon.
//! - [`server`]: `serve`: the HTTP server, its limits, and graceful shutdown.
//! - [`rpc`]: what each protocol request does.

pub mod agent_log;
pub mod events;
pub mod keyed;
pub mod push;
pub mod rpc;
pub mod server;
pub mod worktrees;
pub mod zdrive_engine;
pub mod zdrive_log;
pub mod zdrive_pane;
pub mod zdrive_snapshot;

pub use bridge_protocol as protocol;
pub use bridge_runtime::{control, exit_code, runtime, unix_millis};
