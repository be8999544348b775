//! The embedded backend: the same panes, logs and tabs in an SQLite file (DESIGN.md D5).
//!
//! It shares the file, and so the WAL and the busy timeout, with zdrive's event outbox
//! (`store::Database`). Every write transaction starts with a write, so concurrent processes
//! queue on SQLite's lock instead of failing on a read-to-write upgrade.

use std::collections::{BTreeMap, HashMap};

use store::{params, Backend, Conn, Database, QueryError};

use super::{
    decode_entry, decode_snapshot, encode, CursorAdvance, CursorAppend, History, MetadataChange,
    PaneStore, PaneUpdate, RenameOutcome, StoreError, StoreKind,
};
use crate::model::{format_time, IntentEntry, PaneRecord, SnapshotRecord};
use crate::store::redis::record_from_hash;

/// The tables, created when missing. History ids grow, so `ORDER BY id DESC` is newest first.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS zdrive_pane (
        name TEXT PRIMARY KEY NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}'
    )",
    "CREATE TABLE IF NOT EXISTS zdrive_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pane TEXT NOT NULL,
        entry TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS zdrive_history_pane ON zdrive_history (pane, id)",
    "CREATE TABLE IF NOT EXISTS zdrive_tab (name TEXT PRIMARY KEY NOT NULL)",
    "CREATE TABLE IF NOT EXISTS zdrive_snapshot (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        pane TEXT NOT NULL,
        record TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS zdrive_snapshot_pane ON zdrive_snapshot (pane, id)",
    "CREATE TABLE IF NOT EXISTS zdrive_cursor (
        name TEXT PRIMARY KEY NOT NULL,
        position INTEGER NOT NULL DEFAULT 0
    )",
];

/// A [`PaneStore`] in an SQLite database opened through `store::Database`.
///
/// A pane's fields are kept as one JSON object with the Redis hash's field names, so both
/// backends share the record mapping and `meta:<key>` fields stay open-ended.
#[derive(Clone, Debug)]
pub struct EmbeddedStore {
    db: Database,
}

fn failed(op: &'static str) -> impl Fn(QueryError) -> StoreError {
    move |e| StoreError::Backend {
        store: "embedded",
        op,
        reason: e.to_string(),
    }
}

fn sqlite(conn: Conn<'_>) -> Result<Conn<'_>, StoreError> {
    match conn.backend() {
        Backend::Sqlite => Ok(conn),
        Backend::Postgres => Err(StoreError::Backend {
            store: "embedded",
            op: "open",
            reason: "the embedded store needs an SQLite database, not PostgreSQL".into(),
        }),
    }
}

fn store_error(op: &'static str, e: store::Error) -> StoreError {
    StoreError::Backend {
        store: "embedded",
        op,
        reason: e.to_string(),
    }
}

impl EmbeddedStore {
    /// Wraps an open SQLite database, creating zdrive's tables when missing.
    pub async fn open(db: Database) -> Result<Self, StoreError> {
        let mut pooled = db.acquire().await.map_err(|e| store_error("open", e))?;
        let c = &mut sqlite(pooled.conn())?;
        for sql in SCHEMA {
            c.execute(sql, &[])
                .await
                .map_err(failed("create zdrive's tables"))?;
        }
        drop(pooled);
        Ok(Self { db })
    }

    /// Returns the database (shared with the outbox).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Checks a connection out of the database for reading or writing (`op`).
    async fn pooled(&self, op: &'static str) -> Result<store::PooledConn, StoreError> {
        self.db.acquire().await.map_err(|e| store_error(op, e))
    }

    /// Begins a transaction.
    async fn begin(&self) -> Result<store::Transaction, StoreError> {
        self.db.begin().await.map_err(|e| store_error("begin", e))
    }
}

/// Returns column 0 of every row `sql` selects.
async fn column(
    c: &mut Conn<'_>,
    sql: &str,
    params: &[store::Param],
    op: &'static str,
) -> Result<Vec<String>, StoreError> {
    c.fetch_all(sql, params)
        .await
        .and_then(|rows| rows.iter().map(|r| r.get(0)).collect())
        .map_err(failed(op))
}

async fn read_fields(
    c: &mut Conn<'_>,
    name: &str,
) -> Result<Option<HashMap<String, String>>, StoreError> {
    let sql = "SELECT fields FROM zdrive_pane WHERE name = $1";
    let json = column(c, sql, params![name], "read a pane").await?;
    json.first()
        .map(|j| {
            serde_json::from_str(j).map_err(|e| StoreError::Corrupt {
                key: format!("zdrive_pane {name}"),
                reason: e.to_string(),
            })
        })
        .transpose()
}

async fn write_fields(
    c: &mut Conn<'_>,
    name: &str,
    fields: &HashMap<String, String>,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(&fields.iter().collect::<BTreeMap<_, _>>())
        .unwrap_or_else(|_| "{}".into());
    c.execute(
        "UPDATE zdrive_pane SET fields = $2 WHERE name = $1",
        params![name, json],
    )
    .await
    .map_err(failed("write a pane"))?;
    Ok(())
}

/// Takes the write lock first: an insert that does nothing when the pane exists.
async fn lock_pane(c: &mut Conn<'_>, name: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO zdrive_pane (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        params![name],
    )
    .await
    .map_err(failed("lock a pane"))?;
    Ok(())
}

