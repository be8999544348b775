//! perth's `ServerOsApi`: wraps Zellij's stock implementation so perth sees every pane's PTY
//! output and every message sent to clients (extension point 1 of DESIGN.md D2).
//!
//! It observes and forwards, except for starting shell and command panes: those get perth's
//! own PTYs ([`super::pty`], `posix_spawn` instead of a fork of the whole server). Nothing here
//! may block, since PTY reads and renders pass through it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use interprocess::local_socket::Stream as LocalSocketStream;
use zellij_server::os_input_output::{async_trait, AsyncReader, ServerOsApi};
use zellij_server::panes::PaneId;
use zellij_utils::data::Palette;
use zellij_utils::errors::prelude::Result;
use zellij_utils::input::command::{RunCommand, TerminalAction};
use zellij_utils::ipc::{ClientToServerMsg, IpcReceiverWithContext, ServerToClientMsg};

use super::agents::Agents;
use super::clients::{self, ClientRoutes, CoreGate};
use super::detect::{Activity, Detector};
use super::pty::{Ptys, QuitCallback};
use crate::agent_state::{self, SignalSource};
use crate::notify::engine::Engine;
use crate::notify::osc::Scanner;
use crate::status::OsApiStatus;

type ClientId = u16;

/// Counters the wrapper keeps; read by `perth status`.
#[derive(Debug, Default)]
pub struct OsApiCounters {
    terminals_spawned: AtomicU64,
    pty_bytes_seen: AtomicU64,
    renders_sent: AtomicU64,
    clients_connected: AtomicU64,
    /// Which connection owns what; its count of messages kept from the wrong connection.
    routes: Arc<ClientRoutes>,
    /// `PERTH_STOCK_ROUTING=1`: connections are not spliced, messages go where Zellij sends
    /// them (to compare with Zellij, or to rule perth's routing out when chasing a problem).
    stock_routing: bool,
}

impl OsApiCounters {
    /// Returns counters for a server, reading `PERTH_STOCK_ROUTING` once.
    pub fn new() -> Self {
        OsApiCounters {
            stock_routing: std::env::var_os("PERTH_STOCK_ROUTING").is_some_and(|v| v == "1"),
            ..Default::default()
        }
    }
}

impl OsApiCounters {
    /// Returns the counters as the status section.
    pub fn snapshot(&self) -> OsApiStatus {
        OsApiStatus {
            installed: true,
            terminals_spawned: self.terminals_spawned.load(Ordering::Relaxed),
            pty_bytes_seen: self.pty_bytes_seen.load(Ordering::Relaxed),
            renders_sent: self.renders_sent.load(Ordering::Relaxed),
            clients_connected: self.clients_connected.load(Ordering::Relaxed),
            messages_rerouted: self.routes.dropped(),
        }
    }
}

/// The wrapper passed to `zellij_server::start_server_impl`.
pub struct PerthOsApi {
    inner: Box<dyn ServerOsApi>,
    counters: Arc<OsApiCounters>,
    notify: Arc<Engine>,
    /// The PTYs of shell and command panes; editor panes keep the stock backend's.
    ptys: Arc<Ptys>,
    /// Which connection may get which message (zellij #5270, see [`clients`]).
    routes: Arc<ClientRoutes>,
    /// Open while perth-core is linked.
    gate: Arc<CoreGate>,
    /// The panes' agent states: escape sequences, pipes, exits and closes reach it here.
    agents: Arc<Agents>,
    /// Reads agent states from panes' programs and screens; readers report output to it.
    detector: Arc<Detector>,
}

impl PerthOsApi {
    /// Wraps `inner` (normally `get_server_os_input()`), counting into `counters` and handing
    /// pane output, command exits and renders to the notification engine.
    pub fn new(
        inner: Box<dyn ServerOsApi>,
        counters: Arc<OsApiCounters>,
        notify: Arc<Engine>,
        gate: Arc<CoreGate>,
        agents: Arc<Agents>,
        ptys: Arc<Ptys>,
        detector: Arc<Detector>,
    ) -> Self {
        notify.set_sender(inner.box_clone());
        let routes = counters.routes.clone();
        {
            let agents = agents.clone();
            routes.set_agent_pipe(move |args, payload| {
                let (pane, state, message) = agent_state::parse_pipe(args, payload)?;
                agents.signal(pane, state, message.as_deref(), SignalSource::Pipe);
                Ok(())
            });
        }
        PerthOsApi {
            inner,
            counters,
            notify,
            ptys,
            routes,
            gate,
            agents,
            detector,
        }
    }

