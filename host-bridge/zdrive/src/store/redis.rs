//! The Redis backend in the seed's keyspace under a key prefix (`redis_key_prefix`, `perth:` by
//! default): hash `<prefix>pane:<name>`, list `<prefix>pane:<name>:history` (JSON, newest first,
//! capped), set `<prefix>tabs`, lists `<prefix>snapshots:<name>`, cursors `<prefix>cursor:<name>`.
//!
//! Writes that touch several keys run as one `MULTI`/`EXEC`; listing walks `SCAN`, never `KEYS`.
//! Every key zdrive reads or writes, and every pattern it scans, starts with the prefix, so users
//! sharing one server each keep theirs apart, and an ACL user limited to `~<prefix>*` can do all
//! zdrive does.

use std::collections::HashMap;

use redis::AsyncCommands as _;
use redis_conn::{RedisConn, RedisConnError, RedisOptions};

use super::{
    decode_entry, decode_snapshot, encode, CursorAdvance, CursorAppend, History, MetadataChange,
    PaneStore, PaneUpdate, RenameOutcome, StoreError, StoreKind,
};
use crate::model::{format_time, parse_time, IntentEntry, PaneRecord, SnapshotRecord};

/// The key prefix of a configuration without `redis_key_prefix`: the seed's keyspace.
pub const DEFAULT_KEY_PREFIX: &str = "perth:";
/// The suffix of a pane's history list.
pub const HISTORY_SUFFIX: &str = ":history";

/// Why a key prefix was refused.
#[derive(Debug, thiserror::Error)]
#[error("redis_key_prefix {value:?} {problem}; use letters, digits and punctuation, such as alice: (for an ACL user allowed ~alice:*)")]
pub struct InvalidKeyPrefix {
    /// The prefix as given.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// The prefix of every key zdrive uses on a Redis server (`perth:` by default), checked: not
/// empty, no whitespace, control characters or glob characters (`*?[]\`), so that it is one
/// word in a Redis command line and `SCAN` patterns and ACL key patterns (`~PREFIX*`) built
/// from it match only its own keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl Default for KeyPrefix {
    fn default() -> Self {
        Self(DEFAULT_KEY_PREFIX.to_owned())
    }
}