/// Returns the count `sql` selects.
async fn count(
    c: &mut Conn<'_>,
    sql: &str,
    name: &str,
    op: &'static str,
) -> Result<u64, StoreError> {
    let n: i64 = c
        .fetch_scalar(sql, params![name])
        .await
        .map_err(failed(op))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

const COUNT_LOG: &str = "SELECT COUNT(*) FROM zdrive_history WHERE pane = $1";

#[async_trait::async_trait]
impl PaneStore for EmbeddedStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Embedded
    }

    fn location(&self) -> String {
        self.db.location().to_owned()
    }

    async fn get_pane(&self, name: &str) -> Result<Option<PaneRecord>, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let fields = read_fields(&mut sqlite(pooled.conn())?, name).await?;
        Ok(fields
            .filter(|f| !f.is_empty())
            .map(|f| record_from_hash(name, f)))
    }

    async fn update_pane(&self, name: &str, update: &PaneUpdate) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        {
            let c = &mut sqlite(tx.conn())?;
            lock_pane(c, name).await?;
            let mut fields = read_fields(c, name).await?.unwrap_or_default();
            for (k, v) in super::redis::update_fields(update) {
                fields.insert(k, v);
            }
            if let Some(created) = &update.created_at {
                fields
                    .entry("created_at".into())
                    .or_insert_with(|| format_time(created));
            }
            write_fields(c, name, &fields).await?;
            if let Some(tab) = &update.tab {
                add_tab(c, tab).await?;
            }
        }
        tx.commit().await.map_err(|e| store_error("commit", e))
    }

    async fn append_intent(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError> {
        self.append(name, entry, cap, false).await
    }

    async fn append_snapshot_entry(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError> {
        self.append(name, entry, cap, true).await
    }

    async fn history(&self, name: &str, last: Option<usize>) -> Result<History, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let c = &mut sqlite(pooled.conn())?;
        let limit = last.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = column(
            c,
            "SELECT entry FROM zdrive_history WHERE pane = $1 ORDER BY id DESC LIMIT $2",
            params![name, limit],
            "read the log",
        )
        .await?;
        let total = count(c, COUNT_LOG, name, "count the log").await?;
        let key = format!("zdrive_history {name}");
        let entries = rows
            .iter()
            .map(|j| decode_entry(&key, j))
            .collect::<Result<_, _>>()?;
        Ok(History { entries, total })
    }

    async fn list_panes(&self) -> Result<Vec<PaneRecord>, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let c = &mut sqlite(pooled.conn())?;
        let rows = c
            .fetch_all("SELECT name, fields FROM zdrive_pane ORDER BY name", &[])
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))
                    .collect::<Result<Vec<_>, QueryError>>()
            })
            .map_err(failed("list panes"))?;
        let mut panes = Vec::with_capacity(rows.len());
        for (name, json) in rows {
            let fields: HashMap<String, String> =
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                    key: format!("zdrive_pane {name}"),
                    reason: e.to_string(),
                })?;
            if !fields.is_empty() {
                panes.push(record_from_hash(&name, fields));
            }
        }
        Ok(panes)
    }

    async fn add_tab(&self, tab: &str) -> Result<(), StoreError> {
        let mut pooled = self.pooled("write").await?;
        add_tab(&mut sqlite(pooled.conn())?, tab).await
    }

    async fn tabs(&self) -> Result<Vec<String>, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let sql = "SELECT name FROM zdrive_tab ORDER BY name";
        column(&mut sqlite(pooled.conn())?, sql, &[], "list tabs").await
    }

    async fn push_snapshot(
        &self,
        name: &str,
        snapshot: &SnapshotRecord,
        keep: usize,
    ) -> Result<(), StoreError> {
        let json = encode("embedded", "encode a snapshot", snapshot)?;
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        let mut tx = self.begin().await?;
        {
            let c = &mut sqlite(tx.conn())?;
            c.execute(
                "INSERT INTO zdrive_snapshot (pane, record) VALUES ($1, $2)",
                params![name, json],
            )
            .await
            .map_err(failed("store a snapshot"))?;
            c.execute(
                "DELETE FROM zdrive_snapshot WHERE pane = $1 AND id NOT IN \
                 (SELECT id FROM zdrive_snapshot WHERE pane = $1 ORDER BY id DESC LIMIT $2)",
                params![name, keep],
            )
            .await
            .map_err(failed("trim the snapshots"))?;
        }
        tx.commit().await.map_err(|e| store_error("commit", e))
    }

    async fn snapshots(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<Vec<SnapshotRecord>, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let limit = last.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = column(
            &mut sqlite(pooled.conn())?,
            "SELECT record FROM zdrive_snapshot WHERE pane = $1 ORDER BY id DESC LIMIT $2",
            params![name, limit],
            "read the snapshots",
        )
        .await?;
        let key = format!("zdrive_snapshot {name}");
        rows.iter().map(|j| decode_snapshot(&key, j)).collect()
    }

    async fn rename_pane(&self, old: &str, new: &str) -> Result<RenameOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let outcome = {
            let c = &mut sqlite(tx.conn())?;
            // The write that takes the lock; the row it may add goes again below.
            lock_pane(c, new).await?;
            if holds_pane(c, new).await? {
                RenameOutcome::Taken
            } else if !holds_pane(c, old).await? {
                RenameOutcome::Missing
            } else {
                c.execute("DELETE FROM zdrive_pane WHERE name = $1", params![new])
                    .await
                    .map_err(failed("rename a pane"))?;
                for sql in [
                    "UPDATE zdrive_pane SET name = $2 WHERE name = $1",
                    "UPDATE zdrive_history SET pane = $2 WHERE pane = $1",
                    "UPDATE zdrive_snapshot SET pane = $2 WHERE pane = $1",
                ] {
                    c.execute(sql, params![old, new])
                        .await
                        .map_err(failed("rename a pane"))?;
                }
                RenameOutcome::Renamed
            }
        };
        end(tx, outcome == RenameOutcome::Renamed).await?;
        Ok(outcome)
    }

    async fn tag_pane(&self, name: &str, change: &MetadataChange) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let tagged = {
            let c = &mut sqlite(tx.conn())?;
            lock_pane(c, name).await?;
            let mut fields = read_fields(c, name).await?.unwrap_or_default();
            if fields.is_empty() {
                false
            } else {
                for key in &change.remove {
                    fields.remove(&format!("meta:{key}"));
                }
                for (key, value) in &change.set {
                    fields.insert(format!("meta:{key}"), value.clone());
                }
                write_fields(c, name, &fields).await?;
                true
            }
        };
        end(tx, tagged).await?;
        Ok(tagged)
    }

    async fn cursor(&self, name: &str) -> Result<i64, StoreError> {
        let mut pooled = self.pooled("read").await?;
        let position: Option<i64> = sqlite(pooled.conn())?
            .fetch_optional(
                "SELECT position FROM zdrive_cursor WHERE name = $1",
                params![name],
            )
            .await
            .and_then(|row| row.map(|r| r.get(0)).transpose())
            .map_err(failed("read a cursor"))?;
        Ok(position.unwrap_or(0))
    }

    async fn advance_cursor(
        &self,
        name: &str,
        position: i64,
        append: Option<CursorAppend<'_>>,
    ) -> Result<CursorAdvance, StoreError> {
        let mut tx = self.begin().await?;
        let outcome = {
            let c = &mut sqlite(tx.conn())?;
            // The write that takes the lock, then the move that only goes forward.
            c.execute(
                "INSERT INTO zdrive_cursor (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                params![name],
            )
            .await
            .map_err(failed("lock a cursor"))?;
            let moved = c
                .execute(
                    "UPDATE zdrive_cursor SET position = $2 WHERE name = $1 AND position < $2",
                    params![name, position],
                )
                .await
                .map_err(failed("move a cursor"))?;
            match (moved, append) {
                (0, _) => CursorAdvance::AlreadyThere,
                (_, None) => CursorAdvance::Moved,
                (_, Some(a)) => {
                    lock_pane(c, a.pane).await?;
                    CursorAdvance::Appended(append_in(c, a.pane, a.entry, a.cap, false).await?)
                }
            }
        };
        end(tx, outcome != CursorAdvance::AlreadyThere).await?;
        Ok(outcome)
    }

    async fn reset_cursor(&self, name: &str, position: i64) -> Result<(), StoreError> {
        let mut pooled = self.pooled("write").await?;
        sqlite(pooled.conn())?
            .execute(
                "INSERT INTO zdrive_cursor (name, position) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                params![name, position],
            )
            .await
            .map_err(failed("set a cursor"))?;
        Ok(())
    }
}

