//! zdrive's configuration file (`~/.config/zellij-driver/config.toml`, DESIGN.md D9).
//!
//! The binary finds the file and applies environment overrides; this module only reads,
//! changes and writes a given path. The file may hold passwords, so it is written 0600.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::llm::ProviderKind;
use crate::model::DEFAULT_HISTORY_CAP;
use crate::store::{KeyPrefix, DEFAULT_KEY_PREFIX};

/// Default cap of the context format, in bytes.
pub const DEFAULT_CONTEXT_MAX_BYTES: usize = 4096;

/// Default token budget of a snapshot's context.
pub const DEFAULT_CONTEXT_TOKENS: usize = 6000;

/// The `[llm]` table: which provider snapshots use and how (DESIGN.md D7).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// `anthropic` (the default), `openai` or `ollama`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderKind>,
    /// The model (default: the provider's, e.g. `claude-sonnet-4-20250514`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The API's base URL (default: the provider's public one; Ollama `http://localhost:11434`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The API key; `ANTHROPIC_API_KEY` / `OPENAI_API_KEY` override it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Longest answer, in tokens (default 1024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Bound of one provider request, in seconds (default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// Token budget of the context sent (default 6000; about 4 bytes a token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_tokens: Option<usize>,
}

impl LlmConfig {
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Returns the provider.
    pub fn provider(&self) -> ProviderKind {
        self.provider.unwrap_or_default()
    }

    /// Returns the context's token budget.
    pub fn context_tokens(&self) -> usize {
        self.context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS)
    }
}

/// The `[agents]` table: what zdrive does with perth's agent states (DESIGN.md D12).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// Whether each change of an agent's state (waiting, idle, ...) in a tracked pane becomes
    /// an entry of that pane's intent log (host-bridge writes them; default false).
    pub log_transitions: bool,
}

impl AgentsConfig {
    fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Which store zdrive uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreChoice {
    /// Redis when `redis_url` is set, else the embedded store.
    #[default]
    Auto,
    /// Redis (needs `redis_url`).
    Redis,
    /// The embedded store, even when `redis_url` is set.
    Embedded,
}

/// The configuration file's content.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `rediss://...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<String>,
    /// The CA file (PEM) that signed a `rediss://` server's certificate, when the system's
    /// trust store does not hold it (`redis-cli --cacert`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_ca_file: Option<String>,
    /// The client certificate (PEM) for a `rediss://` server that asks for one
    /// (`tls-auth-clients`; `redis-cli --cert`); with [`Config::redis_key_file`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_cert_file: Option<String>,
    /// The client certificate's private key (PEM; `redis-cli --key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_key_file: Option<String>,
    /// The prefix of every Redis key zdrive uses (default `perth:`): users sharing one server
    /// each set their own, the one their ACL user may use (`~alice:*` for `alice:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_key_prefix: Option<String>,
    /// Which store to use.
    pub store: StoreChoice,
    /// The embedded store's and the outbox's SQLite file (default: the data dir's `zdrive.db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_path: Option<String>,
    /// The AMQP URL host-bridge publishes the outbox to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amqp_url: Option<String>,
    /// Entries kept per pane (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_cap: Option<usize>,
    /// Cap of `history --format context` in bytes (default 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_max_bytes: Option<usize>,
    /// Whether the user consented to sending redacted pane context to an LLM (D7).
    pub llm_consent: bool,
    /// The LLM provider of snapshots (a TOML table, so it comes after the plain keys).
    #[serde(skip_serializing_if = "LlmConfig::is_empty")]
    pub llm: LlmConfig,
    /// What happens with agent states (a TOML table).
    #[serde(skip_serializing_if = "AgentsConfig::is_empty")]
    pub agents: AgentsConfig,
}

/// Why the configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path} is not a valid zdrive configuration: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// `config set` with an unknown key or a bad value.
    #[error("{0}")]
    Set(String),
}

