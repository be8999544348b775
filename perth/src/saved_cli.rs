//! The command-line side of persistence: restoring a saved session, listing and deleting
//! saved copies, and layout templates (`perth layout save | list`, `--layout db:NAME`).
//!
//! These run in the perth client process, with the same settings as the server (the composed
//! configuration and the environment), and never start a server of their own.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use store::perth_sessions::{self, LayoutTemplate, SessionSummary};
use store::Database;

use crate::saved::restore::{self, RestorePlan};
use crate::saved::settings::PersistSettings;

use crate::exit::UNAVAILABLE as EXIT_UNAVAILABLE;

/// A failed persistence command: its message and exit code.
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub code: i32,
}

impl CommandError {
    pub(crate) fn user(message: impl Into<String>) -> Self {
        CommandError {
            message: message.into(),
            code: 1,
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        CommandError {
            message: message.into(),
            code: EXIT_UNAVAILABLE,
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CommandError {
            message: format!("cannot start the database runtime: {e}"),
            code: 4,
        })
}

/// Opens the session database, or `None` when it is the embedded file and nothing was ever
/// saved (reading commands do not create it).
fn open(create: bool) -> Result<Option<(tokio::runtime::Runtime, Database)>, CommandError> {
    let settings = PersistSettings::for_cli()
        .map_err(|e| CommandError::user(format!("{e}; fix the persistence block of config.kdl")))?;
    if !create && settings.is_missing_sqlite_file() {
        return Ok(None);
    }
    let rt = runtime()?;
    let options = store::OpenOptions {
        pg_env: store::PgEnv::from_process(),
        ..Default::default()
    };
    let db = rt
        .block_on(Database::open_with(&settings.url, &options))
        .map_err(|e| {
            CommandError::unavailable(format!(
                "cannot open the session database {}: {e}",
                settings.display_location()
            ))
        })?;
    // What an earlier perth stored may hold host-bridge's token; nothing reads it unscrubbed.
    rt.block_on(crate::saved::scrub::scrub_database(&db))
        .map_err(|e| {
            CommandError::unavailable(format!(
                "cannot scrub stored credentials in {}: {e}",
                settings.display_location()
            ))
        })?;
    Ok(Some((rt, db)))
}

/// What layouts opened from the database get back (set once by the command line after it
/// resolved the configuration; unset, stored layouts open with their aliases).
static OPENING: std::sync::OnceLock<crate::saved::scrub::OpeningContext> =
    std::sync::OnceLock::new();

/// Sets the plugin files and bridge keys layouts opened from the database get back.
pub fn set_opening_context(context: crate::saved::scrub::OpeningContext) {
    let _ = OPENING.set(context);
}

fn for_opening(kdl: &str) -> String {
    match OPENING.get() {
        Some(context) => crate::saved::scrub::for_opening(kdl, context),
        None => kdl.to_string(),
    }
}

/// Looks session `name` up in the database and writes the layout to restore it from; `None`
/// when the database has no copy. Warnings about skipped rows go to standard error.
pub fn restore_file(name: &str) -> Result<Option<(PathBuf, RestorePlan)>, CommandError> {
    let Some((rt, db)) = open(false)? else {
        return Ok(None);
    };
    let stored = rt
        .block_on(async {
            let mut conn = db.acquire().await?;
            perth_sessions::load_session(conn.conn(), name).await
        })
        .map_err(|e| CommandError::unavailable(format!("cannot read session {name:?}: {e}")))?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let plan = restore::plan(&stored).map_err(CommandError::user)?;
    for warning in &plan.warnings {
        eprintln!("perth: warning: {warning}");
    }
    let dir = crate::paths::cache_dir().join("restore");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CommandError::user(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join(format!("{}.kdl", digest(name)));
    std::fs::write(&file, for_opening(&plan.kdl))
        .map_err(|e| CommandError::user(format!("cannot write {}: {e}", file.display())))?;
    let _ = rt.block_on(async {
        let mut conn = db.acquire().await?;
        perth_sessions::mark_attached(conn.conn(), name, chrono::Utc::now()).await
    });
    Ok(Some((file, plan)))
}

pub(crate) fn digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Gives the restored session's terminal panes their saved names and agent states once it
/// runs: a thread of the client that waits (bounded) for the session's panes, then renames
/// through its socket and hands the states to perth's server.
pub fn after_restore(session: &str, names: Vec<restore::PaneName>) {
    if names
        .iter()
        .all(|n| n.title.is_empty() && n.agent.is_none())
    {
        return;
    }
    let socket = session_socket(session);
    let session = session.to_string();
    let _ = std::thread::Builder::new()
        .name("perth-restore-names".into())
        .spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(15);
            let timeout = Duration::from_secs(2);
            let wanted = names.len();
            while std::time::Instant::now() < deadline {
                // list-panes makes the server look up every pane's process: poll gently
                // while the restored session starts.
                std::thread::sleep(Duration::from_millis(300));
                let Ok(mut client) = session_ipc::SessionClient::connect(&socket) else {
                    continue;
                };
                let Ok(live) = client.list_panes(timeout) else {
                    continue;
                };
                let terminals = live
                    .iter()
                    .filter(|p| p["is_plugin"].as_bool() == Some(false))
                    .count();
                if terminals < wanted {
                    continue;
                }
                for (id, name) in restore::rename_plan(&names, &live) {
                    let _ = client.run_action(
                        zellij_utils::input::actions::Action::RenamePaneByPaneId {
                            pane_id: Some(zellij_utils::data::PaneId::Terminal(id)),
                            name: name.into_bytes(),
                        },
                        timeout,
                    );
                }
                let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
                for (id, record) in restore::agent_plan(&names, &live) {
                    let request = crate::control::ControlRequest::RestoreAgent {
                        pane: crate::notify::bus::PaneRef::Terminal(id),
                        record,
                    };
                    if let Err(e) = crate::control::request(&sock_dir, &session, &request, timeout)
                    {
                        log::warn!("perth: a restored pane's agent state was not given back: {e}");
                    }
                }
                return;
            }
        });
}

/// Returns the sessions saved in the database (empty when none were ever saved). A database
/// that cannot be reached is reported on standard error and gives an empty list.
pub fn saved_sessions() -> Vec<SessionSummary> {
    let result = open(false).and_then(|opened| match opened {
        None => Ok(Vec::new()),
        Some((rt, db)) => rt
            .block_on(async {
                let mut conn = db.acquire().await?;
                perth_sessions::list_sessions(conn.conn()).await
            })
            .map_err(|e| CommandError::unavailable(e.to_string())),
    });
    match result {
        Ok(list) => list,
        Err(e) => {
            eprintln!("perth: saved sessions are not listed: {}", e.message);
            Vec::new()
        }
    }
}

/// Deletes the database copy of session `name`; returns whether there was one.
pub fn delete_saved(name: &str) -> Result<bool, CommandError> {
    let Some((rt, db)) = open(false)? else {
        return Ok(false);
    };
    rt.block_on(async {
        let mut conn = db.acquire().await?;
        perth_sessions::delete_session(conn.conn(), name).await
    })
    .map_err(|e| CommandError::unavailable(format!("cannot delete session {name:?}: {e}")))
}

/// Tells a running session's server that a client left, so it writes its state now. Never
/// waits long: the server only queues the flush.
pub fn notify_detached(session: &str) {
    let sock_dir = zellij_utils::consts::ZELLIJ_SOCK_DIR.clone();
    let _ = crate::control::request(
        &sock_dir,
        session,
        &crate::control::ControlRequest::PersistFlush,
        Duration::from_millis(500),
    );
}

/// Formats how long ago `at` was, the way Zellij's session list does.
fn ago(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let Some(at) = at else {
        return "never".into();
    };
    let secs = (chrono::Utc::now() - at).num_seconds().max(0) as u64;
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// `perth list-sessions`: Zellij's list (running and resurrectable sessions), then the
/// sessions only the database has, marked `(DATABASE - attach to restore)`.
pub fn list_sessions(no_formatting: bool, short: bool, reverse: bool) -> i32 {
    use zellij_utils::sessions::{get_resurrectable_sessions, get_sessions, print_sessions};
    let running = match get_sessions() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error occurred: {e:?}");
            return 1;
        }
    };
    let mut known: std::collections::HashMap<String, (Duration, bool)> =
        get_resurrectable_sessions()
            .into_iter()
            .map(|(n, t)| (n, (t, true)))
            .collect();
    for (name, t) in running {
        known.insert(name, (t, false));
    }
    let saved: Vec<SessionSummary> = saved_sessions()
        .into_iter()
        .filter(|s| !known.contains_key(&s.name))
        .collect();
    if known.is_empty() && saved.is_empty() {
        eprintln!("No active zellij sessions found.");
        return 1;
    }
    print_sessions(
        known
            .into_iter()
            .map(|(name, (t, dead))| (name, t, dead))
            .collect(),
        no_formatting,
        short,
        reverse,
    );
    for s in saved {
        if short {
            println!("{}", s.name);
        } else if no_formatting {
            println!(
                "{} [Saved {} ago] (DATABASE - attach to restore)",
                s.name,
                ago(s.saved_at)
            );
        } else {
            println!(
                "\u{1b}[32;1m{}\u{1b}[m [Saved \u{1b}[35;1m{}\u{1b}[m ago] (\u{1b}[33;1mDATABASE\u{1b}[m - attach to restore)",
                s.name,
                ago(s.saved_at)
            );
        }
    }
    0
}

