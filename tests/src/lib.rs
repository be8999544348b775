//! End-to-end test harness for perth: isolated environments, a tmux terminal driver and real backing services.
//!
//! Everything here waits for conditions with a deadline and a description (see [`wait`]); nothing
//! sleeps a fixed time. Every child process is spawned in its own process group, killed on
//! `Drop` (which also runs while a panicking test unwinds) and, as a last resort, when the test
//! process exits (see [`process`]).

pub mod browser;
pub mod fake_agents_api;
pub mod fake_llm;
pub mod imi_sandbox;
pub mod isolate;
pub mod perth;
pub mod process;
pub mod pty;
pub mod real_agents;
pub mod screen;
pub mod services;
pub mod tmux;
pub mod wait;
pub mod workflow;

pub use isolate::{find_file, IsolatedEnv};
pub use perth::PerthSession;
pub use services::{ensure_debian_packages, free_port, require_or_skip, Postgres, RabbitMq, Redis};
pub use tmux::{ensure_tmux, TmuxTerminal};
pub use wait::{wait_for, wait_for_with_last, WaitError};

use std::path::PathBuf;

/// Returns the path of a binary built by this workspace (for example `perth`), next to the test executable.
///
/// `PERTH_BIN` overrides the location of `perth`; for other names `<NAME>_BIN` (upper case,
/// `-` as `_`) does. The binary must already be built (`cargo build -p <crate>`), since a test
/// package cannot depend on another package's binary.
pub fn workspace_bin(name: &str) -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let var = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(path) = std::env::var_os(&var) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{var} points at {}, which is not a file",
            path.display()
        );
        return Ok(path);
    }
    let exe = std::env::current_exe().context("finding the test executable")?;
    // The test executable lives in `<target>/<profile>/deps/`; binaries live one level up.
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("test executable has no <profile>/deps parent")?;
    let path = profile_dir.join(name);
    anyhow::ensure!(
        path.is_file(),
        "{} not found; build it first with `cargo build -p {name}` (same profile and target dir) or set {var}",
        path.display()
    );
    Ok(path)
}

/// Returns stock Zellij 0.45.1 as the bench installs it, or `None`, said loudly with what the
/// test leaves out (`without`), when it is not installed: the suite does not install it,
/// `cargo xtask bench` does.
pub fn stock_zellij(without: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let bin = std::path::Path::new(&home).join(".cache/perth-bench/zellij-0.45.1/bin/zellij");
    if bin.is_file() {
        return Some(bin);
    }
    eprintln!(
        "\n!!! stock zellij 0.45.1 is not installed at {}: {without}; run `cargo xtask bench` \
         once to install it !!!\n",
        bin.display()
    );
    None
}
