//! The `zdrive` command line: resolves configuration, the session and paths, then calls the engine.
//!
//! Exit codes: 0 ok, 1 user error (bad input, unknown pane, not inside a session), 2 usage,
//! 3 an unavailable dependency (Redis, the database, the session's socket), 4 internal.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
