//! Where zdrive's configuration, store and outbox are, resolved from an environment lookup the
//! caller passes in (the `zdrive` binary passes the process environment; host-bridge its own),
//! and opening the engine on them. One resolution serves every program that links the engine,
//! so `zdrive pane log` and a `zdrive::log` pipe through host-bridge write to the same place.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};

use crate::config::{Config, StoreChoice};
use crate::llm::ProviderSettings;
use crate::mux::{CliMux, IpcMux, Multiplexer, MuxError};
use crate::{EmbeddedStore, PaneRecord, PaneStore, RedisStore, Zdrive};

/// The configuration and paths a zdrive program runs with.
#[derive(Debug, Clone)]
pub struct Setup {
    /// `$ZDRIVE_CONFIG`, else `$XDG_CONFIG_HOME/zellij-driver/config.toml`.
    pub config_path: PathBuf,
    /// The file's settings with `ZDRIVE_REDIS_URL` / `ZDRIVE_REDIS_CA_FILE` / `ZDRIVE_REDIS_CERT_FILE` / `ZDRIVE_REDIS_KEY_FILE` / `ZDRIVE_REDIS_KEY_PREFIX` / `ZDRIVE_STORE` applied over them.
    pub config: Config,
    /// The SQLite file holding the outbox (and the embedded store).
    pub database_path: PathBuf,
    /// `$ZELLIJ_SESSION_NAME`: the session the caller runs in, if any.
    pub session: Option<String>,
    /// `$ZDRIVE_SOURCE`: the default source of logged entries.
    pub source: Option<String>,
    /// The CloudEvents `source` of published events.
    pub event_source: String,
    /// `$ANTHROPIC_API_KEY` / `$OPENAI_API_KEY`: they override the file's `llm.api_key`.
    pub env_api_keys: Vec<(&'static str, String)>,
    /// `$ZDRIVE_MUX=cli`: drive sessions through `zellij action` even when the socket is there.
    pub force_cli_mux: bool,
    /// `$ZDRIVE_ZELLIJ`: the `zellij` binary for sessions without a usable socket.
    pub zellij: PathBuf,
    /// `$PERTH_CALL_TIMEOUT`: how long each call to a session waits for its answer.
    pub call_deadline: Duration,
}

/// A configuration that cannot work as set.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `store redis` without a URL.
    #[error("store is redis but redis_url is not set; run: zdrive config set redis_url redis://HOST:6379/0")]
    RedisUrlMissing,
}

/// Whether a command writes (and so needs the outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only: a Redis store is opened alone.
    Read,
    /// Writes: the outbox is opened too.
    Write,
}

