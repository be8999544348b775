//! Argument parsing, configuration resolution, output (text or the `{success, data, error}`
//! JSON envelope) and exit codes of the `zdrive` binary.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand};
use serde_json::{json, Value};

use zdrive::config::Config;
use zdrive::format::{history_context, history_json, history_text, inert, DEFAULT_CONTEXT_ENTRIES};
use zdrive::migrate::migrate_v1;
use zdrive::model::parse_meta;
use zdrive::mux::{active_tab, Multiplexer};
use zdrive::setup::{Access, Setup};
use zdrive::snapshot::{snapshot, SnapshotOptions, SnapshotOutcome, SnapshotResult};
use zdrive::{LogRequest, Navigation, RedisStore, Zdrive};

use zdrive::error::ErrorClass;

const EXAMPLES: &str = "\
Examples:
  zdrive pane api-server --tab backend --meta issue=42   focus or create the pane 'api-server'
  zdrive pane log api-server \"login bug fixed\" --type milestone --artifacts src/auth.rs
  ZDRIVE_SOURCE=agent zdrive pane log api-server \"trying a new parser\" --type exploration
  zdrive pane history api-server --last 20 --format context --max-bytes 4000
  zdrive config consent --grant && zdrive pane snapshot api-server     LLM summary (see --dry-run)
  zdrive config set llm.provider ollama && zdrive pane snapshot --all
  zdrive pane info api-server --json
  zdrive pane rename api-server api                      history and snapshots follow the name
  zdrive pane tag api issue=42 owner=me --remove draft   metadata, without navigating
  zdrive list --json
  zdrive reconcile
  zdrive config set redis_url redis://127.0.0.1:6379/0
  zdrive config set agents.log_transitions true        agent states (waiting, idle, ...) into the log
  zdrive migrate --dry-run
  zdrive completions bash > ~/.local/share/bash-completion/completions/zdrive

Exit codes: 0 ok, 1 user error, 2 usage, 3 unavailable dependency (Redis, database, session), 4 internal.
Configuration: ~/.config/zellij-driver/config.toml (ZDRIVE_CONFIG overrides the path;
ZDRIVE_REDIS_URL, ZDRIVE_REDIS_CA_FILE, ZDRIVE_REDIS_CERT_FILE, ZDRIVE_REDIS_KEY_FILE,
ZDRIVE_REDIS_KEY_PREFIX and ZDRIVE_STORE override its keys). Without redis_url, panes live in the
embedded store ~/.local/share/zellij-driver/zdrive.db, which also holds the event outbox. On a
Redis shared by several users each sets redis_key_prefix (default perth:) to the prefix their
ACL user may use (ACL SETUSER alice on >PASSWORD ~alice:* +@all: redis_key_prefix alice:).";

