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
    assert!(matches!(err, RedisConnError::Unreachable { .. }), "{err:?}");
    assert!(!err.to_string().contains("pw@"), "{err}");
}

#[tokio::test]
async fn a_non_redis_url_is_refused() {
    let err = RedisConn::connect("http://x", &RedisOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RedisConnError::InvalidUrl { .. }), "{err:?}");
}
