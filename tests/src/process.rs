//! Child processes that run in their own process group and cannot outlive the test.
//!
//! A [`ProcessGroup`] is stopped on `Drop`, which also runs while a panicking test unwinds.
//! Groups and temporary directories that are still alive when the test process exits (for
//! example a service kept in a `static`) are killed and removed by an `atexit` hook.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::wait::wait_for;

/// How long a group gets to exit after `SIGKILL`.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// Resources to release when the process exits: process group ids and directories.
struct ExitCleanup {
    groups: BTreeSet<i32>,
    dirs: BTreeSet<PathBuf>,
}

static EXIT_CLEANUP: Mutex<ExitCleanup> = Mutex::new(ExitCleanup {
    groups: BTreeSet::new(),
    dirs: BTreeSet::new(),
});
static INSTALL_HOOK: Once = Once::new();

fn with_exit_cleanup<R>(f: impl FnOnce(&mut ExitCleanup) -> R) -> R {
    INSTALL_HOOK.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that does not unwind (it catches panics).
        unsafe {
            libc::atexit(at_exit);
        }
    });
    // A poisoned lock still holds a valid set: every mutation is a single insert or remove.
    let mut guard = EXIT_CLEANUP.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let mut guard = EXIT_CLEANUP.lock().unwrap_or_else(|e| e.into_inner());
        for pgid in std::mem::take(&mut guard.groups) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        if std::env::var("PERTH_TEST_KEEP").as_deref() != Ok("1") {
            for dir in std::mem::take(&mut guard.dirs) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    });
}

/// A temporary directory under `/tmp` that is also removed at process exit if it is never dropped.
///
/// With `PERTH_TEST_KEEP=1` it is kept and its path printed, for post-mortems.
pub struct ScratchDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl ScratchDir {
    /// Creates `/tmp/<prefix>XXXXXX` (mode 0700).
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .with_context(|| format!("creating a temporary directory /tmp/{prefix}XXXXXX"))?;
        let path = dir.path().to_owned();
        with_exit_cleanup(|c| c.dirs.insert(path.clone()));
        Ok(Self {
            dir: Some(dir),
            path,
        })
    }

    /// Returns the directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        with_exit_cleanup(|c| c.dirs.remove(&self.path));
        let Some(dir) = self.dir.take() else { return };
        if std::env::var("PERTH_TEST_KEEP").as_deref() == Ok("1") {
            eprintln!("perth tests: keeping {}", dir.keep().display());
        } else if let Err(e) = dir.close() {
            eprintln!("perth tests: removing {}: {e}", self.path.display());
        }
    }
}

/// A child process leading its own process group, with its output in a log file.
pub struct ProcessGroup {
    name: String,
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl ProcessGroup {
    /// Spawns `cmd` as the leader of a new process group, stdin from `/dev/null`, stdout and stderr appended to `log`.
    ///
    /// Output goes to a file, not a pipe: daemons such as `epmd` inherit the descriptors and
    /// would keep a pipe open forever.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let out = open_log(log)?;
        let err = out
            .try_clone()
            .with_context(|| format!("duplicating log file {}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        Self::spawn_group(name, cmd, log)
    }

    /// Spawns `cmd`, which starts a session of its own (`setsid` in a `pre_exec` hook, as a
    /// program on a terminal of ours does), with the stdio the caller gave it. Nothing is written
    /// to `log`: it is the path messages name for the group's output.
    pub fn spawn_session_leader(name: &str, cmd: Command, log: &Path) -> anyhow::Result<Self> {
        Self::spawn_group(name, cmd, log)
    }

    /// Spawns `cmd` as the leader of a process group that is killed when the tests exit.
    fn spawn_group(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Self> {
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {cmd:?}"))?;
        let pgid = child.id() as i32;
        with_exit_cleanup(|c| c.groups.insert(pgid));
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            status: None,
        })
    }

    /// Returns the leader's process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the path of the log file holding the group's output.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Returns the leader's exit status if it has exited, reaping it.
    ///
    /// The group lives as long as its leader: when the leader is reaped, whatever is left in
    /// the group (helpers, backends) is killed at once. Doing it then, and never later, means
    /// the group id cannot have been reused by an unrelated process in between.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.status = Some(status);
                let pgid = self.pid() as i32;
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                with_exit_cleanup(|c| c.groups.remove(&pgid));
            }
        }
        self.status
    }

    /// Returns true while the leader has not exited.
    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Sends `signal` to the leader only.
    pub fn signal(&mut self, signal: Signal) -> anyhow::Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        nix::sys::signal::kill(Pid::from_raw(self.pid() as i32), signal)
            .with_context(|| format!("sending {signal} to {} (pid {})", self.name, self.pid()))
    }

    /// Waits until the leader exits, returning its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let what = format!("{} (pid {}) to exit", self.name, self.pid());
        Ok(wait_for(&what, timeout, || self.try_status())?)
    }

    /// Stops the group: `signal` to the leader, up to `grace` to exit, then `SIGKILL` to the whole group.
    ///
    /// Whatever else is left in the group after the leader exits is killed as well; stopping a
    /// group that has already exited just returns its status.
    pub fn stop(&mut self, signal: Signal, grace: Duration) -> anyhow::Result<ExitStatus> {
        let graceful = self.signal(signal).and_then(|()| self.wait_exit(grace));
        match graceful {
            Ok(status) => Ok(status),
            Err(_) => {
                if self.is_running() {
                    // The leader is not reaped yet, so the group id is still ours.
                    let _ = killpg(Pid::from_raw(self.pid() as i32), Signal::SIGKILL);
                }
                self.wait_exit(KILL_GRACE)
            }
        }
    }

    /// Returns the last `lines` lines of the log file, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let _ = self.stop(Signal::SIGTERM, Duration::from_secs(10));
    }
}

fn open_log(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening log file {}", path.display()))
}

/// Returns the last `lines` lines of a text file, or a note saying why it could not be read.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}
