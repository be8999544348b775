//! Real backing services (Redis, PostgreSQL, RabbitMQ) from Debian packages, on free loopback ports in temp dirs.
//!
//! Each service runs in its own process group and scratch directory; dropping the handle stops
//! it. `stop()` and `start_again()` keep the port, for outage tests.

pub mod certs;
mod packages;
mod postgres;
mod rabbitmq;
mod redis;
pub mod resp;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;

pub use certs::{CertPair, TestCa, CERT_HOST};
pub use packages::{ensure_debian_packages, find_program};
pub use postgres::{fresh_database, test_password, Postgres, CERT_ROLE};
pub use rabbitmq::RabbitMq;
pub use redis::{Redis, REDIS_ACL_USER};

/// Ports this process has handed out, so two services started at once never get the same one.
static ISSUED_PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// How many ports a service start tries before giving up when its port turns out to be taken.
const PORT_ATTEMPTS: usize = 3;

/// Returns a loopback TCP port that was free a moment ago and that this process has not handed out before.
///
/// Another process can still take it before the service binds; service starts retry with a
/// fresh port when that happens.
///
/// # Panics
///
/// When the kernel refuses to bind `127.0.0.1:0` at all, which leaves no test able to run.
pub fn free_port() -> u16 {
    match try_free_port() {
        Ok(port) => port,
        Err(e) => panic!("cannot find a free loopback port: {e:#}"),
    }
}

/// Returns a free loopback port (see [`free_port`]).
pub fn try_free_port() -> anyhow::Result<u16> {
    use anyhow::Context as _;
    let mut issued = ISSUED_PORTS.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("binding 127.0.0.1:0")?
            .port();
        if issued.insert(port) {
            return Ok(port);
        }
    }
    anyhow::bail!("the kernel kept returning ports this process already handed out")
}

/// Returns the service, or (outside CI) reports loudly that the test is skipped and returns `None`.
///
/// Under `CI=true` an unavailable service fails the test with the reason: CI never skips silently.
pub fn require_or_skip<T>(name: &str, r: anyhow::Result<T>) -> Option<T> {
    match r {
        Ok(service) => Some(service),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{name} is required under CI=true but unavailable: {e:#}")
        }
        Err(e) => {
            eprintln!("\n*** SKIPPED: {name} unavailable: {e:#}\n");
            None
        }
    }
}

/// Returns true when a service's log says its port was taken, so a start may retry elsewhere.
fn port_was_taken(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    log.contains("address already in use") || log.contains("eaddrinuse")
}

/// Why one attempt of [`start_on_free_ports`] failed.
struct StartError {
    error: anyhow::Error,
    /// The service's log says another process took its port first: try fresh ports.
    port_taken: bool,
}

impl StartError {
    /// A start that failed with `error`; `log` (the service's) tells whether its port was taken.
    fn after(error: anyhow::Error, log: &str) -> Self {
        StartError {
            error,
            port_taken: port_was_taken(log),
        }
    }
}

impl From<anyhow::Error> for StartError {
    fn from(error: anyhow::Error) -> Self {
        StartError {
            error,
            port_taken: false,
        }
    }
}

/// Runs `attempt` (which takes fresh ports from [`try_free_port`]) until it starts the service,
/// trying again, [`PORT_ATTEMPTS`] times at most, only when another process took a port first.
fn start_on_free_ports<S>(
    what: &str,
    mut attempt: impl FnMut() -> Result<S, StartError>,
) -> anyhow::Result<S> {
    use anyhow::Context as _;
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        match attempt() {
            Ok(service) => return Ok(service),
            Err(StartError {
                error,
                port_taken: true,
            }) => last_error = Some(error),
            Err(StartError { error, .. }) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no port attempt was made")))
        .with_context(|| format!("every port tried for {what} was taken"))
}
