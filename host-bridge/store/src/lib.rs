//! The database layer shared by iMi and perth: one schema on PostgreSQL or on embedded SQLite.
//!
//! [`Database::open`] takes a URL (`postgres://...`, `sqlite://PATH`, or a plain path), connects
//! with a deadline, and brings the schema up to date with the migrations embedded from
//! `migrations/postgres` and `migrations/sqlite`. Every operation is written once against
//! [`Conn`], a borrowed connection of either engine that runs SQL text with `$1..$n`
//! placeholders (sqlx on PostgreSQL, rusqlite on SQLite), so a pooled connection and a
//! [`Transaction`] run the same code; the contract tests run each operation on both engines.
//!
//! The library never reads `$HOME` or the environment: binaries resolve the URL and pass it in,
//! with libpq's variables in [`PgEnv`] (filled by [`PgEnv::from_process`], which only binaries call).

mod error;
mod migrate;
mod open;
pub mod outbox;
pub mod perth_sessions;
mod pg_tls;
mod sql;
mod sqlite;
mod value;
pub mod worktree_types;

use std::sync::Arc;
use std::time::Duration;

pub use conn_tls::{TlsProblem, Transport, Verification};
pub use error::{redact_url, Error, MigrateError, OpenError};
pub use migrate::{latest_known_version, MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
pub use open::PgEnv;
pub use outbox::{NewOutboxEvent, OutboxRow, TrimPolicy};
pub use sql::{ColumnIndex, Conn, FromColumn, Row};
pub use value::{Bind, Param, QueryError};
pub use worktree_types::{NewWorktreeType, WorktreeType};

/// The product's version: perth's package version, which every binary of the workspace reports
/// (`perth`, `iMi`, `zdrive`, `host-bridge`). It lives here because every binary depends on this
/// crate; the build script reads it from perth's manifest, so the number is written once.
pub const PRODUCT_VERSION: &str = env!("PERTH_PRODUCT_VERSION");

/// The database engine behind a [`Database`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A PostgreSQL server (`postgres://` URL), the production store.
    Postgres,
    /// An SQLite file (or `sqlite::memory:`), the embedded default.
    Sqlite,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        })
    }
}

/// How [`Database::open_with`] connects.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// How long connecting (and each later pool checkout) may take before failing.
    pub connect_timeout: Duration,
    /// The pool's upper bound on connections.
    pub max_connections: u32,
    /// libpq's environment variables, for what a `postgres://` URL leaves out (binaries pass
    /// [`PgEnv::from_process`]); none by default.
    pub pg_env: PgEnv,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            max_connections: 5,
            pg_env: PgEnv::default(),
        }
    }
}

/// An open, migrated database: a connection pool to PostgreSQL or SQLite.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct Database {
    pool: Pool,
    /// Where the database is, without credentials, for messages.
    location: String,
    /// How the connection is secured (plain for SQLite: no network).
    transport: conn_tls::Transport,
    /// The TLS tunnel of a `verify-ca` / `verify-full` database, kept while any clone lives.
    _tunnel: Option<pg_tls::Tunnel>,
    /// PostgreSQL connections on their way back to the pool (see [`PooledConn`]'s drop).
    returning: Arc<Returning>,
}

/// Counts the connections being returned to the pool: sqlx pings a connection before it is
/// idle again, and a checkout in that moment finds none idle and opens another (a TCP
/// connection, TLS, a password exchange and a server process more; a command line that runs
/// its migrations and then its query paid that twice). A checkout waits for them instead.
#[derive(Debug, Default)]
struct Returning {
    count: std::sync::atomic::AtomicUsize,
    done: tokio::sync::Notify,
}

impl Returning {
    /// How long a checkout waits for a returning connection before asking the pool anyway.
    const WAIT_AT_MOST: Duration = Duration::from_millis(500);

