//! The Redis backend in the seed's keyspace: hash `perth:pane:<name>`, list
//! `perth:pane:<name>:history` (JSON, newest first, capped), set `perth:tabs`.
//!
//! Writes that touch several keys run as one `MULTI`/`EXEC`; listing walks `SCAN`, never `KEYS`.

use std::collections::HashMap;

use redis::AsyncCommands as _;
use redis_conn::{RedisConn, RedisConnError, RedisOptions};

use super::{
    decode_entry, decode_snapshot, encode, CursorAdvance, CursorAppend, History, MetadataChange,
    PaneStore, PaneUpdate, RenameOutcome, StoreError, StoreKind,
};
use crate::model::{format_time, parse_time, IntentEntry, PaneRecord, SnapshotRecord};

/// The prefix of every pane hash.
pub const PANE_PREFIX: &str = "perth:pane:";
/// The suffix of a pane's history list.
pub const HISTORY_SUFFIX: &str = ":history";
/// The set of tabs.
pub const TABS_KEY: &str = "perth:tabs";
/// The prefix of a pane's snapshot list (`perth:snapshots:<name>`, JSON, newest first).
pub const SNAPSHOTS_PREFIX: &str = "perth:snapshots:";
/// The prefix of a cursor (`perth:cursor:<name>`, a row id of another store's outbox).
pub const CURSOR_PREFIX: &str = "perth:cursor:";

/// A [`PaneStore`] on a Redis server.
#[derive(Clone, Debug)]
pub struct RedisStore {
    conn: RedisConn,
}

fn pane_key(name: &str) -> String {
    format!("{PANE_PREFIX}{name}")
}

fn history_key(name: &str) -> String {
    format!("{PANE_PREFIX}{name}{HISTORY_SUFFIX}")
}

fn snapshots_key(name: &str) -> String {
    format!("{SNAPSHOTS_PREFIX}{name}")
}

impl From<RedisConnError> for StoreError {
    fn from(e: RedisConnError) -> Self {
        match e {
            RedisConnError::Command { .. } => StoreError::Backend {
                store: "redis",
                op: "run a command",
                reason: e.to_string(),
            },
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl RedisStore {
    /// Connects to `url`, failing within the options' deadlines when Redis is down.
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, StoreError> {
        Ok(Self {
            conn: RedisConn::connect(url, options).await?,
        })
    }

    /// Returns the underlying connection (for migrations and tests).
    pub fn conn(&self) -> &RedisConn {
        &self.conn
    }

    fn fail(&self, op: &'static str, e: redis::RedisError) -> StoreError {
        let unavailable = e.is_io_error() || e.is_timeout() || e.is_connection_dropped();
        let error = self.conn.command_error(op, e);
        if unavailable {
            StoreError::Unavailable(format!("{error}; start redis-server or fix redis_url"))
        } else {
            StoreError::from(error)
        }
    }
}

/// Builds a record from a hash's fields.
pub(crate) fn record_from_hash(name: &str, fields: HashMap<String, String>) -> PaneRecord {
    let mut record = PaneRecord {
        name: name.to_owned(),
        ..PaneRecord::default()
    };
    for (field, value) in fields {
        match field.as_str() {
            "session" => record.session = value,
            "tab" => record.tab = value,
            "pane_id" => record.pane_id = value,
            "created_at" => record.created_at = parse_time(&value),
            "last_seen" => record.last_seen = parse_time(&value),
            "last_accessed" => record.last_accessed = parse_time(&value),
            "stale" => record.stale = value == "true",
            other => {
                if let Some(key) = other.strip_prefix("meta:") {
                    record.metadata.insert(key.to_owned(), value);
                }
            }
        }
    }
    record
}

/// Returns the hash fields an update sets (besides `created_at`, which is set only if missing).
pub(crate) fn update_fields(update: &PaneUpdate) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            fields.push((k.to_owned(), v));
        }
    };
    put("session", update.session.clone());
    put("tab", update.tab.clone());
    put("pane_id", update.pane_id.clone());
    put("last_seen", update.last_seen.as_ref().map(format_time));
    put(
        "last_accessed",
        update.last_accessed.as_ref().map(format_time),
    );
    put("stale", update.stale.map(|s| s.to_string()));
    for (k, v) in &update.metadata {
        fields.push((format!("meta:{k}"), v.clone()));
    }
    fields
}

