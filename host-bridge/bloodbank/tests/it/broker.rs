//! The pump against a real RabbitMQ: order, confirms, and a broker outage in the middle of a stream.

use std::time::{Duration, Instant};

use bloodbank::{OutboxPump, PumpConfig, CONTENT_TYPE, EXCHANGE};
use tests::{require_or_skip, RabbitMq};

use crate::support::{append, first_deliveries, numbered, outbox, wait_until, Consumer};

fn config(rabbit: &RabbitMq) -> PumpConfig {
    PumpConfig {
        amqp_url: Some(rabbit.url()),
        batch_size: 64,
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        poll_interval: Duration::from_millis(100),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_events_arrive_in_order_with_their_cloudevents_properties() {
    let Some(rabbit) = require_or_skip("rabbitmq", RabbitMq::start()) else {
        return;
    };
    let consumer = Consumer::bind(&rabbit.url(), EXCHANGE, "it-order").await;
    let outbox = outbox().await;
    let events: Vec<_> = (0..200).map(numbered).collect();
    for event in &events {
        append(&outbox.db, event).await;
    }

    let mut pump = OutboxPump::new(outbox.db.clone(), config(&rabbit));
    let report = pump.pump_once(Duration::from_secs(30)).await.unwrap();
    assert_eq!((report.published, report.pending), (200, 0), "{report:?}");

    let received = consumer.take(200, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 200);
    for (r, sent) in received.iter().zip(&events) {
        assert_eq!(&r.event, sent);
        assert_eq!(r.routing_key, "workspace.test.numbered");
        assert_eq!(r.message_id.as_deref(), Some(sent.id.as_str()));
        assert_eq!(r.content_type.as_deref(), Some(CONTENT_TYPE));
        assert_eq!(r.delivery_mode, Some(2));
    }
    // Published rows stay (for a day by default) and are no longer pending.
    assert_eq!(outbox.db.outbox_pending_count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_delays_events_without_losing_or_reordering_them() {
    let Some(mut rabbit) = require_or_skip("rabbitmq", RabbitMq::start()) else {
        return;
    };
    let consumer = Consumer::bind(&rabbit.url(), EXCHANGE, "it-outage").await;
    drop(consumer);
    let outbox = outbox().await;
    let pump = OutboxPump::new(outbox.db.clone(), config(&rabbit));
    let waker = pump.waker();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(pump.run(async {
        let _ = stopped.await;
    }));

    for n in 0..100 {
        append(&outbox.db, &numbered(n)).await;
        waker.wake();
    }
    let db = outbox.db.clone();
    wait_until(
        "the first events to be published",
        Duration::from_secs(30),
        || {
            let db = db.clone();
            async move { (db.outbox_pending_count().await.unwrap() < 100).then_some(()) }
        },
    )
    .await;

    // The broker goes away mid-stream; commands keep appending without waiting for it.
    let rabbit = tokio::task::spawn_blocking(move || {
        rabbit.stop().unwrap();
        rabbit
    })
    .await
    .unwrap();
    let started = Instant::now();
    for n in 100..200 {
        append(&outbox.db, &numbered(n)).await;
        waker.wake();
    }
    let appending = started.elapsed();
    assert!(
        appending < Duration::from_secs(5),
        "appending 100 events took {appending:?}"
    );
    assert!(outbox.db.outbox_pending_count().await.unwrap() > 0);

    let mut rabbit = tokio::task::spawn_blocking(move || {
        let mut rabbit = rabbit;
        rabbit.start_again().unwrap();
        rabbit
    })
    .await
    .unwrap();
    wait_until(
        "the outbox to drain after the broker came back",
        Duration::from_secs(60),
        || {
            let db = db.clone();
            async move { (db.outbox_pending_count().await.unwrap() == 0).then_some(()) }
        },
    )
    .await;
    stop.send(()).unwrap();
    running.await.unwrap();

    let consumer = Consumer::bind(&rabbit.url(), EXCHANGE, "it-outage").await;
    let received = consumer.take(200, Duration::from_secs(30)).await;
    let (order, redeliveries) = first_deliveries(&received);
    assert_eq!(
        order,
        (0..200).collect::<Vec<_>>(),
        "{redeliveries} redeliveries"
    );
    eprintln!(
        "outage test: {} messages, {redeliveries} redeliveries",
        received.len()
    );
    assert!(rabbit.is_running());
}