impl EmbeddedStore {
    /// Appends `entry` (or with `replace_snapshot` puts it over a newest entry that is a
    /// snapshot), trims the log to `cap` and touches the pane, in one transaction.
    async fn append(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
        replace_snapshot: bool,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let total = {
            let c = &mut sqlite(tx.conn())?;
            lock_pane(c, name).await?;
            append_in(c, name, entry, cap, replace_snapshot).await?
        };
        tx.commit().await.map_err(|e| store_error("commit", e))?;
        Ok(total)
    }
}

/// Appends `entry` (or with `replace_snapshot` puts it over a newest entry that is a
/// snapshot), trims the log to `cap` and touches the pane, inside the caller's transaction,
/// which holds the write lock already; returns the pane's entry count.
async fn append_in(
    c: &mut Conn<'_>,
    name: &str,
    entry: &IntentEntry,
    cap: usize,
    replace_snapshot: bool,
) -> Result<u64, StoreError> {
    let json = encode("embedded", "encode an intent entry", entry)?;
    let cap = i64::try_from(cap.max(1)).unwrap_or(i64::MAX);
    let head: Option<(i64, String)> = if replace_snapshot {
        c.fetch_optional(
            "SELECT id, entry FROM zdrive_history WHERE pane = $1 ORDER BY id DESC LIMIT 1",
            params![name],
        )
        .await
        .and_then(|row| row.map(|r| Ok((r.get(0)?, r.get(1)?))).transpose())
        .map_err(failed("read the log"))?
    } else {
        None
    };
    match head.filter(|(_, j)| super::is_snapshot_json(j)) {
        Some((id, _)) => {
            c.execute(
                "UPDATE zdrive_history SET entry = $2 WHERE id = $1",
                params![id, json],
            )
            .await
            .map_err(failed("replace an entry"))?;
        }
        None => {
            c.execute(
                "INSERT INTO zdrive_history (pane, entry) VALUES ($1, $2)",
                params![name, json],
            )
            .await
            .map_err(failed("append an entry"))?;
        }
    }
    c.execute(
        "DELETE FROM zdrive_history WHERE pane = $1 AND id NOT IN \
         (SELECT id FROM zdrive_history WHERE pane = $1 ORDER BY id DESC LIMIT $2)",
        params![name, cap],
    )
    .await
    .map_err(failed("trim the log"))?;
    let mut fields = read_fields(c, name).await?.unwrap_or_default();
    let at = format_time(&entry.timestamp);
    fields.insert("last_accessed".into(), at.clone());
    fields.entry("created_at".into()).or_insert(at);
    write_fields(c, name, &fields).await?;
    count(c, COUNT_LOG, name, "count the log").await
}

/// Commits the transaction when `keep`, else rolls it back.
async fn end(tx: store::Transaction, keep: bool) -> Result<(), StoreError> {
    if keep {
        tx.commit().await.map_err(|e| store_error("commit", e))
    } else {
        tx.rollback().await.map_err(|e| store_error("roll back", e))
    }
}

/// Returns whether anything is stored under `name`: a record with fields, log entries or
/// snapshots.
async fn holds_pane(c: &mut Conn<'_>, name: &str) -> Result<bool, StoreError> {
    let fields = read_fields(c, name).await?;
    if fields.is_some_and(|f| !f.is_empty()) {
        return Ok(true);
    }
    let sql = "SELECT (SELECT COUNT(*) FROM zdrive_history WHERE pane = $1) \
               + (SELECT COUNT(*) FROM zdrive_snapshot WHERE pane = $1)";
    Ok(count(c, sql, name, "look a pane up").await? > 0)
}

async fn add_tab(c: &mut Conn<'_>, tab: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO zdrive_tab (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        params![tab],
    )
    .await
    .map_err(failed("add a tab"))?;
    Ok(())
}
