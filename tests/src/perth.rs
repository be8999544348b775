//! A perth session under test: an isolated environment, perth running in a private tmux
//! terminal, and helpers to drive it with `perth action ...` and read its screen.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::isolate::{IsolatedEnv, PROMPT};
use crate::tmux::TmuxTerminal;
use crate::wait::{scaled, wait_for_with_last};

/// How long a session may take to show its first full screen.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running perth session in tmux.
pub struct PerthSession {
    /// The terminal showing the session; dropped before `env`, so tmux goes first.
    pub term: TmuxTerminal,
    /// The session's private HOME, XDG and socket directories.
    pub env: IsolatedEnv,
    /// The session name (`perth --session NAME`).
    pub name: String,
    bin: PathBuf,
}

impl PerthSession {
    /// Starts `perth --session NAME` at 120x40 in a fresh isolated environment and waits for
    /// the workspace: the tab bar and a shell prompt.
    pub fn start(name: &str) -> anyhow::Result<Self> {
        Self::start_sized(name, 120, 40)
    }

    /// Starts `perth --session NAME` at `cols`x`rows` in a fresh isolated environment and waits
    /// for the workspace.
    pub fn start_sized(name: &str, cols: u16, rows: u16) -> anyhow::Result<Self> {
        Self::start_in(IsolatedEnv::new()?, name, cols, rows, &[])
    }

    /// Starts perth in `env` with extra command-line arguments, waiting for the workspace.
    pub fn start_in(
        env: IsolatedEnv,
        name: &str,
        cols: u16,
        rows: u16,
        extra_args: &[&str],
    ) -> anyhow::Result<Self> {
        let mut args = vec!["--session", name];
        args.extend_from_slice(extra_args);
        Self::launch(
            env,
            name,
            cols,
            rows,
            &args,
            "perth's workspace: the tab bar and a shell prompt",
            |screen| screen.contains("workspace") && screen.contains(PROMPT.trim()),
        )
        .context("perth did not show its workspace")
    }