    fn tap(&self, terminal_id: u32, reader: Box<dyn AsyncReader>) -> Box<dyn AsyncReader> {
        Box::new(TappedReader {
            inner: reader,
            counters: self.counters.clone(),
            notify: self.notify.clone(),
            agents: self.agents.clone(),
            terminal_id,
            scanner: Scanner::default(),
            activity: self.detector.watch(terminal_id),
            detector: self.detector.clone(),
        })
    }

    /// Wraps the exit callback of a command pane (one held open when its command ends) so the
    /// exit raises a notification; other panes close on exit and keep theirs as it was.
    fn watch_exit(&self, action: Option<&RunCommand>, quit_cb: QuitCallback) -> QuitCallback {
        let agents = self.agents.clone();
        match action {
            Some(command) if command.hold_on_close => {
                let notify = self.notify.clone();
                Box::new(move |pane_id, status, command: RunCommand| {
                    if let PaneId::Terminal(id) = pane_id {
                        agents.exited(id, status);
                        notify.command_exited(id, status, &command.to_string());
                    }
                    quit_cb(pane_id, status, command)
                })
            }
            _ => Box::new(move |pane_id, status, command: RunCommand| {
                if let PaneId::Terminal(id) = pane_id {
                    agents.exited(id, status);
                }
                quit_cb(pane_id, status, command)
            }),
        }
    }
}

/// A PTY reader that lets perth see the bytes a pane's program writes.
struct TappedReader {
    inner: Box<dyn AsyncReader>,
    counters: Arc<OsApiCounters>,
    notify: Arc<Engine>,
    agents: Arc<Agents>,
    terminal_id: u32,
    scanner: Scanner,
    activity: Arc<Activity>,
    detector: Arc<Detector>,
}

impl Drop for TappedReader {
    /// The pane's reader goes with the pane: nothing is left to watch.
    fn drop(&mut self) {
        self.detector.forget(self.terminal_id);
    }
}

#[async_trait]
impl AsyncReader for TappedReader {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf).await?;
        self.counters
            .pty_bytes_seen
            .fetch_add(read as u64, Ordering::Relaxed);
        if read > 0 {
            self.activity.output();
        }
        let (notify, id) = (&self.notify, self.terminal_id);
        self.scanner
            .feed(&buf[..read], &mut |found| notify.from_pane(id, found));
        for (state, message) in self.scanner.take_agent_signals() {
            self.agents
                .signal(id, state, message.as_deref(), SignalSource::Escape);
        }
        Ok(read)
    }
}

impl ServerOsApi for PerthOsApi {
    fn set_terminal_size_using_terminal_id(
        &self,
        id: u32,
        cols: u16,
        rows: u16,
        width_in_pixels: Option<u16>,
        height_in_pixels: Option<u16>,
    ) -> Result<()> {
        let size = (cols, rows, width_in_pixels, height_in_pixels);
        if let Some(done) = self.ptys.set_size(id, size) {
            return done;
        }
        self.inner.set_terminal_size_using_terminal_id(
            id,
            cols,
            rows,
            width_in_pixels,
            height_in_pixels,
        )
    }

    fn spawn_terminal(
        &self,
        terminal_action: TerminalAction,
        quit_cb: QuitCallback,
        default_editor: Option<PathBuf>,
    ) -> Result<(u32, Box<dyn AsyncReader>, Option<u32>)> {
        let (id, reader, pid) = match terminal_action {
            TerminalAction::RunCommand(command) => {
                let quit_cb = self.watch_exit(Some(&command), quit_cb);
                // The stock backend's counter, so editor panes it starts get other ids.
                let id = self.inner.reserve_terminal_id()?;
                let (reader, pid) = self.ptys.spawn(id, command, quit_cb)?;
                (id, reader, Some(pid))
            }
            editor => self.inner.spawn_terminal(editor, quit_cb, default_editor)?,
        };
        self.counters
            .terminals_spawned
            .fetch_add(1, Ordering::Relaxed);
        Ok((id, self.tap(id, reader), pid))
    }

    fn reserve_terminal_id(&self) -> Result<u32> {
        self.inner.reserve_terminal_id()
    }

    fn write_to_tty_stdin(&self, terminal_id: u32, buf: &[u8]) -> Result<usize> {
        if let Some(written) = self.ptys.write(terminal_id, buf) {
            return written;
        }
        self.inner.write_to_tty_stdin(terminal_id, buf)
    }

    fn tcdrain(&self, terminal_id: u32) -> Result<()> {
        if let Some(drained) = self.ptys.tcdrain(terminal_id) {
            return drained;
        }
        self.inner.tcdrain(terminal_id)
    }

    fn kill(&self, pid: u32) -> Result<()> {
        self.inner.kill(pid)
    }

    fn force_kill(&self, pid: u32) -> Result<()> {
        self.inner.force_kill(pid)
    }

    fn send_sigint(&self, pid: u32) -> Result<()> {
        self.inner.send_sigint(pid)
    }

