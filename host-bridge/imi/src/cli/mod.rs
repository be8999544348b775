//! The `iMi` command line (binaries `iMi` and `imi`): resolves configuration, opens the database and prints the engine's reports.
//!
//! It lives in the library so that both binaries are two-line wrappers of one compiled
//! implementation; it is the only module that reads the environment or uses `anyhow`.
//!
//! Exit codes: 0 ok; 1 the request cannot be done as asked (bad name, dirty worktree, ...);
//! 2 usage; 3 a dependency is unavailable (git, the database, GitHub, a git remote, the perth
//! session, which did not answer within `PERTH_CALL_TIMEOUT`): for
//! commands that change git (`add`, `remove`, `prune --yes`, `init`) the git work is done and
//! the output says the database was not updated (or, for a review, that GitHub's metadata is
//! missing); `status` prints git's part and the error with it (`--json`: `success` false, the
//! report in `data`); 4 an internal error. `monitor --json` prints JSON lines (one
//! object per message) instead of one envelope.

mod args;
mod complete;
mod config;
mod doctor;
pub mod perth;
mod track;

use args::*;
use doctor::{doctor, Check};

pub use config::Settings;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{AddRequest, DbState, Engine, EngineConfig, ErrorClass, RemoveRequest};
use clap::{CommandFactory as _, Parser};
use serde::Serialize;
use serde_json::json;

/// A failure as the CLI reports it.
struct Failure {
    class: ErrorClass,
    kind: &'static str,
    message: String,
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        Failure {
            class: e.class(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure {
            class: ErrorClass::Internal,
            kind: "internal",
            message: format!("{e:#}"),
        }
    }
}

/// What a command produced: data for `--json`, text otherwise, and whether the database took it.
struct Outcome {
    /// The data as serialized JSON.
    data: String,
    text: String,
    database_updated: bool,
    exit_override: Option<u8>,
    /// Set by commands that stream their output (monitor): nothing more is printed.
    already_printed: bool,
    /// Said on stderr after the text (not with `--json`, whose data holds them).
    warnings: Vec<String>,
    /// A dependency (GitHub) was unavailable for part of the work: exit code 3.
    dependency_unavailable: bool,
    /// What failed after the data was gathered: printed with it (`--json`: the envelope's
    /// error, `success` false, the data kept), and the exit code is its class's.
    partial_failure: Option<Failure>,
}

impl Outcome {
    /// Returns an outcome whose data is serialized straight to text: for large results
    /// (`list` over a thousand rows), skipping the intermediate JSON tree halves the time.
    fn large(data: &impl Serialize, text: String) -> Self {
        Self {
            data: serde_json::to_string(data).unwrap_or_else(|_| "null".into()),
            text,
            database_updated: true,
            exit_override: None,
            already_printed: false,
            warnings: Vec::new(),
            dependency_unavailable: false,
            partial_failure: None,
        }
    }

    fn new(data: impl Serialize, text: String) -> Self {
        let data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
        let database_updated = data
            .get("database_updated")
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        Self {
            data: data.to_string(),
            text,
            database_updated,
            exit_override: None,
            already_printed: false,
            warnings: Vec::new(),
            dependency_unavailable: false,
            partial_failure: None,
        }
    }
}

/// Runs the command line with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    complete::answer_if_asked();
    // `cargo xtask dist`: man pages, and the same dynamic completion `iMi completions` prints,
    // calling back the installed binary by name (PATH) rather than the one in the build folder.
    cli_docs::write_if_asked_with(Cli::command, |shell, name, _| {
        complete::registration_for(shell, name, name).map_err(std::io::Error::other)
    });
    let json_requested = std::env::args().any(|a| a == "--json");
    let cli = match Cli::try_parse().and_then(Cli::checked) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if json_requested && e.use_stderr() {
                print_envelope(false, "null", Some(("usage", e.to_string())));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    init_tracing();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iMi: cannot start the async runtime: {e}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcome) => {
            let failure = outcome.partial_failure.as_ref();
            if outcome.already_printed {
            } else if json {
                print_envelope(
                    failure.is_none(),
                    &outcome.data,
                    failure.map(|f| (f.kind, f.message.clone())),
                );
            } else if !outcome.text.is_empty() {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", outcome.text.trim_end());
            }
            if let Some(f) = failure {
                if !json {
                    eprintln!("iMi: {}", f.message);
                }
                return ExitCode::from(u8::try_from(f.class.exit_code()).unwrap_or(4));
            }
            if !json {
                for warning in &outcome.warnings {
                    eprintln!("iMi: warning: {warning}");
                }
            }
            if let Some(code) = outcome.exit_override {
                return ExitCode::from(code);
            }
            if !outcome.database_updated {
                if !json {
                    eprintln!(
                        "iMi: warning: the database was not updated (see above); run `iMi doctor`"
                    );
                }
                return ExitCode::from(3);
            }
            if outcome.dependency_unavailable {
                return ExitCode::from(3);
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            if json {
                print_envelope(false, "null", Some((f.kind, f.message)));
            } else {
                eprintln!("iMi: {}", f.message);
            }
            ExitCode::from(u8::try_from(f.class.exit_code()).unwrap_or(4))
        }
    }
}

