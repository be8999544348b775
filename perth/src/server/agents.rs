//! The session's agent states (DESIGN.md D12) and what follows from a change: a `warning`
//! notification when a pane starts waiting for its user, an `info` one when it goes idle after
//! working (the notification bus shows them on the pane's border and counts them in the tab
//! bar, and clears them when the pane gets focus).

use std::sync::{Arc, Mutex};

use crate::agent_state::{AgentPane, AgentState, Board, SignalSource, Transition};
use crate::notify::bus::{PaneRef, Raise, Source, Style};
use crate::notify::engine::Engine;

/// The board behind a lock, with the notification engine its changes raise on.
pub struct Agents {
    board: Mutex<Board>,
    notify: Arc<Engine>,
}

impl Agents {
    /// Returns an empty board whose changes raise notifications on `notify`.
    pub fn new(notify: Arc<Engine>) -> Arc<Agents> {
        Arc::new(Agents {
            board: Mutex::new(Board::default()),
            notify,
        })
    }

    /// Records a state a signal reported; returns the pane's record.
    pub fn signal(
        &self,
        pane_id: u32,
        state: AgentState,
        message: Option<&str>,
        source: SignalSource,
    ) -> Option<AgentPane> {
        let (transition, record) = {
            let mut board = self.lock();
            let t = board.set(
                pane_id,
                state,
                message,
                source,
                bridge_runtime::unix_millis(),
            );
            (t, board.get(pane_id).cloned())
        };
        if let Some(t) = transition {
            self.follow(&t);
        }
        record
    }

    /// A command pane's program ended.
    pub fn exited(&self, pane_id: u32, status: Option<i32>) {
        let transition = self
            .lock()
            .exited(pane_id, status, bridge_runtime::unix_millis());
        if let Some(t) = transition {
            self.follow(&t);
        }
    }

    /// A pane closed: it has no state any more.
    pub fn closed(&self, pane_id: u32) {
        self.lock().remove(pane_id);
    }

    /// Returns every agent pane, waiting ones first.
    pub fn list(&self) -> Vec<AgentPane> {
        self.lock().list()
    }

    fn follow(&self, t: &Transition) {
        let (style, message) = match (t.from, t.to) {
            (_, AgentState::Waiting) => (
                Style::Warning,
                t.message
                    .clone()
                    .unwrap_or_else(|| "the agent waits for you".to_string()),
            ),
            (Some(AgentState::Working), AgentState::Idle) => (
                Style::Info,
                t.message
                    .clone()
                    .unwrap_or_else(|| "the agent finished its turn".to_string()),
            ),
            _ => return,
        };
        let _ = self.notify.raise(Raise {
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
