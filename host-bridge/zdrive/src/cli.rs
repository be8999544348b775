//! Argument parsing, configuration resolution, output (text or the `{success, data, error}`
//! JSON envelope) and exit codes of the `zdrive` binary.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use clap::{CommandFactory as _, Parser, Subcommand};
use serde_json::{json, Value};

use zdrive::config::{Config, ConfigError};
use zdrive::format::{history_context, history_json, history_text, inert};
use zdrive::migrate::migrate_v1;
use zdrive::model::parse_meta;
use zdrive::mux::{active_tab, CliMux, IpcMux, Multiplexer, MuxError};
use zdrive::setup::{Access, Setup, SetupError};
use zdrive::{EngineError, InputError, LogRequest, Navigation, RedisStore, StoreError, Zdrive};

const EXIT_USER: i32 = 1;
const EXIT_USAGE: i32 = 2;
const EXIT_UNAVAILABLE: i32 = 3;
const EXIT_INTERNAL: i32 = 4;

const EXAMPLES: &str = "\
Examples:
  zdrive pane api-server --tab backend --meta issue=42   focus or create the pane 'api-server'
  zdrive pane log api-server \"login bug fixed\" --type milestone --artifacts src/auth.rs
  ZDRIVE_SOURCE=agent zdrive pane log api-server \"trying a new parser\" --type exploration
  zdrive pane history api-server --last 20 --format context --max-bytes 4000
  zdrive pane info api-server --json
  zdrive list --json
  zdrive reconcile
  zdrive config set redis_url redis://127.0.0.1:6379/0
  zdrive migrate --dry-run
  zdrive completions bash > ~/.local/share/bash-completion/completions/zdrive

Exit codes: 0 ok, 1 user error, 2 usage, 3 unavailable dependency (Redis, database, session), 4 internal.
Configuration: ~/.config/zellij-driver/config.toml (ZDRIVE_CONFIG overrides the path;
ZDRIVE_REDIS_URL and ZDRIVE_STORE override its keys). Without redis_url, panes live in the
embedded store ~/.local/share/zellij-driver/zdrive.db, which also holds the event outbox.";

