//! The exit codes of perth's own commands, defined once (Zellij's commands keep Zellij's).
//!
//! - 0: done.
//! - 1: the user asked for something that cannot be done as asked.
//! - 2: the command line itself is wrong (clap's usage errors).
//! - [`UNAVAILABLE`] (3): a dependency is not available: a session that is not running or
//!   does not answer within its deadline, the database, the bridge.

/// A dependency is not available; the same code every tool of the workspace uses.
pub const UNAVAILABLE: i32 = session_ipc::call::EXIT_UNAVAILABLE;
