//! A client of a Zellij or perth session's IPC socket: the same protocol `zellij action` and
//! `zellij pipe` speak, without a subprocess per action.
//!
//! perth's server uses it on its own socket (extension point 2 of DESIGN.md D2); host-bridge
//! uses it to push events to the plugins of running sessions.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub mod call;

use zellij_utils::input::actions::Action;
use zellij_utils::ipc::{ClientToServerMsg, ExitReason, IpcSenderWithContext, ServerToClientMsg};

/// Errors of the in-process client.
#[derive(Debug, thiserror::Error)]
pub enum SessionClientError {
    #[error("cannot connect to the session socket {path}: {source}")]
    Connect {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot send to the session: {0}")]
    Send(String),
    #[error("the session closed the connection")]
    Disconnected,
    #[error("the session did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the session reported an error: {0}")]
    Server(String),
}

/// The output of one action: the lines the server logged back, as `zellij action` prints them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionOutput {
    pub lines: Vec<String>,
}

/// A connection to a session's IPC socket.
pub struct SessionClient {
    /// A second handle on the socket, shut down on drop (see [`SessionClient::connect`]).
    closer: interprocess::local_socket::Stream,
    sender: IpcSenderWithContext<ClientToServerMsg>,
    incoming: Receiver<Incoming>,
    waker: Waker,
    /// The reader saw the connection end (the channel itself stays open: wakers hold it).
    closed: std::cell::Cell<bool>,
    /// Whether dropping it says goodbye as a CLI client does (a liveness probe does not).
    goodbye: bool,
}

/// What the reader thread (or a [`Waker`]) hands to the client.
enum Incoming {
    Server(ServerToClientMsg),
    Wake,
    Closed,
}

/// What [`SessionClient::recv_or_wake`] returns.
#[derive(Debug)]
pub enum Received {
    Message(ServerToClientMsg),
    /// A [`Waker`] of this client was woken.
    Woken,
}

/// Wakes a thread waiting in [`SessionClient::recv_or_wake`] from another thread, so that
/// one wait serves both the session's messages and the owner's own events. Wakes coalesce.
#[derive(Clone)]
pub struct Waker {
    tx: Sender<Incoming>,
    queued: Arc<AtomicBool>,
}

impl Waker {
    /// Wakes the waiting thread; never waits.
    pub fn wake(&self) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            let _ = self.tx.send(Incoming::Wake);
        }
    }
}

