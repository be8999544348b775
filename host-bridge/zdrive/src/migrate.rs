//! `zdrive migrate`: moves a zdrive v1.0 keyspace (`znav:*`) into the current one (under the
//! store's `redis_key_prefix`).
//!
//! The v1.0 shape (also in the README and the test fixtures):
//! - hash `znav:pane:<name>`: `session`, `tab`, `pane_id`, `created` and `last_access`
//!   (Unix seconds); any other field is user metadata (v1.0 had no `meta:` prefix);
//! - list `znav:pane:<name>:log`: JSON `{"ts": <unix seconds>, "type": "checkpoint" |
//!   "milestone" | "exploration", "msg": "...", "files": ["..."]}`, newest first;
//! - set `znav:tabs`.
//!
//! Each pane moves in one `MULTI`: its fields are set where the current hash has none, its
//! entries go behind any current ones (they are older), the list is capped, and the v1.0 keys
//! are deleted. A second run finds nothing left to move, so migration is idempotent.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use redis::AsyncCommands as _;
use serde::{Deserialize, Serialize};

use crate::model::{format_time, validate_name, EntryType, IntentEntry, Source};
use crate::store::{RedisStore, StoreError};

/// The v1.0 prefix of pane hashes.
pub const V1_PANE_PREFIX: &str = "znav:pane:";
/// The v1.0 tab set.
pub const V1_TABS_KEY: &str = "znav:tabs";

/// One v1.0 log entry.
#[derive(Debug, Deserialize)]
struct V1Entry {
    ts: i64,
    #[serde(rename = "type", default)]
    entry_type: Option<String>,
    msg: String,
    #[serde(default)]
    files: Vec<String>,
}

/// What a migration did (or, with `dry_run`, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Whether nothing was written.
    pub dry_run: bool,
    /// Panes moved.
    pub panes: Vec<String>,
    /// Entries moved.
    pub entries: u64,
    /// Tabs moved.
    pub tabs: u64,
    /// Panes left in place, with the reason.
    pub skipped: Vec<(String, String)>,
}

fn unix(ts: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.parse().ok()?, 0)
}

fn convert(entry: &V1Entry) -> Option<IntentEntry> {
    Some(IntentEntry {
        timestamp: DateTime::from_timestamp(entry.ts, 0)?,
        entry_type: entry
            .entry_type
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(EntryType::Checkpoint),
        source: Source::Human,
        summary: secret_filter::redact(&entry.msg).into_owned(),
        artifacts: entry
            .files
            .iter()
            .map(|f| secret_filter::redact(f).into_owned())
            .collect(),
    })
}

/// Moves every v1.0 pane and tab into the current keyspace, keeping `cap` entries per pane.
pub async fn migrate_v1(
    store: &RedisStore,
    cap: usize,
    dry_run: bool,
) -> Result<MigrationReport, StoreError> {
    match move_v1(store, cap, dry_run).await {
        Ok(report) => Ok(report),
        Err((op, e)) => Err(failed(store, op, e).await),
    }
}

/// Returns a failed command of the migration as a [`StoreError`]: an ACL that refuses the
/// v1.0 keys names them (the store's own refusal is about its prefix alone); anything else as
/// the store says it.
async fn failed(store: &RedisStore, op: &'static str, e: redis::RedisError) -> StoreError {
    match redis_conn::server_error(&e, "NOPERM").filter(|d| !d.contains("command")) {
        Some(detail) => {
            let (url, user) = (store.conn().url(), store.conn().user());
            let prefix = store.keys().as_str();
            StoreError::Refused(format!(
                "Redis at {url} refused {op} (NOPERM {detail}): migrate reads the v1.0 keys {V1_PANE_PREFIX}* and {V1_TABS_KEY} and writes those under redis_key_prefix {prefix}, and the ACL user {user} may not use them all; run it as a user who may (an administrator can allow it: ACL SETUSER {user} ~znav:* ~{prefix}*)"
            ))
        }
        None => store.failure(op, e).await,
    }
}

