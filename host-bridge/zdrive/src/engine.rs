//! The operations of zdrive, written once for the command line, host-bridge and the plugin.
//!
//! [`Zdrive`] checks input, redacts secrets, writes to the [`PaneStore`] and then records the
//! operation's Bloodbank event in the outbox. The store write comes first and is atomic; the
//! outbox append follows it, so an event is never recorded for a change that did not happen.
//! Nothing here waits for the broker.

use std::collections::BTreeMap;

use bloodbank::Event;
use chrono::{DateTime, Utc};
use secret_filter::SecretFilter;
use serde_json::json;

use crate::agents::AgentTransition;
use crate::model::{
    validate_name, validate_summary, EntryType, InputError, IntentEntry, PaneRecord,
    SnapshotRecord, Source, MAX_SUMMARY_BYTES, MAX_VALUE_BYTES,
};
use crate::store::{
    CursorAdvance, CursorAppend, History, MetadataChange, PaneStore, PaneUpdate, RenameOutcome,
    StoreError,
};
use crate::text::cut_to;

/// How many snapshots a pane keeps.
pub const SNAPSHOTS_KEPT: usize = 20;

/// How many more times a write that lost the race for SQLite's lock is tried.
const LOCK_RETRIES: usize = 5;

/// Runs `op`, trying again when it failed on SQLite's write lock.
///
/// With dozens of processes writing at once, SQLite's busy timeout can run out. Such a write
/// failed before changing anything (transactions begin with a write and roll back on error),
/// so trying it again cannot duplicate it.
async fn retry_locked<T, E: std::fmt::Display, Fut>(mut op: impl FnMut() -> Fut) -> Result<T, E>
where
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut retries = 0;
    loop {
        match op().await {
            Err(e) if retries < LOCK_RETRIES && is_locked(&e.to_string()) => {
                retries += 1;
                tracing::debug!("retrying a write after: {e}");
            }
            other => return other,
        }
    }
}

fn is_locked(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database table is locked")
        || message.contains("pool timed out")
}

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The user's input was refused.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The pane is not tracked.
    #[error("no pane named {name:?} is tracked; create it with: zdrive pane {name}")]
    NotTracked {
        /// The name asked for.
        name: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another pane is tracked under the name asked for.
    #[error("a pane named {name:?} is tracked already; pick another name, or rename that one first: zdrive pane rename {name} NEW")]
    NameTaken {
        /// The name asked for.
        name: String,
    },
    /// The pane is tracked under another name already.
    #[error("pane {pane_id} of session {session} is tracked as {name:?} already; rename it instead: zdrive pane rename {name} NEW")]
    PaneTracked {
        /// The session.
        session: String,
        /// The multiplexer's pane id.
        pane_id: String,
        /// The name it is tracked under.
        name: String,
    },
    /// A write was asked of an engine opened for reading only (a bug in the caller).
    #[error("internal error: this zdrive engine was opened for reading only")]
    ReadOnly,
    /// The outbox failed after the change was stored.
    #[error("the change was stored but its event could not be queued in the outbox at {location}: {source}")]
    Outbox {
        /// The outbox database.
        location: String,
        /// What went wrong.
        #[source]
        source: store::Error,
    },
}

/// What `pane log` records.
#[derive(Clone, Debug)]
pub struct LogRequest {
    /// What happened.
    pub summary: String,
    /// Checkpoint, milestone or exploration.
    pub entry_type: EntryType,
    /// Human or agent.
    pub source: Source,
    /// Files the entry refers to.
    pub artifacts: Vec<String>,
}

/// What `pane log` stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOutcome {
    /// The entry as stored (redacted).
    pub entry: IntentEntry,
    /// The pane's entry count afterwards.
    pub total: u64,
}

/// A pane as the live multiplexer session reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LivePane {
    /// `terminal_<n>` or `plugin_<n>`.
    pub pane_id: String,
    /// The pane's title (its name when zdrive named it).
    pub title: String,
    /// The tab's name.
    pub tab: String,
    /// Its working directory, when the multiplexer reports one.
    pub cwd: Option<String>,
    /// The command it runs (a command pane's, or the foreground process), when reported.
    pub command: Option<String>,
}

/// How navigation found the pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Navigation {
    /// Whether the pane was created (else focused).
    pub created: bool,
    /// The session.
    pub session: String,
    /// The tab it is in.
    pub tab: String,
    /// The multiplexer's pane id.
    pub pane_id: String,
}

