//! The `perth` binary: the client, the CLI and (re-executed with `--server`) the server.

fn main() {
    // `cargo xtask dist`: man pages and completions from the command line perth parses.
    cli_docs::write_if_asked(perth::cli::command);
    std::process::exit(perth::cli::main());
}
