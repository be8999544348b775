//! The `imi` binary: the same command line as `iMi`, under its lowercase name.

fn main() -> std::process::ExitCode {
    imi::cli::main()
}