/// Returns the line `--json` prints: `{"success", "data", "error"}`; `data` is already
/// serialized JSON.
pub fn envelope_line(success: bool, data: &str, error: Option<(&str, String)>) -> String {
    let error = error.map(|(kind, message)| json!({"kind": kind, "message": message}));
    let error = serde_json::to_string(&error).unwrap_or_else(|_| "null".into());
    format!("{{\"success\":{success},\"data\":{data},\"error\":{error}}}")
}

/// Prints [`envelope_line`].
fn print_envelope(success: bool, data: &str, error: Option<(&str, String)>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", envelope_line(success, data, error));
}

fn init_tracing() {
    let filter = std::env::var("IMI_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run(cli: Cli) -> Result<Outcome, Failure> {
    let cwd = match &cli.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()
            .map_err(|e| anyhow::anyhow!("cannot read the current directory: {e}"))?,
    };
    let settings = config::Settings::resolve(cli.database_url.clone())?;
    // Commands that never touch the database answer without opening it.
    match &cli.command {
        Command::Completions { shell } => return Ok(text_only(complete::registration(*shell)?)),
        Command::ShellInit { shell } => return Ok(text_only(shell_init(*shell))),
        Command::Trunk => {
            let engine = engine_without_db();
            let path = engine.trunk(&cwd)?;
            return Ok(Outcome::new(
                json!({"path": path}),
                path.display().to_string(),
            ));
        }
        Command::Go { name } => {
            let engine = engine_without_db();
            let path = engine.go(&cwd, name)?;
            // Inside perth, the worktree's tab comes to the front too (when it has one); the
            // path alone is printed either way, for `cd "$(iMi go x)"`.
            let folder = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let session = perth::current_session();
            let tab = perth::focus_worktree_tab(perth_session(&session)?, &folder);
            let mut o = Outcome::new(
                json!({"path": path, "tab": tab}),
                path.display().to_string(),
            );
            o.partial_failure = session_failure(&tab);
            return Ok(o);
        }
        Command::Doctor => return Ok(doctor(&settings).await),
        _ => {}
    }
    if matches!(cli.command, Command::Init { .. }) {
        settings.write_default_file()?;
    }
    // Progress goes to stderr, so stdout stays one JSON document with --json.
    let progress = crate::Progress(std::sync::Arc::new(|line: &str| {
        eprintln!("iMi: {line}");
    }));
    let engine = open_engine(
        &settings,
        matches!(cli.command, Command::Project { .. }),
        Some(progress),
    )
    .await;
    let default_agent = settings.agent_id.clone();
    let add = |kind: &str, a: AddArgs| {
        let open_tab = !a.no_tab;
        let request = AddRequest {
            cwd: cwd.clone(),
            kind: kind.to_owned(),
            name: a.name,
            from: a.from,
            agent: a.agent.or_else(|| default_agent.clone()),
            no_setup: a.no_hooks,
        };
        (request, open_tab)
    };
    let outcome = match cli.command {
        Command::Init { repo, force } => {
            let r = engine.init(&cwd, repo.as_deref(), force).await?;
            let text = format!(
                "{} project {} at {}\n  trunk: {}{}{}",
                if r.cloned {
                    "Cloned and registered"
                } else {
                    "Registered"
                },
                r.project.name,
                r.project.root.display(),
                r.project.trunk.display(),
                r.moved_from
                    .as_ref()
                    .map(|m| format!("\n  moved from {}", m.display()))
                    .unwrap_or_default(),
                db_line(&r.db),
            );
            Outcome::new(&r, text)
        }
        Command::Add { kind, args } => add_outcome(&engine, add(&kind, args)).await?,
        Command::Feat(a) => add_outcome(&engine, add("feat", a)).await?,
        Command::Fix(a) => add_outcome(&engine, add("fix", a)).await?,
        Command::Review(a) => add_outcome(&engine, add("review", a)).await?,
        Command::Aiops(a) => add_outcome(&engine, add("aiops", a)).await?,
        Command::Devops(a) => add_outcome(&engine, add("devops", a)).await?,
        Command::Status => {
            let mut r = engine.status(&cwd).await?;
            perth::attach_agents(&mut r, std::time::Duration::from_secs(3));
            let mut text = format!("{}\n", r.repository);
            for st in std::iter::once(&r.trunk).chain(&r.worktrees) {
                text.push_str(&status_line(st));
                text.push('\n');
            }
            // A status whose cache write failed still showed git's truth: not an error. One
            // that could not read the database shows git's part and says so (exit 3).
            let mut o = Outcome::new(&r, text);
            o.database_updated = true;
            o.partial_failure = r.database_read_error.as_deref().map(|e| Failure {
                class: e.class(),
                kind: e.kind(),
                message: format!("agents not shown: {e}"),
            });
            o
        }
        Command::List => {
            let r = engine.list(&cwd).await?;
            let mut text = String::new();
            for w in &r.worktrees {
                text.push_str(&format!(
                    "{:<24} {:<8} {:<28} {}{}\n",
                    w.worktree_name,
                    w.type_name,
                    w.branch_name,
                    w.agent_id.as_deref().unwrap_or("-"),
                    if w.has_uncommitted_changes {
                        "  (dirty)"
                    } else {
                        ""
                    }
                ));
            }
            if r.worktrees.is_empty() {
                text.push_str("no worktrees; create one with `iMi feat NAME`");
            }
            Outcome::large(&r, text)
        }
        Command::Remove {
            name,
            force,
            delete_branch,
            remote,
        } => {
            let request = RemoveRequest {
                cwd: cwd.clone(),
                name,
                force,
                delete_branch,
                remote,
            };
            remove_command(&engine, request, cli.json).await?
        }
        Command::Open { name, all } => open_command(&engine, &cwd, name, all).await?,
        Command::Prune { yes } => {
            let r = engine.prune(&cwd, yes).await?;
            let text = prune_text(&r, yes);
            Outcome::new(&r, text)
        }
        Command::Claim { name, agent, .. } => {
            // `Cli::checked` and `required_unless_present` leave the agent here; an empty one
            // would be refused by the engine as an invalid name.
            let agent = agent.unwrap_or_default();
            let r = engine.claim(&cwd, &name, &agent).await?;
            let text = format!(
                "{} now belongs to {agent}{}",
                r.worktree.worktree_name,
                r.previous_agent
                    .as_ref()
                    .map(|p| format!(" (was {p})"))
                    .unwrap_or_default()
            );
            Outcome::new(&r, text)
        }
        Command::Types { action } => types(&engine, action).await?,
        Command::Project {
            action:
                ProjectAction::Create {
                    name,
                    template,
                    private,
                },
        } => {
            let r = engine
                .create_project(&cwd, &name, template.as_deref(), private)
                .await?;
            let text = format!(
                "Created {} ({})\n  trunk: {}{}",
                r.repository.full_name,
                r.repository.html_url,
                r.init.project.trunk.display(),
                db_line(&r.init.db)
            );
            let mut o = Outcome::new(&r, text);
            o.database_updated = r.init.db.database_updated;
            o
        }
        Command::Monitor { max_events } => {
            let mut seen = 0u64;
            let json = cli.json;
            engine
                .monitor(&cwd, |m| {
                    let mut out = std::io::stdout().lock();
                    let line = monitor_line(m, json);
                    if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                        return false;
                    }
                    if matches!(m, crate::monitor::MonitorMessage::Change(_)) {
                        seen += 1;
                    }
                    max_events.is_none_or(|max| seen < max)
                })
                .await?;
            let mut o = Outcome::new(json!({"events": seen}), String::new());
            o.already_printed = true;
            o
        }
        Command::Trust => {
            let r = engine.trust(&cwd)?;
            let text = format!(
                "Trusted {} (sha256 {}): copy {:?}, run {:?}",
                r.file.display(),
                &r.sha256[..12],
                r.hooks.post_create.copy,
                r.hooks.post_create.run
            );
            Outcome::new(&r, text)
        }
        Command::Completions { .. }
        | Command::ShellInit { .. }
        | Command::Trunk
        | Command::Go { .. }
        | Command::Doctor => unreachable!("answered before the database is opened"),
    };
    if let DbState::Open(db) = engine.db() {
        db.close().await;
    }
    Ok(outcome)
}

