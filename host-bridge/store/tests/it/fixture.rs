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
pub async fn exec(mut conn: Conn<'_>, sql: &str) -> u64 {
    conn.execute_batch(sql)
        .await
        .unwrap_or_else(|e| panic!("running {sql:?}: {e}"))
}

/// Returns the single integer that `sql` selects.
pub async fn scalar(mut conn: Conn<'_>, sql: &str) -> i64 {
    conn.fetch_scalar(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("running {sql:?}: {e}"))
}

/// `_sqlx_migrations` of a file the previous build (sqlx 0.8.6's SQLite migrator) migrated to
/// version 4, dumped with `sqlite3 FILE .dump _sqlx_migrations`: the table as sqlx created it
/// and one `INSERT` line per migration.
pub const SQLX_DUMP: &str = include_str!("sqlx-0.8.6-migrations.sql");

/// Makes the SQLite file at `path` as the previous build left it at schema version `version`:
/// the migrations' SQL applied and [`SQLX_DUMP`]'s table with its rows up to that version; then
/// runs `then` (changes to those rows, data).
pub fn sqlx_era_sqlite(path: &std::path::Path, version: i64, then: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for (v, _, sql) in store::MIGRATIONS_SQLITE.iter().filter(|m| m.0 <= version) {
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("migration {v}: {e}"));
    }
    let kept = SQLX_DUMP.lines().filter(|line| {
        let row = line.strip_prefix("INSERT INTO _sqlx_migrations VALUES(");
        row.is_none_or(|r| r.split(',').next().and_then(|v| v.parse::<i64>().ok()) <= Some(version))
    });
    conn.execute_batch(&kept.collect::<Vec<_>>().join("\n"))
        .unwrap();
    conn.execute_batch(then).unwrap();
}
