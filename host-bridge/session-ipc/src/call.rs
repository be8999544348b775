//! Calls to a session with a deadline and one retry policy (DESIGN.md D13), for every tool
//! that talks to a session: perth's command line, iMi, zdrive, host-bridge, the test harness.
//!
//! - Every wait on the session has a deadline (10 s unless the caller's binary says
//!   otherwise): a wedged server (zellij #5400, #5440) makes a call fail with
//!   [`CallError::Timeout`] instead of hanging.
//! - A query (listing panes or tabs, dumping a screen or the layout) changes nothing, so a
//!   connection the session closed before answering is opened again and the query asked once
//!   more.
//! - Any other call (a pipe, an action that creates, closes, focuses or types) may already
//!   have taken effect when the connection closes: it is never sent twice. The caller may
//!   confirm it by its effect ([`Caller::act_confirmed`]); otherwise it is reported as
//!   [`CallError::Unknown`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zellij_utils::input::actions::Action;
use zellij_utils::ipc::{ClientToServerMsg, ExitReason, ServerToClientMsg};

use crate::{SessionClient, SessionClientError};

/// How long a call waits for each answer unless told otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// The environment variable perth's tools read the deadline from (seconds); binaries read
/// it and pass the value in (engine libraries do not read the environment).
pub const DEADLINE_ENV: &str = "PERTH_CALL_TIMEOUT";

/// The exit status of a call whose session did not answer, could not be reached, or closed
/// the connection before saying whether the call took effect.
pub const EXIT_UNAVAILABLE: i32 = 3;

/// Reads a deadline as written in [`DEADLINE_ENV`]: seconds, decimals allowed, more than 0.
pub fn parse_deadline(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.trim().parse().map_err(|_| {
        format!("{DEADLINE_ENV}={text:?} is not a number of seconds; for example {DEADLINE_ENV}=30")
    })?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{DEADLINE_ENV}={text:?} is out of range; give between 0.001 and 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The deadline named by the value of [`DEADLINE_ENV`], or [`DEFAULT_DEADLINE`] when unset.
pub fn deadline_from(value: Option<&str>) -> Result<Duration, String> {
    value.map_or(Ok(DEFAULT_DEADLINE), parse_deadline)
}

/// What a session's socket answered to a liveness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its server answered.
    Alive,
    /// Its server accepted the connection but did not answer within the deadline: it runs,
    /// busy or wedged.
    Unanswered,
    /// Nothing listens there (a session that ended without removing its socket).
    Gone,
}

/// Asks the session whose socket is `socket` whether it runs, as `zellij` does before an
/// action, but waiting at most `deadline` (zellij #5400: Zellij's own check waits forever
/// on a wedged server, and so did every command behind it).
pub fn probe(socket: &Path, deadline: Duration) -> Liveness {
    let Ok(mut client) = SessionClient::connect(socket) else {
        return Liveness::Gone;
    };
    client.goodbye = false;
    if client
        .sender
        .send_client_msg(ClientToServerMsg::ConnStatus)
        .is_err()
    {
        return Liveness::Gone;
    }
    match client.recv(deadline) {
        Ok(ServerToClientMsg::Connected) => Liveness::Alive,
        Err(SessionClientError::Timeout(_)) => Liveness::Unanswered,
        _ => Liveness::Gone,
    }
}