/// The keys `config set` accepts.
pub const KEYS: &[&str] = &[
    "redis_url",
    "redis_ca_file",
    "redis_cert_file",
    "redis_key_file",
    "redis_key_prefix",
    "store",
    "database_path",
    "amqp_url",
    "history_cap",
    "context_max_bytes",
    "llm.provider",
    "llm.model",
    "llm.base_url",
    "llm.api_key",
    "llm.max_tokens",
    "llm.timeout_secs",
    "llm.context_tokens",
    "agents.log_transitions",
];

impl Config {
    /// Reads `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Writes the configuration to `path` with mode 0600, replacing it atomically.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Set(e.to_string()))?;
        let tmp = path.with_extension("toml.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        // An existing temporary file keeps its mode; make sure.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Sets `key` to `value` (`config set`); an empty value clears optional keys.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let number = |v: &str| -> Result<Option<usize>, ConfigError> {
            if v.is_empty() {
                return Ok(None);
            }
            match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(ConfigError::Set(format!(
                    "{key} must be a positive whole number, not {v:?}"
                ))),
            }
        };
        match key {
            "redis_url" => {
                if !(value.is_empty()
                    || value.starts_with("redis://")
                    || value.starts_with("rediss://"))
                {
                    return Err(ConfigError::Set(
                        "redis_url must start with redis:// or rediss://".into(),
                    ));
                }
                self.redis_url = opt(value);
            }
            "store" => {
                self.store = match value {
                    "auto" => StoreChoice::Auto,
                    "redis" => StoreChoice::Redis,
                    "embedded" => StoreChoice::Embedded,
                    _ => {
                        return Err(ConfigError::Set(format!(
                            "store must be auto, redis or embedded, not {value:?}"
                        )))
                    }
                }
            }
            "redis_ca_file" => self.redis_ca_file = opt(value),
            "redis_cert_file" => self.redis_cert_file = opt(value),
            "redis_key_file" => self.redis_key_file = opt(value),
            "redis_key_prefix" => {
                if !value.is_empty() {
                    KeyPrefix::new(value).map_err(|e| ConfigError::Set(e.to_string()))?;
                }
                self.redis_key_prefix = opt(value);
            }
            "database_path" => self.database_path = opt(value),
            "amqp_url" => self.amqp_url = opt(value),
            "history_cap" => self.history_cap = number(value)?,
            "context_max_bytes" => self.context_max_bytes = number(value)?,
            "llm.provider" => {
                self.llm.provider = if value.is_empty() {
                    None
                } else {
                    Some(
                        value
                            .parse()
                            .map_err(|e: crate::llm::LlmError| ConfigError::Set(e.to_string()))?,
                    )
                }
            }
            "llm.model" => self.llm.model = opt(value),
            "llm.base_url" => {
                if !(value.is_empty()
                    || value.starts_with("http://")
                    || value.starts_with("https://"))
                {
                    return Err(ConfigError::Set(
                        "llm.base_url must start with http:// or https://".into(),
                    ));
                }
                self.llm.base_url = opt(value.trim_end_matches('/'));
            }
            "llm.api_key" => self.llm.api_key = opt(value),
            "llm.max_tokens" => {
                self.llm.max_tokens = number(value)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            }
            "llm.timeout_secs" => self.llm.timeout_secs = number(value)?.map(|n| n as u64),
            "llm.context_tokens" => self.llm.context_tokens = number(value)?,
            "agents.log_transitions" => {
                self.agents.log_transitions = match value {
                    "true" => true,
                    // Empty clears the key, back to its default.
                    "false" | "" => false,
                    _ => {
                        return Err(ConfigError::Set(format!(
                            "agents.log_transitions must be true or false, not {value:?}"
                        )))
                    }
                }
            }
            _ => return Err(unknown_key(key)),
        }
        Ok(())
    }

    /// Returns how zdrive connects to Redis: deadlines, the CA file and the client certificate.
    pub fn redis_options(&self) -> Result<redis_conn::RedisOptions, ConfigError> {
        let client_cert = match (&self.redis_cert_file, &self.redis_key_file) {
            (Some(cert), Some(key)) => Some(redis_conn::ClientIdentity {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Set(
                    "redis_cert_file and redis_key_file go together: set both or neither".into(),
                ))
            }
        };
        Ok(redis_conn::RedisOptions {
            ca_file: self.redis_ca_file.as_ref().map(std::path::PathBuf::from),
            client_cert,
            ..Default::default()
        })
    }

    /// Returns the prefix of zdrive's Redis keys: `redis_key_prefix`, checked (the file may
    /// hold one `config set` would refuse), else `perth:`.
    pub fn redis_key_prefix(&self) -> Result<KeyPrefix, ConfigError> {
        match &self.redis_key_prefix {
            Some(prefix) => KeyPrefix::new(prefix).map_err(|e| ConfigError::Set(e.to_string())),
            None => Ok(KeyPrefix::default()),
        }
    }

    /// Returns the entries kept per pane.
    pub fn history_cap(&self) -> usize {
        self.history_cap.unwrap_or(DEFAULT_HISTORY_CAP)
    }

    /// Returns the context format's cap.
    pub fn context_max_bytes(&self) -> usize {
        self.context_max_bytes.unwrap_or(DEFAULT_CONTEXT_MAX_BYTES)
    }

    /// Returns the configuration as JSON with every password masked, for `config show`.
    pub fn masked(&self) -> serde_json::Value {
        let mask = |u: &Option<String>| u.as_deref().map(mask_url);
        serde_json::json!({
            "redis_url": mask(&self.redis_url),
            "redis_ca_file": self.redis_ca_file,
            "redis_cert_file": self.redis_cert_file,
            "redis_key_file": self.redis_key_file,
            "redis_key_prefix": self.redis_key_prefix.as_deref().unwrap_or(DEFAULT_KEY_PREFIX),
            "store": self.store,
            "database_path": self.database_path,
            "amqp_url": mask(&self.amqp_url),
            "history_cap": self.history_cap(),
            "context_max_bytes": self.context_max_bytes(),
            "llm_consent": self.llm_consent,
            "llm.provider": self.llm.provider().as_str(),
            "llm.model": self.llm.model,
            "llm.base_url": self.llm.base_url,
            "llm.api_key": self.llm.api_key.as_ref().map(|_| "***"),
            "llm.max_tokens": self.llm.max_tokens,
            "llm.timeout_secs": self.llm.timeout_secs,
            "llm.context_tokens": self.llm.context_tokens(),
            "agents.log_transitions": self.agents.log_transitions,
        })
    }

    /// Returns one key's value as `config show` shows it (passwords masked), or the error
    /// `config set` gives for an unknown key.
    pub fn get(&self, key: &str) -> Result<serde_json::Value, ConfigError> {
        if key == "llm_consent" {
            return Ok(self.llm_consent.into());
        }
        if !KEYS.contains(&key) {
            return Err(unknown_key(key));
        }
        Ok(self.masked()[key].clone())
    }
}

