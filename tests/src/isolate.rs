//! A throwaway home, XDG tree and socket directory, so a test never sees the user's config or sessions.
//!
//! The root lives directly under `/tmp` with a short name (`/tmp/pt-XXXXXX`) because Unix socket
//! paths must stay under ~100 bytes and Zellij puts its sockets below `ZELLIJ_SOCKET_DIR`.
//! Every process started through [`IsolatedEnv::command`] carries `PERTH_TEST_ROOT=<root>` in
//! its environment; on `Drop` the environment kills every process still carrying it (daemonized
//! servers included), then removes the directory.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::process::ScratchDir;
use crate::wait::wait_for;

/// Name of the variable that marks processes belonging to an isolated environment.
pub const ROOT_MARKER_VAR: &str = "PERTH_TEST_ROOT";

/// The prompt the isolated shell shows, so tests can wait for it.
pub const PROMPT: &str = "perth-test$ ";

/// Contents of `home/.bashrc`.
const BASHRC: &str = "\
# Written by the perth test harness.
PS1='perth-test$ '
PS2='> '
unset PROMPT_COMMAND
HISTFILE=\"$HOME/.bash_history\"
";

/// Contents of `home/.bash_profile`, for login shells.
const BASH_PROFILE: &str = "\
# Written by the perth test harness.
[ -f \"$HOME/.bashrc\" ] && . \"$HOME/.bashrc\"
";

/// A private directory tree standing in for `$HOME`, the XDG directories and the runtime and socket dirs.
pub struct IsolatedEnv {
    dir: ScratchDir,
    extra: Vec<(String, String)>,
    /// Where commands and terminals start; `home/` unless set.
    work_dir: Option<PathBuf>,
}

impl IsolatedEnv {
    /// Creates the tree under `/tmp/pt-XXXXXX` with `home/.bashrc` setting the prompt to [`PROMPT`].
    pub fn new() -> anyhow::Result<Self> {
        let env = Self {
            dir: ScratchDir::new("pt-")?,
            extra: Vec::new(),
            work_dir: None,
        };
        for sub in [
            env.home(),
            env.config_dir(),
            env.cache_dir(),
            env.data_dir(),
            env.state_dir(),
            env.runtime_dir(),
            env.tmp_dir(),
            env.socket_dir(),
        ] {
            fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
        }
        for private in [env.runtime_dir(), env.socket_dir()] {
            fs::set_permissions(&private, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private (0700)", private.display()))?;
        }
        write(&env.home().join(".bashrc"), BASHRC)?;
        write(&env.home().join(".bash_profile"), BASH_PROFILE)?;
        Ok(env)
    }

    /// Returns the root of the tree (`/tmp/pt-XXXXXX`).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Returns `$HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// Returns `$XDG_CONFIG_HOME`.
    pub fn config_dir(&self) -> PathBuf {
        self.root().join("xdg/config")
    }

    /// Returns `$XDG_CACHE_HOME`.
    pub fn cache_dir(&self) -> PathBuf {
        self.root().join("xdg/cache")
    }

    /// Returns `$XDG_DATA_HOME`.
    pub fn data_dir(&self) -> PathBuf {
        self.root().join("xdg/data")
    }

    /// Returns `$XDG_STATE_HOME`.
    pub fn state_dir(&self) -> PathBuf {
        self.root().join("xdg/state")
    }

    /// Returns `$XDG_RUNTIME_DIR` (mode 0700).
    pub fn runtime_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    /// Returns `$TMPDIR`.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root().join("tmp")
    }

    /// Returns `$ZELLIJ_SOCKET_DIR` (mode 0700).
    pub fn socket_dir(&self) -> PathBuf {
        self.root().join("sock")
    }

    /// Makes `dir` the folder commands and terminals start in (instead of `home/`): a perth
    /// session started there has it as its folder, which its plugins see as their own.
    pub fn set_work_dir(&mut self, dir: impl Into<PathBuf>) {
        self.work_dir = Some(dir.into());
    }

    /// Returns the folder commands and terminals start in.
    pub fn work_dir(&self) -> PathBuf {
        self.work_dir.clone().unwrap_or_else(|| self.home())
    }

    /// Adds (or replaces) a variable passed to every command, for example `PERTH_LOG`.
    pub fn set_var(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        self.extra.retain(|(k, _)| *k != key);
        self.extra.push((key, value.into()));
    }

    /// Returns the complete environment of processes started in this tree.
    ///
    /// `PATH` is inherited; `PS1` is set too so that `bash --norc -i` and `sh` show [`PROMPT`].
    /// Variables added with [`IsolatedEnv::set_var`] come last and win.
    pub fn envs(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH")
            .unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".to_owned());
        let dir = |p: PathBuf| p.to_string_lossy().into_owned();
        let mut vars: Vec<(String, String)> = vec![
            ("HOME".into(), dir(self.home())),
            ("XDG_CONFIG_HOME".into(), dir(self.config_dir())),
            ("XDG_CACHE_HOME".into(), dir(self.cache_dir())),
            ("XDG_DATA_HOME".into(), dir(self.data_dir())),
            ("XDG_STATE_HOME".into(), dir(self.state_dir())),
            ("XDG_RUNTIME_DIR".into(), dir(self.runtime_dir())),
            ("TMPDIR".into(), dir(self.tmp_dir())),
            ("ZELLIJ_SOCKET_DIR".into(), dir(self.socket_dir())),
            ("SHELL".into(), default_shell().into()),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("PS1".into(), PROMPT.into()),
            ("PATH".into(), path),
            (
                ROOT_MARKER_VAR.into(),
                self.root().to_string_lossy().into_owned(),
            ),
        ];
        // `PERTH_STOCK_ROUTING=1 cargo xtask test ...` runs the servers with Zellij's own
        // message routing, which the tests of perth's fixes must fail against.
        if let Ok(v) = std::env::var("PERTH_STOCK_ROUTING") {
            vars.push(("PERTH_STOCK_ROUTING".into(), v));
        }
        for (key, value) in &self.extra {
            vars.retain(|(k, _)| k != key);
            vars.push((key.clone(), value.clone()));
        }
        vars
    }

    /// Returns a command for `program` with a cleared environment, then [`IsolatedEnv::envs`],
    /// running in `home/` (or the folder [`IsolatedEnv::set_work_dir`] gave).
    ///
    /// Clearing the environment is what keeps an outer session out: when the tests run inside
    /// Zellij or perth, `ZELLIJ`, `ZELLIJ_SESSION_NAME` and `ZELLIJ_PANE_ID` would otherwise make
    /// the binary under test act as a nested client.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.envs())
            .current_dir(self.work_dir());
        cmd
    }

    /// Returns the pids of live processes started in this tree (their environment carries its marker).
    pub fn processes(&self) -> Vec<i32> {
        processes_with_env(&format!("{ROOT_MARKER_VAR}={}", self.root().display()))
    }

    /// Describes the tree's live state for a failure message: its processes (pid and command
    /// line), the sockets in its socket directory, and the last lines of every Zellij log below
    /// its `$TMPDIR` (what a server said before a session went missing).
    pub fn diagnostics(&self) -> String {
        let mut out = String::from("processes:\n");
        for pid in self.processes() {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            out.push_str(&format!("  {pid} {}\n", cmdline.trim_end()));
        }
        out.push_str(&format!("{}:\n", self.socket_dir().display()));
        for entry in walk(&self.socket_dir()) {
            out.push_str(&format!("  {}\n", entry.display()));
        }
        for log in walk(&self.tmp_dir())
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
        {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("{} (last 40 lines):\n", log.display()));
            for line in &lines[lines.len().saturating_sub(40)..] {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }

    /// Kills (`SIGKILL`) every process whose environment carries this tree's marker and waits until they are gone.
    ///
    /// Returns how many processes were signalled. Daemons started inside the tree (a Zellij
    /// server forked from a client) are found this way even though they left the process
    /// group and session of whatever started them.
    pub fn kill_processes(&self) -> anyhow::Result<usize> {
        let marker = format!("{ROOT_MARKER_VAR}={}", self.root().display());
        let pids = processes_with_env(&marker);
        for pid in &pids {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        if !pids.is_empty() {
            // A killed child of ours stays a zombie until reaped; its environ reads empty, so it no longer matches.
            wait_for(
                &format!(
                    "processes of {} to die after SIGKILL",
                    self.root().display()
                ),
                Duration::from_secs(10),
                || processes_with_env(&marker).is_empty().then_some(()),
            )?;
        }
        Ok(pids.len())
    }
}

impl Drop for IsolatedEnv {
    fn drop(&mut self) {
        // The directory itself goes when the `ScratchDir` field drops, after this.
        if let Err(e) = self.kill_processes() {
            eprintln!("perth tests: {e:#}");
        }
    }
}

/// Returns the shell the isolated environment advertises in `$SHELL`.
fn default_shell() -> &'static str {
    if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/bin/sh"
    }
}

/// Returns every file below `dir`, depth first (nothing when it cannot be read).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Returns the ids of processes (other than this one) whose environment contains `entry` exactly.
fn processes_with_env(entry: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|var| var == entry.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// Finds a file named `name` anywhere below `dir` (depth first); `None` when there is none.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}
