//! Argument parsing, configuration resolution, output (text or the `{success, data, error}`
//! JSON envelope) and exit codes of the `zdrive` binary.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser};
use serde_json::{json, Value};

use zdrive::format::inert;
use zdrive::migrate::migrate_v1;
use zdrive::model::parse_meta;
use zdrive::setup::{Access, Setup};
use zdrive::{RedisStore, Zdrive};

use zdrive::error::ErrorClass;

mod args;
mod config_command;
mod pane;

use args::*;
use config_command::config_command;
use pane::{navigate, pane_action};

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
