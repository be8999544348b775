//! `serve`: the loopback HTTP server, its limits (auth, body size, timeout, concurrency) and graceful shutdown.

use crate::rpc::{self, Daemon, OutboxLinks};
use crate::runtime::{generate_token, RuntimeDir, RuntimeError};
use crate::{exit_code, unix_millis};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bridge_protocol::{
    ErrorBody, ErrorKind, PushedEvent, RequestEnvelope, RequestId, ResponseEnvelope, RuntimeInfo,
    HEALTH_PATH, PROTOCOL_VERSION, RPC_PATH,
};
use http_body_util::BodyExt;
use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{timeout, timeout_at};

/// Bounds what one client can make the daemon do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// How long one request may take once it runs (reading the body included); then 504.
    pub request_timeout: Duration,
    /// How long a request that waits on an LLM (a snapshot) may take; then 504. Its work goes
    /// on and is stored: a repeat of a keyed request gets the answer.
    pub llm_request_timeout: Duration,
    /// How many RPC requests run at once; more wait in line.
    pub max_in_flight: usize,
    /// How long a request waits in line for a slot; then 503.
    pub queue_timeout: Duration,
    /// How long shutdown waits for in-flight requests before giving up on them.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            llm_request_timeout: Duration::from_millis(bridge_protocol::LLM_REQUEST_TIMEOUT_MS),
            max_in_flight: 64,
            queue_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Says how to serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// The loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// The request limits.
    pub limits: Limits,
    /// Zellij's socket folder, where running sessions are found for pushed events; `None`
    /// disables pushing.
    pub session_dir: Option<std::path::PathBuf>,
    /// The event outboxes this daemon publishes to Bloodbank (perth's database, zdrive's and
    /// iMi's); none: it publishes nothing.
    pub outboxes: Vec<OutboxOptions>,
}

/// Where the outbox is and where its events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxOptions {
    /// Whose outbox it is (`perth`, `zdrive`, `imi`), for status and logs.
    pub label: String,
    /// The database holding the `outbox` table (PostgreSQL URL or SQLite path).
    pub database_url: String,
    /// The broker; `None`: events are dropped from the outbox unpublished (Bloodbank is off).
    pub amqp_url: Option<String>,
    /// Also hands this outbox's events to the plugins of running sessions; `None`: it does not.
    pub relay: Option<Relay>,
    /// Also logs the agent transitions in this outbox (perth's) into zdrive's intent logs,
    /// when zdrive's `agents.log_transitions` is on ([`crate::agent_log`]).
    pub agent_log: bool,
}

/// Which events of an outbox go to the running sessions' plugins as `host-bridge::event`
/// pushes (topic: the event's type; data: its data), as they are appended: how iMi's worktree
/// events made by the command line reach perth's tab bar and iMi pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Events whose type starts with this are relayed (`workspace.worktree.`).
    pub topic_prefix: String,
    /// Zellij's socket folder, where running sessions are found.
    pub session_dir: std::path::PathBuf,
}

/// Says how `serve` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeOutcome {
    /// This process served until a signal asked it to stop.
    Stopped,
    /// Another host-bridge holds the lock; its runtime file, if it wrote one in time.
    AlreadyRunning(Option<RuntimeInfo>),
}

/// Reports why `serve` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("cannot listen on {addr}; choose another --port or omit it to get a free one")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime")]
    AsyncRuntime(#[source] std::io::Error),
    #[error("cannot install the SIGTERM/SIGINT handlers")]
    Signals(#[source] std::io::Error),
    #[error("the HTTP server failed")]
    Http(#[source] std::io::Error),
}

impl ServeError {
    /// Returns the process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ServeError::Bind { .. } => exit_code::USER_ERROR,
            _ => exit_code::INTERNAL,
        }
    }
}

/// How long a second `serve` waits for the first one to write its runtime file.
const PEER_INFO_WAIT: Duration = Duration::from_secs(5);