/// The sessions whose sockets are in `sock_dir`, by name, each probed (all at once, so that
/// wedged sessions cost one deadline together); sessions that are gone are left out.
pub fn sessions(sock_dir: &Path, deadline: Duration) -> Vec<(String, Liveness)> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(entries) = std::fs::read_dir(sock_dir) else {
        return Vec::new();
    };
    let probes: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let path = e.path();
            Some((name, std::thread::spawn(move || probe(&path, deadline))))
        })
        .collect();
    let mut found: Vec<(String, Liveness)> = probes
        .into_iter()
        .filter_map(|(name, probe)| {
            let liveness = probe.join().unwrap_or(Liveness::Gone);
            (liveness != Liveness::Gone).then_some((name, liveness))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// How many times a query is asked in all: once, and once more when its answer was lost.
pub const QUERY_ATTEMPTS: usize = 2;

/// Runs a command that calls a session (another Zellij version's `zellij action`), killing
/// it when it has not ended within `deadline` (an error of kind `TimedOut`). Its output is
/// read while it runs, so a long answer cannot fill a pipe and stall it.
pub fn command_output(
    cmd: &mut std::process::Command,
    deadline: Duration,
) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {deadline:.1?}; {DEADLINE_ENV}=SECONDS waits longer"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Whether asking a call again is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// It only reads the session: it may be asked again.
    Query,
    /// It may change the session: never sent twice.
    Effect,
}

/// The kind of an action.
pub fn kind_of(action: &Action) -> CallKind {
    match action {
        Action::ListPanes { .. }
        | Action::ListTabs { .. }
        | Action::ListClients
        | Action::QueryTabNames
        | Action::CurrentTabInfo { .. }
        | Action::AreFloatingPanesVisible { .. }
        | Action::DumpLayout
        | Action::DumpScreen { .. } => CallKind::Query,
        _ => CallKind::Effect,
    }
}

/// Why a call failed, and what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The session's socket could not be opened.
    #[error("cannot reach session '{session}': {reason}. Is it running? `perth list-sessions` shows the sessions that run")]
    Unreachable { session: String, reason: String },
    /// No answer within the deadline.
    #[error("session '{session}' did not answer {what} within {waited:.1?}{unknown}; it may be busy or wedged: `perth status` shows its state, `perth kill-session {session}` stops it, {env}=SECONDS waits longer", unknown = if *.may_have_taken_effect { " (it may or may not have taken effect)" } else { "" }, env = DEADLINE_ENV)]
    Timeout {
        session: String,
        what: String,
        waited: Duration,
        may_have_taken_effect: bool,
    },
    /// The session closed the connection before saying whether the call took effect.
    #[error("session '{session}' closed the connection before answering {what}; it may or may not have taken effect: check before you repeat it")]
    Unknown { session: String, what: String },
    /// The session ended the connection (it is shutting down, or a query found it gone twice).
    #[error("session '{session}' closed the connection before answering {what}; is it still running? `perth list-sessions` shows the sessions that run")]
    Closed { session: String, what: String },
    /// The session refused the call and said why.
    #[error("{0}")]
    Refused(String),
}

impl CallError {
    /// The exit status a command line reports for this error: 2 for a refused call (as
    /// `zellij action` does), [`EXIT_UNAVAILABLE`] for everything the session did not answer.
    pub fn exit_code(&self) -> i32 {
        match self {
            CallError::Refused(_) => 2,
            _ => EXIT_UNAVAILABLE,
        }
    }
}

/// What a session answered to one action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The lines it logged back (what `zellij action` prints).
    pub lines: Vec<String>,
    /// The exit status it asked the command line to end with, if any.
    pub exit_status: Option<i32>,
}

/// How one chunk of a pipe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeEnd {
    /// Its plugins let it go: the next chunk may follow.
    LetGo,
    /// The session logged lines instead (for example, no plugin listens): the pipe is over.
    Logged(Vec<String>),
}

/// What a pipe's plugins answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipeAnswer {
    /// Output written back to the caller, in order.
    pub output: String,
    /// Lines the session logged (for example a plugin that is not loaded).
    pub lines: Vec<String>,
}

/// One message on a CLI pipe: `zellij pipe --name NAME [--args ...] [--plugin ...] -- PAYLOAD`.
#[derive(Debug, Clone, Default)]
pub struct PipeMessage {
    pub name: Option<String>,
    pub payload: Option<String>,
    pub args: Option<BTreeMap<String, String>>,
    pub plugin: Option<String>,
    pub configuration: Option<BTreeMap<String, String>>,
    pub launch_new: bool,
    pub skip_cache: bool,
    pub floating: Option<bool>,
    pub in_place: Option<bool>,
    pub cwd: Option<PathBuf>,
    pub pane_title: Option<String>,
}