    /// Waits until no connection is on its way back (or [`Self::WAIT_AT_MOST`] passed).
    async fn settle(&self) {
        use std::sync::atomic::Ordering;
        let deadline = tokio::time::Instant::now() + Self::WAIT_AT_MOST;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Returns `conn` to its pool from a task, counted while it goes.
    fn give_back(self: &Arc<Self>, mut conn: sqlx::pool::PoolConnection<sqlx::Postgres>) {
        use std::sync::atomic::Ordering;
        let back = conn.return_to_pool();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to ping it from: the pool takes it back as sqlx does, or closes it.
            drop(back);
            return;
        };
        self.count.fetch_add(1, Ordering::AcqRel);
        let returning = Arc::clone(self);
        runtime.spawn(async move {
            back.await;
            returning.count.fetch_sub(1, Ordering::AcqRel);
            returning.done.notify_waiters();
        });
    }
}

#[derive(Clone, Debug)]
enum Pool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlite::Pool),
}

/// Returns `owner` compared with the connecting role, as SQL: `current_user` on PostgreSQL,
/// `''` on SQLite (one user per file).
///
/// Row-level security already keeps a user's rows apart, except from a `BYPASSRLS` role (an
/// administrator), which sees every user's: every lookup by name adds this, so an
/// administrator's perth or iMi restores, saves, lists and deletes its own sessions and
/// projects, never another user's of the same name.
pub fn is_mine(conn: &Conn<'_>) -> &'static str {
    match conn.backend() {
        Backend::Postgres => "(owner = current_user)",
        Backend::Sqlite => "(owner = '')",
    }
}

/// A connection checked out of a [`Database`]'s pool, returned to it on drop.
#[derive(Debug)]
pub struct PooledConn(PooledInner);

#[derive(Debug)]
enum PooledInner {
    Postgres(
        Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
        Arc<Returning>,
    ),
    Sqlite(sqlite::Pooled),
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let PooledInner::Postgres(conn, returning) = &mut self.0 {
            if let Some(conn) = conn.take() {
                returning.give_back(conn);
            }
        }
    }
}

impl PooledConn {
    /// Returns the connection for running operations on.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            PooledInner::Postgres(c, _) => Conn::postgres(c.as_mut().expect("taken only on drop")),
            PooledInner::Sqlite(c) => Conn::sqlite(c.handle()),
        }
    }
}

/// An open transaction; dropped without [`Transaction::commit`] it rolls back.
///
/// Domain changes and [`Transaction::outbox_append`] share it, so an event is stored exactly
/// when the change it describes is.
#[derive(Debug)]
pub struct Transaction(TransactionInner);

#[derive(Debug)]
enum TransactionInner {
    Postgres(PgTransaction),
    Sqlite(sqlite::Transaction),
}

/// A pooled connection on which `BEGIN` was sent, and whether it is still open (rolled back
/// on drop). Not sqlx's `Transaction`: that hands its connection back to the pool by itself,
/// where a checkout right after the commit would not wait for it ([`Returning`]).
#[derive(Debug)]
struct PgTransaction {
    pooled: PooledConn,
    open: bool,
}

impl PgTransaction {
    fn conn(&mut self) -> &mut sqlx::PgConnection {
        match &mut self.pooled.0 {
            PooledInner::Postgres(Some(c), _) => c,
            _ => {
                unreachable!("a PostgreSQL transaction holds a PostgreSQL connection until dropped")
            }
        }
    }

    /// Sends `BEGIN` on `pooled`.
    async fn begin(pooled: PooledConn) -> Result<Self, QueryError> {
        use sqlx::TransactionManager as _;
        let mut tx = PgTransaction {
            pooled,
            open: false,
        };
        sqlx::postgres::PgTransactionManager::begin(tx.conn(), None).await?;
        tx.open = true;
        Ok(tx)
    }

