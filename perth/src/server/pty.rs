//! perth's own PTYs for shell and command panes.
//!
//! Zellij 0.45.1 starts every pane's program with `fork` + `exec` from the server, and a fork
//! copies the page tables of the whole server: with 100 panes and 40 plugin instances that is
//! several milliseconds per pane on the one PTY thread that starts them all, most of a large
//! session's start or restore. perth starts them with `posix_spawn` instead, which glibc does
//! with `CLONE_VM | CLONE_VFORK` (nothing is copied) and which can still make the pane's PTY
//! its controlling terminal: the child starts a new session (`POSIX_SPAWN_SETSID`) and then
//! opens the PTY's secondary side as its standard input.
//!
//! What the child gets is what Zellij gives it: the server's environment plus
//! `ZELLIJ_PANE_ID`, the pane's directory when it exists (the server's otherwise), every
//! signal at its default disposition and none blocked, and no descriptor but 0, 1 and 2. The
//! server keeps the secondary side open until the program exits, then calls the pane's quit
//! callback with its exit code (`None` when a signal ended it).
//!
//! perth's `ServerOsApi` routes every terminal-id call for these panes here; terminal ids
//! still come from the stock backend's counter, so ids stay unique when an editor pane
//! (`TerminalAction::OpenFile`, which the stock backend starts) is opened beside them.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::termios::Termios;
use tokio::io::unix::AsyncFd;
use zellij_server::os_input_output::{async_trait, AsyncReader};
use zellij_server::panes::PaneId;
use zellij_utils::errors::prelude::*;
use zellij_utils::input::command::RunCommand;

/// Called once when a pane's program has exited, with its exit code.
pub type QuitCallback = Box<dyn Fn(PaneId, Option<i32>, RunCommand) + Send>;

/// A pane's size in cells and pixels, as Zellij passes it.
type Size = (u16, u16, Option<u16>, Option<u16>);

/// The PTYs perth started, by terminal id.
pub struct Ptys {
    /// The terminal settings new PTYs start with: the server's standard input's, when it has
    /// a terminal (Zellij's rule), else the kernel's defaults.
    termios: Mutex<Option<Termios>>,
    /// Each pane's primary side. The pane's reader owns the descriptor; this is its number,
    /// for writes, resizes and the foreground process group.
    primaries: Mutex<HashMap<u32, RawFd>>,
    /// Sizes held back while Zellij applies a layout (`cache_resizes`), newest per pane.
    held_sizes: Mutex<Option<BTreeMap<u32, Size>>>,
}

impl Default for Ptys {
    fn default() -> Self {
        Self::new()
    }
}

impl Ptys {
    pub fn new() -> Self {
        Ptys {
            termios: Mutex::new(nix::sys::termios::tcgetattr(io::stdin()).ok()),
            primaries: Mutex::default(),
            held_sizes: Mutex::default(),
        }
    }

    /// Whether terminal `id` is one of perth's.
    pub fn owns(&self, id: u32) -> bool {
        self.primaries.lock().unwrap().contains_key(&id)
    }

