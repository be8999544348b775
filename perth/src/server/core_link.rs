//! The native end of the long-lived pipe to the built-in `perth-core` plugin (extension point 3
//! of DESIGN.md D2): `perth::link` pipe messages one way, `cli_pipe_output` lines the other.
//!
//! The link runs on its own thread with its own connection to the session socket. It says
//! hello (a little after the server starts, and again every so often until the plugin
//! answers), then pings every `ping_interval` and records the round-trip time; the plugin pushes its view
//! of panes and tabs whenever Zellij tells it something changed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zellij_utils::ipc::ServerToClientMsg;

use crate::bridge::BridgeStatus;
use crate::notify::bus::{Raise, Source};
use crate::notify::engine::Engine;
use crate::status::PerthCoreStatus;
use session_ipc::{Received, SessionClient, SessionClientError, Waker};

use bridge_protocol::link::{self, Ev, Op};

/// Splits the plugin's output stream into complete lines, keeping partial ones for later.
#[derive(Debug, Default)]
pub struct LineBuffer {
    partial: String,
}

impl LineBuffer {
    /// Appends a chunk and returns the complete lines it finished.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.partial.push_str(chunk);
        let mut lines = Vec::new();
        while let Some(pos) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=pos).collect();
            let line = line.trim();
            if !line.is_empty() {
                lines.push(line.to_string());
            }
        }
        lines
    }
}

/// Settings of the link thread.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    pub socket_path: PathBuf,
    pub ping_interval: Duration,
    pub answer_timeout: Duration,
    /// How long a new server waits before it connects: every link message is a pipe message
    /// that Zellij hands to each loaded plugin, which the first screen should not pay for.
    pub start_delay: Duration,
    /// How often hello is repeated while perth-core has not answered (it may still be loading).
    pub hello_interval: Duration,
}

/// What the link reports into: the status sections and the notification engine.
#[derive(Clone)]
pub struct Shared {
    pub status: Arc<Mutex<PerthCoreStatus>>,
    pub bridge: Arc<Mutex<BridgeStatus>>,
    pub notify: Arc<Engine>,
    /// The agent panes, which perth-core passes on to other plugins.
    pub agents: Arc<super::agents::Agents>,
    pub ptys: Arc<super::pty::Ptys>,
    pub waker: LinkWaker,
    /// Opened once perth-core answered the hello and pushed its view of the panes, closed
    /// while the link is down.
    pub gate: Arc<super::clients::CoreGate>,
}

/// Wakes the link thread from the threads whose news it passes on (the notification engine,
/// the host-bridge supervisor, `perth status`); does nothing while the link is not connected.
#[derive(Clone, Default)]
pub struct LinkWaker {
    waker: Arc<Mutex<Option<Waker>>>,
    /// A ping is wanted now, not at the next interval (`perth status` wants a current rtt).
    ping_wanted: Arc<AtomicBool>,
}

impl LinkWaker {
    /// Wakes the link; never waits.
    pub fn wake(&self) {
        if let Some(waker) = &*self.waker.lock().unwrap_or_else(|e| e.into_inner()) {
            waker.wake();
        }
    }

    /// Asks the link to ping perth-core now; never waits.
    pub fn ping_now(&self) {
        self.ping_wanted.store(true, Ordering::Release);
        self.wake();
    }

    fn set(&self, waker: Waker) {
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(waker);
    }

    fn take_ping_request(&self) -> bool {
        self.ping_wanted.swap(false, Ordering::AcqRel)
    }
}

/// Runs the link until the process ends, reconnecting with backoff whenever it drops.
pub fn link_main(settings: LinkSettings, shared: Shared) {
    let status = &shared.status;
    let mut attempt: u32 = 0;
    let mut generation: u64 = 0;
    std::thread::sleep(settings.start_delay);
    loop {
        generation += 1;
        let result = run_once(&settings, &shared, generation);
        shared.gate.set(false);
        {
            let mut s = status.lock().unwrap_or_else(|e| e.into_inner());
            s.connected = false;
            if let Err(e) = &result {
                s.error = Some(e.to_string());
            }
        }
        if let Err(e) = result {
            tracing::debug!("perth-core link dropped: {e}");
        }
        attempt = attempt.saturating_add(1);
        let backoff = Duration::from_millis(100u64 << attempt.min(5)).min(Duration::from_secs(2));
        std::thread::sleep(backoff);
    }
}

