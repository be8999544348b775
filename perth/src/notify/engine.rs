//! The notification engine of one server: the bus, every client's shadow screen and overlay,
//! the panes each client sees (from perth-core), and the animation thread.
//!
//! Zellij's renders pass through [`Engine::on_render`] on their way to a client: the shadow
//! replays them, and the overlay for that client is appended to the same message, so a border
//! Zellij redraws is recoloured in the same frame. The animation thread sends overlay-only
//! frames through the same painter while something moves, at an adaptive rate, and sleeps
//! otherwise. One mutex guards it all; every section under it is short and never waits on I/O
//! (sending to a client only queues the message).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use zellij_server::os_input_output::ServerOsApi;
use zellij_utils::data::ClientId;
use zellij_utils::ipc::ServerToClientMsg;

use bridge_protocol::link::{Notice, Snapshot};

use super::anim;
use super::bus::{Bus, Event, Listing, Notification, PaneRef, Raise, Raised, Source};
use super::osc::Found;
use super::overlay::{self, Decoration, Painter};
use super::settings::NotifySettings;
use super::shadow::Shadow;
use super::views::{
    badges, find_pane, focused_panes, has_full_frame, label_of, pane_exists, tab_bar, tab_counts,
    view_for, visible_panes, PaneLabel,
};
use crate::agent_state::AgentState;

/// What `perth status` shows of the engine.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NotifyStatus {
    /// Active notifications.
    pub active: usize,
    /// Panes whose border is moving now.
    pub animated_panes: usize,
    /// The current frame rate of the animation (0 when nothing moves).
    pub fps: u32,
    /// The configured highest frame rate.
    pub fps_cap: u32,
    /// Overlay-only frames sent to clients so far.
    pub frames_sent: u64,
    /// Clients whose screens perth follows.
    pub clients: usize,
}

/// The answer to `list-notifications`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationList {
    #[serde(flatten)]
    pub listing: Listing,
    /// Titles and tabs of the panes named in `active`.
    pub panes: Vec<PaneLabel>,
}

#[derive(Default)]
struct ClientScreen {
    shadow: Shadow,
    painter: Painter,
}

struct State {
    bus: Bus,
    screens: BTreeMap<ClientId, ClientScreen>,
    views: BTreeMap<ClientId, Snapshot>,
    focused: BTreeSet<PaneRef>,
    first_drawn: HashMap<u64, Instant>,
    sender: Option<Box<dyn ServerOsApi>>,
    seen_pipes: VecDeque<String>,
    changed: bool,
    window_start: Instant,
    window_bytes: usize,
    fps: u32,
    animated: usize,
    /// The agent state of each terminal pane that has one (the tab bar counts them).
    agents: BTreeMap<u32, AgentState>,
}

/// The engine; shared by the OS API wrapper, the perth-core link, the control socket and the
/// animation thread.
pub struct Engine {
    state: Mutex<State>,
    wake: Condvar,
    settings: NotifySettings,
    frames_sent: AtomicU64,
    generation: AtomicU64,
    /// Grows when a notified pane gains or loses its full frame (what `Notice.drawn` says).
    frames_generation: AtomicU64,
    fps_now: AtomicU32,
    /// Grows when a client is first drawn for, that is when one attached (a returning client
    /// id included).
    attaches: AtomicU64,
    /// Grows when a client is forgotten (it left).
    leaves: AtomicU64,
    /// Called whenever [`Engine::generation`] or [`Engine::client_changes`] may have changed
    /// (the perth-core link sleeps until then).
    change_hook: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    /// Called with every raise and what the bus did with it (`perth events` hears of them).
    raise_hook: Mutex<Option<RaiseHook>>,
    /// Asks the session itself whether a pane exists, for a notification on a pane the
    /// engine's view (perth-core's last push) does not hold yet.
    pane_oracle: Mutex<Option<PaneOracle>>,
    /// Called with a client whose render shows a plugin's permission question (`(y/n)`).
    prompt_hook: Mutex<Option<PromptHook>>,
}

/// See [`Engine::set_prompt_hook`].
type PromptHook = Box<dyn Fn(ClientId, Prompt) + Send + Sync>;