/// Returns the socket of a running session.
fn session_socket(session: &str) -> PathBuf {
    zellij_utils::consts::ZELLIJ_SOCK_DIR.join(session)
}

/// What `perth layout save` stored.
#[derive(Debug, Serialize)]
struct SavedLayout {
    name: String,
    session: String,
    tab: String,
    shared: bool,
}

/// `perth layout save NAME [--shared]`: stores the current tab of `session` as template
/// `name`; `shared` lets every user of a shared database read it (only its owner changes it).
pub fn layout_save_shared(
    session: &str,
    name: &str,
    shared: bool,
) -> Result<(String, String), CommandError> {
    if name.trim().is_empty() {
        return Err(CommandError::user("a layout name cannot be empty"));
    }
    let timeout = Duration::from_secs(5);
    let mut client =
        session_ipc::SessionClient::connect(&session_socket(session)).map_err(|e| {
            CommandError::unavailable(format!(
            "cannot reach session {session:?} ({e}); is it running? (see `perth list-sessions`)"
        ))
        })?;
    let tabs = client
        .list_tabs(timeout)
        .map_err(|e| CommandError::unavailable(e.to_string()))?;
    let layout = client
        .dump_layout(timeout)
        .map_err(|e| CommandError::unavailable(e.to_string()))?;
    let split = crate::saved::layout::split_layout(&layout).map_err(CommandError::user)?;
    let mut sorted: Vec<&serde_json::Value> = tabs.iter().collect();
    sorted.sort_by_key(|t| t["position"].as_i64().unwrap_or(0));
    let active = sorted
        .iter()
        .position(|t| t["active"].as_bool() == Some(true))
        .unwrap_or(0);
    let tab_name = sorted
        .get(active)
        .and_then(|t| t["name"].as_str())
        .unwrap_or_default()
        .to_string();
    let tab = if split.tabs.len() == sorted.len() {
        split.tabs.get(active)
    } else {
        split
            .tabs
            .iter()
            .find(|(n, _)| n.as_deref() == Some(tab_name.as_str()))
    }
    .map(|(_, kdl)| kdl.clone())
    .ok_or_else(|| CommandError::user(format!("session {session:?} has no tab to save")))?;
    // Plugins are saved under their aliases without the bridge's keys: opening the layout
    // gives them the bridge of the session that opens it.
    let kdl =
        crate::saved::scrub::scrub_layout(&format!("layout {{\n{}\n{}\n}}\n", split.head, tab));
    let Some((rt, db)) = open(true)? else {
        return Err(CommandError::unavailable("no session database"));
    };
    rt.block_on(async {
        let mut conn = db.acquire().await?;
        perth_sessions::save_layout_shared(conn.conn(), name, &kdl, shared, chrono::Utc::now())
            .await
    })
    .map_err(|e| CommandError::unavailable(format!("cannot save layout {name:?}: {e}")))?;
    Ok((tab_name, kdl))
}

