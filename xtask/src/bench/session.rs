//! A perth or Zellij session to measure: an isolated home (`tests::IsolatedEnv`) and a private tmux server (`tests::TmuxTerminal`).

use std::{
    fs,
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use ::tests::{IsolatedEnv, TmuxTerminal};
use anyhow::{bail, Context, Result};

/// The prompt of the shell in the multiplexer's terminal pane (set by the isolated home's `.bashrc`).
pub(crate) use ::tests::isolate::PROMPT;

/// The configuration both perth and Zellij get: nothing on screen but the layout.
const CONFIG: &str = "show_startup_tips false\nshow_release_notes false\n";

/// The prompt of the outer shell that execs the multiplexer; unlike [`PROMPT`], it never counts as ready.
const OUTER_PROMPT: &str = "bench-launcher> ";

/// A tmux window whose shell is about to become (see [`Session::exec`]) a perth or Zellij client.
pub(crate) struct Session {
    // Fields drop in order: the tmux server goes first, then the env kills what is left (the
    // daemonized multiplexer server) and removes the tree.
    terminal: TmuxTerminal,
    env: IsolatedEnv,
}

impl Session {
    /// Creates an isolated home with both multiplexers' config, and a `width` x `height` tmux window at a shell prompt.
    pub(crate) fn new(width: u16, height: u16) -> Result<Session> {
        let env = IsolatedEnv::new()?;
        // Zellij 0.45 creates and prefers $HOME/.config/zellij whatever XDG_CONFIG_HOME says, and
        // shows its setup wizard when the config file there is missing; perth layers
        // ~/.config/perth/config.kdl over its built-in config. Writing all four keeps both quiet.
        let config_homes = [env.home().join(".config"), env.config_dir()];
        for dir in config_homes
            .iter()
            .flat_map(|home| ["zellij", "perth"].map(|app| home.join(app)))
        {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            fs::write(dir.join("config.kdl"), CONFIG)
                .with_context(|| format!("writing {}/config.kdl", dir.display()))?;
        }
        let outer_prompt = format!("PS1={OUTER_PROMPT}");
        let terminal =
            TmuxTerminal::start(&env, width, height, &["env", &outer_prompt, "/bin/sh"])?;
        terminal.wait_for_text(
            "the launcher shell's prompt",
            OUTER_PROMPT.trim_end(),
            Duration::from_secs(30),
        )?;
        Ok(Session { terminal, env })
    }

    /// Returns the isolated environment (for running commands in it).
    pub(crate) fn env(&self) -> &IsolatedEnv {
        &self.env
    }

    /// Replaces the terminal by a new one at the launcher prompt, in the same environment (the
    /// multiplexer's caches and sockets stay): a second start on the same machine.
    pub(crate) fn new_terminal(&mut self, width: u16, height: u16) -> Result<()> {
        let outer_prompt = format!("PS1={OUTER_PROMPT}");
        self.terminal =
            TmuxTerminal::start(&self.env, width, height, &["env", &outer_prompt, "/bin/sh"])?;
        self.terminal.wait_for_text(
            "the launcher shell's prompt",
            OUTER_PROMPT.trim_end(),
            Duration::from_secs(30),
        )?;
        Ok(())
    }

    /// Returns the isolated home directory.
    pub(crate) fn home(&self) -> std::path::PathBuf {
        self.env.home()
    }

    /// Types `exec ARGV` at the launcher prompt, then returns the instant just before pressing Enter.
    ///
    /// tmux and the shell are already running, so what is timed from there is the multiplexer alone.
    pub(crate) fn exec(&self, argv: &[&Path]) -> Result<Instant> {
        let mut line = String::from("exec");
        for arg in argv {
            let arg = arg
                .to_str()
                .with_context(|| format!("{} is not UTF-8", arg.display()))?;
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        self.terminal.send_text(&line)?;
        let started = Instant::now();
        self.terminal.send_keys(&["Enter"])?;
        Ok(started)
    }

    /// Writes `layout` into the home and execs `BIN --session NAME --new-session-with-layout FILE`,
    /// then reads the screen until `ready` holds (`what` names it for the timeout's error).
    pub(crate) fn launch(
        &self,
        bin: &Path,
        name: &str,
        layout: &str,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> Result<()> {
        let file = self.home().join("bench-layout.kdl");
        fs::write(&file, layout).with_context(|| format!("writing {}", file.display()))?;
        self.exec(&[
            bin,
            Path::new("--session"),
            Path::new(name),
            // `--layout` with `--session` would add a tab to an existing session.
            Path::new("--new-session-with-layout"),
            &file,
        ])?;
        self.wait_for_screen(
            what,
            Duration::from_millis(20),
            Duration::from_secs(60),
            ready,
        )?;
        Ok(())
    }

    /// Adds a `perth { ... }` block holding `settings` to the configuration perth reads; call it before [`Session::launch`].
    ///
    /// The last `perth` block of the file wins whole, so one call carries every setting a session needs.
    pub(crate) fn configure_perth(&self, settings: &str) -> Result<()> {
        let file = self.env.config_dir().join("perth/config.kdl");
        let mut text = fs::read_to_string(&file).unwrap_or_default();
        text.push_str(&format!("perth {{\n{settings}\n}}\n"));
        fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
    }

    /// Types `text` at the prompt; [`Session::press_enter`] runs it.
    pub(crate) fn type_text(&self, text: &str) -> Result<()> {
        self.terminal.send_text(text)
    }

    /// Presses one key, by its tmux name (`Enter`, `C-u`).
    pub(crate) fn press(&self, key: &str) -> Result<()> {
        self.terminal.send_keys(&[key])
    }

    /// Reads the screen every `interval` (a fixed pace, unlike the tests' backoff, since the wait is what is
    /// measured) until `ready` holds and returns that screen; after `timeout` fails with the last screen.
    pub(crate) fn wait_for_screen(
        &self,
        what: &str,
        interval: Duration,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.terminal.try_capture(false)?;
            if ready(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                bail!("timed out after {timeout:?} waiting for {what}; the screen was:\n{screen}");
            }
            thread::sleep(interval);
        }
    }

    /// Returns the screen, plain or with colour escape sequences (`tmux capture-pane -p [-e]`).
    pub(crate) fn capture(&self, colored: bool) -> Result<String> {
        self.terminal.try_capture(colored)
    }

    /// Returns a command for `program` in the session's environment, so it talks to this session's server.
    pub(crate) fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.env.command(program)
    }

    /// Returns the pid of the multiplexer server: `--server` on its command line, with a socket in this env.
    pub(crate) fn server_pid(&self) -> Result<u32> {
        let socket_dir = self.env.socket_dir();
        let prefix = socket_dir.as_os_str().as_encoded_bytes();
        server_pid_in(Path::new("/proc"), prefix).with_context(|| {
            format!(
                "no process with --server and a socket in {}",
                socket_dir.display()
            )
        })
    }
}

impl Session {
    /// Returns the server's CPU (in % of one core) over `window` and its RSS (MiB) at the end.
    pub(crate) fn server_usage_over(&self, window: Duration) -> Result<ServerUsage> {
        let pid = self.server_pid()?;
        let before = ProcessUsage::read(pid)?;
        let started = Instant::now();
        thread::sleep(window);
        let after = ProcessUsage::read(pid)?;
        let cpu_seconds = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64
            / clock_ticks_per_second() as f64;
        Ok(ServerUsage {
            pid,
            cpu_percent: cpu_seconds / started.elapsed().as_secs_f64() * 100.0,
            rss_mib: after.rss_kib as f64 / 1024.0,
        })
    }

    /// Types a marker at the prompt `keys` times and returns each time from typing to its echo
    /// on screen, in ms; the line is cleared after each.
    pub(crate) fn echo_times(&self, keys: usize) -> Result<Vec<f64>> {
        let mut samples = Vec::with_capacity(keys);
        for i in 0..keys {
            let marker = format!("k{i:03}x");
            let started = Instant::now();
            self.type_text(&marker)?;
            self.wait_for_screen(
                "the typed key's echo",
                Duration::from_millis(1),
                Duration::from_secs(10),
                |s| s.contains(&marker),
            )?;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
            self.press("C-u")?;
        }
        Ok(samples)
    }
}

/// A server's cost over a window: [`Session::server_usage_over`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerUsage {
    pub(crate) pid: u32,
    pub(crate) cpu_percent: f64,
    pub(crate) rss_mib: f64,
}

