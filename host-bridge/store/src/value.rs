//! What a query takes and how it fails: typed [`Param`]s (and [`Bind`], what turns a Rust value
//! into one) and [`QueryError`], shared by the engine-neutral layer (`sql`) and the engines
//! below it (`sqlite`).

use chrono::{DateTime, SecondsFormat, Utc};

/// A parameter of a query, typed so that a NULL has a type on PostgreSQL too.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// `BIGINT` / `INTEGER`.
    I64(Option<i64>),
    /// `INTEGER` / `INTEGER`.
    I32(Option<i32>),
    /// `BOOLEAN`; SQLite stores 0 or 1.
    Bool(Option<bool>),
    /// `TEXT`.
    Text(Option<String>),
    /// `BYTEA` / `BLOB`.
    Bytes(Option<Vec<u8>>),
    /// `TIMESTAMPTZ`; SQLite stores RFC 3339 text (`2026-01-02T03:04:05.123+00:00`).
    Time(Option<DateTime<Utc>>),
    /// `JSONB`; SQLite stores JSON text.
    Json(Option<serde_json::Value>),
}

/// A value that can be bound as a [`Param`]; `Option<T>` binds a NULL of `T`'s type.
pub trait Bind {
    /// Returns the value as a parameter.
    fn param(&self) -> Param;
    /// Returns a NULL of this type.
    fn null() -> Param;
}

macro_rules! bind_by_value {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl Bind for $t {
            fn param(&self) -> Param {
                Param::$variant(Some(self.clone().into()))
            }
            fn null() -> Param {
                Param::$variant(None)
            }
        }
    )*};
}

bind_by_value!(
    i64 => I64,
    i32 => I32,
    bool => Bool,
    String => Text,
    Vec<u8> => Bytes,
    DateTime<Utc> => Time,
    serde_json::Value => Json,
);

impl Bind for str {
    fn param(&self) -> Param {
        Param::Text(Some(self.to_owned()))
    }
    fn null() -> Param {
        Param::Text(None)
    }
}

impl Bind for [u8] {
    fn param(&self) -> Param {
        Param::Bytes(Some(self.to_vec()))
    }
    fn null() -> Param {
        Param::Bytes(None)
    }
}

impl<T: Bind + ?Sized> Bind for &T {
    fn param(&self) -> Param {
        (**self).param()
    }
    fn null() -> Param {
        T::null()
    }
}

impl<T: Bind> Bind for Option<T> {
    fn param(&self) -> Param {
        match self {
            Some(v) => v.param(),
            None => T::null(),
        }
    }
    fn null() -> Param {
        T::null()
    }
}

/// Returns the parameters for a query: `params![a, &b, c]` binds `$1`, `$2`, `$3`.
#[macro_export]
macro_rules! params {
    ($($e:expr),* $(,)?) => {
        &[$($crate::Bind::param(&$e)),*]
    };
}

/// Returns `t` as SQLite stores it: RFC 3339 with as many fraction digits as it has, `+00:00`
/// (what sqlx wrote before, so text comparisons with older rows hold).
pub(crate) fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// PostgreSQL (through sqlx) failed or refused the query.
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    /// SQLite failed or refused the query.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The query returned no row where one was expected.
    #[error("no rows returned by a query that expected to return at least one row")]
    RowNotFound,
    /// A column's value does not decode into the requested type.
    #[error("error decoding column {column}: {reason}")]
    Decode {
        /// The column (name or position).
        column: String,
        /// What did not fit.
        reason: String,
    },
    /// A placeholder names no parameter that was given.
    #[error("placeholder {name} of the query has no parameter ({given} given); use $1..$n")]
    Placeholder {
        /// The placeholder as written.
        name: String,
        /// How many parameters the query was given.
        given: usize,
    },
    /// No connection became free within the pool's timeout.
    #[error("pool timed out while waiting for an open connection")]
    PoolTimedOut,
    /// The database was closed.
    #[error("attempted to acquire a connection on a closed pool")]
    PoolClosed,
    /// The worker running an SQLite call ended without an answer.
    #[error("the SQLite worker stopped: {0}")]
    Worker(String),
}

impl QueryError {
    /// Returns true when the database could not be reached (as opposed to a rejected query).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            QueryError::Postgres(
                sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Tls(_)
            ) | QueryError::PoolTimedOut
                | QueryError::PoolClosed
        )
    }

    /// Returns true when the query broke a unique constraint (or a primary key).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            QueryError::Postgres(sqlx::Error::Database(db)) => db.is_unique_violation(),
            QueryError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}