#[async_trait::async_trait]
impl PaneStore for RedisStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Redis
    }

    fn location(&self) -> String {
        self.conn.url().to_owned()
    }

    async fn get_pane(&self, name: &str) -> Result<Option<PaneRecord>, StoreError> {
        let mut c = self.conn.connection();
        let fields: HashMap<String, String> = c
            .hgetall(pane_key(name))
            .await
            .map_err(|e| self.fail("HGETALL", e))?;
        Ok((!fields.is_empty()).then(|| record_from_hash(name, fields)))
    }

    async fn update_pane(&self, name: &str, update: &PaneUpdate) -> Result<(), StoreError> {
        let key = pane_key(name);
        let mut pipe = redis::pipe();
        pipe.atomic();
        let fields = update_fields(update);
        if !fields.is_empty() {
            pipe.hset_multiple(&key, &fields).ignore();
        }
        if let Some(created) = &update.created_at {
            pipe.hset_nx(&key, "created_at", format_time(created))
                .ignore();
        }
        if let Some(tab) = &update.tab {
            pipe.sadd(TABS_KEY, tab).ignore();
        }
        let mut c = self.conn.connection();
        let () = pipe
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("MULTI (HSET, SADD)", e))?;
        Ok(())
    }

    async fn append_intent(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError> {
        let json = encode("redis", "encode an intent entry", entry)?;
        let history = history_key(name);
        let key = pane_key(name);
        let at = format_time(&entry.timestamp);
        let stop = isize::try_from(cap.max(1)).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(&history, json)
            .ignore()
            .ltrim(&history, 0, stop)
            .ignore()
            .hset(&key, "last_accessed", &at)
            .ignore()
            .hset_nx(&key, "created_at", &at)
            .ignore()
            .llen(&history);
        let mut c = self.conn.connection();
        let (total,): (u64,) = pipe
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("MULTI (LPUSH, LTRIM, HSET)", e))?;
        Ok(total)
    }

    async fn append_snapshot_entry(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError> {
        // One script, so the look at the head and the write are one atomic step.
        const SCRIPT: &str = r#"
            local head = redis.call('LINDEX', KEYS[1], 0)
            if head and string.find(head, ARGV[4], 1, true) then
                redis.call('LSET', KEYS[1], 0, ARGV[1])
            else
                redis.call('LPUSH', KEYS[1], ARGV[1])
                redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
            end
            redis.call('HSET', KEYS[2], 'last_accessed', ARGV[3])
            redis.call('HSETNX', KEYS[2], 'created_at', ARGV[3])
            return redis.call('LLEN', KEYS[1])
        "#;
        let json = encode("redis", "encode an intent entry", entry)?;
        let mut c = self.conn.connection();
        redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(2)
            .arg(history_key(name))
            .arg(pane_key(name))
            .arg(json)
            .arg(cap.max(1))
            .arg(format_time(&entry.timestamp))
            .arg(r#""entry_type":"snapshot""#)
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("EVAL (LSET or LPUSH, LTRIM, HSET)", e))
    }

    async fn history(&self, name: &str, last: Option<usize>) -> Result<History, StoreError> {
        let key = history_key(name);
        let stop = match last {
            Some(0) => return self.count_only(&key).await,
            Some(n) => isize::try_from(n).unwrap_or(isize::MAX) - 1,
            None => -1,
        };
        let mut pipe = redis::pipe();
        pipe.lrange(&key, 0, stop).llen(&key);
        let mut c = self.conn.connection();
        let (raw, total): (Vec<String>, u64) = pipe
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("LRANGE", e))?;
        let entries = raw
            .iter()
            .map(|j| decode_entry(&key, j))
            .collect::<Result<_, _>>()?;
        Ok(History { entries, total })
    }

    async fn list_panes(&self) -> Result<Vec<PaneRecord>, StoreError> {
        let mut c = self.conn.connection();
        let mut names = Vec::new();
        {
            let mut iter = c
                .scan_match::<_, String>(format!("{PANE_PREFIX}*"))
                .await
                .map_err(|e| self.fail("SCAN", e))?;
            while let Some(key) = iter.next_item().await {
                let key = key.map_err(|e| self.fail("SCAN", e))?;
                // Names never contain ':', so anything with one more is a history list.
                if let Some(name) = key.strip_prefix(PANE_PREFIX) {
                    if !name.contains(':') {
                        names.push(name.to_owned());
                    }
                }
            }
        }
        names.sort();
        names.dedup();
        let mut panes = Vec::with_capacity(names.len());
        for chunk in names.chunks(200) {
            let mut pipe = redis::pipe();
            for name in chunk {
                pipe.hgetall(pane_key(name));
            }
            let hashes: Vec<HashMap<String, String>> = pipe
                .query_async(&mut c)
                .await
                .map_err(|e| self.fail("HGETALL", e))?;
            for (name, fields) in chunk.iter().zip(hashes) {
                if !fields.is_empty() {
                    panes.push(record_from_hash(name, fields));
                }
            }
        }
        Ok(panes)
    }

    async fn add_tab(&self, tab: &str) -> Result<(), StoreError> {
        let mut c = self.conn.connection();
        let _: i64 = c
            .sadd(TABS_KEY, tab)
            .await
            .map_err(|e| self.fail("SADD", e))?;
        Ok(())
    }

    async fn tabs(&self) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.connection();
        let mut tabs: Vec<String> = c
            .smembers(TABS_KEY)
            .await
            .map_err(|e| self.fail("SMEMBERS", e))?;
        tabs.sort();
        Ok(tabs)
    }

    async fn push_snapshot(
        &self,
        name: &str,
        snapshot: &SnapshotRecord,
        keep: usize,
    ) -> Result<(), StoreError> {
        let json = encode("redis", "encode a snapshot", snapshot)?;
        let key = format!("{SNAPSHOTS_PREFIX}{name}");
        let stop = isize::try_from(keep.max(1)).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(&key, json)
            .ignore()
            .ltrim(&key, 0, stop)
            .ignore();
        let mut c = self.conn.connection();
        let () = pipe
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("MULTI (LPUSH, LTRIM)", e))?;
        Ok(())
    }

    async fn snapshots(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<Vec<SnapshotRecord>, StoreError> {
        let key = format!("{SNAPSHOTS_PREFIX}{name}");
        let stop = match last {
            Some(0) => return Ok(Vec::new()),
            Some(n) => isize::try_from(n).unwrap_or(isize::MAX) - 1,
            None => -1,
        };
        let mut c = self.conn.connection();
        let raw: Vec<String> = c
            .lrange(&key, 0, stop)
            .await
            .map_err(|e| self.fail("LRANGE", e))?;
        raw.iter().map(|j| decode_snapshot(&key, j)).collect()
    }

    async fn rename_pane(&self, old: &str, new: &str) -> Result<RenameOutcome, StoreError> {
        // One script: the checks and the RENAMEs are one atomic step, as in a MULTI, but a
        // MULTI cannot refuse on what it finds (and WATCH needs a connection of its own).
        const SCRIPT: &str = r#"
            if redis.call('EXISTS', KEYS[4], KEYS[5], KEYS[6]) > 0 then
                return 'taken'
            end
            local moved = 0
            for i = 1, 3 do
                if redis.call('EXISTS', KEYS[i]) == 1 then
                    redis.call('RENAME', KEYS[i], KEYS[i + 3])
                    moved = moved + 1
                end
            end
            if moved == 0 then
                return 'missing'
            end
            return 'renamed'
        "#;
        let mut c = self.conn.connection();
        let outcome: String = redis::cmd("EVAL")
            .arg(SCRIPT)
            .arg(6)
            .arg(pane_key(old))
            .arg(history_key(old))
            .arg(snapshots_key(old))
            .arg(pane_key(new))
            .arg(history_key(new))
            .arg(snapshots_key(new))
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("EVAL (EXISTS, RENAME)", e))?;
        Ok(match outcome.as_str() {
            "renamed" => RenameOutcome::Renamed,
            "taken" => RenameOutcome::Taken,
            _ => RenameOutcome::Missing,
        })
    }

    async fn tag_pane(&self, name: &str, change: &MetadataChange) -> Result<bool, StoreError> {
        // ARGV: how many fields to delete, those fields, then field and value pairs to set
        // (after the deletions, so a key both removed and set ends up set).
        const SCRIPT: &str = r#"
            if redis.call('EXISTS', KEYS[1]) == 0 then
                return 0
            end
            local n = tonumber(ARGV[1])
            for i = 2, n + 1 do
                redis.call('HDEL', KEYS[1], ARGV[i])
            end
            for i = n + 2, #ARGV, 2 do
                redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
            end
            return 1
        "#;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SCRIPT)
            .arg(1)
            .arg(pane_key(name))
            .arg(change.remove.len());
        for k in &change.remove {
            cmd.arg(format!("meta:{k}"));
        }
        for (k, v) in &change.set {
            cmd.arg(format!("meta:{k}")).arg(v);
        }
        let mut c = self.conn.connection();
        let tagged: i64 = cmd
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("EVAL (HDEL, HSET)", e))?;
        Ok(tagged == 1)
    }

    async fn cursor(&self, name: &str) -> Result<i64, StoreError> {
        let mut c = self.conn.connection();
        let position: Option<i64> = c
            .get(cursor_key(name))
            .await
            .map_err(|e| self.fail("GET", e))?;
        Ok(position.unwrap_or(0))
    }

    async fn advance_cursor(
        &self,
        name: &str,
        position: i64,
        append: Option<CursorAppend<'_>>,
    ) -> Result<CursorAdvance, StoreError> {
        // One script: the look at the cursor and the writes are one atomic step. ARGV: the
        // position, then (when an entry goes with it) the entry, the cap and its time.
        const SCRIPT: &str = r#"
            local at = tonumber(redis.call('GET', KEYS[1]) or '0')
            if at >= tonumber(ARGV[1]) then
                return -1
            end
            redis.call('SET', KEYS[1], ARGV[1])
            if #ARGV == 1 then
                return -2
            end
            redis.call('LPUSH', KEYS[2], ARGV[2])
            redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
            redis.call('HSET', KEYS[3], 'last_accessed', ARGV[4])
            redis.call('HSETNX', KEYS[3], 'created_at', ARGV[4])
            return redis.call('LLEN', KEYS[2])
        "#;
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SCRIPT);
        match append {
            Some(a) => {
                let json = encode("redis", "encode an intent entry", a.entry)?;
                cmd.arg(3)
                    .arg(cursor_key(name))
                    .arg(history_key(a.pane))
                    .arg(pane_key(a.pane))
                    .arg(position)
                    .arg(json)
                    .arg(a.cap.max(1))
                    .arg(format_time(&a.entry.timestamp));
            }
            None => {
                cmd.arg(1).arg(cursor_key(name)).arg(position);
            }
        }
        let mut c = self.conn.connection();
        let outcome: i64 = cmd
            .query_async(&mut c)
            .await
            .map_err(|e| self.fail("EVAL (GET, SET, LPUSH, LTRIM, HSET)", e))?;
        Ok(match outcome {
            -1 => CursorAdvance::AlreadyThere,
            -2 => CursorAdvance::Moved,
            total => CursorAdvance::Appended(u64::try_from(total).unwrap_or(0)),
        })
    }

    async fn reset_cursor(&self, name: &str, position: i64) -> Result<(), StoreError> {
        let mut c = self.conn.connection();
        let () = c
            .set(cursor_key(name), position)
            .await
            .map_err(|e| self.fail("SET", e))?;
        Ok(())
    }
}

fn cursor_key(name: &str) -> String {
    format!("{CURSOR_PREFIX}{name}")
}

impl RedisStore {
    async fn count_only(&self, key: &str) -> Result<History, StoreError> {
        let mut c = self.conn.connection();
        let total: u64 = c.llen(key).await.map_err(|e| self.fail("LLEN", e))?;
        Ok(History {
            entries: Vec::new(),
            total,
        })
    }
}
