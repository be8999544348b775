//! The notification bus: one active notification per pane, a bounded history, time to live.
//!
//! Pure state: the caller passes the clock in, so ordering, clearing and expiry are tested
//! without sleeping. Every source (command line, pipe, OSC, BEL, command exit) ends in
//! [`Bus::raise`].

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use bridge_protocol::notice::{PaneRef, Style};

/// Where a notification came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `perth action notify`.
    Cli,
    /// The `perth::notify` pipe.
    Pipe,
    /// OSC 9 from the pane's program.
    Osc9,
    /// OSC 99 (kitty's desktop notifications).
    Osc99,
    /// OSC 777 (`notify;title;body`).
    Osc777,
    /// A BEL character.
    Bell,
    /// A command pane's command exited.
    CommandExit,
    /// An agent started waiting for its user, or finished its turn (`perth agents`).
    Agent,
}

/// A notification as listed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique within the server's life, increasing.
    pub id: u64,
    /// The pane it belongs to.
    pub pane: PaneRef,
    /// How it is drawn.
    pub style: Style,
    /// The message, already made inert.
    pub message: String,
    /// Where it came from.
    pub source: Source,
    /// When it was raised, in milliseconds since the Unix epoch.
    pub raised_at_ms: u64,
    /// Its time to live, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// How many identical notifications were folded into this one.
    pub count: u32,
}

/// Something that happened to a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// It became the pane's active notification.
    Raised,
    /// A more severe notification was active on the pane; this one was only recorded.
    Outranked,
    /// A newer notification of at least the same severity took its place.
    Replaced,
    /// The pane got focus.
    Focused,
    /// Someone cleared it.
    Cleared,
    /// Its time to live ran out.
    Expired,
    /// Its pane closed.
    PaneClosed,
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub event: Event,
    /// The notification it happened to.
    pub notification: Notification,
}

/// What `list-notifications` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Active notifications, oldest first.
    pub active: Vec<Notification>,
    /// Recent history, newest first.
    pub history: Vec<HistoryEntry>,
}

/// A request to raise a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    pub pane: PaneRef,
    pub style: Style,
    pub message: String,
    pub source: Source,
    pub ttl: Option<Duration>,
}

/// What [`Bus::raise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new active notification.
    New(u64),
    /// The same style and message were active: folded into it.
    Folded(u64),
    /// A more severe one stays active; this one is in the history only.
    Outranked(u64),
}

#[derive(Debug, Clone)]
struct Active {
    notification: Notification,
    raised: Instant,
    expires: Option<Instant>,
}

/// The bus of one server.
#[derive(Debug)]
pub struct Bus {
    active: BTreeMap<PaneRef, Active>,
    history: VecDeque<HistoryEntry>,
    history_limit: usize,
    next_id: u64,
    generation: u64,
}

impl Bus {
    /// A bus keeping `history_limit` history entries.
    pub fn new(history_limit: usize) -> Bus {
        Bus {
            active: BTreeMap::new(),
            history: VecDeque::new(),
            history_limit,
            next_id: 1,
            generation: 0,
        }
    }

    /// Increases whenever the set of active notifications or their drawing changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Raises a notification.
    pub fn raise(&mut self, req: Raise, now: Instant, now_ms: u64) -> Raised {
        let expires = req.ttl.map(|ttl| now + ttl);
        if let Some(current) = self.active.get_mut(&req.pane) {
            let n = &mut current.notification;
            if n.style == req.style && n.message == req.message {
                n.count = n.count.saturating_add(1);
                if let Some(e) = expires {
                    current.expires = Some(current.expires.map_or(e, |c| c.max(e)));
                }
                return Raised::Folded(n.id);
            }
            if n.style > req.style {
                let id = n.id;
                let outranked = self.make(req, now_ms);
                self.record(now_ms, Event::Outranked, outranked);
                return Raised::Outranked(id);
            }
        }
        let notification = self.make(req, now_ms);
        let id = notification.id;
        if let Some(old) = self.active.insert(
            notification.pane,
            Active {
                notification: notification.clone(),
                raised: now,
                expires,
            },
        ) {
            self.record(now_ms, Event::Replaced, old.notification);
        }
        self.record(now_ms, Event::Raised, notification);
        self.generation += 1;
        Raised::New(id)
    }

    fn make(&mut self, req: Raise, now_ms: u64) -> Notification {
        let id = self.next_id;
        self.next_id += 1;
        Notification {
            id,
            pane: req.pane,
            style: req.style,
            message: req.message,
            source: req.source,
            raised_at_ms: now_ms,
            ttl_ms: req.ttl.map(|t| t.as_millis() as u64),
            count: 1,
        }
    }

    fn record(&mut self, at_ms: u64, event: Event, notification: Notification) {
        // A flood of the same notification keeps one history line, counted.
        if let Some(last) = self.history.back_mut() {
            if last.event == event
                && last.notification.pane == notification.pane
                && last.notification.style == notification.style
                && last.notification.message == notification.message
            {
                last.at_ms = at_ms;
                last.notification.count = last.notification.count.saturating_add(1);
                return;
            }
        }
        self.history.push_back(HistoryEntry {
            at_ms,
            event,
            notification,
        });
        while self.history.len() > self.history_limit {
            self.history.pop_front();
        }
    }

    /// Clears the pane's notification; returns it.
    pub fn clear(&mut self, pane: PaneRef, event: Event, now_ms: u64) -> Option<Notification> {
        let removed = self.active.remove(&pane)?;
        self.record(now_ms, event, removed.notification.clone());
        self.generation += 1;
        Some(removed.notification)
    }