    /// Runs `perth ARGS...` in `env` (for example `attach NAME` of a session to restore) as
    /// session `name`, and waits until the screen satisfies `ready` (described by `what`).
    pub fn launch(
        env: IsolatedEnv,
        name: &str,
        cols: u16,
        rows: u16,
        args: &[&str],
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> anyhow::Result<Self> {
        let bin = crate::workspace_bin("perth")?;
        let bin_str = bin.to_string_lossy().into_owned();
        let mut argv = vec![bin_str.as_str()];
        argv.extend_from_slice(args);
        let term = TmuxTerminal::start(&env, cols, rows, &argv)?;
        let session = PerthSession {
            term,
            env,
            name: name.to_string(),
            bin,
        };
        session.term.wait_for_screen(what, START_TIMEOUT, ready)?;
        Ok(session)
    }

    /// Stops the terminal and hands back the environment (the session's files stay).
    pub fn into_env(self) -> IsolatedEnv {
        drop(self.term);
        self.env
    }

    /// Runs `perth --session NAME ARGS...` in the session's environment and returns its output.
    pub fn perth(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut cmd = self.env.command(&self.bin);
        cmd.arg("--session").arg(&self.name).args(args);
        cmd.output()
            .with_context(|| format!("running perth {}", args.join(" ")))
    }

    /// Runs `perth --session NAME ARGS...` with `stdin` as its input and a deadline: Zellij's
    /// command line waits for the server without one, and a lost answer must fail a test, not
    /// hang it. Errs when the deadline (scaled for slow machines) passes first.
    pub fn perth_within(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Output> {
        self.perth_within_env(&[], args, stdin, timeout)
    }

    /// As [`PerthSession::perth_within`], with extra environment variables.
    pub fn perth_within_env(
        &self,
        vars: &[(&str, &str)],
        args: &[&str],
        stdin: Option<&str>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Output> {
        self.program_within(&self.bin, vars, args, stdin, timeout)
    }

    /// As [`PerthSession::perth_within_env`], running `program --session NAME ARGS...`
    /// instead of perth: another command line of the session, such as stock `zellij`.
    pub fn program_within(
        &self,
        program: &std::path::Path,
        vars: &[(&str, &str)],
        args: &[&str],
        stdin: Option<&str>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Output> {
        self.call_within(program, &self.name, vars, args, stdin, timeout)
    }

    /// As [`PerthSession::perth_within_env`], with `--session SESSION` naming another session
    /// (one that may not run) from this session's environment.
    pub fn perth_naming(
        &self,
        session: &str,
        vars: &[(&str, &str)],
        args: &[&str],
        timeout: std::time::Duration,
    ) -> anyhow::Result<Output> {
        self.call_within(&self.bin, session, vars, args, None, timeout)
    }

    fn call_within(
        &self,
        program: &std::path::Path,
        session: &str,
        vars: &[(&str, &str)],
        args: &[&str],
        stdin: Option<&str>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Output> {
        use std::io::Write;
        use std::process::Stdio;
        let shown = program.file_name().unwrap_or_default().to_string_lossy();
        let mut cmd = self.env.command(program);
        cmd.envs(vars.iter().copied())
            .arg("--session")
            .arg(session)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("running {shown} {}", args.join(" ")))?;
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            input.write_all(text.as_bytes())?;
        }
        // Read the output while waiting: a long answer (list-panes of many panes) fills a pipe.
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        match finished.recv_timeout(crate::wait::scaled(timeout)) {
            Ok(out) => Ok(out?),
            Err(_) => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let out = finished.recv()??;
                anyhow::bail!(
                    "{shown} {} got no answer from session {session} within {timeout:?}; stderr: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// Waits until the session lists no attached client (`perth action list-clients` prints
    /// only its header): the last one's id is free again.
    pub fn wait_no_clients(&self, timeout: Duration) -> anyhow::Result<()> {
        wait_for_with_last("every client to leave the session", timeout, || {
            let out = self
                .perth(&["action", "list-clients"])
                .map_err(|e| format!("{e:#}"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.lines().skip(1).all(|l| l.trim().is_empty()) {
                Ok(())
            } else {
                Err(text)
            }
        })?;
        Ok(())
    }

    /// Returns the path of the session's IPC socket, which every command line connects to.
    pub fn socket(&self) -> PathBuf {
        self.env
            .socket_dir()
            .join("contract_version_1")
            .join(&self.name)
    }

    /// Runs `perth pipe ARGS...` once: the first answer is the answer (perth's server delivers
    /// it to the client that sent the pipe and never disconnects another one, zellij #5270).
    pub fn pipe_answer(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut full = vec!["pipe"];
        full.extend_from_slice(args);
        self.perth(&full)
    }

    /// Runs `perth ARGS...` without selecting the session.
    pub fn perth_plain(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.env
            .command(&self.bin)
            .args(args)
            .output()
            .with_context(|| format!("running perth {}", args.join(" ")))
    }

    /// Runs `perth action ARGS...` and returns its standard output; fails on a non-zero exit.
    pub fn action(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut full = vec!["action"];
        full.extend_from_slice(args);
        let out = self.perth(&full)?;
        if !out.status.success() {
            bail!(
                "perth action {} exited with {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Returns the session's panes as `perth action list-panes --json --all` reports them.
    pub fn list_panes(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        let text = self.action(&["list-panes", "--json", "--all"])?;
        serde_json::from_str(&text).with_context(|| format!("list-panes printed no JSON: {text}"))
    }

    /// Returns the terminal (non-plugin) panes.
    pub fn terminal_panes(&self) -> anyhow::Result<Vec<serde_json::Value>> {
        Ok(self
            .list_panes()?
            .into_iter()
            .filter(|p| p["is_plugin"] == serde_json::Value::Bool(false))
            .collect())
    }

    /// Returns `perth status` as JSON (whatever its exit code).
    pub fn status(&self) -> anyhow::Result<serde_json::Value> {
        let out = self.perth(&["status"])?;
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "perth status printed no JSON (exit {}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Waits until perth-core is linked to the server and has seen at least `panes` panes
    /// (plugins included). Zellij drops a broadcast pipe (`perth::notify`, ...) on a plugin
    /// that is still loading, so a test that sends one right after start waits for this first.
    pub fn wait_for_core(&self, panes: u64) -> anyhow::Result<serde_json::Value> {
        self.wait_for_status("perth-core linked", START_TIMEOUT, |st| {
            st["perth_core"]["connected"] == true
                && st["perth_core"]["panes_seen"].as_u64() >= Some(panes)
        })
    }

    /// Waits until `perth status` satisfies `pred`, returning the status.
    pub fn wait_for_status(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(wait_for_with_last(what, scaled(timeout), || {
            match self.status() {
                Ok(status) if pred(&status) => Ok(status),
                Ok(status) => Err(status.to_string()),
                Err(e) => Err(format!("{e:#}")),
            }
        })?)
    }

    /// Returns the processes still alive that were started in this session's environment,
    /// leaving out the tmux server that hosts the terminal.
    pub fn leftover_processes(&self) -> Vec<(i32, String)> {
        self.env
            .processes()
            .into_iter()
            .filter_map(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                let state =
                    std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let zombie = state
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'));
                (!zombie && !comm.starts_with("tmux")).then_some((pid, cmdline))
            })
            .collect()
    }
}
