//! The session's agent states (DESIGN.md D12) and what follows from a change: a `warning`
//! notification when a pane starts waiting for its user, an `info` one when it goes idle after
//! working (the notification bus shows them on the pane's border and counts them in the tab
//! bar, and clears them when the pane gets focus).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::agent_state::{AgentPane, AgentState, Board, SignalSource, Transition};
use crate::notify::bus::{PaneRef, Raise, Source, Style};
use crate::notify::engine::Engine;

/// The board behind a lock, with the notification engine its changes raise on.
pub struct Agents {
    board: Mutex<Board>,
    notify: Arc<Engine>,
    raises: Raises,
    /// Where each change goes as a `workspace.agent.state_changed` event.
    events: std::sync::OnceLock<crate::notify::events::EventSink>,
    /// Counts the changes of any pane's record (state, message, program), so the link to
    /// perth-core knows when plugins need a fresh copy.
    generation: AtomicU64,
    /// Runs after each change (wakes the link to perth-core).
    on_change: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Names the agent program a pane runs, for states that do not say.
    program_oracle: std::sync::OnceLock<ProgramOracle>,
}

type ProgramOracle = Box<dyn Fn(u32) -> Option<String> + Send + Sync>;

/// Which changes raise a notification (`perth { agents { notify_waiting; notify_idle } }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raises {
    /// A pane starts waiting for its user: `warning`, with the question.
    pub waiting: bool,
    /// A pane goes idle after working: `info`.
    pub idle: bool,
}

impl Default for Raises {
    fn default() -> Self {
        Raises {
            waiting: true,
            idle: true,
        }
    }
}

impl Agents {
    /// Returns an empty board whose changes raise notifications on `notify`.
    pub fn new(notify: Arc<Engine>) -> Arc<Agents> {
        Self::with_raises(notify, Raises::default())
    }

    /// As [`Agents::new`], raising only the notifications `raises` asks for.
    pub fn with_raises(notify: Arc<Engine>, raises: Raises) -> Arc<Agents> {
        Arc::new(Agents {
            board: Mutex::new(Board::default()),
            notify,
            raises,
            events: std::sync::OnceLock::new(),
            generation: AtomicU64::new(0),
            on_change: std::sync::OnceLock::new(),
            program_oracle: std::sync::OnceLock::new(),
        })
    }

    /// Asks `oracle` which agent program a pane runs when a state arrives without one (an
    /// agent's hooks, a script).
    pub fn set_program_oracle(
        &self,
        oracle: impl Fn(u32) -> Option<String> + Send + Sync + 'static,
    ) {
        let _ = self.program_oracle.set(Box::new(oracle));
    }

    /// Runs `hook` after each change from now on.
    pub fn set_change_hook(&self, hook: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_change.set(Box::new(hook));
    }

    /// How many times any pane's record changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Sends every change from now on as an event through `sink`.
    pub fn set_events(&self, sink: crate::notify::events::EventSink) {
        let _ = self.events.set(sink);
    }

    /// Records a state perth read (a screen or activity) for the agent `program`; a state the
    /// agent gave itself is left alone. Returns whether it was recorded.
    pub fn detected(
        &self,
        pane_id: u32,
        state: AgentState,
        message: Option<&str>,
        source: SignalSource,
        program: &str,
    ) -> bool {
        if self.explicit(pane_id) {
            return false;
        }
        self.record(pane_id, state, message, source, Some(program));
        true
    }

    /// Whether the pane's state came from the agent itself (its hooks, the escape sequence, a
    /// script).
    pub fn explicit(&self, pane_id: u32) -> bool {
        self.lock()
            .get(pane_id)
            .is_some_and(|p| p.source.is_explicit() && p.state != AgentState::Exited)
    }

    /// Records a state a signal reported; returns the pane's record.
    pub fn signal(
        &self,
        pane_id: u32,
        state: AgentState,
        message: Option<&str>,
        source: SignalSource,
    ) -> Option<AgentPane> {
        self.record(pane_id, state, message, source, None)
    }

