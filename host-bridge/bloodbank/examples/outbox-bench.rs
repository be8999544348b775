//! `outbox-bench`: publishes N events through the outbox with confirms, then the same N
//! straight to the broker, and prints both rates as JSON (run by `cargo xtask bench`).
//!
//! Usage: `outbox-bench --amqp-url URL --dir DIR [--events N]`. The outbox is a SQLite file
//! in DIR; a private exchange and a queue bound to it receive the events, and the queue is
//! counted afterwards so that a run which lost or duplicated events fails instead of reporting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bloodbank::{
    connection_properties, declare_exchange, Event, OutboxPump, PumpConfig, CONTENT_TYPE,
};
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
    QueuePurgeOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection};
use store::Database;

/// Events per outbox transaction while filling it (the pump's batch size is its own).
const APPEND_BATCH: usize = 500;
/// Raw publishes per confirm wait: the pump's default batch size, so both sides wait as often.
const RAW_BATCH: usize = 256;

struct Args {
    amqp_url: String,
    dir: PathBuf,
    events: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut amqp_url = None;
    let mut dir = None;
    let mut events = 10_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--amqp-url" => amqp_url = Some(value("--amqp-url")?),
            "--dir" => dir = Some(PathBuf::from(value("--dir")?)),
            "--events" => {
                events = value("--events")?
                    .parse()
                    .map_err(|e| format!("--events: {e}"))?
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    Ok(Args {
        amqp_url: amqp_url.ok_or("--amqp-url is required")?,
        dir: dir.ok_or("--dir is required")?,
        events,
    })
}

const USAGE: &str = "usage: outbox-bench --amqp-url URL --dir DIR [--events N]";

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("outbox-bench: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("outbox-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("outbox-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<serde_json::Value, String> {
    let exchange = format!("bench.{}", std::process::id());
    let db_path = args.dir.join("bench-outbox.db");
    let db = Database::open(&db_path.display().to_string())
        .await
        .map_err(|e| format!("opening {}: {e}", db_path.display()))?;
    let counter = Counter::bind(&args.amqp_url, &exchange).await?;

    let append_started = Instant::now();
    for chunk_start in (0..args.events).step_by(APPEND_BATCH) {
        let mut tx = db.begin().await.map_err(|e| e.to_string())?;
        for n in chunk_start..(chunk_start + APPEND_BATCH).min(args.events) {
            bloodbank::outbox_append(tx.conn(), &event(n))
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    let append_seconds = append_started.elapsed().as_secs_f64();

    let mut pump = OutboxPump::new(
        db.clone(),
        PumpConfig {
            amqp_url: Some(args.amqp_url.clone()),
            exchange: exchange.clone(),
            ..PumpConfig::default()
        },
    );
    let pump_started = Instant::now();
    let report = pump
        .pump_once(Duration::from_secs(300))
        .await
        .map_err(|e| e.to_string())?;
    let pump_seconds = pump_started.elapsed().as_secs_f64();
    if report.pending != 0 || report.published != args.events as u64 {
        return Err(format!(
            "the pump published {} of {} events ({} pending, last error {:?})",
            report.published, args.events, report.pending, report.last_error
        ));
    }
    counter.expect(args.events).await?;
    counter.purge().await?;

    let raw_seconds = publish_raw(&args.amqp_url, &exchange, args.events).await?;
    counter.expect(args.events).await?;
    counter.purge().await?;
    db.close().await;

    let rate = |seconds: f64| args.events as f64 / seconds.max(f64::EPSILON);
    Ok(serde_json::json!({
        "events": args.events,
        "append_seconds": append_seconds,
        "append_events_per_s": rate(append_seconds),
        "outbox_seconds": pump_seconds,
        "outbox_events_per_s": rate(pump_seconds),
        "raw_seconds": raw_seconds,
        "raw_events_per_s": rate(raw_seconds),
    }))
}

/// Returns event number `n`, shaped like the suite's events (a subject, a small JSON body).
fn event(n: usize) -> Event {
    Event::new(
        "perth://bench/bloodbank",
        "workspace.intent.logged",
        serde_json::json!({ "pane": "bench", "n": n, "summary": "Implemented OAuth" }),
    )
    .with_subject(format!("bench-{n}"))
}

/// Publishes `events` events straight to the broker, with confirms, in batches of [`RAW_BATCH`].
async fn publish_raw(url: &str, exchange: &str, events: usize) -> Result<f64, String> {
    let connection = Connection::connect(url, connection_properties("outbox-bench"))
        .await
        .map_err(|e| format!("connecting to the broker: {e}"))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| e.to_string())?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for chunk_start in (0..events).step_by(RAW_BATCH) {
        let mut confirms = Vec::with_capacity(RAW_BATCH);
        for n in chunk_start..(chunk_start + RAW_BATCH).min(events) {
            let event = event(n);
            let confirm = channel
                .basic_publish(
                    exchange,
                    &event.event_type,
                    BasicPublishOptions::default(),
                    event.to_json().as_bytes(),
                    BasicProperties::default()
                        .with_content_type(CONTENT_TYPE.into())
                        .with_delivery_mode(2)
                        .with_message_id(event.id.as_str().into())
                        .with_type(event.event_type.as_str().into()),
                )
                .await
                .map_err(|e| e.to_string())?;
            confirms.push(confirm);
        }
        for confirm in confirms {
            let confirmation = confirm.await.map_err(|e| e.to_string())?;
            if confirmation.is_nack() {
                return Err("the broker refused a raw publish".to_owned());
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = connection.close(200, "done").await;
    Ok(seconds)
}

/// A queue bound to the bench exchange that receives every event, so runs can be checked.
struct Counter {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

impl Counter {
    async fn bind(url: &str, exchange: &str) -> Result<Self, String> {
        let connection = Connection::connect(url, connection_properties("outbox-bench-count"))
            .await
            .map_err(|e| format!("connecting to the broker at {url}: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| e.to_string())?;
        declare_exchange(&channel, exchange)
            .await
            .map_err(|e| e.to_string())?;
        let queue = format!("{exchange}.all");
        channel
            .queue_declare(
                &queue,
                QueueDeclareOptions {
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        channel
            .queue_bind(
                &queue,
                exchange,
                "#",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            _connection: connection,
            channel,
            queue,
        })
    }

    /// Fails unless the queue holds exactly `n` messages (publisher confirms mean they are there).
    async fn expect(&self, n: usize) -> Result<(), String> {
        let queue = self
            .channel
            .queue_declare(
                &self.queue,
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(|e| e.to_string())?;
        if queue.message_count() as usize != n {
            return Err(format!(
                "the queue holds {} messages, {n} were published",
                queue.message_count()
            ));
        }
        Ok(())
    }

    async fn purge(&self) -> Result<(), String> {
        self.channel
            .queue_purge(&self.queue, QueuePurgeOptions::default())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
