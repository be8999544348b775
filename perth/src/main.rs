//! The `perth` binary: the client, the CLI and (re-executed with `--server`) the server.

fn main() {
    std::process::exit(perth::cli::main());
}
