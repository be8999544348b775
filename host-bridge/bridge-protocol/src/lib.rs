//! The wire protocol between host-bridge and its clients: request and response envelopes, errors as data, no I/O.
//!
//! A client sends one [`RequestEnvelope`] as the JSON body of `POST /v1/rpc` and gets one
//! [`ResponseEnvelope`] back. The first exchange is a [`Request::Hello`] handshake that checks
//! the protocol version; HTTP carries no session, so the server does not enforce the order, but
//! every client is expected to say hello before anything else and to stop on `version_mismatch`.
//!
//! Compatibility rule: a server speaking protocol `N` serves clients speaking any version in
//! `MIN_PROTOCOL_VERSION..=N`. New requests, responses and optional fields are added with a
//! version bump and a `Since protocol N.` line on the variant; nothing is removed or renamed
//! without raising [`MIN_PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// The oldest client protocol version a server built from this crate still serves.
///
/// Protocol 5 renamed fields of [`Response::ImiStatus`]'s `status` (iMi's status in the
/// specification's shape), which a client of protocol 4 or older would misread.
pub const MIN_PROTOCOL_VERSION: u32 = 5;

/// Serde's default for a flag that is true unless a client says otherwise.
fn yes() -> bool {
    true
}

/// Leaves a flag out of the JSON when it has its default, true.
fn is_yes(flag: &bool) -> bool {
    *flag
}

/// The HTTP path of the request/response endpoint (`POST`, bearer token required).
pub const RPC_PATH: &str = "/v1/rpc";

/// The HTTP path of the liveness endpoint (`GET`, no token, answers `{"ok":true}`).
pub const HEALTH_PATH: &str = "/v1/health";

/// How long a server lets a request that waits on an LLM run by default (see
/// [`Request::waits_on_llm`]); every other request gets its ordinary timeout (30 s). A provider
/// attempt is bounded at 60 s and retried, so three minutes covers a slow answer. Clients wait a
/// little longer than this, so that the server's `timeout` error reaches them.
pub const LLM_REQUEST_TIMEOUT_MS: u64 = 180_000;

/// Identifies a request; the response carries the same id so clients can match them up.
pub type RequestId = u64;

/// Wraps one request with the id its response will carry.
///
/// Wire form: `{"id":7,"body":{"type":"ping"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEnvelope {
    /// Chosen by the client; echoed in the response.
    pub id: RequestId,
    /// What the client asks for.
    pub body: Request,
}

