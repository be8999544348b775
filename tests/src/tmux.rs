//! A real terminal for end-to-end tests: one private tmux server per test, one window, driven by keys and read by screen captures.
//!
//! The server listens on a socket inside the isolated environment (`-S`), reads a config the
//! harness writes (not the user's), and keeps a pane whose program exited (`remain-on-exit`),
//! so the final screen can still be read and the exit status reported.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::isolate::IsolatedEnv;
use crate::services::{ensure_debian_packages, find_program};
use crate::wait::wait_for_with_last;

/// Default terminal width in columns.
pub const DEFAULT_COLS: u16 = 120;
/// Default terminal height in rows.
pub const DEFAULT_ROWS: u16 = 40;

/// tmux settings: no status line (the program gets every row), a terminal type every system
/// knows, no escape delay, and dead panes kept for inspection.
const TMUX_CONF: &str = "\
set -g status off
set -g default-terminal xterm-256color
set -sg escape-time 0
set -g remain-on-exit on
set -g history-limit 10000
";

static TERMINAL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Installs package `tmux` if the `tmux` binary is missing.
pub fn ensure_tmux() -> anyhow::Result<()> {
    ensure_debian_packages(&[("tmux", "tmux")])
}

/// A tmux server of its own running one window with the program under test.
pub struct TmuxTerminal {
    tmux: PathBuf,
    socket: PathBuf,
    pane: String,
    envs: Vec<(String, String)>,
    cwd: PathBuf,
}

impl TmuxTerminal {
    /// Starts `argv` in a `cols`x`rows` window, in `env`'s environment and start folder (its
    /// home directory unless set).
    ///
    /// With several arguments tmux runs the program directly; a single argument is run by
    /// `sh -c`, like any tmux shell command.
    pub fn start(env: &IsolatedEnv, cols: u16, rows: u16, argv: &[&str]) -> anyhow::Result<Self> {
        Self::start_in(env, &env.work_dir(), cols, rows, argv)
    }

    /// Starts `argv` like [`TmuxTerminal::start`], in directory `cwd`.
    pub fn start_in(
        env: &IsolatedEnv,
        cwd: &Path,
        cols: u16,
        rows: u16,
        argv: &[&str],
    ) -> anyhow::Result<Self> {
        ensure_tmux()?;
        anyhow::ensure!(!argv.is_empty(), "no program given to run in tmux");
        let n = TERMINAL_COUNTER.fetch_add(1, Ordering::Relaxed);
        let conf = env.tmp_dir().join(format!("tmux-{n}.conf"));
        std::fs::write(&conf, TMUX_CONF).with_context(|| format!("writing {}", conf.display()))?;
        let mut terminal = Self {
            tmux: find_program("tmux").context("tmux not found after installing package tmux")?,
            socket: env.tmp_dir().join(format!("tmux-{n}.sock")),
            pane: String::new(),
            envs: env.envs(),
            cwd: cwd.to_owned(),
        };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let mut args = vec![
            "-f",
            conf.to_str().context("tmux config path is not UTF-8")?,
        ];
        let cwd = terminal
            .cwd
            .to_str()
            .context("working directory is not UTF-8")?
            .to_owned();
        args.extend([
            "new-session",
            "-d",
            "-s",
            "perth-test",
            "-x",
            &cols,
            "-y",
            &rows,
            "-c",
            &cwd,
            "-P",
            "-F",
            "#{pane_id}",
            "--",
        ]);
        args.extend_from_slice(argv);
        let pane = terminal
            .tmux(&args)
            .with_context(|| format!("starting {argv:?} in tmux"))?;
        terminal.pane = pane.trim().to_owned();
        Ok(terminal)
    }

    /// Starts `argv` in a window of the default size (120x40).
    pub fn start_default(env: &IsolatedEnv, argv: &[&str]) -> anyhow::Result<Self> {
        Self::start(env, DEFAULT_COLS, DEFAULT_ROWS, argv)
    }

    /// Returns the path of this server's socket, for running other tmux commands by hand.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends tmux key names (`"Enter"`, `"C-p"`, `"Escape"`, `"Up"`), each as one key press.
    pub fn send_keys(&self, keys: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["send-keys", "-t", &self.pane];
        args.extend_from_slice(keys);
        self.tmux(&args).map(drop)
    }

    /// Types `text` literally (no key-name interpretation).
    pub fn send_text(&self, text: &str) -> anyhow::Result<()> {
        self.tmux(&["send-keys", "-t", &self.pane, "-l", "--", text])
            .map(drop)
    }

    /// Returns the visible screen as plain text, one line per row; on failure, a line saying why.
    pub fn capture(&self) -> String {
        self.try_capture(false)
            .unwrap_or_else(|e| format!("<tmux capture failed: {e:#}>"))
    }

    /// Returns the visible screen with colour and attribute escape sequences; on failure, a line saying why.
    pub fn capture_colored(&self) -> String {
        self.try_capture(true)
            .unwrap_or_else(|e| format!("<tmux capture failed: {e:#}>"))
    }

    /// Returns the visible screen, plain or with escape sequences.
    pub fn try_capture(&self, colored: bool) -> anyhow::Result<String> {
        let mut args = vec!["capture-pane", "-p", "-t", &self.pane];
        if colored {
            args.push("-e");
        }
        self.tmux(&args)
    }

