//! `status` and `stop`: finding the running daemon through its runtime file and talking to it.

use crate::exit_code;
use crate::runtime::{RuntimeDir, RuntimeError};
use bridge_protocol::{
    BridgeStatus, ErrorBody, Request, RequestEnvelope, Response, ResponseEnvelope, RuntimeInfo,
    RPC_PATH,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Reports a failure to reach or control the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("host-bridge (pid {pid}) holds the lock but does not answer at {url}: {reason}")]
    NotAnswering {
        pid: u32,
        url: String,
        reason: String,
    },
    #[error("host-bridge answered with an error: {0}")]
    Refused(#[source] ErrorBody),
    #[error("host-bridge answered a status request with something else: {0}")]
    UnexpectedResponse(String),
    #[error("cannot send SIGTERM to host-bridge (pid {pid})")]
    Signal {
        pid: u32,
        #[source]
        source: nix::Error,
    },
    #[error("host-bridge (pid {pid}) did not stop within {} s; end it with `kill -9 {pid}`", .waited.as_secs())]
    StopTimedOut { pid: u32, waited: Duration },
}

impl ControlError {
    /// Returns the process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            ControlError::NotAnswering { .. } => exit_code::UNAVAILABLE,
            ControlError::StopTimedOut { .. } | ControlError::Signal { .. } => {
                exit_code::USER_ERROR
            }
            _ => exit_code::INTERNAL,
        }
    }
}

/// Returns the runtime file of the daemon that holds the lock, or `None` when none runs.
///
/// A runtime file without a lock holder is stale (its daemon was killed) and is ignored.
pub fn running(dir: &RuntimeDir) -> Result<Option<RuntimeInfo>, ControlError> {
    let Some(info) = dir.read_info()? else {
        return Ok(None);
    };
    if !dir.is_locked()? {
        return Ok(None);
    }
    Ok(Some(info))
}

/// Sends one request to the daemon described by `info` and returns its answer.
pub fn call(
    info: &RuntimeInfo,
    request: Request,
    timeout: Duration,
) -> Result<Response, ControlError> {
    let not_answering = |reason: String| ControlError::NotAnswering {
        pid: info.pid,
        url: info.url.clone(),
        reason,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let body = serde_json::to_string(&RequestEnvelope {
        id: 1,
        body: request,
    })
    .map_err(|e| not_answering(e.to_string()))?;
    let mut response = agent
        .post(format!("{}{RPC_PATH}", info.url))
        .header("Authorization", format!("Bearer {}", info.token))
        .content_type("application/json")
        .send(body)
        .map_err(|e| not_answering(e.to_string()))?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| not_answering(e.to_string()))?;
    let envelope: ResponseEnvelope = serde_json::from_str(&text)
        .map_err(|e| ControlError::UnexpectedResponse(format!("{e}: {text}")))?;
    envelope.into_result().map_err(ControlError::Refused)
}

/// Asks the running daemon for its status; `None` when none runs.
pub fn status(dir: &RuntimeDir) -> Result<Option<BridgeStatus>, ControlError> {
    let Some(info) = running(dir)? else {
        return Ok(None);
    };
    match call(&info, Request::Status, Duration::from_secs(5))? {
        Response::Status(status) => Ok(Some(status)),
        other => Err(ControlError::UnexpectedResponse(format!("{other:?}"))),
    }
}

/// Says what `stop` found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// No daemon was running.
    NotRunning,
    /// The daemon with this pid received SIGTERM and has exited.
    Stopped { pid: u32, waited: Duration },
}

/// Sends SIGTERM to the running daemon and waits until it has released its lock, up to `deadline`.
pub fn stop(dir: &RuntimeDir, deadline: Duration) -> Result<StopOutcome, ControlError> {
    let Some(info) = running(dir)? else {
        return Ok(StopOutcome::NotRunning);
    };
    let pid = info.pid;
    let target = i32::try_from(pid).map_err(|_| ControlError::Signal {
        pid,
        source: nix::Error::EINVAL,
    })?;
    match kill(Pid::from_raw(target), Signal::SIGTERM) {
        Ok(()) => {}
        Err(nix::Error::ESRCH) => return Ok(StopOutcome::NotRunning),
        Err(source) => return Err(ControlError::Signal { pid, source }),
    }
    let started = Instant::now();
    // The lock, not the pid, tells when it is gone: an exited child of another process lingers as a zombie.
    while dir.is_locked()? {
        if started.elapsed() >= deadline {
            return Err(ControlError::StopTimedOut {
                pid,
                waited: deadline,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(StopOutcome::Stopped {
        pid,
        waited: started.elapsed(),
    })
}