impl PipeMessage {
    /// A message on the pipe named `name` with `args` and `payload`.
    pub fn named(name: &str, args: BTreeMap<String, String>, payload: Option<String>) -> Self {
        PipeMessage {
            name: Some(name.to_owned()),
            args: (!args.is_empty()).then_some(args),
            payload,
            ..PipeMessage::default()
        }
    }

    fn action(&self, pipe_id: &str, payload: Option<String>) -> Action {
        Action::CliPipe {
            pipe_id: pipe_id.to_owned(),
            name: self.name.clone(),
            payload,
            args: self.args.clone(),
            plugin: self.plugin.clone(),
            configuration: self.configuration.clone(),
            launch_new: self.launch_new,
            skip_cache: self.skip_cache,
            floating: self.floating,
            in_place: self.in_place,
            cwd: self.cwd.clone(),
            pane_title: self.pane_title.clone(),
        }
    }
}

/// A session to call: its name (for messages), its socket, the deadline of each wait and the
/// pane the caller runs in (as `ZELLIJ_PANE_ID` names it), with one connection kept open.
pub struct Caller {
    session: String,
    socket: PathBuf,
    deadline: Duration,
    pane_id: Option<u32>,
    client: Option<SessionClient>,
}

impl Caller {
    /// A caller of the session `session` whose socket is `socket`; connects on first use.
    pub fn new(session: &str, socket: &Path, deadline: Duration) -> Self {
        Caller {
            session: session.to_owned(),
            socket: socket.to_owned(),
            deadline,
            pane_id: None,
            client: None,
        }
    }

    /// Calls made on behalf of the terminal pane `pane_id` (what `ZELLIJ_PANE_ID` says).
    pub fn from_pane(mut self, pane_id: Option<u32>) -> Self {
        self.pane_id = pane_id;
        self
    }

    /// The session's name.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The deadline of each wait.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Connects now rather than on first use: whether the session is there, without asking it
    /// anything.
    pub fn connect(&mut self) -> Result<(), CallError> {
        self.client().map(|_| ())
    }