/// zdrive: semantic pane names, an intent log per pane, and context for people and LLMs.
#[derive(Debug, Parser)]
#[command(name = "zdrive", version = store::PRODUCT_VERSION, after_help = EXAMPLES)]
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
    #[command(
        args_conflicts_with_subcommands = true,
        subcommand_negates_reqs = true,
        after_help = "Examples:\n  zdrive pane api-server\n  zdrive pane bugfix --tab backend --meta issue=42\n  zdrive pane log api-server \"Implemented OAuth\" --type milestone\n  zdrive pane history api-server --last 20"
    )]
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
    #[command(
        after_help = "Examples:\n  zdrive pane log api-server \"Implemented OAuth\"\n  zdrive pane log bugfix \"Fixed token validation\" --source agent --artifacts src/auth.rs\n  zdrive pane log api-server \"v2 released\" --type milestone\n  zdrive pane log api-server \"- fixed the login bug\"\n  git log -1 --format=%B | zdrive pane log api-server -"
    )]
    Log {
        /// The pane's name.
        name: String,
        /// What happened (at most 4 KB; secrets are redacted before storage). Text that starts
        /// with '-' (a markdown bullet, a pasted key) is taken as it is; '-' alone reads the
        /// summary from standard input.
        #[arg(allow_hyphen_values = true)]
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
    #[command(
        after_help = "Examples:\n  zdrive pane history api-server --last 10\n  zdrive pane history api-server --format json | jq '.entries[0]'\n  zdrive pane history api-server --format context --max-bytes 4000"
    )]
    History {
        /// The pane's name.
        name: String,
        /// Only the newest N entries (with --format context: how many "Recent Activity" shows,
        /// 5 by default).
        #[arg(long)]
        last: Option<usize>,
        /// text (for people), json (the seed's shape) or context (markdown for an LLM prompt).
        #[arg(long, default_value = "text", value_parser = ["text", "json", "context"])]
        format: String,
        /// Cap of the context format in bytes (default: context_max_bytes, 4096).
        #[arg(long)]
        max_bytes: Option<usize>,
    },
    /// Summarise a pane's recent work with an LLM and store it in its history (needs consent:
    /// zdrive config consent --grant). Sends the intent log, the screen's last lines and the
    /// git state of the pane's folder, secrets redacted, cut to llm.context_tokens.
    #[command(
        after_help = "Examples:\n  zdrive config consent --grant\n  zdrive pane snapshot api-server --dry-run\n  zdrive pane snapshot api-server\n  zdrive pane snapshot --all --jobs 2"
    )]
    Snapshot {
        /// The pane's name.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Snapshot every tracked pane, a few at a time.
        #[arg(long)]
        all: bool,
        /// Print exactly what would be sent (endpoint, headers with the key masked, body) and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Ask the provider even when nothing changed since the last snapshot.
        #[arg(long)]
        force: bool,
        /// With --all: how many panes are asked about at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
        jobs: u16,
    },
    /// Show a pane's stored snapshots, newest first (the last 20 are kept).
    #[command(after_help = "Examples:\n  zdrive pane snapshots api-server --last 3")]
    Snapshots {
        /// The pane's name.
        name: String,
        /// Only the newest N.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Show a pane's record.
    #[command(
        after_help = "Examples:\n  zdrive pane info api-server\n  zdrive pane info api-server --json"
    )]
    Info {
        /// The pane's name.
        name: String,
    },
    /// Rename a tracked pane: its record, history and snapshots move to the new name, and its
    /// title in the live session follows when the pane is there.
    #[command(after_help = "Examples:\n  zdrive pane rename api-server api")]
    Rename {
        /// The pane's name.
        old: String,
        /// The new name (letters, digits, '-', '_', '.', '/'); refused when it is tracked.
        new: String,
    },
    /// Set or remove a tracked pane's metadata without navigating to it.
    #[command(
        after_help = "Examples:\n  zdrive pane tag api issue=42 owner=me\n  zdrive pane tag api --remove draft"
    )]
    Tag {
        /// The pane's name.
        name: String,
        /// Metadata to set.
        #[arg(value_name = "KEY=VALUE")]
        pairs: Vec<String>,
        /// A metadata key to remove (repeatable).
        #[arg(long, value_name = "KEY")]
        remove: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigAction {
    /// Show the configuration (secrets masked) and which store is active.
    Show,
    /// Show one key's value (secrets masked), e.g. `zdrive config get agents.log_transitions`.
    Get {
        /// The key, as `config show` names it.
        key: String,
    },
    /// Set a key: redis_url, redis_ca_file, redis_cert_file, redis_key_file, redis_key_prefix
    /// (the prefix of every Redis key, default perth:; on a shared Redis the one your ACL user
    /// may use, such as alice: for ~alice:*), store, database_path, amqp_url, history_cap, context_max_bytes,
    /// llm.* (see `config show`), agents.log_transitions (true: each change of an agent's
    /// state in a tracked pane, such as "agent waiting: <question>", is logged to that pane's
    /// intent log by host-bridge).
    #[command(
        after_help = "Examples:\n  zdrive config set redis_url redis://127.0.0.1:6379/0\n  zdrive config set redis_key_prefix alice:   (a shared Redis: ACL user alice with ~alice:*)\n  zdrive config set llm.provider ollama\n  zdrive config set agents.log_transitions true\n  zdrive config set history_cap ''          (empty: back to the default)"
    )]
    Set {
        /// The key.
        key: String,
        /// The value (empty clears it; may start with '-').
        #[arg(allow_hyphen_values = true)]
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
    let (class, kind) = if error.downcast_ref::<UserError>().is_some() {
        (ErrorClass::User, "bad_input")
    } else {
        zdrive::error::classify(&error)
    };
    Failure {
        code: class.exit_code(),
        kind,
        error,
    }
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

/// Returns the summary `zdrive pane log NAME -` reads: the whole input, without the line
/// ending(s) a shell or `echo` adds at its end.
fn read_summary(mut input: impl std::io::Read) -> Result<String> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .context("reading the summary from standard input (as `-` asks)")?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// Raises a `success` notification on the pane of a milestone; returns whether it was sent.
async fn milestone_notification(setup: &Setup, engine: &Zdrive, name: &str, summary: &str) -> bool {
    match engine.info(name).await {
        Ok(record) => setup.notify_pane(&record, "success", &format!("milestone: {summary}")),
        Err(_) => false,
    }
}

fn record_json(record: &zdrive::PaneRecord) -> Value {
    zdrive::format::pane_info_json(record)
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
            let mut mux = r.connect_mux(None)?;
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
            let mut mux = r.connect_mux(None)?;
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
            let mut mux = r.connect_mux(None)?;
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
            let redis = RedisStore::connect(
                &url,
                &r.config.redis_options()?,
                r.config.redis_key_prefix()?,
            )
            .await?;
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
            let summary = if summary == "-" {
                read_summary(std::io::stdin().lock())?
            } else {
                summary
            };
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
                milestone_notification(r, &engine, &name, &outcome.entry.summary).await
            } else {
                false
            };
            Ok(Output {
                data: json!({ "pane_name": name, "entry": outcome.entry, "total_entries": outcome.total, "notified": notified }),
                text: format!(
                    "logged {} on {} ({})\n",
                    outcome.entry.entry_type.as_str(),
                    inert(&name),
                    zdrive::format::entry_count(outcome.total)
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
            // The context's time range spans every stored entry; `--last` says how many of
            // them its "Recent Activity" shows.
            let context = format == "context";
            let (record, history) = engine
                .history(&name, if context { None } else { last })
                .await?;
            let data = history_json(&name, record.as_ref(), &history);
            let text = match format.as_str() {
                "json" => format!("{}\n", pretty(&data)),
                "context" => history_context(
                    &name,
                    record.as_ref(),
                    &history,
                    engine.snapshots(&name, Some(1)).await?.first(),
                    last.unwrap_or(DEFAULT_CONTEXT_ENTRIES),
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
        PaneAction::Snapshot {
            name: Some(name),
            dry_run,
            force,
            ..
        } => {
            zdrive::model::validate_name("pane name", &name)?;
            let engine = r.open_engine(Access::Write).await?;
            let options = SnapshotOptions { force, dry_run };
            if !dry_run && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                let s = r.llm_settings();
                eprintln!(
                    "zdrive: snapshot of {}: asking {} ({})…",
                    inert(&name),
                    s.kind.as_str(),
                    s.model
                );
            }
            match snapshot(r, &engine, &name, &options, now).await? {
                SnapshotResult::DryRun(dry) => {
                    for note in &dry.notes {
                        eprintln!("zdrive: note: {note}");
                    }
                    let mut text = format!("POST {}\n", dry.endpoint);
                    for (k, v) in &dry.headers {
                        text.push_str(&format!("{k}: {v}\n"));
                    }
                    text.push_str(&format!("\n{}\n", pretty(&dry.body)));
                    Ok(Output {
                        data: serde_json::to_value(&dry)?,
                        text,
                    })
                }
                SnapshotResult::Done(outcome) => Ok(Output {
                    text: snapshot_text(&outcome),
                    data: serde_json::to_value(&outcome)?,
                }),
            }
        }
        PaneAction::Snapshot {
            name: None,
            dry_run,
            force,
            jobs,
            ..
        } => {
            snapshot_all(
                r,
                SnapshotOptions { force, dry_run },
                usize::from(jobs),
                now,
            )
            .await
        }
        PaneAction::Snapshots { name, last } => {
            let engine = r.open_engine(Access::Write).await?;
            engine.info(&name).await?;
            let snapshots = engine.snapshots(&name, last).await?;
            let mut text = String::new();
            if snapshots.is_empty() {
                text = format!(
                    "no snapshots of {} yet; make one with: zdrive pane snapshot {}\n",
                    inert(&name),
                    inert(&name)
                );
            }
            for s in &snapshots {
                text.push_str(&format!(
                    "=== {} · {} {} · {} ms ===\n{}\n\n",
                    zdrive::model::format_time(&s.timestamp),
                    s.provider,
                    inert(&s.model),
                    s.duration_ms,
                    inert_lines(&s.summary)
                ));
            }
            Ok(Output {
                data: json!({ "pane_name": name, "snapshots": snapshots }),
                text,
            })
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
        PaneAction::Rename { old, new } => {
            // Checked before connecting, so bad input never waits on a store.
            zdrive::model::validate_name("pane name", &old)?;
            zdrive::model::validate_name("new pane name", &new)?;
            let engine = r.open_engine(Access::Write).await?;
            let record = engine.rename(&old, &new).await?;
            let retitled = old != new && r.retitle_pane(&record, &new);
            let mut text = format!("renamed {} to {}", inert(&old), inert(&new));
            if retitled {
                text.push_str(&format!(
                    " (its pane {} in session {} is titled so too)",
                    record.pane_id,
                    inert(&record.session)
                ));
            }
            text.push('\n');
            Ok(Output {
                data: json!({ "previous_name": old, "pane": record_json(&record), "retitled": retitled }),
                text,
            })
        }
        PaneAction::Tag {
            name,
            pairs,
            remove,
        } => {
            zdrive::model::validate_name("pane name", &name)?;
            if pairs.is_empty() && remove.is_empty() {
                return Err(UserError(
                    "nothing to tag: give KEY=VALUE pairs or --remove KEY, e.g. zdrive pane tag api issue=42"
                        .into(),
                )
                .into());
            }
            let change = zdrive::MetadataChange {
                set: pairs
                    .iter()
                    .map(|m| parse_meta(m))
                    .collect::<Result<BTreeMap<_, _>, _>>()?,
                remove,
            };
            let engine = r.open_engine(Access::Write).await?;
            let record = engine.tag(&name, &change).await?;
            let mut changes: Vec<String> =
                change.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
            changes.extend(change.remove.iter().map(|k| format!("-{k}")));
            Ok(Output {
                text: format!("tagged {}: {}\n", inert(&name), inert(&changes.join(" "))),
                data: record_json(&record),
            })
        }
    }
}

/// Returns `text` inert line by line (newlines kept).
fn inert_lines(text: &str) -> String {
    text.lines().map(inert).collect::<Vec<_>>().join("\n")
}

fn snapshot_text(outcome: &SnapshotOutcome) -> String {
    let s = &outcome.record;
    let head = if outcome.reused {
        format!(
            "snapshot of {}: nothing changed since {}, the last snapshot stands (--force asks again)",
            inert(&outcome.pane),
            zdrive::model::format_time(&s.timestamp)
        )
    } else {
        format!(
            "snapshot of {} stored ({} {}, {:.1} s, {} bytes sent, {})",
            inert(&outcome.pane),
            s.provider,
            inert(&s.model),
            s.duration_ms as f64 / 1000.0,
            s.context_bytes,
            zdrive::format::entry_count(outcome.total_entries)
        )
    };
    format!("{head}\n\n{}\n", inert_lines(&s.summary))
}

/// `pane snapshot --all`: every tracked pane, `jobs` at a time, a progress line per pane on
/// stderr; fails (after all were tried) when any failed.
async fn snapshot_all(
    r: &Resolved,
    options: SnapshotOptions,
    jobs: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Output> {
    use futures_util::StreamExt as _;
    if !options.dry_run && !Config::load(&r.config_path)?.llm_consent {
        return Err(zdrive::snapshot::SnapshotError::NoConsent.into());
    }
    let engine = r.open_engine(Access::Write).await?;
    let panes = engine.list().await?;
    let total = panes.len();
    if total == 0 {
        return Ok(Output {
            data: json!({ "results": [] }),
            text: "no panes tracked yet; create one with: zdrive pane NAME\n".into(),
        });
    }
    let s = r.llm_settings();
    eprintln!(
        "zdrive: snapshotting {total} pane(s), {jobs} at a time, with {} ({})",
        s.kind.as_str(),
        s.model
    );
    let mut done = 0usize;
    let mut failed = 0usize;
    let mut results = Vec::new();
    let mut text = String::new();
    let engine = &engine;
    let mut stream = futures_util::stream::iter(panes.iter().map(|p| async move {
        (
            p.name.clone(),
            snapshot(r, engine, &p.name, &options, now).await,
        )
    }))
    .buffer_unordered(jobs.max(1));
    while let Some((name, result)) = stream.next().await {
        done += 1;
        let (line, value) = match result {
            Ok(SnapshotResult::Done(o)) => (
                if o.reused {
                    "unchanged, last snapshot stands"
                } else {
                    "stored"
                }
                .to_owned(),
                json!({ "pane_name": name, "ok": true, "reused": o.reused, "snapshot": o.record }),
            ),
            Ok(SnapshotResult::DryRun(d)) => (
                format!("would send {} bytes to {}", d.context_bytes, d.endpoint),
                json!({ "pane_name": name, "ok": true, "dry_run": d }),
            ),
            Err(e) => {
                failed += 1;
                (
                    format!("failed: {e}"),
                    json!({ "pane_name": name, "ok": false, "error": { "kind": e.kind(), "message": e.to_string() } }),
                )
            }
        };
        eprintln!("zdrive: [{done}/{total}] {}: {line}", inert(&name));
        text.push_str(&format!("{}: {line}\n", inert(&name)));
        results.push(value);
    }
    if failed > 0 {
        return Err(UserError(format!(
            "{failed} of {total} snapshot(s) failed:\n{}",
            text.trim_end()
        ))
        .into());
    }
    Ok(Output {
        data: json!({ "results": results }),
        text,
    })
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

/// Where snapshots would go, for `config show`: provider, model, endpoint, key source.
fn llm_json(r: &Resolved) -> Value {
    let s = r.llm_settings();
    let key_source = match s.kind.key_env() {
        None => "not needed".to_owned(),
        Some(var) if r.env_api_keys.iter().any(|(k, _)| *k == var) => format!("from {var}"),
        Some(var) if s.api_key.is_some() => format!("from the file ({var} overrides it)"),
        Some(var) => format!("missing: set {var} or llm.api_key"),
    };
    let note = if s.is_local() {
        Some(format!(
            "{} at {} runs on this machine: pane context stays local (consent is still asked)",
            s.kind.as_str(),
            s.base_url
        ))
    } else if r.config.llm_consent {
        None
    } else {
        Some("no consent yet: nothing is sent until: zdrive config consent --grant".to_owned())
    };
    json!({
        "provider": s.kind.as_str(),
        "model": s.model,
        "endpoint": s.endpoint(),
        "local": s.is_local(),
        "key_source": key_source,
        "consent": r.config.llm_consent,
        "note": note,
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
            // What the URL asks for; `zdrive doctor`-style live checks connect, this does not.
            let transport = url.map(redis_conn::transport_of);
            let data = json!({
                "path": path.display().to_string(),
                "active_store": store,
                "store_location": location,
                "store_encrypted": transport.map(|t| t.encrypted),
                "store_verified": transport.map(|t| t.verified_key()),
                "outbox": r.database_path.display().to_string(),
                "config": r.config.masked(),
                "llm": llm_json(&r),
            });
            let connection = transport.map(|t| format!(", {t}")).unwrap_or_default();
            let mut text = format!(
                "# {}\nactive store: {store} ({location}{connection})\noutbox: {}\n",
                path.display(),
                r.database_path.display()
            );
            text.push_str(&format!(
                "snapshots go to: {} ({}), key {}\n",
                data["llm"]["endpoint"].as_str().unwrap_or_default(),
                data["llm"]["model"].as_str().unwrap_or_default(),
                data["llm"]["key_source"].as_str().unwrap_or_default(),
            ));
            if let Some(note) = data["llm"]["note"].as_str() {
                text.push_str(&format!("note: {note}\n"));
            }
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
        ConfigAction::Get { key } => {
            let value = r.config.get(&key)?;
            let text = match &value {
                Value::Null => "(unset)\n".to_owned(),
                Value::String(s) => format!("{s}\n"),
                other => format!("{other}\n"),
            };
            Ok(Output {
                data: json!({ "key": key, "value": value }),
                text,
            })
        }
        ConfigAction::Set { key, value } => {
            // The file alone, without environment overrides, is what gets written back.
            let mut config = Config::load(&path)?;
            config.set(&key, &value)?;
            config.save(&path)?;
            let shown = if key == "llm.api_key" && !value.is_empty() {
                "***".to_owned()
            } else if key.ends_with("_url") {
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
    // `cargo xtask dist`: man pages and completions from this command line.
    cli_docs::write_if_asked(Cli::command);
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
            let code = if e.use_stderr() {
                cli_docs::exit::USAGE
            } else {
                0
            };
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
            return ErrorClass::Internal.exit_code();
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