/// Asks host-bridge to do one thing. Tagged by `type`, in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Opens a conversation: the server answers [`Response::HelloOk`] or a `version_mismatch` error.
    ///
    /// Since protocol 1.
    Hello {
        /// The protocol version the client speaks.
        protocol_version: u32,
        /// Who is calling, for the logs (e.g. `perth-core 0.1.0`).
        client: String,
    },
    /// Checks that the server answers; the reply is [`Response::Pong`].
    ///
    /// Since protocol 1.
    Ping,
    /// Sends `text` back unchanged, after `delay_ms` if given; used by end-to-end tests and benchmarks.
    ///
    /// The delay lets tests hold a request in flight (shutdown, timeouts, concurrency limits);
    /// it is bounded by the server's per-request timeout.
    ///
    /// Since protocol 1.
    Echo {
        /// The text to send back.
        text: String,
        /// How long the server waits before answering, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delay_ms: Option<u64>,
    },
    /// Asks for the daemon's state; the reply is [`Response::Status`].
    ///
    /// Since protocol 1.
    Status,
    /// Delivers an event to the plugins of every running session, as a `host-bridge::event`
    /// pipe message carrying a [`PushedEvent`]; the reply is [`Response::Pushed`].
    ///
    /// Since protocol 1.
    PushEvent {
        /// The topic, a Bloodbank routing key such as `workspace.worktree.created`.
        topic: String,
        /// The event's data.
        #[serde(default)]
        data: serde_json::Value,
    },
    /// Appends an intent entry to a zdrive pane's log, as `zdrive pane log` does (same
    /// configuration, store, outbox and checks); the reply is [`Response::ZdriveLogged`].
    ///
    /// `key` makes the request idempotent: a request whose key host-bridge has seen recently
    /// logs nothing and gets the first one's answer with `first: false`. Every client of a
    /// session receives a broadcast pipe, so each plugin instance sends it; the key (the CLI
    /// pipe's id) keeps that one entry.
    ///
    /// Since protocol 2.
    ZdriveLog {
        /// The pane name zdrive tracks.
        pane: String,
        /// What happened (at most 4 KB).
        summary: String,
        /// `checkpoint` (the default), `milestone` or `exploration`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry_type: Option<String>,
        /// `human` (the default) or `agent`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
        /// Files the entry refers to.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        artifacts: Vec<String>,
        /// Makes repeats of one request log once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Asks for the stored snapshots of a zdrive pane, newest first, with the LLM settings and
    /// the consent they would be made under; the reply is [`Response::ZdriveSnapshots`].
    ///
    /// The pane is named by `pane`, or found among the tracked panes by where it lives
    /// (`session` and `pane_id`): a plugin knows the focused pane's id, not its zdrive name.
    /// A pane zdrive does not track is not an error: the reply has no `pane_name`.
    ///
    /// Since protocol 3.
    ZdriveSnapshots {
        /// The pane name zdrive tracks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane: Option<String>,
        /// The session the pane lives in (with `pane_id`, when `pane` is not given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The pane's id in that session (`terminal_3`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane_id: Option<String>,
        /// How many snapshots at most (zdrive keeps the last 20).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last: Option<u32>,
    },
    /// Makes a snapshot of a zdrive pane, as `zdrive pane snapshot` does: its redacted context
    /// goes to the configured LLM (only with consent) and the summary is stored; the reply is
    /// [`Response::ZdriveSnapshotted`]. It can take a minute: the server gives it a longer
    /// bound than other requests.
    ///
    /// `key` works as for [`Request::ZdriveLog`]: the plugin instances of every client of a
    /// session receive a `zdrive::snapshot` pipe, and its key makes them ask the LLM once.
    ///
    /// Since protocol 3.
    ZdriveSnapshot {
        /// The pane name zdrive tracks.
        pane: String,
        /// Asks the LLM even when the context has not changed since the last snapshot.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
        /// Makes repeats of one request run once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Grants or revokes the consent to send redacted pane context to an LLM, as
    /// `zdrive config consent --grant|--revoke` does (zdrive's configuration file, 0600); the
    /// reply is [`Response::ZdriveConsent`].
    ///
    /// Since protocol 3.
    ZdriveConsent {
        /// True grants, false revokes.
        grant: bool,
    },
    /// Reads trunk and every worktree of an iMi project, as `iMi status --json` does; the reply
    /// is [`Response::ImiStatus`].
    ///
    /// `key` works as for [`Request::ZdriveLog`]: every client's perth-core receives an
    /// `imi::status` pipe, and the instance whose request was first answers it.
    ///
    /// Since protocol 4; `agents` since protocol 6.
    ImiStatus {
        /// A path inside the project; plugins send the session's folder (or their `cwd`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
        /// Makes repeats of one request read once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// Whether each checkout lists the agents working in it, which asks every perth
        /// session (`perth agents --all-sessions`); a client that shows none (the tab bar,
        /// every few seconds) says false. Absent means true.
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        agents: bool,
    },
    /// Creates a typed worktree, as `iMi add` does, opens its tab in `session` and has zdrive
    /// track the tab's panes; the reply is [`Response::ImiAdded`]. host-bridge then pushes
    /// `workspace.worktree.changed` to every session.
    ///
    /// Since protocol 4.
    ImiAdd {
        /// A path inside the project.
        cwd: String,
        /// The worktree type (`feat`, `fix`, `review`, `aiops`, `devops` or the user's own).
        kind: String,
        /// The worktree name (for `review`, a pull request number or URL).
        name: String,
        /// What to branch from (default: the trunk branch).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The agent that owns the worktree (default: iMi's configured one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<String>,
        /// The perth session to open the worktree's tab in; none opens no tab.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Makes repeats of one request create once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Removes a worktree as `iMi remove` does (refusing to lose uncommitted or unpushed work
    /// without `force`) and closes its tab in `session`; the reply is [`Response::ImiRemoved`],
    /// or with `dry_run` [`Response::ImiRemoveChecked`]: what would be lost, nothing changed.
    ///
    /// Since protocol 4.
    ImiRemove {
        /// A path inside the project.
        cwd: String,
        /// The worktree (`feat-x` or `x`).
        name: String,
        /// Discards uncommitted and unpushed work (and allows deleting an unmerged branch).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
        /// Deletes the local branch too (merged, or with `force`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        delete_branch: bool,
        /// Only says what removing would lose.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dry_run: bool,
        /// The perth session whose tab of the worktree is closed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Makes repeats of one request remove once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Opens the tab of a worktree (or of trunk) in `session`, or brings it to the front, as
    /// `iMi open NAME` does; the reply is [`Response::ImiOpened`].
    ///
    /// Since protocol 4.
    ImiOpen {
        /// A path inside the project.
        cwd: String,
        /// The worktree (`feat-x`, `x`, or trunk's folder name `trunk-main`).
        name: String,
        /// The perth session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Makes repeats of one request open one tab.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Checks a pull request out into a `review` worktree, as `iMi review N` does (its title,
    /// author and URL from GitHub with host-bridge's `GITHUB_TOKEN`), and opens its tab; the
    /// reply is [`Response::ImiAdded`].
    ///
    /// Since protocol 4.
    ImiReview {
        /// A path inside the project.
        cwd: String,
        /// The pull request's number.
        pr: u64,
        /// The perth session to open the worktree's tab in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Makes repeats of one request create once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Asks for a tracked zdrive pane: its record and its intent history, or its history as
    /// the LLM context markdown (`zdrive pane history --format context`); the reply is
    /// [`Response::ZdrivePane`].
    ///
    /// The pane is named by `pane`, or found among the tracked panes by where it lives
    /// (`session` and `pane_id`), as for [`Request::ZdriveSnapshots`]. A pane zdrive does not
    /// track is not an error: the reply has no `pane_name`.
    ///
    /// Since protocol 4.
    ZdrivePane {
        /// The pane's name, when the caller knows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane: Option<String>,
        /// `entries` (the default: the entries as JSON) or `context` (the markdown, with the
        /// newest snapshot's state and next steps, capped at zdrive's `context_max_bytes`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<String>,
        /// How many of the newest entries at most (all that are kept when not given); with
        /// `context`, how many its "Recent Activity" shows (5 when not given), while its time
        /// range spans every kept entry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last: Option<u32>,
        /// Where the pane lives, when `pane` is not given: its session ...
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// ... and its id there (`terminal_3`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane_id: Option<String>,
    },
    /// Renames a tracked zdrive pane, as `zdrive pane rename` does: its record, history and
    /// snapshots move to `new_name` (refused when that name is tracked), and its title in the
    /// live session follows; the reply is [`Response::ZdriveRenamed`].
    ///
    /// Since protocol 4.
    ZdriveRename {
        /// The pane name zdrive tracks.
        pane: String,
        /// The name it is to be tracked under.
        new_name: String,
    },
    /// Sets and removes metadata of a tracked zdrive pane, as `zdrive pane tag` does (values
    /// redacted, keys checked like pane names); the reply is [`Response::ZdriveTagged`].
    ///
    /// Since protocol 4.
    ZdriveTag {
        /// The pane name zdrive tracks.
        pane: String,
        /// Keys and values to set.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, String>,
        /// Keys to remove (before `set` is applied).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        remove: Vec<String>,
    },
    /// Starts tracking a live pane under `name`, as `zdrive pane NAME` does for a pane it finds
    /// (a `workspace.pane.focused` navigation); its title in the session becomes `name`. Refused
    /// when another live pane is tracked as `name` or this pane under another name. The reply
    /// is [`Response::ZdriveTracked`].
    ///
    /// Since protocol 4.
    ZdriveTrack {
        /// The session the pane lives in.
        session: String,
        /// The pane's id in that session (`terminal_3`).
        pane_id: String,
        /// The name to track it under.
        name: String,
        /// The tab it is in; looked up in the live session when not given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tab: Option<String>,
    },
}

impl Request {
    /// Lists the `type` tags of every request this crate knows, in declaration order.
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "ping",
        "echo",
        "status",
        "push_event",
        "zdrive_log",
        "zdrive_snapshots",
        "zdrive_snapshot",
        "zdrive_consent",
        "imi_status",
        "imi_add",
        "imi_remove",
        "imi_open",
        "imi_review",
        "zdrive_pane",
        "zdrive_rename",
        "zdrive_tag",
        "zdrive_track",
    ];

    /// Returns whether carrying the request out may wait on an LLM provider (and so gets
    /// [`LLM_REQUEST_TIMEOUT_MS`] instead of the ordinary timeout).
    pub fn waits_on_llm(&self) -> bool {
        matches!(self, Request::ZdriveSnapshot { .. })
    }

    /// Returns the request's `type` tag, as it appears on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Ping => "ping",
            Request::Echo { .. } => "echo",
            Request::Status => "status",
            Request::PushEvent { .. } => "push_event",
            Request::ZdriveLog { .. } => "zdrive_log",
            Request::ZdriveSnapshots { .. } => "zdrive_snapshots",
            Request::ZdriveSnapshot { .. } => "zdrive_snapshot",
            Request::ZdriveConsent { .. } => "zdrive_consent",
            Request::ImiStatus { .. } => "imi_status",
            Request::ImiAdd { .. } => "imi_add",
            Request::ImiRemove { .. } => "imi_remove",
            Request::ImiOpen { .. } => "imi_open",
            Request::ImiReview { .. } => "imi_review",
            Request::ZdrivePane { .. } => "zdrive_pane",
            Request::ZdriveRename { .. } => "zdrive_rename",
            Request::ZdriveTag { .. } => "zdrive_tag",
            Request::ZdriveTrack { .. } => "zdrive_track",
        }
    }
}

/// Answers one request with a result or an error, under the request's id.
///
/// Wire forms: `{"id":7,"result":{"type":"pong","server_time":1700000000000}}` and
/// `{"id":7,"error":{"kind":"timeout","message":"...","hint":null}}`. The id is `null` when the
/// request was too broken to read one from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseEnvelope {
    /// The id of the request this answers, if it could be read.
    pub id: Option<RequestId>,
    /// The result or the error.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl ResponseEnvelope {
    /// Returns a successful response to request `id`.
    pub fn ok(id: RequestId, response: Response) -> Self {
        Self {
            id: Some(id),
            outcome: Outcome::Ok(response),
        }
    }

    /// Returns an error response to request `id` (or to an unreadable request when `None`).
    pub fn error(id: Option<RequestId>, error: ErrorBody) -> Self {
        Self {
            id,
            outcome: Outcome::Err(error),
        }
    }

    /// Returns the outcome as a standard `Result`.
    pub fn into_result(self) -> Result<Response, ErrorBody> {
        match self.outcome {
            Outcome::Ok(response) => Ok(response),
            Outcome::Err(error) => Err(error),
        }
    }
}

/// Holds either the result of a request or why it failed; exactly one of `result` / `error` is on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The request succeeded.
    #[serde(rename = "result")]
    Ok(Response),
    /// The request failed.
    #[serde(rename = "error")]
    Err(ErrorBody),
}