    /// Starts `cmd` in a new PTY as terminal `id`; returns the reader of its output and the
    /// program's pid. A command that cannot be found is Zellij's `CommandNotFound`, which
    /// Zellij shows in the pane.
    pub fn spawn(
        &self,
        id: u32,
        cmd: RunCommand,
        quit_cb: QuitCallback,
    ) -> Result<(Box<dyn AsyncReader>, u32)> {
        let cwd = cmd.cwd.as_deref().filter(|dir| dir.is_dir());
        if let Some(missing) = cmd.cwd.as_deref().filter(|dir| !dir.is_dir()) {
            log::error!(
                "perth: the directory {} of a new pane is not there; the pane starts in the server's",
                missing.display()
            );
        }
        let Some(program) = resolve_program(&cmd.command, cmd.cwd.as_deref()) else {
            return Err(ZellijError::CommandNotFound {
                terminal_id: id,
                command: cmd.command.to_string_lossy().into_owned(),
            })
            .with_context(|| format!("failed to start {:?}", cmd.command));
        };
        let pty = nix::pty::openpty(None, self.termios.lock().unwrap().as_ref())
            .context("failed to open a PTY for a new pane")?;
        for fd in [&pty.master, &pty.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).context("failed to set FD_CLOEXEC")?;
        }
        let secondary = secondary_path(pty.master.as_fd())?;
        let argv = std::iter::once(cmd.command.as_os_str())
            .chain(cmd.args.iter().map(OsStr::new))
            .map(c_string)
            .collect::<Result<Vec<_>>>()?;
        let envp = child_env(id)?;
        let pid = posix_spawn(&program, &argv, &envp, cwd, &secondary)
            .with_context(|| format!("failed to start {}", program.display()))?;
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).context("F_GETFL on a PTY")?;
        fcntl(
            &pty.master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .context("failed to make a PTY non-blocking")?;
        self.primaries
            .lock()
            .unwrap()
            .insert(id, pty.master.as_raw_fd());
        let secondary_fd = pty.slave;
        std::thread::Builder::new()
            .name("perth-pane-exit".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let code = wait_for_exit(pid);
                drop(secondary_fd);
                quit_cb(PaneId::Terminal(id), code, cmd);
            })
            .context("failed to start the thread that waits for a pane's program")?;
        Ok((Box::new(PtyReader::new(pty.master)), pid as u32))
    }

    /// Forgets terminal `id` (its reader still owns the descriptor).
    pub fn clear(&self, id: u32) {
        self.primaries.lock().unwrap().remove(&id);
    }

    /// Runs `f` on terminal `id`'s primary side; `None` when the terminal is not perth's, so
    /// a caller routes and acts with one lookup.
    pub(crate) fn with_primary<T>(
        &self,
        id: u32,
        f: impl FnOnce(BorrowedFd<'_>) -> Result<T>,
    ) -> Option<Result<T>> {
        let primaries = self.primaries.lock().unwrap();
        let fd = *primaries.get(&id)?;
        // The pane's reader owns the descriptor, as in Zellij's backend: a call racing with the
        // pane's close can find it closed (EBADF), which the caller reports.
        Some(f(unsafe { BorrowedFd::borrow_raw(fd) }))
    }

    /// Writes as much of `buf` as the PTY takes now; Zellij queues the rest. `None`: not
    /// perth's terminal.
    pub fn write(&self, id: u32, buf: &[u8]) -> Option<Result<usize>> {
        self.with_primary(id, |fd| {
            let mut written = 0;
            while written < buf.len() {
                match nix::unistd::write(fd, &buf[written..]) {
                    Ok(0) => break,
                    Ok(n) => written += n,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(nix::errno::Errno::EAGAIN) => break,
                    Err(e) => {
                        return Err(e).with_context(|| format!("failed to write to terminal {id}"))
                    }
                }
            }
            Ok(written)
        })
    }

    /// Waits until the terminal has taken what was written. `None`: not perth's terminal.
    pub fn tcdrain(&self, id: u32) -> Option<Result<()>> {
        self.with_primary(id, |fd| {
            nix::sys::termios::tcdrain(fd).with_context(|| format!("tcdrain on terminal {id}"))
        })
    }

    /// Sets terminal `id`'s size, or holds it while sizes are held. `None`: not perth's
    /// terminal.
    pub fn set_size(&self, id: u32, size: Size) -> Option<Result<()>> {
        if let Some(held) = self.held_sizes.lock().unwrap().as_mut() {
            if !self.owns(id) {
                return None;
            }
            held.insert(id, size);
            return Some(Ok(()));
        }
        self.with_primary(id, |fd| {
            let (cols, rows, width, height) = size;
            if cols == 0 || rows == 0 {
                return Ok(());
            }
            let winsize = libc::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: width.unwrap_or(0),
                ws_ypixel: height.unwrap_or(0),
            };
            // SAFETY: TIOCSWINSZ reads one winsize from the pointer.
            let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &winsize) };
            if rc != 0 {
                log::warn!(
                    "perth: cannot resize terminal {id}: {}",
                    io::Error::last_os_error()
                );
            }
            Ok(())
        })
    }

    /// Holds size changes until [`Ptys::release_sizes`].
    pub fn hold_sizes(&self) {
        self.held_sizes
            .lock()
            .unwrap()
            .get_or_insert_with(BTreeMap::new);
    }

    /// Applies the newest held size of each pane.
    pub fn release_sizes(&self) {
        let held = self.held_sizes.lock().unwrap().take();
        for (id, size) in held.unwrap_or_default() {
            let _ = self.set_size(id, size);
        }
    }

    /// The git worktree the foreground program of terminal `id` works in (its working
    /// folder's [`crate::foreground::worktree_root`]); `None` outside a repository or when the
    /// terminal is not perth's.
    pub fn worktree(&self, id: u32) -> Option<PathBuf> {
        let group = self
            .with_primary(id, |fd| nix::unistd::tcgetpgrp(fd).context("tcgetpgrp"))?
            .ok()?
            .as_raw();
        crate::foreground::worktree_root(&crate::foreground::cwd(group)?)
    }

    /// The command line of the foreground process of each of perth's panes in `panes`
    /// (terminal id, shell pid) whose foreground is not the pane's shell, passed through
    /// `post_hook` (`post_command_discovery_hook`) when one is set.
    pub fn foreground_commands(
        &self,
        panes: &[(u32, u32)],
        post_hook: Option<&str>,
    ) -> HashMap<u32, Vec<String>> {
        let mut found = HashMap::new();
        for &(id, shell_pid) in panes {
            let Some(Ok(group)) =
                self.with_primary(id, |fd| nix::unistd::tcgetpgrp(fd).context("tcgetpgrp"))
            else {
                continue;
            };
            let group = group.as_raw();
            if group <= 0 || group as u32 == shell_pid {
                continue;
            }
            let Some(command) = command_line(group as u32) else {
                continue;
            };
            // A job the shell starts is made the foreground group before it execs its
            // program: until then it is a copy of the shell, not a command to record.
            if is_copy_of(group as u32, shell_pid) {
                continue;
            }
            found.insert(
                id,
                match post_hook {
                    Some(hook) => through_hook(&command, hook),
                    None => command,
                },
            );
        }
        found
    }
}

