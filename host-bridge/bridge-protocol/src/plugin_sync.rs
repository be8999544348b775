//! How perth's plugins keep one another up to date inside Zellij: the pipes they send one
//! another (`zdrive::logged`, `perth::redraw`, `perth::refresh`) and what a plugin does about a
//! permission question or a mode update that Zellij lost ([`PermissionAsk`], [`ModeSeen`]).

/// The message perth-core sends every plugin once host-bridge stored an entry a script logged
/// with a `zdrive::log` pipe; the payload is the zdrive name of the pane logged on. The zdrive
/// pane showing that pane reads it again.
///
/// The `zdrive::log` pipe itself reaches perth-core alone (perth's server addresses it, see
/// perth's `server::clients`), and this comes once the entry is stored, not while it is on
/// its way.
pub const ZDRIVE_LOGGED_PIPE: &str = "zdrive::logged";

/// The pipe perth's server broadcasts, without a payload, when a client attached: every perth
/// plugin that draws a pane draws it again.
///
/// Zellij 0.45.1 runs one instance of each plugin per client id and keeps an instance when its
/// client leaves. Loading the plugins of another client writes Zellij's loading message into
/// every client's copy of the pane, the absent one's included, and nothing redraws that copy:
/// a client that later gets the absent one's id back is shown the blank copy (its tab bar and
/// status bar empty for good) until the instance has something new to draw.
pub const REDRAW_PIPE: &str = "perth::redraw";

/// The pipe a perth plugin broadcasts, with its client id as the payload, when it holds its
/// permissions only after asking again (see [`Grant::AfterAskingAgain`]): perth-core's instance
/// for that client switches the client to the input mode it is in, which makes Zellij send
/// every plugin of every tab its client's mode again, and has Zellij report the tabs and panes
/// to every plugin.
///
/// When Zellij 0.45.1 finds no grant in its cache (the race `server::grants` in perth
/// describes) it holds back the events of every instance of the plugin and, once the question
/// is answered, hands them to each instance; an instance still without its permissions drops
/// its mode and tab updates, and Zellij sends them again only when they change. A bar that
/// lost them stays blank (no tabs, no session name, no key hints) until then.
pub const REFRESH_PIPE: &str = "perth::refresh";

/// How late a permission grant may come, after a perth plugin asked for its permissions, and
/// still be taken for Zellij's answer from its cache (which is for this instance).
///
/// A grant that comes later was a question answered by perth's server (see perth's
/// `server::grants`), and Zellij applies an answer given to a pane to the first instance of the
/// plugin it finds, which may be another client's: the plugin then asks again, and Zellij, now
/// finding the grant in its cache, applies it to this instance. Asking again reads the cache
/// and can meet the same race, so a late answer to asking again asks again, up to
/// [`PermissionAsk::AGAIN_AT_MOST`] times; a prompt grant ends it.
pub const ASK_AGAIN_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// What a perth plugin does about a permission grant (see [`PermissionAsk::granted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Zellij's prompt answer to the first request: nothing more to do.
    InTime,
    /// A late grant, maybe given to another instance: ask again.
    AskAgain,
    /// The instance holds its permissions now, after asking again (or it may never, having
    /// asked again as often as it may): the updates Zellij handed it before were dropped, so
    /// it asks for them again on [`REFRESH_PIPE`].
    AfterAskingAgain,
}

/// A perth plugin's request for its permissions: when it last asked, and how often it may
/// still ask again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionAsk {
    asked_at: std::time::Instant,
    again_left: u8,
}

impl PermissionAsk {
    /// How many times a plugin asks again after late grants, at most.
    pub const AGAIN_AT_MOST: u8 = 5;

    /// The plugin asked for its permissions at `now`.
    pub fn new(now: std::time::Instant) -> PermissionAsk {
        PermissionAsk {
            asked_at: now,
            again_left: Self::AGAIN_AT_MOST,
        }
    }

    /// A grant came at `now`; says what to do about it (see [`ASK_AGAIN_AFTER`]), and when it
    /// is to ask again takes `now` as the time it asked.
    pub fn granted(&mut self, now: std::time::Instant) -> Grant {
        let late = now.saturating_duration_since(self.asked_at) > ASK_AGAIN_AFTER;
        let asked_again = self.again_left < Self::AGAIN_AT_MOST;
        if late && self.again_left > 0 {
            self.again_left -= 1;
            self.asked_at = now;
            Grant::AskAgain
        } else if asked_again || late {
            Grant::AfterAskingAgain
        } else {
            Grant::InTime
        }
    }
}