    /// Returns rows `first..=last` of the screen, plain or with escape sequences. Captured alone,
    /// their first cell's attributes are spelled out rather than left to follow the row above.
    pub fn capture_rows(&self, first: u16, last: u16, colored: bool) -> anyhow::Result<String> {
        let (first, last) = (first.to_string(), last.to_string());
        let mut args = vec![
            "capture-pane",
            "-p",
            "-t",
            &self.pane,
            "-S",
            &first,
            "-E",
            &last,
        ];
        if colored {
            args.push("-e");
        }
        self.tmux(&args)
    }

    /// Waits until the screen contains `needle` and returns that screen; on timeout the error shows the last screen.
    pub fn wait_for_text(
        &self,
        what: &str,
        needle: &str,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        self.wait_for_screen(what, timeout, |screen| screen.contains(needle))
    }

    /// Waits until `pred` accepts the screen and returns that screen; on timeout the error shows the last screen.
    pub fn wait_for_screen(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        Ok(wait_for_with_last(what, timeout, || {
            let screen = self.capture();
            if pred(&screen) {
                Ok(screen)
            } else {
                Err(self.describe(&screen))
            }
        })?)
    }

    /// Returns the process id of the program running in the pane.
    pub fn pane_pid(&self) -> anyhow::Result<u32> {
        let pid = self.format("#{pane_pid}")?;
        pid.parse()
            .with_context(|| format!("tmux reported pane pid {pid:?}"))
    }

    /// Resizes the window (and so the pane and the program's terminal) to `cols`x`rows`.
    pub fn resize(&self, cols: u16, rows: u16) -> anyhow::Result<()> {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.tmux(&["resize-window", "-t", &self.pane, "-x", &cols, "-y", &rows])
            .map(drop)
    }

    /// Returns the pane's size as (columns, rows).
    pub fn size(&self) -> anyhow::Result<(u16, u16)> {
        let size = self.format("#{pane_width} #{pane_height}")?;
        let parsed = size
            .split_once(' ')
            .and_then(|(c, r)| Some((c.parse().ok()?, r.parse().ok()?)));
        parsed.with_context(|| format!("tmux reported pane size {size:?}"))
    }

    /// Returns true while the program in the pane runs (and the tmux server answers).
    pub fn is_alive(&self) -> bool {
        matches!(self.format("#{pane_dead}").as_deref(), Ok("0"))
    }

    /// Returns the program's exit status once it has exited (`128 + signal` if a signal killed it), `None` while it runs.
    pub fn exit_status(&self) -> anyhow::Result<Option<i32>> {
        let state = self.format("#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}")?;
        let parts: Vec<&str> = state.split(':').collect();
        match parts.as_slice() {
            ["0", ..] => Ok(None),
            ["1", status, signal] => {
                if let Ok(code) = status.parse::<i32>() {
                    Ok(Some(code))
                } else if let Ok(signal) = signal.parse::<i32>() {
                    Ok(Some(128 + signal))
                } else {
                    bail!("tmux reported a dead pane without status or signal: {state:?}")
                }
            }
            _ => bail!("tmux reported pane state {state:?}"),
        }
    }

    /// Waits until the program in the pane exits and returns its exit status (see
    /// [`TmuxTerminal::exit_status`]), or `None` when tmux shows the pane dead but never reports
    /// a status: on a loaded machine tmux can close the pane before it reaps the child, and then
    /// (seen once in CI) report neither status nor signal for good.
    pub fn wait_for_exit(&self, timeout: Duration) -> anyhow::Result<Option<i32>> {
        let mut dead_since: Option<std::time::Instant> = None;
        Ok(wait_for_with_last(
            "the program in tmux to exit",
            timeout,
            || match self.exit_status() {
                Ok(Some(code)) => Ok(Some(code)),
                Ok(None) => Err(self.describe(&self.capture())),
                Err(e) if !self.is_alive() => {
                    let since = *dead_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() > Duration::from_secs(2) {
                        Ok(None)
                    } else {
                        Err(format!("{e:#}"))
                    }
                }
                Err(e) => Err(format!("{e:#}")),
            },
        )?)
    }

    /// Returns the screen, framed, with the pane's state, for timeout errors.
    fn describe(&self, screen: &str) -> String {
        let state = match self.exit_status() {
            Ok(None) => "running".to_owned(),
            Ok(Some(code)) => format!("exited with status {code}"),
            Err(e) => format!("unknown ({e:#})"),
        };
        format!("program {state}; screen:\n{screen}")
    }

    /// Evaluates a tmux format string for the pane.
    fn format(&self, format: &str) -> anyhow::Result<String> {
        Ok(self
            .tmux(&["display-message", "-p", "-t", &self.pane, format])?
            .trim_end()
            .to_owned())
    }

    /// Runs one tmux client command against this server and returns its stdout.
    fn tmux(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.tmux)
            .env_clear()
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running tmux {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "tmux {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for TmuxTerminal {
    fn drop(&mut self) {
        // Fails harmlessly when the server is already gone (the isolated env was dropped first).
        let _ = self.tmux(&["kill-server"]);
    }
}
