//! A private RabbitMQ node on a free loopback port, isolated from the system node and its config.
//!
//! The node gets its own name, Mnesia and log directories, config file, empty plugin list,
//! Erlang cookie (through `HOME`) and distribution port. The one thing it shares is `epmd`,
//! the Erlang port mapper, which Erlang starts as a daemon on first use and which outlives
//! the tests; several nodes register with one `epmd` without trouble.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use nix::sys::signal::Signal;

use super::certs::{CertPair, TestCa};
use super::{ensure_debian_packages, find_program, start_on_free_ports, try_free_port, StartError};
use crate::process::{tail, ProcessGroup, ScratchDir};
use crate::wait::wait_for_with_last;

/// How long the node gets to accept AMQP connections after it is spawned (it usually needs 5-10 s).
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the node gets to exit after `rabbitmqctl stop` or `SIGTERM`.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// Where Debian puts the real scripts; `/usr/sbin/rabbitmq-server` would `su` to user rabbitmq.
const DEBIAN_SCRIPTS: &str = "/usr/lib/rabbitmq/bin";
/// AMQP 0-9-1 protocol header a client sends first.
pub const AMQP_PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";

static NODE_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A running (or deliberately stopped) RabbitMQ node owned by one test.
pub struct RabbitMq {
    dir: ScratchDir,
    scripts: PathBuf,
    node: String,
    port: u16,
    dist_port: u16,
    process: Option<ProcessGroup>,
    tls: Option<RabbitTls>,
}

/// What a secured node ([`RabbitMq::start_secured`]) adds.
struct RabbitTls {
    port: u16,
    ca: PathBuf,
    server: CertPair,
    password: String,
    /// Whether the TLS listener wants a client certificate signed by the CA
    /// (`ssl_options.verify = verify_peer`, `fail_if_no_peer_cert = true`).
    client_certs: bool,
}

/// The user a secured node has besides `guest`.
pub const RABBIT_USER: &str = "bloodbank";