impl std::fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl KeyPrefix {
    /// Checks `value` and returns it as a prefix.
    pub fn new(value: &str) -> Result<Self, InvalidKeyPrefix> {
        let refuse = |problem| InvalidKeyPrefix {
            value: value.to_owned(),
            problem,
        };
        if value.is_empty() {
            return Err(refuse("is empty"));
        }
        if value.chars().any(char::is_whitespace) {
            return Err(refuse("contains whitespace"));
        }
        if value.chars().any(char::is_control) {
            return Err(refuse("contains a control character"));
        }
        if value.contains(['*', '?', '[', ']', '\\']) {
            return Err(refuse(
                "contains a glob character (* ? [ ] \\), which SCAN and ACL patterns would read as one",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// Returns the prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the hash of pane `name`.
    pub fn pane(&self, name: &str) -> String {
        format!("{}pane:{name}", self.0)
    }

    /// Returns the history list of pane `name`.
    pub fn history(&self, name: &str) -> String {
        format!("{}pane:{name}{HISTORY_SUFFIX}", self.0)
    }

    /// Returns the snapshot list of pane `name`.
    pub fn snapshots(&self, name: &str) -> String {
        format!("{}snapshots:{name}", self.0)
    }

    /// Returns cursor `name` (a row id of another store's outbox).
    pub fn cursor(&self, name: &str) -> String {
        format!("{}cursor:{name}", self.0)
    }

    /// Returns the set of tabs.
    pub fn tabs(&self) -> String {
        format!("{}tabs", self.0)
    }

    /// Returns the `SCAN` pattern of pane hashes (and their history lists).
    fn pane_pattern(&self) -> String {
        format!("{}pane:*", self.0)
    }

    /// Returns the pane a pane hash belongs to, or `None` for any other key.
    fn pane_of(&self, key: &str) -> Option<String> {
        let name = key.strip_prefix(&self.0)?.strip_prefix("pane:")?;
        // Names never contain ':', so anything with one more is a history list.
        (!name.contains(':')).then(|| name.to_owned())
    }
}

/// A [`PaneStore`] on a Redis server.
#[derive(Clone, Debug)]
pub struct RedisStore {
    conn: RedisConn,
    keys: KeyPrefix,
}

impl From<RedisConnError> for StoreError {
    fn from(e: RedisConnError) -> Self {
        match e {
            RedisConnError::Command { .. } => StoreError::Backend {
                store: "redis",
                op: "run a command",
                reason: e.to_string(),
            },
            RedisConnError::Rejected { .. } => StoreError::Refused(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }
}

impl RedisStore {
    /// Connects to `url`, failing within the options' deadlines when Redis is down; every key
    /// it uses starts with `keys`.
    pub async fn connect(
        url: &str,
        options: &RedisOptions,
        keys: KeyPrefix,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            conn: RedisConn::connect(url, options).await?,
            keys,
        })
    }

    /// Returns the underlying connection (for migrations and tests).
    pub fn conn(&self) -> &RedisConn {
        &self.conn
    }

    /// Returns the key prefix.
    pub fn keys(&self) -> &KeyPrefix {
        &self.keys
    }

    /// Returns `result`'s value, or its error as a [`StoreError`] that says what to do.
    async fn checked<T>(
        &self,
        op: &'static str,
        result: redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        match result {
            Ok(value) => Ok(value),
            Err(e) => Err(self.failure(op, e).await),
        }
    }

    /// Returns a failed command as a [`StoreError`]: a server that went away is unavailable,
    /// an ACL that refuses the keys names the prefix the user may use.
    pub(crate) async fn failure(&self, op: &'static str, e: redis::RedisError) -> StoreError {
        if let Some(detail) = redis_conn::server_error(&e, "NOPERM") {
            return self.denied(op, &detail).await;
        }
        let unavailable = e.is_io_error() || e.is_timeout() || e.is_connection_dropped();
        let error = self.conn.command_error(op, e);
        if unavailable {
            StoreError::Unavailable(format!("{error}; start redis-server or fix redis_url"))
        } else {
            StoreError::from(error)
        }
    }

    /// Returns a `NOPERM` refusal with what to set: for keys, the prefix the ACL user's key
    /// patterns allow when the server says (`ACL GETUSER`), else the `ACL SETUSER` an
    /// administrator runs; for a command, the `ACL SETUSER` that allows it.
    async fn denied(&self, op: &'static str, detail: &str) -> StoreError {
        let url = self.conn.url();
        let user = self.conn.user();
        let prefix = self.keys.as_str();
        // Redis names the command when it refuses one ("... to run the 'eval' command").
        if detail.contains("command") {
            return StoreError::Refused(format!(
                "Redis at {url} refused {op} (NOPERM {detail}): the ACL user {user} may not run a command zdrive uses; an administrator can allow them: ACL SETUSER {user} +@all"
            ));
        }
        // Granting another user's prefix would show that user's panes: only a prefix of the
        // user's own is suggested, the administrator's way only when none is known.
        let ask_admin = format!("or have an administrator allow it: ACL SETUSER {user} ~{prefix}*");
        let advice = match self.conn.acl_key_patterns().await {
            Some(patterns) => {
                let shown = if patterns.is_empty() {
                    "no keys".to_owned()
                } else {
                    let patterns: Vec<String> = patterns.iter().map(|p| format!("~{p}")).collect();
                    format!("only keys {}", patterns.join(" "))
                };
                match suggested_prefix(&patterns).filter(|p| p != &self.keys) {
                    Some(theirs) => format!(
                        "its ACL allows {shown}: set redis_key_prefix to {theirs} (zdrive config set redis_key_prefix {theirs}, or ZDRIVE_REDIS_KEY_PREFIX={theirs})"
                    ),
                    None => format!(
                        "its ACL allows {shown}: set redis_key_prefix (ZDRIVE_REDIS_KEY_PREFIX) to a prefix those allow, {ask_admin}"
                    ),
                }
            }
            None => format!(
                "set redis_key_prefix (ZDRIVE_REDIS_KEY_PREFIX) to the prefix its ACL allows (ACL GETUSER {user} lists them as ~PREFIX*), {ask_admin}"
            ),
        };
        StoreError::Refused(format!(
            "Redis at {url} refused {op} (NOPERM): the ACL user {user} may not use the keys under redis_key_prefix {prefix}; {advice}"
        ))
    }
}

/// Returns the prefix an ACL user's key patterns give it: the first `PREFIX*` whose `PREFIX`
/// is a valid prefix (so `~*`, all keys, suggests nothing).
fn suggested_prefix(patterns: &[String]) -> Option<KeyPrefix> {
    patterns
        .iter()
        .filter_map(|p| p.strip_suffix('*'))
        .find_map(|p| KeyPrefix::new(p).ok())
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
        let fields: HashMap<String, String> = self
            .checked("HGETALL", c.hgetall(self.keys.pane(name)).await)
            .await?;
        Ok((!fields.is_empty()).then(|| record_from_hash(name, fields)))
    }

    async fn update_pane(&self, name: &str, update: &PaneUpdate) -> Result<(), StoreError> {
        let key = self.keys.pane(name);
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
            pipe.sadd(self.keys.tabs(), tab).ignore();
        }
        let mut c = self.conn.connection();
        let () = self
            .checked("MULTI (HSET, SADD)", pipe.query_async(&mut c).await)
            .await?;
        Ok(())
    }

    async fn append_intent(
        &self,
        name: &str,
        entry: &IntentEntry,
        cap: usize,
    ) -> Result<u64, StoreError> {
        let json = encode("redis", "encode an intent entry", entry)?;
        let history = self.keys.history(name);
        let key = self.keys.pane(name);
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
        let (total,): (u64,) = self
            .checked("MULTI (LPUSH, LTRIM, HSET)", pipe.query_async(&mut c).await)
            .await?;
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
        self.checked(
            "EVAL (LSET or LPUSH, LTRIM, HSET)",
            redis::cmd("EVAL")
                .arg(SCRIPT)
                .arg(2)
                .arg(self.keys.history(name))
                .arg(self.keys.pane(name))
                .arg(json)
                .arg(cap.max(1))
                .arg(format_time(&entry.timestamp))
                .arg(r#""entry_type":"snapshot""#)
                .query_async(&mut c)
                .await,
        )
        .await
    }

    async fn history(&self, name: &str, last: Option<usize>) -> Result<History, StoreError> {
        let key = self.keys.history(name);
        let stop = match last {
            Some(0) => return self.count_only(&key).await,
            Some(n) => isize::try_from(n).unwrap_or(isize::MAX) - 1,
            None => -1,
        };
        let mut pipe = redis::pipe();
        pipe.lrange(&key, 0, stop).llen(&key);
        let mut c = self.conn.connection();
        let (raw, total): (Vec<String>, u64) = self
            .checked("LRANGE", pipe.query_async(&mut c).await)
            .await?;
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
            let mut iter = self
                .checked(
                    "SCAN",
                    c.scan_match::<_, String>(self.keys.pane_pattern()).await,
                )
                .await?;
            while let Some(key) = iter.next_item().await {
                let key = self.checked("SCAN", key).await?;
                names.extend(self.keys.pane_of(&key));
            }
        }
        if names.is_empty() {
            // Redis checks no ACL key pattern against SCAN: a prefix outside the user's keys
            // lists nothing at all. A key command under the prefix is refused there (NOPERM),
            // and says which prefix the user may use.
            let _: bool = self
                .checked("SCAN", c.exists(self.keys.pane("")).await)
                .await?;
        }
        names.sort();
        names.dedup();
        let mut panes = Vec::with_capacity(names.len());
        for chunk in names.chunks(200) {
            let mut pipe = redis::pipe();
            for name in chunk {
                pipe.hgetall(self.keys.pane(name));
            }
            let hashes: Vec<HashMap<String, String>> = self
                .checked("HGETALL", pipe.query_async(&mut c).await)
                .await?;
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
        let _: i64 = self
            .checked("SADD", c.sadd(self.keys.tabs(), tab).await)
            .await?;
        Ok(())
    }

    async fn tabs(&self) -> Result<Vec<String>, StoreError> {
        let mut c = self.conn.connection();
        let mut tabs: Vec<String> = self
            .checked("SMEMBERS", c.smembers(self.keys.tabs()).await)
            .await?;
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
        let key = self.keys.snapshots(name);
        let stop = isize::try_from(keep.max(1)).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .lpush(&key, json)
            .ignore()
            .ltrim(&key, 0, stop)
            .ignore();
        let mut c = self.conn.connection();
        let () = self
            .checked("MULTI (LPUSH, LTRIM)", pipe.query_async(&mut c).await)
            .await?;
        Ok(())
    }

    async fn snapshots(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<Vec<SnapshotRecord>, StoreError> {
        let key = self.keys.snapshots(name);
        let stop = match last {
            Some(0) => return Ok(Vec::new()),
            Some(n) => isize::try_from(n).unwrap_or(isize::MAX) - 1,
            None => -1,
        };
        let mut c = self.conn.connection();
        let raw: Vec<String> = self
            .checked("LRANGE", c.lrange(&key, 0, stop).await)
            .await?;
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
        let outcome: String = self
            .checked(
                "EVAL (EXISTS, RENAME)",
                redis::cmd("EVAL")
                    .arg(SCRIPT)
                    .arg(6)
                    .arg(self.keys.pane(old))
                    .arg(self.keys.history(old))
                    .arg(self.keys.snapshots(old))
                    .arg(self.keys.pane(new))
                    .arg(self.keys.history(new))
                    .arg(self.keys.snapshots(new))
                    .query_async(&mut c)
                    .await,
            )
            .await?;
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
            .arg(self.keys.pane(name))
            .arg(change.remove.len());
        for k in &change.remove {
            cmd.arg(format!("meta:{k}"));
        }
        for (k, v) in &change.set {
            cmd.arg(format!("meta:{k}")).arg(v);
        }
        let mut c = self.conn.connection();
        let tagged: i64 = self
            .checked("EVAL (HDEL, HSET)", cmd.query_async(&mut c).await)
            .await?;
        Ok(tagged == 1)
    }

    async fn cursor(&self, name: &str) -> Result<i64, StoreError> {
        let mut c = self.conn.connection();
        let position: Option<i64> = self
            .checked("GET", c.get(self.keys.cursor(name)).await)
            .await?;
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
                    .arg(self.keys.cursor(name))
                    .arg(self.keys.history(a.pane))
                    .arg(self.keys.pane(a.pane))
                    .arg(position)
                    .arg(json)
                    .arg(a.cap.max(1))
                    .arg(format_time(&a.entry.timestamp));
            }
            None => {
                cmd.arg(1).arg(self.keys.cursor(name)).arg(position);
            }
        }
        let mut c = self.conn.connection();
        let outcome: i64 = self
            .checked(
                "EVAL (GET, SET, LPUSH, LTRIM, HSET)",
                cmd.query_async(&mut c).await,
            )
            .await?;
        Ok(match outcome {
            -1 => CursorAdvance::AlreadyThere,
            -2 => CursorAdvance::Moved,
            total => CursorAdvance::Appended(u64::try_from(total).unwrap_or(0)),
        })
    }

    async fn reset_cursor(&self, name: &str, position: i64) -> Result<(), StoreError> {
        let mut c = self.conn.connection();
        let () = self
            .checked("SET", c.set(self.keys.cursor(name), position).await)
            .await?;
        Ok(())
    }
}

impl RedisStore {
    async fn count_only(&self, key: &str) -> Result<History, StoreError> {
        let mut c = self.conn.connection();
        let total: u64 = self.checked("LLEN", c.llen(key).await).await?;
        Ok(History {
            entries: Vec::new(),
            total,
        })
    }
}
