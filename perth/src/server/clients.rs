//! Which connection gets which message: perth's fix of Zellij 0.45.1's misrouted answers
//! (DESIGN.md D10), at the `ServerOsApi` wrapper (extension point 1).
//!
//! Zellij hands a connection's messages to `route_thread_main` through the receiver that
//! `ServerOsApi::new_client` returns, so the wrapper cannot see what a client sends. perth
//! therefore splices every connection: the server reads from one end of a socket pair, and a
//! thread of perth's ([`splice`]) copies each frame from the client to the other end, after
//! noting what the connection is ([`ConnKind`], from its first message) and which CLI pipes it
//! sent. Messages the server sends go straight to the client's socket, through
//! [`ClientRoutes::admits`] in `PerthOsApi::send_to_client`:
//!
//! - zellij #5270: a pipe's output and its unblock go to the client that owns the pipe, and
//!   when that client is gone (a piped `zellij pipe` leaves at end of input without waiting)
//!   Zellij broadcasts them to every client. perth delivers them only to the connection that
//!   sent the pipe, and drops them otherwise.
//! - zellij #5270 / #5272: client ids are the lowest free number, so a new connection can be
//!   handed an id while messages for its previous owner are still on their way, and a broadcast
//!   `UnblockInputThread` (Zellij sends one to every client when a pane closes) ends a
//!   `zellij action` before its answer came. A connection gets nothing before its first message
//!   but `Exit`; a session probe (`ConnStatus`, how `zellij` finds sessions) gets only
//!   `Connected` and `Exit`, so it never reads a stranger's message as "session dead"
//!   ("There is no active session!"); a CLI connection gets `UnblockInputThread` only from its
//!   own router thread.
//! - Zellij removes a CLI client twice, on its `ClientExited` and again when its router reads
//!   the end of the stream; when the id went to a new connection in between, the second
//!   removal disconnects that one, which then exits as if answered. The splice keeps
//!   `ClientExited` from the server, and ends the stream [`LINGER`] after the client left, so
//!   the id is freed once, after everything the connection sent was handled.
//! - Nothing raised before perth-core is linked is lost: a CLI pipe to one of perth-core's
//!   pipes (`perth::notify`, `zdrive::log`, `imi::*`, ...) is held, its client waiting as it
//!   would for the answer, until the link is up ([`CoreGate`]), at most [`HOLD_LIMIT`].
//!
//! A frame longer than [`MAX_FRAME`] closes its connection: Zellij would allocate whatever
//! length a client's first four bytes claim.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use interprocess::local_socket::Stream as LocalSocketStream;
use interprocess::TryClone;
use zellij_utils::client_server_contract::client_server_contract::ClientToServerMsg as ProtoClientMsg;
use zellij_utils::input::actions::Action;
use zellij_utils::ipc::{ClientToServerMsg, ServerToClientMsg};
use zellij_utils::prost::Message;

use bridge_protocol::link;

type ClientId = u16;

/// The longest frame a client may send; longer ones close the connection.
pub const MAX_FRAME: usize = 64 << 20;

/// How long a pipe to perth-core waits for the link before it is passed on regardless.
pub const HOLD_LIMIT: Duration = Duration::from_secs(10);

/// How long a command-line connection's id stays taken after the client left.
pub const LINGER: Duration = Duration::from_secs(2);

/// The name Zellij gives the thread that routes one connection's messages.
const ROUTER_THREAD: &str = "server_router";

/// The CLI pipes perth-core answers; they wait for the link instead of going unheard.
pub const CORE_PIPES: [&str; 7] = [
    link::NOTIFY_PIPE,
    link::CLEAR_PIPE,
    link::ZDRIVE_LOG_PIPE,
    link::IMI_ADD_PIPE,
    link::IMI_OPEN_PIPE,
    link::IMI_REMOVE_PIPE,
    link::IMI_STATUS_PIPE,
];

/// What a connection is, from the first message it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnKind {
    /// Nothing read yet.
    Pending,
    /// A session probe (`ConnStatus`): `zellij list-sessions` and every CLI call's lookup.
    Probe,
    /// A command-line client: `zellij action`, `zellij pipe`, perth's in-process clients.
    Cli,
    /// A terminal, web or watcher client, or anything else: gets what Zellij sends it.
    Attached,
}