    fn record(
        &self,
        pane_id: u32,
        state: AgentState,
        message: Option<&str>,
        source: SignalSource,
        program: Option<&str>,
    ) -> Option<AgentPane> {
        // Looked up outside the board's lock: it reads /proc.
        let known = program.is_some()
            || self
                .lock()
                .get(pane_id)
                .is_some_and(|p| p.program.is_some());
        let found = match self.program_oracle.get() {
            Some(oracle) if !known => oracle(pane_id),
            _ => None,
        };
        let program = program.or(found.as_deref());
        let (transition, before, record) = {
            let mut board = self.lock();
            let before = board.get(pane_id).cloned();
            let t = board.set(
                pane_id,
                state,
                message,
                source,
                bridge_runtime::unix_millis(),
            );
            if let Some(program) = program {
                board.set_program(pane_id, program);
            }
            (t, before, board.get(pane_id).cloned())
        };
        if let Some(t) = &transition {
            self.follow(t);
        }
        // A screen read again says the same thing most of the time: only a change is shown,
        // passed on to plugins and saved.
        if transition.is_some() || before != record {
            self.show();
        }
        record
    }

    /// Gives a restored session's pane the state it had when the session was saved, marked
    /// as restored; a pane that already shows a state of its own keeps it. Returns whether
    /// it was taken.
    pub fn restore(&self, pane_id: u32, record: AgentPane) -> bool {
        let taken = self.lock().restore(pane_id, record);
        if taken {
            self.show();
        }
        taken
    }

    /// Hands the states to the tab bar's counts and the frames' badges, and tells the link.
    fn show(&self) {
        let states = self.lock().states();
        self.notify.set_agent_states(states);
        crate::server::persist::note_session_changed();
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(hook) = self.on_change.get() {
            hook();
        }
    }

    /// A command pane's program ended.
    pub fn exited(&self, pane_id: u32, status: Option<i32>) {
        let transition = self
            .lock()
            .exited(pane_id, status, bridge_runtime::unix_millis());
        if let Some(t) = transition {
            self.follow(&t);
            self.show();
        }
    }

    /// A pane closed: it has no state any more.
    pub fn closed(&self, pane_id: u32) {
        if self.lock().remove(pane_id) {
            self.show();
        }
    }

    /// Whether the pane closed (a state for it is refused).
    pub fn is_closed(&self, pane_id: u32) -> bool {
        self.lock().is_closed(pane_id)
    }

    /// Returns every agent pane, waiting ones first.
    pub fn list(&self) -> Vec<AgentPane> {
        self.lock().list()
    }

    /// Returns every agent pane, waiting ones first, with its name and tab (from the
    /// notification engine's view) and its worktree (from its foreground program's folder).
    pub fn placed(&self, ptys: &super::pty::Ptys) -> Vec<AgentPane> {
        let mut agents = self.list();
        for a in &mut agents {
            let label = self.notify.pane_label(PaneRef::Terminal(a.pane_id));
            let named = |s: String| (!s.is_empty()).then_some(s);
            a.place = crate::agent_state::PanePlace {
                session: None,
                pane_name: named(label.title),
                tab: named(label.tab),
                worktree: ptys
                    .worktree(a.pane_id)
                    .map(|p| p.to_string_lossy().into_owned()),
            };
        }
        agents
    }

    fn follow(&self, t: &Transition) {
        if let Some(sink) = self.events.get() {
            let record = self.lock().get(t.pane_id).cloned();
            sink.agent_changed(t, record.as_ref());
        }
        let (style, message) = match (t.from, t.to) {
            (_, AgentState::Waiting) if self.raises.waiting => (
                Style::Warning,
                t.message
                    .clone()
                    .unwrap_or_else(|| "the agent waits for you".to_string()),
            ),
            (Some(AgentState::Working), AgentState::Idle) if self.raises.idle => (
                Style::Info,
                t.message
                    .clone()
                    .unwrap_or_else(|| "the agent finished its turn".to_string()),
            ),
            _ => return,
        };
        self.notify.raise_existing(Raise {
            pane: PaneRef::Terminal(t.pane_id),
            style,
            message,
            source: Source::Agent,
            ttl: None,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }
}
