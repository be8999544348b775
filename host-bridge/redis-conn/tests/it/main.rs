//! Integration tests of the Redis connection setup against a real redis-server.

use std::time::{Duration, Instant};

use redis_conn::{RedisConn, RedisConnError, RedisOptions};
use tests::{require_or_skip, Redis};

#[tokio::test]
async fn ping_answers_on_a_running_server() {
    let Some(redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let mut conn = RedisConn::connect(&redis.url(), &RedisOptions::default())
        .await
        .unwrap();
    let rtt = conn.ping().await.unwrap();
    assert!(rtt < Duration::from_millis(500), "{rtt:?}");
    let mut c = conn.connection();
    let () = redis::cmd("SET")
        .arg("perth:pane:x")
        .arg("1")
        .query_async(&mut c)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_dead_server_fails_in_well_under_a_second_without_echoing_the_password() {
    let port = tests::free_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    let started = Instant::now();
    let err = RedisConn::connect(&url, &RedisOptions::default())
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(900), "took {elapsed:?}");
    assert!(matches!(err, RedisConnError::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot reach Redis at redis://:***@127.0.0.1:{port}/0: "
        )),
        "{message}"
    );
    assert!(
        message.ends_with("start redis-server or fix redis_url"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[tokio::test]
async fn password_urls_authenticate_and_a_wrong_password_is_not_echoed() {
    let Some(redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let mut admin = redis.client().unwrap();
    admin
        .command(&["CONFIG", "SET", "requirepass", "s3cret-pw"])
        .unwrap();
    let port = redis.port();

    let mut conn = RedisConn::connect(
        &format!("redis://:s3cret-pw@127.0.0.1:{port}"),
        &RedisOptions::default(),
    )
    .await
    .unwrap();
    conn.ping().await.unwrap();
    assert!(!conn.url().contains("s3cret-pw"));

    let err = RedisConn::connect(
        &format!("redis://:wrong-pw@127.0.0.1:{port}"),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    assert!(!message.contains("wrong-pw"), "{message}");

    let err = RedisConn::connect(
        &format!("redis://127.0.0.1:{port}"),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("NOAUTH") || err.to_string().contains("auth"),
        "{err}"
    );
}

#[tokio::test]
async fn rediss_urls_are_understood_and_fail_clearly_against_a_plain_server() {
    let Some(redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let started = Instant::now();
    let err = RedisConn::connect(
        &format!("rediss://:pw@127.0.0.1:{}/#insecure", redis.port()),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500));
    // Even unverified (`#insecure`), TLS asked of a plain port is named as such.
    assert!(
        matches!(
            err,
            RedisConnError::Tls {
                problem: conn_tls::TlsProblem::ServerWithoutTls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[tokio::test]
async fn a_non_redis_url_is_refused() {
    let err = RedisConn::connect("http://x", &RedisOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RedisConnError::InvalidUrl { .. }), "{err:?}");
}

/// Starts a secured Redis (TLS port, requirepass, an ACL user), or skips (never under CI=true).
fn secured() -> Option<(tests::services::TestCa, Redis)> {
    let started = tests::services::TestCa::generate("perth test CA")
        .and_then(|ca| Redis::start_secured(&ca).map(|r| (ca, r)));
    require_or_skip("secured redis", started)
}

fn with_ca(ca: &std::path::Path) -> RedisOptions {
    RedisOptions {
        ca_file: Some(ca.to_owned()),
        // A TLS handshake on a loaded machine needs more than the plain default.
        connect_timeout: Duration::from_secs(2),
        response_timeout: Duration::from_secs(2),
        client_cert: None,
    }
}

#[tokio::test]
async fn rediss_with_a_ca_file_verifies_and_authenticates_both_ways() {
    let Some((ca, redis)) = secured() else { return };
    let password = redis.password().unwrap().to_owned();
    for acl_user in [false, true] {
        let url = redis.tls_url(acl_user).unwrap();
        let conn = RedisConn::connect(&url, &with_ca(&ca.cert()))
            .await
            .unwrap();
        let transport = conn.transport();
        assert!(transport.encrypted);
        assert_eq!(transport.verified, conn_tls::Verification::CaAndHost);
        assert!(!conn.url().contains(&password), "{}", conn.url());
        assert!(!format!("{conn:?}").contains(&password));
        let mut c = conn.connection();
        let () = redis::cmd("SET")
            .arg("perth:pane:tls")
            .arg("1")
            .query_async(&mut c)
            .await
            .unwrap();
    }
    // A wrong password is refused without being echoed.
    let url = redis
        .tls_url(true)
        .unwrap()
        .replace(&password, "not-the-password");
    let err = RedisConn::connect(&url, &with_ca(&ca.cert()))
        .await
        .unwrap_err();
    assert!(matches!(err, RedisConnError::Rejected { .. }), "{err:?}");
    assert!(!err.to_string().contains("not-the-password"), "{err}");
}

#[tokio::test]
async fn rediss_failures_say_which_and_what_to_set() {
    let Some((ca, redis)) = secured() else { return };
    let password = redis.password().unwrap().to_owned();
    let url = redis.tls_url(true).unwrap();
    let expect = |err: RedisConnError, problem: conn_tls::TlsProblem, words: &str| {
        let message = err.to_string();
        assert!(
            matches!(&err, RedisConnError::Tls { problem: p, .. } if *p == problem),
            "{err:?}"
        );
        assert!(message.contains(words), "{message}");
        assert!(!message.contains(&password), "{message}");
        assert!(message.contains("zdrive:***@"), "{message}");
        assert!(!message.contains("start redis-server"), "{message}");
    };
    // The system's trust store does not know the test CA.
    let no_ca = RedisOptions {
        ca_file: None,
        ..with_ca(&ca.cert())
    };
    let err = RedisConn::connect(&url, &no_ca).await.unwrap_err();
    expect(err, conn_tls::TlsProblem::UnknownCa, "redis_ca_file");
    let other = tests::services::TestCa::generate("another CA").unwrap();
    let err = RedisConn::connect(&url, &with_ca(&other.cert()))
        .await
        .unwrap_err();
    expect(err, conn_tls::TlsProblem::UnknownCa, "unknown CA");
    let err = RedisConn::connect(&url.replace("localhost", "127.0.0.1"), &with_ca(&ca.cert()))
        .await
        .unwrap_err();
    expect(err, conn_tls::TlsProblem::WrongHost, "wrong host name");
    // TLS asked of the plain port.
    let plain = url.replace(
        &format!(":{}/", redis.tls_port().unwrap()),
        &format!(":{}/", redis.port()),
    );
    let err = RedisConn::connect(&plain, &with_ca(&ca.cert()))
        .await
        .unwrap_err();
    expect(err, conn_tls::TlsProblem::ServerWithoutTls, "tls-port");
}

#[tokio::test]
async fn a_server_that_wants_client_certificates_gets_one_and_refuses_none() {
    let started = tests::services::TestCa::generate("perth test CA")
        .and_then(|ca| Redis::start_secured_with_client_certs(&ca).map(|r| (ca, r)));
    let Some((ca, redis)) = require_or_skip("redis wanting client certificates", started) else {
        return;
    };
    let url = redis.tls_url(true).unwrap();
    let pair = ca.client_cert("zdrive-client", "zdrive").unwrap();
    let with_cert = RedisOptions {
        client_cert: Some(redis_conn::ClientIdentity {
            cert: pair.cert.clone(),
            key: pair.key.clone(),
        }),
        ..with_ca(&ca.cert())
    };
    let conn = RedisConn::connect(&url, &with_cert).await.unwrap();
    let mut c = conn.connection();
    let () = redis::cmd("SET")
        .arg("perth:pane:mtls")
        .arg("1")
        .query_async(&mut c)
        .await
        .unwrap();

    // Without a certificate the server ends the connection; the message says what to set.
    let err = RedisConn::connect(&url, &with_ca(&ca.cert()))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            &err,
            RedisConnError::Tls {
                problem: conn_tls::TlsProblem::ClientCertificate,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("redis_cert_file"), "{message}");

    // A certificate from a CA the server does not trust is refused too.
    let other = tests::services::TestCa::generate("another CA").unwrap();
    let stranger = other.client_cert("stranger", "zdrive").unwrap();
    let err = RedisConn::connect(
        &url,
        &RedisOptions {
            client_cert: Some(redis_conn::ClientIdentity {
                cert: stranger.cert,
                key: stranger.key,
            }),
            ..with_ca(&ca.cert())
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            RedisConnError::Tls {
                problem: conn_tls::TlsProblem::ClientCertificate,
                ..
            }
        ),
        "{err:?}"
    );

    // A key file that is missing is named, with the setting to fix.
    let err = RedisConn::connect(
        &url,
        &RedisOptions {
            client_cert: Some(redis_conn::ClientIdentity {
                cert: pair.cert,
                key: ca.dir().join("no-such.key"),
            }),
            ..with_ca(&ca.cert())
        },
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("no-such.key") && message.contains("redis_key_file"),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_login_says_so_and_what_to_set_never_start_the_server() {
    let Some(redis) = require_or_skip("redis", Redis::start()) else {
        return;
    };
    let mut admin = redis.client().unwrap();
    admin
        .command(&[
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">alice-pw",
            "~alice:*",
            "+@all",
        ])
        .unwrap();
    admin
        .command(&["CONFIG", "SET", "requirepass", "s3cret-pw"])
        .unwrap();
    let port = redis.port();
    let refused = |err: RedisConnError, shown_url: &str, secret: &str| {
        assert!(matches!(err, RedisConnError::Rejected { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(shown_url), "{message}");
        assert!(
            message.contains("refused")
                && message.contains("redis://USER:PASSWORD@HOST")
                && message.contains("redis_url"),
            "{message}"
        );
        assert!(!message.contains("start redis-server"), "{message}");
        assert!(!message.contains("cannot reach"), "{message}");
        assert!(!message.contains(secret), "{message}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    };
    // A wrong password for the default user (requirepass): WRONGPASS.
    let err = RedisConn::connect(
        &format!("redis://:wrong-pw@127.0.0.1:{port}/0"),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    refused(err, &format!("redis://:***@127.0.0.1:{port}/0"), "wrong-pw");
    // A wrong password for an ACL user.
    let err = RedisConn::connect(
        &format!("redis://alice:not-alices@127.0.0.1:{port}/0"),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    refused(
        err,
        &format!("redis://alice:***@127.0.0.1:{port}/0"),
        "not-alices",
    );
    // No password at all: NOAUTH on the first command.
    let err = RedisConn::connect(
        &format!("redis://127.0.0.1:{port}/0"),
        &RedisOptions::default(),
    )
    .await
    .unwrap_err();
    refused(err, &format!("redis://127.0.0.1:{port}/0"), "s3cret-pw");
    // The right ACL user's password works.
    RedisConn::connect(
        &format!("redis://alice:alice-pw@127.0.0.1:{port}/0"),
        &RedisOptions::default(),
    )
    .await
    .unwrap();
}