/// Runs the daemon until SIGTERM or SIGINT: takes the lock, listens, writes the runtime file,
/// serves, then drains in-flight requests, removes the runtime file and releases the lock.
///
/// `ready` is called once the runtime file is written.
pub fn serve(
    dir: &RuntimeDir,
    options: &ServeOptions,
    ready: impl FnOnce(&RuntimeInfo),
) -> Result<ServeOutcome, ServeError> {
    let Some(lock) = dir.try_lock()? else {
        return Ok(ServeOutcome::AlreadyRunning(wait_for_peer_info(dir)?));
    };
    // Without an explicit port, answer where the previous daemon did, with its token, so that
    // plugins configured with that address keep working across restarts.
    let previous = (options.port == 0).then(|| dir.read_identity()).flatten();
    let reused = previous.as_ref().and_then(|prev| {
        match std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, prev.port))) {
            Ok(listener) => Some((listener, prev.token.clone())),
            Err(e) => {
                // Plugins configured with the old address stop reaching it: say why.
                tracing::warn!(port = prev.port, error = %e, "the previous address is taken; answering at a new one");
                None
            }
        }
    });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, options.port));
    let (listener, token) = match reused {
        Some(found) => found,
        None => (
            std::net::TcpListener::bind(addr)
                .map_err(|source| ServeError::Bind { addr, source })?,
            previous
                .map(|prev| prev.token)
                .map_or_else(generate_token, Ok)?,
        ),
    };
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let info = RuntimeInfo {
        pid: std::process::id(),
        port: local.port(),
        url: format!("http://{local}"),
        token,
        started_at: unix_millis(),
        protocol_version: PROTOCOL_VERSION,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("host-bridge")
        .build()
        .map_err(ServeError::AsyncRuntime)?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener).map_err(ServeError::Http)?;
        let shutdown = shutdown_signal()?;
        // The identity first: the runtime file says the daemon is up, and a daemon killed
        // right after it must still leave its address and token to the next one.
        dir.write_identity(&info)?;
        dir.write_info(&info)?;
        tracing::info!(url = %info.url, pid = info.pid, runtime_file = %dir.info_path().display(), "host-bridge listening");
        ready(&info);
        let pump_stop = Arc::new(Notify::new());
        let outboxes = options.outboxes.clone();
        let links = OutboxLinks::default();
        let pump_links = Arc::clone(&links);
        let pump = (!outboxes.is_empty()).then(|| {
            let stop = Arc::clone(&pump_stop);
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            // The pump runs on a thread and runtime of its own: sqlx's futures are not provably
            // Send for tokio::spawn, and publishing must never hold up the RPC workers anyway.
            let spawned = std::thread::Builder::new()
                .name("bloodbank-pump".into())
                .spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        rt.block_on(run_outbox_pumps(outboxes, pump_links, stop));
                    }
                    let _ = done_tx.send(());
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "bloodbank: cannot start the outbox pump");
            }
            done_rx
        });
        let served = run(
            listener,
            &info,
            options.limits.clone(),
            options.session_dir.clone(),
            links,
            shutdown,
        )
        .await;
        // notify_one keeps a permit, so the pump stops even if it was not waiting yet.
        pump_stop.notify_one();
        if let Some(done) = pump {
            let _ = tokio::task::spawn_blocking(move || done.recv_timeout(Duration::from_secs(5)))
                .await;
        }
        served
    });
    if let Err(e) = dir.remove_info() {
        tracing::warn!(error = %e, "cannot remove the runtime file");
    }
    drop(lock);
    runtime.shutdown_timeout(Duration::from_millis(100));
    tracing::info!("host-bridge stopped");
    result.map(|()| ServeOutcome::Stopped)
}

/// Runs one pump per outbox until `stop` is notified.
async fn run_outbox_pumps(outboxes: Vec<OutboxOptions>, links: OutboxLinks, stop: Arc<Notify>) {
    let stops: Vec<Arc<Notify>> = outboxes.iter().map(|_| Arc::new(Notify::new())).collect();
    let pumps = outboxes
        .into_iter()
        .zip(stops.iter().cloned())
        .map(|(outbox, stop)| run_outbox_pump(outbox, Arc::clone(&links), stop));
    let all = futures_util::future::join_all(pumps);
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => {}
        _ = stop.notified() => {
            // notify_one keeps a permit: each pump stops even if it was not waiting yet.
            for s in &stops {
                s.notify_one();
            }
            all.await;
        }
    }
}

/// How often an SQLite outbox that does not exist yet (a tool not used so far) is looked for.
const OUTBOX_APPEARS_POLL: Duration = Duration::from_secs(5);

