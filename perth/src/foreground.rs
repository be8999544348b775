//! Which program a terminal pane runs in its foreground: the process group the pane's terminal
//! gives its input to (`tcgetpgrp` on the PTY master, or the shell's `tpgid` in
//! `/proc/PID/stat`), and that group leader's name and arguments from `/proc`.
//!
//! Agent awareness asks this to learn whether a pane runs a coding agent (see
//! [`crate::agent_screens::program_of`]). Every read is a few small files; a process that ends
//! in the middle gives `None`, never an error or a panic.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// A process as `/proc` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: i32,
    /// `/proc/PID/comm`: the program's name, at most 15 bytes, without the newline.
    pub comm: String,
    /// `/proc/PID/cmdline`: its arguments; empty for a kernel thread or a zombie.
    pub argv: Vec<String>,
}

/// Returns the foreground process group of the terminal whose PTY master (or slave) is `pty`;
/// `None` when the terminal has none or the descriptor is no terminal.
pub fn foreground_group<F: AsFd>(pty: F) -> Option<i32> {
    nix::unistd::tcgetpgrp(pty)
        .ok()
        .map(|pgrp| pgrp.as_raw())
        .filter(|&pgrp| pgrp > 0)
}

/// Returns the foreground process group of the terminal that process `pid` (a pane's shell)
/// has as its controlling terminal, from `/proc/PID/stat`.
pub fn foreground_group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(proc_path(pid, "stat")).ok()?;
    // `PID (COMM) STATE PPID PGRP SESSION TTY_NR TPGID ...`: COMM may hold spaces and
    // parentheses, so fields count from the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let tpgid: i32 = rest.split_whitespace().nth(5)?.parse().ok()?;
    (tpgid > 0).then_some(tpgid)
}

/// Returns what `/proc` knows of process `pid`, `None` when it is gone.
pub fn process(pid: i32) -> Option<ProcessInfo> {
    if pid <= 0 {
        return None;
    }
    let comm = std::fs::read_to_string(proc_path(pid, "comm")).ok()?;
    let cmdline = std::fs::read(proc_path(pid, "cmdline")).ok()?;
    let argv = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    Some(ProcessInfo {
        pid,
        comm: comm.trim_end_matches('\n').to_string(),
        argv,
    })
}

/// Returns the leader of the foreground process group of the terminal `pty` belongs to.
///
/// The leader is the process the shell started for the job (`claude`, `node .../gemini`); when
/// it has already ended while others of its group live on, this gives `None`.
pub fn foreground<F: AsFd>(pty: F) -> Option<ProcessInfo> {
    process(foreground_group(pty)?)
}

/// Returns the leader of the foreground process group of the terminal of process `pid` (a
/// pane's shell): the shell itself when it waits at its prompt.
pub fn foreground_of(pid: i32) -> Option<ProcessInfo> {
    process(foreground_group_of(pid)?)
}

/// Returns the children of process `pid` (its main thread's), none when it is gone.
pub fn children(pid: i32) -> Vec<i32> {
    if pid <= 0 {
        return Vec::new();
    }
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|text| {
            text.split_whitespace()
                .filter_map(|c| c.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Returns the working folder of process `pid`, `None` when it is gone or not readable.
pub fn cwd(pid: i32) -> Option<PathBuf> {
    if pid <= 0 {
        return None;
    }
    std::fs::read_link(proc_path(pid, "cwd")).ok()
}

/// Returns the root of the git worktree `dir` is in: the nearest folder, `dir` or above, that
/// holds a `.git` entry (a folder for a repository's main worktree, a file for a linked one such
/// as iMi's). `None` outside any repository.
pub fn worktree_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worktree_root_is_the_nearest_folder_with_a_git_entry() {
        let home = tempfile::tempdir().unwrap();
        let trunk = home.path().join("proj/trunk-main");
        let linked = home.path().join("proj/feat-x");
        std::fs::create_dir_all(trunk.join(".git")).unwrap();
        std::fs::create_dir_all(linked.join("src/deep")).unwrap();
        std::fs::write(
            linked.join(".git"),
            "gitdir: ../trunk-main/.git/worktrees/feat-x\n",
        )
        .unwrap();
        assert_eq!(
            worktree_root(&linked.join("src/deep")),
            Some(linked.clone())
        );
        assert_eq!(worktree_root(&trunk), Some(trunk.clone()));
        assert_eq!(worktree_root(&home.path().join("proj")), None);
        assert_eq!(cwd(std::process::id() as i32), std::env::current_dir().ok());
        assert_eq!(cwd(-1), None);
    }

    use std::os::fd::{AsRawFd as _, OwnedFd};
    use std::os::unix::process::CommandExt as _;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A program running on a terminal of its own, as in a pane: a new session whose
    /// controlling terminal is the PTY's slave.
    struct OnPty {
        master: OwnedFd,
        child: Child,
    }

    impl OnPty {
        fn spawn(argv: &[&str]) -> OnPty {
            let pty = nix::pty::openpty(None, None).expect("opening a pty");
            let slave = pty.slave;
            let slave_fd = slave.as_raw_fd();
            let mut cmd = Command::new(argv[0]);
            cmd.args(&argv[1..])
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .stdin(Stdio::from(
                    slave.try_clone().expect("duplicating the slave"),
                ))
                .stdout(Stdio::from(
                    slave.try_clone().expect("duplicating the slave"),
                ))
                .stderr(Stdio::from(slave));
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn().expect("spawning a program on the pty");
            OnPty {
                master: pty.master,
                child,
            }
        }

        fn pid(&self) -> i32 {
            self.child.id() as i32
        }
    }

    impl Drop for OnPty {
        fn drop(&mut self) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.pid()),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = self.child.wait();
        }
    }

    /// Polls `probe` until it gives `Some`, failing with `what` after ten seconds.
    fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = probe() {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn the_foreground_job_is_found_from_the_pty_and_from_the_shell() {
        // A shell with job control runs `sleep` as the terminal's foreground job, the way a
        // pane's shell runs an agent.
        let pane = OnPty::spawn(&["sh", "-c", "set -m; sleep 30; true"]);
        let job = wait_for("sleep to become the foreground job", || {
            foreground(&pane.master).filter(|p| p.comm == "sleep")
        });
        assert_ne!(job.pid, pane.pid(), "the job, not the shell");
        assert_eq!(job.argv, ["sleep", "30"]);
        assert_eq!(foreground_group(&pane.master), Some(job.pid));
        assert_eq!(foreground_of(pane.pid()), Some(job.clone()));
        let shell = process(pane.pid()).expect("the shell is alive");
        assert_eq!(shell.comm, "sh");
        assert_eq!(shell.argv[..2], ["sh", "-c"]);
    }

    #[test]
    fn a_process_that_ended_gives_none() {
        let mut pane = OnPty::spawn(&["sleep", "30"]);
        let pid = pane.pid();
        assert_eq!(
            wait_for("sleep to lead its terminal", || foreground(&pane.master)).comm,
            "sleep"
        );
        pane.child.kill().expect("killing sleep");
        pane.child.wait().expect("reaping sleep");
        assert_eq!(process(pid), None);
        assert_eq!(foreground_of(pid), None);
        assert_eq!(foreground(&pane.master), None);
        assert_eq!(process(0), None);
        assert_eq!(process(-1), None);
        let not_a_tty = std::fs::File::open("/dev/null").expect("opening /dev/null");
        assert_eq!(foreground_group(&not_a_tty), None);
    }
}
