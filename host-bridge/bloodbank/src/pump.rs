//! Moving outbox rows to the broker: in id order, with confirms, backing off while the broker is away.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use store::{Database, TrimPolicy};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::publisher::{PublishError, Publisher, EXCHANGE};

/// How the pump publishes.
#[derive(Clone, Debug)]
pub struct PumpConfig {
    /// The broker (`amqp://USER:PASSWORD@HOST:PORT/VHOST`); `None` turns Bloodbank off: rows
    /// are marked published without being sent, and trimmed like published ones.
    pub amqp_url: Option<String>,
    /// The exchange; [`EXCHANGE`] unless a test isolates itself.
    pub exchange: String,
    /// Rows read and published per batch (one confirm wait per batch).
    pub batch_size: u32,
    /// How long connecting to the broker may take.
    pub connect_timeout: Duration,
    /// How long a batch's confirms may take.
    pub confirm_timeout: Duration,
    /// The first retry delay after a failure; it doubles per failure.
    pub backoff_min: Duration,
    /// The longest retry delay.
    pub backoff_max: Duration,
    /// How often [`OutboxPump::run`] looks for rows written by other processes.
    pub poll_interval: Duration,
    /// How long published rows are kept before they are trimmed.
    pub keep_published: Duration,
}

impl Default for PumpConfig {
    fn default() -> Self {
        Self {
            amqp_url: None,
            exchange: EXCHANGE.to_owned(),
            batch_size: 256,
            connect_timeout: Duration::from_secs(2),
            confirm_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            keep_published: Duration::from_secs(24 * 3600),
        }
    }
}

/// Why the pump could not do its work (broker failures are not errors: rows wait).
#[derive(Debug, thiserror::Error)]
pub enum PumpError {
    /// The outbox could not be read or updated.
    #[error("the event outbox is unavailable: {0}")]
    Store(#[from] store::Error),
}

/// What a [`OutboxPump::pump_once`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PumpReport {
    /// Rows the broker confirmed.
    pub published: u64,
    /// Rows dropped because no broker is configured.
    pub discarded: u64,
    /// Rows still waiting.
    pub pending: u64,
    /// The broker failure that stopped the round, if any.
    pub last_error: Option<String>,
}

/// Wakes a running [`OutboxPump::run`] right after an append, instead of at its next poll.
#[derive(Clone, Debug)]
pub struct PumpWaker(Arc<Notify>);

impl PumpWaker {
    /// Tells the pump there is something to publish.
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// The result of one batch.
enum Step {
    Idle,
    Published(u64),
    Discarded(u64),
    BrokerFailed(PublishError),
}

/// Publishes the outbox of a [`Database`] to Bloodbank.
#[derive(Debug)]
pub struct OutboxPump {
    db: Database,
    config: PumpConfig,
    publisher: Option<Publisher>,
    wake: Arc<Notify>,
}

impl OutboxPump {
    /// Returns a pump for `db`'s outbox; it connects to the broker on first use.
    pub fn new(db: Database, config: PumpConfig) -> Self {
        Self {
            db,
            config,
            publisher: None,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Returns a handle that wakes [`OutboxPump::run`].
    pub fn waker(&self) -> PumpWaker {
        PumpWaker(self.wake.clone())
    }

    /// Publishes what is pending until the outbox is empty, the broker fails, or `deadline` passes.
    ///
    /// For command lines: the rows that could not go stay for the next pump (host-bridge or
    /// the next command). Broker failures are reported, not returned as errors.
    pub async fn pump_once(&mut self, deadline: Duration) -> Result<PumpReport, PumpError> {
        let until = Instant::now() + deadline;
        let mut report = PumpReport::default();
        loop {
            let step = match tokio::time::timeout_at(until, self.step()).await {
                Ok(step) => step?,
                Err(_) => {
                    // Confirms that were in flight are lost with the future: those rows are
                    // published again later, which consumers see as redeliveries.
                    self.drop_publisher().await;
                    report.last_error = Some(format!("deadline of {deadline:?} reached"));
                    break;
                }
            };
            match step {
                Step::Idle => break,
                Step::Published(n) => report.published += n,
                Step::Discarded(n) => report.discarded += n,
                Step::BrokerFailed(e) => {
                    report.last_error = Some(e.to_string());
                    break;
                }
            }
        }
        report.pending = self.db.outbox_pending_count().await?;
        Ok(report)
    }

    /// Publishes continuously until `shutdown` completes; for host-bridge.
    ///
    /// Wakes on [`PumpWaker::wake`] or every `poll_interval`; after a failure (broker or
    /// database) it retries with exponential backoff, capped at `backoff_max`.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = self.config.backoff_min;
        loop {
            let delay = match self.step().await {
                Ok(Step::Published(_) | Step::Discarded(_)) => {
                    backoff = self.config.backoff_min;
                    continue;
                }
                Ok(Step::Idle) => {
                    backoff = self.config.backoff_min;
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = self.wake.notified() => continue,
                        _ = tokio::time::sleep(self.config.poll_interval) => continue,
                    }
                }
                Ok(Step::BrokerFailed(e)) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "bloodbank: publishing failed; events wait in the outbox");
                    backoff
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "bloodbank: the outbox is unavailable");
                    backoff
                }
            };
            backoff = (backoff * 2).min(self.config.backoff_max);
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        self.drop_publisher().await;
    }

    /// Publishes (or, without a broker, discards) one batch of pending rows.
    async fn step(&mut self) -> Result<Step, PumpError> {
        let rows = self.db.outbox_pending(self.config.batch_size).await?;
        if rows.is_empty() {
            return Ok(Step::Idle);
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let Some(url) = self.config.amqp_url.clone() else {
            // Kept like published rows, so `perth events` still shows what the tools did.
            let n = self.db.outbox_mark_published(&ids).await?;
            self.trim_published().await?;
            return Ok(Step::Discarded(n));
        };
        let publisher = match self.publisher.take() {
            Some(p) if p.is_connected() => p,
            stale => {
                if let Some(p) = stale {
                    p.close().await;
                }
                match Publisher::connect(
                    &url,
                    &self.config.exchange,
                    self.config.connect_timeout,
                    self.config.confirm_timeout,
                )
                .await
                {
                    Ok(p) => p,
                    Err(e) => {
                        self.db
                            .outbox_record_failure(ids[0], &e.to_string())
                            .await?;
                        return Ok(Step::BrokerFailed(e));
                    }
                }
            }
        };
        let (confirmed, failure) = publisher.publish(&rows).await;
        let published = self.db.outbox_mark_published(&ids[..confirmed]).await?;
        if let Some(e) = failure {
            self.db
                .outbox_record_failure(ids[confirmed.min(ids.len() - 1)], &e.to_string())
                .await?;
            publisher.close().await;
            return Ok(Step::BrokerFailed(e));
        }
        self.publisher = Some(publisher);
        self.trim_published().await?;
        Ok(Step::Published(published))
    }

    /// Deletes the rows published longer than `keep_published` ago.
    async fn trim_published(&self) -> Result<(), PumpError> {
        let keep =
            chrono::Duration::from_std(self.config.keep_published).unwrap_or(chrono::Duration::MAX);
        self.db
            .outbox_trim(&TrimPolicy {
                published_before: Utc::now().checked_sub_signed(keep),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    async fn drop_publisher(&mut self) {
        if let Some(p) = self.publisher.take() {
            p.close().await;
        }
    }
}