/// Describes `outbox`, open on `db`, for status.
fn outbox_link(outbox: &OutboxOptions, db: &store::Database) -> bridge_protocol::OutboxLink {
    let database = db.transport();
    let broker = outbox.amqp_url.as_deref().map(bloodbank::amqp_transport_of);
    bridge_protocol::OutboxLink {
        outbox: outbox.label.clone(),
        database: store::redact_url(&outbox.database_url),
        database_connection: database.describe().to_owned(),
        database_encrypted: database.encrypted,
        database_verified: database.verified_key().to_owned(),
        broker: outbox.amqp_url.as_deref().map(bloodbank::redact_amqp_url),
        broker_connection: broker.map(|t| t.describe().to_owned()),
        broker_encrypted: broker.map(|t| t.encrypted),
        broker_verified: broker.map(|t| t.verified_key().to_owned()),
    }
}

/// Publishes the outbox to Bloodbank until `stop` is notified (D6): events wait in the outbox
/// while the broker is down and go out in order when it returns.
async fn run_outbox_pump(outbox: OutboxOptions, links: OutboxLinks, stop: Arc<Notify>) {
    // A tool's SQLite file is made by its first command: wait for it rather than create it.
    let is_file = !outbox.database_url.contains("://");
    while is_file && !std::path::Path::new(&outbox.database_url).exists() {
        tokio::select! {
            _ = stop.notified() => return,
            _ = tokio::time::sleep(OUTBOX_APPEARS_POLL) => {}
        }
    }
    let options = store::OpenOptions {
        pg_env: store::PgEnv::from_process(),
        ..Default::default()
    };
    let db = match store::Database::open_with(&outbox.database_url, &options).await {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, outbox = %store::redact_url(&outbox.database_url), "bloodbank: cannot open an outbox database; its events are not published");
            return;
        }
    };
    tracing::info!(
        broker = outbox
            .amqp_url
            .as_deref()
            .map(bloodbank::redact_amqp_url)
            .unwrap_or_else(|| "none (events are dropped)".into()),
        broker_connection = outbox
            .amqp_url
            .as_deref()
            .map(|u| bloodbank::amqp_transport_of(u).describe())
            .unwrap_or("none"),
        outbox = %store::redact_url(&outbox.database_url),
        outbox_connection = db.transport().describe(),
        "bloodbank: publishing the outbox"
    );
    links
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(outbox_link(&outbox, &db));
    let relay = outbox.relay.clone();
    let relaying = relay_events(db.clone(), relay);
    let logging = log_agent_transitions(db.clone(), outbox.agent_log);
    let pump = bloodbank::OutboxPump::new(
        db,
        bloodbank::PumpConfig {
            amqp_url: outbox.amqp_url,
            ..Default::default()
        },
    );
    // The relay and the agent log never end by themselves; they stop when the pump does.
    tokio::select! {
        _ = pump.run(async move { stop.notified().await }) => {}
        _ = relaying => {}
        _ = logging => {}
    }
}

/// Logs the outbox's agent transitions into zdrive's intent logs; never returns (when not
/// asked to, it only waits). zdrive's setup is resolved from the daemon's environment, as for
/// the `zdrive::log` pipe.
async fn log_agent_transitions(db: store::Database, enabled: bool) {
    if !enabled {
        return std::future::pending().await;
    }
    let resolve: crate::agent_log::ResolveSetup =
        Box::new(|| zdrive::setup::Setup::resolve(&|k| std::env::var(k).ok()));
    crate::agent_log::AgentLog::new(db, resolve)
        .run(std::future::pending())
        .await;
}

/// How often a relayed outbox is read for new events.
const RELAY_POLL: Duration = Duration::from_millis(300);

