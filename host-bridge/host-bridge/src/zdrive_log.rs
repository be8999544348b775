//! `zdrive_log` requests: the `zdrive::log` pipe of perth's plugins, carried out with the same
//! engine, configuration and checks as `zdrive pane log` (DESIGN.md D4: host-bridge links the
//! engine libraries the command lines use).

use std::rc::Rc;
use std::sync::Mutex;

use bridge_protocol::{ErrorBody, ErrorKind, Response};
use zdrive::setup::Access;
use zdrive::{EngineError, EntryType, LogRequest, Source};

use crate::keyed::{self, Answer, RecentAnswers};
use crate::zdrive_engine::EngineThread;

/// What a `zdrive_log` request asks for.
#[derive(Debug, Clone)]
pub struct LogArgs {
    pub pane: String,
    pub summary: String,
    pub entry_type: Option<String>,
    pub source: Option<String>,
    pub artifacts: Vec<String>,
}

/// Logs the entry, once per key, with the engine `engines` keeps.
pub async fn handle(
    recent: &Mutex<RecentAnswers>,
    engines: &EngineThread,
    args: LogArgs,
    key: Option<String>,
) -> Answer {
    let key = key.map(|k| format!("zdrive_log:{k}"));
    // Checked before any store is opened, so bad input never waits on one.
    let checked = match check(args) {
        Ok(checked) => checked,
        Err(e) => return Err(e),
    };
    let engines = engines.clone();
    let work = move || engines.run_blocking(Access::Write, move |engine, _| log(engine, checked));
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

/// A `zdrive_log` request whose arguments passed zdrive's checks.
struct CheckedLog {
    pane: String,
    request: LogRequest,
}

fn check(args: LogArgs) -> Result<CheckedLog, ErrorBody> {
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
    zdrive::model::validate_name("pane name", &args.pane).map_err(bad_request)?;
    zdrive::model::validate_summary(&args.summary).map_err(bad_request)?;
    Ok(CheckedLog {
        pane: args.pane,
        request: LogRequest {
            summary: args.summary,
            entry_type,
            source,
            artifacts: args.artifacts,
        },
    })
}

async fn log(engine: Rc<zdrive::Zdrive>, checked: CheckedLog) -> Answer {
    let CheckedLog { pane, request } = checked;
    let outcome = engine
        .log(&pane, request, chrono::Utc::now())
        .await
        .map_err(engine_error)?;
    let record = engine
        .info(&pane)
        .await
        .ok()
        .filter(|r| !r.stale && !r.pane_id.is_empty());
    Ok(Response::ZdriveLogged {
        pane_name: pane,
        entry: serde_json::to_value(&outcome.entry)
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?,
        total_entries: outcome.total,
        session: record.as_ref().map(|r| r.session.clone()),
        pane_id: record.map(|r| r.pane_id),
        first: true,
    })
}
