//! host-bridge: the loopback RPC daemon that does for perth's plugins what WebAssembly cannot.
//!
//! The library holds everything; `main.rs` only parses the command line, resolves paths from the
//! environment and maps errors to exit codes. Nothing here reads `$HOME` or the environment.
//!
//! - [`runtime`]: the runtime folder (`host-bridge.lock`, `host-bridge.json`), the one-per-user lock, the token.
//! - [`server`]: `serve`: the HTTP server, its limits, and graceful shutdown.
//! - [`rpc`]: what each protocol request does.
//! - [`control`]: `status` and `stop`, the client side of a running daemon.

pub mod control;
pub mod push;
pub mod rpc;
pub mod runtime;
pub mod server;

pub use bridge_protocol as protocol;

/// Exit codes shared by every command (STYLE.md): stable, documented in `--help`.
pub mod exit_code {
    /// The command did what was asked.
    pub const OK: i32 = 0;
    /// The user asked for something that cannot be done (e.g. a port already taken).
    pub const USER_ERROR: i32 = 1;
    /// The command line could not be parsed.
    pub const USAGE: i32 = 2;
    /// Something the command needs is not there (e.g. no daemon running for `status`).
    pub const UNAVAILABLE: i32 = 3;
    /// host-bridge failed in a way that is not the user's fault.
    pub const INTERNAL: i32 = 70;
}

/// Returns the current time in milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