impl SessionClient {
    /// Connects to the session socket at `path`.
    pub fn connect(path: &Path) -> Result<Self, SessionClientError> {
        let stream = zellij_utils::consts::ipc_connect(path).map_err(|source| {
            SessionClientError::Connect {
                path: path.display().to_string(),
                source,
            }
        })?;
        // A second handle on the socket, to shut it down when the client is dropped: the reader
        // thread holds its own, and until the socket is shut down the connection stays open
        // (a probe's connection then outlived its answer until the process ended, and a proxy
        // or a server serving connections in turn waited on it).
        let closer = interprocess::TryClone::try_clone(&stream).map_err(|source| {
            SessionClientError::Connect {
                path: path.display().to_string(),
                source,
            }
        })?;
        let sender = IpcSenderWithContext::<ClientToServerMsg>::new(stream);
        let mut receiver = sender.get_receiver::<ServerToClientMsg>();
        let (tx, incoming) = mpsc::channel();
        let waker = Waker {
            tx: tx.clone(),
            queued: Arc::new(AtomicBool::new(false)),
        };
        // Reads on a thread of their own so that callers can wait with a deadline.
        std::thread::Builder::new()
            .name("perth-ipc-reader".into())
            .spawn(move || {
                while let Some((msg, _)) = receiver.recv_server_msg() {
                    if tx.send(Incoming::Server(msg)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Incoming::Closed);
            })
            .map_err(|source| SessionClientError::Connect {
                path: path.display().to_string(),
                source,
            })?;
        Ok(SessionClient {
            closer,
            sender,
            incoming,
            waker,
            closed: std::cell::Cell::new(false),
            goodbye: true,
        })
    }

    /// Returns a waker for [`SessionClient::recv_or_wake`].
    pub fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// Sends an action as a CLI client would.
    pub fn send_action(&mut self, action: Action) -> Result<(), SessionClientError> {
        self.sender
            .send_client_msg(ClientToServerMsg::Action {
                action,
                terminal_id: None,
                client_id: None,
                is_cli_client: true,
            })
            .map_err(|e| SessionClientError::Send(e.to_string()))
    }

    /// Receives the next message from the server, waiting at most `timeout`.
    pub fn recv(&self, timeout: Duration) -> Result<ServerToClientMsg, SessionClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Received::Message(msg) = self.recv_or_wake(left)? {
                return Ok(msg);
            }
        }
    }

    /// Receives the next message from the server, or returns [`Received::Woken`] when a
    /// [`Waker`] of this client is woken first; waits at most `timeout`.
    pub fn recv_or_wake(&self, timeout: Duration) -> Result<Received, SessionClientError> {
        if self.closed.get() {
            return Err(SessionClientError::Disconnected);
        }
        match self.incoming.recv_timeout(timeout) {
            Ok(Incoming::Closed) => {
                self.closed.set(true);
                Err(SessionClientError::Disconnected)
            }
            Ok(Incoming::Server(msg)) => Ok(Received::Message(msg)),
            Ok(Incoming::Wake) => {
                self.waker.queued.store(false, Ordering::Release);
                Ok(Received::Woken)
            }
            Err(RecvTimeoutError::Timeout) => Err(SessionClientError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => Err(SessionClientError::Disconnected),
        }
    }

    /// Runs one action and collects what the server answers, like `zellij action ...`.
    ///
    /// The server ends every action with `UnblockInputThread`, after any `Log` lines the
    /// action produced; waiting for it keeps the connection ready for the next action.
    pub fn run_action(
        &mut self,
        action: Action,
        timeout: Duration,
    ) -> Result<ActionOutput, SessionClientError> {
        self.send_action(action)?;
        let deadline = Instant::now() + timeout;
        let mut output = ActionOutput::default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left)? {
                ServerToClientMsg::UnblockInputThread => return Ok(output),
                ServerToClientMsg::Log { lines } => output.lines.extend(lines),
                ServerToClientMsg::LogError { lines } => {
                    return Err(SessionClientError::Server(lines.join("\n")))
                }
                ServerToClientMsg::Exit { exit_reason } => {
                    return match exit_reason {
                        ExitReason::Error(e) => Err(SessionClientError::Server(e)),
                        _ => Err(SessionClientError::Disconnected),
                    }
                }
                _ => {}
            }
        }
    }

    /// Returns the session's panes as `list-panes --json --all` reports them.
    pub fn list_panes(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<serde_json::Value>, SessionClientError> {
        let output = self.run_action(list_panes_action(), timeout)?;
        parse_json_array(&output.lines.join("\n"))
    }

    /// Sends one message on a CLI pipe (`zellij pipe --name NAME -- PAYLOAD`) to every plugin
    /// listening, without waiting for them: fire and forget.
    pub fn send_pipe(
        &mut self,
        pipe_id: &str,
        name: &str,
        payload: Option<String>,
    ) -> Result<(), SessionClientError> {
        self.send_pipe_with_args(pipe_id, name, payload, None)
    }

    /// As [`SessionClient::send_pipe`], with `--args` (`zellij pipe --args k=v,...`).
    pub fn send_pipe_with_args(
        &mut self,
        pipe_id: &str,
        name: &str,
        payload: Option<String>,
        args: Option<std::collections::BTreeMap<String, String>>,
    ) -> Result<(), SessionClientError> {
        self.send_action(Action::CliPipe {
            pipe_id: pipe_id.to_string(),
            name: Some(name.to_string()),
            payload,
            args,
            plugin: None,
            configuration: None,
            launch_new: false,
            skip_cache: false,
            floating: None,
            in_place: None,
            cwd: None,
            pane_title: None,
        })
    }

    /// Returns the session's tabs as `list-tabs --json --all` reports them.
    pub fn list_tabs(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<serde_json::Value>, SessionClientError> {
        let output = self.run_action(list_tabs_action(), timeout)?;
        parse_json_array(&output.lines.join("\n"))
    }
}

impl SessionClient {
    /// Returns the session's layout as `zellij action dump-layout` prints it: Zellij's own
    /// session serialization (tabs, panes, cwds, commands, plugins, floating panes, focus).
    pub fn dump_layout(&mut self, timeout: Duration) -> Result<String, SessionClientError> {
        let output = self.run_action(Action::DumpLayout, timeout)?;
        Ok(output.lines.join("\n"))
    }

    /// Writes a pane's screen (with its scrollback when `full`) to `path`, as
    /// `zellij action dump-screen --pane-id ID` does; the server writes the file.
    pub fn dump_pane(
        &mut self,
        pane_id: zellij_utils::data::PaneId,
        path: &Path,
        full: bool,
        timeout: Duration,
    ) -> Result<(), SessionClientError> {
        self.run_action(
            Action::DumpScreen {
                file_path: Some(path.display().to_string()),
                include_scrollback: full,
                pane_id: Some(pane_id),
                ansi: false,
            },
            timeout,
        )
        .map(|_| ())
    }
}

impl Drop for SessionClient {
    /// Says goodbye the way a CLI client does when it is done, so the server forgets us.
    fn drop(&mut self) {
        if self.goodbye {
            let _ = self.sender.send_client_msg(ClientToServerMsg::ClientExited);
        }
        // Ends the connection now: the server sees its end and the reader thread stops.
        let interprocess::local_socket::Stream::UdSocket(socket) = &self.closer;
        let _ = socket.inner().shutdown(std::net::Shutdown::Both);
    }
}

/// `list-panes --json --all` with every detail (tab, command, state, geometry).
pub fn list_panes_action() -> Action {
    Action::ListPanes {
        show_tab: true,
        show_command: true,
        show_state: true,
        show_geometry: true,
        show_all: true,
        output_json: true,
    }
}

/// `list-tabs --json --all` with their state and dimensions.
pub fn list_tabs_action() -> Action {
    Action::ListTabs {
        show_state: true,
        show_dimensions: true,
        show_panes: false,
        show_layout: false,
        show_all: true,
        output_json: true,
    }
}

fn parse_json_array(text: &str) -> Result<Vec<serde_json::Value>, SessionClientError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(text)
        .map_err(|e| SessionClientError::Server(format!("unreadable JSON from the session: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_empty_and_arrays() {
        assert!(parse_json_array("").unwrap().is_empty());
        assert_eq!(parse_json_array("[{\"id\":1}]").unwrap().len(), 1);
        assert!(parse_json_array("not json").is_err());
    }
}
