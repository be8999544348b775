//! The `host-bridge` binary: parses the command line, resolves paths from the environment, maps errors to exit codes.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use host_bridge::control::{self, StopOutcome};
use host_bridge::exit_code;
use host_bridge::runtime::RuntimeDir;
use host_bridge::server::{self, Limits, OutboxOptions, Relay, ServeOptions, ServeOutcome};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const AFTER_HELP: &str = "\
Files: $XDG_RUNTIME_DIR/perth (or $XDG_CONFIG_HOME/perth, ~/.config/perth) holds host-bridge.lock,
host-bridge.json (pid, port, url, token; mode 0600) and host-bridge.log (daemonized serve only).
Logs: filtered by HOST_BRIDGE_LOG (default: info), written to stderr.
Exit codes: 0 ok, 1 user error, 2 usage, 3 unavailable (e.g. no daemon running), 70 internal error.

Examples:
  host-bridge status --json
  host-bridge serve --foreground          (HOST_BRIDGE_LOG=debug for more)
  host-bridge push workspace.test '{\"n\":1}'
  host-bridge events --follow
  host-bridge stop";

/// The native sidecar of perth: a loopback RPC daemon for plugins.
#[derive(Debug, Parser)]
#[command(name = "host-bridge", version = store::PRODUCT_VERSION, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Runs the daemon (one per user); if one already runs, says where and exits 0.
    #[command(
        after_help = "Examples:\n  host-bridge serve                   (in the background; perth does this)\n  host-bridge serve --foreground --port 7777\n  host-bridge serve --foreground --database-url postgres://perth:perth@localhost/perth --amqp-url amqp://guest:guest@localhost:5672/%2f"
    )]
    Serve(ServeArgs),
    /// Shows whether the daemon runs, its pid, url, uptime and protocol version; exits 3 if it does not run.
    Status {
        /// Prints `{success, data, error}` JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Pushes an event to the plugins of every running session (a `host-bridge::event` pipe
    /// message), e.g. `host-bridge push workspace.test '{"n":1}'`.
    Push {
        /// The topic, a Bloodbank routing key such as `workspace.worktree.created`.
        topic: String,
        /// The event's data as JSON (default: null).
        data: Option<String>,
    },
    /// Prints the workspace's events (iMi, zdrive, perth): the newest stored ones, then with
    /// --follow the live stream, from the broker (BLOODBANK_AMQP_URL) or, without one, from the
    /// tools' outboxes. `perth events` runs this.
    #[command(
        after_help = "Examples:\n  host-bridge events --last 50\n  host-bridge events --follow\n  host-bridge events --follow --json | jq .type"
    )]
    Events {
        /// Keep printing events as they happen, until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// One CloudEvent JSON per line (with `perthorigin`: where it was read).
        #[arg(long)]
        json: bool,
        /// How many of the newest stored events to print first.
        #[arg(long, default_value_t = 20)]
        last: u32,
        /// The Bloodbank broker to follow (`amqp://USER:PASSWORD@HOST:PORT/VHOST`, or
        /// `amqps://...` for TLS).
        #[arg(long, env = "BLOODBANK_AMQP_URL")]
        amqp_url: Option<String>,
        /// The CA file (PEM) of an `amqps://` broker's certificate, trusted instead of the
        /// system's trust store (the same as `?cacertfile=PATH` in the URL; a client
        /// certificate is `?certfile=PATH&keyfile=PATH`).
        #[arg(long, env = "BLOODBANK_AMQP_CA_FILE")]
        amqp_ca_file: Option<PathBuf>,
        /// perth's database (PostgreSQL URL or SQLite path), read besides zdrive's and iMi's.
        #[arg(long, env = "PERTH_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Stops the running daemon (SIGTERM) and waits until it is gone.
    Stop {
        /// How many seconds to wait for it to finish its requests and exit.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The port on 127.0.0.1 to listen on; by default a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Stays attached to the terminal; without it, serve starts the daemon in the background,
    /// logging to host-bridge.log, and returns once it listens.
    #[arg(long)]
    foreground: bool,
    /// The largest request body accepted, in bytes (413 above).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// How long one request may run, in milliseconds (504 after).
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// How long a request that waits on an LLM (a zdrive snapshot) may run, in milliseconds.
    #[arg(long, default_value_t = host_bridge::protocol::LLM_REQUEST_TIMEOUT_MS)]
    llm_request_timeout_ms: u64,
    /// How many requests run at once; more wait in line.
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
    /// How long a request waits in line, in milliseconds (503 after).
    #[arg(long, default_value_t = 10_000)]
    queue_timeout_ms: u64,
    /// The database whose event outbox this daemon publishes (PostgreSQL URL or SQLite path);
    /// without it, the command lines publish their own events.
    #[arg(long, env = "PERTH_DATABASE_URL")]
    database_url: Option<String>,
    /// The Bloodbank broker (`amqp://USER:PASSWORD@HOST:PORT/VHOST`, or `amqps://...` for
    /// TLS); without it, events are dropped from the outbox unpublished.
    #[arg(long, env = "BLOODBANK_AMQP_URL")]
    amqp_url: Option<String>,
    /// The CA file (PEM) of an `amqps://` broker's certificate, trusted instead of the system's
    /// trust store (the same as `?cacertfile=PATH` in the URL; a client certificate is
    /// `?certfile=PATH&keyfile=PATH`).
    #[arg(long, env = "BLOODBANK_AMQP_CA_FILE")]
    amqp_ca_file: Option<PathBuf>,
    /// How long shutdown waits for in-flight requests, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    drain_timeout_ms: u64,
}

fn main() -> ExitCode {
    // `cargo xtask dist`: man pages and completions from this command line.
    cli_docs::write_if_asked(<Cli as clap::CommandFactory>::command);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::OK
            };
            return exit(code);
        }
    };
    init_logging();
    match session_ipc::call::deadline_from(
        std::env::var(session_ipc::call::DEADLINE_ENV)
            .ok()
            .as_deref(),
    ) {
        Ok(deadline) => host_bridge::worktrees::set_call_deadline(deadline),
        Err(e) => {
            eprintln!("host-bridge: {e}");
            return exit(exit_code::USAGE);
        }
    }
    let dir = match runtime_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("host-bridge: {e:#}");
            return exit(exit_code::USER_ERROR);
        }
    };
    exit(match cli.command {
        CliCommand::Serve(args) => serve(&dir, &args),
        CliCommand::Status { json } => status(&dir, json),
        CliCommand::Stop { timeout_secs } => stop(&dir, Duration::from_secs(timeout_secs)),
        CliCommand::Push { topic, data } => push(&dir, topic, data.as_deref()),
        CliCommand::Events {
            follow,
            json,
            last,
            amqp_url,
            amqp_ca_file,
            database_url,
        } => events(
            follow,
            json,
            last,
            amqp_url.map(|u| bloodbank::with_ca_file(&u, amqp_ca_file.as_deref())),
            database_url,
        ),
    })
}

