//! The pump without a broker: Bloodbank turned off, and a configured broker that is down.

use std::time::{Duration, Instant};

use bloodbank::{OutboxPump, PumpConfig};

use crate::support::{append, numbered, outbox};

#[tokio::test]
async fn without_amqp_url_nothing_is_published_and_the_outbox_is_trimmed() {
    let outbox = outbox().await;
    for n in 0..300 {
        append(&outbox.db, &numbered(n)).await;
    }
    let mut pump = OutboxPump::new(outbox.db.clone(), PumpConfig::default());
    let report = pump.pump_once(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.discarded, 300);
    assert_eq!((report.published, report.pending), (0, 0));
    assert_eq!(report.last_error, None);
    // Kept a day like published rows, for `perth events`; nothing is left to send.
    assert!(outbox.db.outbox_pending(1).await.unwrap().is_empty());
    let mut conn = outbox.db.acquire().await.unwrap();
    assert_eq!(store::outbox::all(conn.conn()).await.unwrap().len(), 300);
    drop(conn);

    // Once they are older than `keep_published`, they go.
    append(&outbox.db, &numbered(300)).await;
    let mut pump = OutboxPump::new(
        outbox.db.clone(),
        PumpConfig {
            keep_published: Duration::ZERO,
            ..Default::default()
        },
    );
    let report = pump.pump_once(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.discarded, 1);
    let mut conn = outbox.db.acquire().await.unwrap();
    assert!(store::outbox::all(conn.conn()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_dead_broker_keeps_the_rows_and_does_not_hold_the_caller() {
    let outbox = outbox().await;
    for n in 0..3 {
        append(&outbox.db, &numbered(n)).await;
    }
    let port = tests::free_port();
    let mut pump = OutboxPump::new(
        outbox.db.clone(),
        PumpConfig {
            amqp_url: Some(format!("amqp://bb:hunter2@127.0.0.1:{port}/%2f")),
            ..Default::default()
        },
    );
    let started = Instant::now();
    let report = pump.pump_once(Duration::from_millis(1500)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (report.published, report.discarded, report.pending),
        (0, 0, 3)
    );
    let error = report.last_error.expect("an error");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(!error.contains("hunter2"), "{error}");

    let first = outbox.db.outbox_pending(1).await.unwrap().remove(0);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.last_error.as_deref(), Some(error.as_str()));
}
