//! The event outbox (DESIGN.md D6): events are stored with the change they describe, published later.
//!
//! A row is appended in the caller's transaction, read back in id order by the publisher
//! (`bloodbank::OutboxPump`), marked published once the broker confirmed it, and trimmed
//! afterwards. Unpublished rows are never deleted.

use chrono::{DateTime, Utc};

use crate::{params, Bind, Conn, Error, Param, QueryError, Row};

/// Longest `last_error` kept per row; longer messages are cut.
const MAX_ERROR_LEN: usize = 2000;

/// An event to append: the routing fields plus the serialized CloudEvent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOutboxEvent {
    /// The event's unique id (CloudEvents `id`).
    pub event_id: String,
    /// Who emitted it (CloudEvents `source`, for example `perth://host/iMi`).
    pub source: String,
    /// The routing key (CloudEvents `type`, for example `workspace.worktree.created`).
    pub event_type: String,
    /// What it is about (CloudEvents `subject`).
    pub subject: Option<String>,
    /// The whole CloudEvent as JSON text, published byte for byte.
    pub payload: String,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// A stored outbox row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// The row id; publication follows it.
    pub id: i64,
    /// The event's unique id.
    pub event_id: String,
    /// Who emitted it.
    pub source: String,
    /// The routing key.
    pub event_type: String,
    /// What it is about.
    pub subject: Option<String>,
    /// The serialized CloudEvent.
    pub payload: String,
    /// When it was appended.
    pub created_at: DateTime<Utc>,
    /// When the broker confirmed it, if it has.
    pub published_at: Option<DateTime<Utc>>,
    /// How many publication attempts failed.
    pub attempts: i32,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Which published rows [`trim`] deletes; both limits apply when both are set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrimPolicy {
    /// Deletes rows published before this time.
    pub published_before: Option<DateTime<Utc>>,
    /// Keeps only the newest this many published rows.
    pub keep_last: Option<u64>,
}

const COLUMNS: &str =
    "id, event_id, source, type, subject, payload, created_at, published_at, attempts, last_error";

fn row_from(row: &Row) -> Result<OutboxRow, QueryError> {
    Ok(OutboxRow {
        id: row.get("id")?,
        event_id: row.get("event_id")?,
        source: row.get("source")?,
        event_type: row.get("type")?,
        subject: row.get("subject")?,
        payload: row.get("payload")?,
        created_at: row.get("created_at")?,
        published_at: row.get("published_at")?,
        attempts: row.get("attempts")?,
        last_error: row.get("last_error")?,
    })
}

/// Reads `rows` as outbox rows.
fn rows_from(rows: Vec<Row>) -> Result<Vec<OutboxRow>, QueryError> {
    rows.iter().map(row_from).collect()
}

/// Appends `event` and returns its row id.
pub async fn append(mut conn: Conn<'_>, event: &NewOutboxEvent) -> Result<i64, Error> {
    let sql = "INSERT INTO outbox (event_id, source, type, subject, payload, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    let e = event;
    conn.fetch_scalar(
        sql,
        params![
            e.event_id,
            e.source,
            e.event_type,
            e.subject,
            e.payload,
            e.created_at
        ],
    )
    .await
    .map_err(|e| Error::query("outbox_append", e))
}

/// Returns up to `limit` unpublished rows in id order.
pub async fn pending(mut conn: Conn<'_>, limit: u32) -> Result<Vec<OutboxRow>, Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1");
    conn.fetch_all(&sql, params![i64::from(limit)])
        .await
        .and_then(rows_from)
        .map_err(|e| Error::query("outbox_pending", e))
}

/// Returns how many rows are unpublished.
pub async fn pending_count(mut conn: Conn<'_>) -> Result<u64, Error> {
    let sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
    let n: i64 = conn
        .fetch_scalar(sql, &[])
        .await
        .map_err(|e| Error::query("outbox_pending_count", e))?;
    Ok(n.try_into().unwrap_or(0))
}

/// Returns up to `limit` rows (published or not) with an id above `after`, in id order: what
/// `perth events` shows and follows.
pub async fn since(mut conn: Conn<'_>, after: i64, limit: u32) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id > $1 ORDER BY id LIMIT $2");
    conn.fetch_all(&sql, params![after, i64::from(limit)])
        .await
        .and_then(rows_from)
        .map_err(|e| Error::query("outbox_since", e))
}

/// Returns the highest row id (0 for an empty outbox).
pub async fn last_id(mut conn: Conn<'_>) -> Result<i64, Error> {
    conn.fetch_scalar("SELECT COALESCE(MAX(id), 0) FROM outbox", &[])
        .await
        .map_err(|e| Error::query("outbox_last_id", e))
}

/// Returns every row (published or not) in id order; for tests and diagnostics.
pub async fn all(mut conn: Conn<'_>) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY id");
    conn.fetch_all(&sql, &[])
        .await
        .and_then(rows_from)
        .map_err(|e| Error::query("outbox_all", e))
}

/// Marks the still-unpublished rows among `ids` published at `at`; returns how many changed.
pub async fn mark_published(
    mut conn: Conn<'_>,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<u64, Error> {
    let mut changed = 0;
    // Well under SQLite's and PostgreSQL's limits on bound parameters.
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "UPDATE outbox SET published_at = $1 WHERE published_at IS NULL AND id IN ({})",
            placeholders.join(", ")
        );
        let params: Vec<Param> = std::iter::once(at.param())
            .chain(chunk.iter().map(Bind::param))
            .collect();
        changed += conn
            .execute(&sql, &params)
            .await
            .map_err(|e| Error::query("outbox_mark_published", e))?;
    }
    Ok(changed)
}

/// Counts a failed publication attempt of row `id` and keeps its error.
pub async fn record_failure(mut conn: Conn<'_>, id: i64, error: &str) -> Result<(), Error> {
    let error: String = if error.len() > MAX_ERROR_LEN {
        let mut end = MAX_ERROR_LEN;
        while !error.is_char_boundary(end) {
            end -= 1;
        }
        error[..end].to_owned()
    } else {
        error.to_owned()
    };
    let sql = "UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2";
    conn.execute(sql, params![error, id])
        .await
        .map_err(|e| Error::query("outbox_record_failure", e))?;
    Ok(())
}

/// Deletes published rows as `policy` says; returns how many were deleted.
pub async fn trim(mut conn: Conn<'_>, policy: &TrimPolicy) -> Result<u64, Error> {
    let mut deleted = 0;
    if let Some(before) = policy.published_before {
        let sql = "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1";
        deleted += conn
            .execute(sql, params![before])
            .await
            .map_err(|e| Error::query("outbox_trim", e))?;
    }
    if let Some(keep) = policy.keep_last {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let sql = "DELETE FROM outbox WHERE published_at IS NOT NULL AND id NOT IN \
                   (SELECT id FROM outbox WHERE published_at IS NOT NULL ORDER BY id DESC LIMIT $1)";
        deleted += conn
            .execute(sql, params![keep])
            .await
            .map_err(|e| Error::query("outbox_trim", e))?;
    }
    Ok(deleted)
}
