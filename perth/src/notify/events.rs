//! Notifications as workspace events (DESIGN.md D6): every notification raised in a session,
//! whatever its source, becomes a `workspace.notification.raised` CloudEvent in perth's
//! outbox, where `perth events` reads it and host-bridge publishes it to Bloodbank.
//!
//! The engine's raise hook only queues the event: it runs under the engine's lock, on the
//! render and PTY paths. The `perth-events` thread writes what is queued in one transaction,
//! keeps it while the database is unavailable and tries again with backoff.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::bus::{Raise, Raised};
use super::engine::Engine;
use crate::saved::settings::PersistSettings;

/// The routing key of a raised notification.
pub const EVENT_TYPE: &str = "workspace.notification.raised";

/// The routing key of an agent pane's change of state (DESIGN.md D12).
pub const AGENT_EVENT_TYPE: &str = "workspace.agent.state_changed";

/// How many events wait for the writer before new ones are dropped (a program printing
/// notifications in a loop while the database is away).
const QUEUE_CAPACITY: usize = 10_000;

/// How long opening the database or one write may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns whether a raise is an event: a new notification, or one recorded behind a more
/// severe one. A repeat folded into the pane's active notification is not (its border shows
/// a count, and a bell rung in a loop would flood the outbox).
pub fn is_event(outcome: Raised) -> bool {
    !matches!(outcome, Raised::Folded(_))
}

/// Returns the CloudEvent of a notification raised in `session`, emitted by `source_uri`
/// (`perth://HOST/perth`); its subject is `SESSION/PANE`, its data says what and from where.
pub fn notification_event(
    session: &str,
    source_uri: &str,
    raise: &Raise,
    outcome: Raised,
) -> bloodbank::Event {
    let data = json!({
        "session": session,
        "pane_id": raise.pane.to_string(),
        "style": raise.style.name(),
        "message": raise.message,
        "source": raise.source,
        "ttl_ms": raise.ttl.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        "outranked": matches!(outcome, Raised::Outranked(_)),
    });
    bloodbank::Event::new(source_uri, EVENT_TYPE, data)
        .with_subject(format!("{session}/{}", raise.pane))
}

/// Returns the CloudEvent of an agent pane's change of state in `session`; its subject is
/// `SESSION/terminal_N`.
pub fn agent_event(
    session: &str,
    source_uri: &str,
    change: &crate::agent_state::Transition,
    record: Option<&crate::agent_state::AgentPane>,
) -> bloodbank::Event {
    let pane = format!("terminal_{}", change.pane_id);
    let data = json!({
        "session": session,
        "pane_id": pane,
        "from": change.from,
        "to": change.to,
        "message": change.message,
        "source": record.map(|r| r.source),
        "program": record.and_then(|r| r.program.clone()),
        "exit_status": record.and_then(|r| r.exit_status),
    });
    bloodbank::Event::new(source_uri, AGENT_EVENT_TYPE, data)
        .with_subject(format!("{session}/{pane}"))
}

/// Where a session's events go: the queue of the `perth-events` writer.
#[derive(Clone)]
pub struct EventSink {
    tx: SyncSender<bloodbank::Event>,
    session: String,
    source_uri: String,
    warned: Arc<AtomicBool>,
}

impl EventSink {
    /// Queues an event; never waits (it runs on the render and PTY paths).
    pub fn send(&self, event: bloodbank::Event) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(event) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "perth: {QUEUE_CAPACITY} events wait for the database; newer ones are not stored"
                );
            }
        }
    }

    /// Queues the event of an agent pane's change of state.
    pub fn agent_changed(
        &self,
        change: &crate::agent_state::Transition,
        record: Option<&crate::agent_state::AgentPane>,
    ) {
        self.send(agent_event(&self.session, &self.source_uri, change, record));
    }
}