/// Returns every saved layout template.
pub fn layout_list() -> Result<Vec<LayoutTemplate>, CommandError> {
    let Some((rt, db)) = open(false)? else {
        return Ok(Vec::new());
    };
    rt.block_on(async {
        let mut conn = db.acquire().await?;
        perth_sessions::list_layouts(conn.conn()).await
    })
    .map_err(|e| CommandError::unavailable(format!("cannot list layouts: {e}")))
}

/// Resolves `db:NAME` to a layout file written from the database; other values are returned
/// unchanged.
pub fn resolve_layout_arg(value: &std::path::Path) -> Result<PathBuf, CommandError> {
    let text = value.to_string_lossy();
    let Some(name) = text.strip_prefix("db:") else {
        return Ok(value.to_path_buf());
    };
    let found = match open(false)? {
        None => None,
        Some((rt, db)) => rt
            .block_on(async {
                let mut conn = db.acquire().await?;
                perth_sessions::get_layout(conn.conn(), name).await
            })
            .map_err(|e| CommandError::unavailable(format!("cannot read layout {name:?}: {e}")))?,
    };
    let Some(template) = found else {
        return Err(CommandError::user(format!(
            "no layout named {name:?} in the database; save one with `perth layout save {name}` (see `perth layout list`)"
        )));
    };
    let dir = crate::paths::cache_dir().join("db-layouts");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CommandError::user(format!("cannot create {}: {e}", dir.display())))?;
    let file = dir.join(format!("{}.kdl", digest(name)));
    std::fs::write(&file, for_opening(&template.kdl))
        .map_err(|e| CommandError::user(format!("cannot write {}: {e}", file.display())))?;
    Ok(file)
}