/// The program to run for `command`: a file by that name in the pane's directory (or the
/// server's when the pane has none), else the first on `PATH`; Zellij's order.
fn resolve_program(command: &Path, cwd: Option<&Path>) -> Option<PathBuf> {
    let is_file = |p: &Path| p.is_file().then(|| p.to_path_buf());
    let here = match cwd {
        Some(dir) => dir.join(command),
        None => command.to_path_buf(),
    };
    if let Some(found) = is_file(&here) {
        return Some(if found.is_absolute() {
            found
        } else {
            std::env::current_dir().ok()?.join(found)
        });
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find_map(|p| is_file(&p))
}

fn c_string(s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| anyhow!("{s:?} contains a NUL byte and cannot be passed to a program"))
}

/// The server's environment with `ZELLIJ_PANE_ID` set to the pane's id.
fn child_env(id: u32) -> Result<Vec<CString>> {
    let pane_id = OsString::from("ZELLIJ_PANE_ID");
    std::env::vars_os()
        .filter(|(key, _)| *key != pane_id)
        .chain(std::iter::once((
            pane_id.clone(),
            OsString::from(id.to_string()),
        )))
        .map(|(key, value)| {
            let mut entry = key;
            entry.push("=");
            entry.push(value);
            c_string(&entry)
        })
        .collect()
}

/// `/dev/pts/N` of the PTY whose primary side is `primary`.
fn secondary_path(primary: BorrowedFd<'_>) -> Result<CString> {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: the buffer is writable for its length; ptsname_r NUL-terminates on success.
    let rc = unsafe { libc::ptsname_r(primary.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc)).context("ptsname_r on a new PTY");
    }
    // SAFETY: NUL-terminated by ptsname_r.
    Ok(unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_owned())
}

/// Calls a `posix_spawn*` function and turns its error number into an error.
fn check(what: &str, rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::Error::from_raw_os_error(rc).kind(),
            format!("{what}: {}", io::Error::from_raw_os_error(rc)),
        ))
    }
}