/// Why the prompt hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// The client's render shows a plugin's permission question.
    Question,
    /// The client was drawn for the first time: it attached, and its plugins load now (they
    /// may ask, and Zellij may not draw the question for it).
    Attached,
}

/// What Zellij's permission question ends with ("Allow? (y/n)"), painted as one run.
const PERMISSION_QUESTION: &str = "(y/n)";

/// See [`Engine::set_pane_oracle`].
type PaneOracle = Box<dyn Fn(PaneRef) -> bool + Send + Sync>;

/// See [`Engine::set_raise_hook`].
type RaiseHook = Box<dyn Fn(&Raise, Raised) + Send + Sync>;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Engine {
    /// A new engine; call [`Engine::start`] to run its animation thread.
    pub fn new(settings: NotifySettings) -> Arc<Engine> {
        Arc::new(Engine {
            state: Mutex::new(State {
                bus: Bus::new(settings.history),
                screens: BTreeMap::new(),
                views: BTreeMap::new(),
                focused: BTreeSet::new(),
                first_drawn: HashMap::new(),
                sender: None,
                seen_pipes: VecDeque::new(),
                changed: false,
                window_start: Instant::now(),
                window_bytes: 0,
                fps: settings.animation.fps,
                animated: 0,
                agents: BTreeMap::new(),
            }),
            wake: Condvar::new(),
            settings,
            frames_sent: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            frames_generation: AtomicU64::new(0),
            fps_now: AtomicU32::new(0),
            attaches: AtomicU64::new(0),
            leaves: AtomicU64::new(0),
            change_hook: Mutex::new(None),
            raise_hook: Mutex::new(None),
            pane_oracle: Mutex::new(None),
            prompt_hook: Mutex::new(None),
        })
    }

    /// Sets what is called whenever the notifications or the clients change, replacing the
    /// previous hook. It runs on the thread that made the change and must not wait.
    pub fn set_change_hook(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self.change_hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
    }

    /// Sets what is called with every notification raised, from any source, and what the bus
    /// did with it. It runs under the engine's lock, on the thread that raised it (the PTY
    /// reader's, for OSC and BEL), and must not wait.
    pub fn set_raise_hook(&self, hook: impl Fn(&Raise, Raised) + Send + Sync + 'static) {
        *self.raise_hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
    }

    fn run_change_hook(&self) {
        if let Some(hook) = &*self.change_hook.lock().unwrap_or_else(|e| e.into_inner()) {
            hook();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings the engine runs with.
    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// Gives the engine the OS API it sends overlay-only frames through.
    pub fn set_sender(&self, sender: Box<dyn ServerOsApi>) {
        self.lock().sender = Some(sender);
    }

    /// Starts the animation thread.
    pub fn start(self: &Arc<Self>) {
        let engine = self.clone();
        let spawned = std::thread::Builder::new()
            .name("perth-animation".into())
            .spawn(move || engine.animation_main());
        if let Err(e) = spawned {
            log::error!("perth: animation thread did not start: {e}");
        }
    }

    /// Increases whenever the active notifications change (the link pushes them then).
    pub fn generation(&self) -> u64 {
        // Both only grow, so the sum grows whenever either does.
        self.generation.load(Ordering::Relaxed) + self.frames_generation.load(Ordering::Relaxed)
    }

    fn changed(&self, st: &mut State) {
        st.changed = true;
        self.generation
            .store(st.bus.generation(), Ordering::Relaxed);
        self.wake.notify_all();
        self.run_change_hook();
    }

    /// Sets what to call when a render shows a plugin's permission question, or a client is
    /// drawn for the first time (see [`crate::server::grants`]); it runs on the render path, so
    /// it must only hand over.
    pub fn set_prompt_hook(&self, hook: impl Fn(ClientId, Prompt) + Send + Sync + 'static) {
        *self.prompt_hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(hook));
    }

    /// Returns the text `client` sees in the rectangle at `x`, `y` of `columns` x `rows`, one
    /// line per row (empty when the client has no screen yet).
    pub fn text_in(
        &self,
        client: ClientId,
        x: usize,
        y: usize,
        columns: usize,
        rows: usize,
    ) -> String {
        let st = self.lock();
        let Some(screen) = st.screens.get(&client) else {
            return String::new();
        };
        let mut text = String::new();
        for row in y..y + rows {
            text.extend((x..x + columns).map(|col| screen.shadow.ch(row, col)));
            text.push('\n');
        }
        text
    }

    /// A render on its way to `client`: follows it in the shadow and appends the overlay.
    pub fn on_render(&self, client: ClientId, content: &mut String) {
        let prompt = |why| {
            if let Some(hook) = &*self.prompt_hook.lock().unwrap_or_else(|e| e.into_inner()) {
                hook(client, why);
            }
        };
        if content.contains(PERMISSION_QUESTION) {
            prompt(Prompt::Question);
        }
        let mut st = self.lock();
        st.window_bytes += content.len();
        let state = &mut *st;
        if !state.screens.contains_key(&client) {
            self.attaches.fetch_add(1, Ordering::Relaxed);
            self.run_change_hook();
            prompt(Prompt::Attached);
        }
        let screen = state.screens.entry(client).or_default();
        screen.shadow.feed(content.as_bytes());
        let (written, cleared) = screen.shadow.take_written();
        screen.painter.drawn_over(&written, cleared);
        if state.bus.is_empty() && screen.painter.is_empty() {
            return;
        }
        let (frame, _) = self.frame_for(&mut st, client, Instant::now());
        content.push_str(&frame);
    }

    /// Forgets a client that left.
    pub fn remove_client(&self, client: ClientId) {
        let mut st = self.lock();
        if st.screens.remove(&client).is_some() {
            self.leaves.fetch_add(1, Ordering::Relaxed);
        }
        st.views.remove(&client);
        self.run_change_hook();
    }

    /// perth-core's view of the session for one client: clears notifications of panes that
    /// got focus or closed, and redraws.
    pub fn update_view(&self, client: ClientId, snapshot: Snapshot) {
        let mut st = self.lock();
        let framed_before = framed_notified(&st);
        st.views.insert(client, snapshot);
        let now_ms = unix_ms();
        let existing: BTreeSet<PaneRef> = st
            .views
            .values()
            .flat_map(|v| v.panes.iter().map(|p| PaneRef::new(p.id, p.is_plugin)))
            .collect();
        st.bus.retain_panes(|p| existing.contains(p), now_ms);
        let focused = focused_panes(st.views.values());
        let newly: Vec<PaneRef> = focused.difference(&st.focused).copied().collect();
        for pane in newly {
            st.bus.clear(pane, Event::Focused, now_ms);
        }
        st.focused = focused;
        if framed_notified(&st) != framed_before {
            self.frames_generation.fetch_add(1, Ordering::Relaxed);
        }
        self.changed(&mut st);
    }

    /// How many clients the engine follows (one per attached terminal).
    /// Returns how many times a client attached and how many times one left, since the
    /// server started: a client that left and one that attached in its place both count,
    /// where the number of clients would not change.
    pub fn client_changes(&self) -> (u64, u64) {
        (
            self.attaches.load(Ordering::Relaxed),
            self.leaves.load(Ordering::Relaxed),
        )
    }

    /// Whether perth-core has told the engine about the session's panes yet.
    pub fn knows_panes(&self) -> bool {
        !self.lock().views.is_empty()
    }

    /// Returns whether the session has `pane`, as perth-core last reported; `None` before it
    /// reported the session's panes.
    pub fn has_pane(&self, pane: PaneRef) -> Option<bool> {
        let st = self.lock();
        (!st.views.is_empty()).then(|| pane_exists(&st.views, pane))
    }

    /// Raises a notification; an unknown pane is an error when the session's panes are known.
    pub fn raise(&self, req: Raise) -> Result<Notification, String> {
        let mut st = self.lock();
        if !st.views.is_empty() && !pane_exists(&st.views, req.pane) {
            return Err(format!(
                "no pane {} in this session; see `perth action list-panes`",
                req.pane
            ));
        }
        Ok(self.raise_locked(&mut st, req))
    }

    fn raise_locked(&self, st: &mut State, req: Raise) -> Notification {
        let now = Instant::now();
        let pane = req.pane;
        let hook = self.raise_hook.lock().unwrap_or_else(|e| e.into_inner());
        let heard = hook.as_ref().map(|_| req.clone());
        let outcome = st.bus.raise(req, now, unix_ms());
        if let (Some(hook), Some(req)) = (hook.as_ref(), heard) {
            hook(&req, outcome);
        }
        drop(hook);
        if matches!(outcome, Raised::New(_)) && st.focused.contains(&pane) {
            // The user is looking at it: show it briefly, then let it go.
            st.bus.shorten(pane, now + self.settings.brief);
        }
        let id = match outcome {
            Raised::New(id) | Raised::Folded(id) | Raised::Outranked(id) => id,
        };
        if matches!(outcome, Raised::New(_)) {
            self.changed(st);
        }
        st.bus
            .get(&pane)
            .map(|(n, _)| n.clone())
            .filter(|n| n.id == id)
            .unwrap_or_else(|| Notification {
                id,
                pane,
                style: Default::default(),
                message: String::new(),
                source: Source::Cli,
                raised_at_ms: 0,
                ttl_ms: None,
                count: 0,
            })
    }

    /// Raises what the pane's output asked for (OSC 9 / 99 / 777, BEL), if configured.
    pub fn from_pane(&self, terminal_id: u32, found: Found) {
        let allowed = match found.source {
            Source::Bell => self.settings.bell,
            _ => self.settings.osc,
        };
        if !allowed {
            return;
        }
        let message = bridge_protocol::notice::clean_message(&found.message);
        let mut st = self.lock();
        self.raise_locked(
            &mut st,
            Raise {
                pane: PaneRef::Terminal(terminal_id),
                style: found.style,
                message: if message.is_empty() {
                    "notification".into()
                } else {
                    message
                },
                source: found.source,
                ttl: None,
            },
        );
    }

    /// A command pane's command ended: success for status 0, error otherwise.
    pub fn command_exited(&self, terminal_id: u32, status: Option<i32>, command: &str) {
        if !self.settings.command_exit {
            return;
        }
        let command = bridge_protocol::notice::clean_message(command);
        let (style, message) = match status {
            Some(0) => (
                super::bus::Style::Success,
                format!("`{command}` finished (exit status 0)"),
            ),
            Some(code) => (
                super::bus::Style::Error,
                format!("`{command}` failed (exit status {code})"),
            ),
            None => (super::bus::Style::Error, format!("`{command}` was killed")),
        };
        let mut st = self.lock();
        self.raise_locked(
            &mut st,
            Raise {
                pane: PaneRef::Terminal(terminal_id),
                style,
                message,
                source: Source::CommandExit,
                ttl: None,
            },
        );
    }

    /// Sets how the engine asks the session whether a pane exists (it may wait on the
    /// session: never called on the render or PTY paths).
    pub fn set_pane_oracle(&self, oracle: impl Fn(PaneRef) -> bool + Send + Sync + 'static) {
        *self.pane_oracle.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(oracle));
    }

    /// Raises a notification on a pane known to exist (its PTY spoke, its agent has a state).
    pub fn raise_existing(&self, req: Raise) -> Notification {
        let mut st = self.lock();
        self.raise_locked(&mut st, req)
    }

    /// Handles a notification that came through perth-core (a `perth::notify` pipe), once
    /// per CLI pipe even though every plugin instance forwards it. A pane made a moment ago
    /// may not be in the engine's view yet (perth-core pushes it next): the session is asked
    /// before the notification is refused, so a milestone logged on a new pane is not lost.
    pub fn from_plugin(&self, raise: Raise, source_pipe: Option<String>) {
        if !self.first_time(source_pipe) {
            return;
        }
        if self.raise(raise.clone()).is_err() {
            let exists = self
                .pane_oracle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|oracle| oracle(raise.pane));
            if exists {
                self.raise_existing(raise);
            }
        }
    }

    /// As [`Engine::from_plugin`], for `perth::clear`.
    pub fn clear_from_plugin(&self, pane: Option<PaneRef>, source_pipe: Option<String>) {
        if self.first_time(source_pipe) {
            let _ = self.clear(pane);
        }
    }

    fn first_time(&self, source_pipe: Option<String>) -> bool {
        let Some(pipe) = source_pipe else {
            return true;
        };
        let mut st = self.lock();
        if st.seen_pipes.contains(&pipe) {
            return false;
        }
        st.seen_pipes.push_back(pipe);
        if st.seen_pipes.len() > 256 {
            st.seen_pipes.pop_front();
        }
        true
    }

    /// Clears one pane's notification, or all; returns how many were cleared.
    pub fn clear(&self, pane: Option<PaneRef>) -> Result<usize, String> {
        let mut st = self.lock();
        let now_ms = unix_ms();
        let count = match pane {
            Some(pane) => {
                if !st.views.is_empty() && !pane_exists(&st.views, pane) {
                    return Err(format!(
                        "no pane {pane} in this session; see `perth action list-panes`"
                    ));
                }
                usize::from(st.bus.clear(pane, Event::Cleared, now_ms).is_some())
            }
            None => st.bus.clear_all(now_ms),
        };
        self.changed(&mut st);
        Ok(count)
    }

    /// Active notifications and the newest `history` history lines.
    pub fn list(&self, history: usize) -> NotificationList {
        let st = self.lock();
        let listing = st.bus.listing(history);
        let panes = listing
            .active
            .iter()
            .map(|n| label_of(&st.views, n.pane))
            .collect();
        NotificationList { listing, panes }
    }

    /// The active notifications as other plugins see them.
    pub fn notices(&self) -> Vec<Notice> {
        let st = self.lock();
        st.bus
            .active()
            .map(|(n, _)| Notice {
                pane: n.pane,
                style: n.style,
                message: n.message.clone(),
                tab_position: find_pane(&st.views, n.pane).map(|p| p.tab_position),
                drawn: has_full_frame(&st.views, n.pane),
                color: Some({
                    let (r, g, b) = self.settings.animation.look(n.style).color;
                    format!("#{r:02x}{g:02x}{b:02x}")
                }),
            })
            .collect()
    }

    /// The status section.
    pub fn status(&self) -> NotifyStatus {
        let st = self.lock();
        NotifyStatus {
            active: st.bus.len(),
            animated_panes: st.animated,
            fps: self.fps_now.load(Ordering::Relaxed),
            fps_cap: self.settings.animation.fps,
            frames_sent: self.frames_sent.load(Ordering::Relaxed),
            clients: st.screens.len(),
        }
    }

    /// Returns a pane's name and its tab's name, as perth-core last pushed them (empty when
    /// it has not yet).
    pub fn pane_label(&self, pane: PaneRef) -> PaneLabel {
        label_of(&self.lock().views, pane)
    }

    /// Takes the session's agent states for the tab bar's counts; redraws when they changed.
    pub fn set_agent_states(&self, states: BTreeMap<u32, AgentState>) {
        let mut st = self.lock();
        if st.agents != states {
            st.agents = states;
            st.changed = true;
            self.wake.notify_all();
        }
    }

    /// Computes the overlay frame for one client; returns it and how many of its panes move.
    fn frame_for(&self, st: &mut State, client: ClientId, now: Instant) -> (String, usize) {
        let State {
            bus,
            screens,
            views,
            first_drawn,
            agents,
            ..
        } = st;
        let Some(screen) = screens.get_mut(&client) else {
            return (String::new(), 0);
        };
        let view = view_for(views, client, &screen.shadow);
        let visible = view.map(visible_panes).unwrap_or_default();
        let mut decorations = HashMap::new();
        let mut moving = 0;
        for view in &visible {
            let Some((n, _)) = bus.get(&view.pane) else {
                continue;
            };
            let drawn = *first_drawn.entry(n.id).or_insert(now);
            let (paint, moves) = anim::paint(
                &self.settings.animation,
                n.style,
                now.saturating_duration_since(drawn),
            );
            moving += usize::from(moves);
            decorations.insert(
                view.pane,
                Decoration {
                    paint,
                    style: n.style,
                    message: n.message.clone(),
                },
            );
        }
        let badges = badges(&visible, agents, &self.settings.animation);
        let mut want = overlay::desired(&screen.shadow, &visible, &decorations, &badges);
        if let Some(view) = view {
            if let Some(bar) = tab_bar(view) {
                let segments = tab_counts(view, bus, agents, &self.settings.animation);
                overlay::tab_summary(&screen.shadow, bar, &segments, &mut want);
            }
        }
        (screen.painter.frame(&screen.shadow, &want), moving)
    }

    fn animation_main(self: Arc<Self>) {
        let mut st = self.lock();
        loop {
            let started = Instant::now();
            let now_ms = unix_ms();
            if st.bus.expire(started, now_ms) > 0 {
                self.generation
                    .store(st.bus.generation(), Ordering::Relaxed);
                self.run_change_hook();
            }
            let active: BTreeSet<u64> = st.bus.active().map(|(n, _)| n.id).collect();
            st.first_drawn.retain(|id, _| active.contains(id));
            let clients: Vec<ClientId> = st.screens.keys().copied().collect();
            let mut moving = 0;
            for client in clients {
                let (frame, m) = self.frame_for(&mut st, client, started);
                moving = moving.max(m);
                if frame.is_empty() {
                    continue;
                }
                if let Some(sender) = &st.sender {
                    let sent =
                        sender.send_to_client(client, ServerToClientMsg::Render { content: frame });
                    if sent.is_ok() {
                        self.frames_sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            st.animated = moving;
            let fps = self.adapt_fps(&mut st, started.elapsed());
            self.fps_now
                .store(if moving > 0 { fps } else { 0 }, Ordering::Relaxed);
            st.changed = false;
            let wait = if moving > 0 {
                Duration::from_secs_f64(1.0 / f64::from(fps.max(1)))
            } else {
                st.bus
                    .next_expiry()
                    .map(|e| e.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_secs(1))
                    .min(Duration::from_secs(1))
            };
            let wait = wait
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(1));
            st = match self.wake.wait_timeout_while(st, wait, |s| !s.changed) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// The frame rate for the next frame: the cap while the server is quiet, 30 while Zellij
    /// renders pane output, 15 while output streams, halved again when a frame costs too much.
    fn adapt_fps(&self, st: &mut State, frame_cost: Duration) -> u32 {
        let elapsed = st.window_start.elapsed();
        if elapsed >= Duration::from_millis(250) {
            let rate = st.window_bytes as f64 / elapsed.as_secs_f64();
            let cap = self.settings.animation.fps;
            // Typing and prompts stay well under 64 KiB/s; a command streaming output (a build
            // log, `cat` of a big file) makes Zellij render several hundred KiB/s, and then the
            // animation gives its share of the terminal to the output.
            st.fps = if rate < 64.0 * 1024.0 {
                cap
            } else if rate < 512.0 * 1024.0 {
                cap.min(30)
            } else {
                cap.min(15)
            };
            st.window_start = Instant::now();
            st.window_bytes = 0;
        }
        let period = Duration::from_secs_f64(1.0 / f64::from(st.fps.max(1)));
        if frame_cost > period / 4 {
            st.fps = (st.fps / 2).max(5);
        }
        st.fps
    }
}

/// The notified panes and whether each has its full frame (what `Notice.drawn` reports).
fn framed_notified(st: &State) -> Vec<(PaneRef, bool)> {
    st.bus
        .active()
        .map(|(n, _)| (n.pane, has_full_frame(&st.views, n.pane)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_protocol::link::{PaneState, TabState};

    fn pane(id: u32, tab: usize, focused: bool, floating: bool) -> PaneState {
        PaneState {
            id,
            tab_position: tab,
            is_focused: focused,
            is_floating: floating,
            x: 0,
            y: 0,
            cols: 10,
            rows: 5,
            content_x: 1,
            content_y: 1,
            content_cols: 8,
            content_rows: 3,
            is_selectable: true,
            ..Default::default()
        }
    }

    fn view(active: usize, floating_visible: bool, panes: Vec<PaneState>) -> Snapshot {
        Snapshot {
            tabs: (0..2)
                .map(|position| TabState {
                    position,
                    name: format!("tab{position}"),
                    active: position == active,
                    are_floating_panes_visible: floating_visible && position == active,
                    ..Default::default()
                })
                .collect(),
            panes,
            mode: "normal".into(),
        }
    }

    fn req(pane: u32) -> Raise {
        Raise {
            pane: PaneRef::Terminal(pane),
            style: super::super::bus::Style::Error,
            message: "x".into(),
            source: Source::Cli,
            ttl: None,
        }
    }

    /// A render that draws a Zellij frame around the rectangle, as cursor moves and glyphs.
    fn frame_render(x: usize, y: usize, cols: usize, rows: usize) -> String {
        let line = "─".repeat(cols - 2);
        let mut out = format!("\x1b[{};{}H┌{line}┐", y + 1, x + 1);
        for row in y + 1..y + rows - 1 {
            out += &format!(
                "\x1b[{};{}H│\x1b[{};{}H│",
                row + 1,
                x + 1,
                row + 1,
                x + cols
            );
        }
        out += &format!("\x1b[{};{}H└{line}┘", y + rows, x + 1);
        out
    }

    #[test]
    fn a_watcher_is_drawn_the_view_of_the_client_its_screen_shows() {
        let engine = Engine::new(NotifySettings::default());
        let at = |id, tab, x| PaneState {
            x,
            content_x: x + 1,
            ..pane(id, tab, true, false)
        };
        // Client 1 looks at tab 0 (pane 1 on the left), client 2 at tab 1 (pane 3 further right).
        engine.update_view(1, view(0, false, vec![at(1, 0, 0), at(3, 1, 20)]));
        engine.update_view(2, view(1, false, vec![at(1, 0, 0), at(3, 1, 20)]));
        engine.raise(req(3)).unwrap();
        // Watcher 7 shows client 1's screen: pane 3 is not on it, nothing is drawn.
        let mut shows_tab0 = frame_render(0, 0, 10, 5);
        let before = shows_tab0.len();
        engine.on_render(7, &mut shows_tab0);
        assert_eq!(shows_tab0.len(), before);
        // Watcher 8 shows client 2's screen: pane 3's border is drawn for it.
        let mut shows_tab1 = frame_render(20, 0, 10, 5);
        let before = shows_tab1.len();
        engine.on_render(8, &mut shows_tab1);
        assert!(shows_tab1.len() > before, "the overlay is appended");
        // A watcher whose screen shows no frame of any view is drawn nothing.
        let mut blank = String::from("\x1b[1;1Hhello");
        engine.on_render(9, &mut blank);
        assert_eq!(blank, "\x1b[1;1Hhello");
    }

    /// A client that left and one attached with its id both count: the perth-core link
    /// greets and asks the plugins to redraw on either, which the number of clients would miss.
    #[test]
    fn a_returning_client_id_counts_as_a_leave_and_an_attach() {
        let engine = Engine::new(NotifySettings::default());
        let render = |client| engine.on_render(client, &mut String::from("\x1b[1;1Hhi"));
        assert_eq!(engine.client_changes(), (0, 0));
        render(1);
        render(1);
        assert_eq!(
            engine.client_changes(),
            (1, 0),
            "one attach, however many renders"
        );
        engine.remove_client(1);
        engine.remove_client(1);
        assert_eq!(
            engine.client_changes(),
            (1, 1),
            "Zellij removes a client twice"
        );
        render(1);
        assert_eq!(engine.client_changes(), (2, 1));
    }

    #[test]
    fn focus_by_any_path_clears() {
        let engine = Engine::new(NotifySettings::default());
        let panes = |focus_a: bool| {
            vec![
                pane(1, 0, focus_a, false),
                pane(2, 0, !focus_a, false),
                pane(3, 1, true, false),
            ]
        };
        engine.update_view(1, view(0, false, panes(true)));
        engine.raise(req(2)).unwrap();
        engine.raise(req(3)).unwrap();
        assert!(engine
            .raise(req(9))
            .unwrap_err()
            .contains("no pane terminal_9"));
        assert_eq!(engine.list(10).listing.active.len(), 2);
        // Focus moves to pane 2 (keyboard, mouse or focus-pane-id: all end in PaneUpdate).
        engine.update_view(1, view(0, false, panes(false)));
        assert_eq!(engine.list(10).listing.active.len(), 1);
        // Switching to tab 1 focuses pane 3.
        engine.update_view(1, view(1, false, panes(false)));
        assert!(engine.list(10).listing.active.is_empty());
    }

    #[test]
    fn notification_on_a_focused_pane_is_brief_and_closed_panes_drop() {
        let engine = Engine::new(NotifySettings::default());
        engine.update_view(
            1,
            view(
                0,
                false,
                vec![pane(1, 0, true, false), pane(2, 0, false, false)],
            ),
        );
        engine.raise(req(1)).unwrap();
        engine.raise(req(2)).unwrap();
        {
            let st = engine.lock();
            assert!(
                st.bus.next_expiry().is_some(),
                "the focused pane's one expires"
            );
        }
        engine.update_view(1, view(0, false, vec![pane(1, 0, true, false)]));
        let list = engine.list(10);
        assert_eq!(list.listing.active.len(), 1);
        assert_eq!(list.panes[0].tab, "tab0");
    }

    #[test]
    fn floating_layer_decides_focus_and_visibility() {
        let panes = vec![
            pane(1, 0, true, false),
            pane(2, 0, true, true),
            pane(3, 1, false, false),
        ];
        let shown = view(0, true, panes.clone());
        let focused = focused_panes([&shown].into_iter());
        assert_eq!(focused, [PaneRef::Terminal(2)].into_iter().collect());
        let visible = visible_panes(&shown);
        assert_eq!(visible.len(), 2);
        assert!(visible[1].floating && visible[0].framed);
        let hidden = view(0, false, panes);
        assert_eq!(visible_panes(&hidden).len(), 1);
        assert_eq!(
            focused_panes([&hidden].into_iter()),
            [PaneRef::Terminal(1)].into_iter().collect()
        );
    }

    #[test]
    fn a_notified_pane_losing_its_frame_is_told_to_perth_core() {
        let engine = Engine::new(NotifySettings::default());
        let framed = vec![pane(1, 0, true, false), pane(2, 0, false, false)];
        engine.update_view(1, view(0, false, framed.clone()));
        engine.raise(req(2)).unwrap();
        assert!(engine.notices()[0].drawn);
        let before = engine.generation();
        // A view that changes nothing about frames keeps the notices as they were sent.
        engine.update_view(1, view(0, false, framed));
        assert_eq!(engine.generation(), before);
        // Frames off: the content fills the pane.
        let mut bare = pane(2, 0, false, false);
        bare.content_cols = bare.cols;
        bare.content_rows = bare.rows;
        engine.update_view(1, view(0, false, vec![pane(1, 0, true, false), bare]));
        assert!(
            engine.generation() > before,
            "the link sends the notices again"
        );
        assert!(!engine.notices()[0].drawn);
    }

    #[test]
    fn every_source_reaches_the_raise_hook() {
        let engine = Engine::new(NotifySettings::default());
        let heard = Arc::new(Mutex::new(Vec::new()));
        {
            let heard = heard.clone();
            engine.set_raise_hook(move |raise, outcome| {
                let mut heard = heard.lock().unwrap();
                heard.push((raise.source, raise.message.clone(), outcome));
            });
        }
        engine.raise(req(1)).unwrap();
        engine.raise(req(1)).unwrap();
        engine.from_pane(
            2,
            Found {
                source: Source::Osc9,
                style: super::super::bus::Style::Info,
                message: "build done".into(),
            },
        );
        engine.command_exited(3, Some(1), "make");
        engine.from_plugin(req(4), Some("p1".into()));
        engine.from_plugin(req(4), Some("p1".into()));
        let heard = heard.lock().unwrap();
        let sources: Vec<(Source, &str)> = heard.iter().map(|(s, m, _)| (*s, m.as_str())).collect();
        assert_eq!(
            sources,
            [
                (Source::Cli, "x"),
                (Source::Cli, "x"),
                (Source::Osc9, "build done"),
                (Source::CommandExit, "`make` failed (exit status 1)"),
                (Source::Cli, "x"),
            ]
        );
        assert!(matches!(heard[1].2, Raised::Folded(_)), "{heard:?}");
    }

    #[test]
    fn one_raise_per_cli_pipe() {
        let engine = Engine::new(NotifySettings::default());
        engine.from_plugin(req(1), Some("p1".into()));
        engine.clear_from_plugin(Some(PaneRef::Terminal(1)), Some("p2".into()));
        engine.from_plugin(req(1), Some("p1".into()));
        assert!(engine.list(10).listing.active.is_empty());
    }
}