fn unknown_key(key: &str) -> ConfigError {
    ConfigError::Set(format!(
        "unknown key {key:?}; known keys: {} (consent has its own command: zdrive config consent --grant)",
        KEYS.join(", ")
    ))
}

/// Returns a URL with its password (and any secret the filter finds) masked.
pub fn mask_url(url: &str) -> String {
    let masked = redis_conn::redact_url(url);
    if masked == "<unparsable redis_url>" {
        return secret_filter::redact(url).into_owned();
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_checks_keys_and_values() {
        let mut c = Config::default();
        c.set("redis_url", "redis://:pw@127.0.0.1:6379/0").unwrap();
        c.set("history_cap", "50").unwrap();
        c.set("store", "embedded").unwrap();
        assert_eq!(c.history_cap(), 50);
        assert!(c.set("history_cap", "0").is_err());
        assert!(c.set("redis_url", "http://x").is_err());
        assert!(c
            .set("colour", "red")
            .unwrap_err()
            .to_string()
            .contains("known keys"));
        c.set("history_cap", "").unwrap();
        assert_eq!(c.history_cap(), 100);
    }

    #[test]
    fn the_key_prefix_is_perth_by_default_and_checked() {
        let mut c = Config::default();
        assert_eq!(c.redis_key_prefix().unwrap().as_str(), "perth:");
        assert_eq!(c.get("redis_key_prefix").unwrap(), "perth:");
        c.set("redis_key_prefix", "alice:").unwrap();
        assert_eq!(c.redis_key_prefix().unwrap().as_str(), "alice:");
        assert_eq!(c.masked()["redis_key_prefix"], "alice:");
        for (bad, why) in [
            ("two words:", "contains whitespace"),
            ("tab\t:", "contains whitespace"),
            ("bell\u{7}:", "contains a control character"),
            ("esc\u{1b}[0m", "contains a control character"),
            ("all*", "contains a glob character"),
            ("a?", "contains a glob character"),
        ] {
            let e = c.set("redis_key_prefix", bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("redis_key_prefix {bad:?} {why}")) && e.contains("alice:"),
                "{bad:?}: {e}"
            );
        }
        assert_eq!(
            c.redis_key_prefix().unwrap().as_str(),
            "alice:",
            "a refused value changes nothing"
        );
        // Empty clears the key, back to the default; written, read back the same.
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("redis_key_prefix = \"alice:\""), "{text}");
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);
        c.set("redis_key_prefix", "").unwrap();
        assert_eq!(c.redis_key_prefix().unwrap().as_str(), "perth:");
        // A file may hold what `config set` refuses: using it is the error.
        let c: Config = toml::from_str("redis_key_prefix = \"\"\n").unwrap();
        assert!(c
            .redis_key_prefix()
            .unwrap_err()
            .to_string()
            .starts_with("redis_key_prefix \"\" is empty"));
    }

    #[test]
    fn agent_transitions_are_logged_only_when_asked() {
        let mut c = Config::default();
        assert!(!c.agents.log_transitions, "off by default");
        assert_eq!(c.get("agents.log_transitions").unwrap(), false);
        c.set("agents.log_transitions", "true").unwrap();
        assert!(c.agents.log_transitions);
        assert_eq!(c.get("agents.log_transitions").unwrap(), true);
        assert_eq!(c.masked()["agents.log_transitions"], true);
        let e = c.set("agents.log_transitions", "yes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "agents.log_transitions must be true or false, not \"yes\""
        );
        assert!(c.agents.log_transitions, "a refused value changes nothing");
        // Written as an [agents] table, read back the same; cleared, it leaves the file.
        let text = toml::to_string_pretty(&c).unwrap();
        assert!(text.contains("[agents]\nlog_transitions = true"), "{text}");
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), c);
        c.set("agents.log_transitions", "").unwrap();
        assert!(!toml::to_string_pretty(&c).unwrap().contains("agents"));
        assert!(toml::from_str::<Config>("[agents]\nlog_transition = true\n").is_err());
    }

    #[test]
    fn get_reads_one_key_as_show_does() {
        let mut c = Config::default();
        c.set("amqp_url", "amqp://u:pw@h:5672/%2f").unwrap();
        assert_eq!(c.get("history_cap").unwrap(), 100);
        assert_eq!(c.get("llm_consent").unwrap(), false);
        assert_eq!(c.get("llm.provider").unwrap(), "anthropic");
        assert!(!c.get("amqp_url").unwrap().to_string().contains(":pw@"));
        assert!(c
            .get("colour")
            .unwrap_err()
            .to_string()
            .contains("known keys"));
    }

    #[test]
    fn show_masks_passwords() {
        let c = Config {
            redis_url: Some("redis://:hunter2@h:6379/0".into()),
            amqp_url: Some("amqp://u:pw@h:5672/%2f".into()),
            ..Default::default()
        };
        let shown = c.masked().to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains(":pw@"),
            "{shown}"
        );
        assert!(shown.contains("redis://:***@h:6379/0"), "{shown}");
    }

    #[test]
    fn saved_files_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zellij-driver/config.toml");
        let c = Config {
            redis_url: Some("redis://:pw@h/0".into()),
            llm_consent: true,
            ..Default::default()
        };
        c.save(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(Config::load(&path).unwrap(), c);
        assert_eq!(
            Config::load(&dir.path().join("none.toml")).unwrap(),
            Config::default()
        );
        std::fs::write(&path, "redis_url = 3\n").unwrap();
        assert!(Config::load(&path)
            .unwrap_err()
            .to_string()
            .contains("line 1"));
    }
}
