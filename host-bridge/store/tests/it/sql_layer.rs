//! The engine-neutral SQL layer on both engines: placeholders, every value type, transactions.

use chrono::{DateTime, Utc};
use store::{params, Backend, Bind, Conn, Param};

use crate::fixture::Fixture;

on_both_engines!(
    placeholders_are_bound_by_their_number,
    every_value_type_round_trips,
    a_transaction_commits_or_rolls_back,
    a_unique_violation_is_recognised,
    closing_while_holding_a_connection_returns,
);

/// Makes a table with a column of each type the schema uses.
async fn value_table(conn: &mut Conn<'_>) {
    let sql = match conn.backend() {
        Backend::Postgres => {
            "CREATE TABLE vals (id INTEGER PRIMARY KEY, big BIGINT, small INTEGER, flag BOOLEAN, \
             words TEXT, bytes BYTEA, at TIMESTAMPTZ, doc JSONB)"
        }
        Backend::Sqlite => {
            "CREATE TABLE vals (id INTEGER PRIMARY KEY, big INTEGER, small INTEGER, flag BOOLEAN, \
             words TEXT, bytes BLOB, at TEXT, doc TEXT)"
        }
    };
    conn.execute_batch(sql).await.unwrap();
}

async fn placeholders_are_bound_by_their_number(f: Fixture) {
    let mut pooled = f.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    // SQLite numbers `$N` parameters by first appearance: `$2` first would be bound to the
    // first argument if they were bound by position.
    let row = conn
        .fetch_one("SELECT $2 AS a, $1 AS b, $2 AS c", params!["one", "two"])
        .await
        .unwrap();
    let got: (String, String, String) = (
        row.get("a").unwrap(),
        row.get("b").unwrap(),
        row.get(2).unwrap(),
    );
    assert_eq!(got, ("two".into(), "one".into(), "two".into()));

    value_table(&mut conn).await;
    conn.execute(
        "INSERT INTO vals (id, words, big) VALUES ($3, $1, $2)",
        params!["x", 7_i64, 1_i32],
    )
    .await
    .unwrap();
    let (words, big): (String, i64) = {
        let row = conn
            .fetch_one("SELECT words, big FROM vals WHERE id = $1", params![1_i32])
            .await
            .unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap())
    };
    assert_eq!((words.as_str(), big), ("x", 7));
    // A placeholder without its argument is an error, not a NULL.
    let err = conn
        .fetch_one("SELECT words FROM vals WHERE id = $2", params![1_i32])
        .await
        .unwrap_err();
    assert!(!err.is_unavailable(), "{err}");
}

async fn every_value_type_round_trips(f: Fixture) {
    let mut pooled = f.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    value_table(&mut conn).await;
    let at: DateTime<Utc> = "2026-12-07T05:28:20.123456Z".parse().unwrap();
    let doc = serde_json::json!({"a": [1, "two", null], "ü": true});
    let insert = "INSERT INTO vals (id, big, small, flag, words, bytes, at, doc) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    conn.execute(
        insert,
        params![
            1_i32,
            i64::MAX,
            i32::MIN,
            true,
            "it's \"quoted\" ✓",
            vec![0_u8, 255, 10],
            at,
            doc
        ],
    )
    .await
    .unwrap();
    let none_text: Option<&str> = None;
    let nulls: Vec<Param> = vec![
        2_i32.param(),
        Option::<i64>::None.param(),
        Option::<i32>::None.param(),
        Option::<bool>::None.param(),
        none_text.param(),
        Option::<Vec<u8>>::None.param(),
        Option::<DateTime<Utc>>::None.param(),
        Option::<serde_json::Value>::None.param(),
    ];
    conn.execute(insert, &nulls).await.unwrap();

    let rows = conn
        .fetch_all(
            "SELECT big, small, flag, words, bytes, at, doc FROM vals ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let full = &rows[0];
    assert_eq!(full.get::<i64>("big").unwrap(), i64::MAX);
    assert_eq!(full.get::<i32>("small").unwrap(), i32::MIN);
    assert!(full.get::<bool>("flag").unwrap());
    assert_eq!(full.get::<String>("words").unwrap(), "it's \"quoted\" ✓");
    assert_eq!(full.get::<Vec<u8>>("bytes").unwrap(), vec![0, 255, 10]);
    assert_eq!(full.get::<DateTime<Utc>>("at").unwrap(), at);
    assert_eq!(full.get::<serde_json::Value>("doc").unwrap(), doc);
    assert_eq!(full.get::<Option<i64>>("big").unwrap(), Some(i64::MAX));

    let empty = &rows[1];
    assert_eq!(empty.get::<Option<i64>>("big").unwrap(), None);
    assert_eq!(empty.get::<Option<i32>>("small").unwrap(), None);
    assert_eq!(empty.get::<Option<bool>>("flag").unwrap(), None);
    assert_eq!(empty.get::<Option<String>>("words").unwrap(), None);
    assert_eq!(empty.get::<Option<Vec<u8>>>("bytes").unwrap(), None);
    assert_eq!(empty.get::<Option<DateTime<Utc>>>("at").unwrap(), None);
    assert_eq!(empty.get::<Option<serde_json::Value>>("doc").unwrap(), None);
    // A NULL is not a value of the type.
    assert!(empty.get::<i64>("big").is_err());
    assert!(full.get::<i64>("no_such_column").is_err());

    // Times compare in SQL with the times bound as parameters, on both engines.
    let later: i64 = conn
        .fetch_scalar(
            "SELECT COUNT(*) FROM vals WHERE at < $1",
            params![at + chrono::Duration::milliseconds(1)],
        )
        .await
        .unwrap();
    assert_eq!(later, 1);
}

async fn a_transaction_commits_or_rolls_back(f: Fixture) {
    {
        let mut pooled = f.db.acquire().await.unwrap();
        value_table(&mut pooled.conn()).await;
    }
    let insert = "INSERT INTO vals (id, words) VALUES ($1, $2)";
    let mut tx = f.db.begin().await.unwrap();
    tx.conn()
        .execute(insert, params![1_i32, "kept"])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = f.db.begin().await.unwrap();
    tx.conn()
        .execute(insert, params![2_i32, "rolled back"])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    {
        let mut tx = f.db.begin().await.unwrap();
        tx.conn()
            .execute(insert, params![3_i32, "dropped"])
            .await
            .unwrap();
    }
    let mut pooled = f.db.acquire().await.unwrap();
    let words: Vec<String> = pooled
        .conn()
        .fetch_all("SELECT words FROM vals ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0).unwrap())
        .collect();
    assert_eq!(words, ["kept"]);
}

async fn a_unique_violation_is_recognised(f: Fixture) {
    let mut pooled = f.db.acquire().await.unwrap();
    let mut conn = pooled.conn();
    value_table(&mut conn).await;
    let insert = "INSERT INTO vals (id) VALUES ($1)";
    conn.execute(insert, params![1_i32]).await.unwrap();
    let err = conn.execute(insert, params![1_i32]).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    let err = conn
        .execute("INSERT INTO nowhere VALUES (1)", &[])
        .await
        .unwrap_err();
    assert!(!err.is_unique_violation(), "{err:?}");
}

async fn closing_while_holding_a_connection_returns(f: Fixture) {
    let mut held = f.db.acquire().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), f.db.close())
        .await
        .expect("close returned while a connection was checked out");
    // The held connection still answers; new checkouts are refused.
    let one: i64 = held.conn().fetch_scalar("SELECT 1", &[]).await.unwrap();
    assert_eq!(one, 1);
    drop(held);
    assert!(f.db.acquire().await.is_err());
}