/// Carries the result of a successful request. Tagged by `type`, in snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Accepts a [`Request::Hello`].
    ///
    /// Since protocol 1.
    HelloOk {
        /// The protocol version the server speaks.
        protocol_version: u32,
        /// The server's package version (e.g. `0.0.0`).
        server_version: String,
    },
    /// Answers a [`Request::Ping`].
    ///
    /// Since protocol 1.
    Pong {
        /// The server's clock, in milliseconds since the Unix epoch.
        server_time: u64,
    },
    /// Answers a [`Request::Echo`] with its text.
    ///
    /// Since protocol 1.
    Echo {
        /// The text the request carried.
        text: String,
    },
    /// Answers a [`Request::Status`].
    ///
    /// Since protocol 1.
    Status(BridgeStatus),
    /// Answers [`Request::PushEvent`]: how many sessions the event was sent to.
    ///
    /// Since protocol 1.
    Pushed {
        /// Sessions whose socket took the message.
        sessions: u32,
    },
    /// Answers [`Request::ZdriveLog`]: the stored entry and where the pane lives.
    ///
    /// Since protocol 2.
    ZdriveLogged {
        /// The pane name.
        pane_name: String,
        /// The entry as stored (zdrive's IntentEntry JSON, secrets redacted).
        entry: serde_json::Value,
        /// Entries in the pane's history after this one.
        total_entries: u64,
        /// The session the pane was last seen in, if zdrive tracks it there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The pane's id in that session (`terminal_3`), if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane_id: Option<String>,
        /// False when this is a repeat of a request with the same key (nothing was logged).
        first: bool,
    },
    /// Answers [`Request::ZdriveSnapshots`].
    ///
    /// Since protocol 3.
    ZdriveSnapshots {
        /// The pane the snapshots are of; `None` when no tracked pane matches the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane_name: Option<String>,
        /// Whether the user consented to sending pane context to an LLM.
        consent: bool,
        /// The LLM provider a new snapshot would use (`anthropic`, `openai`, `ollama`).
        provider: String,
        /// The model it would use.
        model: String,
        /// Whether the provider runs on this machine (nothing leaves it).
        local: bool,
        /// The snapshot records, newest first, as zdrive stores them (JSON objects with
        /// `timestamp`, `provider`, `model`, `summary` in markdown, ...).
        #[serde(default)]
        snapshots: Vec<serde_json::Value>,
    },
    /// Answers [`Request::ZdriveSnapshot`]: the stored snapshot.
    ///
    /// Since protocol 3.
    ZdriveSnapshotted {
        /// The pane name.
        pane_name: String,
        /// The snapshot record as stored.
        snapshot: serde_json::Value,
        /// True when the context had not changed and the last snapshot was kept (no LLM call).
        reused: bool,
        /// False when this is a repeat of a request with the same key (the LLM was asked once).
        first: bool,
    },
    /// Answers [`Request::ZdriveConsent`]: the consent as now stored.
    ///
    /// Since protocol 3.
    ZdriveConsent {
        /// Whether the user consents.
        consent: bool,
    },
    /// Answers [`Request::ImiStatus`].
    ///
    /// Since protocol 4; `status` in the specification's shape since protocol 5.
    ImiStatus {
        /// What `iMi status --json` prints as `data`: `repository`, `trunk` (`path`, `branch`,
        /// `ahead`, `behind` against its upstream, ...) and `worktrees`, each with `name`,
        /// `type`, `dirty_files`, `ahead`, `behind` (against trunk), `last_commit` (the
        /// subject line), then `branch`, `path`, `last_commit_age_seconds`, `agent_id`, ...
        status: serde_json::Value,
        /// False when this is a repeat of a request with the same key.
        first: bool,
    },
    /// Answers [`Request::ImiAdd`] and [`Request::ImiReview`].
    ///
    /// Since protocol 4.
    ImiAdded {
        /// What `iMi add --json` prints as `data`: `worktree` (`worktree_name`, `branch`,
        /// `path`, ...), `from`, and `tab` (`name`, `done`, `reason`).
        report: serde_json::Value,
        /// False when this is a repeat of a request with the same key (nothing more was made).
        first: bool,
    },
    /// Answers a [`Request::ImiRemove`] with `dry_run`.
    ///
    /// Since protocol 4.
    ImiRemoveChecked {
        /// `worktree_name`, `branch`, `uncommitted_files`, `unpushed_commits`,
        /// `branch_deleted`, and `refusal`: why removing it as asked would be refused.
        preview: serde_json::Value,
    },
    /// Answers [`Request::ImiRemove`].
    ///
    /// Since protocol 4.
    ImiRemoved {
        /// What `iMi remove --json` prints as `data`: `worktree_name`, `branch`,
        /// `discarded_files`, `branch_deleted`, and `tab`.
        report: serde_json::Value,
        /// False when this is a repeat of a request with the same key.
        first: bool,
    },
    /// Answers [`Request::ImiOpen`].
    ///
    /// Since protocol 4.
    ImiOpened {
        /// The worktree's folder name (the tab's name).
        name: String,
        /// The worktree's folder.
        path: String,
        /// `name`, `done`, `reason`: what happened to the tab.
        tab: serde_json::Value,
        /// False when this is a repeat of a request with the same key.
        first: bool,
    },
    /// Answers [`Request::ZdrivePane`].
    ///
    /// Since protocol 4.
    ZdrivePane {
        /// The pane's zdrive name; `None` when no tracked pane matches the request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pane_name: Option<String>,
        /// The pane's record as zdrive stores it (a JSON object with `session`, `tab`,
        /// `pane_id`, `stale`, `metadata`, `created_at`, `last_accessed`, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<serde_json::Value>,
        /// The newest entries, newest first, as stored (JSON objects with `timestamp`,
        /// `entry_type`, `source`, `summary`, `artifacts`); empty for the `context` format.
        #[serde(default)]
        entries: Vec<serde_json::Value>,
        /// How many entries the pane's history holds in all.
        #[serde(default)]
        total_entries: u64,
        /// The history as LLM context markdown, for the `context` format.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<String>,
    },
    /// Answers [`Request::ZdriveRename`].
    ///
    /// Since protocol 4.
    ZdriveRenamed {
        /// The pane's new name.
        pane_name: String,
        /// The name it had.
        previous_name: String,
        /// Its record under the new name.
        record: serde_json::Value,
        /// Whether its title in the live session was changed too (false when the pane is not
        /// in a running session).
        retitled: bool,
    },
    /// Answers [`Request::ZdriveTag`].
    ///
    /// Since protocol 4.
    ZdriveTagged {
        /// The pane name.
        pane_name: String,
        /// Its record with the metadata as now stored.
        record: serde_json::Value,
    },
    /// Answers [`Request::ZdriveTrack`].
    ///
    /// Since protocol 4.
    ZdriveTracked {
        /// The name the pane is tracked under.
        pane_name: String,
        /// Its record.
        record: serde_json::Value,
        /// Whether its title in the session was set to the name.
        retitled: bool,
    },
}