impl ConnKind {
    /// Returns the kind a connection whose first message is `msg` has.
    pub fn of(msg: &ClientToServerMsg) -> ConnKind {
        match msg {
            ClientToServerMsg::ConnStatus => ConnKind::Probe,
            ClientToServerMsg::Action {
                is_cli_client: true,
                ..
            }
            | ClientToServerMsg::ClientExited
            | ClientToServerMsg::KillSession => ConnKind::Cli,
            _ => ConnKind::Attached,
        }
    }
}

#[derive(Debug)]
struct Conn {
    kind: ConnKind,
    /// The pipe ids this connection sent (`zellij pipe` makes one per call).
    pipes: HashSet<String>,
}

/// Who owns which connection and pipe; shared by every clone of the OS API.
#[derive(Default)]
pub struct ClientRoutes {
    conns: Mutex<HashMap<ClientId, Conn>>,
    dropped: std::sync::atomic::AtomicU64,
    /// Applies a `perth::agent` pipe; perth's server answers it, no plugin needs to be loaded.
    agent_pipe: std::sync::OnceLock<Box<AgentPipe>>,
}

/// What applies a `perth::agent` pipe's arguments and payload.
type AgentPipe = dyn Fn(Option<&std::collections::BTreeMap<String, String>>, Option<&str>) -> Result<(), String>
    + Send
    + Sync;

impl std::fmt::Debug for ClientRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRoutes")
            .field("conns", &self.conns)
            .finish_non_exhaustive()
    }
}

impl ClientRoutes {
    /// Starts the record of a new connection with `id`, forgetting its previous owner's.
    pub fn opened(&self, id: ClientId) {
        self.lock().insert(
            id,
            Conn {
                kind: ConnKind::Pending,
                pipes: HashSet::new(),
            },
        );
    }

    /// Notes a message connection `id` sent, before the server reads it.
    pub fn saw(&self, id: ClientId, msg: &ClientToServerMsg) {
        let mut conns = self.lock();
        let Some(conn) = conns.get_mut(&id) else {
            return;
        };
        if conn.kind == ConnKind::Pending {
            conn.kind = ConnKind::of(msg);
        }
        if let ClientToServerMsg::Action {
            action: Action::CliPipe { pipe_id, .. },
            ..
        } = msg
        {
            conn.pipes.insert(pipe_id.clone());
        }
    }

    /// Sets what applies `perth::agent` pipes (once, when the server starts).
    pub fn set_agent_pipe(
        &self,
        apply: impl Fn(
                Option<&std::collections::BTreeMap<String, String>>,
                Option<&str>,
            ) -> Result<(), String>
            + Send
            + Sync
            + 'static,
    ) {
        let _ = self.agent_pipe.set(Box::new(apply));
    }

    /// Applies a `perth::agent` pipe message; a malformed one is logged and ignored.
    fn agent_pipe(&self, msg: &ClientToServerMsg) {
        if let ClientToServerMsg::Action {
            action:
                Action::CliPipe {
                    name: Some(name),
                    args,
                    payload,
                    ..
                },
            ..
        } = msg
        {
            if name == crate::agent_state::PIPE_NAME {
                if let Some(apply) = self.agent_pipe.get() {
                    if let Err(e) = apply(args.as_ref(), payload.as_deref()) {
                        tracing::warn!("{e}");
                    }
                }
            }
        }
    }

    /// Returns the kind of connection `id`, if perth splices it.
    pub fn kind(&self, id: ClientId) -> Option<ConnKind> {
        self.lock().get(&id).map(|c| c.kind)
    }

    /// Forgets connection `id` (Zellij removed the client).
    pub fn closed(&self, id: ClientId) {
        self.lock().remove(&id);
    }

