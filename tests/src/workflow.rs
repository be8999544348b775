//! The set-up the seed's end-to-end workflows share: the stack they run on (real PostgreSQL,
//! Redis and RabbitMQ, or nothing at all and every tool on its embedded default), an iMi
//! project cloned from the iMi sandbox's origin, the `iMi`, `zdrive` and `host-bridge` command
//! lines run as a user of the isolated environment would run them, a consumer of the Bloodbank
//! broker, and reads of the databases the tools write.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::imi_sandbox::{run_output, Run, Sandbox};
use crate::services::{ensure_debian_packages, require_or_skip};
use crate::wait::{scaled, wait_for_with_last};
use crate::{IsolatedEnv, PerthSession, Postgres, RabbitMq, Redis};

/// The real servers of the "servers" stack: one PostgreSQL database shared by iMi and perth
/// (`DATABASE_URL`, as a team would set it), Redis for zdrive and RabbitMQ for Bloodbank.
pub struct Servers {
    pub postgres: Postgres,
    /// The database iMi and perth write (`DATABASE_URL`).
    pub database_url: String,
    pub redis: Redis,
    pub rabbitmq: RabbitMq,
}

impl Servers {
    /// Starts the three servers side by side, or returns `None` when one cannot start and the
    /// test is skipped (never under `CI=true`, where that fails the test).
    pub fn start(database: &str) -> Option<Servers> {
        let (postgres, redis, rabbitmq) = std::thread::scope(|scope| {
            let postgres = scope.spawn(Postgres::start);
            let redis = scope.spawn(Redis::start);
            let rabbitmq = scope.spawn(RabbitMq::start);
            (
                joined("postgres", postgres.join()),
                joined("redis", redis.join()),
                joined("rabbitmq", rabbitmq.join()),
            )
        });
        let postgres = require_or_skip("postgres", postgres)?;
        let redis = require_or_skip("redis", redis)?;
        let rabbitmq = require_or_skip("rabbitmq", rabbitmq)?;
        let database_url = postgres
            .create_database(database)
            .expect("creating the workflow's database");
        Some(Servers {
            postgres,
            database_url,
            redis,
            rabbitmq,
        })
    }

    /// Points every tool started in `env` at the servers, through the variables a user exports.
    pub fn configure(&self, env: &mut IsolatedEnv) {
        env.set_var("DATABASE_URL", &self.database_url);
        env.set_var("ZDRIVE_REDIS_URL", self.redis.url());
        env.set_var("BLOODBANK_AMQP_URL", self.rabbitmq.url());
    }

    /// Returns the database iMi and perth write.
    pub fn database(&self) -> Db<'_> {
        Db::Postgres {
            server: &self.postgres,
            url: self.database_url.clone(),
        }
    }

    /// Returns the intent entries Redis holds for `pane` (its history list, newest first).
    pub fn redis_history(&self, pane: &str) -> anyhow::Result<Vec<Value>> {
        let key = format!("perth:pane:{pane}:history");
        let reply = self.redis.client()?.command(&["LRANGE", &key, "0", "-1"])?;
        let crate::services::resp::RespValue::Array(Some(items)) = reply else {
            bail!("LRANGE {key} answered {reply:?}");
        };
        items
            .iter()
            .map(|item| {
                let text = item.as_str().context("an entry that is not a string")?;
                serde_json::from_str(text)
                    .with_context(|| format!("an entry that is not JSON: {text}"))
            })
            .collect()
    }
}

/// Returns what a server's start returned, failing the test if the start panicked.
fn joined<T>(name: &str, r: std::thread::Result<T>) -> T {
    r.unwrap_or_else(|_| panic!("starting {name} panicked"))
}

/// A database a tool writes, read the way an operator would: `psql` or `sqlite3`.
pub enum Db<'a> {
    Postgres { server: &'a Postgres, url: String },
    Sqlite(PathBuf),
}

impl Db<'_> {
    /// Returns the embedded SQLite database at `path`.
    pub fn sqlite(path: PathBuf) -> Db<'static> {
        Db::Sqlite(path)
    }

    /// Runs `sql` and returns its rows, columns separated by `|`, one row per line.
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        match self {
            Db::Postgres { server, url } => server.psql(url, sql),
            Db::Sqlite(path) => {
                anyhow::ensure!(path.is_file(), "{} does not exist", path.display());
                ensure_debian_packages(&[("sqlite3", "sqlite3")])?;
                let out = std::process::Command::new("sqlite3")
                    .arg("-readonly")
                    .arg(path)
                    .arg(sql)
                    .stdin(Stdio::null())
                    .output()
                    .context("running sqlite3")?;
                if !out.status.success() {
                    bail!(
                        "sqlite3 {} {sql:?} failed ({}): {}",
                        path.display(),
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
            }
        }
    }

    /// Returns `title|cwd` of each terminal pane perth stored for `session`.
    pub fn session_panes(&self, session: &str) -> anyhow::Result<Vec<String>> {
        let rows = self.query(&format!(
            "SELECT p.title, p.cwd FROM panes p JOIN sessions s ON s.id = p.session_id \
             WHERE s.name = '{session}' AND NOT p.is_plugin ORDER BY p.pane_id"
        ))?;
        Ok(rows.lines().map(str::to_owned).collect())
    }
}