/// zdrive: semantic pane names, an intent log per pane, and context for people and LLMs.
#[derive(Debug, Parser)]
#[command(name = "zdrive", version, after_help = EXAMPLES)]
struct Cli {
    /// Print the `{success, data, error}` JSON envelope instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Focus the pane tracked under NAME, creating it if needed; or log, history, info.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Pane {
        #[command(subcommand)]
        action: Option<PaneAction>,
        /// The pane's name (letters, digits, '-', '_', '.', '/').
        #[arg(required = true)]
        name: Option<String>,
        /// The tab to create the pane in (created if missing); default: the active tab.
        #[arg(long)]
        tab: Option<String>,
        /// Metadata to record, KEY=VALUE (repeatable).
        #[arg(long = "meta", value_name = "KEY=VALUE")]
        meta: Vec<String>,
    },
    /// Create or switch to a tab.
    Tab {
        /// The tab's name.
        name: String,
    },
    /// List tracked panes with their status.
    List,
    /// Compare the store with the live session: mark vanished panes stale, follow moved ones.
    Reconcile,
    /// Show or change the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Move a zdrive v1.0 keyspace (znav:*) into the current one (Redis only; idempotent).
    Migrate {
        /// Report what would move without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum PaneAction {
    /// Append an intent entry to a pane's log.
    Log {
        /// The pane's name.
        name: String,
        /// What happened (at most 4 KB; secrets are redacted before storage).
        summary: String,
        /// checkpoint, milestone or exploration.
        #[arg(long = "type", default_value = "checkpoint")]
        entry_type: String,
        /// human or agent (default: ZDRIVE_SOURCE, else human).
        #[arg(long)]
        source: Option<String>,
        /// Files the entry refers to.
        #[arg(long, num_args = 1..)]
        artifacts: Vec<String>,
    },
    /// Show a pane's intent log.
    History {
        /// The pane's name.
        name: String,
        /// Only the newest N entries.
        #[arg(long)]
        last: Option<usize>,
        /// text (for people), json (the seed's shape) or context (markdown for an LLM prompt).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "context"])]
        format: String,
        /// Cap of the context format in bytes (default: context_max_bytes, 4096).
        #[arg(long)]
        max_bytes: Option<usize>,
    },
    /// Show a pane's record.
    Info {
        /// The pane's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Show the configuration (secrets masked) and which store is active.
    Show,
    /// Set a key: redis_url, store, database_path, amqp_url, history_cap, context_max_bytes.
    Set {
        /// The key.
        key: String,
        /// The value (empty clears it).
        value: String,
    },
    /// Grant or revoke consent to send redacted pane context to an LLM.
    Consent {
        /// Grant consent.
        #[arg(long, conflicts_with = "revoke", required_unless_present = "revoke")]
        grant: bool,
        /// Revoke consent.
        #[arg(long)]
        revoke: bool,
    },
}

/// A failure with its exit code and a short machine-readable kind.
struct Failure {
    code: i32,
    kind: &'static str,
    error: anyhow::Error,
}

fn classify(error: anyhow::Error) -> Failure {
    let (code, kind) = if let Some(e) = error.downcast_ref::<EngineError>() {
        match e {
            EngineError::Input(_) => (EXIT_USER, "bad_input"),
            EngineError::NotTracked { .. } => (EXIT_USER, "not_tracked"),
            EngineError::Store(StoreError::Unavailable(_)) => (EXIT_UNAVAILABLE, "unavailable"),
            EngineError::Store(StoreError::Corrupt { .. }) => (EXIT_INTERNAL, "corrupt"),
            EngineError::ReadOnly => (EXIT_INTERNAL, "internal"),
            EngineError::Store(StoreError::Backend { .. }) | EngineError::Outbox { .. } => {
                (EXIT_UNAVAILABLE, "unavailable")
            }
        }
    } else if let Some(e) = error.downcast_ref::<StoreError>() {
        match e {
            StoreError::Corrupt { .. } => (EXIT_INTERNAL, "corrupt"),
            _ => (EXIT_UNAVAILABLE, "unavailable"),
        }
    } else if error.downcast_ref::<InputError>().is_some() {
        (EXIT_USER, "bad_input")
    } else if let Some(e) = error.downcast_ref::<MuxError>() {
        match e {
            MuxError::NoSession => (EXIT_USER, "no_session"),
            MuxError::Unreachable { .. } => (EXIT_UNAVAILABLE, "unavailable"),
            MuxError::Action { .. } => (EXIT_UNAVAILABLE, "session_error"),
        }
    } else if let Some(e) = error.downcast_ref::<ConfigError>() {
        match e {
            ConfigError::Set(_) | ConfigError::Invalid { .. } => (EXIT_USER, "bad_config"),
            ConfigError::Io { .. } => (EXIT_INTERNAL, "io"),
        }
    } else if error.downcast_ref::<store::OpenError>().is_some() {
        (EXIT_UNAVAILABLE, "unavailable")
    } else if error.downcast_ref::<SetupError>().is_some() {
        (EXIT_USER, "bad_config")
    } else if error.downcast_ref::<UserError>().is_some() {
        (EXIT_USER, "bad_input")
    } else {
        (EXIT_INTERNAL, "internal")
    };
    Failure { code, kind, error }
}

/// A user error raised by the binary itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UserError(String);

/// What a command produced: JSON data and the text people see.
struct Output {
    data: Value,
    text: String,
}

/// Everything the binary resolved from the environment.
type Resolved = Setup;

fn resolve() -> Result<Resolved> {
    Setup::resolve(&|k| std::env::var(k).ok())
}

/// Raises a `success` notification on the pane of a milestone; returns whether it was sent.
async fn milestone_notification(engine: &Zdrive, name: &str, summary: &str) -> bool {
    let Ok(record) = engine.info(name).await else {
        return false;
    };
    if record.stale || record.pane_id.is_empty() {
        return false;
    }
    let socket = zellij_utils::consts::ZELLIJ_SOCK_DIR.join(&record.session);
    if !socket.exists() {
        return false;
    }
    match connect_mux(Some(&record.session)) {
        Ok(mut mux) => mux
            .notify(&record.pane_id, "success", &format!("milestone: {summary}"))
            .is_ok(),
        Err(_) => false,
    }
}

fn connect_mux(session: Option<&str>) -> Result<Box<dyn Multiplexer>> {
    let session = session.ok_or(MuxError::NoSession)?;
    let socket = zellij_utils::consts::ZELLIJ_SOCK_DIR.join(session);
    // ZDRIVE_MUX=cli forces the `zellij action` path (for debugging, and to test it).
    let force_cli = std::env::var("ZDRIVE_MUX").as_deref() == Ok("cli");
    if socket.exists() && !force_cli {
        return Ok(Box::new(IpcMux::connect(session, socket)?));
    }
    let zellij =
        std::env::var_os("ZDRIVE_ZELLIJ").map_or_else(|| PathBuf::from("zellij"), PathBuf::from);
    Ok(Box::new(CliMux::new(session, zellij)?))
}

fn record_json(record: &zdrive::PaneRecord) -> Value {
    json!({
        "pane_name": record.name,
        "status": if record.stale { "stale" } else { "active" },
        "session": record.session,
        "tab": record.tab,
        "pane_id": record.pane_id,
        "created_at": record.created_at.as_ref().map(zdrive::model::format_time),
        "last_seen": record.last_seen.as_ref().map(zdrive::model::format_time),
        "last_accessed": record.last_accessed.as_ref().map(zdrive::model::format_time),
        "metadata": record.metadata,
    })
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

async fn run(cli: Cli) -> Result<Output> {
    let r = resolve()?;
    let now = chrono::Utc::now();
    match cli.command {
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "zdrive", &mut buf);
            let text = String::from_utf8_lossy(&buf).into_owned();
            Ok(Output {
                data: json!({ "shell": shell.to_string(), "script": text }),
                text,
            })
        }
        Command::Config { action } => config_command(r, action),
        Command::Pane {
            action: Some(action),
            ..
        } => pane_action(&r, action, now).await,
        Command::Pane {
            action: None,
            name,
            tab,
            meta,
        } => {
            let name =
                name.ok_or_else(|| UserError("give a pane name: zdrive pane NAME".into()))?;
            zdrive::model::validate_name("pane name", &name)?;
            if let Some(tab) = &tab {
                zdrive::model::validate_name("tab name", tab)?;
            }
            let metadata = meta
                .iter()
                .map(|m| parse_meta(m))
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            let mut mux = connect_mux(r.session.as_deref())?;
            let engine = r.open_engine(Access::Write).await?;
            let nav = navigate(mux.as_mut(), &engine, &name, tab.as_deref()).await?;
            let record = engine
                .record_navigation(&name, &nav, &metadata, now)
                .await?;
            let verb = if nav.created { "created" } else { "focused" };
            Ok(Output {
                data: json!({ "action": verb, "pane": record_json(&record) }),
                text: format!(
                    "{verb} {} ({}, tab {})\n",
                    inert(&name),
                    nav.pane_id,
                    inert(&nav.tab)
                ),
            })
        }
        Command::Tab { name } => {
            zdrive::model::validate_name("tab name", &name)?;
            let mut mux = connect_mux(r.session.as_deref())?;
            let engine = r.open_engine(Access::Write).await?;
            let existed = mux.list_tabs()?.iter().any(|t| t.name == name);
            mux.go_to_tab(&name, true)?;
            engine.record_tab(&name).await?;
            let verb = if existed { "switched to" } else { "created" };
            Ok(Output {
                data: json!({ "tab": name, "created": !existed }),
                text: format!("{verb} tab {}\n", inert(&name)),
            })
        }
        Command::List => {
            let engine = r.open_engine(Access::Read).await?;
            let panes = engine.list().await?;
            let mut text = String::new();
            if panes.is_empty() {
                text.push_str("no panes tracked yet; create one with: zdrive pane NAME\n");
            }
            for p in &panes {
                text.push_str(&format!(
                    "{:<24} {:<6} {:<16} {:<12} {}\n",
                    inert(&p.name),
                    if p.stale { "stale" } else { "active" },
                    inert(&p.session),
                    inert(&p.tab),
                    p.pane_id
                ));
            }
            Ok(Output {
                data: Value::Array(panes.iter().map(record_json).collect()),
                text,
            })
        }
        Command::Reconcile => {
            let mut mux = connect_mux(r.session.as_deref())?;
            let engine = r.open_engine(Access::Write).await?;
            let live = mux.list_panes()?;
            let session = mux.session().to_owned();
            let changes = engine.reconcile(&session, &live, now).await?;
            let mut text = String::new();
            if changes.is_empty() {
                text.push_str("nothing changed\n");
            }
            for c in &changes {
                let line = match c {
                    zdrive::ReconcileChange::MarkedStale { pane } => {
                        format!("{pane}: gone from the session, marked stale")
                    }
                    zdrive::ReconcileChange::Revived { pane } => {
                        format!("{pane}: back in the session")
                    }
                    zdrive::ReconcileChange::Relinked { pane, from, to } => {
                        format!("{pane}: pane id {from} -> {to}")
                    }
                    zdrive::ReconcileChange::Moved { pane, from, to } => {
                        format!("{pane}: moved from tab {from} to {to}")
                    }
                    zdrive::ReconcileChange::Renamed { pane, title } => {
                        format!("{pane}: renamed in the session to {title}")
                    }
                };
                text.push_str(&inert(&line));
                text.push('\n');
            }
            Ok(Output {
                data: json!({ "session": session, "changes": changes }),
                text,
            })
        }
        Command::Migrate { dry_run } => {
            let url = match r.active_store()? {
                ("redis", Some(url)) => url.to_owned(),
                _ => return Err(UserError("migrate moves a Redis keyspace (znav:*); set redis_url first: zdrive config set redis_url redis://HOST:6379/0".into()).into()),
            };
            let redis = RedisStore::connect(&url, &Default::default()).await?;
            let report = migrate_v1(&redis, r.config.history_cap(), dry_run).await?;
            let mut text = format!(
                "{}{} pane(s), {} entr(ies), {} tab(s)\n",
                if dry_run { "would move " } else { "moved " },
                report.panes.len(),
                report.entries,
                report.tabs
            );
            for (name, why) in &report.skipped {
                text.push_str(&format!("skipped {}: {}\n", inert(name), why));
            }
            Ok(Output {
                data: serde_json::to_value(&report)?,
                text,
            })
        }
    }
}

