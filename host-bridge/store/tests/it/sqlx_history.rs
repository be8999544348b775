//! SQLite files the previous build migrated with sqlx: the store's own migrator reads and
//! writes `_sqlx_migrations` as sqlx did, upgrades them, and refuses what sqlx refused.

use store::{Database, MigrateError, OpenError};

use crate::fixture::sqlx_era_sqlite;

/// One `_sqlx_migrations` row: version, description, installed_on, success, checksum (hex),
/// execution_time.
type Recorded = (i64, String, String, i64, String, i64);

fn recorded(path: &std::path::Path) -> Vec<Recorded> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT version, description, installed_on, success, hex(checksum), execution_time \
             FROM _sqlx_migrations ORDER BY version",
        )
        .unwrap();
    let rows = statement
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[tokio::test]
async fn a_database_sqlx_migrated_opens_and_upgrades_keeping_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    sqlx_era_sqlite(
        &path,
        2,
        "INSERT INTO sessions (id, name) VALUES ('s1', 'kept');",
    );
    // What sqlx wrote for all four migrations, to compare with.
    let all_by_sqlx = dir.path().join("sqlx.db");
    sqlx_era_sqlite(&all_by_sqlx, 4, "");
    let sqlx_rows = recorded(&all_by_sqlx);

    let db = Database::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(
        db.schema_version().await.unwrap(),
        Some(store::latest_known_version())
    );
    let sessions = store::perth_sessions::list_sessions(db.acquire().await.unwrap().conn())
        .await
        .unwrap();
    assert_eq!(sessions[0].name, "kept");
    db.close().await;

    let rows = recorded(&path);
    // The four sqlx recorded, then the ones added since, recorded the same way.
    assert_eq!(rows.len() as i64, store::latest_known_version());
    for (row, old) in rows.iter().zip(&sqlx_rows) {
        let (version, description, installed_on, success, checksum, time) = row;
        assert_eq!((version, description), (&old.0, &old.1));
        // The checksum is what sqlx computed: the SHA-384 of the migration's SQL.
        assert_eq!(checksum, &old.4, "checksum of migration {version}");
        assert_eq!(*success, 1);
        if *version <= 2 {
            assert_eq!(row, old, "row {version} kept as sqlx wrote it");
        } else {
            // SQLite's CURRENT_TIMESTAMP, and the nanoseconds the migration took.
            assert_eq!(installed_on.len(), old.2.len(), "{installed_on}");
            assert!(*time >= 0, "execution_time {time}");
        }
    }

    // Opening again applies nothing and changes no row.
    let again = Database::open(path.to_str().unwrap()).await.unwrap();
    again.close().await;
    assert_eq!(recorded(&path), rows);
}

/// Opens a file the previous build migrated to version 2 after `change`; returns the refusal,
/// checking that nothing more was recorded.
async fn refused_after(change: &str) -> OpenError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refused.db");
    sqlx_era_sqlite(&path, 2, change);
    let before = recorded(&path);
    let err = Database::open(path.to_str().unwrap()).await.unwrap_err();
    assert_eq!(recorded(&path), before, "rows after {err}");
    err
}

#[tokio::test]
async fn a_changed_migration_is_refused_as_sqlx_refused_it() {
    let err = refused_after("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 2").await;
    assert!(
        matches!(
            &err,
            OpenError::Migrate {
                source: MigrateError::VersionMismatch(2),
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.ends_with("failed: migration 2 was previously applied but has been modified"),
        "{message}"
    );
}

#[tokio::test]
async fn a_half_applied_migration_is_refused() {
    let err = refused_after("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 2").await;
    assert!(
        matches!(
            err,
            OpenError::Migrate {
                source: MigrateError::Dirty(2),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_migration_that_fails_records_no_row() {
    // Migration 3 applied by hand first: the migrator's own run of it fails.
    let err = refused_after(store::MIGRATIONS_SQLITE[2].2).await;
    assert!(
        matches!(
            err,
            OpenError::Migrate {
                source: MigrateError::ExecuteMigration { version: 3, .. },
                ..
            }
        ),
        "{err:?}"
    );
}