fn run_once(
    settings: &LinkSettings,
    shared: &Shared,
    generation: u64,
) -> Result<(), SessionClientError> {
    let mut client = SessionClient::connect(&settings.socket_path)?;
    let pipe_id = format!(
        "{}{}-{generation}",
        link::LINK_ID_PREFIX,
        std::process::id()
    );
    let mut lines = LineBuffer::default();
    let mut seq: u64 = 0;

    let hello = Op::Hello {
        version: link::PROTOCOL_VERSION,
        session: settings
            .socket_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
    };
    send(&mut client, &pipe_id, &hello)?;
    // The link sleeps until a message comes, a ping or hello is due, or another thread has
    // news for perth-core: an idle session costs it nothing.
    shared.waker.set(client.waker());
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut next_ping = Instant::now();
    // Every message waits for Zellij to unblock it; one that is never unblocked means the
    // session dropped this connection without saying so.
    let mut sent_at = Some(Instant::now());
    let mut unblocked = false;
    // The plugin may load after the link connects (a new session), and a pipe message that
    // reaches no perth-core is unblocked all the same: say hello until it answers.
    let mut greeted = false;
    let mut next_hello = Instant::now() + settings.hello_interval;
    // The notifications perth-core last heard of (it shows them to other plugins).
    let mut notices_sent: Option<u64> = None;
    // The agent states perth-core last heard of (likewise).
    let mut agents_sent: Option<u64> = None;
    // The clients perth-core's instances last heard of (attaches, leaves), and the attaches the
    // plugins last redrew for.
    let mut clients_greeted = shared.notify.client_changes();
    let mut attaches_redrawn = clients_greeted.0;
    // The host-bridge perth-core last reached: a new one (started, restarted) is pinged at once.
    let mut bridge_pinged: Option<u32> = None;
    loop {
        let now = Instant::now();
        let bridge_pid = shared.bridge.lock().unwrap_or_else(|e| e.into_inner()).pid;
        let notices_due = notices_sent != Some(shared.notify.generation());
        let clients = shared.notify.client_changes();
        if greeted && clients.0 != attaches_redrawn {
            // A client attached: every perth plugin draws its pane again, for the instance of
            // a returning client id whose copy Zellij blanked (bridge_protocol::REDRAW_PIPE).
            // Its answer is not waited for; nothing on this link depends on it.
            attaches_redrawn = clients.0;
            client.send_pipe(
                &format!("{pipe_id}-redraw-{attaches_redrawn}"),
                bridge_protocol::REDRAW_PIPE,
                None,
            )?;
        }
        let op = if !unblocked {
            None
        } else if greeted && clients != clients_greeted {
            // A client attached (or left): its perth-core instance was not there for the
            // first hello, and a new hello makes every instance report its view.
            clients_greeted = clients;
            Some(hello.clone())
        } else if greeted && notices_due {
            notices_sent = Some(shared.notify.generation());
            Some(Op::Notices {
                notices: shared.notify.notices(),
            })
        } else if greeted && agents_sent != Some(shared.agents.generation()) {
            agents_sent = Some(shared.agents.generation());
            Some(Op::Agents {
                agents: shared
                    .agents
                    .placed(&shared.ptys)
                    .iter()
                    .map(agent_notice)
                    .collect(),
            })
        } else if !greeted {
            (now >= next_hello).then(|| {
                next_hello = now + settings.hello_interval;
                hello.clone()
            })
        } else if bridge_pid.is_some() && bridge_pid != bridge_pinged {
            bridge_pinged = bridge_pid;
            seq += 1;
            Some(Op::BridgePing { seq })
        } else if shared.waker.take_ping_request() {
            seq += 1;
            pending.insert(seq, now);
            Some(Op::Ping { seq })
        } else if now >= next_ping {
            seq += 1;
            pending.insert(seq, now);
            pending.retain(|_, sent| now.duration_since(*sent) < settings.answer_timeout * 4);
            next_ping = now + settings.ping_interval;
            // Every other round, perth-core also pings host-bridge through web_request: the
            // plugin-to-bridge path is checked as continuously as the link itself.
            Some(if seq.is_multiple_of(2) {
                Op::BridgePing { seq }
            } else {
                Op::Ping { seq }
            })
        } else {
            None
        };
        if let Some(op) = op {
            send(&mut client, &pipe_id, &op)?;
            unblocked = false;
            sent_at = Some(now);
        }
        if sent_at.is_some_and(|t| now.duration_since(t) > settings.answer_timeout) {
            return Err(SessionClientError::Timeout(settings.answer_timeout));
        }
        let next = match (unblocked, greeted) {
            (false, _) => sent_at.map(|t| t + settings.answer_timeout),
            (true, false) => Some(next_hello),
            (true, true) => Some(next_ping),
        };
        let wait = next.map_or(settings.ping_interval, |t| {
            t.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        });
        let msg = match client.recv_or_wake(wait) {
            Ok(Received::Message(msg)) => msg,
            Ok(Received::Woken) | Err(SessionClientError::Timeout(_)) => continue,
            Err(e) => return Err(e),
        };
        match msg {
            ServerToClientMsg::UnblockCliPipeInput { pipe_name } if pipe_name == pipe_id => {
                unblocked = true;
                sent_at = None;
            }
            ServerToClientMsg::CliPipeOutput { pipe_name, output } if pipe_name == pipe_id => {
                for line in lines.push(&output) {
                    greeted |= apply_event(&line, shared, &mut pending);
                }
                // perth-core answers pipes about panes from its view of them: what waited for
                // it goes on once it has pushed that view (the engine knows the panes).
                if greeted && shared.notify.knows_panes() {
                    shared.gate.set(true);
                }
            }
            ServerToClientMsg::Exit { .. } => return Err(SessionClientError::Disconnected),
            _ => {}
        }
    }
}