    fn box_clone(&self) -> Box<dyn ServerOsApi> {
        Box::new(PerthOsApi {
            inner: self.inner.box_clone(),
            counters: self.counters.clone(),
            notify: self.notify.clone(),
            ptys: self.ptys.clone(),
            routes: self.routes.clone(),
            gate: self.gate.clone(),
            agents: self.agents.clone(),
            detector: self.detector.clone(),
        })
    }

    fn send_to_client(&self, client_id: ClientId, mut msg: ServerToClientMsg) -> Result<()> {
        if !self
            .routes
            .admits(client_id, &msg, clients::on_router_thread())
        {
            // Meant for another connection (zellij #5270); Zellij would deliver it here.
            return Ok(());
        }
        if let ServerToClientMsg::Render { content } = &mut msg {
            self.gate.session_up();
            self.counters.renders_sent.fetch_add(1, Ordering::Relaxed);
            self.notify.on_render(client_id, content);
        }
        self.inner.send_to_client(client_id, msg)
    }

    fn new_client(
        &mut self,
        client_id: ClientId,
        stream: LocalSocketStream,
    ) -> Result<IpcReceiverWithContext<ClientToServerMsg>> {
        self.counters
            .clients_connected
            .fetch_add(1, Ordering::Relaxed);
        // Zellij's listener unwraps what this returns: a failed splice falls back to the
        // client's own socket, as Zellij would use it.
        if self.counters.stock_routing {
            return self.inner.new_client(client_id, stream);
        }
        match clients::splice(client_id, &stream, self.routes.clone(), self.gate.clone()) {
            Some((from_client, to_client)) => {
                self.inner
                    .new_client_with_reply(client_id, from_client, to_client)
            }
            None => {
                self.routes.closed(client_id);
                self.inner.new_client(client_id, stream)
            }
        }
    }

    fn new_client_with_reply(
        &mut self,
        client_id: ClientId,
        stream: LocalSocketStream,
        reply_stream: LocalSocketStream,
    ) -> Result<IpcReceiverWithContext<ClientToServerMsg>> {
        self.counters
            .clients_connected
            .fetch_add(1, Ordering::Relaxed);
        self.inner
            .new_client_with_reply(client_id, stream, reply_stream)
    }

    fn remove_client(&mut self, client_id: ClientId) -> Result<()> {
        self.routes.closed(client_id);
        self.notify.remove_client(client_id);
        self.inner.remove_client(client_id)
    }

    fn load_palette(&self) -> Palette {
        self.inner.load_palette()
    }

    fn get_cwd(&self, pid: u32) -> Option<PathBuf> {
        self.inner.get_cwd(pid)
    }

    fn get_cwds(&self, pids: Vec<u32>) -> (HashMap<u32, PathBuf>, HashMap<u32, Vec<String>>) {
        self.inner.get_cwds(pids)
    }

    fn get_all_cmds_by_ppid(&self, post_hook: &Option<String>) -> HashMap<String, Vec<String>> {
        self.inner.get_all_cmds_by_ppid(post_hook)
    }

    fn get_foreground_cmds(
        &self,
        panes: &[(u32, u32)],
        post_hook: &Option<String>,
    ) -> HashMap<u32, Vec<String>> {
        let (ours, stock): (Vec<_>, Vec<_>) = panes.iter().partition(|(id, _)| self.ptys.owns(*id));
        let mut found = self.ptys.foreground_commands(&ours, post_hook.as_deref());
        if !stock.is_empty() {
            found.extend(self.inner.get_foreground_cmds(&stock, post_hook));
        }
        found
    }

    fn write_to_file(&mut self, buf: String, file: Option<String>) -> Result<()> {
        self.inner.write_to_file(buf, file)
    }

    fn re_run_command_in_terminal(
        &self,
        terminal_id: u32,
        run_command: RunCommand,
        quit_cb: QuitCallback,
    ) -> Result<(Box<dyn AsyncReader>, Option<u32>)> {
        let quit_cb = self.watch_exit(Some(&run_command), quit_cb);
        let (reader, pid) = self.ptys.spawn(terminal_id, run_command, quit_cb)?;
        Ok((self.tap(terminal_id, reader), Some(pid)))
    }

    fn clear_terminal_id(&self, terminal_id: u32) -> Result<()> {
        self.ptys.clear(terminal_id);
        self.agents.closed(terminal_id);
        self.inner.clear_terminal_id(terminal_id)
    }

    fn cache_resizes(&mut self) {
        self.ptys.hold_sizes();
        self.inner.cache_resizes()
    }

    fn apply_cached_resizes(&mut self) {
        self.ptys.release_sizes();
        self.inner.apply_cached_resizes()
    }
}