/// Starts writing the notifications of `session` to perth's database as events, unless
/// persistence is turned off (then nothing is stored, events included); returns where other
/// events of the session go.
pub fn forward(engine: &Engine, session: &str) -> Option<EventSink> {
    let settings = match PersistSettings::for_server() {
        Ok(s) if s.enabled => s,
        Ok(_) => return None,
        Err(e) => {
            log::warn!(
                "perth: notification events are not stored: invalid persistence settings: {e}"
            );
            return None;
        }
    };
    let (tx, rx) = sync_channel(QUEUE_CAPACITY);
    let spawned = std::thread::Builder::new()
        .name("perth-events".into())
        .spawn(move || writer_main(&settings, rx));
    if let Err(e) = spawned {
        log::error!("perth: notification events thread did not start: {e}");
        return None;
    }
    let sink = EventSink {
        tx,
        session: session.to_string(),
        source_uri: format!("perth://{}/perth", host_name()),
        warned: Arc::new(AtomicBool::new(false)),
    };
    let hook = sink.clone();
    engine.set_raise_hook(move |raise, outcome| {
        if is_event(outcome) {
            hook.send(notification_event(
                &hook.session,
                &hook.source_uri,
                raise,
                outcome,
            ));
        }
    });
    Some(sink)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Returns the pause after `failures` failed writes in a row: 250 ms doubling to 10 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(250u64 << failures.clamp(1, 7).saturating_sub(1))
        .min(Duration::from_secs(10))
}

/// Writes the queued events until every sender is gone and nothing is left to write.
fn writer_main(settings: &PersistSettings, rx: Receiver<bloodbank::Event>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log::error!("perth: notification events are not stored: no async runtime: {e}");
            return;
        }
    };
    let mut pending: VecDeque<bloodbank::Event> = VecDeque::new();
    let mut db: Option<store::Database> = None;
    let mut failures = 0u32;
    let mut retry_at: Option<Instant> = None;
    let mut closed = false;
    loop {
        let received = if pending.is_empty() {
            match rx.recv() {
                Ok(event) => Some(event),
                Err(_) => return,
            }
        } else if closed {
            // Nothing more can arrive: wait out the backoff before the next attempt.
            if let Some(at) = retry_at {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
            }
            None
        } else {
            let wait = retry_at.map_or(Duration::ZERO, |at| {
                at.saturating_duration_since(Instant::now())
            });
            match rx.recv_timeout(wait) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    None
                }
            }
        };
        pending.extend(received);
        pending.extend(rx.try_iter());
        if retry_at.is_some_and(|at| Instant::now() < at) {
            continue;
        }
        match runtime.block_on(write(&settings.url, &mut db, pending.make_contiguous())) {
            Ok(()) => {
                if failures > 0 {
                    log::info!(
                        "perth: notification events are stored again in {}",
                        settings.display_location()
                    );
                }
                pending.clear();
                failures = 0;
                retry_at = None;
            }
            Err(e) => {
                if failures == 0 {
                    log::warn!(
                        "perth: notification events wait: cannot write to {}: {e}",
                        settings.display_location()
                    );
                }
                db = None;
                failures = failures.saturating_add(1);
                retry_at = Some(Instant::now() + backoff(failures));
                if closed && failures > 3 {
                    return;
                }
            }
        }
    }
}

