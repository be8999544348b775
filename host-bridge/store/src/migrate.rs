//! The migrations embedded from `migrations/{postgres,sqlite}` and running them on open.
//!
//! sqlx records applied migrations in `_sqlx_migrations`. Before migrating, the highest applied
//! version is compared with the highest this binary knows, so a database from a newer perth
//! or iMi is refused with a message instead of sqlx's "migration N was previously applied but
//! is missing".

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::{with_conn, Backend, Conn, Database, OpenError};

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
pub(crate) async fn applied_version(mut conn: Conn<'_>) -> Result<Option<i64>, sqlx::Error> {
    let table_exists: bool = match conn {
        Conn::Postgres(ref mut c) => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')",
            )
            .fetch_one(&mut **c)
            .await?
        }
        Conn::Sqlite(ref mut c) => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = '_sqlx_migrations')",
            )
            .fetch_one(&mut **c)
            .await?
        }
    };
    if !table_exists {
        return Ok(None);
    }
    with_conn!(&mut conn, |c| {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut **c)
            .await
    })
}

pub(crate) async fn run(db: &Database) -> Result<(), OpenError> {
    let location = db.location().to_owned();
    let query_error = |source| OpenError::Query {
        location: location.clone(),
        source,
    };
    let mut pooled = db.acquire().await.map_err(|e| match e {
        crate::Error::Query { source, .. } => query_error(source),
        other => query_error(sqlx::Error::Protocol(other.to_string())),
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
    let source = match db.backend() {
        Backend::Postgres => Embedded(MIGRATIONS_POSTGRES),
        Backend::Sqlite => Embedded(MIGRATIONS_SQLITE),
    };
    let migrator = Migrator::new(source)
        .await
        .map_err(|source| OpenError::Migrate {
            location: location.clone(),
            source,
        })?;
    let result = match pooled.conn() {
        Conn::Postgres(c) => migrator.run(c).await,
        Conn::Sqlite(c) => migrator.run(c).await,
    };
    result.map_err(|source| OpenError::Migrate { location, source })
}