/// Starts `program` with `argv` and `envp` in a new session whose controlling terminal is the
/// PTY at `secondary` (standard input, output and error), in `cwd` when given.
fn posix_spawn(
    program: &Path,
    argv: &[CString],
    envp: &[CString],
    cwd: Option<&Path>,
    secondary: &CString,
) -> io::Result<libc::pid_t> {
    let program = c_string(program.as_os_str()).map_err(io::Error::other)?;
    let cwd = cwd
        .map(|dir| c_string(dir.as_os_str()))
        .transpose()
        .map_err(io::Error::other)?;
    let mut argv_ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    argv_ptrs.push(std::ptr::null_mut());
    let mut envp_ptrs: Vec<*mut libc::c_char> = envp.iter().map(|e| e.as_ptr() as *mut _).collect();
    envp_ptrs.push(std::ptr::null_mut());

    // SAFETY: the attribute and file-action objects are initialised before use and destroyed
    // on every path; every pointer passed points into a CString or Vec that outlives the call.
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        check(
            "posix_spawnattr_init",
            libc::posix_spawnattr_init(&mut attr),
        )?;
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        if let Err(e) = check(
            "posix_spawn_file_actions_init",
            libc::posix_spawn_file_actions_init(&mut actions),
        ) {
            libc::posix_spawnattr_destroy(&mut attr);
            return Err(e);
        }
        let result = (|| {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            let mut all: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            check(
                "posix_spawnattr_setsigmask",
                libc::posix_spawnattr_setsigmask(&mut attr, &none),
            )?;
            check(
                "posix_spawnattr_setsigdefault",
                libc::posix_spawnattr_setsigdefault(&mut attr, &all),
            )?;
            let flags = libc::POSIX_SPAWN_SETSID as libc::c_int
                | libc::POSIX_SPAWN_SETSIGMASK as libc::c_int
                | libc::POSIX_SPAWN_SETSIGDEF as libc::c_int;
            check(
                "posix_spawnattr_setflags",
                libc::posix_spawnattr_setflags(&mut attr, flags as libc::c_short),
            )?;
            if let Some(dir) = &cwd {
                check(
                    "posix_spawn_file_actions_addchdir_np",
                    libc::posix_spawn_file_actions_addchdir_np(&mut actions, dir.as_ptr()),
                )?;
            }
            // Opened after setsid by a session leader without a terminal: it becomes the
            // child's controlling terminal.
            check(
                "posix_spawn_file_actions_addopen",
                libc::posix_spawn_file_actions_addopen(
                    &mut actions,
                    0,
                    secondary.as_ptr(),
                    libc::O_RDWR,
                    0,
                ),
            )?;
            for fd in [1, 2] {
                check(
                    "posix_spawn_file_actions_adddup2",
                    libc::posix_spawn_file_actions_adddup2(&mut actions, 0, fd),
                )?;
            }
            check(
                "posix_spawn_file_actions_addclosefrom_np",
                libc::posix_spawn_file_actions_addclosefrom_np(&mut actions, 3),
            )?;
            let mut pid: libc::pid_t = 0;
            check(
                "posix_spawn",
                libc::posix_spawn(
                    &mut pid,
                    program.as_ptr(),
                    &actions,
                    &attr,
                    argv_ptrs.as_ptr(),
                    envp_ptrs.as_ptr(),
                ),
            )?;
            Ok(pid)
        })();
        libc::posix_spawn_file_actions_destroy(&mut actions);
        libc::posix_spawnattr_destroy(&mut attr);
        result
    }
}

