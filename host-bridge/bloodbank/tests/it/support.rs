//! Helpers: a temp SQLite outbox, numbered events, an async wait with a deadline, and a test consumer.

use std::future::Future;
use std::time::Duration;

use bloodbank::Event;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use store::Database;
use tokio::time::Instant;

/// An outbox in a temp SQLite file (the contract tests cover PostgreSQL and SQLite alike).
pub struct Outbox {
    pub db: Database,
    _dir: tempfile::TempDir,
}

pub async fn outbox() -> Outbox {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("outbox.db").to_str().unwrap())
        .await
        .unwrap();
    Outbox { db, _dir: dir }
}

/// Returns event number `n`: its subject and data carry `n`, so order can be checked.
pub fn numbered(n: usize) -> Event {
    Event::new(
        "perth://test/bloodbank",
        "workspace.test.numbered",
        serde_json::json!({ "n": n }),
    )
    .with_subject(format!("n-{n}"))
}

/// Appends `event` in a transaction of its own, the way a command does.
pub async fn append(db: &Database, event: &Event) {
    let mut tx = db.begin().await.unwrap();
    bloodbank::outbox_append(tx.conn(), event).await.unwrap();
    tx.commit().await.unwrap();
}

/// Polls `probe` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_until<T, F: Future<Output = Option<T>>>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let timeout = tests::wait::scaled(timeout);
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(10);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(delay.min(deadline - Instant::now())).await;
        delay = (delay * 2).min(Duration::from_millis(200));
    }
}

/// A test-side AMQP channel with a durable queue bound to the exchange for every `workspace.#` key.
pub struct Consumer {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

/// One message as the consumer saw it.
#[derive(Debug)]
pub struct Received {
    pub routing_key: String,
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    pub delivery_mode: Option<u8>,
    pub event: Event,
}

impl Consumer {
    pub async fn bind(url: &str, exchange: &str, queue: &str) -> Self {
        let properties = bloodbank::connection_properties("bloodbank-test-consumer");
        let connection = Connection::connect(url, properties).await.unwrap();
        let channel = connection.create_channel().await.unwrap();
        bloodbank::declare_exchange(&channel, exchange)
            .await
            .unwrap();
        channel
            .queue_declare(
                queue,
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue,
                exchange,
                "workspace.#",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            channel,
            queue: queue.to_owned(),
        }
    }

    /// Takes every message from the queue until it has at least `count`, waiting up to `timeout`.
    pub async fn take(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let timeout = tests::wait::scaled(timeout);
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        loop {
            while let Some(message) = self
                .channel
                .basic_get(&self.queue, BasicGetOptions { no_ack: true })
                .await
                .unwrap()
            {
                let d = message.delivery;
                got.push(Received {
                    routing_key: d.routing_key.to_string(),
                    message_id: d.properties.message_id().as_ref().map(|s| s.to_string()),
                    content_type: d.properties.content_type().as_ref().map(|s| s.to_string()),
                    delivery_mode: *d.properties.delivery_mode(),
                    event: serde_json::from_slice(&d.data).unwrap(),
                });
            }
            if got.len() >= count {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {count} messages on queue {}; got {}",
                self.queue,
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Returns the `n` of each received event, first deliveries only (a redelivered id is skipped).
pub fn first_deliveries(received: &[Received]) -> (Vec<usize>, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut order = Vec::new();
    let mut redeliveries = 0;
    for r in received {
        assert_eq!(r.message_id.as_deref(), Some(r.event.id.as_str()));
        if seen.insert(r.event.id.clone()) {
            order.push(r.event.data["n"].as_u64().unwrap() as usize);
        } else {
            redeliveries += 1;
        }
    }
    (order, redeliveries)
}