/// `iMi open [NAME|--all]`: opens the worktrees' tabs in this perth session.
async fn open_command(
    engine: &Engine,
    cwd: &Path,
    name: Option<String>,
    all: bool,
) -> Result<Outcome, Failure> {
    let targets: Vec<(String, PathBuf)> = match (name, all) {
        (Some(name), _) => {
            let path = engine.go(cwd, &name)?;
            let folder = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(name);
            vec![(folder, path)]
        }
        (None, true) => engine
            .list(cwd)
            .await?
            .worktrees
            .into_iter()
            .map(|w| (w.worktree_name, PathBuf::from(w.path)))
            .collect(),
        (None, false) => {
            return Err(crate::Error::Refused(
                "give a worktree name (iMi open login) or --all".into(),
            )
            .into())
        }
    };
    let mut tabs = Vec::new();
    let mut text = String::new();
    let session = perth::current_session();
    let target = perth_session(&session)?;
    let mut failure = None;
    for (name, path) in targets {
        let tab = perth::open_tab(target, &name, &path).await;
        if !tab.in_session {
            return Err(crate::Error::Refused(format!(
                "iMi open works inside a perth session: {}",
                tab.reason.unwrap_or_default()
            ))
            .into());
        }
        text.push_str(&match &tab.reason {
            None => format!("{name}: tab open\n"),
            Some(reason) => format!("{name}: not opened ({reason})\n"),
        });
        // A session that does not answer would make every other tab wait as long.
        failure = session_failure(&tab);
        tabs.push(tab);
        if failure.is_some() {
            break;
        }
    }
    if tabs.is_empty() {
        text.push_str("no active worktrees; create one with `iMi feat NAME`\n");
    }
    let mut o = Outcome::new(json!({ "tabs": tabs }), text.trim_end().to_owned());
    o.partial_failure = failure;
    Ok(o)
}

