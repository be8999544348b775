//! Shared test helpers: an isolated environment, a running `host-bridge serve`, an HTTP client, and waiting with deadlines.

use bridge_protocol::{Request, RequestEnvelope, ResponseEnvelope, RuntimeInfo, RPC_PATH};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long any awaited condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Waits until `check` returns `Some`, polling; panics naming `what` after `deadline`.
pub fn wait_for<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Holds an isolated HOME and XDG_RUNTIME_DIR in a temporary folder.
pub struct TestEnv {
    tmp: tempfile::TempDir,
    xdg_runtime_dir: bool,
    logs: AtomicUsize,
}

impl TestEnv {
    /// Returns an environment with `XDG_RUNTIME_DIR` set.
    pub fn new() -> Self {
        Self::build(true)
    }

    /// Returns an environment with only `HOME` set, so the runtime folder falls back to `~/.config/perth`.
    pub fn without_xdg_runtime_dir() -> Self {
        Self::build(false)
    }

    fn build(xdg_runtime_dir: bool) -> Self {
        let tmp = tempfile::tempdir().expect("creating a temporary folder");
        std::fs::create_dir_all(tmp.path().join("home")).unwrap();
        std::fs::create_dir_all(tmp.path().join("run")).unwrap();
        Self {
            tmp,
            xdg_runtime_dir,
            logs: AtomicUsize::new(0),
        }
    }

    /// Returns the HOME host-bridge runs with.
    pub fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    /// Returns the folder host-bridge should use for its lock and runtime file.
    pub fn runtime_dir(&self) -> PathBuf {
        if self.xdg_runtime_dir {
            self.tmp.path().join("run/perth")
        } else {
            self.tmp.path().join("home/.config/perth")
        }
    }

    /// Returns the path of the runtime file.
    pub fn info_path(&self) -> PathBuf {
        self.runtime_dir().join("host-bridge.json")
    }

    /// Reads the runtime file, if there is one.
    pub fn read_info(&self) -> Option<RuntimeInfo> {
        let bytes = std::fs::read(self.info_path()).ok()?;
        Some(serde_json::from_slice(&bytes).expect("the runtime file is valid JSON"))
    }

    /// Returns a `host-bridge` command with a cleared environment pointing into this folder.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_host-bridge"));
        command
            .args(args)
            .env_clear()
            .env("HOME", self.tmp.path().join("home"));
        command.env("HOST_BRIDGE_LOG", "debug");
        if self.xdg_runtime_dir {
            command.env("XDG_RUNTIME_DIR", self.tmp.path().join("run"));
        }
        command
    }

    /// Runs `host-bridge ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .stdin(Stdio::null())
            .output()
            .expect("running host-bridge")
    }

    /// Starts `host-bridge serve --foreground ARGS` and waits until it has written its runtime file.
    pub fn serve(&self, args: &[&str]) -> Bridge {
        self.serve_with_env(args, &[])
    }

    /// Starts `host-bridge serve --foreground ARGS` with variables of its environment added or
    /// replaced (another HOME, a PATH that finds git), as [`TestEnv::serve`] does.
    pub fn serve_with_env(&self, args: &[&str], vars: &[(&str, &std::ffi::OsStr)]) -> Bridge {
        let log = self.tmp.path().join(format!(
            "serve-{}.log",
            self.logs.fetch_add(1, Ordering::Relaxed)
        ));
        let stderr = std::fs::File::create(&log).unwrap();
        let mut all = vec!["serve", "--foreground"];
        all.extend_from_slice(args);
        let mut child = self
            .command(&all)
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting host-bridge serve");
        let pid = child.id();
        let info = wait_for("the runtime file of the new host-bridge", DEADLINE, || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "host-bridge serve exited early with {status}:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            self.read_info().filter(|info| info.pid == pid)
        });
        Bridge {
            child,
            info,
            log,
            agent: agent(),
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// An HTTP answer: status code and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    /// Decodes the body as a response envelope.
    pub fn envelope(&self) -> ResponseEnvelope {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not a response envelope ({e}): {}", self.body))
    }
}

/// A running `host-bridge serve --foreground`, killed when dropped.
pub struct Bridge {
    child: Child,
    pub info: RuntimeInfo,
    log: PathBuf,
    agent: ureq::Agent,
}

impl Bridge {
    /// Returns the daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Returns the RPC endpoint's URL.
    pub fn rpc_url(&self) -> String {
        format!("{}{RPC_PATH}", self.info.url)
    }

    /// Posts `body` to the RPC endpoint with the given `Authorization` header value (or none).
    pub fn post(&self, body: impl Into<Vec<u8>>, authorization: Option<&str>) -> Reply {
        let mut request = self
            .agent
            .post(self.rpc_url())
            .content_type("application/json");
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let mut response = request
            .send(body.into())
            .expect("the request reaches host-bridge");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .expect("reading the response body");
        Reply { status, body }
    }

    /// Posts `body` with the right token.
    pub fn rpc_raw(&self, body: impl Into<Vec<u8>>) -> Reply {
        self.post(body, Some(&format!("Bearer {}", self.info.token)))
    }

    /// Sends `request` with the right token and returns the answer.
    pub fn rpc(&self, id: u64, request: Request) -> Reply {
        self.rpc_raw(serde_json::to_vec(&RequestEnvelope { id, body: request }).unwrap())
    }

    /// Returns the daemon's status, read through the protocol.
    pub fn status(&self) -> bridge_protocol::BridgeStatus {
        match self.rpc(0, Request::Status).envelope().into_result() {
            Ok(bridge_protocol::Response::Status(status)) => status,
            other => panic!("status expected, got {other:?}"),
        }
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.info.pid as i32), signal).expect("signalling host-bridge");
    }

    /// Waits for the daemon to exit and returns its status.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let child = &mut self.child;
        wait_for("host-bridge to exit", DEADLINE, || {
            child.try_wait().expect("watching host-bridge")
        })
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Returns a command's stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