    /// Ends the transaction with `COMMIT` or `ROLLBACK`.
    async fn end(mut self, commit: bool) -> Result<(), QueryError> {
        use sqlx::TransactionManager as _;
        type Manager = sqlx::postgres::PgTransactionManager;
        // Whatever comes of it, the drop sends nothing more: a failed COMMIT or ROLLBACK leaves
        // the connection to the ping that returns it, which closes a broken one.
        self.open = false;
        let ended = if commit {
            Manager::commit(self.conn()).await
        } else {
            Manager::rollback(self.conn()).await
        };
        ended.map_err(QueryError::from)
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        use sqlx::TransactionManager as _;
        if self.open {
            // Queued, and sent before the ping that returns the connection, as sqlx does.
            sqlx::postgres::PgTransactionManager::start_rollback(self.conn());
        }
    }
}

impl Transaction {
    /// Returns the transaction's connection for running operations on.
    pub fn conn(&mut self) -> Conn<'_> {
        match &mut self.0 {
            TransactionInner::Postgres(tx) => Conn::postgres(tx.conn()),
            TransactionInner::Sqlite(tx) => Conn::sqlite(tx.handle()),
        }
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), Error> {
        match self.0 {
            TransactionInner::Postgres(tx) => tx.end(true).await,
            TransactionInner::Sqlite(tx) => tx.finish(true).await,
        }
        .map_err(|e| Error::query("commit", e))
    }

    /// Rolls the transaction back (dropping it does the same, without waiting).
    pub async fn rollback(self) -> Result<(), Error> {
        match self.0 {
            TransactionInner::Postgres(tx) => tx.end(false).await,
            TransactionInner::Sqlite(tx) => tx.finish(false).await,
        }
        .map_err(|e| Error::query("rollback", e))
    }

    /// Appends an event to the outbox inside this transaction; returns its outbox id.
    pub async fn outbox_append(&mut self, event: &NewOutboxEvent) -> Result<i64, Error> {
        outbox::append(self.conn(), event).await
    }

    /// Adds a worktree type inside this transaction.
    pub async fn add_worktree_type(
        &mut self,
        new: &NewWorktreeType,
    ) -> Result<WorktreeType, Error> {
        worktree_types::add(self.conn(), new).await
    }
}