/// The pipe name host-bridge pushes events on (`zellij pipe --name host-bridge::event`).
pub const PUSH_PIPE_NAME: &str = "host-bridge::event";

/// The payload of a `host-bridge::event` pipe message.
///
/// Wire form: `{"topic":"workspace.worktree.created","data":{...}}`. Since protocol 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedEvent {
    /// A Bloodbank routing key.
    pub topic: String,
    /// The event's data.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Describes a running host-bridge daemon.
///
/// Since protocol 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeStatus {
    /// The daemon's process id.
    pub pid: u32,
    /// The base URL it listens on (`http://127.0.0.1:PORT`).
    pub url: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: u64,
    /// How long it has been running, in milliseconds.
    pub uptime_ms: u64,
    /// The protocol version it speaks.
    pub protocol_version: u32,
    /// Its package version.
    pub server_version: String,
    /// How many RPC requests it is handling right now, this one included.
    pub in_flight: u32,
    /// How many authorized, well-formed RPC requests it has started to carry out, this one included.
    pub requests_handled: u64,
    /// The outboxes it publishes and how each connection is secured (since protocol 1; empty
    /// from a daemon that does not say).
    #[serde(default)]
    pub outboxes: Vec<OutboxLink>,
}

/// One outbox the daemon publishes: its database and its broker, each with how the connection
/// is secured. URLs are shown with their password as `***`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxLink {
    /// Whose outbox: `imi`, `zdrive`, `perth`.
    pub outbox: String,
    /// The database, its password masked.
    pub database: String,
    /// How the database connection is secured, in words (`TLS, verified (CA and host name)`).
    pub database_connection: String,
    /// Whether the database connection is encrypted.
    pub database_encrypted: bool,
    /// What the database's certificate was checked for: `none`, `ca`, `ca_and_host`.
    pub database_verified: String,
    /// The broker, its password masked; `None` when events are not published to one.
    pub broker: Option<String>,
    /// How the broker connection is secured, in words.
    pub broker_connection: Option<String>,
    /// Whether the broker connection is encrypted.
    pub broker_encrypted: Option<bool>,
    /// What the broker's certificate is checked for: `none`, `ca`, `ca_and_host`.
    pub broker_verified: Option<String>,
}