/// One change reconcile made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ReconcileChange {
    /// The pane is gone from the session: marked stale.
    MarkedStale {
        /// The tracked name.
        pane: String,
    },
    /// A stale pane is back.
    Revived {
        /// The tracked name.
        pane: String,
    },
    /// The pane's id changed (found again by its title): the record follows it.
    Relinked {
        /// The tracked name.
        pane: String,
        /// The old id.
        from: String,
        /// The new id.
        to: String,
    },
    /// The pane moved to another tab.
    Moved {
        /// The tracked name.
        pane: String,
        /// The old tab.
        from: String,
        /// The new tab.
        to: String,
    },
    /// The pane was renamed in the session; the record keeps its name and notes the title.
    Renamed {
        /// The tracked name.
        pane: String,
        /// The title it has now.
        title: String,
    },
}

/// The engine: a store, the outbox and the secret filter.
pub struct Zdrive {
    store: Box<dyn PaneStore>,
    outbox: Option<store::Database>,
    history_cap: usize,
    event_source: String,
}

impl std::fmt::Debug for Zdrive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zdrive")
            .field("store", &self.store.location())
            .field(
                "outbox",
                &self.outbox.as_ref().map(|o| o.location().to_owned()),
            )
            .finish()
    }
}

impl Zdrive {
    /// Returns an engine on `store`, recording events in `outbox`, keeping `history_cap`
    /// entries per pane; `event_source` is the CloudEvents source (`perth://HOST/zdrive`).
    pub fn new(
        store: Box<dyn PaneStore>,
        outbox: store::Database,
        history_cap: usize,
        event_source: impl Into<String>,
    ) -> Self {
        Self {
            store,
            outbox: Some(outbox),
            history_cap: history_cap.max(1),
            event_source: event_source.into(),
        }
    }

    /// Returns an engine that only reads (history, info, list): it needs no outbox, so a
    /// read on Redis opens no database file.
    pub fn reader(store: Box<dyn PaneStore>, history_cap: usize) -> Self {
        Self {
            store,
            outbox: None,
            history_cap: history_cap.max(1),
            event_source: String::new(),
        }
    }

    /// Returns the store.
    pub fn store(&self) -> &dyn PaneStore {
        self.store.as_ref()
    }

    /// Returns the outbox database (`None` for a [`Zdrive::reader`]).
    pub fn outbox(&self) -> Option<&store::Database> {
        self.outbox.as_ref()
    }

    fn redact(&self, text: &str) -> String {
        // Compiled on first use: commands that only read never pay for it.
        SecretFilter::global().redact(text).into_owned()
    }

    async fn publish(&self, event: Event) -> Result<(), EngineError> {
        let outbox = self.outbox.as_ref().ok_or(EngineError::ReadOnly)?;
        let row = event.to_outbox();
        retry_locked(|| outbox.outbox_append(&row))
            .await
            .map(|_| ())
            .map_err(|source| EngineError::Outbox {
                location: outbox.location().to_owned(),
                source,
            })
    }

    /// Appends an intent entry to `name`'s log and queues `workspace.intent.logged`.
    pub async fn log(
        &self,
        name: &str,
        request: LogRequest,
        now: DateTime<Utc>,
    ) -> Result<LogOutcome, EngineError> {
        validate_name("pane name", name)?;
        validate_summary(&request.summary)?;
        for artifact in &request.artifacts {
            if artifact.len() > MAX_VALUE_BYTES {
                return Err(InputError::ValueTooLong {
                    what: "artifact path",
                    len: artifact.len(),
                }
                .into());
            }
        }
        let entry = IntentEntry {
            timestamp: now,
            entry_type: request.entry_type,
            source: request.source,
            summary: self.redact(&request.summary),
            artifacts: request.artifacts.iter().map(|a| self.redact(a)).collect(),
        };
        let total =
            retry_locked(|| self.store.append_intent(name, &entry, self.history_cap)).await?;
        let event = Event::new(
            self.event_source.clone(),
            "workspace.intent.logged",
            json!({ "pane_name": name, "entry": entry, "total_entries": total }),
        )
        .with_subject(name);
        self.publish(event).await?;
        Ok(LogOutcome { entry, total })
    }

    /// Returns how far the cursor `cursor` has read another store's outbox (0: not at all).
    pub async fn cursor(&self, cursor: &str) -> Result<i64, EngineError> {
        Ok(self.store.cursor(cursor).await?)
    }

    /// Moves the cursor `cursor` forward to `position` (never back), logging nothing.
    pub async fn move_cursor(&self, cursor: &str, position: i64) -> Result<(), EngineError> {
        retry_locked(|| self.store.advance_cursor(cursor, position, None)).await?;
        Ok(())
    }

