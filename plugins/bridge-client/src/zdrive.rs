//! The `zdrive::snapshot` pipe, shared by the plugins that answer it: scripts ask for a snapshot
//! of a zdrive pane with `zellij pipe --name zdrive::snapshot --args pane=api-server`.
//!
//! Every client's instance of a plugin receives a broadcast pipe; each sends the same request
//! keyed by the CLI pipe's id, host-bridge asks the LLM once, and only the instance whose
//! request did the work (`first`) answers on the pipe.

use std::collections::BTreeMap;
use std::time::Duration;

use bridge_protocol::{Request, Response, LLM_REQUEST_TIMEOUT_MS};

use crate::client::BridgeError;
use crate::text::inert;

/// The pipe's name.
pub const SNAPSHOT_PIPE: &str = "zdrive::snapshot";

/// Says how many entries a pane's history holds: `1 entry`, `4 entries`.
pub fn entry_count(n: u64) -> String {
    if n == 1 {
        "1 entry".to_owned()
    } else {
        format!("{n} entries")
    }
}

/// How long a plugin waits for a snapshot: longer than host-bridge lets it run, so that its
/// `timeout` error is what the user reads.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_millis(LLM_REQUEST_TIMEOUT_MS + 15_000);

/// The arguments `zdrive::snapshot` takes.
const KNOWN: [&str; 2] = ["pane", "force"];

/// A checked `zdrive::snapshot` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPipe {
    /// The zdrive pane name.
    pub pane: String,
    /// Ask the LLM even when the pane's context has not changed.
    pub force: bool,
}

impl SnapshotPipe {
    /// Returns the host-bridge request, keyed (by the CLI pipe's id) so that the instances of
    /// several clients make one snapshot.
    pub fn request(&self, key: Option<String>) -> Request {
        Request::ZdriveSnapshot {
            pane: self.pane.clone(),
            force: self.force,
            key,
        }
    }
}

/// Reads a `zdrive::snapshot` message. The name is checked again by zdrive's engine; this
/// catches what is wrong with the message itself.
pub fn parse_snapshot_pipe(args: &BTreeMap<String, String>) -> Result<SnapshotPipe, String> {
    if let Some(unknown) = args.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!(
            "unknown argument '{}'; {SNAPSHOT_PIPE} takes {}",
            inert(unknown),
            KNOWN.join(", ")
        ));
    }
    let pane = args
        .get("pane")
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            format!("{SNAPSHOT_PIPE} needs --args pane=NAME (the zdrive pane name, e.g. pane=api-server)")
        })?
        .to_owned();
    let force = match args.get("force").map(|f| f.trim()) {
        None | Some("false") | Some("no") | Some("0") => false,
        Some("true") | Some("yes") | Some("1") | Some("") => true,
        Some(other) => {
            return Err(format!(
                "force must be true or false, not '{}'",
                inert(other)
            ))
        }
    };
    Ok(SnapshotPipe { pane, force })
}

/// Returns the line a plugin writes on the CLI pipe for a finished snapshot request, or `None`
/// when another instance's request did the work and answers it.
pub fn snapshot_answer(result: &Result<Response, BridgeError>) -> Option<String> {
    match result {
        Ok(Response::ZdriveSnapshotted { first: false, .. }) => None,
        Ok(Response::ZdriveSnapshotted {
            pane_name, reused, ..
        }) => Some(format!(
            "snapshot of {} stored{}\n",
            inert(pane_name),
            if *reused {
                " (reused: the pane's context has not changed; force=true asks again)"
            } else {
                ""
            }
        )),
        Ok(other) => Some(snapshot_failure(&unexpected(other))),
        Err(e) => Some(snapshot_failure(&e.user_message())),
    }
}

/// Returns the line a plugin writes on the CLI pipe when the snapshot could not be asked for.
pub fn snapshot_failure(message: &str) -> String {
    format!("{SNAPSHOT_PIPE}: {}\n", inert(message))
}

/// Says that host-bridge answered a request with a response of another request.
pub fn unexpected(response: &Response) -> String {
    let kind = serde_json::to_value(response)
        .ok()
        .and_then(|v| v.get("type")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "an unknown response".into());
    format!("host-bridge answered with something else ({kind}); is it the same version as perth?")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bridge_protocol::{ErrorBody, ErrorKind};

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_pipe_takes_a_pane_and_force() {
        assert_eq!(
            parse_snapshot_pipe(&args(&[("pane", " api-server ")])),
            Ok(SnapshotPipe {
                pane: "api-server".into(),
                force: false
            })
        );
        let forced = parse_snapshot_pipe(&args(&[("pane", "api"), ("force", "true")])).unwrap();
        assert!(forced.force);
        assert_eq!(
            forced.request(Some("pipe-1".into())),
            Request::ZdriveSnapshot {
                pane: "api".into(),
                force: true,
                key: Some("pipe-1".into())
            }
        );
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let none = parse_snapshot_pipe(&args(&[])).unwrap_err();
        assert!(none.contains("pane=NAME"), "{none}");
        let blank = parse_snapshot_pipe(&args(&[("pane", "  ")])).unwrap_err();
        assert!(blank.contains("pane=NAME"), "{blank}");
        let unknown =
            parse_snapshot_pipe(&args(&[("pane", "a"), ("\u{1b}[2Jx", "1")])).unwrap_err();
        assert_eq!(
            unknown,
            "unknown argument '^[[2Jx'; zdrive::snapshot takes pane, force"
        );
        let force = parse_snapshot_pipe(&args(&[("pane", "a"), ("force", "maybe")])).unwrap_err();
        assert!(force.contains("true or false"), "{force}");
    }

    #[test]
    fn only_the_request_that_did_the_work_answers() {
        let done = |reused, first| {
            Ok(Response::ZdriveSnapshotted {
                pane_name: "api".into(),
                snapshot: serde_json::json!({}),
                reused,
                first,
            })
        };
        assert_eq!(
            snapshot_answer(&done(false, true)).as_deref(),
            Some("snapshot of api stored\n")
        );
        assert!(snapshot_answer(&done(true, true))
            .unwrap()
            .starts_with("snapshot of api stored (reused"));
        assert_eq!(snapshot_answer(&done(false, false)), None);
        let refused = Err(BridgeError::Refused(
            ErrorBody::new(ErrorKind::BadRequest, "no consent").with_hint("press c"),
        ));
        assert_eq!(
            snapshot_answer(&refused).as_deref(),
            Some("zdrive::snapshot: no consent (press c)\n")
        );
        let odd = Ok(Response::Pong { server_time: 1 });
        assert!(snapshot_answer(&odd).unwrap().contains("(pong)"));
    }
}
