//! Where a plugin finds host-bridge: perth passes the URL and token in the plugin's
//! configuration (`bridge_url`, `bridge_token`, optional `bridge_timeout_ms`).

use std::collections::BTreeMap;
use std::time::Duration;

/// How to reach the bridge and how patient to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Bearer token from the bridge's runtime file.
    pub token: String,
    /// How long one request may take, retries included.
    pub timeout: Duration,
    /// How long to wait before retrying when the bridge refused the connection (it is
    /// probably restarting).
    pub retry_delay: Duration,
}

/// A plugin configuration that does not say how to reach the bridge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the plugin configuration has no `{0}`; perth passes it when it supervises host-bridge (is host-bridge enabled?)")]
    Missing(&'static str),
    #[error("`bridge_url` must be an http://127.0.0.1 URL, got `{0}`")]
    NotLoopback(String),
    #[error("`bridge_timeout_ms` must be a number of milliseconds, got `{0}`")]
    BadTimeout(String),
}

impl BridgeConfig {
    /// Default time a request may take, retries included.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Reads the bridge settings from a plugin's configuration map.
    pub fn from_plugin_config(config: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let url = config
            .get("bridge_url")
            .filter(|u| !u.is_empty())
            .ok_or(ConfigError::Missing("bridge_url"))?
            .trim_end_matches('/')
            .to_string();
        if !(url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:")) {
            return Err(ConfigError::NotLoopback(url));
        }
        let token = config
            .get("bridge_token")
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::Missing("bridge_token"))?
            .clone();
        let timeout = match config.get("bridge_timeout_ms") {
            Some(ms) => Duration::from_millis(
                ms.parse()
                    .map_err(|_| ConfigError::BadTimeout(ms.clone()))?,
            ),
            None => Self::DEFAULT_TIMEOUT,
        };
        Ok(BridgeConfig {
            url,
            token,
            timeout,
            retry_delay: Duration::from_millis(250),
        })
    }
}
