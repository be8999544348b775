//! What each protocol request does: one function from a decoded request to a response or an error.

use crate::unix_millis;
use bridge_protocol::{
    BridgeStatus, ErrorBody, ErrorKind, Request, Response, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The product version the daemon reports in handshakes and status.
pub const SERVER_VERSION: &str = store::PRODUCT_VERSION;

/// Caps an echo's delay; the per-request timeout normally cuts it shorter.
const MAX_ECHO_DELAY: Duration = Duration::from_secs(600);

/// The outboxes being published and how each connection is secured, as `status` shows them.
pub type OutboxLinks = std::sync::Arc<std::sync::Mutex<Vec<bridge_protocol::OutboxLink>>>;

/// Holds what requests can see of the daemon.
#[derive(Debug)]
pub struct Daemon {
    /// The daemon's process id.
    pub pid: u32,
    /// The base URL it listens on.
    pub url: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: u64,
    /// When it started, on the monotonic clock (for uptime).
    pub started: Instant,
    /// How many RPC requests are being handled.
    pub in_flight: AtomicU32,
    /// How many requests [`handle`] has been given.
    pub requests_handled: AtomicU64,
    /// Zellij's socket folder, where pushed events find the running sessions.
    pub session_dir: Option<std::path::PathBuf>,
    /// Answers of recent keyed requests (`zdrive_log`, `zdrive_snapshot`, `imi_*`).
    pub recent: std::sync::Mutex<crate::keyed::RecentAnswers>,
    /// The thread that carries out `zdrive_log` with zdrive's engine kept open.
    pub zdrive: crate::zdrive_engine::EngineThread,
    /// The outboxes published, as each pump opened its database.
    pub outboxes: OutboxLinks,
}

impl Daemon {
    /// Describes the daemon for a `status` request.
    pub fn status(&self) -> BridgeStatus {
        BridgeStatus {
            pid: self.pid,
            url: self.url.clone(),
            started_at: self.started_at,
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            protocol_version: PROTOCOL_VERSION,
            server_version: SERVER_VERSION.to_owned(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            requests_handled: self.requests_handled.load(Ordering::Relaxed),
            outboxes: self
                .outboxes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// Carries out one request.
pub async fn handle(daemon: &Daemon, request: Request) -> Result<Response, ErrorBody> {
    daemon.requests_handled.fetch_add(1, Ordering::Relaxed);
    match request {
        Request::Hello {
            protocol_version,
            client,
        } => hello(protocol_version, &client),
        Request::Ping => Ok(Response::Pong {
            server_time: unix_millis(),
        }),
        Request::Echo { text, delay_ms } => {
            if let Some(ms) = delay_ms {
                tokio::time::sleep(Duration::from_millis(ms).min(MAX_ECHO_DELAY)).await;
            }
            Ok(Response::Echo { text })
        }
        Request::Status => Ok(Response::Status(daemon.status())),
        Request::PushEvent { topic, data } => {
            let Some(dir) = daemon.session_dir.clone() else {
                return Err(ErrorBody::new(
                    ErrorKind::Unavailable,
                    "this host-bridge does not know where sessions live",
                ));
            };
            let event = bridge_protocol::PushedEvent { topic, data };
            match tokio::task::spawn_blocking(move || crate::push::push_to_sessions(&dir, &event))
                .await
            {
                Ok(sessions) => Ok(Response::Pushed { sessions }),
                Err(e) => Err(ErrorBody::new(ErrorKind::Internal, e.to_string())),
            }
        }
        Request::ZdriveLog {
            pane,
            summary,
            entry_type,
            source,
            artifacts,
            key,
        } => {
            let args = crate::zdrive_log::LogArgs {
                pane,
                summary,
                entry_type,
                source,
                artifacts,
            };
            crate::zdrive_log::handle(&daemon.recent, &daemon.zdrive, args, key).await
        }
        Request::ZdriveSnapshots {
            pane,
            session,
            pane_id,
            last,
        } => {
            let args = crate::zdrive_snapshot::SnapshotsArgs {
                pane,
                session,
                pane_id,
                last,
            };
            crate::zdrive_snapshot::snapshots(args).await
        }
        Request::ZdriveSnapshot { pane, force, key } => {
            crate::zdrive_snapshot::snapshot(&daemon.recent, pane, force, key).await
        }
        Request::ZdriveConsent { grant } => crate::zdrive_snapshot::consent(grant).await,
        request @ (Request::ImiStatus { .. }
        | Request::ImiAdd { .. }
        | Request::ImiReview { .. }
        | Request::ImiRemove { .. }
        | Request::ImiOpen { .. }) => {
            crate::worktrees::handle(&daemon.recent, daemon.session_dir.clone(), request).await
        }
        request @ (Request::ZdrivePane { .. }
        | Request::ZdriveRename { .. }
        | Request::ZdriveTag { .. }
        | Request::ZdriveTrack { .. }) => {
            crate::zdrive_pane::handle(daemon.session_dir.clone(), request).await
        }
    }
}

fn hello(protocol_version: u32, client: &str) -> Result<Response, ErrorBody> {
    if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&protocol_version) {
        tracing::info!(client, protocol_version, "client said hello");
        return Ok(Response::HelloOk {
            protocol_version: PROTOCOL_VERSION,
            server_version: SERVER_VERSION.to_owned(),
        });
    }
    tracing::warn!(
        client,
        protocol_version,
        "client speaks an unsupported protocol version"
    );
    let newer = if protocol_version > PROTOCOL_VERSION {
        "host-bridge"
    } else {
        "the client"
    };
    Err(ErrorBody::new(
        ErrorKind::VersionMismatch,
        format!(
            "client `{client}` speaks protocol {protocol_version}; host-bridge {SERVER_VERSION} serves protocols {MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}"
        ),
    )
    .with_hint(format!("upgrade {newer} so that both speak the same protocol")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon() -> Daemon {
        Daemon {
            pid: 7,
            url: "http://127.0.0.1:1".into(),
            started_at: 5,
            started: Instant::now(),
            in_flight: AtomicU32::new(1),
            requests_handled: AtomicU64::new(0),
            session_dir: None,
            recent: Default::default(),
            zdrive: crate::zdrive_engine::EngineThread::start().unwrap(),
            outboxes: Default::default(),
        }
    }

    fn run(request: Request) -> Result<Response, ErrorBody> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(handle(&daemon(), request))
    }

    #[test]
    fn hello_accepts_the_current_version() {
        let response = run(Request::Hello {
            protocol_version: PROTOCOL_VERSION,
            client: "t".into(),
        });
        assert_eq!(
            response,
            Ok(Response::HelloOk {
                protocol_version: PROTOCOL_VERSION,
                server_version: SERVER_VERSION.into()
            })
        );
    }

    #[test]
    fn hello_refuses_a_newer_client_and_says_what_to_upgrade() {
        let error = run(Request::Hello {
            protocol_version: 99,
            client: "t".into(),
        })
        .unwrap_err();
        assert_eq!(error.kind, ErrorKind::VersionMismatch);
        assert!(error.message.contains("speaks protocol 99"), "{error}");
        assert_eq!(
            error.hint.as_deref(),
            Some("upgrade host-bridge so that both speak the same protocol")
        );
        // Protocol 4 read iMi's status under other names (`project`, `ahead_of_trunk`).
        let error = run(Request::Hello {
            protocol_version: 4,
            client: "t".into(),
        })
        .unwrap_err();
        assert_eq!(
            error.hint.as_deref(),
            Some("upgrade the client so that both speak the same protocol")
        );
    }

    #[test]
    fn echo_and_status_answer() {
        assert_eq!(
            run(Request::Echo {
                text: "x".into(),
                delay_ms: Some(1)
            }),
            Ok(Response::Echo { text: "x".into() })
        );
        let Ok(Response::Status(status)) = run(Request::Status) else {
            panic!("status expected")
        };
        assert_eq!(
            (
                status.pid,
                status.started_at,
                status.in_flight,
                status.requests_handled
            ),
            (7, 5, 1, 1)
        );
        assert!(
            matches!(run(Request::Ping), Ok(Response::Pong { server_time }) if server_time > 0)
        );
    }
}
