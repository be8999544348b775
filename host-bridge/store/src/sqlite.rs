//! The embedded engine: SQLite through rusqlite, a small pool of connections, and transactions.
//!
//! rusqlite is synchronous. Each call runs on tokio's blocking pool with the connection behind
//! a mutex, as sqlx's SQLite driver ran its calls on a worker thread: a statement that waits
//! on another process's write lock (up to the busy timeout) holds up no other task of the
//! caller's runtime, which may be a single thread (host-bridge's engine thread).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::OpenFlags;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::value::{sqlite_time, Param, QueryError};

/// How long a connection waits for another writer's lock before failing.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One SQLite connection, shared with the blocking task running a call on it.
pub(crate) type Handle = Arc<Mutex<rusqlite::Connection>>;

/// A row read from SQLite: the statement's column names and the row's values.
#[derive(Debug)]
pub(crate) struct SqliteRow {
    pub(crate) columns: Arc<[String]>,
    pub(crate) values: Vec<Value>,
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let value = match self {
            Param::I64(v) => v.map(Value::Integer),
            Param::I32(v) => v.map(|n| Value::Integer(n.into())),
            Param::Bool(v) => v.map(|b| Value::Integer(b.into())),
            Param::Text(v) => v.clone().map(Value::Text),
            Param::Bytes(v) => v.clone().map(Value::Blob),
            Param::Time(v) => v.as_ref().map(|t| Value::Text(sqlite_time(t))),
            Param::Json(v) => v.as_ref().map(|j| Value::Text(j.to_string())),
        };
        Ok(ToSqlOutput::Owned(value.unwrap_or(Value::Null)))
    }
}

/// Returns which argument (from 0) placeholder `name` stands for: `$N` and `?N` are argument
/// N. SQLite numbers named parameters such as `$2` by first appearance in the statement, so
/// binding by position would give `$2 ... $1` the wrong values: every placeholder is bound by
/// its name instead.
pub(crate) fn argument_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('$').or_else(|| name.strip_prefix('?'))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<usize>().ok()?.checked_sub(1)
}

fn lock(handle: &Handle) -> MutexGuard<'_, rusqlite::Connection> {
    // A panic while a call held the lock leaves the connection itself usable.
    handle
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `work` on the connection on tokio's blocking pool.
async fn on_connection<T: Send + 'static>(
    handle: &Handle,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, QueryError> {
    let handle = Arc::clone(handle);
    tokio::task::spawn_blocking(move || work(&lock(&handle)))
        .await
        .map_err(|e| QueryError::Worker(e.to_string()))?
}

/// Runs one statement with `params`; returns the rows it changed and (when `rows`) its rows.
pub(crate) async fn run(
    handle: &Handle,
    sql: &str,
    params: &[Param],
    rows: bool,
) -> Result<(u64, Vec<SqliteRow>), QueryError> {
    let sql = sql.to_owned();
    let params = params.to_vec();
    on_connection(handle, move |conn| {
        let mut statement = conn.prepare_cached(&sql)?;
        for index in 1..=statement.parameter_count() {
            let name = statement.parameter_name(index).unwrap_or("?");
            let param = argument_of(name)
                .and_then(|n| params.get(n))
                .ok_or_else(|| QueryError::Placeholder {
                    name: name.to_owned(),
                    given: params.len(),
                })?;
            statement.raw_bind_parameter(index, param)?;
        }
        let columns: Arc<[String]> = statement
            .column_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let changes = !statement.readonly();
        let mut read = Vec::new();
        let mut cursor = statement.raw_query();
        while let Some(row) = cursor.next()? {
            if rows {
                let values = (0..columns.len())
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<rusqlite::Result<_>>()?;
                read.push(SqliteRow {
                    columns: Arc::clone(&columns),
                    values,
                });
            }
        }
        drop(cursor);
        Ok((if changes { conn.changes() } else { 0 }, read))
    })
    .await
}

/// Runs the statements of `sql` one after the other; returns the rows they changed in all.
pub(crate) async fn run_batch(handle: &Handle, sql: &str) -> Result<u64, QueryError> {
    let sql = sql.to_owned();
    on_connection(handle, move |conn| {
        let mut changed = 0;
        let mut batch = rusqlite::Batch::new(conn, &sql);
        while let Some(mut statement) = batch.next()? {
            let changes = !statement.readonly();
            let mut cursor = statement.raw_query();
            while cursor.next()?.is_some() {}
            if changes {
                changed += conn.changes();
            }
        }
        Ok(changed)
    })
    .await
}

/// What an SQLite database URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    File(PathBuf),
    Memory,
}