/// Says why a request failed: a machine-readable kind, a message for people, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What class of failure this is.
    pub kind: ErrorKind,
    /// What failed and why.
    pub message: String,
    /// What the caller can do about it, when there is something to say.
    #[serde(default)]
    pub hint: Option<String>,
}

impl ErrorBody {
    /// Returns an error of `kind` with `message` and no hint.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Returns the error with `hint` attached.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorBody {}

/// Classifies a failed request. Serialized in snake case; kinds a client does not know yet read as `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The body is not a valid request envelope (bad JSON, missing or mistyped field). Since protocol 1.
    BadRequest,
    /// The bearer token is missing or wrong. Since protocol 1.
    Unauthorized,
    /// The body is larger than the server accepts. Since protocol 1.
    TooLarge,
    /// The request took longer than the server's per-request timeout. Since protocol 1.
    Timeout,
    /// The request's `type` is not one the server knows. Since protocol 1.
    UnknownRequest,
    /// Client and server speak incompatible protocol versions. Since protocol 1.
    VersionMismatch,
    /// The server is overloaded or a dependency it needs is down; retry later. Since protocol 1.
    Unavailable,
    /// The server failed in a way that is not the caller's fault. Since protocol 1.
    Internal,
    /// A kind added by a newer server; never sent, only read. Since protocol 1.
    #[serde(other)]
    Other,
}