/// An agent pane as perth-core passes it on to other plugins.
fn agent_notice(a: &crate::agent_state::AgentPane) -> link::AgentNotice {
    link::AgentNotice {
        pane_id: a.pane_id,
        state: a.state.to_string(),
        since_ms: a.since_ms,
        message: a.message.clone(),
        program: a.program.clone(),
        worktree: a.place.worktree.clone(),
    }
}

fn send(client: &mut SessionClient, pipe_id: &str, op: &Op) -> Result<(), SessionClientError> {
    client.send_pipe(pipe_id, link::PIPE_NAME, Some(link::encode_op(op)))
}

/// Applies one line from the plugin to the status; returns whether it answered a hello.
///
/// Zellij runs one perth-core instance per attached client and each answers every message,
/// so several pongs may share a `seq`: the first one sets the round-trip time.
pub fn apply_event(line: &str, shared: &Shared, pending: &mut HashMap<u64, Instant>) -> bool {
    let bridge = &shared.bridge;
    let decoded = link::decode_line(line);
    let client_id = decoded.as_ref().ok().and_then(|l| l.client_id);
    let event = decoded.map(|l| l.ev);
    // The notification engine takes its own lock; handle its events before the status lock.
    let event = match event {
        Ok(Ev::Notify {
            notify,
            source_pipe,
        }) => {
            let raise = Raise {
                pane: notify.pane,
                style: notify.style,
                message: notify.message,
                source: Source::Pipe,
                ttl: notify.ttl_ms.map(Duration::from_millis),
            };
            shared.notify.from_plugin(raise, source_pipe);
            return false;
        }
        Ok(Ev::Clear { pane, source_pipe }) => {
            shared.notify.clear_from_plugin(pane, source_pipe);
            return false;
        }
        Ok(Ev::State(snapshot)) => {
            if let Some(client) = client_id {
                shared.notify.update_view(client, snapshot.clone());
            }
            Ok(Ev::State(snapshot))
        }
        other => other,
    };
    let mut s = shared.status.lock().unwrap_or_else(|e| e.into_inner());
    let greeted =
        matches!(&event, Ok(Ev::Hello { version, .. }) if *version == link::PROTOCOL_VERSION);
    match event {
        Ok(Ev::Hello {
            version,
            permissions_granted,
        }) => {
            s.connected = version == link::PROTOCOL_VERSION;
            s.protocol_version = Some(version);
            s.permissions_granted = Some(permissions_granted);
            s.error = None;
        }
        Ok(Ev::Pong { seq }) => {
            s.connected = true;
            s.pings_answered += 1;
            if let Some(sent) = pending.remove(&seq) {
                s.rtt_ms = Some(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(Ev::State(snapshot)) => {
            super::persist::note_session_changed();
            s.connected = true;
            s.tabs_seen = snapshot.tabs.len();
            s.panes_seen = snapshot.panes.len();
        }
        Ok(Ev::Error { message }) => {
            s.error = Some(format!("perth-core: {message}"));
        }
        Ok(Ev::BridgeResult {
            ok, rtt_ms, error, ..
        }) => {
            s.connected = true;
            let mut b = bridge.lock().unwrap_or_else(|e| e.into_inner());
            b.plugin_ping_ok = Some(ok);
            b.plugin_rtt_ms = rtt_ms;
            b.plugin_error = error;
            if ok {
                b.plugin_ping_at = Some(bridge_runtime::unix_millis());
            }
        }
        Ok(Ev::BridgeEvent { topic }) => {
            let mut b = bridge.lock().unwrap_or_else(|e| e.into_inner());
            b.events_received += 1;
            b.last_event_topic = Some(topic);
        }
        Ok(Ev::Notify { .. }) | Ok(Ev::Clear { .. }) => {}
        Err(e) => {
            s.error = Some(format!("unreadable line from perth-core: {e}"));
        }
    }
    greeted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_buffer_keeps_partial_lines() {
        let mut buf = LineBuffer::default();
        assert!(buf.push("{\"ev\":").is_empty());
        assert_eq!(buf.push("1}\n{\"a\"\n\n"), vec!["{\"ev\":1}", "{\"a\""]);
    }

    #[test]
    fn events_update_status() {
        let notify = Engine::new(Default::default());
        let shared = Shared {
            status: Arc::new(Mutex::new(PerthCoreStatus::default())),
            bridge: Arc::new(Mutex::new(BridgeStatus::default())),
            agents: super::super::agents::Agents::new(notify.clone()),
            notify,
            ptys: Arc::new(super::super::pty::Ptys::new()),
            waker: LinkWaker::default(),
            gate: Default::default(),
        };
        let (status, bridge) = (shared.status.clone(), shared.bridge.clone());
        let mut pending = HashMap::new();
        apply_event(
            r#"{"ev":"hello","version":1,"permissions_granted":true}"#,
            &shared,
            &mut pending,
        );
        pending.insert(7, Instant::now());
        apply_event(r#"{"ev":"pong","seq":7}"#, &shared, &mut pending);
        apply_event(
            &link::encode_line(&link::Line {
                ev: Ev::State(link::Snapshot {
                    tabs: vec![Default::default()],
                    panes: vec![Default::default(); 3],
                    mode: "normal".into(),
                }),
                plugin_id: Some(1),
                client_id: Some(1),
            }),
            &shared,
            &mut pending,
        );
        let s = status.lock().unwrap().clone();
        assert!(s.connected);
        assert_eq!(s.protocol_version, Some(1));
        assert_eq!(s.permissions_granted, Some(true));
        assert_eq!(s.pings_answered, 1);
        assert!(s.rtt_ms.is_some());
        assert_eq!((s.tabs_seen, s.panes_seen), (1, 3));
        apply_event(
            r#"{"ev":"bridge_result","seq":8,"ok":true,"rtt_ms":3}"#,
            &shared,
            &mut pending,
        );
        let b = bridge.lock().unwrap().clone();
        assert_eq!((b.plugin_ping_ok, b.plugin_rtt_ms), (Some(true), Some(3)));
        apply_event("garbage", &shared, &mut pending);
        assert!(status.lock().unwrap().error.is_some());
    }
}
