//! `zdrive_log` requests: the `zdrive::log` pipe of perth's plugins, carried out with the same
//! engine, configuration and checks as `zdrive pane log` (DESIGN.md D4: host-bridge links the
//! engine libraries the command lines use).

use std::sync::Mutex;

use bridge_protocol::{ErrorBody, ErrorKind, Response};
use zdrive::setup::{Access, Setup};
use zdrive::{EngineError, EntryType, LogRequest, Source};

use crate::keyed::{self, Answer, RecentAnswers};

/// What a `zdrive_log` request asks for.
#[derive(Debug, Clone)]
pub struct LogArgs {
    pub pane: String,
    pub summary: String,
    pub entry_type: Option<String>,
    pub source: Option<String>,
    pub artifacts: Vec<String>,
}

/// Logs the entry, once per key.
pub async fn handle(recent: &Mutex<RecentAnswers>, args: LogArgs, key: Option<String>) -> Answer {
    let key = key.map(|k| format!("zdrive_log:{k}"));
    let work = keyed::on_engine_thread(move || log(args));
    match keyed::run_once(recent, key.as_deref(), work).await {
        (
            Ok(Response::ZdriveLogged {
                pane_name,
                entry,
                total_entries,
                session,
                pane_id,
                ..
            }),
            first,
        ) => Ok(Response::ZdriveLogged {
            pane_name,
            entry,
            total_entries,
            session,
            pane_id,
            first,
        }),
        (other, _) => other,
    }
}

/// Returns a `bad_request` error carrying `e`'s message.
pub(crate) fn bad_request(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorKind::BadRequest, e.to_string())
}

/// Classifies an engine failure: the caller's mistake, a store that is down, or ours.
pub(crate) fn engine_error(e: EngineError) -> ErrorBody {
    match e {
        EngineError::Input(_)
        | EngineError::NotTracked { .. }
        | EngineError::NameTaken { .. }
        | EngineError::PaneTracked { .. } => bad_request(e),
        EngineError::Store(_) => ErrorBody::new(ErrorKind::Unavailable, e.to_string()),
        _ => ErrorBody::new(ErrorKind::Internal, e.to_string()),
    }
}

/// Resolves zdrive's setup from the daemon's environment, as the `zdrive` binary does from its own.
pub(crate) fn resolve_setup() -> Result<Setup, ErrorBody> {
    Setup::resolve(&|k| std::env::var(k).ok()).map_err(|e| {
        ErrorBody::new(
            ErrorKind::Internal,
            format!("zdrive's configuration: {e:#}"),
        )
        .with_hint("check it with: zdrive config show")
    })
}

/// Opens zdrive's engine on the configured store.
pub(crate) async fn open_engine(
    setup: &Setup,
    access: Access,
) -> Result<zdrive::Zdrive, ErrorBody> {
    setup.open_engine(access).await.map_err(|e| {
        ErrorBody::new(ErrorKind::Unavailable, format!("{e:#}"))
            .with_hint("check the store with: zdrive config show")
    })
}

async fn log(args: LogArgs) -> Answer {
    let entry_type: EntryType = args
        .entry_type
        .as_deref()
        .unwrap_or("checkpoint")
        .parse()
        .map_err(bad_request)?;
    let source: Source = args
        .source
        .as_deref()
        .unwrap_or("human")
        .parse()
        .map_err(bad_request)?;
    // Checked before any store is opened, so bad input never waits on one.
    zdrive::model::validate_name("pane name", &args.pane).map_err(bad_request)?;
    zdrive::model::validate_summary(&args.summary).map_err(bad_request)?;
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Write).await?;
    let outcome = engine
        .log(
            &args.pane,
            LogRequest {
                summary: args.summary,
                entry_type,
                source,
                artifacts: args.artifacts,
            },
            chrono::Utc::now(),
        )
        .await
        .map_err(engine_error)?;
    let record = engine
        .info(&args.pane)
        .await
        .ok()
        .filter(|r| !r.stale && !r.pane_id.is_empty());
    Ok(Response::ZdriveLogged {
        pane_name: args.pane,
        entry: serde_json::to_value(&outcome.entry)
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?,
        total_entries: outcome.total,
        session: record.as_ref().map(|r| r.session.clone()),
        pane_id: record.map(|r| r.pane_id),
        first: true,
    })
}
