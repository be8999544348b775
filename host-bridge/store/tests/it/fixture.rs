//! Databases for the tests: one PostgreSQL server shared by the test binary (a fresh database per test) and SQLite temp files.

use store::{Conn, Database};

/// An open database and what it takes to open it again.
pub struct Fixture {
    pub db: Database,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Returns a fresh, migrated PostgreSQL database, or `None` when the test is skipped (never under `CI=true`).
pub async fn postgres(test: &str) -> Option<Fixture> {
    let url = tests::services::fresh_database("t", test)?;
    let db = Database::open(&url).await.expect("opening PostgreSQL");
    Some(Fixture {
        db,
        url,
        _dir: None,
    })
}

/// Returns a fresh, migrated SQLite database in a temp file.
pub async fn sqlite(_test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let db = Database::open(&url).await.expect("opening SQLite");
    Some(Fixture {
        db,
        url,
        _dir: Some(dir),
    })
}

/// Runs `sql` (no parameters, possibly several statements) on `conn`; returns the rows affected.
pub async fn exec(conn: Conn<'_>, sql: &str) -> u64 {
    let affected = match conn {
        Conn::Postgres(c) => sqlx::raw_sql(sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()),
        Conn::Sqlite(c) => sqlx::raw_sql(sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()),
    };
    affected.unwrap_or_else(|e| panic!("running {sql:?}: {e}"))
}

/// Returns the single integer that `sql` selects.
pub async fn scalar(conn: Conn<'_>, sql: &str) -> i64 {
    match conn {
        Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await,
        Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await,
    }
    .unwrap_or_else(|e| panic!("running {sql:?}: {e}"))
}
