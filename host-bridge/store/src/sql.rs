//! The engine-neutral SQL layer: [`Conn`] runs SQL text with `$1..$n` placeholders and typed
//! [`Param`]s on PostgreSQL (sqlx) or SQLite (rusqlite), and hands back [`Row`]s whose columns
//! decode into the types the schema uses ([`FromColumn`]).
//!
//! Every operation of the workspace is written once against it; the SQL differs per engine only
//! where the dialects do (`Conn::backend`).

use chrono::{DateTime, Utc};
use sqlx::{Row as _, ValueRef as _};

use crate::sqlite;
use crate::Backend;

use crate::value::{Param, QueryError};

/// A borrowed connection of either engine: what every operation runs on.
///
/// A pooled connection ([`crate::PooledConn`]) and a [`crate::Transaction`] both hand one out,
/// so domain code outside this crate runs its own SQL in the store's transaction.
#[derive(Debug)]
pub struct Conn<'a>(ConnRef<'a>);

#[derive(Debug)]
enum ConnRef<'a> {
    Postgres(&'a mut sqlx::PgConnection),
    Sqlite(&'a sqlite::Handle),
}

impl<'a> Conn<'a> {
    pub(crate) fn postgres(c: &'a mut sqlx::PgConnection) -> Self {
        Conn(ConnRef::Postgres(c))
    }

    pub(crate) fn sqlite(c: &'a sqlite::Handle) -> Self {
        Conn(ConnRef::Sqlite(c))
    }
}

impl Conn<'_> {
    /// Returns which engine the connection talks to, for the few places the dialects differ.
    pub fn backend(&self) -> Backend {
        match self.0 {
            ConnRef::Postgres(_) => Backend::Postgres,
            ConnRef::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Returns the connection borrowed again, to hand to an operation that takes it by value.
    pub fn reborrow(&mut self) -> Conn<'_> {
        match &mut self.0 {
            ConnRef::Postgres(c) => Conn::postgres(c),
            ConnRef::Sqlite(c) => Conn::sqlite(c),
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub async fn execute(&mut self, sql: &str, params: &[Param]) -> Result<u64, QueryError> {
        match &mut self.0 {
            ConnRef::Postgres(c) => Ok(bind_postgres(sqlx::query(sql), params)
                .execute(&mut **c)
                .await?
                .rows_affected()),
            ConnRef::Sqlite(c) => Ok(sqlite::run(c, sql, params, false).await?.0),
        }
    }

    /// Runs one statement and returns every row it selects.
    pub async fn fetch_all(&mut self, sql: &str, params: &[Param]) -> Result<Vec<Row>, QueryError> {
        match &mut self.0 {
            ConnRef::Postgres(c) => Ok(bind_postgres(sqlx::query(sql), params)
                .fetch_all(&mut **c)
                .await?
                .into_iter()
                .map(|r| Row(RowData::Postgres(r)))
                .collect()),
            ConnRef::Sqlite(c) => Ok(sqlite::run(c, sql, params, true)
                .await?
                .1
                .into_iter()
                .map(|r| Row(RowData::Sqlite(r)))
                .collect()),
        }
    }

    /// Runs one statement and returns its first row, if any.
    pub async fn fetch_optional(
        &mut self,
        sql: &str,
        params: &[Param],
    ) -> Result<Option<Row>, QueryError> {
        match &mut self.0 {
            ConnRef::Postgres(c) => Ok(bind_postgres(sqlx::query(sql), params)
                .fetch_optional(&mut **c)
                .await?
                .map(|r| Row(RowData::Postgres(r)))),
            ConnRef::Sqlite(_) => Ok(self.fetch_all(sql, params).await?.into_iter().next()),
        }
    }

    /// Runs one statement and returns its first row; no row is [`QueryError::RowNotFound`].
    pub async fn fetch_one(&mut self, sql: &str, params: &[Param]) -> Result<Row, QueryError> {
        self.fetch_optional(sql, params)
            .await?
            .ok_or(QueryError::RowNotFound)
    }

    /// Returns column 0 of the first row, decoded: `SELECT COUNT(*) ...` and the like.
    pub async fn fetch_scalar<T: FromColumn>(
        &mut self,
        sql: &str,
        params: &[Param],
    ) -> Result<T, QueryError> {
        self.fetch_one(sql, params).await?.get(0)
    }

    /// Runs `sql`, any number of statements without parameters (a migration, a test's fixture);
    /// returns how many rows they changed in all.
    pub async fn execute_batch(&mut self, sql: &str) -> Result<u64, QueryError> {
        match &mut self.0 {
            ConnRef::Postgres(c) => Ok(sqlx::raw_sql(sql).execute(&mut **c).await?.rows_affected()),
            ConnRef::Sqlite(c) => sqlite::run_batch(c, sql).await,
        }
    }
}

fn bind_postgres<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for p in params {
        query = match p {
            Param::I64(v) => query.bind(*v),
            Param::I32(v) => query.bind(*v),
            Param::Bool(v) => query.bind(*v),
            Param::Text(v) => query.bind(v.as_deref()),
            Param::Bytes(v) => query.bind(v.as_deref()),
            Param::Time(v) => query.bind(*v),
            Param::Json(v) => query.bind(v.as_ref().map(sqlx::types::Json)),
        };
    }
    query
}

/// One row of a query's result.
#[derive(Debug)]
pub struct Row(RowData);

#[derive(Debug)]
enum RowData {
    Postgres(sqlx::postgres::PgRow),
    Sqlite(sqlite::SqliteRow),
}

/// Names a column of a [`Row`]: its name (`&str`) or its position from 0 (`usize`).
pub trait ColumnIndex: std::fmt::Display {
    /// Returns the column's position among `names`.
    fn position<'n>(&self, names: impl Iterator<Item = &'n str>) -> Option<usize>;
}

impl ColumnIndex for &str {
    fn position<'n>(&self, mut names: impl Iterator<Item = &'n str>) -> Option<usize> {
        names.position(|n| n == *self)
    }
}