/// `perth layout ...`: returns the exit code.
pub fn layout_command(matches: &clap::ArgMatches, session_flag: Option<String>) -> i32 {
    let json = |m: &clap::ArgMatches| m.get_flag("json");
    let fail = |e: CommandError, as_json: bool| {
        if as_json {
            println!(
                "{}",
                serde_json::json!({"success": false, "data": null, "error": {"message": e.message, "exit_code": e.code}})
            );
        } else {
            eprintln!("perth: {}", e.message);
        }
        e.code
    };
    match matches.subcommand() {
        Some(("save", m)) => {
            let name = m.get_one::<String>("name").cloned().unwrap_or_default();
            let session = match crate::call_cli::target_session(session_flag) {
                Ok(s) => s,
                Err(e) => return fail(CommandError::unavailable(e), json(m)),
            };
            let shared = m.get_flag("shared");
            match layout_save_shared(&session, &name, shared) {
                Ok((tab, _)) => {
                    let saved = SavedLayout {
                        name: name.clone(),
                        session,
                        tab,
                        shared,
                    };
                    if json(m) {
                        println!(
                            "{}",
                            serde_json::json!({"success": true, "data": saved, "error": null})
                        );
                    } else {
                        println!(
                            "Saved tab {:?} of session {:?} as layout {:?}; open it with `perth action new-tab --layout db:{}`",
                            saved.tab, saved.session, saved.name, saved.name
                        );
                    }
                    0
                }
                Err(e) => fail(e, json(m)),
            }
        }
        Some(("list", m)) => match layout_list() {
            Ok(list) => {
                if json(m) {
                    let data: Vec<serde_json::Value> = list
                        .iter()
                        .map(|l| serde_json::json!({"name": l.name, "updated_at": l.updated_at, "kdl": l.kdl, "shared": l.shared, "read_only": l.others}))
                        .collect();
                    println!(
                        "{}",
                        serde_json::json!({"success": true, "data": data, "error": null})
                    );
                } else if list.is_empty() {
                    println!("No saved layouts; save one with `perth layout save NAME`.");
                } else {
                    for l in list {
                        let whose = match (l.shared, l.others) {
                            (_, true) => ", shared with you, read-only",
                            (true, false) => ", shared",
                            (false, false) => "",
                        };
                        println!("{} [saved {} ago{whose}]", l.name, ago(l.updated_at));
                    }
                }
                0
            }
            Err(e) => fail(e, json(m)),
        },
        _ => {
            eprintln!("perth: use `perth layout save NAME` or `perth layout list`");
            2
        }
    }
}

