//! The command line's configuration: `~/.config/iMi/config.toml` (written 0600), overridden by the environment, overridden by flags.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;

/// What the config file may hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    agent_id: Option<String>,
}

/// Resolved settings.
#[derive(Debug)]
pub struct Settings {
    /// The config folder (`~/.config/iMi`, or `$XDG_CONFIG_HOME/iMi`).
    pub dir: PathBuf,
    /// The database URL to open.
    pub database_url: String,
    /// Where the URL came from: `--database-url`, an environment variable, the file or the default.
    pub database_source: &'static str,
    /// The default agent for `add`.
    pub agent_id: Option<String>,
}

const DEFAULT_FILE: &str = "\
# iMi configuration. Environment variables override it; flags override both.
# database_url = \"postgres://user:password@localhost:5432/imi\"   # default: SQLite iMi.db next to this file
# agent_id = \"claude-1\"                                           # default for `iMi add --agent`
";

impl Settings {
    /// Resolves settings: `flag_url` beats `IMI_DATABASE_URL`, then `DATABASE_URL`, then the file, then SQLite.
    pub fn resolve(flag_url: Option<String>) -> anyhow::Result<Self> {
        let dir = config_dir()?;
        let path = dir.join("config.toml");
        let file: FileConfig = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).with_context(|| {
                format!(
                    "reading {} (allowed keys: database_url, agent_id)",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (database_url, database_source) = if let Some(url) = flag_url {
            (url, "--database-url")
        } else if let Some(url) = env("IMI_DATABASE_URL") {
            (url, "IMI_DATABASE_URL")
        } else if let Some(url) = env("DATABASE_URL") {
            (url, "DATABASE_URL")
        } else if let Some(url) = file.database_url {
            (url, "config.toml")
        } else {
            (dir.join("iMi.db").display().to_string(), "default")
        };
        Ok(Self {
            agent_id: env("IMI_AGENT_ID").or(file.agent_id),
            dir,
            database_url,
            database_source,
        })
    }

    fn file(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// Writes a commented default config file (0600) when none exists.
    pub fn write_default_file(&self) -> anyhow::Result<()> {
        let path = self.file();
        if path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_0600()
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(DEFAULT_FILE.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Returns the database URL without its password.
    pub fn database_display(&self) -> String {
        match (self.database_url.find("://"), self.database_url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let userinfo = &self.database_url[s + 3..at];
                match userinfo.split_once(':') {
                    Some((user, _)) => format!(
                        "{}{user}:***{}",
                        &self.database_url[..s + 3],
                        &self.database_url[at..]
                    ),
                    None => self.database_url.clone(),
                }
            }
            _ => self.database_url.clone(),
        }
    }

    /// Checks that the config file, when present, is readable by its owner only.
    pub(super) fn check_file_mode(&self) -> super::Check {
        let path = self.file();
        match std::fs::metadata(&path) {
            Err(_) => super::Check {
                name: "config file",
                ok: true,
                required: false,
                detail: format!(
                    "{} does not exist (defaults apply; `iMi init` writes one)",
                    path.display()
                ),
            },
            Ok(m) => {
                let mode = m.permissions().mode() & 0o777;
                super::Check {
                    name: "config file",
                    ok: mode & 0o077 == 0,
                    required: true,
                    detail: if mode & 0o077 == 0 {
                        format!("{} (mode {mode:o})", path.display())
                    } else {
                        format!(
                            "{} has mode {mode:o} and may hold a database password: run `chmod 600 {}`",
                            path.display(),
                            path.display()
                        )
                    },
                }
            }
        }
    }
}

trait OpenOptionsExt {
    fn mode_0600(&mut self) -> &mut Self;
}

impl OpenOptionsExt for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("iMi"));
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .context("neither XDG_CONFIG_HOME nor HOME is set: set HOME, or pass --database-url")?;
    Ok(PathBuf::from(home).join(".config").join("iMi"))
}