/// Waits for `pid` to end: its exit code, or `None` when a signal ended it (or it was reaped
/// elsewhere).
fn wait_for_exit(pid: libc::pid_t) -> Option<i32> {
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child; status is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if rc < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

/// The command line of process `pid`, from `/proc`.
/// Returns whether process `pid` still runs the program and command line `shell` runs: a
/// child the shell forked that has not exec'd yet.
fn is_copy_of(pid: u32, shell: u32) -> bool {
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    let same_exe = exe(pid).is_some_and(|e| Some(e) == exe(shell));
    same_exe && command_line(pid).is_some_and(|c| Some(c) == command_line(shell))
}

fn command_line(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then_some(words)
}

/// Runs the user's `post_command_discovery_hook` (`sh -c HOOK` with the command line in
/// `RESURRECT_COMMAND`) and returns the words it prints; the command line itself when the
/// hook fails.
fn through_hook(command: &[String], hook: &str) -> Vec<String> {
    let joined = command.join(" ");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(hook)
        .env("RESURRECT_COMMAND", &joined)
        .output();
    let text = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            log::warn!(
                "perth: post_command_discovery_hook failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            joined
        }
        Err(e) => {
            log::warn!("perth: cannot run post_command_discovery_hook: {e}");
            joined
        }
    };
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Reads a pane's output from its PTY's primary side. The descriptor is registered with the
/// reactor on the first read, which runs inside Zellij's runtime (the PTY thread that opens it
/// does not).
struct PtyReader {
    unregistered: Option<OwnedFd>,
    registered: Option<AsyncFd<OwnedFd>>,
}

impl PtyReader {
    fn new(fd: OwnedFd) -> Self {
        PtyReader {
            unregistered: Some(fd),
            registered: None,
        }
    }
}

#[async_trait]
impl AsyncReader for PtyReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(fd) = self.unregistered.take() {
            // SAFETY: the reader owns the descriptor and closes it only by dropping the AsyncFd.
            self.registered = Some(unsafe { AsyncFd::register(fd)? });
        }
        let fd = self
            .registered
            .as_ref()
            .ok_or_else(|| io::Error::other("the PTY reader failed to register"))?;
        loop {
            let mut ready = fd.readable().await?;
            match ready.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    fn command(program: &str, args: &[&str]) -> RunCommand {
        RunCommand {
            command: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Runs `cmd` as terminal `id`, returns (everything it printed, its exit code).
    fn run(ptys: &Ptys, id: u32, cmd: RunCommand) -> (String, Option<i32>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let (mut reader, _pid) = ptys
            .spawn(
                id,
                cmd,
                Box::new(move |pane, code, _| {
                    let _ = tx.lock().unwrap().send((pane, code));
                }),
            )
            .expect("spawn");
        let (pane, code) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the program exits");
        assert_eq!(pane, PaneId::Terminal(id));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut out = Vec::new();
        rt.block_on(async {
            let mut buf = [0u8; 4096];
            loop {
                // The server holds the secondary side until the exit: what the program wrote is
                // there to read, then the read would wait.
                match tokio::time::timeout(Duration::from_millis(200), reader.read(&mut buf)).await
                {
                    Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
        });
        (String::from_utf8_lossy(&out).replace('\r', ""), code)
    }

    #[test]
    fn pty_program_output_and_exit_code_come_back() {
        let ptys = Ptys::new();
        let (out, code) = run(&ptys, 7, command("sh", &["-c", "echo hello; exit 3"]));
        assert_eq!(out.trim(), "hello");
        assert_eq!(code, Some(3));
        assert!(ptys.owns(7));
        ptys.clear(7);
        assert!(!ptys.owns(7));
    }

    #[test]
    fn pty_child_gets_a_controlling_terminal_and_the_pane_id() {
        let ptys = Ptys::new();
        let script = "exec 3</dev/tty && echo ctty=yes; test -t 0 && echo stdin=tty; \
                      echo id=$ZELLIJ_PANE_ID; echo sid=$(cut -d' ' -f6 /proc/$$/stat) pid=$$";
        let (out, code) = run(&ptys, 42, command("sh", &["-c", script]));
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("ctty=yes"), "{out}");
        assert!(out.contains("stdin=tty"), "{out}");
        assert!(out.contains("id=42"), "{out}");
        let sid = out.split("sid=").nth(1).unwrap().split(' ').next().unwrap();
        let pid = out.split("pid=").nth(1).unwrap().trim();
        assert_eq!(sid, pid, "the program leads its own session: {out}");
    }

    #[test]
    fn pty_child_starts_clean_in_its_directory() {
        // Each check is the spawned program itself: a shell blocks signals and opens pipes of
        // its own while it runs commands.
        let dir = tempfile::tempdir().unwrap();
        let ptys = Ptys::new();
        let mut pwd = command("pwd", &["-P"]);
        pwd.cwd = Some(dir.path().to_path_buf());
        let (out, code) = run(&ptys, 1, pwd);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(
            out.trim(),
            dir.path().canonicalize().unwrap().display().to_string()
        );

        let (out, code) = run(
            &ptys,
            2,
            command("grep", &["-E", "^Sig(Blk|Ign)", "/proc/self/status"]),
        );
        assert_eq!(code, Some(0), "{out}");
        let mask = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
                .unwrap_or_else(|| panic!("no {name} line: {out}"))
        };
        assert_eq!(mask("SigBlk:"), 0, "no signal blocked: {out}");
        // Signals 32 and 33 are glibc's own (no program can use them); posix_spawn leaves
        // them ignored when the parent handles them.
        assert_eq!(
            mask("SigIgn:") & !0x1_8000_0000,
            0,
            "no signal ignored: {out}"
        );

        // 3 is the directory ls reads.
        let (out, code) = run(&ptys, 3, command("ls", &["/proc/self/fd"]));
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["0", "1", "2", "3"],
            "{out}"
        );
    }

    #[test]
    fn pty_signal_ended_program_has_no_exit_code() {
        let ptys = Ptys::new();
        let (_, code) = run(&ptys, 2, command("sh", &["-c", "kill -TERM $$"]));
        assert_eq!(code, None);
    }

    #[test]
    fn pty_missing_command_is_zellijs_command_not_found() {
        let ptys = Ptys::new();
        let err = ptys
            .spawn(
                9,
                command("perth-no-such-program", &[]),
                Box::new(|_, _, _| {}),
            )
            .err()
            .expect("an error");
        match err.downcast_ref::<ZellijError>() {
            Some(ZellijError::CommandNotFound {
                terminal_id,
                command,
            }) => {
                assert_eq!(*terminal_id, 9);
                assert_eq!(command, "perth-no-such-program");
            }
            other => panic!("expected CommandNotFound, got {other:?}: {err:#}"),
        }
        assert!(!ptys.owns(9));
    }

    #[test]
    fn pty_relative_program_is_found_in_the_pane_directory() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hello.sh");
        std::fs::write(&script, "#!/bin/sh\necho from-script \"$@\"\n").unwrap();
        std::process::Command::new("chmod")
            .args(["+x", script.to_str().unwrap()])
            .status()
            .unwrap();
        let ptys = Ptys::new();
        let mut cmd = command("hello.sh", &["a b"]);
        cmd.cwd = Some(dir.path().to_path_buf());
        let (out, code) = run(&ptys, 3, cmd);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(out.trim(), "from-script a b");
    }

    #[test]
    fn pty_sizes_apply_and_hold() {
        let ptys = Ptys::new();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let (mut reader, _) = ptys
            .spawn(
                5,
                command("sh", &["-c", "read line; stty size"]),
                Box::new(move |_, code, _| {
                    let _ = tx.lock().unwrap().send(code);
                }),
            )
            .unwrap();
        ptys.set_size(5, (80, 24, None, None)).unwrap().unwrap();
        ptys.hold_sizes();
        ptys.set_size(5, (100, 30, None, None)).unwrap().unwrap();
        ptys.set_size(5, (77, 33, None, None)).unwrap().unwrap();
        // Another backend's terminal is not held or touched, so the caller routes it on.
        assert!(ptys.set_size(6, (10, 10, None, None)).is_none());
        ptys.release_sizes();
        assert!(ptys.set_size(6, (10, 10, None, None)).is_none());
        assert!(ptys.write(6, b"x").is_none());
        assert!(ptys.tcdrain(6).is_none());
        assert_eq!(ptys.write(5, b"go\n").unwrap().unwrap(), 3);
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), Some(0));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(async {
            let mut out = Vec::new();
            let mut buf = [0u8; 1024];
            while let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(200), reader.read(&mut buf)).await
            {
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            String::from_utf8_lossy(&out).into_owned()
        });
        assert!(out.contains("33 77"), "{out:?}");
    }

    #[test]
    fn a_child_that_has_not_exec_d_is_a_copy_of_its_parent_and_a_command_is_not() {
        let me = std::process::id();
        assert!(is_copy_of(me, me));
        let mut sleep = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!is_copy_of(sleep.id(), me));
        let _ = sleep.kill();
        let _ = sleep.wait();
    }

    #[test]
    fn pty_foreground_command_is_found_and_passed_through_the_hook() {
        let ptys = Ptys::new();
        let (mut reader, shell) = ptys
            .spawn(
                11,
                command("bash", &["--norc", "--noprofile", "-i"]),
                Box::new(|_, _, _| {}),
            )
            .unwrap();
        // Keep the PTY drained while bash runs.
        let drain = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut buf = [0u8; 1024];
                let end = Instant::now() + Duration::from_secs(15);
                while Instant::now() < end {
                    match tokio::time::timeout(Duration::from_millis(100), reader.read(&mut buf))
                        .await
                    {
                        Ok(Ok(0)) | Ok(Err(_)) => break,
                        _ => {}
                    }
                }
            });
        });
        ptys.write(11, b"sleep 30\n").unwrap().unwrap();
        let panes = [(11, shell)];
        let deadline = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let found = ptys.foreground_commands(&panes, None);
            if !found.is_empty() || Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            found.get(&11),
            Some(&vec!["sleep".to_string(), "30".to_string()])
        );
        let hooked =
            ptys.foreground_commands(&panes, Some("echo \"$RESURRECT_COMMAND\" | sed s/30/45/"));
        assert_eq!(
            hooked.get(&11),
            Some(&vec!["sleep".to_string(), "45".to_string()])
        );
        // Interrupt sleep and end bash.
        ptys.write(11, b"\x03exit\n").unwrap().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(shell as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        drain.join().unwrap();
    }
}