/// Appends `events` to the outbox in one transaction, opening the database first if needed.
async fn write(
    url: &str,
    db: &mut Option<store::Database>,
    events: &[bloodbank::Event],
) -> Result<(), String> {
    if events.is_empty() {
        return Ok(());
    }
    if db.is_none() {
        let options = store::OpenOptions {
            connect_timeout: Duration::from_secs(2),
            max_connections: 1,
            pg_env: store::PgEnv::from_process(),
        };
        let opened = tokio::time::timeout(WRITE_TIMEOUT, store::Database::open_with(url, &options))
            .await
            .map_err(|_| format!("no answer from the database within {WRITE_TIMEOUT:?}"))?
            .map_err(|e| e.to_string())?;
        *db = Some(opened);
    }
    let Some(db) = db.as_ref() else {
        return Err("no database".into());
    };
    tokio::time::timeout(WRITE_TIMEOUT, async {
        let mut tx = db.begin().await.map_err(|e| e.to_string())?;
        for event in events {
            bloodbank::outbox_append(tx.conn(), event)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())
    })
    .await
    .map_err(|_| format!("the database did not finish a write within {WRITE_TIMEOUT:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agents_change_is_an_event_about_its_pane() {
        use crate::agent_state::{AgentPane, AgentState, SignalSource, Transition};
        let change = Transition {
            pane_id: 4,
            from: Some(AgentState::Working),
            to: AgentState::Waiting,
            message: Some("Do you want to proceed?".into()),
        };
        let record = AgentPane {
            pane_id: 4,
            state: AgentState::Waiting,
            since_ms: 1,
            message: change.message.clone(),
            source: SignalSource::Screen,
            exit_status: None,
            program: Some("claude".into()),
            place: Default::default(),
            restored: false,
        };
        let event = agent_event("work", "perth://h/perth", &change, Some(&record));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], AGENT_EVENT_TYPE);
        assert_eq!(json["subject"], "work/terminal_4");
        assert_eq!(json["data"]["from"], "working");
        assert_eq!(json["data"]["to"], "waiting");
        assert_eq!(json["data"]["program"], "claude");
        assert_eq!(json["data"]["source"], "screen");
        assert_eq!(json["data"]["message"], "Do you want to proceed?");
    }
    use crate::notify::bus::{PaneRef, Source, Style};

    fn raise(message: &str) -> Raise {
        Raise {
            pane: PaneRef::Terminal(2),
            style: Style::Error,
            message: message.into(),
            source: Source::Cli,
            ttl: Some(Duration::from_secs(60)),
        }
    }

    #[test]
    fn a_raised_notification_is_a_cloudevent_about_its_pane() {
        let event = notification_event(
            "work",
            "perth://host/perth",
            &raise("Build failed"),
            Raised::New(7),
        );
        assert_eq!(event.event_type, "workspace.notification.raised");
        assert_eq!(event.source, "perth://host/perth");
        assert_eq!(event.subject.as_deref(), Some("work/terminal_2"));
        assert_eq!(
            event.data,
            json!({
                "session": "work",
                "pane_id": "terminal_2",
                "style": "error",
                "message": "Build failed",
                "source": "cli",
                "ttl_ms": 60000,
                "outranked": false,
            })
        );
        let outranked =
            notification_event("work", "perth://h/perth", &raise("m"), Raised::Outranked(1));
        assert_eq!(outranked.data["outranked"], true);
        assert!(is_event(Raised::New(1)) && is_event(Raised::Outranked(1)));
        assert!(!is_event(Raised::Folded(1)));
    }

    #[test]
    fn backoff_doubles_to_ten_seconds() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(30), Duration::from_secs(10));
    }

    #[test]
    fn the_writer_stores_what_was_queued_in_the_outbox() {
        let tmp = tempfile::tempdir().unwrap();
        let url = tmp.path().join("perth.db").display().to_string();
        let settings = PersistSettings::from_settings(&Default::default(), &|k| {
            (k == "PERTH_DATABASE_URL").then(|| url.clone())
        })
        .unwrap();
        let (tx, rx) = sync_channel(4);
        let writer = std::thread::spawn(move || writer_main(&settings, rx));
        for message in ["first", "second"] {
            let event =
                notification_event("work", "perth://h/perth", &raise(message), Raised::New(1));
            tx.send(event).unwrap();
        }
        // The writer ends once its senders are gone and what they queued is written.
        drop(tx);
        writer.join().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let rows = rt.block_on(async {
            let db = store::Database::open(&url).await.unwrap();
            db.outbox_since(0, 10).await.unwrap()
        });
        let messages: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
                (
                    r.event_type.clone(),
                    payload["data"]["message"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            messages,
            [
                (EVENT_TYPE.to_string(), "first".to_string()),
                (EVENT_TYPE.to_string(), "second".to_string()),
            ]
        );
    }
}