/// Opens one connection with the settings every connection of the store gets: WAL (files),
/// synchronous NORMAL, the busy timeout, foreign keys.
fn open(location: &Location) -> rusqlite::Result<rusqlite::Connection> {
    let conn = match location {
        Location::File(path) => rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?,
        Location::Memory => rusqlite::Connection::open_in_memory()?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if matches!(location, Location::File(_)) {
        // Answers with the mode now in effect; a row, so it is read rather than executed.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A pool of SQLite connections to one database, opened on demand up to a bound.
///
/// An in-memory database is one connection, kept for the pool's life: each connection to
/// `:memory:` is a database of its own.
#[derive(Clone)]
pub(crate) struct Pool(Arc<PoolShared>);

struct PoolShared {
    location: Location,
    idle: Mutex<Vec<Handle>>,
    permits: Arc<Semaphore>,
    size: u32,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("sqlite::Pool")
            .field("location", &self.0.location)
            .field("size", &self.0.size)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Opens the first connection (so a file that cannot be opened fails here) and the pool.
    pub(crate) async fn connect(
        location: Location,
        size: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, QueryError> {
        let size = if location == Location::Memory {
            1
        } else {
            size.max(1)
        };
        let first = {
            let location = location.clone();
            tokio::task::spawn_blocking(move || open(&location))
                .await
                .map_err(|e| QueryError::Worker(e.to_string()))??
        };
        Ok(Pool(Arc::new(PoolShared {
            location,
            idle: Mutex::new(vec![Arc::new(Mutex::new(first))]),
            permits: Arc::new(Semaphore::new(size as usize)),
            size,
            acquire_timeout,
        })))
    }

    /// Checks a connection out, opening one when none is idle.
    pub(crate) async fn acquire(&self) -> Result<Pooled, QueryError> {
        let permit = tokio::time::timeout(
            self.0.acquire_timeout,
            Arc::clone(&self.0.permits).acquire_owned(),
        )
        .await
        .map_err(|_| QueryError::PoolTimedOut)?
        .map_err(|_| QueryError::PoolClosed)?;
        let idle = self.idle().pop();
        let handle = match idle {
            Some(handle) => handle,
            None => {
                let location = self.0.location.clone();
                let conn = tokio::task::spawn_blocking(move || open(&location))
                    .await
                    .map_err(|e| QueryError::Worker(e.to_string()))??;
                Arc::new(Mutex::new(conn))
            }
        };
        Ok(Pooled {
            handle: Some(handle),
            pool: self.clone(),
            _permit: permit,
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Handle>> {
        self.0.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the idle connections; a checked-out one closes when it comes back, and later
    /// checkouts fail with [`QueryError::PoolClosed`]. It does not wait for checked-out
    /// connections (as sqlx's pool did not), so a caller may close while it still holds one.
    pub(crate) fn close(&self) {
        self.0.permits.close();
        self.idle().clear();
    }
}

/// A connection checked out of a [`Pool`]; it goes back on drop.
#[derive(Debug)]
pub(crate) struct Pooled {
    handle: Option<Handle>,
    pool: Pool,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    pub(crate) fn handle(&self) -> &Handle {
        // Set from checkout until drop.
        self.handle
            .as_ref()
            .expect("a pooled connection until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        // A transaction left open (its future dropped mid-way) must not reach the next user.
        if let Ok(conn) = handle.try_lock() {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        if !self.pool.0.permits.is_closed() {
            self.pool.idle().push(handle);
        }
    }
}

/// An open SQLite transaction on a pooled connection; rolled back when dropped unfinished.
#[derive(Debug)]
pub(crate) struct Transaction {
    conn: Pooled,
    open: bool,
}

impl Transaction {
    /// Begins a deferred transaction (the first write takes the lock, as sqlx's did).
    pub(crate) async fn begin(conn: Pooled) -> Result<Self, QueryError> {
        run_batch(conn.handle(), "BEGIN").await?;
        Ok(Transaction { conn, open: true })
    }

    pub(crate) fn handle(&self) -> &Handle {
        self.conn.handle()
    }

    /// Ends the transaction with `COMMIT` or `ROLLBACK`.
    pub(crate) async fn finish(mut self, commit: bool) -> Result<(), QueryError> {
        run_batch(
            self.conn.handle(),
            if commit { "COMMIT" } else { "ROLLBACK" },
        )
        .await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.open {
            let _ = lock(self.conn.handle()).execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::argument_of;

    #[test]
    fn placeholders_name_their_argument() {
        assert_eq!(argument_of("$1"), Some(0));
        assert_eq!(argument_of("$12"), Some(11));
        assert_eq!(argument_of("?3"), Some(2));
        for bad in ["$0", "$", "?", ":name", "@x", "$1a", "$-1"] {
            assert_eq!(argument_of(bad), None, "{bad}");
        }
    }
}