    /// Clears every notification; returns how many there were.
    pub fn clear_all(&mut self, now_ms: u64) -> usize {
        let panes: Vec<PaneRef> = self.active.keys().copied().collect();
        for pane in &panes {
            self.clear(*pane, Event::Cleared, now_ms);
        }
        panes.len()
    }

    /// Shortens the pane's notification to live at most until `until` (shown briefly).
    pub fn shorten(&mut self, pane: PaneRef, until: Instant) {
        if let Some(a) = self.active.get_mut(&pane) {
            a.expires = Some(a.expires.map_or(until, |e| e.min(until)));
        }
    }

    /// Removes notifications whose time ran out; returns how many.
    pub fn expire(&mut self, now: Instant, now_ms: u64) -> usize {
        let due: Vec<PaneRef> = self
            .active
            .iter()
            .filter(|(_, a)| a.expires.is_some_and(|e| e <= now))
            .map(|(p, _)| *p)
            .collect();
        for pane in &due {
            self.clear(*pane, Event::Expired, now_ms);
        }
        due.len()
    }

    /// The next moment a notification expires.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.active.values().filter_map(|a| a.expires).min()
    }

    /// Drops notifications of panes that no longer exist.
    pub fn retain_panes(&mut self, exists: impl Fn(&PaneRef) -> bool, now_ms: u64) {
        let gone: Vec<PaneRef> = self.active.keys().filter(|p| !exists(p)).copied().collect();
        for pane in gone {
            self.clear(pane, Event::PaneClosed, now_ms);
        }
    }

    /// The pane's active notification and when it was raised.
    pub fn get(&self, pane: &PaneRef) -> Option<(&Notification, Instant)> {
        self.active.get(pane).map(|a| (&a.notification, a.raised))
    }

    /// Active notifications by pane.
    pub fn active(&self) -> impl Iterator<Item = (&Notification, Instant)> {
        self.active.values().map(|a| (&a.notification, a.raised))
    }

    /// How many notifications are active.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    /// Whether none is active.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// The listing: active oldest first, history newest first (at most `history` lines).
    pub fn listing(&self, history: usize) -> Listing {
        let mut active: Vec<Notification> = self
            .active
            .values()
            .map(|a| a.notification.clone())
            .collect();
        active.sort_by_key(|n| n.id);
        Listing {
            active,
            history: self.history.iter().rev().take(history).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pane: u32, style: Style, message: &str) -> Raise {
        Raise {
            pane: PaneRef::Terminal(pane),
            style,
            message: message.into(),
            source: Source::Cli,
            ttl: None,
        }
    }

    #[test]
    fn newest_of_equal_or_higher_severity_wins() {
        let mut bus = Bus::new(10);
        let t = Instant::now();
        assert_eq!(bus.raise(req(1, Style::Info, "a"), t, 1), Raised::New(1));
        assert_eq!(bus.raise(req(1, Style::Error, "b"), t, 2), Raised::New(2));
        assert_eq!(
            bus.raise(req(1, Style::Success, "c"), t, 3),
            Raised::Outranked(2)
        );
        assert_eq!(bus.raise(req(1, Style::Error, "d"), t, 4), Raised::New(4));
        let listing = bus.listing(10);
        assert_eq!(listing.active.len(), 1);
        assert_eq!(listing.active[0].message, "d");
        let events: Vec<Event> = listing.history.iter().map(|h| h.event).collect();
        assert_eq!(
            events,
            vec![
                Event::Raised,
                Event::Replaced,
                Event::Outranked,
                Event::Raised,
                Event::Replaced,
                Event::Raised
            ]
        );
    }

    #[test]
    fn identical_notifications_fold() {
        let mut bus = Bus::new(10);
        let t = Instant::now();
        bus.raise(req(1, Style::Warning, "x"), t, 1);
        let generation = bus.generation();
        for i in 0..10_000 {
            assert_eq!(
                bus.raise(req(1, Style::Warning, "x"), t, i),
                Raised::Folded(1)
            );
        }
        assert_eq!(bus.generation(), generation, "folding redraws nothing");
        assert_eq!(bus.listing(10).active[0].count, 10_001);
        assert_eq!(bus.listing(10).history.len(), 1);
    }

    #[test]
    fn history_is_bounded_and_newest_first() {
        let mut bus = Bus::new(3);
        let t = Instant::now();
        for i in 0..10 {
            bus.raise(req(i, Style::Info, &format!("m{i}")), t, i as u64);
        }
        let h = bus.listing(100).history;
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].notification.message, "m9");
        assert_eq!(bus.listing(2).history.len(), 2);
    }

    #[test]
    fn clear_and_ttl() {
        let mut bus = Bus::new(10);
        let t = Instant::now();
        let mut r = req(1, Style::Error, "x");
        r.ttl = Some(Duration::from_secs(5));
        bus.raise(r, t, 0);
        bus.raise(req(2, Style::Info, "y"), t, 0);
        assert_eq!(bus.next_expiry(), Some(t + Duration::from_secs(5)));
        assert_eq!(bus.expire(t + Duration::from_secs(4), 4), 0);
        bus.shorten(PaneRef::Terminal(2), t + Duration::from_secs(1));
        assert_eq!(bus.expire(t + Duration::from_secs(5), 5), 2);
        assert!(bus.is_empty());
        bus.raise(req(3, Style::Info, "z"), t, 0);
        assert!(bus.clear(PaneRef::Terminal(3), Event::Focused, 6).is_some());
        assert!(bus.clear(PaneRef::Terminal(3), Event::Cleared, 6).is_none());
        bus.raise(req(4, Style::Info, "z"), t, 0);
        bus.raise(req(5, Style::Info, "z"), t, 0);
        bus.retain_panes(|p| *p == PaneRef::Terminal(4), 7);
        assert_eq!(bus.len(), 1);
        assert_eq!(bus.clear_all(8), 1);
    }
}