impl Setup {
    /// Resolves the setup from `env` (empty values count as unset) and reads the config file.
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Result<Setup> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let home = env("HOME").map(PathBuf::from);
        let config_path = match env("ZDRIVE_CONFIG") {
            Some(p) => PathBuf::from(p),
            None => env("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".config")))
                .context("neither HOME nor XDG_CONFIG_HOME is set; set one or ZDRIVE_CONFIG")?
                .join("zellij-driver/config.toml"),
        };
        let mut config = Config::load(&config_path)?;
        if let Some(url) = env("ZDRIVE_REDIS_URL") {
            config.set("redis_url", &url)?;
        }
        for (var, key) in [
            ("ZDRIVE_REDIS_CA_FILE", "redis_ca_file"),
            ("ZDRIVE_REDIS_CERT_FILE", "redis_cert_file"),
            ("ZDRIVE_REDIS_KEY_FILE", "redis_key_file"),
        ] {
            if let Some(path) = env(var) {
                config.set(key, &path)?;
            }
        }
        if let Some(prefix) = env("ZDRIVE_REDIS_KEY_PREFIX") {
            config
                .set("redis_key_prefix", &prefix)
                .context("reading ZDRIVE_REDIS_KEY_PREFIX")?;
        }
        if let Some(choice) = env("ZDRIVE_STORE") {
            config.set("store", &choice)?;
        }
        let database_path = match &config.database_path {
            Some(p) => PathBuf::from(p),
            None => env("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".local/share")))
                .context("neither HOME nor XDG_DATA_HOME is set; set one or database_path")?
                .join("zellij-driver/zdrive.db"),
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        Ok(Setup {
            config_path,
            config,
            database_path,
            session: env("ZELLIJ_SESSION_NAME"),
            source: env("ZDRIVE_SOURCE"),
            event_source: format!("perth://{host}/zdrive"),
            env_api_keys: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
                .into_iter()
                .filter_map(|k| env(k).map(|v| (k, v)))
                .collect(),
            force_cli_mux: env("ZDRIVE_MUX").as_deref() == Some("cli"),
            zellij: env("ZDRIVE_ZELLIJ").map_or_else(|| PathBuf::from("zellij"), PathBuf::from),
            call_deadline: session_ipc::call::deadline_from(
                env(session_ipc::call::DEADLINE_ENV).as_deref(),
            )
            .map_err(anyhow::Error::msg)?,
        })
    }

    /// Returns the LLM provider settings: the `[llm]` table over the provider's defaults, the
    /// key from the provider's environment variable, else the file.
    pub fn llm_settings(&self) -> ProviderSettings {
        let llm = &self.config.llm;
        let kind = llm.provider();
        let mut settings = ProviderSettings::new(kind);
        if let Some(model) = &llm.model {
            settings.model.clone_from(model);
        }
        if let Some(url) = &llm.base_url {
            settings.base_url.clone_from(url);
        }
        let from_env = kind.key_env().and_then(|name| {
            self.env_api_keys
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        });
        settings.api_key = from_env.or_else(|| llm.api_key.clone());
        if let Some(n) = llm.max_tokens {
            settings.max_tokens = n;
        }
        if let Some(secs) = llm.timeout_secs {
            settings.timeout = Duration::from_secs(secs);
        }
        settings
    }

    /// Raises a perth notification on a tracked pane of a running session; returns whether it
    /// was sent. Best effort: a pane outside a running session has nothing to light.
    pub fn notify_pane(&self, record: &PaneRecord, style: &str, message: &str) -> bool {
        if record.stale || record.pane_id.is_empty() || record.session.is_empty() {
            return false;
        }
        if !zellij_utils::consts::ZELLIJ_SOCK_DIR
            .join(&record.session)
            .exists()
        {
            return false;
        }
        match self.connect_mux(Some(&record.session)) {
            Ok(mut mux) => mux.notify(&record.pane_id, style, message).is_ok(),
            Err(_) => false,
        }
    }

    /// Sets the title of a tracked pane in its live session to `title`, when the session runs
    /// and the pane is still in it; returns whether it did. Best effort, as
    /// [`Setup::notify_pane`]: the stored rename is what counts.
    pub fn retitle_pane(&self, record: &PaneRecord, title: &str) -> bool {
        if record.stale || record.pane_id.is_empty() || record.session.is_empty() {
            return false;
        }
        let Ok(mut mux) = self.connect_mux(Some(&record.session)) else {
            return false;
        };
        match mux.list_panes() {
            Ok(live) if live.iter().any(|p| p.pane_id == record.pane_id) => {
                mux.rename_pane(&record.pane_id, title).is_ok()
            }
            _ => false,
        }
    }

    /// Connects to `session` (the caller's own when `None`): through its IPC socket when it
    /// has one, else through the `zellij` command line.
    pub fn connect_mux(&self, session: Option<&str>) -> Result<Box<dyn Multiplexer>, MuxError> {
        let session = session
            .or(self.session.as_deref())
            .ok_or(MuxError::NoSession)?;
        let socket = zellij_utils::consts::ZELLIJ_SOCK_DIR.join(session);
        if socket.exists() && !self.force_cli_mux {
            return Ok(Box::new(IpcMux::connect(
                session,
                socket,
                self.call_deadline,
            )?));
        }
        Ok(Box::new(CliMux::new(
            session,
            self.zellij.clone(),
            self.call_deadline,
        )?))
    }

    /// Returns which store the configuration selects (`redis` with its URL, or `embedded`).
    pub fn active_store(&self) -> Result<(&'static str, Option<&str>), SetupError> {
        match (self.config.store, self.config.redis_url.as_deref()) {
            (StoreChoice::Embedded, _) | (StoreChoice::Auto, None) => Ok(("embedded", None)),
            (_, Some(url)) => Ok(("redis", Some(url))),
            (StoreChoice::Redis, None) => Err(SetupError::RedisUrlMissing),
        }
    }

    /// Opens the store (and for writes the outbox). A dead Redis fails before anything is
    /// written, the outbox's file not even made: Redis is connected first when that file does
    /// not exist yet, and while it opens when it does (a TLS handshake and a login then hide
    /// behind the file's opening; nothing is written until both are open, and Redis's error
    /// wins over the outbox's).
    pub async fn open_engine(&self, access: Access) -> Result<Zdrive> {
        let redis_url = match self.active_store()? {
            ("redis", Some(url)) => Some(url),
            _ => None,
        };
        let needs_outbox = redis_url.is_none() || access == Access::Write;
        let connect = async {
            let Some(url) = redis_url else {
                return Ok(None);
            };
            let options = self.config.redis_options()?;
            let keys = self.config.redis_key_prefix()?;
            anyhow::Ok(Some(RedisStore::connect(url, &options, keys).await?))
        };
        let db_url = self.database_path.display().to_string();
        let open = async {
            if !needs_outbox {
                return Ok(None);
            }
            store::Database::open(&db_url)
                .await
                .map(Some)
                .with_context(|| format!("opening zdrive's database {db_url}"))
        };
        let (redis, outbox) = if self.database_path.exists() {
            tokio::join!(connect, open)
        } else {
            let redis = connect.await;
            if redis.is_err() {
                (redis, Ok(None))
            } else {
                (redis, open.await)
            }
        };
        let redis = redis?;
        let Some(outbox) = outbox? else {
            let redis = redis.expect("without an outbox the store is Redis");
            return Ok(Zdrive::reader(Box::new(redis), self.config.history_cap()));
        };
        let store: Box<dyn PaneStore> = match redis {
            Some(redis) => Box::new(redis),
            None => Box::new(EmbeddedStore::open(outbox.clone()).await?),
        };
        Ok(Zdrive::new(
            store,
            outbox,
            self.config.history_cap(),
            self.event_source.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_xdg_and_the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let vars = [
            ("HOME", format!("{root}/home")),
            ("XDG_CONFIG_HOME", format!("{root}/cfg")),
            ("XDG_DATA_HOME", String::new()),
            ("ZDRIVE_STORE", "embedded".to_owned()),
            ("ZDRIVE_SOURCE", "agent".to_owned()),
            ("ZDRIVE_REDIS_KEY_PREFIX", "alice:".to_owned()),
        ];
        let env = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        let setup = Setup::resolve(&env).unwrap();
        assert_eq!(
            setup.config_path,
            dir.path().join("cfg/zellij-driver/config.toml")
        );
        // An empty XDG_DATA_HOME counts as unset.
        assert_eq!(
            setup.database_path,
            dir.path().join("home/.local/share/zellij-driver/zdrive.db")
        );
        assert_eq!(setup.active_store().unwrap(), ("embedded", None));
        assert_eq!(setup.source.as_deref(), Some("agent"));
        assert!(setup.session.is_none());
        assert_eq!(setup.config.redis_key_prefix().unwrap().as_str(), "alice:");
    }

    #[test]
    fn redis_without_a_url_is_a_setup_error() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().display().to_string();
        let env = |k: &str| match k {
            "XDG_CONFIG_HOME" | "XDG_DATA_HOME" => Some(cfg.clone()),
            "ZDRIVE_STORE" => Some("redis".to_owned()),
            _ => None,
        };
        let setup = Setup::resolve(&env).unwrap();
        assert!(matches!(
            setup.active_store(),
            Err(SetupError::RedisUrlMissing)
        ));
    }
}