/// How iMi's outbox is labelled.
const IMI_LABEL: &str = "iMi";
/// How perth's outbox is labelled.
const PERTH_LABEL: &str = "perth";

/// The outboxes of the tools, as each resolves its own from the environment: perth's
/// database (when one is named), zdrive's and iMi's.
fn event_sources(database_url: Option<String>) -> Vec<host_bridge::events::OutboxSource> {
    use host_bridge::events::OutboxSource;
    let mut sources = Vec::new();
    if let Some(url) = database_url {
        sources.push(OutboxSource {
            label: PERTH_LABEL.into(),
            location: url,
        });
    }
    match zdrive::setup::Setup::resolve(&|k| std::env::var(k).ok()) {
        Ok(setup) => sources.push(OutboxSource {
            label: "zdrive".into(),
            location: setup.database_path.display().to_string(),
        }),
        Err(e) => eprintln!("host-bridge: skipping zdrive's outbox: {e:#}"),
    }
    match imi::cli::Settings::resolve(None) {
        Ok(settings) => sources.push(OutboxSource {
            label: IMI_LABEL.into(),
            location: settings.database_url,
        }),
        Err(e) => eprintln!("host-bridge: skipping iMi's outbox: {e:#}"),
    }
    // Two tools may share one database: read it once.
    let mut seen = std::collections::HashSet::new();
    sources.retain(|s| seen.insert(s.location.clone()));
    sources
}