/// Whether a perth plugin instance that shows its client's mode has received it. Zellij sends
/// a newly loaded instance its client's mode before the tabs, and again only when the mode
/// changes; an instance whose permissions Zellij set late dropped that first mode update
/// (denied) and then draws the tabs without a mode or session name for good. A tab update
/// with no mode seen yet is that loss: the instance asks for its mode on [`REFRESH_PIPE`], at
/// most once per [`MODE_ASK_EVERY`] while none comes.
///
/// An instance granted while the first updates were on their way may get neither the mode nor
/// the tabs (both dropped, and nothing changes after): [`ModeSeen::granted`] gives the time to
/// wait for them, and [`ModeSeen::due`] says, when that time has come, to ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModeSeen {
    seen: bool,
    asked_at: Option<std::time::Instant>,
    granted_at: Option<std::time::Instant>,
    /// How often it asked.
    asks: u8,
    /// Whether a timer it asked for ([`ModeSeen::follow_up`]) has yet to come.
    timer_set: bool,
}

/// How often an instance without its mode asks for it again, at most.
pub const MODE_ASK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long after its grant an instance waits for its first mode update before asking for it.
pub const MODE_WAIT_AFTER_GRANT: std::time::Duration = std::time::Duration::from_secs(1);

/// How many times an instance asks for its mode, at most: the ask goes to every plugin, and
/// perth-core of the instance's client may not be loaded yet when it is sent (the message is
/// then lost), so the instance asks again on a timer, but not forever (a layout without
/// perth-core never answers).
pub const MODE_ASKS_AT_MOST: u8 = 30;

impl ModeSeen {
    /// A mode update arrived.
    pub fn mode(&mut self) {
        self.seen = true;
    }

    /// The instance was granted its permissions at `now`: returns after how long to call
    /// [`ModeSeen::due`] (a timer), unless the mode came already.
    pub fn granted(&mut self, now: std::time::Instant) -> Option<std::time::Duration> {
        if self.seen {
            return None;
        }
        self.granted_at = Some(now);
        self.timer_set = true;
        Some(MODE_WAIT_AFTER_GRANT)
    }

    /// A timer at `now`: returns whether to ask for the mode on [`REFRESH_PIPE`] (it was
    /// granted [`MODE_WAIT_AFTER_GRANT`] ago or more, no mode came, and it did not ask within
    /// [`MODE_ASK_EVERY`]).
    /// A timer that asked before ([`ModeSeen::follow_up`]) asks again the same way.
    pub fn due(&mut self, now: std::time::Instant) -> bool {
        self.timer_set = false;
        let waited = self.asked_at.is_some()
            || self
                .granted_at
                .is_some_and(|at| now.saturating_duration_since(at) >= MODE_WAIT_AFTER_GRANT);
        waited && self.ask(now)
    }

    /// Called after [`ModeSeen::due`] or [`ModeSeen::tabs`]: once it asked, returns after how
    /// long to call [`ModeSeen::due`] (a timer) to ask again if the mode has not come by then,
    /// unless a timer is set already or it asked [`MODE_ASKS_AT_MOST`] times. An ask answered by nobody (perth-core of this client was
    /// still loading) is not the end of it, though no update comes to set it off again.
    pub fn follow_up(&mut self) -> Option<std::time::Duration> {
        if self.seen || self.timer_set || self.asked_at.is_none() || self.asks >= MODE_ASKS_AT_MOST
        {
            return None;
        }
        self.timer_set = true;
        Some(MODE_ASK_EVERY)
    }

    /// A tab update arrived at `now`: returns whether to ask for the mode on [`REFRESH_PIPE`].
    pub fn tabs(&mut self, now: std::time::Instant) -> bool {
        self.ask(now)
    }

    /// Whether to ask at `now`: no mode came and it did not ask within [`MODE_ASK_EVERY`]
    /// (then it counts as asked).
    fn ask(&mut self, now: std::time::Instant) -> bool {
        let ask = !self.seen
            && self.asks < MODE_ASKS_AT_MOST
            && self
                .asked_at
                .is_none_or(|at| now.saturating_duration_since(at) >= MODE_ASK_EVERY);
        if ask {
            self.asked_at = Some(now);
            self.asks += 1;
        }
        ask
    }
}