impl ColumnIndex for usize {
    fn position<'n>(&self, names: impl Iterator<Item = &'n str>) -> Option<usize> {
        (*self < names.count()).then_some(*self)
    }
}

impl Row {
    /// Returns column `column` decoded as `T`.
    pub fn get<T: FromColumn>(&self, column: impl ColumnIndex) -> Result<T, QueryError> {
        let missing = || QueryError::Decode {
            column: column.to_string(),
            reason: "no such column".to_owned(),
        };
        match &self.0 {
            RowData::Postgres(row) => {
                use sqlx::Column as _;
                let i = column
                    .position(row.columns().iter().map(|c| c.name()))
                    .ok_or_else(missing)?;
                Ok(T::from_postgres(row, i)?)
            }
            RowData::Sqlite(row) => {
                let i = column
                    .position(row.columns.iter().map(String::as_str))
                    .ok_or_else(missing)?;
                T::from_sqlite(&row.values[i]).map_err(|reason| QueryError::Decode {
                    column: column.to_string(),
                    reason,
                })
            }
        }
    }
}

/// A type a column decodes into, on either engine.
pub trait FromColumn: Sized {
    /// Decodes column `i` of a PostgreSQL row.
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error>;
    /// Decodes an SQLite value; the error says what did not fit.
    fn from_sqlite(value: &rusqlite::types::Value) -> Result<Self, String>;
}

use rusqlite::types::Value as Lite;

fn unexpected<T>(want: &str, got: &Lite) -> Result<T, String> {
    Err(format!("expected {want}, found {:?}", got.data_type()))
}

impl<T: FromColumn> FromColumn for Option<T> {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        if row.try_get_raw(i)?.is_null() {
            Ok(None)
        } else {
            T::from_postgres(row, i).map(Some)
        }
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Null => Ok(None),
            v => T::from_sqlite(v).map(Some),
        }
    }
}

