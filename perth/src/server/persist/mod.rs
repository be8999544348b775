//! Session persistence (issue 7, DESIGN.md D2 and D5): the write-behind thread that keeps the
//! `sessions`, `tabs` and `panes` rows of this session current, and the restore that reads them.
//!
//! The render path only ever calls [`note_session_changed`], which puts a token in a queue of
//! one slot and never waits: a full slot already says "something changed", so changes
//! coalesce. The writer thread (`persist_main`) captures the session's state through its own
//! IPC socket a moment after a change, and writes the latest capture every
//! `flush_interval_ms`, on detach and on a clean exit, in one transaction, upserting only rows
//! that changed. A database that is down or stalled delays the writer thread only; it
//! reconnects with backoff and writes the current state when the database is back.

pub mod capture;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use store::perth_sessions::{self, RowSelection, SessionSnapshot};

use crate::saved::scrub;
use crate::saved::settings::PersistSettings;
use crate::status::PersistenceStatus;

/// Whether this process has scrubbed the database of what earlier versions stored.
static SCRUBBED: AtomicBool = AtomicBool::new(false);

/// A message to the writer thread.
#[derive(Debug)]
pub enum PersistInstruction {
    /// The session changed (coalesced: the queue holds one).
    Changed,
    /// Writes now (on detach); the sender does not wait.
    FlushNow,
    /// Writes the latest state and stops; the sender waits on the reply, bounded.
    Shutdown(SyncSender<()>),
}

/// The queue into the writer thread: bounded, and coalescing because only the latest state
/// matters. Changes and control share one channel so that the writer sleeps on one wait and
/// wakes for either; a flag keeps at most one `Changed` in it, so control always finds room.
#[derive(Clone)]
pub struct WriteBehindQueue {
    tx: SyncSender<PersistInstruction>,
    change_queued: Arc<AtomicBool>,
}

/// The writer's end of [`WriteBehindQueue`].
pub struct WriterInbox {
    rx: Receiver<PersistInstruction>,
    change_queued: Arc<AtomicBool>,
}

impl WriteBehindQueue {
    /// Returns the queue and the writer's receiving end.
    pub fn new() -> (WriteBehindQueue, WriterInbox) {
        let (tx, rx) = mpsc::sync_channel(8);
        let change_queued = Arc::new(AtomicBool::new(false));
        (
            WriteBehindQueue {
                tx,
                change_queued: change_queued.clone(),
            },
            WriterInbox { rx, change_queued },
        )
    }

    /// Notes a change without waiting: a queued change already says "something changed".
    pub fn changed(&self) {
        if self.change_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.tx.try_send(PersistInstruction::Changed).is_err() {
            // Full of control messages (each captures anyway) or gone: let the next change try.
            self.change_queued.store(false, Ordering::Release);
        }
    }

    fn control(&self, instruction: PersistInstruction) -> bool {
        self.tx.try_send(instruction).is_ok()
    }
}

impl WriterInbox {
    /// Waits at most `timeout` for the next instruction.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<PersistInstruction, RecvTimeoutError> {
        let instruction = self.rx.recv_timeout(timeout)?;
        if matches!(instruction, PersistInstruction::Changed) {
            // Cleared before the change is handled: a change made from now on queues again,
            // and one made before is in the capture that handling it leads to.
            self.change_queued.store(false, Ordering::Release);
        }
        Ok(instruction)
    }
}

static QUEUE: OnceLock<WriteBehindQueue> = OnceLock::new();

/// Tells the writer the session changed. Never waits; does nothing when persistence is off.
pub fn note_session_changed() {
    if let Some(queue) = QUEUE.get() {
        queue.changed();
    }
}

/// Asks the writer to flush now (a client detached). Never waits.
pub fn request_flush() -> bool {
    QUEUE
        .get()
        .is_some_and(|q| q.control(PersistInstruction::FlushNow))
}

/// Asks the writer for a last flush and waits for it at most `timeout` (a clean exit).
pub fn shutdown(timeout: Duration) {
    let Some(queue) = QUEUE.get() else {
        return;
    };
    let (tx, rx) = mpsc::sync_channel(1);
    if queue.control(PersistInstruction::Shutdown(tx)) {
        let _ = rx.recv_timeout(timeout);
    }
}