    /// Returns whether `msg` may go to connection `id`; `from_router` says whether the
    /// sender is the router thread of a connection (which only ever answers its own).
    pub fn admits(&self, id: ClientId, msg: &ServerToClientMsg, from_router: bool) -> bool {
        let admitted = {
            let conns = self.lock();
            match conns.get(&id) {
                // Not spliced (perth could not make a socket pair): as Zellij does.
                None => true,
                Some(conn) => admits(conn, msg, from_router),
            }
        };
        if !admitted {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        admitted
    }

    /// Returns how many messages were kept from connections they were not meant for.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientId, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn admits(conn: &Conn, msg: &ServerToClientMsg, from_router: bool) -> bool {
    use ServerToClientMsg as M;
    // Ending a connection is never wrong: a killed session tells everyone.
    if matches!(msg, M::Exit { .. }) {
        return true;
    }
    let own_pipe = |name: &String| conn.pipes.contains(name);
    match conn.kind {
        ConnKind::Pending => false,
        ConnKind::Probe => matches!(msg, M::Connected),
        ConnKind::Cli => match msg {
            M::CliPipeOutput { pipe_name, .. } | M::UnblockCliPipeInput { pipe_name } => {
                own_pipe(pipe_name)
            }
            M::UnblockInputThread => from_router,
            M::Log { .. } | M::LogError { .. } => true,
            _ => false,
        },
        ConnKind::Attached => match msg {
            M::CliPipeOutput { pipe_name, .. } | M::UnblockCliPipeInput { pipe_name } => {
                own_pipe(pipe_name)
            }
            _ => true,
        },
    }
}

/// Returns whether the current thread is one of Zellij's connection routers.
pub fn on_router_thread() -> bool {
    std::thread::current().name() == Some(ROUTER_THREAD)
}

/// How long after the server starts a command line's action waits for the session to be
/// ready (perth-core linked, which is after the first tab and its panes exist).
pub const STARTUP_HOLD: Duration = Duration::from_secs(5);

/// How long a connection that ended while the session was starting keeps its place, at most:
/// see [`CoreGate::wait_session_up`].
pub const SESSION_UP_LIMIT: Duration = Duration::from_secs(60);

/// Open while perth-core is linked: what waits for it waits here. It also knows whether the
/// session is up (its first client's session made, which is before perth-core links).
#[derive(Debug)]
pub struct CoreGate {
    state: Mutex<GateState>,
    changed: Condvar,
    /// Whether the session is up, read without the lock on every render.
    up: std::sync::atomic::AtomicBool,
    /// When the server started.
    born: Instant,
}

#[derive(Debug, Default)]
struct GateState {
    open: bool,
    up: bool,
}

impl Default for CoreGate {
    fn default() -> Self {
        CoreGate {
            state: Mutex::new(GateState::default()),
            changed: Condvar::new(),
            up: std::sync::atomic::AtomicBool::new(false),
            born: Instant::now(),
        }
    }
}

impl CoreGate {
    /// Holds a command line's action that arrives while the session is starting until it is
    /// ready, and never past [`STARTUP_HOLD`] of the server's life: Zellij takes actions from
    /// the moment its socket exists, before the first tab does, and a `new-pane` sent then
    /// makes nothing and answers nothing. Returns whether it waited in vain.
    pub fn hold_while_starting(&self) -> bool {
        let left = STARTUP_HOLD.saturating_sub(self.born.elapsed());
        !left.is_zero() && !self.wait_open(left)
    }

    /// Opens or closes the gate, waking whoever waits. An open gate means the session is up.
    pub fn set(&self, open: bool) {
        let mut state = self.lock();
        if state.open != open {
            state.open = open;
            if open {
                self.mark_up(&mut state);
            }
            self.changed.notify_all();
        }
    }

    /// Notes that the session is up: its server drew a screen, so its first client's session
    /// exists. Cheap after the first call (every render calls it).
    pub fn session_up(&self) {
        if !self.up.load(std::sync::atomic::Ordering::Acquire) {
            let mut state = self.lock();
            self.mark_up(&mut state);
        }
    }

    fn mark_up(&self, state: &mut GateState) {
        if !state.up {
            state.up = true;
            self.up.store(true, std::sync::atomic::Ordering::Release);
            self.changed.notify_all();
        }
    }

    /// Waits until the gate is open or `limit` has passed; returns whether it is open.
    pub fn wait_open(&self, limit: Duration) -> bool {
        self.wait_until(limit, |s| s.open)
    }

