//! The event outbox (DESIGN.md D6): events are stored with the change they describe, published later.
//!
//! A row is appended in the caller's transaction, read back in id order by the publisher
//! (`bloodbank::OutboxPump`), marked published once the broker confirmed it, and trimmed
//! afterwards. Unpublished rows are never deleted.

use chrono::{DateTime, Utc};

use crate::{with_conn, Conn, Error};

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

fn row_from<R>(row: &R) -> Result<OutboxRow, sqlx::Error>
where
    R: sqlx::Row,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i32: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> DateTime<Utc>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(OutboxRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        source: row.try_get("source")?,
        event_type: row.try_get("type")?,
        subject: row.try_get("subject")?,
        payload: row.try_get("payload")?,
        created_at: row.try_get("created_at")?,
        published_at: row.try_get("published_at")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Appends `event` and returns its row id.
pub async fn append(conn: Conn<'_>, event: &NewOutboxEvent) -> Result<i64, Error> {
    let sql = "INSERT INTO outbox (event_id, source, type, subject, payload, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    with_conn!(conn, |c| {
        sqlx::query_scalar(sql)
            .bind(&event.event_id)
            .bind(&event.source)
            .bind(&event.event_type)
            .bind(&event.subject)
            .bind(&event.payload)
            .bind(event.created_at)
            .fetch_one(&mut *c)
            .await
    })
    .map_err(|e| Error::query("outbox_append", e))
}

/// Returns up to `limit` unpublished rows in id order.
pub async fn pending(conn: Conn<'_>, limit: u32) -> Result<Vec<OutboxRow>, Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1");
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
            .and_then(|rows| rows.iter().map(row_from).collect())
    })
    .map_err(|e| Error::query("outbox_pending", e))
}

/// Returns how many rows are unpublished.
pub async fn pending_count(conn: Conn<'_>) -> Result<u64, Error> {
    let sql = "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL";
    let n: i64 = with_conn!(conn, |c| {
        sqlx::query_scalar(sql).fetch_one(&mut *c).await
    })
    .map_err(|e| Error::query("outbox_pending_count", e))?;
    Ok(n.try_into().unwrap_or(0))
}

/// Returns up to `limit` rows (published or not) with an id above `after`, in id order: what
/// `perth events` shows and follows.
pub async fn since(conn: Conn<'_>, after: i64, limit: u32) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id > $1 ORDER BY id LIMIT $2");
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&mut *c)
            .await
            .and_then(|rows| rows.iter().map(row_from).collect())
    })
    .map_err(|e| Error::query("outbox_since", e))
}

/// Returns the highest row id (0 for an empty outbox).
pub async fn last_id(conn: Conn<'_>) -> Result<i64, Error> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM outbox";
    with_conn!(conn, |c| {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await
    })
    .map_err(|e| Error::query("outbox_last_id", e))
}

/// Returns every row (published or not) in id order; for tests and diagnostics.
pub async fn all(conn: Conn<'_>) -> Result<Vec<OutboxRow>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM outbox ORDER BY id");
    with_conn!(conn, |c| {
        sqlx::query(&sql)
            .fetch_all(&mut *c)
            .await
            .and_then(|rows| rows.iter().map(row_from).collect())
    })
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
        changed += with_conn!(&mut conn, |c| {
            let mut query = sqlx::query(&sql).bind(at);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut **c).await.map(|r| r.rows_affected())
        })
        .map_err(|e| Error::query("outbox_mark_published", e))?;
    }
    Ok(changed)
}

/// Counts a failed publication attempt of row `id` and keeps its error.
pub async fn record_failure(conn: Conn<'_>, id: i64, error: &str) -> Result<(), Error> {
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
    with_conn!(conn, |c| {
        sqlx::query(sql)
            .bind(&error)
            .bind(id)
            .execute(&mut *c)
            .await
            .map(|_| ())
    })
    .map_err(|e| Error::query("outbox_record_failure", e))?;
    Ok(())
}

/// Deletes published rows as `policy` says; returns how many were deleted.
pub async fn trim(mut conn: Conn<'_>, policy: &TrimPolicy) -> Result<u64, Error> {
    let mut deleted = 0;
    if let Some(before) = policy.published_before {
        let sql = "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1";
        deleted += with_conn!(&mut conn, |c| {
            sqlx::query(sql)
                .bind(before)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| Error::query("outbox_trim", e))?;
    }
    if let Some(keep) = policy.keep_last {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let sql = "DELETE FROM outbox WHERE published_at IS NOT NULL AND id NOT IN \
                   (SELECT id FROM outbox WHERE published_at IS NOT NULL ORDER BY id DESC LIMIT $1)";
        deleted += with_conn!(&mut conn, |c| {
            sqlx::query(sql)
                .bind(keep)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| Error::query("outbox_trim", e))?;
    }
    Ok(deleted)
}