/// Starts the writer thread for the session at `socket_path` when persistence is on.
pub fn start(
    session: &str,
    socket_path: &std::path::Path,
    status: Arc<Mutex<PersistenceStatus>>,
    agents: Arc<super::agents::Agents>,
) {
    let settings = match PersistSettings::for_server() {
        Ok(s) => s,
        Err(e) => {
            log::error!("perth: persistence settings: {e}");
            let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
            s.state = "off".into();
            s.last_error = Some(format!("{e}; fix the persistence block of config.kdl"));
            return;
        }
    };
    {
        let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
        s.enabled = settings.enabled;
        s.state = if settings.enabled {
            "connecting".into()
        } else {
            "off".into()
        };
        s.backend = Some(settings.backend().to_string());
        s.location = Some(settings.display_location());
    }
    if !settings.enabled {
        return;
    }
    let (queue, inbox) = WriteBehindQueue::new();
    if QUEUE.set(queue).is_err() {
        return;
    }
    let writer = Writer {
        session: session.to_string(),
        source: Box::new(capture::IpcSource::new(
            socket_path.to_path_buf(),
            settings.scrollback_lines,
            Some(agents),
        )),
        settings,
        status,
    };
    let spawned = std::thread::Builder::new()
        .name("perth-persist".into())
        .spawn(move || persist_main(writer, inbox));
    if let Err(e) = spawned {
        log::error!("perth: persistence thread did not start: {e}");
    }
}

/// Where the writer gets the session's state from (the session's IPC socket, or a test's).
pub trait StateSource: Send {
    /// Captures the current state of the session.
    fn capture(&mut self, session: &str) -> Result<SessionSnapshot, String>;
}

/// The writer thread's state.
pub struct Writer {
    pub session: String,
    pub source: Box<dyn StateSource>,
    pub settings: PersistSettings,
    pub status: Arc<Mutex<PersistenceStatus>>,
}

