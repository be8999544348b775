//! zdrive's engine, opened once and kept: one thread of its own runs every `zdrive_log`
//! request on a current-thread runtime, with the engine its store was opened for.
//!
//! Opening the engine (zdrive's database with its outbox, or the Redis connection) cost each
//! logged line more than writing it, and agents log many lines. The engine's futures are not
//! all `Send`, so they run on this one thread, each request as a task of its own: a slow store
//! holds up only the requests that wait for it. The engine is opened again when zdrive's
//! setup changes (its configuration file, its environment) or after a store failure.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use bridge_protocol::{ErrorBody, ErrorKind};
use tokio::sync::{mpsc, oneshot};
use zdrive::setup::{Access, Setup};
use zdrive::Zdrive;

use crate::keyed::Answer;

/// A request's work, made on the engine thread from the engine cache.
type Job = Box<dyn FnOnce(Rc<EngineCache>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// The thread that runs zdrive requests with a kept engine.
#[derive(Debug, Clone)]
pub struct EngineThread {
    jobs: mpsc::UnboundedSender<Job>,
}

impl EngineThread {
    /// Starts the thread; it ends when the last handle is dropped.
    pub fn start() -> std::io::Result<EngineThread> {
        let (jobs, mut incoming) = mpsc::unbounded_channel::<Job>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("zdrive-engine".into())
            .spawn(move || {
                let local = tokio::task::LocalSet::new();
                let cache = Rc::new(EngineCache::default());
                local.block_on(&runtime, async move {
                    while let Some(job) = incoming.recv().await {
                        tokio::task::spawn_local(job(Rc::clone(&cache)));
                    }
                });
            })?;
        Ok(EngineThread { jobs })
    }

    /// Runs `work` with the engine of the current setup (opened for `access`) and returns its
    /// answer; blocks the calling thread until then, so call it from blocking work.
    pub fn run_blocking<F, Fut>(&self, access: Access, work: F) -> Answer
    where
        F: FnOnce(Rc<Zdrive>, Setup) -> Fut + Send + 'static,
        Fut: Future<Output = Answer> + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |cache: Rc<EngineCache>| {
            Box::pin(async move {
                let result = match cache.engine(access).await {
                    Ok((engine, setup)) => {
                        let result = work(engine, setup).await;
                        if result
                            .as_ref()
                            .is_err_and(|e| e.kind == ErrorKind::Unavailable)
                        {
                            // The store failed: open it afresh for the next request.
                            cache.forget();
                        }
                        result
                    }
                    Err(e) => Err(e),
                };
                let _ = answer.send(result);
            })
        });
        if self.jobs.send(job).is_err() {
            return Err(stopped());
        }
        answered.blocking_recv().unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> ErrorBody {
    ErrorBody::new(
        ErrorKind::Internal,
        "host-bridge's zdrive engine thread stopped",
    )
    .with_hint("see host-bridge.log")
}

/// The engine last opened, with what it was opened for.
#[derive(Default)]
struct EngineCache {
    kept: RefCell<Option<Kept>>,
}

struct Kept {
    /// The setup and access the engine was opened for, as text: a change to either (a new
    /// store URL, another database file, other history settings) opens a new engine.
    opened_for: String,
    engine: Rc<Zdrive>,
}

impl EngineCache {
    /// Returns the engine for the setup resolved now, opening it when the setup changed.
    async fn engine(&self, access: Access) -> Result<(Rc<Zdrive>, Setup), ErrorBody> {
        let setup = resolve_setup()?;
        let opened_for = format!("{access:?} {setup:?}");
        if let Some(kept) = self.kept.borrow().as_ref() {
            if kept.opened_for == opened_for {
                return Ok((Rc::clone(&kept.engine), setup));
            }
        }
        let engine = Rc::new(open_engine(&setup, access).await?);
        *self.kept.borrow_mut() = Some(Kept {
            opened_for,
            engine: Rc::clone(&engine),
        });
        Ok((engine, setup))
    }

    fn forget(&self) {
        self.kept.borrow_mut().take();
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
