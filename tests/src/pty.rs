//! A terminal client on a pseudo-terminal of our own, for timing what tmux's polling would blur:
//! every chunk the client writes is stamped when it is read, so a key's echo is timed from the
//! write of the key to the first chunk that carries it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt as _;
use std::process::Stdio;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use nix::pty::{openpty, Winsize};

use crate::isolate::IsolatedEnv;
use crate::process::ProcessGroup;

/// A program running as the session leader of a pseudo-terminal whose master we hold.
pub struct PtyClient {
    master: File,
    output: Receiver<(Instant, Vec<u8>)>,
    /// Everything read so far, for waits on the screen's text.
    seen: Vec<u8>,
    _group: ProcessGroup,
}

impl PtyClient {
    /// Starts `argv` in `env` on a `cols` x `rows` pseudo-terminal.
    pub fn spawn(
        env: &IsolatedEnv,
        argv: &[&str],
        cols: u16,
        rows: u16,
    ) -> anyhow::Result<PtyClient> {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).context("opening a pseudo-terminal")?;
        let (program, args) = argv.split_first().context("an empty command line")?;
        let mut cmd = env.command(program);
        cmd.args(args)
            .stdin(Stdio::from(pty.slave.try_clone()?))
            .stdout(Stdio::from(pty.slave.try_clone()?))
            .stderr(Stdio::from(pty.slave));
        // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let group = ProcessGroup::spawn_session_leader(program, cmd, &env.tmp_dir())?;
        let master = File::from(pty.master);
        let mut reader = master.try_clone()?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || {
                let mut buf = vec![0u8; 65536];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if tx.send((Instant::now(), buf[..n].to_vec())).is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(PtyClient {
            master,
            output: rx,
            seen: Vec::new(),
            _group: group,
        })
    }

    /// Waits until the client's output so far holds `text`.
    pub fn wait_for_output(&mut self, text: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let needle = text.as_bytes();
        loop {
            if self.seen.windows(needle.len()).any(|w| w == needle) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok((_, chunk)) => self.seen.extend_from_slice(&chunk),
                Err(_) => bail!(
                    "no {text:?} from the terminal client within {timeout:?}; it wrote:\n{}",
                    String::from_utf8_lossy(&self.seen[self.seen.len().saturating_sub(2000)..])
                ),
            }
        }
    }

    /// Types `key` (one byte that no escape sequence of the client ends in) and returns the
    /// time until the first chunk of output carrying it.
    pub fn echo_latency(&mut self, key: u8, timeout: Duration) -> anyhow::Result<Duration> {
        while let Ok((_, chunk)) = self.output.try_recv() {
            self.seen.extend_from_slice(&chunk);
        }
        let typed = Instant::now();
        self.master
            .write_all(&[key])
            .context("typing into the pseudo-terminal")?;
        let deadline = typed + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok((at, chunk)) => {
                    self.seen.extend_from_slice(&chunk);
                    if chunk.contains(&key) {
                        return Ok(at.saturating_duration_since(typed));
                    }
                }
                Err(_) => bail!(
                    "the terminal client did not echo {:?} within {timeout:?}",
                    key as char
                ),
            }
        }
    }

    /// Writes `bytes` to the client as typed input.
    pub fn type_bytes(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.master
            .write_all(bytes)
            .context("typing into the pseudo-terminal")
    }
}
