//! The `perth { persistence { ... } }` block and where the database is.
//!
//! ```kdl
//! perth {
//!     persistence {
//!         enabled true                 // false: no writer thread, nothing stored
//!         database_url "postgres://perth:perth@localhost:5432/perth"
//!         flush_interval_ms 5000       // how often changed state is written
//!         scrollback_lines 0           // N > 0: also store each terminal's last N lines
//!     }
//! }
//! ```
//!
//! The database is, first found: `PERTH_DATABASE_URL`, `DATABASE_URL`, `database_url`, else
//! the embedded SQLite file `perth.db` in perth's data folder.

use std::path::PathBuf;
use std::time::Duration;

use crate::settings::PerthSettings;

/// The keys the persistence block accepts.
pub const KNOWN_KEYS: &[&str] = &[
    "enabled",
    "database_url",
    "flush_interval_ms",
    "scrollback_lines",
];

/// Resolved persistence settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PersistSettings {
    pub enabled: bool,
    /// The database URL or SQLite path.
    pub url: String,
    pub flush_interval: Duration,
    /// How long after a change the state is captured (changes in a burst share one capture).
    pub capture_delay: Duration,
    /// How long after the server starts the first capture waits (a restore is starting).
    pub startup_grace: Duration,
    /// How long one connect or write may take before it counts as failed.
    pub write_timeout: Duration,
    pub scrollback_lines: usize,
}

impl PersistSettings {
    /// Reads the settings the server runs with (the composed configuration and the
    /// environment).
    pub fn for_server() -> Result<PersistSettings, String> {
        Self::from_settings(&PerthSettings::for_server(), &|k| std::env::var(k).ok())
    }

    /// Reads the settings a command line runs with: the same files as the server.
    pub fn for_cli() -> Result<PersistSettings, String> {
        Self::for_server()
    }

    /// Resolves the settings from the `perth` block and an environment lookup.
    pub fn from_settings(
        settings: &PerthSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PersistSettings, String> {
        let section = settings.section("persistence");
        if let Some(unknown) = section.unknown_keys(KNOWN_KEYS).into_iter().next() {
            return Err(format!("{unknown} (known: {})", KNOWN_KEYS.join(", ")));
        }
        let enabled = section.bool("enabled")?.unwrap_or(true);
        let flush_ms = section
            .int("flush_interval_ms", 50..=3_600_000)?
            .unwrap_or(5000);
        let scrollback = section.int("scrollback_lines", 0..=100_000)?.unwrap_or(0);
        let url = env("PERTH_DATABASE_URL")
            .filter(|s| !s.is_empty())
            .or_else(|| env("DATABASE_URL").filter(|s| !s.is_empty()))
            .map(Ok)
            .or_else(|| section.string("database_url").transpose())
            .transpose()?
            .unwrap_or_else(|| default_sqlite_path().display().to_string());
        Ok(PersistSettings {
            enabled,
            url,
            flush_interval: Duration::from_millis(flush_ms as u64),
            capture_delay: Duration::from_millis(300.min(flush_ms as u64)),
            startup_grace: Duration::from_millis(1500),
            write_timeout: Duration::from_secs(10),
            scrollback_lines: scrollback as usize,
        })
    }

    /// Returns `postgres` or `sqlite`.
    pub fn backend(&self) -> &'static str {
        if self.url.starts_with("postgres://") || self.url.starts_with("postgresql://") {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Returns the URL without its password.
    pub fn display_location(&self) -> String {
        store::redact_url(&self.url)
    }

    /// Returns whether the database is an SQLite file that does not exist yet (nothing saved).
    pub fn is_missing_sqlite_file(&self) -> bool {
        if self.backend() != "sqlite" {
            return false;
        }
        let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
        path != "sqlite::memory:" && !std::path::Path::new(path).exists()
    }
}

/// Returns `$XDG_DATA_HOME/perth/perth.db` (or `~/.local/share/perth/perth.db`).
pub fn default_sqlite_path() -> PathBuf {
    crate::paths::data_dir().join("perth.db")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(kdl: &str, env: &[(&str, &str)]) -> Result<PersistSettings, String> {
        let settings = PerthSettings::from_kdl_text(kdl).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PersistSettings::from_settings(&settings, &|k| {
            env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn persist_settings_defaults_and_precedence() {
        let s = resolve("", &[]).unwrap();
        assert!(s.enabled);
        assert_eq!(s.backend(), "sqlite");
        assert!(s.url.ends_with("perth/perth.db"), "{}", s.url);
        assert_eq!(s.flush_interval, Duration::from_secs(5));
        assert_eq!(s.scrollback_lines, 0);

        let kdl = "perth {\n persistence {\n  database_url \"postgres://perth:pw@db:5432/perth\"\n  flush_interval_ms 1000\n  scrollback_lines 50\n }\n}\n";
        let s = resolve(kdl, &[]).unwrap();
        assert_eq!(s.backend(), "postgres");
        assert_eq!(s.display_location(), "postgres://perth:***@db:5432/perth");
        // A raw '@' in the password is the password's, not the host's.
        let at = kdl.replace("perth:pw@db", "perth:p@ss@db");
        let shown = resolve(&at, &[]).unwrap().display_location();
        assert_eq!(shown, "postgres://perth:***@db:5432/perth");
        assert_eq!(s.flush_interval, Duration::from_secs(1));
        assert_eq!(s.scrollback_lines, 50);
        let s = resolve(kdl, &[("PERTH_DATABASE_URL", "/tmp/x.db")]).unwrap();
        assert_eq!(s.url, "/tmp/x.db");
    }

    #[test]
    fn persist_settings_reject_bad_values_naming_the_line() {
        let err = resolve(
            "perth {\n persistence {\n  flush_interval_ms -1\n }\n}",
            &[],
        )
        .unwrap_err();
        assert!(
            err.contains("perth.persistence.flush_interval_ms (line 3)"),
            "{err}"
        );
        let err = resolve("perth {\n persistence {\n  flush_every 1\n }\n}\n", &[]).unwrap_err();
        assert!(err.contains("unknown setting"), "{err}");
    }
}
