//! Where panes and their intent logs live: the [`PaneStore`] trait and its two backends.
//!
//! [`RedisStore`] keeps the seed's keyspace; [`EmbeddedStore`] keeps the same data in an
//! SQLite file when no Redis is configured. Both pass the contract suite in `tests/it/contract.rs`.

mod embedded;
mod redis;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

pub use self::embedded::EmbeddedStore;
pub use self::redis::{
    InvalidKeyPrefix, KeyPrefix, RedisStore, DEFAULT_KEY_PREFIX, HISTORY_SUFFIX,
};
use crate::model::{IntentEntry, PaneRecord, SnapshotRecord};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached (exit code 3).
    #[error("{0}")]
    Unavailable(String),
    /// A command failed on a reachable store.
    #[error("{store} failed to {op}: {reason}")]
    Backend {
        /// `redis` or `embedded`.
        store: &'static str,
        /// What we were doing.
        op: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The store refused the login or the keys (a password, an ACL); the message says what to
    /// set (exit code 3, as for a store that cannot be reached).
    #[error("{0}")]
    Refused(String),
    /// Stored data could not be read.
    #[error("stored data at {key} is unreadable: {reason}; inspect or delete that key")]
    Corrupt {
        /// Where it is.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// Which backend a store is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// Redis, the seed's keyspace.
    Redis,
    /// The embedded SQLite store.
    Embedded,
}

impl StoreKind {
    /// Returns `redis` or `embedded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Embedded => "embedded",
        }
    }
}

/// Changes to a pane's record; `None` leaves a field as it is, metadata is merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaneUpdate {
    /// The session.
    pub session: Option<String>,
    /// The tab.
    pub tab: Option<String>,
    /// The multiplexer's pane id.
    pub pane_id: Option<String>,
    /// Set only when the pane has no creation time yet.
    pub created_at: Option<DateTime<Utc>>,
    /// Last seen by reconcile.
    pub last_seen: Option<DateTime<Utc>>,
    /// Last navigated to or logged on.
    pub last_accessed: Option<DateTime<Utc>>,
    /// Gone from the live session.
    pub stale: Option<bool>,
    /// Metadata to set.
    pub metadata: BTreeMap<String, String>,
}

/// A page of a pane's intent log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Entries, newest first.
    pub entries: Vec<IntentEntry>,
    /// How many entries the pane holds in all.
    pub total: u64,
}

/// What [`PaneStore::rename_pane`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameOutcome {
    /// The record, the history and the snapshots now live under the new name.
    Renamed,
    /// Nothing is stored under the old name; nothing changed.
    Missing,
    /// Something is stored under the new name already; nothing changed.
    Taken,
}

/// Changes to a pane's metadata (its `meta:<key>` fields): keys to remove, then keys to set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataChange {
    /// Keys and values to set.
    pub set: BTreeMap<String, String>,
    /// Keys to remove; a key also in `set` ends up set.
    pub remove: Vec<String>,
}

/// What [`PaneStore::advance_cursor`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorAdvance {
    /// The cursor stood at or past the position already; nothing was written.
    AlreadyThere,
    /// The cursor moved; no entry was asked for.
    Moved,
    /// The cursor moved and the entry was appended; the pane's entry count afterwards.
    Appended(u64),
}

/// An entry that [`PaneStore::advance_cursor`] appends, as [`PaneStore::append_intent`] does.
#[derive(Clone, Copy, Debug)]
pub struct CursorAppend<'a> {
    /// The pane's name.
    pub pane: &'a str,
    /// The entry.
    pub entry: &'a IntentEntry,
    /// How many entries the pane keeps.
    pub cap: usize,
}

/// Storage of tracked panes, their intent logs and the tab set.
///
/// Names reaching a store are already validated (`model::validate_name`).
#[async_trait::async_trait]
pub trait PaneStore: Send + Sync {
    /// Returns which backend this is.
    fn kind(&self) -> StoreKind;

    /// Returns where the data lives, without credentials.
    fn location(&self) -> String;

    /// Returns the pane's record, or `None` when it is not tracked.
    async fn get_pane(&self, name: &str) -> Result<Option<PaneRecord>, StoreError>;

    /// Creates or changes a pane's record in one atomic step; a tab it names joins the tab set.
    async fn update_pane(&self, name: &str, update: &PaneUpdate) -> Result<(), StoreError>;

    /// Appends `entry` to the pane's log (newest first), keeps the newest `cap` entries and
    /// sets `last_accessed` to the entry's time, all in one atomic step; returns the new total.
    async fn append_intent(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError>;

    /// Appends a `snapshot` entry as [`PaneStore::append_intent`] does, except that it replaces
    /// the newest entry when that is a snapshot too: snapshots of a pane where nothing was
    /// logged in between do not push its log out of the cap.
    async fn append_snapshot_entry(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError>;

    /// Returns the newest `last` entries (all when `None`), newest first, and the total.
    async fn history(&self, name: &str, last: Option<usize>) -> Result<History, StoreError>;

    /// Returns every tracked pane, sorted by name.
    async fn list_panes(&self) -> Result<Vec<PaneRecord>, StoreError>;

    /// Adds a tab to the tab set.
    async fn add_tab(&self, tab: &str) -> Result<(), StoreError>;

    /// Returns the tab set, sorted.
    async fn tabs(&self) -> Result<Vec<String>, StoreError>;

    /// Adds a snapshot to the pane's list (newest first) and keeps the newest `keep`.
    async fn push_snapshot(
        &self,
        name: &str,
        snapshot: &SnapshotRecord,
        keep: usize,
    ) -> Result<(), StoreError>;

    /// Returns the pane's newest `last` snapshots (all when `None`), newest first.
    async fn snapshots(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<Vec<SnapshotRecord>, StoreError>;

    /// Moves the pane's record, history and snapshots from `old` to `new` in one atomic step,
    /// unless `new` holds any of them already.
    async fn rename_pane(&self, old: &str, new: &str) -> Result<RenameOutcome, StoreError>;

    /// Applies `change` to a tracked pane's metadata in one atomic step; returns false, having
    /// written nothing, when the pane has no record.
    async fn tag_pane(&self, name: &str, change: &MetadataChange) -> Result<bool, StoreError>;

    /// Returns the position of the cursor `name`: how far zdrive has read another store's
    /// event outbox (its row id; 0 when it never moved).
    async fn cursor(&self, name: &str) -> Result<i64, StoreError>;

    /// Moves the cursor `name` forward to `position` and appends `append`'s entry, in one
    /// atomic step; does nothing when the cursor stands at or past `position`. An event read
    /// again (after a restart, or by a second reader) is therefore logged once.
    async fn advance_cursor(
        &self,
        name: &str,
        position: i64,
        append: Option<CursorAppend<'_>>,
    ) -> Result<CursorAdvance, StoreError>;

    /// Sets the cursor `name` to `position`, also backwards (the outbox it counts in was
    /// made anew).
    async fn reset_cursor(&self, name: &str, position: i64) -> Result<(), StoreError>;
}

/// Encodes a value for storage.
fn encode<T: serde::Serialize>(
    store: &'static str,
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend {
        store,
        op: what,
        reason: e.to_string(),
    })
}

/// Whether a stored history entry is a snapshot (its JSON as stored).
fn is_snapshot_json(json: &str) -> bool {
    json.contains(r#""entry_type":"snapshot""#)
}

/// Parses one stored snapshot.
fn decode_snapshot(key: &str, json: &str) -> Result<SnapshotRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

/// Parses one stored history entry.
fn decode_entry(key: &str, json: &str) -> Result<IntentEntry, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}