/// Pushes the events `relay` selects to the running sessions as they are appended; never
/// returns (without a relay it only waits). A failing read is retried after a pause.
async fn relay_events(db: store::Database, relay: Option<Relay>) {
    let Some(relay) = relay else {
        return std::future::pending().await;
    };
    let mut watch = loop {
        match bloodbank::OutboxWatch::new(vec![("relay".into(), db.clone())]).await {
            Ok(watch) => break watch,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an outbox to relay its events; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    loop {
        match watch.poll().await {
            Ok(events) => {
                let pushed: Vec<PushedEvent> = events
                    .into_iter()
                    .filter(|w| w.event_type.starts_with(&relay.topic_prefix))
                    .map(|w| PushedEvent {
                        topic: w.event_type,
                        data: w.event.get("data").cloned().unwrap_or_default(),
                    })
                    .collect();
                if !pushed.is_empty() {
                    let dir = relay.session_dir.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        for event in &pushed {
                            let sessions = crate::push::push_to_sessions(&dir, event);
                            tracing::debug!(sessions, topic = %event.topic, "relayed an event");
                        }
                    })
                    .await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read an outbox to relay its events; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        tokio::time::sleep(RELAY_POLL).await;
    }
}

fn wait_for_peer_info(dir: &RuntimeDir) -> Result<Option<RuntimeInfo>, ServeError> {
    let deadline = Instant::now() + PEER_INFO_WAIT;
    loop {
        if let Some(info) = dir.read_info()? {
            return Ok(Some(info));
        }
        if Instant::now() >= deadline || !dir.is_locked()? {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Resolves with the name of the first SIGTERM or SIGINT received.
fn shutdown_signal() -> Result<impl std::future::Future<Output = &'static str>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}

struct AppState {
    daemon: Daemon,
    token: String,
    limits: Limits,
    slots: Arc<Semaphore>,
}

/// Builds the HTTP routes: `POST /v1/rpc` (token required) and `GET /v1/health`.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(RPC_PATH, post(rpc_endpoint))
        .route(
            HEALTH_PATH,
            get(|| async { Json(serde_json::json!({ "ok": true })) }),
        )
        .fallback(not_found)
        .with_state(state)
}

/// Serves on `listener` until `shutdown` resolves, then waits (bounded) for in-flight requests.
async fn run(
    listener: tokio::net::TcpListener,
    info: &RuntimeInfo,
    limits: Limits,
    session_dir: Option<std::path::PathBuf>,
    outboxes: OutboxLinks,
    shutdown: impl std::future::Future<Output = &'static str>,
) -> Result<(), ServeError> {
    let drain_timeout = limits.drain_timeout;
    let zdrive = crate::zdrive_engine::EngineThread::start().map_err(ServeError::AsyncRuntime)?;
    let state = Arc::new(AppState {
        daemon: Daemon {
            pid: info.pid,
            url: info.url.clone(),
            started_at: info.started_at,
            started: Instant::now(),
            in_flight: AtomicU32::new(0),
            requests_handled: AtomicU64::new(0),
            session_dir,
            recent: Default::default(),
            zdrive,
            outboxes,
        },
        token: info.token.clone(),
        slots: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
        limits,
    });
    let stop = Arc::new(Notify::new());
    let stopped = Arc::clone(&stop);
    let mut server = tokio::spawn(
        axum::serve(listener, router(Arc::clone(&state)))
            .with_graceful_shutdown(async move { stopped.notified().await })
            .into_future(),
    );
    tokio::select! {
        signal = shutdown => {
            let in_flight = state.daemon.in_flight.load(Ordering::Relaxed);
            tracing::info!(signal, in_flight, "shutting down: no new connections, finishing in-flight requests");
            // notify_one keeps a permit, so the server sees it even if it is not waiting yet.
            stop.notify_one();
        }
        ended = &mut server => return server_result(ended),
    }
    match timeout(drain_timeout, &mut server).await {
        Ok(ended) => server_result(ended),
        Err(_) => {
            let in_flight = state.daemon.in_flight.load(Ordering::Relaxed);
            tracing::warn!(
                in_flight,
                ?drain_timeout,
                "gave up waiting for in-flight requests"
            );
            server.abort();
            Ok(())
        }
    }
}

fn server_result(
    ended: Result<std::io::Result<()>, tokio::task::JoinError>,
) -> Result<(), ServeError> {
    match ended {
        Ok(result) => result.map_err(ServeError::Http),
        Err(join) => Err(ServeError::Http(std::io::Error::other(join.to_string()))),
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicU32);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicU32) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn rpc_endpoint(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(reason) = check_token(&headers, &state.token) {
        tracing::warn!(
            reason,
            "refused an RPC request without a valid bearer token"
        );
        // Read what the client sends (up to the drain allowance, for at most a second, keeping
        // none of it): answering before the body arrived closes a connection the client is
        // still writing to, and it would see a reset instead of the 401.
        let _ = timeout(Duration::from_secs(1), read_body(body, 0)).await;
        return error_response(
            None,
            ErrorBody::new(
                ErrorKind::Unauthorized,
                format!("{reason}; nothing was done"),
            )
            .with_hint("send `Authorization: Bearer <token>` with the token from host-bridge.json"),
        );
    }
    let limits = &state.limits;
    // Beyond the drain allowance the connection is cut short; clients that stop reading
    // responses until they have sent the whole body may then see a broken pipe instead of 413.
    if let Some(length) = content_length(&headers) {
        if length > drain_allowance(limits.max_body_bytes) as u64 {
            return too_large(length, limits.max_body_bytes);
        }
    }
    let _slot = match timeout(
        limits.queue_timeout,
        Arc::clone(&state.slots).acquire_owned(),
    )
    .await
    {
        Ok(Ok(permit)) => permit,
        Ok(Err(_closed)) => {
            return error_response(
                None,
                ErrorBody::new(ErrorKind::Unavailable, "host-bridge is shutting down"),
            )
        }
        Err(_) => {
            tracing::warn!(
                max_in_flight = limits.max_in_flight,
                "request waited too long for a slot"
            );
            return error_response(
                None,
                ErrorBody::new(
                    ErrorKind::Unavailable,
                    format!(
                        "host-bridge is busy: {} requests in flight and this one waited {} ms for a slot",
                        limits.max_in_flight,
                        limits.queue_timeout.as_millis()
                    ),
                )
                .with_hint("retry later"),
            );
        }
    };
    let _in_flight = InFlight::enter(&state.daemon.in_flight);
    let started = tokio::time::Instant::now();
    let deadline = started + limits.request_timeout;

    let bytes = match timeout_at(deadline, read_body(body, limits.max_body_bytes)).await {
        Err(_) => return timed_out(None, limits.request_timeout),
        Ok(BodyRead::Complete(bytes)) => bytes,
        Ok(BodyRead::TooLarge(seen)) => return too_large(seen, limits.max_body_bytes),
        Ok(BodyRead::Failed(e)) => {
            return error_response(
                None,
                ErrorBody::new(
                    ErrorKind::BadRequest,
                    format!("cannot read the request body: {e}"),
                ),
            )
        }
    };
    let envelope = match RequestEnvelope::from_json(&bytes) {
        Ok(envelope) => envelope,
        Err(decode) => {
            tracing::debug!(id = decode.id, error = %decode.error, "refused an undecodable request");
            return error_response(decode.id, decode.error);
        }
    };
    let id = envelope.id;
    let kind = envelope.body.type_name();
    let (deadline, limit) = if envelope.body.waits_on_llm() {
        let limit = limits.llm_request_timeout.max(limits.request_timeout);
        (started + limit, limit)
    } else {
        (deadline, limits.request_timeout)
    };
    let outcome = timeout_at(deadline, rpc::handle(&state.daemon, envelope.body)).await;
    let elapsed_us = started.elapsed().as_micros();
    match outcome {
        Err(_) => {
            tracing::warn!(id, kind, "request timed out");
            timed_out(Some(id), limit)
        }
        Ok(Ok(response)) => {
            tracing::debug!(id, kind, elapsed_us, "request done");
            (StatusCode::OK, Json(ResponseEnvelope::ok(id, response))).into_response()
        }
        Ok(Err(error)) => {
            tracing::debug!(id, kind, elapsed_us, %error, "request failed");
            error_response(Some(id), error)
        }
    }
}

/// Checks the bearer token, comparing in time independent of where the first difference is.
fn check_token(headers: &HeaderMap, token: &str) -> Result<(), &'static str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or("missing bearer token")?;
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or("the Authorization header is not `Bearer <token>`")?;
    let (a, b) = (given.as_bytes(), token.as_bytes());
    let differ = a.len() != b.len() || a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) != 0;
    if differ {
        return Err("wrong bearer token");
    }
    Ok(())
}

/// Says how reading a request body ended.
enum BodyRead {
    /// The whole body, within the limit.
    Complete(Vec<u8>),
    /// The body passed the limit after this many bytes; it was read and discarded up to the drain allowance.
    TooLarge(u64),
    /// The connection failed while reading.
    Failed(String),
}

/// Returns how many bytes of an oversized body are read and thrown away before answering 413, so
/// that clients which send the whole body before reading the response still see the 413.
fn drain_allowance(max_body_bytes: usize) -> usize {
    max_body_bytes.saturating_mul(4).max(64 * 1024)
}

/// Reads a body of at most `max` bytes; an oversized one is drained up to the allowance.
async fn read_body(mut body: Body, max: usize) -> BodyRead {
    let allowance = drain_allowance(max);
    let mut bytes = Vec::new();
    let mut seen: usize = 0;
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
            Err(e) => return BodyRead::Failed(e.to_string()),
        };
        seen = seen.saturating_add(data.len());
        if seen > allowance {
            break;
        }
        if seen <= max {
            bytes.extend_from_slice(&data);
        }
    }
    if seen > max {
        return BodyRead::TooLarge(seen as u64);
    }
    BodyRead::Complete(bytes)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn too_large(length: u64, max: usize) -> Response {
    tracing::warn!(length, max, "refused a request body over the limit");
    error_response(
        None,
        ErrorBody::new(
            ErrorKind::TooLarge,
            format!("the request body is over the limit of {max} bytes"),
        )
        .with_hint(
            "send less data per request, or start host-bridge with a larger --max-body-bytes",
        ),
    )
}

fn timed_out(id: Option<RequestId>, limit: Duration) -> Response {
    error_response(
        id,
        ErrorBody::new(
            ErrorKind::Timeout,
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .with_hint("retry, or start host-bridge with a larger --request-timeout-ms"),
    )
}

fn error_response(id: Option<RequestId>, error: ErrorBody) -> Response {
    let status =
        StatusCode::from_u16(error.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ResponseEnvelope::error(id, error))).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let error = ErrorBody::new(
        ErrorKind::BadRequest,
        format!("no endpoint {method} {}", uri.path()),
    )
    .with_hint(format!("send requests as POST {RPC_PATH}"));
    (
        StatusCode::NOT_FOUND,
        Json(ResponseEnvelope::error(None, error)),
    )
        .into_response()
}

#[cfg(test)]
mod relay_tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::net::UnixListener;

    async fn append(db: &store::Database, kind: &str) {
        let event = bloodbank::Event::new(
            "imi://test",
            kind,
            serde_json::json!({ "worktree_name": "feat-x" }),
        );
        db.outbox_append(&event.to_outbox()).await.unwrap();
    }

    #[test]
    fn worktree_events_appended_to_the_outbox_reach_every_session_socket() {
        let tmp = tempfile::tempdir().unwrap();
        let sessions = tmp.path().join("sessions");
        std::fs::create_dir_all(&sessions).unwrap();
        // A stand-in for a session: a socket that records what it is sent.
        let listener = UnixListener::bind(sessions.join("s1")).unwrap();
        let (tx, received) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut bytes = Vec::new();
                let _ = stream.read_to_end(&mut bytes);
                if tx.send(bytes).is_err() {
                    break;
                }
            }
        });

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let db_path = tmp.path().join("iMi.db");
        rt.block_on(async {
            let db = store::Database::open(db_path.to_str().unwrap())
                .await
                .unwrap();
            // Events from before the relay started are not replayed.
            append(&db, "workspace.worktree.removed").await;
            let relay = Relay {
                topic_prefix: "workspace.worktree.".into(),
                session_dir: sessions.clone(),
            };
            let relaying = relay_events(db.clone(), Some(relay));
            let appending = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                append(&db, "workspace.intent.logged").await;
                append(&db, "workspace.worktree.created").await;
                tokio::time::sleep(Duration::from_millis(1500)).await;
            };
            tokio::select! {
                _ = relaying => unreachable!("the relay never ends"),
                _ = appending => {}
            }
        });
        let got: Vec<String> = received
            .try_iter()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect();
        assert_eq!(got.len(), 1, "one push for the one worktree event: {got:?}");
        assert!(got[0].contains(bridge_protocol::PUSH_PIPE_NAME), "{got:?}");
        assert!(got[0].contains("workspace.worktree.created"), "{got:?}");
        assert!(got[0].contains("feat-x"), "{got:?}");
    }
}