/// Runs the writer until the session ends. Never panics: every failure is a status and a
/// retry. Between instructions it sleeps until the next thing it has to do is due, so an idle
/// session costs it nothing.
pub fn persist_main(mut writer: Writer, inbox: WriterInbox) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            writer.set_error(format!("cannot start the database runtime: {e}"));
            return;
        }
    };
    let mut state = WriterState::default();
    let started = Instant::now();
    loop {
        let due = writer.due(&state, started, Instant::now());
        // Nothing due (a written session nobody changes) still wakes for the idle check.
        let wait = due.next.map_or(writer.settings.flush_interval * 4, |t| {
            t.saturating_duration_since(Instant::now())
        });
        match inbox.recv_timeout(wait) {
            Ok(PersistInstruction::Shutdown(done)) => {
                if state.dirty || state.captured_unwritten {
                    writer.capture_into(&mut state);
                    writer.flush(&runtime, &mut state, true);
                }
                let _ = done.try_send(());
                return;
            }
            Ok(PersistInstruction::FlushNow) => {
                writer.capture_into(&mut state);
                writer.flush(&runtime, &mut state, true);
                continue;
            }
            Ok(PersistInstruction::Changed) => {
                let now = Instant::now();
                if !state.dirty {
                    state.dirty_since = Some(now);
                }
                state.last_change = Some(now);
                state.dirty = true;
                state.changes_seen += 1;
                writer.set_pending(state.changes_seen);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let due = writer.due(&state, started, Instant::now());
        if due.capture {
            writer.capture_into(&mut state);
        }
        if state.captured_unwritten && due.flush {
            writer.flush(&runtime, &mut state, false);
        } else if due.idle_check {
            // Changes Zellij sends no event for (a shell's cwd) are found by comparing.
            writer.capture_into(&mut state);
            if state.captured_unwritten {
                writer.flush(&runtime, &mut state, false);
            } else {
                state.last_attempt = Some(Instant::now());
            }
        }
    }
}

/// What the writer has to do now, and when it next has something to do.
#[derive(Debug, Default, PartialEq)]
pub struct Due {
    pub capture: bool,
    pub flush: bool,
    pub idle_check: bool,
    pub next: Option<Instant>,
}

/// What the writer keeps between flushes.
#[derive(Default)]
pub struct WriterState {
    db: Option<store::Database>,
    dirty: bool,
    dirty_since: Option<Instant>,
    /// The latest change seen.
    last_change: Option<Instant>,
    /// A failed capture is tried again from then.
    capture_retry_at: Option<Instant>,
    changes_seen: u64,
    /// The latest capture, and whether it differs from what was written.
    latest: Option<SessionSnapshot>,
    captured_unwritten: bool,
    /// What the database holds, as far as this writer knows.
    written: Option<SessionSnapshot>,
    last_attempt: Option<Instant>,
    retry_at: Option<Instant>,
    backoff: Duration,
    logged_down: bool,
}

impl Writer {
    /// Works out what is due at `now` for a writer that started at `started`.
    ///
    /// A starting session is left to start for `startup_grace`, and changes are captured once
    /// they pause for `capture_delay` (at most a flush interval after the first one): capturing
    /// looks up every pane's process, which should not compete with a burst of changes such
    /// as a restore of many panes on a small machine. The latest state is then at hand for a
    /// clean exit; it is written on the flush interval, except the first state of a new
    /// session, which is written as soon as it is captured so a crash in its first seconds
    /// loses nothing. A session nobody changes is compared every four flush intervals.
    pub fn due(&self, state: &WriterState, started: Instant, now: Instant) -> Due {
        let settings = &self.settings;
        let settled = started + settings.startup_grace;
        let retry = state.retry_at.unwrap_or(settled).max(settled);
        let capture_at = state.dirty.then(|| {
            let quiet = state
                .last_change
                .map_or(now, |t| t + settings.capture_delay);
            let bound = state
                .dirty_since
                .map_or(quiet, |t| t + settings.flush_interval);
            quiet
                .min(bound)
                .max(settled)
                .max(state.capture_retry_at.unwrap_or(settled))
        });
        let flush_at = state.captured_unwritten.then(|| {
            state
                .last_attempt
                .map_or(settled, |t| t + settings.flush_interval)
                .max(retry)
        });
        let idle_at = (!state.dirty).then(|| {
            state
                .last_attempt
                .map_or(settled, |t| t + settings.flush_interval * 4)
                .max(retry)
        });
        Due {
            capture: capture_at.is_some_and(|t| now >= t),
            flush: flush_at.is_some_and(|t| now >= t),
            idle_check: idle_at.is_some_and(|t| now >= t),
            next: [capture_at, flush_at, idle_at].into_iter().flatten().min(),
        }
    }

    fn set_error(&self, message: String) {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        s.last_error = Some(message);
    }

    fn set_pending(&self, n: u64) {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        s.pending_changes = n;
    }

    /// Captures the session's state into `state.latest`.
    pub fn capture_into(&mut self, state: &mut WriterState) {
        let captured = self.source.capture(&self.session).and_then(|s| {
            // Every live session has a tab; none means it is closing, and writing that
            // would empty the saved copy.
            if s.tabs.is_empty() {
                Err("the session reports no tabs (it is closing)".to_string())
            } else {
                Ok(s)
            }
        });
        match captured {
            Ok(snapshot) => {
                state.dirty = false;
                state.dirty_since = None;
                state.capture_retry_at = None;
                state.captured_unwritten = state.written.as_ref() != Some(&snapshot);
                state.latest = Some(snapshot);
                if !state.captured_unwritten {
                    // The changes seen add up to what is already stored.
                    state.changes_seen = 0;
                    self.set_pending(0);
                }
            }
            Err(e) => {
                // Try again a little later; the change stays pending.
                state.capture_retry_at = Some(Instant::now() + self.settings.capture_delay);
                self.set_error(format!("cannot read the session's state: {e}"));
            }
        }
    }

    /// Writes `state.latest` if it is not written yet; `now` skips the backoff (detach, exit).
    pub fn flush(&mut self, runtime: &tokio::runtime::Runtime, state: &mut WriterState, now: bool) {
        let started = Instant::now();
        state.last_attempt = Some(started);
        if !now && state.retry_at.is_some_and(|t| started < t) {
            return;
        }
        let Some(snapshot) = state.latest.clone() else {
            return;
        };
        if !state.captured_unwritten {
            return;
        }
        let result = runtime.block_on(async {
            let deadline = self.settings.write_timeout;
            if state.db.is_none() {
                let options = store::OpenOptions {
                    connect_timeout: Duration::from_secs(2),
                    max_connections: 1,
                    pg_env: store::PgEnv::from_process(),
                };
                let db = tokio::time::timeout(
                    deadline,
                    store::Database::open_with(&self.settings.url, &options),
                )
                .await
                .map_err(|_| format!("no answer from the database within {deadline:?}"))?
                .map_err(|e| e.to_string())?;
                // Rows an earlier perth wrote may hold host-bridge's token: scrub them once.
                if !SCRUBBED.swap(true, Ordering::AcqRel) {
                    if let Err(e) = scrub::scrub_database(&db).await {
                        SCRUBBED.store(false, Ordering::Release);
                        log::warn!("perth: persistence: cannot scrub stored credentials: {e}");
                    }
                }
                // What secures the connection shows from the moment it is made, before a flush.
                {
                    let transport = db.transport();
                    let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
                    s.connection = Some(transport.describe().to_owned());
                    s.encrypted = Some(transport.encrypted);
                    s.verified = Some(transport.verified_key().to_owned());
                }
                state.db = Some(db);
                // A database we (re)connected to may hold anything: write every row.
                state.written = None;
            }
            let Some(db) = state.db.clone() else {
                return Err("no database".to_string());
            };
            let selection = selection(state.written.as_ref(), &snapshot);
            tokio::time::timeout(deadline, async {
                let mut tx = db.begin().await.map_err(|e| e.to_string())?;
                let stats = perth_sessions::save_session(
                    tx.conn(),
                    &snapshot,
                    &selection,
                    chrono::Utc::now(),
                )
                .await
                .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
                Ok::<_, String>(stats)
            })
            .await
            .map_err(|_| format!("the database did not finish a write within {deadline:?}"))?
        });
        let elapsed = started.elapsed();
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(stats) => {
                if state.logged_down {
                    log::info!("perth: persistence: the database is back; session state written");
                }
                state.logged_down = false;
                state.backoff = Duration::ZERO;
                state.retry_at = None;
                state.written = Some(snapshot);
                state.captured_unwritten = false;
                state.changes_seen = 0;
                s.state = "ok".into();
                s.flushes += 1;
                s.last_flush_at = Some(bridge_runtime::unix_millis());
                s.last_flush_ms = Some(elapsed.as_secs_f64() * 1000.0);
                s.last_rows_written = stats.tabs_written + stats.panes_written;
                s.pending_changes = 0;
                s.last_error = None;
            }
            Err(e) => {
                if !state.logged_down {
                    log::warn!("perth: persistence: cannot write session state to {}: {e}; perth keeps running and retries", self.settings.display_location());
                }
                state.logged_down = true;
                state.db = None;
                state.backoff = (state.backoff * 2)
                    .max(Duration::from_millis(250))
                    .min(Duration::from_secs(10));
                state.retry_at = Some(Instant::now() + state.backoff);
                s.state = "unavailable".into();
                s.pending_changes = s.pending_changes.max(1);
                s.last_error = Some(format!(
                    "{e}; perth keeps running and retries in {} ms",
                    state.backoff.as_millis()
                ));
            }
        }
    }
}