fn events(
    follow: bool,
    json: bool,
    last: u32,
    amqp_url: Option<String>,
    database_url: Option<String>,
) -> i32 {
    let options = host_bridge::events::EventsOptions {
        follow,
        json,
        last,
        amqp_url,
        poll: Duration::from_millis(250),
    };
    let sources = event_sources(database_url);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("host-bridge: cannot start the async runtime: {e}");
            return exit_code::INTERNAL;
        }
    };
    let mut out = std::io::stdout().lock();
    match runtime.block_on(host_bridge::events::run(&sources, &options, &mut out)) {
        Ok(()) => exit_code::OK,
        Err(e) => {
            eprintln!("host-bridge: {e:#}");
            exit_code::UNAVAILABLE
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HOST_BRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Resolves the runtime folder: `$XDG_RUNTIME_DIR/perth`, else `$XDG_CONFIG_HOME/perth`, else `~/.config/perth`.
fn runtime_dir() -> anyhow::Result<RuntimeDir> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    RuntimeDir::resolve(
        non_empty("XDG_RUNTIME_DIR"),
        non_empty("XDG_CONFIG_HOME"),
        non_empty("HOME"),
    )
    .ok_or_else(|| {
        anyhow::anyhow!(
            "cannot find a runtime folder: none of XDG_RUNTIME_DIR, XDG_CONFIG_HOME and HOME is set"
        )
    })
}

fn serve(dir: &RuntimeDir, args: &ServeArgs) -> i32 {
    if !args.foreground {
        return match spawn_background(dir) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("host-bridge: {e:#}");
                exit_code::INTERNAL
            }
        };
    }
    // Where Zellij (and perth) sessions keep their sockets, for pushed events.
    let session_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let options = ServeOptions {
        port: args.port,
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            request_timeout: Duration::from_millis(args.request_timeout_ms),
            llm_request_timeout: Duration::from_millis(args.llm_request_timeout_ms),
            max_in_flight: args.max_in_flight,
            queue_timeout: Duration::from_millis(args.queue_timeout_ms),
            drain_timeout: Duration::from_millis(args.drain_timeout_ms),
        },
        session_dir: Some(session_dir.clone()),
        outboxes: event_sources(args.database_url.clone())
            .into_iter()
            .map(|source| OutboxOptions {
                // iMi's worktree events also reach the plugins (the tab bar, the iMi pane)
                // when they come from the command line rather than through this daemon.
                relay: (source.label == IMI_LABEL).then(|| Relay {
                    topic_prefix: "workspace.worktree.".into(),
                    session_dir: session_dir.clone(),
                }),
                // perth's agent transitions go into zdrive's intent logs when it asks.
                agent_log: source.label == PERTH_LABEL,
                label: source.label.to_string(),
                database_url: source.location,
                amqp_url: args
                    .amqp_url
                    .as_deref()
                    .map(|u| bloodbank::with_ca_file(u, args.amqp_ca_file.as_deref())),
            })
            .collect(),
    };
    match server::serve(dir, &options, |_| {}) {
        Ok(ServeOutcome::Stopped) => exit_code::OK,
        Ok(ServeOutcome::AlreadyRunning(info)) => {
            println!("{}", already_running(info.as_ref()));
            exit_code::OK
        }
        Err(e) => {
            let code = e.exit_code();
            eprintln!("host-bridge: {:#}", anyhow::Error::from(e));
            code
        }
    }
}

fn already_running(info: Option<&bridge_protocol::RuntimeInfo>) -> String {
    match info {
        Some(info) => format!("host-bridge is already running at {} (pid {})", info.url, info.pid),
        None => "host-bridge is already running (it holds the lock but has not written its runtime file yet)".to_owned(),
    }
}

/// How long a background `serve` waits for the daemon it started to listen.
const START_DEADLINE: Duration = Duration::from_secs(10);