impl FromColumn for i64 {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        // INTEGER columns and COUNT(*) (BIGINT) both read as i64.
        row.try_get::<i64, _>(i)
            .or_else(|_| row.try_get::<i32, _>(i).map(i64::from))
            .or_else(|_| row.try_get::<i16, _>(i).map(i64::from))
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Integer(n) => Ok(*n),
            v => unexpected("an integer", v),
        }
    }
}

impl FromColumn for i32 {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get::<i32, _>(i).or_else(|e| {
            let wide: i64 = row.try_get(i).map_err(|_| e)?;
            i32::try_from(wide).map_err(|e| sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source: Box::new(e),
            })
        })
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        let n = i64::from_sqlite(value)?;
        i32::try_from(n).map_err(|_| format!("{n} does not fit a 32-bit integer"))
    }
}

impl FromColumn for bool {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        i64::from_sqlite(value).map(|n| n != 0)
    }
}

impl FromColumn for String {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Text(s) => Ok(s.clone()),
            Lite::Integer(n) => Ok(n.to_string()),
            Lite::Real(x) => Ok(x.to_string()),
            v => unexpected("text", v),
        }
    }
}

impl FromColumn for Vec<u8> {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Blob(b) => Ok(b.clone()),
            Lite::Text(s) => Ok(s.as_bytes().to_vec()),
            v => unexpected("a blob", v),
        }
    }
}

impl FromColumn for DateTime<Utc> {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Text(s) => parse_sqlite_time(s).ok_or_else(|| format!("{s:?} is not a time")),
            Lite::Integer(secs) => DateTime::from_timestamp(*secs, 0)
                .ok_or_else(|| format!("{secs} is out of range for a time")),
            v => unexpected("a time", v),
        }
    }
}

/// Reads a time SQLite holds as text: RFC 3339 (what this crate and sqlx write, and the
/// schema's defaults), or SQLite's own `YYYY-MM-DD HH:MM:SS[.fff]` taken as UTC.
fn parse_sqlite_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let text = text.strip_suffix('Z').unwrap_or(text);
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    .map(|naive| naive.and_utc())
}

impl FromColumn for serde_json::Value {
    fn from_postgres(row: &sqlx::postgres::PgRow, i: usize) -> Result<Self, sqlx::Error> {
        match row.try_get::<sqlx::types::Json<serde_json::Value>, _>(i) {
            Ok(json) => Ok(json.0),
            // A JSON column read back as text (`column::TEXT`).
            Err(e) => {
                let text: String = row.try_get(i).map_err(|_| e)?;
                serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
                    index: i.to_string(),
                    source: Box::new(e),
                })
            }
        }
    }
    fn from_sqlite(value: &Lite) -> Result<Self, String> {
        match value {
            Lite::Text(s) => serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}")),
            v => unexpected("JSON text", v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::sqlite_time;

    #[test]
    fn times_read_back_in_every_form_sqlite_holds() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T05:28:20.5+00:00")
            .unwrap()
            .with_timezone(&Utc);
        for text in [
            "2026-12-07T05:28:20.5+00:00",
            "2026-12-07T05:28:20.500Z",
            "2026-12-07 05:28:20.5",
            "2026-12-07T06:28:20.5+01:00",
        ] {
            assert_eq!(parse_sqlite_time(text), Some(t), "{text}");
        }
        assert_eq!(
            parse_sqlite_time("2026-12-07 05:28:20").map(|t| t.timestamp()),
            Some(t.timestamp())
        );
        assert_eq!(parse_sqlite_time("yesterday"), None);
    }

    #[test]
    fn times_are_written_as_sqlx_wrote_them() {
        let t = DateTime::parse_from_rfc3339("2026-12-07T05:28:20.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(sqlite_time(&t), "2026-12-07T05:28:20.123456+00:00");
    }

    #[test]
    fn a_none_binds_a_null_of_its_type() {
        let none: Option<DateTime<Utc>> = None;
        let text: Option<&str> = None;
        assert_eq!(
            crate::params![none, text, 3_i32, "x"],
            &[
                Param::Time(None),
                Param::Text(None),
                Param::I32(Some(3)),
                Param::Text(Some("x".to_owned())),
            ]
        );
    }
}
