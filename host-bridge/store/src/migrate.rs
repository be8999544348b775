//! The migrations embedded from `migrations/{postgres,sqlite}` and running them on open.
//!
//! Applied migrations are recorded in sqlx's `_sqlx_migrations`. PostgreSQL is migrated by
//! sqlx's migrator; SQLite by [`migrate_sqlite`], which reads and writes that table exactly as
//! sqlx's SQLite migrator did (same columns, SHA-384 checksums, refusals), so files migrated by
//! earlier builds open and upgrade. Before migrating, the highest applied version is compared
//! with the highest this binary knows, so a database from a newer perth or iMi is refused with
//! a message instead of "migration N was previously applied but is missing".

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx_core::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::{Backend, Conn, Database, MigrateError, OpenError, QueryError};

/// The PostgreSQL migrations: (version, description, SQL).
pub static MIGRATIONS_POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "session restore",
        include_str!("../../../migrations/postgres/0002_session_restore.sql"),
    ),
    (
        3,
        "agent state",
        include_str!("../../../migrations/postgres/0003_agent_state.sql"),
    ),
    (
        4,
        "row owners",
        include_str!("../../../migrations/postgres/0004_row_owners.sql"),
    ),
    (
        5,
        "shared tables owned",
        include_str!("../../../migrations/postgres/0005_shared_tables_owned.sql"),
    ),
];

/// The SQLite migrations: (version, description, SQL); the same versions as PostgreSQL's.
pub static MIGRATIONS_SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "session restore",
        include_str!("../../../migrations/sqlite/0002_session_restore.sql"),
    ),
    (
        3,
        "agent state",
        include_str!("../../../migrations/sqlite/0003_agent_state.sql"),
    ),
    (
        4,
        "row owners",
        include_str!("../../../migrations/sqlite/0004_row_owners.sql"),
    ),
    (
        5,
        "shared tables owned",
        include_str!("../../../migrations/sqlite/0005_shared_tables_owned.sql"),
    ),
];

/// Returns the highest migration version this binary knows.
pub fn latest_known_version() -> i64 {
    MIGRATIONS_POSTGRES
        .iter()
        .map(|(v, _, _)| *v)
        .max()
        .unwrap_or(0)
}

/// The embedded migrations of one engine, as a sqlx migration source.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<Vec<Migration>, Box<dyn std::error::Error + Send + Sync>>>
                + Send,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Returns the highest successfully applied migration, or `None` on a database never migrated.
pub(crate) async fn applied_version(mut conn: Conn<'_>) -> Result<Option<i64>, QueryError> {
    let exists = match conn.backend() {
        Backend::Postgres => {
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')"
        }
        Backend::Sqlite => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = '_sqlx_migrations')"
        }
    };
    if !conn.fetch_scalar::<bool>(exists, &[]).await? {
        return Ok(None);
    }
    conn.fetch_scalar(
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
        &[],
    )
    .await
}

pub(crate) async fn run(db: &Database) -> Result<(), OpenError> {
    let location = db.location().to_owned();
    let query_error = |source| OpenError::Query {
        location: location.clone(),
        source,
    };
    let mut pooled = db.acquire().await.map_err(|e| match e {
        crate::Error::Query { source, .. } => query_error(source),
        other => query_error(QueryError::Worker(other.to_string())),
    })?;
    let supported = latest_known_version();
    if let Some(found) = applied_version(pooled.conn()).await.map_err(query_error)? {
        if found > supported {
            return Err(OpenError::SchemaTooNew { found, supported });
        }
        // Up to date: nothing to run. On a team server this is every user's case (an
        // administrator migrated), and sqlx's migrator would first try to create its table,
        // which a user's role may not (no CREATE on the schema).
        if found == supported {
            return Ok(());
        }
    }
    let migrated = match db.backend() {
        Backend::Postgres => migrate_postgres(&mut pooled).await,
        Backend::Sqlite => {
            drop(pooled);
            migrate_sqlite(db, MIGRATIONS_SQLITE).await
        }
    };
    migrated.map_err(|source| OpenError::Migrate { location, source })
}

