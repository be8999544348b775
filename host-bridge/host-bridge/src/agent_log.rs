//! Agent state changes into zdrive's intent logs (`zdrive config set agents.log_transitions
//! true`): perth's server writes every change of an agent pane's state to its outbox as a
//! `workspace.agent.state_changed` event; this reads that outbox beside its publisher and logs
//! each change of a pane zdrive tracks as an entry of the pane's log ("agent waiting: ...").
//!
//! It reads rows by id, whether they are published or not, so it needs no broker. How far it
//! has read is a cursor in zdrive's own store, moved in the same atomic step as the entry it
//! logs (`zdrive::Zdrive::log_transition`): a restart reads the rows after the cursor, and a
//! row read twice is logged once. Changes from before a pane was tracked, of panes zdrive does
//! not know and of unknown sessions are passed over; so is everything while the key is off.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::SubsecRound as _;
use store::Database;
use tokio::time::Instant;
use zdrive::agents::{AgentTransition, EVENT_TYPE};
use zdrive::setup::{Access, Setup};
use zdrive::Zdrive;

/// How often the outbox is read for new rows.
pub const POLL: Duration = Duration::from_millis(300);

/// Rows read per round.
const BATCH: u32 = 500;

/// How long rows after a gap in PostgreSQL's ids wait for the gap to fill: ids are handed out
/// before commit, so a gap may be another session's transaction that has not committed yet.
const GAP_GRACE: Duration = Duration::from_secs(2);

/// The longest pause after failures in a row.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Resolves zdrive's configuration and paths; called again whenever there is something to
/// read, because `agents.log_transitions` may change at any time.
pub type ResolveSetup = Box<dyn Fn() -> Result<Setup> + Send>;

/// What one [`AgentLog::round`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Outbox rows read.
    pub read: usize,
    /// Agent transitions among them.
    pub transitions: usize,
    /// Entries logged.
    pub logged: usize,
    /// Where the cursor stands afterwards.
    pub cursor: i64,
}

/// The reader of one outbox (perth's database).
pub struct AgentLog {
    outbox: Database,
    cursor: String,
    resolve: ResolveSetup,
    /// zdrive's engine and which store it is on; opened when first needed.
    engine: Option<(String, Zdrive)>,
    /// The cursor as last read or written.
    position: Option<i64>,
    /// A gap in the ids being waited out: the id after it and when it was first seen.
    gap: Option<(i64, Instant)>,
}

impl AgentLog {
    /// Returns a reader of `outbox`, logging through the zdrive setup `resolve` returns.
    pub fn new(outbox: Database, resolve: ResolveSetup) -> Self {
        let cursor = format!("agents@{}", outbox.location());
        Self {
            outbox,
            cursor,
            resolve,
            engine: None,
            position: None,
            gap: None,
        }
    }

    /// Returns the name of the cursor in zdrive's store (`agents@` and the outbox's location,
    /// without credentials).
    pub fn cursor_name(&self) -> &str {
        &self.cursor
    }

    /// Reads the rows after the cursor (a batch at most), logs the transitions of tracked
    /// panes when `agents.log_transitions` is on, and moves the cursor past what it read.
    pub async fn round(&mut self) -> Result<RoundReport> {
        if self.engine.is_none() {
            let Some(setup) = self.engine_setup()? else {
                // zdrive has no store yet, so it tracks no pane: there is nothing to log to.
                return Ok(RoundReport::default());
            };
            self.open_engine(&setup).await?;
        }
        let position = match self.position {
            Some(p) => p,
            None => {
                let p = self.zdrive()?.cursor(&self.cursor).await?;
                self.position = Some(p);
                p
            }
        };
        let rows = self
            .outbox
            .outbox_since(position, BATCH)
            .await
            .context("reading perth's event outbox")?;
        if rows.is_empty() {
            let last = self.outbox.outbox_last_id().await?;
            if last < position {
                // The outbox is a new one (its ids start again): read it from its start.
                tracing::info!(cursor = %self.cursor, from = position, "agent log: perth's outbox was made anew; reading it from the start");
                self.zdrive()?.reset_cursor(&self.cursor, 0).await?;
                self.position = Some(0);
            }
            return Ok(RoundReport {
                cursor: self.position.unwrap_or(0),
                ..RoundReport::default()
            });
        }
        // Read again now that there is something to read: the key, or the store, may have
        // changed since the last rows.
        let Some(setup) = self.engine_setup()? else {
            self.engine = None;
            self.position = None;
            return Ok(RoundReport::default());
        };
        if self.open_engine(&setup).await? {
            // Another store, another cursor: start the round again from it.
            return Ok(RoundReport::default());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        // SQLite commits one writer at a time, so its ids become visible in order.
        let n = if self.outbox.backend() == store::Backend::Postgres {
            readable(position, &ids, &mut self.gap, Instant::now())
        } else {
            ids.len()
        };
        let rows = &rows[..n];
        let mut report = RoundReport {
            read: rows.len(),
            cursor: position,
            ..RoundReport::default()
        };
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok(report);
        };
        let transitions: Vec<(i64, AgentTransition)> = rows
            .iter()
            .filter(|r| r.event_type == EVENT_TYPE)
            .filter_map(|r| {
                let event: serde_json::Value = serde_json::from_str(&r.payload).ok()?;
                Some((r.id, AgentTransition::from_event(&event)?))
            })
            .collect();
        report.transitions = transitions.len();
        if !transitions.is_empty() && setup.config.agents.log_transitions {
            let zdrive = self.zdrive()?;
            for (id, t) in &transitions {
                let Some(pane) = zdrive.pane_at(&t.session, &t.pane_id).await? else {
                    continue;
                };
                // Event times are in milliseconds: compare in milliseconds.
                if pane
                    .created_at
                    .is_some_and(|created| t.time < created.trunc_subsecs(3))
                {
                    continue;
                }
                if zdrive
                    .log_transition(&pane.name, t, &self.cursor, *id)
                    .await?
                    .is_some()
                {
                    tracing::debug!(pane = %pane.name, summary = %t.summary(), "agent log: logged a transition");
                    report.logged += 1;
                }
            }
        }
        self.zdrive()?.move_cursor(&self.cursor, last).await?;
        self.position = Some(last);
        report.cursor = last;
        Ok(report)
    }