impl RabbitMq {
    /// Starts a node (installing package `rabbitmq-server` if needed) and waits until it answers the AMQP handshake.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(None)
    }

    /// Starts a node secured as a team server is: a TLS listener with a certificate for
    /// `localhost` signed by `ca`, and user [`RABBIT_USER`] with a password and full rights on
    /// vhost `/`. The plain listener stays open for the harness's readiness checks.
    pub fn start_secured(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_secured_with(ca, false)
    }

    /// Starts a node secured as [`RabbitMq::start_secured`] whose TLS listener also wants a
    /// client certificate signed by `ca`, as a team's broker may ask.
    pub fn start_secured_with_client_certs(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_secured_with(ca, true)
    }

    fn start_secured_with(ca: &TestCa, client_certs: bool) -> anyhow::Result<Self> {
        let rabbit = Self::start_with(Some((ca, client_certs)))?;
        let password = rabbit
            .tls
            .as_ref()
            .map(|t| t.password.clone())
            .unwrap_or_default();
        // The listeners answer the AMQP handshake (what start waits for) a moment before the
        // node marks its `rabbit` application running, and rabbitmqctl's user commands refuse
        // a node whose application is not running yet.
        rabbit.rabbitmqctl(&["await_startup"])?;
        rabbit.rabbitmqctl(&["add_user", RABBIT_USER, &password])?;
        rabbit.rabbitmqctl(&["set_permissions", "-p", "/", RABBIT_USER, ".*", ".*", ".*"])?;
        Ok(rabbit)
    }

    fn start_with(ca: Option<(&TestCa, bool)>) -> anyhow::Result<Self> {
        ensure_debian_packages(&[("rabbitmq-server", "rabbitmq-server")])?;
        let scripts = find_scripts()?;
        start_on_free_ports("rabbitmq", || {
            let node = format!(
                "perth-{}-{}@localhost",
                std::process::id(),
                NODE_COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let mut rabbit = Self {
                dir: ScratchDir::new("pt-rmq-")?,
                scripts: scripts.clone(),
                node,
                port: try_free_port()?,
                dist_port: try_free_port()?,
                process: None,
                tls: match ca {
                    None => None,
                    Some((ca, client_certs)) => Some(RabbitTls {
                        port: try_free_port()?,
                        ca: ca.cert(),
                        server: ca.server_cert("rabbitmq")?,
                        password: super::test_password("rabbit"),
                        client_certs,
                    }),
                },
            };
            rabbit.write_config()?;
            if let Err(e) = rabbit.start_again() {
                return Err(StartError::after(e, &rabbit.logs(200)));
            }
            Ok(rabbit)
        })
    }

    /// Returns `amqp://guest:guest@127.0.0.1:<port>/%2f`.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Returns `amqps://bloodbank:PASSWORD@localhost:<tls port>/%2f` on a secured node.
    pub fn tls_url(&self) -> Option<String> {
        let tls = self.tls.as_ref()?;
        Some(format!(
            "amqps://{RABBIT_USER}:{}@localhost:{}/%2f",
            tls.password, tls.port
        ))
    }

    /// Returns the password of [`RABBIT_USER`] on a secured node.
    pub fn password(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.password.as_str())
    }

    /// Returns the CA file of a secured node.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca.as_path())
    }

    /// Returns the AMQP port, which stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns the Erlang node name (`perth-<pid>-<n>@localhost`), for `rabbitmqctl -n`.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Returns true while the node's process runs.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }

    /// Runs `rabbitmqctl -n <node> <args>` with the node's environment and returns its stdout.
    pub fn rabbitmqctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = self.command("rabbitmqctl");
        cmd.args(["-n", &self.node]).args(args);
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("running rabbitmqctl {}", args.join(" ")))?;
        if !out.status.success() {
            bail!(
                "rabbitmqctl -n {} {} failed ({}): {}{}",
                self.node,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Stops the node with `rabbitmqctl stop` (falling back to `SIGTERM`) and waits for it to exit; the port stays reserved.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut process) = self.process.take() else {
            return Ok(());
        };
        if process.is_running() {
            if let Err(e) = self.rabbitmqctl(&["stop"]) {
                eprintln!("perth tests: {e:#}; stopping {} with SIGTERM", self.node);
            }
        }
        process
            .stop(Signal::SIGTERM, STOP_GRACE)
            .with_context(|| format!("stopping rabbitmq node {}", self.node))?;
        Ok(())
    }

    /// Starts the node again on the same ports, with the same data, and waits until it answers the AMQP handshake.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.is_running(),
            "rabbitmq node {} is already running",
            self.node
        );
        let cmd = self.command("rabbitmq-server");
        let log = self.dir.path().join("stdout.log");
        let process = ProcessGroup::spawn("rabbitmq-server", cmd, &log)?;
        let node_log = self.node_log();
        let process = self.process.insert(process);
        let port = self.port;
        wait_for_with_last(
            &format!("rabbitmq node on port {port} to answer the AMQP handshake"),
            READY_TIMEOUT,
            || {
                if let Some(status) = process.try_status() {
                    return Ok(Err(anyhow!(
                        "rabbitmq-server exited ({status}) before accepting connections:\n{}\n{}",
                        process.log_tail(30),
                        tail(&node_log, 30)
                    )));
                }
                match amqp_handshake(port, Duration::from_secs(2)) {
                    Ok(()) => Ok(Ok(())),
                    Err(e) => Err(format!("{e:#}\n{}", tail(&node_log, 10))),
                }
            },
        )?
    }

    /// Stops and starts the node on the same ports.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }

    fn node_log(&self) -> PathBuf {
        self.dir
            .path()
            .join("log")
            .join(format!("{}.log", self.node))
    }

    /// Returns the tails of the server's stdout and of the node log.
    fn logs(&self, lines: usize) -> String {
        format!(
            "{}\n{}",
            tail(&self.dir.path().join("stdout.log"), lines),
            tail(&self.node_log(), lines)
        )
    }

    fn write_config(&self) -> anyhow::Result<()> {
        let dir = self.dir.path();
        for sub in ["home", "mnesia", "log"] {
            std::fs::create_dir(dir.join(sub))
                .with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        let mut config = format!(
            "listeners.tcp.default = 127.0.0.1:{}\nloopback_users = none\n",
            self.port
        );
        if let Some(tls) = &self.tls {
            config.push_str(&format!(
                "listeners.ssl.default = 127.0.0.1:{}\n\
                 ssl_options.cacertfile = {}\n\
                 ssl_options.certfile = {}\n\
                 ssl_options.keyfile = {}\n\
                 ssl_options.verify = {}\n\
                 ssl_options.fail_if_no_peer_cert = {}\n",
                tls.port,
                tls.ca.display(),
                tls.server.cert.display(),
                tls.server.key.display(),
                if tls.client_certs {
                    "verify_peer"
                } else {
                    "verify_none"
                },
                tls.client_certs,
            ));
        }
        write(&dir.join("rabbitmq.conf"), &config)?;
        write(&dir.join("enabled_plugins"), "[].\n")?;
        // Replaces /etc/rabbitmq/rabbitmq-env.conf, which could set a node name or port.
        write(&dir.join("rabbitmq-env.conf"), "")?;
        Ok(())
    }

    /// Returns a command for one of the RabbitMQ scripts with the node's isolated environment.
    fn command(&self, script: &str) -> Command {
        let dir = self.dir.path();
        let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
        let mut cmd = Command::new(self.scripts.join(script));
        cmd.env_clear()
            .current_dir(dir)
            .env(
                "PATH",
                "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            )
            .env("HOME", path("home"))
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", path("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", path("rabbitmq-env.conf"))
            .env("RABBITMQ_PID_FILE", path("rabbitmq.pid"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            );
        cmd
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        // The node's data goes with the directory; no need for an orderly shutdown.
        if let Some(mut process) = self.process.take() {
            let _ = process.stop(Signal::SIGKILL, STOP_GRACE);
        }
    }
}

/// Sends the AMQP 0-9-1 protocol header to `127.0.0.1:port` and checks that the broker answers with `connection.start`.
pub fn amqp_handshake(port: u16, timeout: Duration) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream
        .write_all(AMQP_PROTOCOL_HEADER)
        .context("sending the AMQP protocol header")?;
    // Frame header (type, channel, size) then the method's class and method ids.
    let mut reply = [0u8; 11];
    stream
        .read_exact(&mut reply)
        .context("reading the broker's first frame")?;
    let (frame_type, channel) = (reply[0], u16::from_be_bytes([reply[1], reply[2]]));
    let (class, method) = (
        u16::from_be_bytes([reply[7], reply[8]]),
        u16::from_be_bytes([reply[9], reply[10]]),
    );
    if (frame_type, channel, class, method) != (1, 0, 10, 10) {
        bail!("expected a connection.start method frame from {addr}, got bytes {reply:?}");
    }
    Ok(())
}

/// Returns the directory holding `rabbitmq-server` and `rabbitmqctl` scripts that can run as the current user.
fn find_scripts() -> anyhow::Result<PathBuf> {
    let has_scripts =
        |dir: &Path| dir.join("rabbitmq-server").is_file() && dir.join("rabbitmqctl").is_file();
    let debian = Path::new(DEBIAN_SCRIPTS);
    if has_scripts(debian) {
        return Ok(debian.to_owned());
    }
    let on_path = find_program("rabbitmq-server")
        .context("rabbitmq-server not found after installing package rabbitmq-server")?;
    let dir = on_path
        .parent()
        .context("rabbitmq-server has no parent directory")?
        .to_owned();
    anyhow::ensure!(
        has_scripts(&dir),
        "rabbitmqctl not found next to {}",
        on_path.display()
    );
    Ok(dir)
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}