/// Returns the first process under `proc` whose command line has `--server` and an argument starting with `prefix`.
fn server_pid_in(proc: &Path, prefix: &[u8]) -> Option<u32> {
    fs::read_dir(proc)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .find(|pid: &u32| {
            let Ok(cmdline) = fs::read(proc.join(pid.to_string()).join("cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.contains(&&b"--server"[..]) && args.iter().any(|arg| arg.starts_with(prefix))
        })
}

/// Quotes `arg` for a POSIX shell.
fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=+:,".contains(&b))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// CPU time and memory of a process, read from `/proc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcessUsage {
    /// User plus system time, in clock ticks.
    pub(crate) cpu_ticks: u64,
    /// Resident set size, in KiB.
    pub(crate) rss_kib: u64,
}

impl ProcessUsage {
    /// Reads `/proc/<pid>/stat` and `/proc/<pid>/status`.
    pub(crate) fn read(pid: u32) -> Result<ProcessUsage> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        Ok(ProcessUsage {
            cpu_ticks: parse_cpu_ticks(&stat)
                .with_context(|| format!("parsing /proc/{pid}/stat"))?,
            rss_kib: parse_vm_rss_kib(&status)
                .with_context(|| format!("no VmRSS in /proc/{pid}/status"))?,
        })
    }
}