    /// Sets the cursor `cursor` to `position`, also backwards: the outbox was made anew.
    pub async fn reset_cursor(&self, cursor: &str, position: i64) -> Result<(), EngineError> {
        Ok(retry_locked(|| self.store.reset_cursor(cursor, position)).await?)
    }

    /// Returns the tracked pane that lives at `pane_id` of `session`: not stale (a stale
    /// record's id may belong to another pane by now), the most recently used when several
    /// records claim it. `None` when zdrive does not know the pane.
    pub async fn pane_at(
        &self,
        session: &str,
        pane_id: &str,
    ) -> Result<Option<PaneRecord>, EngineError> {
        Ok(self
            .store
            .list_panes()
            .await?
            .into_iter()
            .filter(|p| !p.stale && p.session == session && p.pane_id == pane_id)
            .max_by_key(|p| (p.last_accessed, p.last_seen)))
    }

    /// Logs an agent's change of state on the pane `name` (an `agent` checkpoint summarising
    /// it, redacted, at the time it happened) and moves the cursor `cursor` to `position`, its
    /// outbox row, in one atomic step, then queues `workspace.intent.logged`. Returns `None`,
    /// having written nothing, when the cursor is at or past `position`: the transition was
    /// logged (or passed over) before.
    pub async fn log_transition(
        &self,
        name: &str,
        transition: &AgentTransition,
        cursor: &str,
        position: i64,
    ) -> Result<Option<LogOutcome>, EngineError> {
        validate_name("pane name", name)?;
        let summary = self.redact(&transition.summary());
        let entry = IntentEntry {
            timestamp: transition.time,
            entry_type: EntryType::Checkpoint,
            source: Source::Agent,
            summary: cut_to(&summary, MAX_SUMMARY_BYTES).to_owned(),
            artifacts: Vec::new(),
        };
        let append = CursorAppend {
            pane: name,
            entry: &entry,
            cap: self.history_cap,
        };
        let total = match retry_locked(|| self.store.advance_cursor(cursor, position, Some(append)))
            .await?
        {
            CursorAdvance::Appended(total) => total,
            CursorAdvance::AlreadyThere | CursorAdvance::Moved => return Ok(None),
        };
        let event = Event::new(
            self.event_source.clone(),
            "workspace.intent.logged",
            json!({ "pane_name": name, "entry": entry, "total_entries": total }),
        )
        .with_subject(name);
        self.publish(event).await?;
        Ok(Some(LogOutcome { entry, total }))
    }

    /// Stores a snapshot of `name`: first in its snapshot list (the newest
    /// [`SNAPSHOTS_KEPT`]), then as a `snapshot` entry of its intent log (the summary cut to
    /// the entry limit; it replaces a snapshot entry that is still the newest, so repeated
    /// snapshots do not push logged work out), then queues `workspace.snapshot.generated`. The summary is redacted
    /// first: a model may repeat what it was shown. Returns the stored record and the log's
    /// entry count.
    pub async fn record_snapshot(
        &self,
        name: &str,
        mut record: SnapshotRecord,
    ) -> Result<(SnapshotRecord, u64), EngineError> {
        validate_name("pane name", name)?;
        record.summary = self.redact(&record.summary);
        retry_locked(|| self.store.push_snapshot(name, &record, SNAPSHOTS_KEPT)).await?;
        let entry = IntentEntry {
            timestamp: record.timestamp,
            entry_type: EntryType::Snapshot,
            source: Source::Agent,
            summary: cut_to(&record.summary, MAX_SUMMARY_BYTES).to_owned(),
            artifacts: Vec::new(),
        };
        let total = retry_locked(|| {
            self.store
                .append_snapshot_entry(name, &entry, self.history_cap)
        })
        .await?;
        let event = Event::new(
            self.event_source.clone(),
            "workspace.snapshot.generated",
            json!({ "pane_name": name, "snapshot": record, "total_entries": total }),
        )
        .with_subject(name);
        self.publish(event).await?;
        Ok((record, total))
    }