impl Database {
    /// Opens the database at `url` with default options, migrating it to the latest schema.
    ///
    /// `url` is `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://`), `sqlite://PATH`,
    /// `sqlite::memory:`, or a plain file path for SQLite (its folder is created if missing).
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        Self::open_with(url, &OpenOptions::default()).await
    }

    /// Opens the database at `url` (see [`Database::open`]) with `options`.
    pub async fn open_with(url: &str, options: &OpenOptions) -> Result<Self, OpenError> {
        let _turn = open::turn(url).await;
        let db = open::connect(url, options).await?;
        migrate::run(&db).await?;
        Ok(db)
    }

    /// Returns which engine this database runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Postgres(_) => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Returns where the database is (host:port/db or file path), without credentials.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Returns how connections to the database are secured (encrypted, verified), as seen when it opened.
    pub fn transport(&self) -> conn_tls::Transport {
        self.transport
    }

    /// Checks a connection out of the pool.
    pub async fn acquire(&self) -> Result<PooledConn, Error> {
        let inner = match &self.pool {
            Pool::Postgres(p) => {
                self.returning.settle().await;
                p.acquire()
                    .await
                    .map(|c| PooledInner::Postgres(Some(c), Arc::clone(&self.returning)))
                    .map_err(QueryError::from)
            }
            Pool::Sqlite(p) => p.acquire().await.map(PooledInner::Sqlite),
        };
        inner
            .map(PooledConn)
            .map_err(|e| Error::query("acquire a connection", e))
    }

    /// Begins a transaction.
    pub async fn begin(&self) -> Result<Transaction, Error> {
        let inner = match &self.pool {
            Pool::Postgres(_) => {
                let pooled = self.acquire().await?;
                PgTransaction::begin(pooled)
                    .await
                    .map(TransactionInner::Postgres)
            }
            Pool::Sqlite(p) => match p.acquire().await {
                Ok(conn) => sqlite::Transaction::begin(conn)
                    .await
                    .map(TransactionInner::Sqlite),
                Err(e) => Err(e),
            },
        };
        inner
            .map(Transaction)
            .map_err(|e| Error::query("begin a transaction", e))
    }

    /// Closes the pool: idle connections now, checked-out ones when they come back; later
    /// checkouts fail. It does not wait for checked-out connections, so a caller may close
    /// while it still holds one.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => {
                self.returning.settle().await;
                if p.num_idle() as u32 >= p.size() {
                    return p.close().await;
                }
                // sqlx's close waits for every checked-out connection. Calling it marks the
                // pool closed at once; a task closes the connections as they come back.
                drop(p.close());
                let p = p.clone();
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move { p.close().await });
                }
            }
            Pool::Sqlite(p) => p.close(),
        }
    }

    /// Returns the highest applied migration version (`None` before any migration ran).
    pub async fn schema_version(&self) -> Result<Option<i64>, Error> {
        migrate::applied_version(self.acquire().await?.conn())
            .await
            .map_err(|e| Error::query("read the schema version", e))
    }

    /// Appends an event to the outbox in a transaction of its own; returns its outbox id.
    ///
    /// Prefer [`Transaction::outbox_append`] when the event describes a change made in a
    /// transaction: then both are stored or neither is.
    pub async fn outbox_append(&self, event: &NewOutboxEvent) -> Result<i64, Error> {
        outbox::append(self.acquire().await?.conn(), event).await
    }

    /// Returns up to `limit` unpublished outbox rows, oldest first (by id).
    pub async fn outbox_pending(&self, limit: u32) -> Result<Vec<OutboxRow>, Error> {
        outbox::pending(self.acquire().await?.conn(), limit).await
    }

    /// Returns up to `limit` outbox rows (published or not) with an id above `after`.
    pub async fn outbox_since(&self, after: i64, limit: u32) -> Result<Vec<OutboxRow>, Error> {
        outbox::since(self.acquire().await?.conn(), after, limit).await
    }

    /// Returns the outbox's highest row id (0 when empty).
    pub async fn outbox_last_id(&self) -> Result<i64, Error> {
        outbox::last_id(self.acquire().await?.conn()).await
    }

    /// Returns how many outbox rows are unpublished.
    pub async fn outbox_pending_count(&self) -> Result<u64, Error> {
        outbox::pending_count(self.acquire().await?.conn()).await
    }

    /// Marks the rows with `ids` published now; returns how many rows changed.
    pub async fn outbox_mark_published(&self, ids: &[i64]) -> Result<u64, Error> {
        outbox::mark_published(self.acquire().await?.conn(), ids, chrono::Utc::now()).await
    }

    /// Records a failed publication attempt of row `id`.
    pub async fn outbox_record_failure(&self, id: i64, error: &str) -> Result<(), Error> {
        outbox::record_failure(self.acquire().await?.conn(), id, error).await
    }

    /// Deletes published rows as `policy` says; unpublished rows are never deleted.
    pub async fn outbox_trim(&self, policy: &TrimPolicy) -> Result<u64, Error> {
        outbox::trim(self.acquire().await?.conn(), policy).await
    }

    /// Returns every worktree type, built-in ones first (by id).
    pub async fn list_worktree_types(&self) -> Result<Vec<WorktreeType>, Error> {
        worktree_types::list(self.acquire().await?.conn()).await
    }

    /// Adds a user-defined worktree type after validating its name and prefixes.
    pub async fn add_worktree_type(&self, new: &NewWorktreeType) -> Result<WorktreeType, Error> {
        worktree_types::add(self.acquire().await?.conn(), new).await
    }
}
