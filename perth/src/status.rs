//! The JSON that `perth status` prints: one section per server extension, each saying whether
//! it is alive and what it has seen.

use serde::{Deserialize, Serialize};

/// The state of a running perth session's extensions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PerthStatus {
    pub session: String,
    pub perth_version: String,
    pub zellij_version: String,
    pub server_pid: u32,
    pub uptime_ms: u64,
    pub os_api: OsApiStatus,
    pub ipc_client: IpcClientStatus,
    pub perth_core: PerthCoreStatus,
    /// host-bridge, the per-user sidecar this server supervises.
    pub bridge: crate::bridge::BridgeStatus,
    /// The notification bus and the animation engine.
    #[serde(default)]
    pub notifications: crate::notify::engine::NotifyStatus,
    /// Session persistence: backend, last successful flush, pending changes, last error.
    #[serde(default)]
    pub persistence: PersistenceStatus,
}

/// perth's `ServerOsApi` wrapper: every PTY and every message to clients passes through it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OsApiStatus {
    pub installed: bool,
    pub terminals_spawned: u64,
    pub pty_bytes_seen: u64,
    pub renders_sent: u64,
    pub clients_connected: u64,
    /// Messages Zellij addressed to a connection they were not meant for, which perth kept
    /// back (zellij #5270: another client's pipe answers, a previous owner's messages).
    #[serde(default)]
    pub messages_rerouted: u64,
}

/// The in-process client of the session's own IPC socket.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct IpcClientStatus {
    pub connected: bool,
    /// Panes reported by `list-panes --json` through the socket.
    pub panes_seen: usize,
    pub tabs_seen: usize,
    pub query_ms: Option<f64>,
    pub error: Option<String>,
}

/// The built-in `perth-core` plugin and the long-lived pipe to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PerthCoreStatus {
    pub embedded: bool,
    pub connected: bool,
    pub protocol_version: Option<u32>,
    pub permissions_granted: Option<bool>,
    pub rtt_ms: Option<f64>,
    pub pings_answered: u64,
    /// Panes and tabs the plugin sees through Zellij's events.
    pub panes_seen: usize,
    pub tabs_seen: usize,
    pub error: Option<String>,
}

impl PerthStatus {
    /// Returns whether every extension is alive.
    pub fn healthy(&self) -> bool {
        self.os_api.installed && self.ipc_client.connected && self.perth_core.connected
    }
}

/// What `perth status` shows about persistence.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PersistenceStatus {
    /// Whether persistence is on (`persistence { enabled false }` turns it off).
    pub enabled: bool,
    /// `postgres` or `sqlite`.
    pub backend: Option<String>,
    /// Where the database is, without credentials.
    pub location: Option<String>,
    /// `off`, `connecting`, `ok` or `unavailable`.
    pub state: String,
    /// When the last flush succeeded (Unix milliseconds).
    pub last_flush_at: Option<u64>,
    /// How long the last successful flush took.
    pub last_flush_ms: Option<f64>,
    /// Successful flushes since the server started.
    pub flushes: u64,
    /// Changes seen since the last successful flush.
    pub pending_changes: u64,
    /// Rows written by the last flush (tabs + panes).
    pub last_rows_written: u64,
    /// The last error, kept until a flush succeeds.
    pub last_error: Option<String>,
    /// How the connection to the database is secured (`TLS, verified (CA and host name)`,
    /// `plain text (not encrypted)`), once connected.
    #[serde(default)]
    pub connection: Option<String>,
    /// Whether the connection to the database is encrypted, once connected.
    #[serde(default)]
    pub encrypted: Option<bool>,
    /// What the server's certificate was checked for, once connected: `none`, `ca` (its chain
    /// only) or `ca_and_host` (its chain and the host name).
    #[serde(default)]
    pub verified: Option<String>,
}