async fn migrate_postgres(pooled: &mut crate::PooledConn) -> Result<(), MigrateError> {
    let migrator = Migrator::new(Embedded(MIGRATIONS_POSTGRES)).await?;
    let crate::PooledConn(crate::PooledInner::Postgres(Some(c), _)) = pooled else {
        unreachable!("a PostgreSQL database hands out PostgreSQL connections");
    };
    Ok(migrator.run(&mut **c).await?)
}

/// sqlx's table of applied migrations, created as sqlx creates it, so that files migrated by
/// earlier builds (sqlx's SQLite migrator) and by this one read the same.
const SQLX_MIGRATIONS_TABLE: &str = "
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);";

/// Returns a migration's checksum as sqlx records it: the SHA-384 of its SQL.
pub(crate) fn checksum(sql: &str) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha384::digest(sql.as_bytes()).to_vec()
}

/// Brings an SQLite database up to date the way sqlx's migrator did: refuses a half-applied
/// migration, an applied one this binary lacks or whose SQL changed (checksum), then applies
/// each missing migration and its `_sqlx_migrations` row in one transaction, and records how
/// long it took (nanoseconds) after the commit.
pub(crate) async fn migrate_sqlite(
    db: &Database,
    migrations: &[(i64, &str, &str)],
) -> Result<(), MigrateError> {
    let mut pooled = db.acquire().await.map_err(execute_error)?;
    let mut conn = pooled.conn();
    conn.execute_batch(SQLX_MIGRATIONS_TABLE)
        .await
        .map_err(MigrateError::Execute)?;
    let dirty: Option<i64> = conn
        .fetch_optional(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            &[],
        )
        .await
        .and_then(|row| row.map(|r| r.get(0)).transpose())
        .map_err(MigrateError::Execute)?;
    if let Some(version) = dirty {
        return Err(MigrateError::Dirty(version));
    }
    let mut applied = std::collections::HashMap::new();
    for row in conn
        .fetch_all(
            "SELECT version, checksum FROM _sqlx_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(MigrateError::Execute)?
    {
        let version: i64 = row.get(0).map_err(MigrateError::Execute)?;
        let sum: Vec<u8> = row.get(1).map_err(MigrateError::Execute)?;
        if !migrations.iter().any(|(v, _, _)| *v == version) {
            return Err(MigrateError::VersionMissing(version));
        }
        applied.insert(version, sum);
    }
    drop(pooled);
    let mut ordered: Vec<_> = migrations.iter().collect();
    ordered.sort_by_key(|(version, _, _)| *version);
    for (version, description, sql) in ordered {
        let sum = checksum(sql);
        match applied.get(version) {
            Some(recorded) if *recorded != sum => {
                return Err(MigrateError::VersionMismatch(*version))
            }
            Some(_) => continue,
            None => {}
        }
        let started = std::time::Instant::now();
        let mut tx = db.begin().await.map_err(execute_error)?;
        tx.conn()
            .execute_batch(sql)
            .await
            .map_err(|source| MigrateError::ExecuteMigration {
                version: *version,
                source,
            })?;
        tx.conn()
            .execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, TRUE, $3, -1)",
                crate::params![*version, *description, sum],
            )
            .await
            .map_err(MigrateError::Execute)?;
        tx.commit().await.map_err(execute_error)?;
        let nanos = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
        db.acquire()
            .await
            .map_err(execute_error)?
            .conn()
            .execute(
                "UPDATE _sqlx_migrations SET execution_time = $1 WHERE version = $2",
                crate::params![nanos, *version],
            )
            .await
            .map_err(MigrateError::Execute)?;
    }
    Ok(())
}

fn execute_error(e: crate::Error) -> MigrateError {
    match e {
        crate::Error::Query { source, .. } => MigrateError::Execute(source),
        other => MigrateError::Execute(QueryError::Worker(other.to_string())),
    }
}