/// `iMi remove NAME`: removes the worktree and, inside perth, closes its tab.
async fn remove_command(
    engine: &Engine,
    request: RemoveRequest,
    json: bool,
) -> Result<Outcome, Failure> {
    let r = engine.remove(&request).await?;
    let text = format!(
        "Removed {}{}{}{}",
        r.worktree_name,
        if r.discarded_files > 0 {
            format!(" (discarded {} uncommitted files)", r.discarded_files)
        } else {
            String::new()
        },
        match (&r.branch, r.branch_deleted) {
            (Some(b), true) => format!("; deleted branch {b}"),
            (Some(b), false) => format!("; kept branch {b} (pass --delete-branch to delete it)"),
            (None, _) => String::new(),
        },
        db_line(&r.db),
    );
    // Inside perth, the worktree's tab goes too; when one of its panes runs a command,
    // only if the person at the terminal says so.
    let ask = |what: &str| {
        !json
            && ask_yes_no(&format!(
                "Tab {}: {what}. Close it anyway?",
                r.worktree_name
            ))
    };
    let session = perth::current_session();
    let tab = perth::close_removed_tab(perth_session(&session)?, &r.worktree_name, &ask).await;
    let text = format!("{text}{}", tab.text("closed"));
    Ok(with_tab(&r, tab, text))
}

/// One line of `iMi monitor`: the message as JSON, or as text for people.
fn monitor_line(m: &crate::monitor::MonitorMessage, json: bool) -> String {
    if json {
        serde_json::to_string(m).unwrap_or_default()
    } else {
        match m {
            crate::monitor::MonitorMessage::Ready { project, root } => {
                format!("watching {project} ({}); Ctrl-C stops", root.display())
            }
            crate::monitor::MonitorMessage::Change(e) => format!(
                "{} {:<9} {}/{}{}",
                &e.time[11..23],
                e.kind,
                e.worktree,
                e.path,
                e.agent_id
                    .as_ref()
                    .map(|a| format!("  @{a}"))
                    .unwrap_or_default()
            ),
            crate::monitor::MonitorMessage::WorktreeCreated { worktree, time } => {
                format!(
                    "{} {:<9} {worktree}/ checked out by iMi (its files are not listed)",
                    &time[11..23],
                    "worktree"
                )
            }
            crate::monitor::MonitorMessage::DatabaseError { message } => {
                format!("activities not recorded: {message}")
            }
        }
    }
}

