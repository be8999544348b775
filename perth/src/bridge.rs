//! Supervision of host-bridge, the per-user sidecar that does for plugins what WebAssembly
//! cannot (DESIGN.md D4).
//!
//! The client makes sure a bridge identity (address and token) exists before it writes the
//! session's configuration, because plugins receive both through their configuration; it
//! starts no process. The
//! server runs [`supervise`] on a thread of its own: it starts the bridge when none runs,
//! watches it, and restarts it with backoff when it dies; a restarted bridge answers at the same
//! address with the same token. perth never waits on the bridge on its render path, and a dead
//! bridge only shows up in `perth status`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bridge_protocol::RuntimeInfo;
use bridge_runtime::control;
use bridge_runtime::runtime::RuntimeDir;
use serde::{Deserialize, Serialize};

/// What `perth status` shows about the bridge.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BridgeStatus {
    /// `running`, `starting`, `down` (restarting), `missing` (no host-bridge binary).
    pub state: String,
    pub pid: Option<u32>,
    pub url: Option<String>,
    pub uptime_ms: Option<u64>,
    /// When the running bridge started (ms since the Unix epoch); `uptime_ms` is worked out
    /// from it when the status is read.
    #[serde(skip)]
    pub started_at: Option<u64>,
    /// How many times this perth server restarted a dead bridge.
    pub restarts: u32,
    pub last_error: Option<String>,
    /// The last ping perth-core sent to the bridge through `web_request`.
    pub plugin_ping_ok: Option<bool>,
    pub plugin_rtt_ms: Option<u64>,
    pub plugin_error: Option<String>,
    /// When the last successful plugin ping came back, in ms since the Unix epoch.
    pub plugin_ping_at: Option<u64>,
    /// Events host-bridge pushed that reached perth-core in this session.
    pub events_received: u64,
    pub last_event_topic: Option<String>,
    /// The outboxes the running bridge publishes, each database and broker with how its
    /// connection is secured (asked of the bridge when the status is read).
    #[serde(default)]
    pub outboxes: Vec<bridge_protocol::OutboxLink>,
    /// Where the supervised bridge keeps its runtime files, to ask it.
    #[serde(skip)]
    pub runtime: Option<RuntimeDir>,
}

impl BridgeStatus {
    /// The status as shown at `now_ms`: with the running bridge's uptime.
    pub fn at(&self, now_ms: u64) -> BridgeStatus {
        BridgeStatus {
            uptime_ms: self.started_at.map(|t| now_ms.saturating_sub(t)),
            ..self.clone()
        }
    }

    /// Adds what the running bridge says of its outboxes (nothing when it does not answer).
    pub fn with_outboxes(mut self) -> BridgeStatus {
        if self.state == "running" {
            if let Some(runtime) = &self.runtime {
                if let Ok(Some(daemon)) = control::status(runtime) {
                    self.outboxes = daemon.outboxes;
                }
            }
        }
        self
    }
}

/// Where the bridge lives and how to start it.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub runtime: RuntimeDir,
    pub binary: Option<PathBuf>,
}

impl BridgeSettings {
    /// Resolves the settings from the environment: the runtime folder host-bridge uses and
    /// its binary next to perth's own (as `cargo xtask install` puts them) or on `PATH`.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let runtime =
            RuntimeDir::resolve(var("XDG_RUNTIME_DIR"), var("XDG_CONFIG_HOME"), var("HOME"))?;
        let binary = companion_binary("host-bridge", "PERTH_HOST_BRIDGE_BIN");
        Some(BridgeSettings { runtime, binary })
    }
}

/// Finds one of the suite's other programs: `override_var` when set, else next to perth's own
/// binary (as `cargo xtask install` puts them), else on `PATH`.
pub fn companion_binary(name: &str, override_var: &str) -> Option<PathBuf> {
    std::env::var_os(override_var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|d| d.join(name)))
                .filter(|p| p.is_file())
        })
        .or_else(|| find_on_path(name))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Returns the address and token plugins should use: those of the running bridge, else of the
