//! A private `redis-server` on a free loopback port, without persistence.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use nix::sys::signal::Signal;

use super::certs::{CertPair, TestCa};
use super::resp::{RespClient, RespValue};
use super::{ensure_debian_packages, find_program, start_on_free_ports, try_free_port, StartError};
use crate::process::{ProcessGroup, ScratchDir};
use crate::wait::wait_for_with_last;

/// How long Redis gets to answer `PING` after it is spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long Redis gets to exit after `SIGTERM`.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running (or deliberately stopped) Redis server owned by one test.
pub struct Redis {
    dir: ScratchDir,
    binary: PathBuf,
    port: u16,
    process: Option<ProcessGroup>,
    tls: Option<RedisTls>,
}

/// What a secured server ([`Redis::start_secured`]) adds.
struct RedisTls {
    port: u16,
    ca: PathBuf,
    server: CertPair,
    password: String,
    /// Whether the TLS port wants a client certificate signed by the CA (`tls-auth-clients yes`).
    client_certs: bool,
}

/// The ACL user a secured server has besides `default`.
pub const REDIS_ACL_USER: &str = "zdrive";

impl Redis {
    /// Starts `redis-server` (installing package `redis-server` if needed) and waits until it answers `PING`.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(None)
    }

    /// Starts a server secured as a team server is: a TLS port with a certificate for
    /// `localhost` signed by `ca`, `requirepass` for the default user and an ACL user
    /// [`REDIS_ACL_USER`] with its own password ([`Redis::password`] for both). The plain
    /// port stays open (password required) for the harness's readiness checks.
    pub fn start_secured(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_with(Some((ca, false)))
    }

    /// Starts a server secured as [`Redis::start_secured`] whose TLS port also wants a client
    /// certificate signed by `ca` (`tls-auth-clients yes`), as a team server may ask.
    pub fn start_secured_with_client_certs(ca: &TestCa) -> anyhow::Result<Self> {
        Self::start_with(Some((ca, true)))
    }

    fn start_with(ca: Option<(&TestCa, bool)>) -> anyhow::Result<Self> {
        ensure_debian_packages(&[("redis-server", "redis-server")])?;
        let binary =
            find_program("redis-server").context("redis-server not found after install")?;
        start_on_free_ports("redis-server", || {
            let mut redis = Self {
                dir: ScratchDir::new("pt-redis-")?,
                binary: binary.clone(),
                port: try_free_port()?,
                process: None,
                tls: match ca {
                    None => None,
                    Some((ca, client_certs)) => Some(RedisTls {
                        port: try_free_port()?,
                        ca: ca.cert(),
                        server: ca.server_cert("redis")?,
                        password: super::test_password("redis"),
                        client_certs,
                    }),
                },
            };
            if let Err(e) = redis.start_again() {
                let log = redis.process.as_ref().map(|p| p.log_tail(50));
                return Err(StartError::after(e, &log.unwrap_or_default()));
            }
            Ok(redis)
        })
    }

    /// Returns `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Returns the TCP port, which stays the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns `rediss://[USER]:PASSWORD@localhost:<tls port>/0` on a secured server, with the
    /// ACL user when `acl_user`, else the default user's `requirepass`.
    pub fn tls_url(&self, acl_user: bool) -> Option<String> {
        let tls = self.tls.as_ref()?;
        let user = if acl_user { REDIS_ACL_USER } else { "" };
        Some(format!(
            "rediss://{user}:{}@localhost:{}/0",
            tls.password, tls.port
        ))
    }

    /// Returns the TLS port of a secured server.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls.as_ref().map(|t| t.port)
    }

    /// Returns the password of a secured server (the default user's and the ACL user's).
    pub fn password(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.password.as_str())
    }

    /// Returns the CA file of a secured server.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|t| t.ca.as_path())
    }

    /// Opens a new client connection.
    pub fn client(&self) -> anyhow::Result<RespClient> {
        let mut client = RespClient::connect(self.port, Duration::from_secs(5))
            .with_context(|| format!("connecting to redis on port {}", self.port))?;
        if let Some(password) = self.password() {
            client.command(&["AUTH", password])?;
        }
        Ok(client)
    }

    /// Returns true while the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.is_running())
    }

    /// Stops the server (`SIGTERM`, then `SIGKILL` after a grace period); the port stays reserved for [`Redis::start_again`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut process) = self.process.take() {
            process
                .stop(Signal::SIGTERM, STOP_GRACE)
                .context("stopping redis-server")?;
        }
        Ok(())
    }

    /// Starts the server again on the same port after [`Redis::stop`] and waits until it answers `PING`.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.is_running(),
            "redis on port {} is already running",
            self.port
        );
        let mut cmd = Command::new(&self.binary);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .current_dir(self.dir.path())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .args(["--logfile", ""]);
        if let Some(tls) = &self.tls {
            cmd.args(["--tls-port", &tls.port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.server.cert)
                .arg("--tls-key-file")
                .arg(&tls.server.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args([
                    "--tls-auth-clients",
                    if tls.client_certs { "yes" } else { "no" },
                ])
                .args(["--requirepass", &tls.password])
                .args([
                    "--user",
                    REDIS_ACL_USER,
                    "on",
                    &format!(">{}", tls.password),
                    "~*",
                    "&*",
                    "+@all",
                ]);
        }
        let log = self.dir.path().join("redis.log");
        let process = self
            .process
            .insert(ProcessGroup::spawn("redis-server", cmd, &log)?);
        let port = self.port;
        let password = self.tls.as_ref().map(|t| t.password.clone());
        wait_for_with_last(
            &format!("redis-server on port {port} to answer PING"),
            READY_TIMEOUT,
            || {
                if let Some(status) = process.try_status() {
                    return Ok(Err(anyhow!(
                        "redis-server exited ({status}) before answering PING:\n{}",
                        process.log_tail(30)
                    )));
                }
                match ping(port, password.as_deref()) {
                    Ok(()) => Ok(Ok(())),
                    Err(e) => Err(format!("{e:#}\n{}", process.log_tail(10))),
                }
            },
        )?
    }

    /// Stops and starts the server on the same port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.start_again()
    }
}

fn ping(port: u16, password: Option<&str>) -> anyhow::Result<()> {
    let mut client = RespClient::connect(port, Duration::from_millis(500))?;
    if let Some(password) = password {
        client.command(&["AUTH", password])?;
    }
    let reply = client.command(&["PING"])?;
    match reply {
        RespValue::Simple(ref s) if s == "PONG" => Ok(()),
        other => Err(anyhow!("PING answered {other:?}")),
    }
}