/// Starts `serve --foreground` with the same arguments as a background process of its own
/// process group, logging to host-bridge.log, and returns once it has written its runtime file.
fn spawn_background(dir: &RuntimeDir) -> anyhow::Result<i32> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    if let Some(info) = control::running(dir)? {
        println!("{}", already_running(Some(&info)));
        return Ok(exit_code::OK);
    }
    dir.create()?;
    let log_path = dir.log_path();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .mode(0o600)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening the log file {}", log_path.display()))?;
    let exe = std::env::current_exe().context("finding the host-bridge executable")?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .arg("--foreground")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting host-bridge in the background")?;
    let started = Instant::now();
    loop {
        if let Some(info) = dir.read_info()? {
            if info.pid == child.id() {
                println!(
                    "host-bridge started at {} (pid {}, log {})",
                    info.url,
                    info.pid,
                    log_path.display()
                );
                return Ok(exit_code::OK);
            }
        }
        if let Some(status) = child
            .try_wait()
            .context("watching the background host-bridge")?
        {
            if status.success() {
                // It found another instance that won the race for the lock.
                println!("{}", already_running(dir.read_info()?.as_ref()));
                return Ok(exit_code::OK);
            }
            bail!(
                "the background host-bridge exited with {status}; see {}",
                log_path.display()
            );
        }
        if started.elapsed() > START_DEADLINE {
            bail!(
                "the background host-bridge (pid {}) did not start listening within {} s; see {}",
                child.id(),
                START_DEADLINE.as_secs(),
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn status(dir: &RuntimeDir, json: bool) -> i32 {
    let result = control::status(dir);
    let code = match &result {
        Ok(Some(_)) => exit_code::OK,
        Ok(None) => exit_code::UNAVAILABLE,
        Err(e) => e.exit_code(),
    };
    if json {
        let envelope = match result {
            Ok(Some(status)) => serde_json::json!({
                "success": true,
                "data": { "running": true, "status": status },
                "error": null,
            }),
            Ok(None) => serde_json::json!({
                "success": false,
                "data": { "running": false },
                "error": "host-bridge is not running",
            }),
            Err(e) => serde_json::json!({
                "success": false,
                "data": { "running": false },
                "error": format!("{:#}", anyhow::Error::from(e)),
            }),
        };
        println!("{envelope}");
        return code;
    }
    match result {
        Ok(Some(status)) => {
            println!("host-bridge is running");
            println!("  pid:      {}", status.pid);
            println!("  url:      {}", status.url);
            println!(
                "  uptime:   {}",
                format_uptime(Duration::from_millis(status.uptime_ms))
            );
            println!("  protocol: {}", status.protocol_version);
            println!("  version:  {}", status.server_version);
            for link in &status.outboxes {
                println!(
                    "  outbox {}: {} ({})",
                    link.outbox, link.database, link.database_connection
                );
                match (&link.broker, &link.broker_connection) {
                    (Some(broker), Some(connection)) => {
                        println!("    broker: {broker} ({connection})")
                    }
                    _ => println!("    broker: none (events are dropped)"),
                }
            }
        }
        Ok(None) => println!("host-bridge is not running; start it with `host-bridge serve`"),
        Err(e) => eprintln!("host-bridge: {:#}", anyhow::Error::from(e)),
    }
    code
}

fn format_uptime(uptime: Duration) -> String {
    let secs = uptime.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, (secs % 3600) / 60),
    }
}

fn push(dir: &RuntimeDir, topic: String, data: Option<&str>) -> i32 {
    let data = match data.map(serde_json::from_str::<serde_json::Value>) {
        None => serde_json::Value::Null,
        Some(Ok(value)) => value,
        Some(Err(e)) => {
            eprintln!("host-bridge: the event data is not JSON: {e}; quote it, e.g. '{{\"n\":1}}'");
            return exit_code::USER_ERROR;
        }
    };
    let info = match control::running(dir) {
        Ok(Some(info)) => info,
        Ok(None) => {
            eprintln!("host-bridge is not running; start a perth session (or `host-bridge serve`)");
            return exit_code::UNAVAILABLE;
        }
        Err(e) => {
            let code = e.exit_code();
            eprintln!("host-bridge: {:#}", anyhow::Error::from(e));
            return code;
        }
    };
    match control::call(
        &info,
        bridge_protocol::Request::PushEvent { topic, data },
        Duration::from_secs(10),
    ) {
        Ok(bridge_protocol::Response::Pushed { sessions }) => {
            println!("pushed to {sessions} session(s)");
            exit_code::OK
        }
        Ok(other) => {
            eprintln!("host-bridge: unexpected answer: {other:?}");
            exit_code::INTERNAL
        }
        Err(e) => {
            let code = e.exit_code();
            eprintln!("host-bridge: {:#}", anyhow::Error::from(e));
            code
        }
    }
}

fn stop(dir: &RuntimeDir, deadline: Duration) -> i32 {
    match control::stop(dir, deadline) {
        Ok(StopOutcome::NotRunning) => {
            println!("host-bridge is not running");
            exit_code::OK
        }
        Ok(StopOutcome::Stopped { pid, waited }) => {
            println!(
                "host-bridge (pid {pid}) stopped after {} ms",
                waited.as_millis()
            );
            exit_code::OK
        }
        Err(e) => {
            let code = e.exit_code();
            eprintln!("host-bridge: {:#}", anyhow::Error::from(e));
            code
        }
    }
}
