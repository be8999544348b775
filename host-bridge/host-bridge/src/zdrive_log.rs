//! `zdrive_log` requests: the `zdrive::log` pipe of perth's plugins, carried out with the same
//! engine, configuration and checks as `zdrive pane log` (DESIGN.md D4: host-bridge links the
//! engine libraries the command lines use).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bridge_protocol::{ErrorBody, ErrorKind, Response};
use tokio::sync::OnceCell;
use zdrive::setup::{Access, Setup};
use zdrive::{EngineError, EntryType, LogRequest, Source};

/// How many keyed requests are remembered (each session's clients send one pipe within
/// milliseconds of each other, so a few hundred is plenty).
const REMEMBERED: usize = 512;

type Answer = Result<Response, ErrorBody>;

/// The answers of recent keyed requests, so that repeats log once.
#[derive(Debug, Default)]
pub struct RecentLogs {
    answers: HashMap<String, Arc<OnceCell<Answer>>>,
    order: VecDeque<String>,
}

impl RecentLogs {
    fn cell(&mut self, key: &str) -> Arc<OnceCell<Answer>> {
        if let Some(cell) = self.answers.get(key) {
            return Arc::clone(cell);
        }
        if self.order.len() >= REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
        let cell = Arc::new(OnceCell::new());
        self.answers.insert(key.to_owned(), Arc::clone(&cell));
        self.order.push_back(key.to_owned());
        cell
    }
}

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
pub async fn handle(recent: &Mutex<RecentLogs>, args: LogArgs, key: Option<String>) -> Answer {
    let Some(key) = key else {
        return log_on_its_own_thread(args).await;
    };
    let cell = recent.lock().unwrap_or_else(|e| e.into_inner()).cell(&key);
    let ran = AtomicBool::new(false);
    let answer = cell
        .get_or_init(|| async {
            ran.store(true, Ordering::Relaxed);
            log_on_its_own_thread(args).await
        })
        .await
        .clone();
    match answer {
        Ok(Response::ZdriveLogged {
            pane_name,
            entry,
            total_entries,
            session,
            pane_id,
            ..
        }) => Ok(Response::ZdriveLogged {
            pane_name,
            entry,
            total_entries,
            session,
            pane_id,
            first: ran.load(Ordering::Relaxed),
        }),
        other => other,
    }
}

/// Runs the engine on a blocking thread with its own single-threaded runtime, as the `zdrive`
/// binary does: the engine's futures are not all `Send`, and a slow store must not hold up the
/// daemon's other requests.
async fn log_on_its_own_thread(args: LogArgs) -> Answer {
    let internal = |e: &dyn std::fmt::Display| ErrorBody::new(ErrorKind::Internal, e.to_string());
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| internal(&e))?;
        runtime.block_on(log(args))
    })
    .await
    .unwrap_or_else(|e| Err(internal(&e)))
}

fn bad_request(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorKind::BadRequest, e.to_string())
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
    let setup = Setup::resolve(&|k| std::env::var(k).ok()).map_err(|e| {
        ErrorBody::new(
            ErrorKind::Internal,
            format!("zdrive's configuration: {e:#}"),
        )
        .with_hint("check it with: zdrive config show")
    })?;
    let engine = setup.open_engine(Access::Write).await.map_err(|e| {
        ErrorBody::new(ErrorKind::Unavailable, format!("{e:#}"))
            .with_hint("check the store with: zdrive config show")
    })?;
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
        .map_err(|e| match e {
            EngineError::Input(_) | EngineError::NotTracked { .. } => bad_request(e),
            EngineError::Store(_) => ErrorBody::new(ErrorKind::Unavailable, e.to_string()),
            _ => ErrorBody::new(ErrorKind::Internal, e.to_string()),
        })?;
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