/// The migration itself; a failed command comes back with its name.
async fn move_v1(
    store: &RedisStore,
    cap: usize,
    dry_run: bool,
) -> Result<MigrationReport, (&'static str, redis::RedisError)> {
    let fail = |op: &'static str| move |e: redis::RedisError| (op, e);
    let mut c = store.conn().connection();
    let mut report = MigrationReport {
        dry_run,
        ..Default::default()
    };
    let mut names = Vec::new();
    {
        let mut iter = c
            .scan_match::<_, String>(format!("{V1_PANE_PREFIX}*"))
            .await
            .map_err(fail("SCAN"))?;
        while let Some(key) = iter.next_item().await {
            let key = key.map_err(fail("SCAN"))?;
            if let Some(name) = key.strip_prefix(V1_PANE_PREFIX) {
                if let Some(name) = name.strip_suffix(":log") {
                    names.push(name.to_owned());
                } else {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    let stop = isize::try_from(cap.max(1)).unwrap_or(isize::MAX) - 1;
    for name in names {
        if let Err(e) = validate_name("pane name", &name) {
            report.skipped.push((name, e.to_string()));
            continue;
        }
        let old_hash = format!("{V1_PANE_PREFIX}{name}");
        let old_log = format!("{V1_PANE_PREFIX}{name}:log");
        let fields: HashMap<String, String> =
            c.hgetall(&old_hash).await.map_err(fail("HGETALL"))?;
        let raw: Vec<String> = c.lrange(&old_log, 0, -1).await.map_err(fail("LRANGE"))?;
        let mut entries = Vec::with_capacity(raw.len());
        let mut unreadable = None;
        for json in &raw {
            match serde_json::from_str::<V1Entry>(json)
                .ok()
                .and_then(|e| convert(&e))
            {
                Some(e) => entries.push(e),
                None => unreadable = Some(json.clone()),
            }
        }
        if let Some(bad) = unreadable {
            report.skipped.push((
                name,
                format!("unreadable v1.0 entry {bad:?}; fix or delete it, then run migrate again"),
            ));
            continue;
        }
        report.entries += entries.len() as u64;
        report.panes.push(name.clone());
        if dry_run {
            continue;
        }
        let new_hash = store.keys().pane(&name);
        let new_log = store.keys().history(&name);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (field, value) in &fields {
            let (field, value) = match field.as_str() {
                "session" | "tab" | "pane_id" => (field.clone(), value.clone()),
                "created" => (
                    "created_at".to_owned(),
                    unix(value).map(|t| format_time(&t)).unwrap_or_default(),
                ),
                "last_access" => (
                    "last_accessed".to_owned(),
                    unix(value).map(|t| format_time(&t)).unwrap_or_default(),
                ),
                other => (
                    format!("meta:{other}"),
                    secret_filter::redact(value).into_owned(),
                ),
            };
            pipe.hset_nx(&new_hash, field, value).ignore();
        }
        pipe.hset_nx(&new_hash, "stale", "false").ignore();
        if let Some(tab) = fields.get("tab") {
            pipe.sadd(store.keys().tabs(), tab).ignore();
        }
        for entry in &entries {
            let json = serde_json::to_string(entry).unwrap_or_default();
            pipe.rpush(&new_log, json).ignore();
        }
        pipe.ltrim(&new_log, 0, stop).ignore();
        pipe.del(&[&old_hash, &old_log]).ignore();
        let () = pipe
            .query_async(&mut c)
            .await
            .map_err(fail("MULTI (migrate a pane)"))?;
    }
    let tabs: Vec<String> = c.smembers(V1_TABS_KEY).await.map_err(fail("SMEMBERS"))?;
    report.tabs = tabs.len() as u64;
    if !dry_run && !tabs.is_empty() {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .sadd(store.keys().tabs(), &tabs)
            .ignore()
            .del(V1_TABS_KEY)
            .ignore();
        let () = pipe
            .query_async(&mut c)
            .await
            .map_err(fail("MULTI (migrate tabs)"))?;
    }
    Ok(report)
}
