//! `iMi doctor`: each dependency checked, with what to do when one is missing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::{config, open_db, Outcome};
use crate::DbState;

/// One line of `iMi doctor`.
#[derive(Serialize)]
pub(super) struct Check {
    pub(super) name: &'static str,
    pub(super) ok: bool,
    pub(super) required: bool,
    /// What was found and, when something is wrong, what to do; never the status word, which
    /// `ok` carries and the text line prints in front of it.
    pub(super) detail: String,
}

pub(super) async fn doctor(settings: &config::Settings) -> Outcome {
    let mut checks = Vec::new();
    let git = crate::git::Git::default();
    checks.push(match git.version() {
        Ok(v) => {
            let parts: Vec<u32> = v.split('.').filter_map(|p| p.parse().ok()).collect();
            let new_enough = parts.first().copied().unwrap_or(0) > 2
                || (parts.first() == Some(&2) && parts.get(1).copied().unwrap_or(0) >= 41);
            Check {
                name: "git",
                ok: new_enough,
                required: true,
                detail: if new_enough {
                    format!("git {v}")
                } else {
                    format!("git {v} is too old: install git 2.41 or newer")
                },
            }
        }
        Err(e) => Check {
            name: "git",
            ok: false,
            required: true,
            detail: e.to_string(),
        },
    });
    let shown_url = settings.database_display();
    match open_db(settings).await {
        DbState::Open(db) => {
            let version = db.schema_version().await.ok().flatten();
            let latest = store::latest_known_version();
            checks.push(Check {
                name: "database",
                ok: true,
                required: true,
                detail: format!(
                    "{} at {} (from {})",
                    db.backend(),
                    db.location(),
                    settings.database_source
                ),
            });
            if db.backend() == store::Backend::Postgres {
                let transport = db.transport();
                let local = ["127.0.0.1:", "localhost:", "[::1]:", "/"]
                    .iter()
                    .any(|p| db.location().starts_with(p));
                checks.push(Check {
                    name: "connection",
                    // Plain text is fine on this machine's loopback; elsewhere it sends the
                    // password and every row in the clear.
                    ok: transport.encrypted || local,
                    required: false,
                    detail: if transport.encrypted || local {
                        transport.describe().to_owned()
                    } else {
                        format!(
                            "{}: add sslmode=verify-full and sslrootcert=PATH to {}",
                            transport.describe(),
                            settings.database_source
                        )
                    },
                });
            }
            checks.push(Check {
                name: "migrations",
                ok: version == Some(latest),
                required: true,
                detail: match version {
                    Some(v) if v == latest => format!("schema version {v}"),
                    other => format!("schema version {other:?}, expected {latest}: run any iMi command to migrate"),
                },
            });
            db.close().await;
        }
        DbState::Unavailable(why) => checks.push(Check {
            name: "database",
            ok: false,
            required: true,
            detail: format!("{shown_url} (from {}): {why}", settings.database_source),
        }),
    }
    checks.push(settings.check_file_mode());
    checks.push(Check {
        name: "github token",
        ok: true,
        required: false,
        detail: if std::env::var_os("GITHUB_TOKEN").is_some() {
            "GITHUB_TOKEN is set (not verified against GitHub)".into()
        } else {
            "not set: only needed for PR metadata and `project create` (set GITHUB_TOKEN)".into()
        },
    });
    for companion in ["perth", "zdrive", "host-bridge"] {
        let found = which_on_path(companion);
        checks.push(Check {
            name: companion,
            ok: found.is_some(),
            required: false,
            detail: match found {
                Some(p) => p.display().to_string(),
                None => format!("not on PATH: optional; install it with `cargo xtask install` for {companion} integration"),
            },
        });
    }
    let failed_required = checks.iter().any(|c| c.required && !c.ok);
    let text = checks
        .iter()
        .map(|c| {
            format!(
                "{} {:<12} {}",
                if c.ok {
                    "ok  "
                } else if c.required {
                    "FAIL"
                } else {
                    "warn"
                },
                c.name,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut o = Outcome::new(json!({"checks": checks, "ok": !failed_required}), text);
    o.exit_override = Some(if failed_required { 3 } else { 0 });
    o
}

pub(super) fn which_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| Path::new(p).is_file())
}