/// last one, else a fresh pair claimed for the bridge the server will start. Starts nothing.
/// `None` when there is no bridge to use (no binary, or the runtime folder is unusable).
pub fn identity(settings: &BridgeSettings) -> Option<RuntimeInfo> {
    settings.binary.as_ref()?;
    if let Ok(Some(info)) = control::running(&settings.runtime) {
        return Some(info);
    }
    if let Some(info) = settings.runtime.read_identity() {
        return Some(info);
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let proposed = RuntimeInfo {
        pid: 0,
        port,
        url: format!("http://127.0.0.1:{port}"),
        token: bridge_runtime::runtime::generate_token().ok()?,
        started_at: 0,
        protocol_version: bridge_protocol::PROTOCOL_VERSION,
    };
    settings.runtime.claim_identity(&proposed).ok()
}

/// How quickly the supervisor notices a dead bridge.
const POLL: Duration = Duration::from_millis(500);
/// Longest pause between restart attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a new server waits before starting the bridge: the bridge is not needed to draw
/// the first screen, and starting it at once would compete with that on a small machine.
const FIRST_START_DELAY: Duration = Duration::from_millis(750);
/// How long a started bridge may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(5);

/// Watches the bridge until the process ends; restarts it with backoff when it dies.
/// `on_new_bridge` is called whenever a bridge with a new pid is seen running.
pub fn supervise(
    settings: BridgeSettings,
    status: Arc<Mutex<BridgeStatus>>,
    on_new_bridge: impl Fn(),
) {
    let set = |f: &dyn Fn(&mut BridgeStatus)| {
        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s);
    };
    let Some(binary) = settings.binary.clone() else {
        set(&|s| {
            s.state = "missing".into();
            s.last_error = Some(
                "no host-bridge binary next to perth or on PATH; install it with `cargo xtask install`"
                    .into(),
            );
        });
        return;
    };
    set(&|s| s.runtime = Some(settings.runtime.clone()));
    let mut child: Option<Child> = None;
    let mut failures: u32 = 0;
    let mut ever_running = false;
    if !matches!(control::running(&settings.runtime), Ok(Some(_))) {
        set(&|s| s.state = "starting".into());
        std::thread::sleep(FIRST_START_DELAY);
    }
    loop {
        if let Some(c) = child.as_mut() {
            // Reap our own bridge as soon as it exits, so no zombie holds its pid.
            match c.try_wait() {
                Ok(Some(_)) => child = None,
                // Our own bridge, running and known to be the one in the runtime folder:
                // nothing to read until it exits.
                Ok(None)
                    if ever_running
                        && status.lock().unwrap_or_else(|e| e.into_inner()).pid == Some(c.id()) =>
                {
                    std::thread::sleep(POLL);
                    continue;
                }
                _ => {}
            }
        }
        match control::running(&settings.runtime) {
            Ok(Some(info)) => {
                failures = 0;
                ever_running = true;
                let known = status.lock().unwrap_or_else(|e| e.into_inner()).pid == Some(info.pid);
                set(&|s| {
                    s.state = "running".into();
                    s.pid = Some(info.pid);
                    s.url = Some(info.url.clone());
                    s.started_at = Some(info.started_at);
                });
                if !known {
                    on_new_bridge();
                }
                std::thread::sleep(POLL);
            }
            other => {
                let error = match other {
                    Err(e) => Some(e.to_string()),
                    _ => None,
                };
                set(&|s| {
                    s.state = if ever_running { "down" } else { "starting" }.into();
                    s.pid = None;
                    s.started_at = None;
                    if let Some(e) = &error {
                        s.last_error = Some(e.clone());
                    }
                });
                if failures > 0 {
                    std::thread::sleep(backoff(failures));
                }
                match start(&binary, &settings.runtime) {
                    Ok(started) => {
                        child = Some(started);
                        if ever_running {
                            set(&|s| s.restarts += 1);
                        }
                        if wait_running(&settings.runtime, START_DEADLINE) {
                            failures = 0;
                        } else {
                            failures += 1;
                            set(&|s| {
                                s.last_error =
                                    Some("host-bridge did not start listening within 5 s".into())
                            });
                        }
                    }
                    Err(e) => {
                        failures += 1;
                        set(&|s| s.last_error = Some(format!("cannot start host-bridge: {e}")));
                    }
                }
            }
        }
    }
}

/// Returns the pause before restart attempt `failures` (1, 2, ...): 100 ms doubling to 5 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.clamp(1, 16).saturating_sub(1)))
        .min(MAX_BACKOFF)
}

/// Starts `host-bridge serve --foreground` as a child that dies with this server, logging to
/// the bridge's log file.
fn start(binary: &Path, runtime: &RuntimeDir) -> std::io::Result<Child> {
    runtime
        .create()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(runtime.log_path())?;
    let mut cmd = Command::new(binary);
    cmd.args(["serve", "--foreground"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    // The bridge publishes perth's outbox (the notifications' events) with the tools' ones,
    // and trims it: it needs perth's database even when no variable names it.
    match crate::saved::settings::PersistSettings::for_server() {
        Ok(persist) if persist.enabled => {
            cmd.env("PERTH_DATABASE_URL", persist.url);
        }
        _ => {}
    }
    // SAFETY: prctl and setpgid are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // The bridge goes when the perth server that started it goes (kill-session leaves
            // nothing behind); another session's supervisor starts a new one if needed.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            libc::setpgid(0, 0);
            Ok(())
        });
    }
    cmd.spawn()
}

fn wait_running(runtime: &RuntimeDir, deadline: Duration) -> bool {
    let until = Instant::now() + deadline;
    while Instant::now() < until {
        if let Ok(Some(_)) = control::running(runtime) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(3), Duration::from_millis(400));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn missing_binary_is_reported_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        let status = Arc::new(Mutex::new(BridgeStatus::default()));
        supervise(
            BridgeSettings {
                runtime: RuntimeDir::new(tmp.path().join("perth")),
                binary: None,
            },
            status.clone(),
            || panic!("no bridge runs"),
        );
        let s = status.lock().unwrap().clone();
        assert_eq!(s.state, "missing");
        assert!(s.last_error.unwrap().contains("cargo xtask install"));
    }
}
