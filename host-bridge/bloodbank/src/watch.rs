//! Watching the event stream, for `perth events`: live from the broker (an exclusive queue
//! bound to every routing key of the exchange), or from the tools' outboxes when no broker is
//! configured (rows are kept there for a day after publication, published or not).

use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::options::{BasicAckOptions, BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use store::{Database, OutboxRow};

use crate::publisher::{
    connect_amqp, connection_properties, declare_exchange, redact_amqp_url, AmqpConnectError,
    PublishError,
};

/// One event of the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    /// Where it was read: `broker`, or the outbox's database.
    pub origin: String,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// The routing key (CloudEvents `type`).
    pub event_type: String,
    /// What it is about (CloudEvents `subject`).
    pub subject: Option<String>,
    /// Who emitted it (CloudEvents `source`).
    pub source: String,
    /// The whole CloudEvent (`null` when the payload was not JSON).
    pub event: serde_json::Value,
}

impl Watched {
    fn from_payload(origin: &str, payload: &[u8], fallback_time: DateTime<Utc>) -> Self {
        let event: serde_json::Value =
            serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
        let text = |k: &str| event[k].as_str().map(str::to_owned);
        Self {
            origin: origin.to_owned(),
            time: text("time")
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map_or(fallback_time, |t| t.with_timezone(&Utc)),
            event_type: text("type").unwrap_or_default(),
            subject: text("subject"),
            source: text("source").unwrap_or_default(),
            event,
        }
    }

    fn from_row(origin: &str, row: &OutboxRow) -> Self {
        let mut w = Self::from_payload(origin, row.payload.as_bytes(), row.created_at);
        if w.event_type.is_empty() {
            w.event_type.clone_from(&row.event_type);
        }
        if w.subject.is_none() {
            w.subject.clone_from(&row.subject);
        }
        w
    }
}

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The broker could not be reached or dropped the stream.
    #[error("cannot watch the AMQP broker at {at}: {reason}; start RabbitMQ, or unset the broker URL to read the outboxes")]
    Broker {
        /// The broker URL without its password.
        at: String,
        /// What went wrong.
        reason: String,
    },
    /// The TLS handshake with the broker failed (the message says which way and what to set).
    #[error("{0}")]
    Tls(PublishError),
    /// An outbox could not be read.
    #[error("cannot read the event outbox at {at}: {source}")]
    Outbox {
        /// The database.
        at: String,
        /// What went wrong.
        #[source]
        source: store::Error,
    },
}

/// The outboxes of the tools, read in turn.
pub struct OutboxWatch {
    outboxes: Vec<(String, Database, i64)>,
}

impl OutboxWatch {
    /// Watches `outboxes` (a label and an open database each), starting after their last rows.
    pub async fn new(outboxes: Vec<(String, Database)>) -> Result<Self, WatchError> {
        let mut watched = Vec::new();
        for (label, db) in outboxes {
            let last = db
                .outbox_last_id()
                .await
                .map_err(|source| WatchError::Outbox {
                    at: label.clone(),
                    source,
                })?;
            watched.push((label, db, last));
        }
        Ok(Self { outboxes: watched })
    }

    /// Returns the newest `n` events of all outboxes together, oldest first.
    pub async fn recent(&self, n: u32) -> Result<Vec<Watched>, WatchError> {
        let mut all = Vec::new();
        for (label, db, last) in &self.outboxes {
            let after = last.saturating_sub(i64::from(n));
            let rows = db
                .outbox_since(after, n)
                .await
                .map_err(|source| WatchError::Outbox {
                    at: label.clone(),
                    source,
                })?;
            all.extend(rows.iter().map(|r| Watched::from_row(label, r)));
        }
        all.sort_by_key(|w| w.time);
        let skip = all.len().saturating_sub(n as usize);
        Ok(all.split_off(skip))
    }

    /// Returns the events appended since the last call (or since [`OutboxWatch::new`]),
    /// oldest first.
    pub async fn poll(&mut self) -> Result<Vec<Watched>, WatchError> {
        let mut all = Vec::new();
        for (label, db, last) in &mut self.outboxes {
            loop {
                let rows =
                    db.outbox_since(*last, 500)
                        .await
                        .map_err(|source| WatchError::Outbox {
                            at: label.clone(),
                            source,
                        })?;
                let Some(newest) = rows.last() else { break };
                *last = newest.id;
                all.extend(rows.iter().map(|r| Watched::from_row(label, r)));
                if rows.len() < 500 {
                    break;
                }
            }
        }
        all.sort_by_key(|w| w.time);
        Ok(all)
    }
}

/// Consumes every event published to `exchange` from now on, calling `on_event` for each,
/// until `on_event` returns false or the stream fails. The queue is exclusive and goes away
/// with the connection: watching takes nothing from other consumers.
pub async fn watch_broker(
    url: &str,
    exchange: &str,
    connect_timeout: Duration,
    mut on_event: impl FnMut(Watched) -> bool,
) -> Result<(), WatchError> {
    let fail = |reason: String| WatchError::Broker {
        at: redact_amqp_url(url),
        reason,
    };
    let connect = connect_amqp(url, connection_properties("perth-events"));
    let connection = tokio::time::timeout(connect_timeout, connect)
        .await
        .map_err(|_| fail(format!("no answer within {connect_timeout:?}")))?
        .map_err(|e| match e {
            AmqpConnectError::Tls(problem) => WatchError::Tls(PublishError::Tls {
                at: redact_amqp_url(url),
                problem,
            }),
            AmqpConnectError::Other(reason) => fail(reason),
        })?;
    let setup = async {
        let channel = connection.create_channel().await?;
        declare_exchange(&channel, exchange).await?;
        let queue = channel
            .queue_declare(
                "",
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.name().as_str(),
                exchange,
                "#",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let consumer = channel
            .basic_consume(
                queue.name().as_str(),
                "perth-events",
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok::<_, lapin::Error>((channel, consumer))
    };
    let (_channel, mut consumer) = tokio::time::timeout(connect_timeout, setup)
        .await
        .map_err(|_| fail(format!("no answer within {connect_timeout:?}")))?
        .map_err(|e| fail(e.to_string()))?;
    use futures_util::StreamExt as _;
    while let Some(delivery) = consumer.next().await {
        let delivery = delivery.map_err(|e| fail(e.to_string()))?;
        let watched = Watched::from_payload("broker", &delivery.data, Utc::now());
        delivery
            .ack(BasicAckOptions::default())
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !on_event(watched) {
            return Ok(());
        }
    }
    Err(fail("the broker closed the stream".into()))
}

/// Returns a one-line description of an event's data for people: the intent summary, the
/// worktree, the notification message, else the data's first fields.
pub fn describe(w: &Watched) -> String {
    let data = &w.event["data"];
    let pick = |path: &[&str]| {
        let mut v = data;
        for p in path {
            v = &v[*p];
        }
        v.as_str().map(str::to_owned)
    };
    let text = pick(&["entry", "summary"])
        .or_else(|| pick(&["summary"]))
        .or_else(|| pick(&["message"]))
        .or_else(|| pick(&["snapshot", "model"]).map(|m| format!("snapshot by {m}")))
        .or_else(|| pick(&["worktree", "path"]))
        .or_else(|| pick(&["path"]))
        .unwrap_or_else(|| match data {
            serde_json::Value::Object(map) => map
                .iter()
                .take(3)
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" "),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        });
    // One line, no control characters: the text came from agents and panes.
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(160)
        .collect()
}