    /// Returns the pane's newest `last` snapshots (all kept when `None`), newest first.
    pub async fn snapshots(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<Vec<SnapshotRecord>, EngineError> {
        validate_name("pane name", name)?;
        Ok(self.store.snapshots(name, last).await?)
    }

    /// Returns the pane's record, or [`EngineError::NotTracked`].
    pub async fn info(&self, name: &str) -> Result<PaneRecord, EngineError> {
        validate_name("pane name", name)?;
        self.store
            .get_pane(name)
            .await?
            .ok_or_else(|| EngineError::NotTracked {
                name: name.to_owned(),
            })
    }

    /// Returns the pane's record (if tracked) and its newest `last` entries.
    pub async fn history(
        &self,
        name: &str,
        last: Option<usize>,
    ) -> Result<(Option<PaneRecord>, History), EngineError> {
        validate_name("pane name", name)?;
        let record = self.store.get_pane(name).await?;
        let history = self.store.history(name, last).await?;
        if record.is_none() && history.total == 0 {
            return Err(EngineError::NotTracked {
                name: name.to_owned(),
            });
        }
        Ok((record, history))
    }

    /// Returns every tracked pane.
    pub async fn list(&self) -> Result<Vec<PaneRecord>, EngineError> {
        Ok(self.store.list_panes().await?)
    }

    /// Records a navigation to `name` (created or focused) with `metadata`, and queues
    /// `workspace.pane.created` or `workspace.pane.focused`.
    pub async fn record_navigation(
        &self,
        name: &str,
        nav: &Navigation,
        metadata: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<PaneRecord, EngineError> {
        validate_name("pane name", name)?;
        let metadata: BTreeMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), self.redact(v)))
            .collect();
        let update = PaneUpdate {
            session: Some(nav.session.clone()),
            tab: Some(nav.tab.clone()),
            pane_id: Some(nav.pane_id.clone()),
            created_at: Some(now),
            last_seen: Some(now),
            last_accessed: Some(now),
            stale: Some(false),
            metadata,
        };
        retry_locked(|| self.store.update_pane(name, &update)).await?;
        let event_type = if nav.created {
            "workspace.pane.created"
        } else {
            "workspace.pane.focused"
        };
        let event = Event::new(
            self.event_source.clone(),
            event_type,
            json!({
                "pane_name": name,
                "session": nav.session,
                "tab": nav.tab,
                "pane_id": nav.pane_id,
            }),
        )
        .with_subject(name);
        self.publish(event).await?;
        self.info(name).await
    }

    /// Starts tracking the live pane `nav` names under `name`, as `zdrive pane NAME` does for a
    /// pane it finds (a navigation with `created: false`). Refuses a name another live pane is
    /// tracked under, and a pane tracked under another name; a stale record of `name` is taken
    /// over, with its history.
    pub async fn track(
        &self,
        name: &str,
        nav: &Navigation,
        now: DateTime<Utc>,
    ) -> Result<PaneRecord, EngineError> {
        validate_name("pane name", name)?;
        let panes = self.store.list_panes().await?;
        let here = |p: &&PaneRecord| p.session == nav.session && p.pane_id == nav.pane_id;
        if let Some(other) = panes
            .iter()
            .filter(here)
            .find(|p| !p.stale && p.name != name)
        {
            return Err(EngineError::PaneTracked {
                session: nav.session.clone(),
                pane_id: nav.pane_id.clone(),
                name: other.name.clone(),
            });
        }
        if let Some(taken) = panes.iter().find(|p| p.name == name) {
            if !taken.stale && !here(&taken) {
                return Err(EngineError::NameTaken {
                    name: name.to_owned(),
                });
            }
        }
        let nav = Navigation {
            created: false,
            ..nav.clone()
        };
        self.record_navigation(name, &nav, &BTreeMap::new(), now)
            .await
    }

    /// Moves the pane tracked as `old`, with its history and snapshots, to the name `new` in
    /// one atomic step, and queues `workspace.pane.renamed`. Refuses a `new` that holds
    /// anything already. Renaming a pane to its own name changes nothing.
    pub async fn rename(&self, old: &str, new: &str) -> Result<PaneRecord, EngineError> {
        validate_name("pane name", old)?;
        validate_name("new pane name", new)?;
        if old == new {
            return self.info(old).await;
        }
        match retry_locked(|| self.store.rename_pane(old, new)).await? {
            RenameOutcome::Renamed => {}
            RenameOutcome::Missing => {
                return Err(EngineError::NotTracked {
                    name: old.to_owned(),
                })
            }
            RenameOutcome::Taken => {
                return Err(EngineError::NameTaken {
                    name: new.to_owned(),
                })
            }
        }
        let record = self
            .store
            .get_pane(new)
            .await?
            .unwrap_or_else(|| PaneRecord {
                name: new.to_owned(),
                ..PaneRecord::default()
            });
        let event = Event::new(
            self.event_source.clone(),
            "workspace.pane.renamed",
            json!({
                "pane_name": new,
                "previous_name": old,
                "session": record.session,
                "tab": record.tab,
                "pane_id": record.pane_id,
            }),
        )
        .with_subject(new);
        self.publish(event).await?;
        Ok(record)
    }

    /// Applies `change` to a tracked pane's metadata (keys checked, values redacted) without
    /// navigating to it, and queues `workspace.pane.tagged`; returns the record afterwards.
    pub async fn tag(
        &self,
        name: &str,
        change: &MetadataChange,
    ) -> Result<PaneRecord, EngineError> {
        validate_name("pane name", name)?;
        for key in change.set.keys().chain(&change.remove) {
            validate_name("metadata key", key)?;
        }
        if let Some(value) = change.set.values().find(|v| v.len() > MAX_VALUE_BYTES) {
            return Err(InputError::ValueTooLong {
                what: "metadata value",
                len: value.len(),
            }
            .into());
        }
        let change = MetadataChange {
            set: change
                .set
                .iter()
                .map(|(k, v)| (k.clone(), self.redact(v)))
                .collect(),
            remove: change.remove.clone(),
        };
        if !retry_locked(|| self.store.tag_pane(name, &change)).await? {
            return Err(EngineError::NotTracked {
                name: name.to_owned(),
            });
        }
        let event = Event::new(
            self.event_source.clone(),
            "workspace.pane.tagged",
            json!({ "pane_name": name, "set": change.set, "removed": change.remove }),
        )
        .with_subject(name);
        self.publish(event).await?;
        self.info(name).await
    }

    /// Marks a tracked pane stale (its pane was closed on purpose, e.g. with its worktree's
    /// tab); its record and history stay.
    pub async fn mark_stale(&self, name: &str) -> Result<(), EngineError> {
        validate_name("pane name", name)?;
        let update = PaneUpdate {
            stale: Some(true),
            ..PaneUpdate::default()
        };
        Ok(retry_locked(|| self.store.update_pane(name, &update)).await?)
    }

    /// Adds a tab to the tab set.
    pub async fn record_tab(&self, tab: &str) -> Result<(), EngineError> {
        validate_name("tab name", tab)?;
        Ok(self.store.add_tab(tab).await?)
    }

    /// Compares the tracked panes of `session` with the live ones and records the differences.
    pub async fn reconcile(
        &self,
        session: &str,
        live: &[LivePane],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReconcileChange>, EngineError> {
        let tracked = self.store.list_panes().await?;
        let mut changes = Vec::new();
        for pane in tracked.iter().filter(|p| p.session == session) {
            let by_id = live.iter().find(|l| l.pane_id == pane.pane_id);
            let found = by_id.or_else(|| live.iter().find(|l| l.title == pane.name));
            let mut update = PaneUpdate::default();
            match found {
                None => {
                    if !pane.stale {
                        update.stale = Some(true);
                        changes.push(ReconcileChange::MarkedStale {
                            pane: pane.name.clone(),
                        });
                    }
                }
                Some(live_pane) => {
                    update.last_seen = Some(now);
                    if pane.stale {
                        update.stale = Some(false);
                        changes.push(ReconcileChange::Revived {
                            pane: pane.name.clone(),
                        });
                    }
                    if live_pane.pane_id != pane.pane_id {
                        update.pane_id = Some(live_pane.pane_id.clone());
                        changes.push(ReconcileChange::Relinked {
                            pane: pane.name.clone(),
                            from: pane.pane_id.clone(),
                            to: live_pane.pane_id.clone(),
                        });
                    }
                    if live_pane.tab != pane.tab {
                        update.tab = Some(live_pane.tab.clone());
                        changes.push(ReconcileChange::Moved {
                            pane: pane.name.clone(),
                            from: pane.tab.clone(),
                            to: live_pane.tab.clone(),
                        });
                    }
                    if by_id.is_some() && live_pane.title != pane.name {
                        let title = self.redact(&live_pane.title);
                        if pane.metadata.get("title") != Some(&title) {
                            update.metadata.insert("title".into(), title.clone());
                            changes.push(ReconcileChange::Renamed {
                                pane: pane.name.clone(),
                                title,
                            });
                        }
                    }
                }
            }
            retry_locked(|| self.store.update_pane(&pane.name, &update)).await?;
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_that_lost_the_lock_are_retried_and_others_are_not() {
        let mut calls = 0;
        let r: Result<u32, String> = retry_locked(|| {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err("error returned from database: (code: 5) database is locked".to_owned())
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
        let mut calls = 0;
        let r: Result<u32, String> = retry_locked(|| {
            calls += 1;
            async { Err("UNIQUE constraint failed".to_owned()) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let r: Result<u32, String> = retry_locked(|| {
            calls += 1;
            async { Err("database is locked".to_owned()) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1 + LOCK_RETRIES);
    }
}