/// Returns which rows of `next` differ from `written` (every row when nothing is known).
pub fn selection(written: Option<&SessionSnapshot>, next: &SessionSnapshot) -> RowSelection {
    let Some(written) = written else {
        return RowSelection::All;
    };
    let old_tabs: std::collections::HashSet<_> = written.tabs.iter().collect();
    let old_panes: std::collections::HashSet<_> = written.panes.iter().collect();
    RowSelection::Only {
        tabs: next
            .tabs
            .iter()
            .filter(|t| !old_tabs.contains(t))
            .map(|t| t.key.clone())
            .collect(),
        panes: next
            .panes
            .iter()
            .filter(|p| !old_panes.contains(p))
            .map(|p| p.key())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::perth_sessions::{PaneSnapshot, TabSnapshot};

    fn snapshot(n: usize) -> SessionSnapshot {
        SessionSnapshot {
            name: "s".into(),
            layout: None,
            tabs: vec![TabSnapshot {
                key: "0".into(),
                name: "t".into(),
                position: 0,
                layout: Some("tab {}".into()),
                is_active: true,
            }],
            panes: (0..n)
                .map(|i| PaneSnapshot {
                    tab_key: "0".into(),
                    pane_id: i as i64,
                    kind: "terminal".into(),
                    cols: 10,
                    rows: 10,
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn persist_selection_names_only_changed_rows() {
        let a = snapshot(100);
        let mut b = a.clone();
        b.panes[7].title = Some("renamed".into());
        match selection(Some(&a), &b) {
            RowSelection::Only { tabs, panes } => {
                assert!(tabs.is_empty());
                assert_eq!(panes.into_iter().collect::<Vec<_>>(), vec!["terminal_7"]);
            }
            RowSelection::All => panic!("expected a partial selection"),
        }
        assert!(matches!(selection(None, &b), RowSelection::All));
    }

    struct FakeSource(Arc<Mutex<SessionSnapshot>>);

    impl StateSource for FakeSource {
        fn capture(&mut self, _session: &str) -> Result<SessionSnapshot, String> {
            Ok(self.0.lock().unwrap().clone())
        }
    }

    fn settings(url: String) -> PersistSettings {
        PersistSettings {
            enabled: true,
            url,
            flush_interval: Duration::from_millis(50),
            capture_delay: Duration::from_millis(10),
            startup_grace: Duration::ZERO,
            write_timeout: Duration::from_secs(5),
            scrollback_lines: 0,
        }
    }

    fn wait_status(
        status: &Arc<Mutex<PersistenceStatus>>,
        what: &str,
        pred: impl Fn(&PersistenceStatus) -> bool,
    ) -> PersistenceStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = status.lock().unwrap().clone();
            if pred(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "waiting for {what}: {s:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn run_writer(
        url: String,
        state: Arc<Mutex<SessionSnapshot>>,
    ) -> (
        WriteBehindQueue,
        Arc<Mutex<PersistenceStatus>>,
        std::thread::JoinHandle<()>,
    ) {
        let status = Arc::new(Mutex::new(PersistenceStatus::default()));
        let (queue, inbox) = WriteBehindQueue::new();
        let writer = Writer {
            session: "s".into(),
            source: Box::new(FakeSource(state)),
            settings: settings(url),
            status: status.clone(),
        };
        let handle = std::thread::spawn(move || persist_main(writer, inbox));
        (queue, status, handle)
    }

    fn shutdown_writer(queue: &WriteBehindQueue, handle: std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::sync_channel(1);
        assert!(queue.control(PersistInstruction::Shutdown(tx)));
        rx.recv_timeout(Duration::from_secs(20)).unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn persist_writer_flushes_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("perth.db").display().to_string();
        let state = Arc::new(Mutex::new(snapshot(100)));
        let (queue, status, handle) = run_writer(url.clone(), state.clone());
        queue.changed();
        let first = wait_status(&status, "the first flush", |s| s.flushes >= 1);
        assert_eq!(first.last_rows_written, 101);
        assert_eq!(first.state, "ok");
        state.lock().unwrap().panes[42].title = Some("changed".into());
        queue.changed();
        let second = wait_status(&status, "the second flush", |s| s.flushes >= 2);
        assert_eq!(second.last_rows_written, 1);
        assert_eq!(second.pending_changes, 0);
        // A change made just before exit is written by the shutdown.
        state.lock().unwrap().panes[1].title = Some("at exit".into());
        queue.changed();
        shutdown_writer(&queue, handle);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stored = rt.block_on(async {
            let db = store::Database::open(&url).await.unwrap();
            let mut conn = db.acquire().await.unwrap();
            perth_sessions::load_session(conn.conn(), "s")
                .await
                .unwrap()
                .unwrap()
        });
        assert!(stored
            .panes
            .iter()
            .any(|p| p.title.as_deref() == Some("changed")));
        assert!(stored
            .panes
            .iter()
            .any(|p| p.title.as_deref() == Some("at exit")));
    }

    #[test]
    fn persist_writer_survives_an_unreachable_database() {
        let state = Arc::new(Mutex::new(snapshot(2)));
        let (queue, status, handle) =
            run_writer("postgres://perth:secret@127.0.0.1:1/perth".into(), state);
        let started = Instant::now();
        for _ in 0..1000 {
            queue.changed();
        }
        assert!(started.elapsed() < Duration::from_millis(500));
        let down = wait_status(&status, "the database reported down", |s| {
            s.state == "unavailable"
        });
        let error = down.last_error.unwrap();
        assert!(error.contains("127.0.0.1:1"), "{error}");
        assert!(error.contains("retries"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        assert!(down.pending_changes > 0);
        shutdown_writer(&queue, handle);
    }

    #[test]
    fn persist_writer_refuses_a_database_from_a_newer_perth() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("perth.db").display().to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let db = store::Database::open(&url).await.unwrap();
            let mut conn = db.acquire().await.unwrap();
            conn.conn()
                .execute_batch(
                    "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                     VALUES (99, 'from the future', TRUE, X'00', 0)",
                )
                .await
                .unwrap();
            drop(conn);
            db.close().await;
        });
        let (queue, status, handle) = run_writer(url, Arc::new(Mutex::new(snapshot(1))));
        queue.changed();
        let refused = wait_status(&status, "the newer schema refused", |s| {
            s.state == "unavailable"
        });
        let error = refused.last_error.unwrap();
        assert!(error.contains("newer than this binary"), "{error}");
        shutdown_writer(&queue, handle);
    }

    #[test]
    fn persist_queue_coalesces_and_never_waits() {
        let (queue, inbox) = WriteBehindQueue::new();
        let started = Instant::now();
        for _ in 0..10_000 {
            queue.changed();
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        let none = Duration::ZERO;
        assert!(matches!(
            inbox.recv_timeout(none),
            Ok(PersistInstruction::Changed)
        ));
        assert!(
            inbox.recv_timeout(none).is_err(),
            "changes coalesce into one"
        );
        // Control is never crowded out by changes, and a change after the last one was
        // taken queues again.
        for _ in 0..7 {
            queue.changed();
            assert!(queue.control(PersistInstruction::FlushNow));
        }
        queue.changed();
        let mut changes = 0;
        while let Ok(instruction) = inbox.recv_timeout(none) {
            changes += usize::from(matches!(instruction, PersistInstruction::Changed));
        }
        assert_eq!(changes, 1);
        queue.changed();
        assert!(matches!(
            inbox.recv_timeout(none),
            Ok(PersistInstruction::Changed)
        ));
    }

    fn writer_with(settings: PersistSettings) -> Writer {
        Writer {
            session: "s".into(),
            source: Box::new(FakeSource(Arc::new(Mutex::new(snapshot(1))))),
            settings,
            status: Arc::new(Mutex::new(PersistenceStatus::default())),
        }
    }

    #[test]
    fn persist_writer_sleeps_until_something_is_due() {
        let mut settings = settings(String::new());
        settings.flush_interval = Duration::from_secs(5);
        settings.capture_delay = Duration::from_millis(300);
        settings.startup_grace = Duration::from_millis(1500);
        let writer = writer_with(settings);
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut state = WriterState::default();
        // A new session is first looked at when the grace is over, and nothing is due before.
        let due = writer.due(&state, t0, ms(100));
        assert_eq!(
            due,
            Due {
                next: Some(ms(1500)),
                ..Due::default()
            }
        );
        assert!(writer.due(&state, t0, ms(1500)).idle_check);
        // Changes are captured once they pause, not during the grace, and not during a
        // burst (a restore): the idle check waits for them too.
        state.dirty = true;
        state.dirty_since = Some(ms(200));
        state.last_change = Some(ms(200));
        let due = writer.due(&state, t0, ms(1500));
        assert!(due.capture && !due.idle_check);
        state.last_change = Some(ms(1400));
        let due = writer.due(&state, t0, ms(1500));
        assert!(!due.capture && !due.idle_check);
        assert_eq!(due.next, Some(ms(1700)));
        // A burst that never pauses is captured a flush interval after its first change.
        state.last_change = Some(ms(5100));
        assert!(writer.due(&state, t0, ms(5200)).capture);
        // A failed capture waits before the next try.
        state.capture_retry_at = Some(ms(5500));
        let due = writer.due(&state, t0, ms(5200));
        assert!(!due.capture);
        assert_eq!(due.next, Some(ms(5500)));
        state.capture_retry_at = None;
        // The first capture of a new session is written at once; later ones on the interval.
        state.dirty = false;
        state.captured_unwritten = true;
        state.last_attempt = None;
        assert!(writer.due(&state, t0, ms(2300)).flush);
        state.last_attempt = Some(ms(2300));
        let due = writer.due(&state, t0, ms(2400));
        assert!(!due.flush);
        assert_eq!(due.next, Some(ms(7300)));
        // A failed write waits for its retry, whatever else is due.
        state.retry_at = Some(ms(9000));
        let due = writer.due(&state, t0, ms(8000));
        assert!(!due.flush && !due.idle_check);
        assert_eq!(due.next, Some(ms(9000)));
        // A written session nobody changes is compared every four intervals.
        state.retry_at = None;
        state.captured_unwritten = false;
        let due = writer.due(&state, t0, ms(2400));
        assert_eq!(due.next, Some(ms(22300)));
    }
}