    fn client(&mut self) -> Result<&mut SessionClient, CallError> {
        if self.client.is_none() {
            let client =
                SessionClient::connect(&self.socket).map_err(|e| CallError::Unreachable {
                    session: self.session.clone(),
                    reason: match e {
                        SessionClientError::Connect { source, .. } => source.to_string(),
                        other => other.to_string(),
                    },
                })?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs an action by its kind: a query is asked again once on a fresh connection when the
    /// session closed the first before answering; anything else is sent once.
    pub fn call(&mut self, action: Action) -> Result<Answer, CallError> {
        match kind_of(&action) {
            CallKind::Query => self.query(action),
            CallKind::Effect => self.act(action),
        }
    }

    /// Runs a query, asking again once on a fresh connection if the session closed the
    /// connection before answering. Answers of a query that hold nothing are answers.
    pub fn query(&mut self, action: Action) -> Result<Answer, CallError> {
        debug_assert_eq!(kind_of(&action), CallKind::Query);
        let what = describe(&action);
        match self.exchange(action.clone(), &what, false) {
            Err(CallError::Closed { .. }) => self.exchange(action, &what, false),
            other => other,
        }
    }

    /// Runs an action that may change the session, once. A connection closed before the
    /// answer is reported as [`CallError::Unknown`]: the caller decides, never a blind resend.
    pub fn act(&mut self, action: Action) -> Result<Answer, CallError> {
        let what = describe(&action);
        self.exchange(action, &what, true).map_err(|e| match e {
            CallError::Closed { session, what } => CallError::Unknown { session, what },
            other => other,
        })
    }

    /// Runs an action that may change the session, once; when the session closed the
    /// connection before answering, `confirm` (which may only query) looks for its effect:
    /// `Some` is the call's result, `None` reports the call as [`CallError::Unknown`].
    pub fn act_confirmed<T>(
        &mut self,
        action: Action,
        answered: impl FnOnce(Answer) -> Result<T, CallError>,
        confirm: impl FnOnce(&mut Caller) -> Result<Option<T>, CallError>,
    ) -> Result<T, CallError> {
        match self.act(action) {
            Ok(answer) => answered(answer),
            Err(CallError::Unknown { session, what }) => {
                confirm(self)?.ok_or(CallError::Unknown { session, what })
            }
            Err(e) => Err(e),
        }
    }

    /// Sends one pipe message and waits until its plugins let it go (or one of them answers
    /// with an error), collecting their output. Never sent twice.
    pub fn pipe(&mut self, pipe_id: &str, message: &PipeMessage) -> Result<PipeAnswer, CallError> {
        let mut answer = PipeAnswer::default();
        self.pipe_chunk(pipe_id, message, message.payload.clone(), &mut |text| {
            answer.output.push_str(text)
        })
        .map(|end| {
            if let PipeEnd::Logged(lines) = end {
                answer.lines = lines;
            }
            answer
        })
    }

    /// Sends one chunk of a pipe (`payload`), hands every output of the pipe's plugins to
    /// `output` as it arrives, and returns once the pipe is let go (with the lines the session
    /// logged instead, which end the pipe as they end `zellij pipe`).
    pub fn pipe_chunk(
        &mut self,
        pipe_id: &str,
        message: &PipeMessage,
        payload: Option<String>,
        output: &mut dyn FnMut(&str),
    ) -> Result<PipeEnd, CallError> {
        let result = self.pipe_chunk_once(pipe_id, message, payload, output);
        self.forget_on_failure(&result);
        result
    }

    /// Sends the empty message that ends a pipe whose input ran out, without waiting: as
    /// `zellij pipe` does, the plugins learn the input is over.
    pub fn send_pipe_end(&mut self, pipe_id: &str, message: &PipeMessage) -> Result<(), CallError> {
        let what = format!("the end of the pipe '{pipe_id}'");
        let (session, pane_id) = (self.session.clone(), self.pane_id);
        let client = self.client()?;
        let sent = send(
            client,
            message.action(pipe_id, None),
            pane_id,
            &session,
            &what,
        );
        self.forget_on_failure(&sent);
        sent
    }

    /// A connection whose call failed may still deliver that call's late answer: the next
    /// call gets a fresh one.
    fn forget_on_failure<T>(&mut self, result: &Result<T, CallError>) {
        if matches!(result, Err(e) if !matches!(e, CallError::Refused(_))) {
            self.client = None;
        }
    }

    fn pipe_chunk_once(
        &mut self,
        pipe_id: &str,
        message: &PipeMessage,
        payload: Option<String>,
        output: &mut dyn FnMut(&str),
    ) -> Result<PipeEnd, CallError> {
        let what = format!(
            "the pipe '{}'",
            message
                .name
                .as_deref()
                .or(message.plugin.as_deref())
                .unwrap_or(pipe_id)
        );
        let deadline = self.deadline;
        let session = self.session.clone();
        let pane_id = self.pane_id;
        let client = self.client()?;
        send(
            client,
            message.action(pipe_id, payload),
            pane_id,
            &session,
            &what,
        )?;
        let until = Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let msg = client.recv(left).map_err(|e| match e {
                SessionClientError::Timeout(_) => CallError::Timeout {
                    session: session.clone(),
                    what: what.clone(),
                    waited: deadline,
                    may_have_taken_effect: true,
                },
                _ => CallError::Unknown {
                    session: session.clone(),
                    what: what.clone(),
                },
            })?;
            match msg {
                ServerToClientMsg::UnblockCliPipeInput { pipe_name } if pipe_name == pipe_id => {
                    return Ok(PipeEnd::LetGo)
                }
                ServerToClientMsg::CliPipeOutput {
                    pipe_name,
                    output: text,
                } if pipe_name == pipe_id => output(&text),
                ServerToClientMsg::Log { lines } => return Ok(PipeEnd::Logged(lines)),
                ServerToClientMsg::LogError { lines } => {
                    return Err(CallError::Refused(lines.join("\n")))
                }
                ServerToClientMsg::Exit { exit_reason } => {
                    return match exit_reason {
                        ExitReason::Error(e) => Err(CallError::Refused(e)),
                        _ => Err(CallError::Unknown { session, what }),
                    }
                }
                _ => {}
            }
        }
    }

    /// Sends `action` and collects the answer: the lines logged up to the end of the action,
    /// or the exit status the session asks for.
    fn exchange(
        &mut self,
        action: Action,
        what: &str,
        may_have_taken_effect: bool,
    ) -> Result<Answer, CallError> {
        let result = self.exchange_once(action, what, may_have_taken_effect);
        self.forget_on_failure(&result);
        result
    }

    fn exchange_once(
        &mut self,
        action: Action,
        what: &str,
        may_have_taken_effect: bool,
    ) -> Result<Answer, CallError> {
        // A blocking pane answers when its command ends, which is the user's business, not
        // the session's: it is the one wait without a deadline.
        let blocking = matches!(
            &action,
            Action::NewBlockingPane {
                unblock_condition: Some(_),
                ..
            }
        );
        let deadline = self.deadline;
        let session = self.session.clone();
        let pane_id = self.pane_id;
        let client = self.client()?;
        send(client, action, pane_id, &session, what)?;
        let until = Instant::now() + deadline;
        let mut answer = Answer::default();
        let closed = || CallError::Closed {
            session: session.clone(),
            what: what.to_owned(),
        };
        loop {
            let received = if blocking {
                client
                    .recv_or_wake(Duration::from_secs(3600))
                    .and_then(|r| match r {
                        crate::Received::Message(msg) => Ok(msg),
                        crate::Received::Woken => Err(SessionClientError::Timeout(Duration::ZERO)),
                    })
            } else {
                client.recv(until.saturating_duration_since(Instant::now()))
            };
            let msg = match received {
                Ok(msg) => msg,
                Err(SessionClientError::Timeout(_)) if blocking => continue,
                Err(SessionClientError::Timeout(_)) => {
                    return Err(CallError::Timeout {
                        session: session.clone(),
                        what: what.to_owned(),
                        waited: deadline,
                        may_have_taken_effect,
                    })
                }
                Err(_) => return Err(closed()),
            };
            match msg {
                ServerToClientMsg::UnblockInputThread if !blocking => return Ok(answer),
                ServerToClientMsg::Log { lines } => answer.lines.extend(lines),
                ServerToClientMsg::LogError { lines } => {
                    return Err(CallError::Refused(lines.join("\n")))
                }
                ServerToClientMsg::Exit { exit_reason } => {
                    return match exit_reason {
                        ExitReason::Error(e) => Err(CallError::Refused(e)),
                        ExitReason::CustomExitStatus(status) => {
                            answer.exit_status = Some(status);
                            Ok(answer)
                        }
                        // Ends the blocking pane's wait, or says the session is going.
                        _ if blocking => Ok(answer),
                        _ => Err(closed()),
                    };
                }
                _ => {}
            }
        }
    }
}

fn send(
    client: &mut SessionClient,
    action: Action,
    pane_id: Option<u32>,
    session: &str,
    what: &str,
) -> Result<(), CallError> {
    client
        .sender
        .send_client_msg(ClientToServerMsg::Action {
            action,
            terminal_id: pane_id,
            client_id: None,
            is_cli_client: true,
        })
        .map_err(|_| CallError::Closed {
            session: session.to_owned(),
            what: what.to_owned(),
        })
}

/// How an action is named in messages: `list-panes`, `new-pane`, ...
fn describe(action: &Action) -> String {
    let debug = format!("{action:?}");
    let variant = debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    let mut name = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('-');
        }
        name.push(c.to_ascii_lowercase());
    }
    format!("'{name}'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zellij_utils::ipc::IpcSenderWithContext;

    #[test]
    fn deadlines_are_read_in_seconds_and_checked() {
        assert_eq!(deadline_from(None).unwrap(), DEFAULT_DEADLINE);
        assert_eq!(
            deadline_from(Some("2.5")).unwrap(),
            Duration::from_millis(2500)
        );
        for bad in ["0", "-1", "ten", "", "1e9"] {
            let err = deadline_from(Some(bad)).unwrap_err();
            assert!(err.contains(DEADLINE_ENV), "{bad}: {err}");
        }
    }

    #[test]
    fn queries_and_effects_are_told_apart() {
        assert_eq!(kind_of(&Action::DumpLayout), CallKind::Query);
        assert_eq!(kind_of(&Action::ListClients), CallKind::Query);
        assert_eq!(kind_of(&Action::CloseFocus), CallKind::Effect);
        let pipe = PipeMessage::named("zdrive::log", BTreeMap::new(), Some("x".into()));
        assert_eq!(kind_of(&pipe.action("p", None)), CallKind::Effect);
    }

    #[test]
    fn actions_are_named_as_the_command_line_names_them() {
        assert_eq!(describe(&Action::DumpLayout), "'dump-layout'");
        assert_eq!(describe(&Action::ListClients), "'list-clients'");
    }

    #[test]
    fn errors_say_what_to_do_and_map_to_exit_codes() {
        let timeout = CallError::Timeout {
            session: "s".into(),
            what: "'list-panes'".into(),
            waited: Duration::from_secs(10),
            may_have_taken_effect: false,
        };
        assert_eq!(timeout.exit_code(), 3);
        let text = timeout.to_string();
        assert!(
            text.contains("perth status") && text.contains(DEADLINE_ENV),
            "{text}"
        );
        assert!(!text.contains("may or may not"));
        let unknown = CallError::Unknown {
            session: "s".into(),
            what: "'new-pane'".into(),
        };
        assert!(unknown
            .to_string()
            .contains("may or may not have taken effect"));
        assert_eq!(CallError::Refused("no".into()).exit_code(), 2);
    }

    /// A session socket whose server plays `script` for each connection it accepts, in
    /// turn: the function gets the connection's first message and the sender back.
    type Script =
        Box<dyn FnOnce(ClientToServerMsg, &mut IpcSenderWithContext<ServerToClientMsg>) + Send>;

    struct FakeSession {
        _dir: tempfile::TempDir,
        socket: PathBuf,
        received: std::sync::mpsc::Receiver<ClientToServerMsg>,
    }

    fn fake_session(scripts: Vec<Script>) -> FakeSession {
        use interprocess::local_socket::traits::Listener as _;
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s");
        let listener = zellij_utils::consts::ipc_bind(&socket).unwrap();
        let (tx, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for script in scripts {
                let stream = listener.accept().unwrap();
                let mut sender = IpcSenderWithContext::<ServerToClientMsg>::new(stream);
                let mut receiver = sender.get_receiver::<ClientToServerMsg>();
                let Some((first, _)) = receiver.recv_client_msg() else {
                    return;
                };
                let _ = tx.send(first.clone());
                script(first, &mut sender);
                // Keep the connection until the client goes, unless the script closed it.
                std::thread::spawn(move || while receiver.recv_client_msg().is_some() {});
            }
            std::thread::sleep(Duration::from_secs(30));
        });
        FakeSession {
            _dir: dir,
            socket,
            received,
        }
    }

    fn listing(lines: &[&str]) -> Script {
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        Box::new(move |_, sender| {
            let _ = sender.send_server_msg(ServerToClientMsg::Log { lines });
            let _ = sender.send_server_msg(ServerToClientMsg::UnblockInputThread);
        })
    }

    /// Closes the connection without answering.
    fn hang_up() -> Script {
        Box::new(|_, sender| {
            let _ = sender.send_server_msg(ServerToClientMsg::Exit {
                exit_reason: ExitReason::Normal,
            });
        })
    }

    fn silence() -> Script {
        Box::new(|_, _| std::thread::sleep(Duration::from_secs(30)))
    }

    fn answering(msg: ServerToClientMsg) -> Script {
        Box::new(move |_, sender| {
            let _ = sender.send_server_msg(msg);
        })
    }

    #[test]
    fn probes_tell_running_wedged_and_gone_sessions_apart() {
        let alive = fake_session(vec![answering(ServerToClientMsg::Connected)]);
        let wedged = fake_session(vec![silence()]);
        let deadline = Duration::from_millis(300);
        let started = Instant::now();
        assert_eq!(probe(&alive.socket, deadline), Liveness::Alive);
        assert_eq!(probe(&wedged.socket, deadline), Liveness::Unanswered);
        assert!(started.elapsed() < deadline * 5);
        assert_eq!(
            probe(&alive.socket.with_file_name("none"), deadline),
            Liveness::Gone
        );
        assert!(matches!(
            alive.received.try_recv(),
            Ok(ClientToServerMsg::ConnStatus)
        ));
        // A probe says no goodbye: the session's next message from it is none.
        assert!(alive
            .received
            .recv_timeout(Duration::from_millis(100))
            .is_err());
    }

    #[test]
    fn sessions_lists_the_sockets_of_a_folder_probed_together() {
        use interprocess::local_socket::traits::Listener as _;
        let dir = tempfile::tempdir().unwrap();
        let wedged: Vec<_> = ["b", "a"]
            .iter()
            .map(|name| {
                let listener = zellij_utils::consts::ipc_bind(&dir.path().join(name)).unwrap();
                std::thread::spawn(move || {
                    let _held = listener.accept();
                    std::thread::sleep(Duration::from_secs(30));
                })
            })
            .collect();
        std::fs::write(dir.path().join("not-a-socket"), "").unwrap();
        let deadline = Duration::from_millis(300);
        let started = Instant::now();
        let found = sessions(dir.path(), deadline);
        assert!(started.elapsed() < deadline * 3, "{:?}", started.elapsed());
        assert_eq!(
            found,
            vec![
                ("a".to_string(), Liveness::Unanswered),
                ("b".to_string(), Liveness::Unanswered)
            ]
        );
        drop(wedged);
    }

    #[test]
    fn a_silent_session_fails_the_call_at_its_deadline() {
        let fake = fake_session(vec![silence()]);
        let deadline = Duration::from_millis(300);
        let mut caller = Caller::new("wedged", &fake.socket, deadline);
        let started = Instant::now();
        let err = caller.call(Action::ListClients).unwrap_err();
        let took = started.elapsed();
        assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
        assert!(took >= deadline && took < deadline * 10, "{took:?}");
        assert_eq!(err.exit_code(), EXIT_UNAVAILABLE);
        assert!(err.to_string().contains("'list-clients'"), "{err}");
    }

    #[test]
    fn a_query_is_asked_again_once_when_the_session_hangs_up() {
        let fake = fake_session(vec![hang_up(), listing(&["one"])]);
        let mut caller = Caller::new("s", &fake.socket, Duration::from_secs(5));
        let answer = caller.call(Action::ListClients).unwrap();
        assert_eq!(answer.lines, vec!["one".to_string()]);
        assert_eq!(fake.received.try_iter().count(), 2);
    }

    #[test]
    fn a_query_the_session_hangs_up_on_twice_is_reported() {
        let fake = fake_session(vec![hang_up(), hang_up(), listing(&["late"])]);
        let mut caller = Caller::new("s", &fake.socket, Duration::from_secs(5));
        let err = caller.call(Action::ListClients).unwrap_err();
        assert!(matches!(err, CallError::Closed { .. }), "{err:?}");
        assert_eq!(fake.received.try_iter().count(), 2);
    }

    #[test]
    fn an_effect_is_never_sent_twice() {
        let fake = fake_session(vec![hang_up(), hang_up()]);
        let mut caller = Caller::new("s", &fake.socket, Duration::from_secs(5));
        let err = caller.call(Action::CloseFocus).unwrap_err();
        assert!(matches!(err, CallError::Unknown { .. }), "{err:?}");
        assert_eq!(err.exit_code(), EXIT_UNAVAILABLE);
        // Confirmed by its effect: the confirmation may only query.
        let confirmed = caller.act_confirmed(
            Action::CloseFocus,
            |_| Ok("answered"),
            |_| Ok(Some("confirmed")),
        );
        assert_eq!(confirmed, Ok("confirmed"));
        let sent: Vec<_> = fake.received.try_iter().collect();
        assert_eq!(sent.len(), 2, "one call each, never a resend: {sent:?}");
    }

    #[test]
    fn a_pipe_collects_its_output_until_it_is_let_go() {
        let script: Script = Box::new(|first, sender| {
            let ClientToServerMsg::Action {
                action: Action::CliPipe { pipe_id, .. },
                ..
            } = first
            else {
                panic!("not a pipe: {first:?}");
            };
            // Another pipe's messages are not this caller's.
            for (pipe_name, output) in [
                ("other", "no"),
                (pipe_id.as_str(), "a"),
                (pipe_id.as_str(), "b"),
            ] {
                let _ = sender.send_server_msg(ServerToClientMsg::CliPipeOutput {
                    pipe_name: pipe_name.to_owned(),
                    output: output.to_owned(),
                });
            }
            let _ = sender.send_server_msg(ServerToClientMsg::UnblockCliPipeInput {
                pipe_name: "other".into(),
            });
            let _ = sender
                .send_server_msg(ServerToClientMsg::UnblockCliPipeInput { pipe_name: pipe_id });
        });
        let fake = fake_session(vec![script]);
        let mut caller = Caller::new("s", &fake.socket, Duration::from_secs(5));
        let message = PipeMessage::named("x", BTreeMap::new(), Some("hi".into()));
        let answer = caller.pipe("p1", &message).unwrap();
        assert_eq!(answer.output, "ab");
    }

    #[test]
    fn a_pipe_no_plugin_answers_fails_at_its_deadline_as_maybe_taken() {
        let fake = fake_session(vec![silence()]);
        let mut caller = Caller::new("s", &fake.socket, Duration::from_millis(200));
        let message = PipeMessage::named("x", BTreeMap::new(), None);
        let err = caller.pipe("p1", &message).unwrap_err();
        assert!(err.to_string().contains("may or may not"), "{err}");
        assert!(err.to_string().contains("the pipe 'x'"), "{err}");
    }

    #[test]
    fn commands_are_killed_at_their_deadline() {
        let out = command_output(
            std::process::Command::new("sh").args(["-c", "echo hi; echo err >&2"]),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"hi\n"[..], &b"err\n"[..])
        );
        let started = Instant::now();
        let err = command_output(
            std::process::Command::new("sleep").arg("30"),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn an_unreachable_session_is_reported_at_once() {
        let dir = std::env::temp_dir().join(format!("perth-call-{}", std::process::id()));
        let mut caller = Caller::new("gone", &dir.join("gone"), Duration::from_secs(1));
        let started = Instant::now();
        let err = caller.call(Action::ListClients).unwrap_err();
        assert!(matches!(err, CallError::Unreachable { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(err.exit_code(), 3);
    }
}