/// What `iMi prune` prints for people: what it found, and whether it removed it.
fn prune_text(r: &crate::PruneReport, yes: bool) -> String {
    let mut text = String::new();
    for c in &r.merged {
        text.push_str(&format!(
            "{:<24} {:<28} {}\n",
            c.worktree_name, c.branch, c.action
        ));
    }
    for s in &r.stale_entries {
        text.push_str(&format!(
            "stale entry {s}{}\n",
            if yes { " pruned" } else { "" }
        ));
    }
    for s in &r.interrupted_adds {
        text.push_str(&format!(
            "interrupted add {s}{}\n",
            if yes { " cleaned up" } else { "" }
        ));
    }
    if text.is_empty() {
        text.push_str("nothing to prune");
    } else if !yes {
        text.push_str("run `iMi prune --yes` to remove these");
    }
    text.push_str(&db_line(&r.db));
    text
}

async fn add_outcome(
    engine: &Engine,
    (req, open_tab): (AddRequest, bool),
) -> Result<Outcome, Failure> {
    let r = engine.add(&req).await?;
    let session = perth::current_session();
    let tab = match open_tab {
        true => {
            Some(perth::open_added_tab(perth_session(&session)?, &r, req.agent.as_deref()).await)
        }
        false => None,
    };
    let failure = tab.as_ref().and_then(session_failure);
    let text = format!(
        "Created {} on branch {} (from {})\n  {}{}{}{}",
        r.worktree.worktree_name,
        r.worktree.branch,
        r.from,
        r.worktree.path.display(),
        if r.cleaned_up.is_empty() {
            String::new()
        } else {
            format!(
                "\n  cleaned up interrupted adds: {}",
                r.cleaned_up.join(", ")
            )
        },
        db_line(&r.db),
        tab.as_ref().map(|t| t.text("opened")).unwrap_or_default(),
    );
    let mut o = match tab {
        Some(tab) => with_tab(&r, tab, text),
        None => Outcome::new(&r, text),
    };
    if let Some(e) = &r.pr_metadata_error {
        o.warnings
            .push(format!("pull request metadata not recorded: {e}"));
        o.dependency_unavailable = r.pr_metadata_error_class == Some(ErrorClass::Unavailable);
    }
    o.partial_failure = failure;
    Ok(o)
}

/// The perth session a command's tabs are in (`session`, from `ZELLIJ_SESSION_NAME`) with
/// the call deadline of `PERTH_CALL_TIMEOUT`, which is read only inside a session.
fn perth_session(session: &Option<String>) -> Result<perth::SessionTarget<'_>, Failure> {
    let deadline = match session {
        Some(_) => perth::call_deadline().map_err(crate::Error::Refused)?,
        None => session_ipc::call::DEFAULT_DEADLINE,
    };
    Ok(perth::SessionTarget::new(session.as_deref(), deadline))
}

/// The failure of a command whose session did not answer for its tab: exit code 3, the
/// output kept, and the session client's advice as the message.
fn session_failure(tab: &perth::TabOutcome) -> Option<Failure> {
    tab.unavailable.then(|| Failure {
        class: ErrorClass::Unavailable,
        kind: "session_unavailable",
        message: tab.reason.clone().unwrap_or_default(),
    })
}

/// An outcome whose JSON is `data` with the worktree tab's outcome added as `tab`.
fn with_tab(data: impl Serialize, tab: perth::TabOutcome, text: String) -> Outcome {
    Outcome::new(json_with_tab(data, &tab), text)
}

/// Returns the JSON `--json` prints for a report with its worktree tab's outcome: `data` with
/// the tab added as `tab` (what host-bridge answers too).
pub fn json_with_tab(data: impl Serialize, tab: &perth::TabOutcome) -> serde_json::Value {
    let mut data = serde_json::to_value(data).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = data.as_object_mut() {
        obj.insert(
            "tab".into(),
            serde_json::to_value(tab).unwrap_or(serde_json::Value::Null),
        );
    }
    data
}

