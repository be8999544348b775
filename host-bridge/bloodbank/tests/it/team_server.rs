//! The outbox pump on a team server: the outbox in PostgreSQL over `verify-full`, events to RabbitMQ over `amqps://` with a user and password, and TLS failures named.

use std::time::Duration;

use bloodbank::{OutboxPump, PublishError, PumpConfig, EXCHANGE};
use conn_tls::TlsProblem;
use store::Database;
use tests::services::{Postgres, RabbitMq, TestCa};

use crate::support::{append, numbered, Consumer};

fn config(url: String) -> PumpConfig {
    PumpConfig {
        amqp_url: Some(url),
        batch_size: 64,
        connect_timeout: Duration::from_secs(10),
        backoff_min: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        poll_interval: Duration::from_millis(100),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_go_from_a_verify_full_outbox_over_amqps_and_tls_failures_are_named() {
    let started = TestCa::generate("perth test CA").and_then(|ca| {
        let pg = Postgres::start_secured(&ca)?;
        let rabbit = RabbitMq::start_secured(&ca)?;
        Ok((ca, pg, rabbit))
    });
    let Some((ca, pg, rabbit)) = tests::require_or_skip("secured postgres and rabbitmq", started)
    else {
        return;
    };
    let db = Database::open(&pg.url()).await.unwrap();
    assert_eq!(db.transport().verified, conn_tls::Verification::CaAndHost);
    let consumer = Consumer::bind(&rabbit.url(), EXCHANGE, "it-tls").await;
    for n in 0..20 {
        append(&db, &numbered(n)).await;
    }
    let tls_url = rabbit.tls_url().unwrap();
    let password = rabbit.password().unwrap().to_owned();
    let url = bloodbank::with_ca_file(&tls_url, Some(&ca.cert()));
    assert_eq!(
        bloodbank::amqp_transport_of(&url).verified,
        conn_tls::Verification::CaAndHost
    );
    let mut pump = OutboxPump::new(db.clone(), config(url.clone()));
    let report = pump.pump_once(Duration::from_secs(30)).await.unwrap();
    assert_eq!((report.published, report.pending), (20, 0), "{report:?}");
    let received = consumer.take(20, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 20);

    let fails = |url: String| async move {
        match bloodbank::Publisher::connect(
            &url,
            EXCHANGE,
            Duration::from_secs(10),
            Duration::from_secs(5),
        )
        .await
        {
            Ok(_) => panic!("connecting to {url} should fail"),
            Err(e) => e,
        }
    };
    let expect = |err: PublishError, problem: TlsProblem, words: &str| {
        let message = err.to_string();
        assert!(
            matches!(&err, PublishError::Tls { problem: p, .. } if *p == problem),
            "{err:?}"
        );
        assert!(message.contains(words), "{message}");
        assert!(message.contains("bloodbank:***@"), "{message}");
        assert!(!message.contains(&password), "{message}");
        assert!(!message.contains("start RabbitMQ"), "{message}");
    };
    // Without the CA file the system's trust store does not know the test CA.
    expect(
        fails(tls_url.clone()).await,
        TlsProblem::UnknownCa,
        "cacertfile",
    );
    let other = TestCa::generate("another CA").unwrap();
    let wrong_ca = bloodbank::with_ca_file(&tls_url, Some(&other.cert()));
    expect(fails(wrong_ca).await, TlsProblem::UnknownCa, "unknown CA");
    let wrong_host = url.replace("@localhost:", "@127.0.0.1:");
    expect(
        fails(wrong_host).await,
        TlsProblem::WrongHost,
        "wrong host name",
    );
    // amqps:// to the plain-text listener.
    let tls_port = url::Url::parse(&tls_url).unwrap().port().unwrap();
    let plain = url.replace(&format!(":{tls_port}/"), &format!(":{}/", rabbit.port()));
    expect(
        fails(plain).await,
        TlsProblem::ServerWithoutTls,
        "listeners.ssl",
    );
    // A wrong password is refused without being echoed.
    let err = fails(url.replace(&password, "not-the-password")).await;
    assert!(matches!(err, PublishError::Connect { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_wants_client_certificates_gets_one_from_the_url() {
    let started = TestCa::generate("perth test CA")
        .and_then(|ca| RabbitMq::start_secured_with_client_certs(&ca).map(|r| (ca, r)));
    let Some((ca, rabbit)) =
        tests::require_or_skip("rabbitmq wanting client certificates", started)
    else {
        return;
    };
    let pair = ca.client_cert("bloodbank-client", "bloodbank").unwrap();
    let url = bloodbank::with_ca_file(&rabbit.tls_url().unwrap(), Some(&ca.cert()));
    let password = rabbit.password().unwrap().to_owned();
    let connect = |url: String| async move {
        bloodbank::Publisher::connect(
            &url,
            EXCHANGE,
            Duration::from_secs(10),
            Duration::from_secs(5),
        )
        .await
    };

    // Without a certificate the broker ends the connection (with TLS 1.3 its alert comes after
    // the client's side of the handshake and is never read); the message says what to add.
    let err = connect(url.clone()).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(&err, PublishError::Tls { .. }), "{err:?}");
    assert!(
        message.contains("certfile") && message.contains("keyfile"),
        "{message}"
    );
    assert!(!message.contains(&password), "{message}");

    // With RabbitMQ's certfile and keyfile query parameters the pump publishes.
    let with_cert = format!(
        "{url}&certfile={}&keyfile={}",
        pair.cert.display(),
        pair.key.display()
    );
    let db = Database::open("sqlite::memory:").await.unwrap();
    let consumer = Consumer::bind(&rabbit.url(), EXCHANGE, "it-mtls").await;
    for n in 0..5 {
        append(&db, &numbered(n)).await;
    }
    let mut pump = OutboxPump::new(db.clone(), config(with_cert.clone()));
    let report = pump.pump_once(Duration::from_secs(30)).await.unwrap();
    assert_eq!((report.published, report.pending), (5, 0), "{report:?}");
    assert_eq!(consumer.take(5, Duration::from_secs(30)).await.len(), 5);

    // Half a pair is refused before connecting, naming both parameters.
    let half = format!("{url}&certfile={}", pair.cert.display());
    let message = connect(half).await.unwrap_err().to_string();
    assert!(message.contains("give both or neither"), "{message}");
}