impl ErrorKind {
    /// Returns the kind's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Timeout => "timeout",
            ErrorKind::UnknownRequest => "unknown_request",
            ErrorKind::VersionMismatch => "version_mismatch",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
            ErrorKind::Other => "other",
        }
    }

    /// Returns the HTTP status code the server answers this kind with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest | ErrorKind::UnknownRequest | ErrorKind::VersionMismatch => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::TooLarge => 413,
            ErrorKind::Timeout => 504,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal | ErrorKind::Other => 500,
        }
    }
}

/// Reports a request body that could not be decoded, with the id when one could still be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The request's id, if the body had a readable one.
    pub id: Option<RequestId>,
    /// A `bad_request` or `unknown_request` error carrying serde's message (with line and column).
    pub error: ErrorBody,
}

impl RequestEnvelope {
    /// Decodes a request body, telling an unknown request `type` apart from malformed JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        let error = match serde_json::from_slice::<RequestEnvelope>(bytes) {
            Ok(envelope) => return Ok(envelope),
            Err(error) => error,
        };
        // A second, lenient read recovers the id and the request type for a better answer.
        let loose = serde_json::from_slice::<LooseEnvelope>(bytes).ok();
        let id = loose
            .as_ref()
            .and_then(|l| l.id.as_ref())
            .and_then(serde_json::Value::as_u64);
        let unknown_type = loose
            .and_then(|l| l.body)
            .and_then(|b| b.kind)
            .filter(|kind| !Request::TYPES.contains(&kind.as_str()));
        let error = match unknown_type {
            Some(kind) => ErrorBody::new(
                ErrorKind::UnknownRequest,
                format!("unknown request type `{kind}`: {error}"),
            )
            .with_hint(format!(
                "this server speaks protocol {PROTOCOL_VERSION}; send a hello request to compare versions"
            )),
            None => ErrorBody::new(ErrorKind::BadRequest, format!("invalid request: {error}"))
                .with_hint(r#"send a JSON object like {"id":1,"body":{"type":"ping"}}"#),
        };
        Err(DecodeError { id, error })
    }
}

#[derive(Deserialize)]
struct LooseEnvelope {
    id: Option<serde_json::Value>,
    body: Option<LooseBody>,
}

#[derive(Deserialize)]
struct LooseBody {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Describes where a running host-bridge listens and how to authenticate; the content of `host-bridge.json`.
///
/// The file is written by the daemon with mode 0600 and removed when it stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// The daemon's process id.
    pub pid: u32,
    /// The loopback port it listens on.
    pub port: u16,
    /// The base URL (`http://127.0.0.1:PORT`); requests go to `{url}/v1/rpc`.
    pub url: String,
    /// The bearer token: 32 random bytes, hex-encoded.
    pub token: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: u64,
    /// The protocol version it speaks.
    pub protocol_version: u32,
}

pub mod link;
pub mod notice;
pub mod permissions;
mod plugin_sync;
pub mod text;

pub use plugin_sync::*;

#[cfg(test)]
mod tests;