async fn types(engine: &Engine, action: Option<TypesAction>) -> Result<Outcome, Failure> {
    let DbState::Open(db) = engine.db() else {
        return Err(crate::Error::DatabaseUnavailable(db_reason(engine)).into());
    };
    if let Some(TypesAction::Add {
        name,
        branch_prefix,
        worktree_prefix,
        description,
    }) = action
    {
        let t = db
            .add_worktree_type(&store::NewWorktreeType {
                name,
                branch_prefix,
                worktree_prefix,
                description,
            })
            .await
            .map_err(|e| match e {
                store::Error::InvalidName(m) => crate::Error::InvalidName(m),
                store::Error::AlreadyExists { what, name } => crate::Error::AlreadyExists {
                    what,
                    name,
                    hint: String::new(),
                },
                other => crate::Error::Database(other),
            })?;
        let text = format!(
            "Added type {}: branch {}NAME, folder {}NAME",
            t.name, t.branch_prefix, t.worktree_prefix
        );
        return Ok(Outcome::new(
            json!({"name": t.name, "branch_prefix": t.branch_prefix, "worktree_prefix": t.worktree_prefix}),
            text,
        ));
    }
    let kinds = engine.kinds().await;
    let text = kinds
        .iter()
        .map(|k| {
            format!(
                "{:<10} {}NAME  {}NAME",
                k.name, k.branch_prefix, k.worktree_prefix
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Outcome::new(&kinds, text))
}

fn db_reason(engine: &Engine) -> String {
    match engine.db() {
        DbState::Unavailable(why) => why.clone(),
        DbState::Open(_) => String::new(),
    }
}

fn text_only(text: String) -> Outcome {
    Outcome::new(json!({"text": text}), text)
}

fn db_line(db: &crate::DbNote) -> String {
    match (&db.database_updated, &db.database_error) {
        (false, Some(e)) => format!("\n  the database was not updated: {e}"),
        _ => String::new(),
    }
}

fn status_line(st: &crate::WorktreeStatus) -> String {
    let mut line = format!(
        "  {:<24} {:<28}",
        st.name,
        st.branch.as_deref().unwrap_or("(detached)")
    );
    line.push_str(&if st.dirty_files > 0 {
        format!(" {:>3} dirty", st.dirty_files)
    } else {
        "   clean ".to_owned()
    });
    line.push_str(&format!(" ↑{} ↓{}", st.ahead, st.behind));
    if let Some(up) = &st.upstream {
        line.push_str(&format!(
            " [{up} ↑{} ↓{}]",
            st.ahead_of_upstream, st.behind_upstream
        ));
    }
    if let (Some(subject), Some(age)) = (&st.last_commit, st.last_commit_age_seconds) {
        line.push_str(&format!("  {} ({} ago)", subject, human_age(age)));
    }
    if let Some(agent) = &st.agent_id {
        line.push_str(&format!("  @{agent}"));
    }
    for agent in &st.agents {
        let icon = match agent.state.as_str() {
            "waiting" => "✋",
            "working" => "⏳",
            "idle" => "✓",
            _ => "■",
        };
        line.push_str(&format!(
            "  {icon} {} {}",
            agent.program.as_deref().unwrap_or("agent"),
            agent.state
        ));
    }
    if let Some(e) = &st.error {
        line.push_str(&format!("  error: {e}"));
    }
    line
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Returns the engine the `iMi` binary runs on `settings`: git, the configured database (or why
/// it is unavailable), the sync folder and trust file in iMi's config folder, GitHub when a
/// token or API URL is set (always with `github_always`, for `project create`). host-bridge
/// opens the engine through here too, so the plugin and the command line act alike.
pub async fn open_engine(
    settings: &Settings,
    github_always: bool,
    progress: Option<crate::Progress>,
) -> Engine {
    Engine::new(
        crate::git::Git::default(),
        open_db(settings).await,
        EngineConfig {
            event_source: event_source(),
            global_sync_dir: Some(settings.dir.join("sync").join("global")),
            trust_file: Some(settings.dir.join("trusted-hooks.json")),
            github: github_config(github_always),
            progress,
        },
    )
}

fn engine_without_db() -> Engine {
    Engine::new(
        crate::git::Git::default(),
        DbState::Unavailable("not needed".into()),
        EngineConfig::new(event_source()),
    )
}

async fn open_db(settings: &Settings) -> DbState {
    let options = store::OpenOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        max_connections: 2,
        pg_env: store::PgEnv::from_process(),
    };
    match store::Database::open_with(&settings.database_url, &options).await {
        Ok(db) => DbState::Open(db),
        Err(e) => DbState::Unavailable(open_error_reason(&e, settings)),
    }
}

/// Returns why the database did not open and what to do, once. The store's own advice names
/// DATABASE_URL only; iMi names the setting the URL came from.
fn open_error_reason(e: &store::OpenError, settings: &Settings) -> String {
    let setting = match settings.database_source {
        "config.toml" => format!(
            "database_url in {}",
            settings.dir.join("config.toml").display()
        ),
        source => source.to_owned(),
    };
    match e {
        store::OpenError::Unreachable { at, reason } => format!(
            "cannot reach PostgreSQL at {at}: {reason}; start the server or fix {setting} \
             (with no database URL set, iMi uses its embedded SQLite store)"
        ),
        store::OpenError::Rejected { at, source } => format!(
            "PostgreSQL at {at} refused the connection: {source}; check the user, password and \
             database name in {setting}"
        ),
        other => other.to_string(),
    }
}

/// Returns how to reach GitHub: always for `project create`, otherwise only when a token or an
/// API URL is set (so a review without either never waits on the network).
fn github_config(always: bool) -> Option<crate::github::GitHubConfig> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let token = env("GITHUB_TOKEN");
    let api_url = env("IMI_GITHUB_API_URL");
    if !always && token.is_none() && api_url.is_none() {
        return None;
    }
    Some(crate::github::GitHubConfig {
        api_url: api_url.unwrap_or_else(|| "https://api.github.com".into()),
        token,
    })
}

fn event_source() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("perth://{host}/iMi")
}

fn shell_init(shell: ShellKind) -> String {
    match shell {
        ShellKind::Bash | ShellKind::Zsh => {
            r#"# iMi shell integration: `iMi go NAME` and `iMi trunk` change directory.
iMi() {
  if [ "$1" = go ] || [ "$1" = trunk ]; then
    local __imi_dir
    __imi_dir="$(command iMi "$@")" || return $?
    cd -- "$__imi_dir" || return $?
  else
    command iMi "$@"
  fi
}
imi() { iMi "$@"; }
"#
            .to_owned()
        }
        ShellKind::Fish => {
            r#"# iMi shell integration: `iMi go NAME` and `iMi trunk` change directory.
function iMi
    if test (count $argv) -gt 0; and contains -- $argv[1] go trunk
        set -l __imi_dir (command iMi $argv); or return $status
        cd -- $__imi_dir
    else
        command iMi $argv
    end
end
function imi
    iMi $argv
end
"#
            .to_owned()
        }
    }
}

/// Asks a yes/no question on the terminal; `false` without one (scripts, pipes) or on anything
/// but `y`/`yes`.
fn ask_yes_no(question: &str) -> bool {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_text_says_what_it_found_and_what_to_run() {
        let mut r = crate::PruneReport {
            merged: Vec::new(),
            stale_entries: Vec::new(),
            interrupted_adds: Vec::new(),
            applied: false,
            db: crate::DbNote {
                database_updated: true,
                database_error: None,
            },
        };
        assert!(prune_text(&r, false).starts_with("nothing to prune"));
        r.stale_entries.push("/w/gone".into());
        let asked = prune_text(&r, false);
        assert!(asked.starts_with("stale entry /w/gone\n"), "{asked}");
        assert!(asked.contains("run `iMi prune --yes`"), "{asked}");
        let done = prune_text(&r, true);
        assert!(done.starts_with("stale entry /w/gone pruned\n"), "{done}");
        assert!(!done.contains("--yes"), "{done}");
    }

    #[test]
    fn monitor_lines_are_json_for_programs_and_words_for_people() {
        let m = crate::monitor::MonitorMessage::DatabaseError {
            message: "the database is down".into(),
        };
        assert_eq!(
            monitor_line(&m, false),
            "activities not recorded: the database is down"
        );
        let v: serde_json::Value = serde_json::from_str(&monitor_line(&m, true)).unwrap();
        assert_eq!(v, serde_json::to_value(&m).unwrap());
    }
}