    /// Waits until the session is up or `limit` has passed; returns whether it is up.
    ///
    /// Zellij 0.45.1 panics when a connection ends before its first client's session exists:
    /// the connection's router asks the server to remove the client, and the server unwraps
    /// the session it does not have yet (`RemoveClient`, zellij-server `lib.rs`). Any call
    /// that looks for sessions (`perth action`, `zellij list-sessions`, every liveness probe)
    /// while a new session starts killed that session's server, its client left on a blank
    /// screen. A connection that ends early therefore keeps its place until the session is up.
    pub fn wait_session_up(&self, limit: Duration) -> bool {
        self.up.load(std::sync::atomic::Ordering::Acquire) || self.wait_until(limit, |s| s.up)
    }

    fn wait_until(&self, limit: Duration, done: impl Fn(&GateState) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let mut state = self.lock();
        while !done(&state) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Returns whether `msg` is a command line's action other than a pipe (pipes wait for their
/// plugins on their own; perth-core's link is a pipe and is what readies the session).
fn is_cli_action(msg: &ClientToServerMsg) -> bool {
    matches!(
        msg,
        ClientToServerMsg::Action {
            is_cli_client: true,
            action,
            ..
        } if !matches!(action, Action::CliPipe { .. })
    )
}

/// Returns whether `msg` is a pipe perth-core answers, sent by name to whoever listens.
fn is_core_pipe(msg: &ClientToServerMsg) -> bool {
    matches!(
        msg,
        ClientToServerMsg::Action {
            action: Action::CliPipe { name: Some(name), plugin: None, .. },
            ..
        } if CORE_PIPES.contains(&name.as_str())
    )
}

/// Puts perth between client `id`'s socket and the server: returns the stream the server
/// reads the client's messages from and the one it writes to the client on, and starts the
/// thread that copies the client's frames across. `None` when no socket pair could be made
/// (the caller then hands Zellij the client's socket as it is).
pub fn splice(
    id: ClientId,
    client: &LocalSocketStream,
    routes: Arc<ClientRoutes>,
    gate: Arc<CoreGate>,
) -> Option<(LocalSocketStream, LocalSocketStream)> {
    let (ours, servers) = UnixStream::pair().ok()?;
    let reader = client.try_clone().ok()?;
    let mut reply = client.try_clone().ok()?;
    let writer = client.try_clone().ok()?;
    routes.opened(id);
    let spawned = std::thread::Builder::new()
        .name("perth-splice".into())
        .stack_size(256 << 10)
        .spawn(move || copy_frames(id, reader, &mut reply, ours, &routes, &gate, LINGER));
    if spawned.is_err() {
        return None;
    }
    let servers = interprocess::os::unix::uds_local_socket::Stream::from(servers);
    Some((LocalSocketStream::from(servers), writer))
}

/// Copies frames (a little-endian `u32` length, then that many bytes of protobuf) from the
/// client to the server's end until either side closes.
fn copy_frames(
    id: ClientId,
    mut client: impl Read,
    reply: &mut dyn Write,
    mut server: UnixStream,
    routes: &ClientRoutes,
    gate: &CoreGate,
    linger_for: Duration,
) {
    let mut frame = Vec::new();
    // Once a connection is attached, what it sends is keys and resizes: copied unread.
    let mut inspect = true;
    let linger = loop {
        let mut len = [0u8; 4];
        if client.read_exact(&mut len).is_err() {
            break inspect;
        }
        let n = u32::from_le_bytes(len) as usize;
        if n > MAX_FRAME {
            tracing::warn!(
                "client {id} sent a frame of {n} bytes (over {MAX_FRAME}); closing its connection"
            );
            break inspect;
        }
        frame.clear();
        frame.resize(n, 0);
        if client.read_exact(&mut frame).is_err() {
            break inspect;
        }
        let mut addressed = None;
        if inspect {
            if let Some(msg) = decode(&frame) {
                routes.saw(id, &msg);
                routes.agent_pipe(&msg);
                if matches!(msg, ClientToServerMsg::ConnStatus) {
                    // A session probe is answered here. Zellij answers it and removes the
                    // client at once, and removes it again when its router reads the end of
                    // the stream, by then perhaps another connection's id; a busy server also
                    // answered late, and the probe said "There is no active session!".
                    let _ = reply.write_all(&server_frame(ServerToClientMsg::Connected));
                    break false;
                }
                if matches!(msg, ClientToServerMsg::ClientExited) {
                    // The end of the stream removes the client once its router has handled
                    // everything before it; a `ClientExited` as well would remove it a second
                    // time, later, when its id may already be a new connection's.
                    break true;
                }
                if is_core_pipe(&msg) {
                    if !gate.wait_open(HOLD_LIMIT) {
                        tracing::warn!(
                            "perth-core is not linked after {HOLD_LIMIT:?}; passing a pipe on unheld"
                        );
                    }
                } else if is_cli_action(&msg) && gate.hold_while_starting() {
                    tracing::warn!(
                        "the session is not ready {STARTUP_HOLD:?} after it started; passing an action on"
                    );
                }
                // Only while perth-core is linked: addressed to a plugin it does not find,
                // Zellij would start one.
                if gate.wait_open(Duration::ZERO) {
                    addressed = address_to_core(&msg).map(client_frame);
                }
            }
            inspect = routes.kind(id) != Some(ConnKind::Attached);
        }
        let sent = match &addressed {
            Some(whole) => server.write_all(whole),
            None => server
                .write_all(&len)
                .and_then(|()| server.write_all(&frame)),
        };
        if sent.is_err() {
            break false;
        }
    };
    if linger {
        // What Zellij still sends this connection lands here, not on the next connection that
        // gets its id: a `new-pane`'s pane id, logged after its router gave up waiting (1 s),
        // a plugin's late error for its pipe.
        std::thread::sleep(linger_for);
    }
    if !gate.wait_session_up(SESSION_UP_LIMIT) {
        tracing::warn!(
            "client {id} left, and the session is not up {SESSION_UP_LIMIT:?} later; letting it go"
        );
    }
    // The server's router reads the end of the stream and removes the client.
    let _ = server.shutdown(std::net::Shutdown::Both);
}

/// Returns `msg` as a frame: a little-endian `u32` length, then the protobuf.
fn server_frame(msg: ServerToClientMsg) -> Vec<u8> {
    let proto: zellij_utils::client_server_contract::client_server_contract::ServerToClientMsg =
        msg.into();
    length_prefixed(proto.encode_to_vec())
}

/// Returns a client's `msg` as a frame, as [`server_frame`] does a server's.
pub fn client_frame(msg: ClientToServerMsg) -> Vec<u8> {
    let proto: ProtoClientMsg = msg.into();
    length_prefixed(proto.encode_to_vec())
}

fn length_prefixed(body: Vec<u8>) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend(body);
    frame
}

/// The pipes only perth-core reads, sent by name: [`CORE_PIPES`], its link, and the agent
/// states perth's server reads on the way (perth-core lets them go at once).
const ADDRESSED_PIPES: [&str; CORE_PIPES.len() + 2] = {
    let mut names = [link::PIPE_NAME; CORE_PIPES.len() + 2];
    let mut i = 0;
    while i < CORE_PIPES.len() {
        names[i] = CORE_PIPES[i];
        i += 1;
    }
    names[i] = crate::agent_state::PIPE_NAME;
    names
};

/// Returns `msg` addressed to perth-core (by its alias) if it is a pipe only perth-core reads,
/// sent by name to whoever listens.
///
/// Zellij 0.45.1 hands a pipe sent by name to every plugin instance of the session, and lets
/// its client go only once each has taken it. An instance still waiting for its permissions
/// holds its events, this pipe among them, and one whose question Zellij lost (see
/// `server::grants`) waits for good: every such pipe after it then answered and never ended
/// (`perth pipe --name imi::remove` printed its answer and waited out its deadline).
/// Addressed, the pipe reaches perth-core's instances alone, which also spares every other
/// plugin a wake-up per call.
fn address_to_core(msg: &ClientToServerMsg) -> Option<ClientToServerMsg> {
    let ClientToServerMsg::Action {
        action:
            Action::CliPipe {
                name: Some(name),
                plugin: None,
                launch_new: false,
                ..
            },
        ..
    } = msg
    else {
        return None;
    };
    if !ADDRESSED_PIPES.contains(&name.as_str()) {
        return None;
    }
    let mut msg = msg.clone();
    if let ClientToServerMsg::Action {
        action: Action::CliPipe { plugin, .. },
        ..
    } = &mut msg
    {
        *plugin = Some(crate::assets::PERTH_CORE.name.to_owned());
    }
    Some(msg)
}

/// Returns the message a frame holds, if it holds one Zellij can read.
pub fn decode(frame: &[u8]) -> Option<ClientToServerMsg> {
    let proto = ProtoClientMsg::decode(frame).ok()?;
    ClientToServerMsg::try_from(proto).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellij_utils::ipc::ExitReason;

    fn pipe(pipe_id: &str, name: &str) -> ClientToServerMsg {
        ClientToServerMsg::Action {
            action: Action::CliPipe {
                pipe_id: pipe_id.into(),
                name: Some(name.into()),
                payload: Some("x".into()),
                args: None,
                plugin: None,
                configuration: None,
                launch_new: false,
                skip_cache: false,
                floating: None,
                in_place: None,
                cwd: None,
                pane_title: None,
            },
            terminal_id: None,
            client_id: None,
            is_cli_client: true,
        }
    }

    fn unblock(pipe: &str) -> ServerToClientMsg {
        ServerToClientMsg::UnblockCliPipeInput {
            pipe_name: pipe.into(),
        }
    }

    fn output(pipe: &str) -> ServerToClientMsg {
        ServerToClientMsg::CliPipeOutput {
            pipe_name: pipe.into(),
            output: "answer".into(),
        }
    }

    /// zellij #5270: Zellij broadcasts a pipe's unblock and output to every client when the
    /// pipe's owner is gone; only the owner may get them.
    #[test]
    fn pipe_answers_reach_only_the_pipes_owner() {
        let routes = ClientRoutes::default();
        routes.opened(1);
        routes.saw(1, &pipe("p-1", "zdrive::log"));
        routes.opened(2);
        routes.saw(2, &pipe("p-2", "zdrive::log"));
        routes.opened(3);
        routes.saw(
            3,
            &ClientToServerMsg::TerminalResize {
                new_size: zellij_utils::pane_size::Size { rows: 24, cols: 80 },
            },
        );
        for msg in [unblock("p-1"), output("p-1")] {
            assert!(routes.admits(1, &msg, false));
            assert!(!routes.admits(2, &msg, false));
            assert!(!routes.admits(3, &msg, false));
        }
        // The owner left: a broadcast reaches nobody.
        routes.closed(1);
        assert!(!routes.admits(2, &unblock("p-1"), false));
        assert_eq!(routes.dropped(), 5);
    }

    /// A recycled id: what Zellij still sends the previous owner never reaches the new one,
    /// and a session probe reads only `Connected`.
    #[test]
    fn a_new_connection_gets_nothing_meant_for_the_previous_owner() {
        let routes = ClientRoutes::default();
        routes.opened(4);
        routes.saw(4, &pipe("old", "zdrive::log"));
        routes.closed(4);
        routes.opened(4);
        for msg in [
            unblock("old"),
            ServerToClientMsg::UnblockInputThread,
            ServerToClientMsg::Log {
                lines: vec!["for the old owner".into()],
            },
        ] {
            assert!(!routes.admits(4, &msg, false), "{msg:?}");
        }
        let killed = ServerToClientMsg::Exit {
            exit_reason: ExitReason::Normal,
        };
        assert!(routes.admits(4, &killed, false));
        routes.saw(4, &ClientToServerMsg::ConnStatus);
        assert!(!routes.admits(4, &unblock("old"), false));
        assert!(!routes.admits(4, &ServerToClientMsg::UnblockInputThread, true));
        assert!(routes.admits(4, &ServerToClientMsg::Connected, false));
    }

    /// A broadcast `UnblockInputThread` (a pane closed) must not end a CLI action before its
    /// answer; the connection's own router sends the one that counts.
    #[test]
    fn a_cli_action_is_unblocked_only_by_its_own_router() {
        let routes = ClientRoutes::default();
        routes.opened(5);
        routes.saw(
            5,
            &ClientToServerMsg::Action {
                action: Action::ListClients,
                terminal_id: None,
                client_id: None,
                is_cli_client: true,
            },
        );
        assert!(!routes.admits(5, &ServerToClientMsg::UnblockInputThread, false));
        assert!(routes.admits(5, &ServerToClientMsg::UnblockInputThread, true));
        assert!(routes.admits(5, &ServerToClientMsg::Log { lines: vec![] }, false));
        // Renders are for attached clients.
        assert!(!routes.admits(
            5,
            &ServerToClientMsg::Render {
                content: String::new()
            },
            false
        ));
        // An unspliced id is left to Zellij.
        assert!(routes.admits(9, &ServerToClientMsg::UnblockInputThread, false));
    }

    #[test]
    fn actions_wait_while_the_session_starts_and_never_after() {
        let gate = Arc::new(CoreGate::default());
        let opener = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                gate.set(true);
            })
        };
        let started = Instant::now();
        assert!(
            !gate.hold_while_starting(),
            "released by the gate, not the limit"
        );
        assert!(started.elapsed() >= Duration::from_millis(50));
        opener.join().unwrap();
        // A server past its first moments holds nothing, open or not.
        let old = CoreGate {
            born: Instant::now() - STARTUP_HOLD,
            ..CoreGate::default()
        };
        let started = Instant::now();
        assert!(!old.hold_while_starting());
        assert!(started.elapsed() < Duration::from_millis(50));
        let list = ClientToServerMsg::Action {
            action: Action::ListClients,
            terminal_id: None,
            client_id: None,
            is_cli_client: true,
        };
        assert!(is_cli_action(&list));
    }

    #[test]
    fn core_pipes_wait_for_the_gate_and_others_do_not() {
        assert!(is_core_pipe(&pipe("a", "perth::notify")));
        assert!(is_core_pipe(&pipe("a", "zdrive::log")));
        assert!(!is_core_pipe(&pipe("a", "perth::link")));
        assert!(!is_core_pipe(&pipe("a", "my-own-pipe")));
        let gate = Arc::new(CoreGate::default());
        assert!(!gate.wait_open(Duration::from_millis(10)));
        let opener = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.set(true))
        };
        assert!(gate.wait_open(Duration::from_secs(5)));
        opener.join().unwrap();
    }

    /// Zellij panics when a connection ends before the session is up; the server's end of
    /// such a connection stays open until it is.
    #[test]
    fn a_connection_that_ends_while_the_session_starts_waits_for_it() {
        let routes = ClientRoutes::default();
        routes.opened(3);
        let gate = Arc::new(CoreGate::default());
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let started = Instant::now();
        let splice = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let mut answer = Vec::new();
                let probe = frame(ClientToServerMsg::ConnStatus);
                copy_frames(
                    3,
                    &probe[..],
                    &mut answer,
                    ours,
                    &routes,
                    &gate,
                    Duration::ZERO,
                );
                answer
            })
        };
        theirs
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut byte = [0u8; 1];
        let early = theirs.read(&mut byte);
        assert!(
            early.is_err(),
            "the server saw the end of the stream before the session was up: {early:?}"
        );
        gate.session_up();
        theirs
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(
            theirs.read(&mut byte).unwrap(),
            0,
            "the stream ends once it is up"
        );
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(
            splice.join().unwrap(),
            server_frame(ServerToClientMsg::Connected),
            "the probe itself was answered at once"
        );
        // Once up, nothing waits; perth-core linking means up as well.
        assert!(gate.wait_session_up(Duration::ZERO));
        let linked = CoreGate::default();
        linked.set(true);
        assert!(linked.wait_session_up(Duration::ZERO));
        assert!(!CoreGate::default().wait_session_up(Duration::from_millis(10)));
    }

    use super::client_frame as frame;

    /// Runs the splice over `input` from connection `id`; returns what reached the server and
    /// what perth answered the client.
    fn splice_bytes(id: ClientId, input: &[u8], routes: &ClientRoutes) -> (Vec<u8>, Vec<u8>) {
        let gate = CoreGate::default();
        gate.session_up();
        splice_through(id, input, routes, &gate)
    }

    fn splice_through(
        id: ClientId,
        input: &[u8],
        routes: &ClientRoutes,
        gate: &CoreGate,
    ) -> (Vec<u8>, Vec<u8>) {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let mut answer = Vec::new();
        copy_frames(id, input, &mut answer, ours, routes, gate, Duration::ZERO);
        let mut copied = Vec::new();
        theirs.read_to_end(&mut copied).unwrap();
        (copied, answer)
    }

    fn addressed(msg: ClientToServerMsg, to: &str) -> ClientToServerMsg {
        let mut msg = msg;
        if let ClientToServerMsg::Action {
            action: Action::CliPipe { plugin, .. },
            ..
        } = &mut msg
        {
            *plugin = Some(to.to_owned());
        }
        msg
    }

    /// A pipe only perth-core reads goes to perth-core alone while it is linked (an instance
    /// of another plugin waiting for its permissions would hold it for good); before, and for
    /// any other pipe, or one already addressed, the frame passes as it came.
    #[test]
    fn pipes_only_perth_core_reads_are_addressed_to_it_while_it_is_linked() {
        let core = crate::assets::PERTH_CORE.name;
        let linked = CoreGate::default();
        linked.set(true);
        for name in [
            link::IMI_REMOVE_PIPE,
            link::ZDRIVE_LOG_PIPE,
            link::NOTIFY_PIPE,
            link::PIPE_NAME,
            crate::agent_state::PIPE_NAME,
        ] {
            let routes = ClientRoutes::default();
            routes.opened(3);
            let (copied, _) = splice_through(3, &frame(pipe("p-3", name)), &routes, &linked);
            assert_eq!(copied, frame(addressed(pipe("p-3", name), core)), "{name}");
            assert_eq!(routes.kind(3), Some(ConnKind::Cli));
            assert!(routes.admits(3, &unblock("p-3"), false));
        }
        for msg in [
            pipe("p-4", "my-pipe"),
            addressed(pipe("p-4", link::IMI_ADD_PIPE), "file:/elsewhere.wasm"),
        ] {
            let routes = ClientRoutes::default();
            let (copied, _) = splice_through(4, &frame(msg.clone()), &routes, &linked);
            assert_eq!(copied, frame(msg));
        }
        // Not linked (perth-core absent): the link's hello goes to whoever listens.
        let unlinked = CoreGate::default();
        unlinked.session_up();
        let hello = pipe("p-5", link::PIPE_NAME);
        let routes = ClientRoutes::default();
        let (copied, _) = splice_through(5, &frame(hello.clone()), &routes, &unlinked);
        assert_eq!(copied, frame(hello));
    }

    #[test]
    fn frames_are_copied_unchanged_and_noted_and_oversized_ones_close() {
        let routes = ClientRoutes::default();
        routes.opened(7);
        // A pipe, then the client's goodbye, which ends the stream itself.
        let mut input = frame(pipe("p-7", "my-pipe"));
        let expected = input.clone();
        input.extend(frame(ClientToServerMsg::ClientExited));
        input.extend(frame(pipe("p-after", "my-pipe")));
        assert_eq!(splice_bytes(7, &input, &routes).0, expected);
        assert_eq!(routes.kind(7), Some(ConnKind::Cli));
        assert!(routes.admits(7, &unblock("p-7"), false));

        // Frames are copied unread once a connection is attached; its goodbye goes through.
        routes.opened(9);
        let mut input = frame(ClientToServerMsg::TerminalResize {
            new_size: zellij_utils::pane_size::Size { rows: 24, cols: 80 },
        });
        input.extend(frame(ClientToServerMsg::ClientExited));
        input.extend([1, 2, 3, 4, 5, 6]); // garbage after: a length then too few bytes
        let expected = input[..input.len() - 6].to_vec();
        assert_eq!(splice_bytes(9, &input, &routes).0, expected);

        // A session probe is answered by perth and never reaches the server.
        routes.opened(10);
        let (copied, answer) = splice_bytes(10, &frame(ClientToServerMsg::ConnStatus), &routes);
        assert!(copied.is_empty(), "{copied:?}");
        assert_eq!(answer, server_frame(ServerToClientMsg::Connected));
        assert_eq!(routes.kind(10), Some(ConnKind::Probe));

        // A frame claiming more than MAX_FRAME closes the connection unread.
        let huge = ((MAX_FRAME + 1) as u32).to_le_bytes();
        assert!(splice_bytes(8, &huge, &routes).0.is_empty());
    }
}