/// Returns the `layout` command definition.
pub fn layout_cli() -> clap::Command {
    let json = clap::Arg::new("json")
        .long("json")
        .action(clap::ArgAction::SetTrue)
        .help("Print {success, data, error} JSON");
    clap::Command::new("layout")
        .about("Save the current tab's layout in the session database, or list saved layouts")
        .long_about(
            "Layout templates live in the session database (the `layouts` table). Open one \
             with `perth --layout db:NAME` or `perth action new-tab --layout db:NAME`.\n\n\
             Exit codes: 0 ok, 1 bad input, 3 the session or the database unavailable.\n\n\
             Examples:\n  perth layout save review\n  perth layout save team-review --shared\n  perth layout list --json\n  \
             perth action new-tab --layout db:review",
        )
        .subcommand(
            clap::Command::new("save")
                .about("Store the focused tab of the session as layout NAME (replacing one of that name)")
                .arg(clap::Arg::new("name").required(true).help("The layout's name"))
                .arg(
                    clap::Arg::new("shared")
                        .long("shared")
                        .action(clap::ArgAction::SetTrue)
                        .help("Let every user of a shared database open it (read-only for them)"),
                )
                .arg(json.clone()),
        )
        .subcommand(
            clap::Command::new("list")
                .about("List the saved layouts")
                .arg(json),
        )
}

/// Returns the `restore` command definition.
pub fn restore_cli() -> clap::Command {
    clap::Command::new("restore")
        .about("Bring back a session that is not running, from Zellij's cache or the session database")
        .long_about(
            "Bring back a session that is not running. Without --from-db Zellij's own \
             resurrection cache is used when it has the session, else the session database; \
             with --from-db the database copy is used. Commands come back held: press Enter \
             in a pane to run its command.\n\n\
             Exit codes: 0 ok, 1 no such saved session or it is running, 3 database unavailable.\n\n\
             Examples:\n  perth restore work\n  perth restore work --from-db",
        )
        .arg(clap::Arg::new("name").required(true).help("The session's name"))
        .arg(
            clap::Arg::new("from-db")
                .long("from-db")
                .action(clap::ArgAction::SetTrue)
                .help("Use the database copy even when Zellij's cache has the session"),
        )
        .arg(
            clap::Arg::new("force-run-commands")
                .long("force-run-commands")
                .action(clap::ArgAction::SetTrue)
                .help("Run the commands of command panes right away instead of holding them"),
        )
}

/// Returns the layout file `perth restore NAME` starts the session from.
pub fn restore_source(name: &str, from_db: bool) -> Result<PathBuf, CommandError> {
    if zellij_utils::sessions::session_exists(name).unwrap_or(false) {
        return Err(CommandError::user(format!(
            "session {name:?} is running; attach to it with `perth attach {name}`"
        )));
    }
    if !from_db {
        let cached = zellij_utils::consts::session_layout_cache_file_name(name);
        if cached.exists() {
            return Ok(cached);
        }
    }
    match restore_file(name)? {
        Some((file, plan)) => {
            eprintln!(
                "perth: restoring session {name:?} from the database: {} tabs, {} panes",
                plan.tabs, plan.panes
            );
            after_restore(name, plan.names);
            Ok(file)
        }
        None => Err(CommandError::user(format!(
            "no saved session named {name:?}; see `perth list-sessions`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_commands_parse() {
        layout_cli().debug_assert();
        restore_cli().debug_assert();
        let m = restore_cli()
            .try_get_matches_from(["restore", "work", "--from-db"])
            .unwrap();
        assert!(m.get_flag("from-db"));
        assert_eq!(
            ago(Some(chrono::Utc::now() - chrono::Duration::seconds(65))),
            "1m 5s"
        );
    }
}