/// Returns utime + stime from the text of `/proc/<pid>/stat`.
pub(crate) fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces and parentheses; fields after the last `)` are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Returns VmRSS in KiB from the text of `/proc/<pid>/status`.
pub(crate) fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Returns the kernel's clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked.
pub(crate) fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_server_by_its_socket_dir() {
        let proc = std::env::temp_dir().join(format!("xtask-proc-{}", std::process::id()));
        for (pid, cmdline) in [
            ("12", &b"/bin/bash\0"[..]),
            (
                "34",
                b"/usr/bin/zellij\0--server\0/tmp/other/sock/contract_version_1/a\0",
            ),
            (
                "56",
                b"/usr/bin/zellij\0--server\0/tmp/pt-x/sock/contract_version_1/b\0",
            ),
            ("self", b"ignored"),
        ] {
            fs::create_dir_all(proc.join(pid)).unwrap();
            fs::write(proc.join(pid).join("cmdline"), cmdline).unwrap();
        }
        assert_eq!(server_pid_in(&proc, b"/tmp/pt-x/sock"), Some(56));
        assert_eq!(server_pid_in(&proc, b"/tmp/pt-y/sock"), None);
        fs::remove_dir_all(&proc).unwrap();
    }

    #[test]
    fn quotes_only_what_the_shell_would_split() {
        assert_eq!(
            shell_quote("/tmp/pt-ab/home/bench.kdl"),
            "/tmp/pt-ab/home/bench.kdl"
        );
        assert_eq!(shell_quote("--layout"), "--layout");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn cpu_ticks_survive_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (perth (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 17 5 0 0 20 0 9 0 123 456 789";
        assert_eq!(parse_cpu_ticks(stat), Some(22));
    }

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tperth\nVmPeak:\t  9000 kB\nVmRSS:\t   41234 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss_kib(status), Some(41234));
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\n"), None);
    }
}
