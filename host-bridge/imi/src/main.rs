//! The `iMi` binary: the command line in `imi::cli`.

fn main() -> std::process::ExitCode {
    imi::cli::main()
}