async fn pane_action(
    r: &Resolved,
    action: PaneAction,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Output> {
    match action {
        PaneAction::Log {
            name,
            summary,
            entry_type,
            source,
            artifacts,
        } => {
            let entry_type = entry_type.parse()?;
            let source = match source.or_else(|| r.source.clone()) {
                Some(s) => s.parse()?,
                None => zdrive::Source::Human,
            };
            // Checked before connecting, so bad input never waits on a store.
            zdrive::model::validate_name("pane name", &name)?;
            zdrive::model::validate_summary(&summary)?;
            let engine = r.open_engine(Access::Write).await?;
            let outcome = engine
                .log(
                    &name,
                    LogRequest {
                        summary,
                        entry_type,
                        source,
                        artifacts,
                    },
                    now,
                )
                .await?;
            // A milestone lights the pane up in perth (success); best effort: the log is what
            // counts, and a pane outside a running session has nothing to light.
            let notified = if outcome.entry.entry_type == zdrive::model::EntryType::Milestone {
                milestone_notification(&engine, &name, &outcome.entry.summary).await
            } else {
                false
            };
            Ok(Output {
                data: json!({ "pane_name": name, "entry": outcome.entry, "total_entries": outcome.total, "notified": notified }),
                text: format!(
                    "logged {} on {} ({} entries)\n",
                    outcome.entry.entry_type.as_str(),
                    inert(&name),
                    outcome.total
                ),
            })
        }
        PaneAction::History {
            name,
            last,
            format,
            max_bytes,
        } => {
            let engine = r.open_engine(Access::Write).await?;
            let (record, history) = engine.history(&name, last).await?;
            let data = history_json(&name, record.as_ref(), &history);
            let text = match format.as_str() {
                "json" => format!("{}\n", pretty(&data)),
                "context" => history_context(
                    &name,
                    record.as_ref(),
                    &history,
                    max_bytes.unwrap_or(r.config.context_max_bytes()),
                ),
                _ => history_text(&name, record.as_ref(), &history),
            };
            let data = if format == "context" {
                json!({ "pane_name": name, "context": text })
            } else {
                data
            };
            Ok(Output { data, text })
        }
        PaneAction::Info { name } => {
            let engine = r.open_engine(Access::Read).await?;
            let record = engine.info(&name).await?;
            let data = record_json(&record);
            Ok(Output {
                text: format!("{}\n", pretty(&data)),
                data,
            })
        }
    }
}

async fn navigate(
    mux: &mut dyn Multiplexer,
    engine: &Zdrive,
    name: &str,
    tab: Option<&str>,
) -> Result<Navigation> {
    let session = mux.session().to_owned();
    let record = engine.store().get_pane(name).await?;
    let live = mux.list_panes()?;
    let known = record
        .as_ref()
        .filter(|r| r.session == session)
        .and_then(|r| live.iter().find(|l| l.pane_id == r.pane_id))
        .or_else(|| live.iter().find(|l| l.title == name));
    if let Some(found) = known {
        mux.go_to_tab(&found.tab, false)?;
        mux.focus_pane(&found.pane_id)?;
        return Ok(Navigation {
            created: false,
            session,
            tab: found.tab.clone(),
            pane_id: found.pane_id.clone(),
        });
    }
    let tab = match tab {
        Some(t) => {
            mux.go_to_tab(t, true)?;
            t.to_owned()
        }
        None => active_tab(mux)?.unwrap_or_default(),
    };
    let pane_id = mux.new_pane(name)?;
    Ok(Navigation {
        created: true,
        session,
        tab,
        pane_id,
    })
}

fn config_command(r: Resolved, action: ConfigAction) -> Result<Output> {
    let path = r.config_path.clone();
    match action {
        ConfigAction::Show => {
            let (store, url) = r.active_store().unwrap_or(("redis", None));
            let location = match url {
                Some(u) => zdrive::config::mask_url(u),
                None => r.database_path.display().to_string(),
            };
            let data = json!({
                "path": path.display().to_string(),
                "active_store": store,
                "store_location": location,
                "outbox": r.database_path.display().to_string(),
                "config": r.config.masked(),
            });
            let mut text = format!(
                "# {}\nactive store: {store} ({location})\noutbox: {}\n",
                path.display(),
                r.database_path.display()
            );
            if let Some(obj) = data["config"].as_object() {
                for (k, v) in obj {
                    text.push_str(&format!(
                        "{k} = {}\n",
                        if v.is_null() {
                            "(unset)".to_owned()
                        } else {
                            v.to_string()
                        }
                    ));
                }
            }
            Ok(Output { data, text })
        }
        ConfigAction::Set { key, value } => {
            // The file alone, without environment overrides, is what gets written back.
            let mut config = Config::load(&path)?;
            config.set(&key, &value)?;
            config.save(&path)?;
            let shown = if key.ends_with("_url") {
                zdrive::config::mask_url(&value)
            } else {
                value
            };
            Ok(Output {
                data: json!({ "key": key, "value": shown, "path": path.display().to_string() }),
                text: format!("{key} = {shown} (written to {})\n", path.display()),
            })
        }
        ConfigAction::Consent { grant, .. } => {
            let mut config = Config::load(&path)?;
            config.llm_consent = grant;
            config.save(&path)?;
            Ok(Output {
                data: json!({ "llm_consent": grant }),
                text: if grant {
                    "consent granted: redacted pane context may be sent to the configured LLM\n"
                        .into()
                } else {
                    "consent revoked: nothing will be sent to an LLM\n".into()
                },
            })
        }
    }
}

/// Parses arguments, runs the command, prints the result and returns the exit code.
pub fn main() -> i32 {
    // Parsing a filter compiles regexes (milliseconds per call), so only when one is asked for.
    match std::env::var("ZDRIVE_LOG") {
        Ok(filter) if !filter.is_empty() => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::stderr)
                .try_init();
        }
        _ => {
            let _ = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::WARN)
                .with_writer(std::io::stderr)
                .try_init();
        }
    }
    let wants_json = std::env::args().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            if wants_json && code != 0 {
                print_envelope(
                    &json!({ "success": false, "data": null, "error": { "kind": "usage", "message": e.to_string().trim(), "exit_code": code } }),
                );
            } else {
                let _ = e.print();
            }
            return code;
        }
    };
    let json_out = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zdrive: cannot start the async runtime: {e}");
            return EXIT_INTERNAL;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(output) => {
            if json_out {
                print_envelope(&json!({ "success": true, "data": output.data, "error": null }));
            } else {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(output.text.as_bytes());
            }
            0
        }
        Err(error) => {
            let failure = classify(error);
            let message = format!("{:#}", failure.error);
            if json_out {
                print_envelope(
                    &json!({ "success": false, "data": null, "error": { "kind": failure.kind, "message": message, "exit_code": failure.code } }),
                );
            } else {
                eprintln!("zdrive: {message}");
            }
            failure.code
        }
    }
}

fn print_envelope(v: &Value) {
    println!("{}", serde_json::to_string(v).unwrap_or_default());
}
