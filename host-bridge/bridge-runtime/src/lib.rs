//! Finding and controlling the running host-bridge, for every program that needs it (the
//! daemon itself, perth's supervisor, command lines) without linking the daemon's HTTP server.
//!
//! - [`runtime`]: the runtime folder (`host-bridge.lock`, `host-bridge.json`, the identity
//!   file), the one-per-user lock, the token.
//! - [`control`]: `status`, `stop` and one-off RPC calls to a running daemon.

pub mod control;
pub mod runtime;

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