/// Makes `sandbox`'s origin and clones it as an iMi project under `~/work` of `env`
/// (`iMi init --repo`); returns the trunk. Commits made in `env` use the sandbox's identity.
pub fn project(env: &mut IsolatedEnv, sandbox: &Sandbox) -> PathBuf {
    sandbox.origin();
    env.set_var(
        "GIT_CONFIG_GLOBAL",
        sandbox.home().join(".gitconfig").display().to_string(),
    );
    let work = env.home().join("work");
    std::fs::create_dir_all(&work).expect("creating ~/work");
    let origin = sandbox.origin_path().display().to_string();
    let init = imi(env, None, &work, &["init", "--repo", &origin]);
    init.data();
    // The project is named after the origin (`origin.git`), its trunk after the default branch.
    let trunk = work.join("origin/trunk-main");
    assert!(
        trunk.join(".git").is_dir(),
        "no trunk checkout: {}",
        init.stdout
    );
    trunk
}

/// Runs `iMi --json ARGS` in `dir` as a user of `env`; with `session`, from a shell of that
/// perth session (`ZELLIJ_SESSION_NAME`), as an agent in a pane would.
pub fn imi(env: &IsolatedEnv, session: Option<&str>, dir: &Path, args: &[&str]) -> Run {
    let mut cmd = env.command(crate::workspace_bin("iMi").expect("the iMi binary"));
    cmd.current_dir(dir)
        .arg("--json")
        .args(args)
        .stdin(Stdio::null());
    if let Some(session) = session {
        cmd.env("ZELLIJ_SESSION_NAME", session);
    }
    run_output(cmd.output().expect("running iMi"))
}

/// Runs `zdrive ARGS` in `dir` from a shell of perth session `s`.
pub fn zdrive_output(s: &PerthSession, dir: &Path, args: &[&str]) -> Output {
    s.env
        .command(crate::workspace_bin("zdrive").expect("the zdrive binary"))
        .current_dir(dir)
        .env("ZELLIJ_SESSION_NAME", &s.name)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running zdrive")
}

/// Runs `zdrive --json ARGS` from a shell of `s` and returns `data`, failing on an error.
pub fn zdrive(s: &PerthSession, dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = zdrive_output(s, dir, &all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "zdrive {args:?} printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success() && v["success"] == true,
        "zdrive {args:?} failed ({}): {v}",
        out.status
    );
    v["data"].clone()
}

/// Returns `zdrive pane history NAME --format json` (the seed's shape, newest entry first).
pub fn history(s: &PerthSession, dir: &Path, pane: &str) -> Value {
    let out = zdrive_output(s, dir, &["pane", "history", pane, "--format", "json"]);
    assert!(
        out.status.success(),
        "zdrive pane history {pane}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("zdrive's history as JSON")
}

/// Returns the events `host-bridge events --json` shows from the tools' outboxes, oldest first.
pub fn outbox_events(env: &IsolatedEnv) -> anyhow::Result<Vec<Value>> {
    let out = env
        .command(crate::workspace_bin("host-bridge")?)
        .args(["events", "--json", "--last", "100"])
        .stdin(Stdio::null())
        .output()
        .context("running host-bridge events")?;
    if !out.status.success() {
        bail!(
            "host-bridge events exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).with_context(|| format!("not JSON: {line}")))
        .collect()
}

/// A consumer of the Bloodbank exchange: `host-bridge events --follow --json` on the broker,
/// which binds a queue of its own for every routing key and prints each CloudEvent received.
pub struct BrokerConsumer {
    child: Child,
    lines: Mutex<mpsc::Receiver<String>>,
    /// Every event received so far, in order.
    received: Mutex<Vec<Value>>,
}

impl BrokerConsumer {
    /// Starts the consumer in `env` and waits until its queue is bound to the exchange, so
    /// nothing published from then on can miss it.
    pub fn start(env: &IsolatedEnv, rabbitmq: &RabbitMq) -> anyhow::Result<Self> {
        let mut child = env
            .command(crate::workspace_bin("host-bridge")?)
            .args(["events", "--follow", "--json", "--last", "0"])
            .args(["--amqp-url", &rabbitmq.url()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting host-bridge events --follow")?;
        let stdout = child.stdout.take().context("the consumer's stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let consumer = Self {
            child,
            lines: Mutex::new(rx),
            received: Mutex::new(Vec::new()),
        };
        wait_for_with_last(
            "the consumer's queue bound to bloodbank.workspace",
            Duration::from_secs(30),
            || {
                let bindings = rabbitmq
                    .rabbitmqctl(&["-q", "list_bindings", "source_name", "routing_key"])
                    .map_err(|e| format!("{e:#}"))?;
                let bound = bindings.lines().any(|l| {
                    let mut cols = l.split_whitespace();
                    cols.next() == Some(BLOODBANK_EXCHANGE) && cols.next() == Some("#")
                });
                if bound {
                    Ok(())
                } else {
                    Err(bindings)
                }
            },
        )?;
        Ok(consumer)
    }

    /// Waits until an event accepted by `pred` has come through the broker and returns it.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + scaled(timeout);
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let mut received = self.received.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(event) = received.iter().find(|e| pred(e)) {
                return event.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => received.push(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("the consumer printed {line:?}: {e}")),
                ),
                Err(_) => panic!(
                    "timed out after {:?} waiting for {what} from the broker; received:\n{}",
                    scaled(timeout),
                    received
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            }
        }
    }
}

impl Drop for BrokerConsumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Bloodbank exchange (DESIGN.md D6).
const BLOODBANK_EXCHANGE: &str = "bloodbank.workspace";

/// Returns whether `event` is the CloudEvent `kind` about `subject`.
pub fn is_event(event: &Value, kind: &str, subject: &str) -> bool {
    event["type"] == kind && event["subject"] == subject
}