    /// Runs rounds until `stop` completes: at once again after a full batch, every [`POLL`]
    /// otherwise, and with a doubling pause (at most [`BACKOFF_MAX`]) after failures.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut failures = 0u32;
        loop {
            let pause = match self.round().await {
                Ok(report) => {
                    if failures > 0 {
                        tracing::info!("agent log: logging agent transitions again");
                    }
                    failures = 0;
                    if report.read == BATCH as usize {
                        continue;
                    }
                    POLL
                }
                Err(e) => {
                    failures += 1;
                    // The store or the configuration may have changed: open it again.
                    self.engine = None;
                    self.position = None;
                    let pause = POLL * 2u32.saturating_pow(failures.min(7));
                    let pause = pause.min(BACKOFF_MAX);
                    if failures == 1 {
                        tracing::warn!(error = %format!("{e:#}"), retry_in = ?pause, "agent log: cannot log agent transitions into zdrive; they wait in perth's outbox");
                    } else {
                        tracing::debug!(error = %format!("{e:#}"), retry_in = ?pause, "agent log: still failing");
                    }
                    pause
                }
            };
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Resolves zdrive's setup; `None` while it uses the embedded store and its file does not
    /// exist yet (made by zdrive's first command, not by this reader).
    fn engine_setup(&self) -> Result<Option<Setup>> {
        let setup = (self.resolve)().context("resolving zdrive's configuration")?;
        let (kind, _) = setup.active_store()?;
        if kind == "embedded" && !setup.database_path.exists() {
            return Ok(None);
        }
        Ok(Some(setup))
    }

    /// Opens zdrive's engine on the store `setup` names, unless it is open on it already;
    /// returns whether it opened one.
    async fn open_engine(&mut self, setup: &Setup) -> Result<bool> {
        let (kind, url) = setup.active_store()?;
        let identity = format!(
            "{kind} {} {}",
            url.unwrap_or_default(),
            setup.database_path.display()
        );
        if self.engine.as_ref().is_some_and(|(id, _)| *id == identity) {
            return Ok(false);
        }
        let engine = setup
            .open_engine(Access::Write)
            .await
            .context("opening zdrive's store")?;
        // Another store holds another cursor.
        self.position = None;
        self.gap = None;
        self.engine = Some((identity, engine));
        Ok(true)
    }

    fn zdrive(&self) -> Result<&Zdrive> {
        self.engine
            .as_ref()
            .map(|(_, z)| z)
            .context("internal error: zdrive's engine is not open")
    }
}

/// Returns how many of `ids` (ascending, all above `cursor`) may be read now. Rows after a gap
/// wait until the gap has been seen for [`GAP_GRACE`] (`gap` remembers it), except at the
/// start (`cursor` 0), where the first rows may have been trimmed long ago.
fn readable(cursor: i64, ids: &[i64], gap: &mut Option<(i64, Instant)>, now: Instant) -> usize {
    let mut expect = cursor + 1;
    for (n, &id) in ids.iter().enumerate() {
        if id != expect && !(n == 0 && cursor == 0) {
            match *gap {
                Some((after, since)) if after == id => {
                    if now.duration_since(since) < GAP_GRACE {
                        return n;
                    }
                }
                _ => {
                    *gap = Some((id, now));
                    return n;
                }
            }
        }
        expect = id + 1;
    }
    ids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_after_a_gap_wait_for_it_to_fill_then_go() {
        let t0 = Instant::now();
        let mut gap = None;
        assert_eq!(readable(4, &[5, 6, 7], &mut gap, t0), 3);
        assert_eq!(gap, None);
        // 8 is not visible yet: 9 and 10 wait.
        assert_eq!(readable(7, &[9, 10], &mut gap, t0), 0);
        assert_eq!(readable(7, &[9, 10], &mut gap, t0 + GAP_GRACE / 2), 0);
        // It committed: everything goes.
        assert_eq!(readable(7, &[8, 9, 10], &mut gap, t0 + GAP_GRACE / 2), 3);
        // A gap that never fills (a rolled back transaction) is passed after the grace.
        let mut gap = None;
        assert_eq!(readable(10, &[11, 13], &mut gap, t0), 1);
        assert_eq!(readable(11, &[13], &mut gap, t0 + GAP_GRACE / 2), 0);
        assert_eq!(readable(11, &[13], &mut gap, t0 + GAP_GRACE), 1);
        // A fresh cursor starts wherever the outbox starts.
        let mut gap = None;
        assert_eq!(readable(0, &[500, 501], &mut gap, t0), 2);
        assert_eq!(readable(0, &[500, 502], &mut gap, t0), 1);
    }
}
