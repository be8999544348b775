//! `imi_status`, `imi_add`, `imi_remove`, `imi_open` and `imi_review` requests: the iMi pane
//! and the `imi::*` pipes, carried out by the engine, configuration and perth tab code of the
//! `iMi` command line (DESIGN.md D4: one implementation for the command line, the bridge and the
//! plugins). After a change every session is told with a `workspace.worktree.changed` event, so
//! every iMi pane reads the status again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bridge_protocol::{ErrorBody, ErrorKind, PushedEvent, Request, Response};
use imi::cli::perth;
use imi::{AddRequest, DbState, Engine, ErrorClass, RemoveRequest};

use crate::keyed::{self, Answer, RecentAnswers};
use crate::zdrive_log::bad_request;

/// The topic pushed to the sessions after a worktree was created or removed.
pub const CHANGED_TOPIC: &str = "workspace.worktree.changed";

/// Carries out an iMi request (`imi_status`, `imi_add`, `imi_review`, `imi_remove`,
/// `imi_open`) once per key; a change is pushed to the sessions in `session_dir`.
pub async fn handle(
    recent: &Mutex<RecentAnswers>,
    session_dir: Option<PathBuf>,
    request: Request,
) -> Answer {
    let request_type = request.type_name();
    // A review is an add of type `review` named by the pull request's number.
    let request = match request {
        Request::ImiReview {
            cwd,
            pr,
            session,
            key,
        } => Request::ImiAdd {
            cwd,
            kind: "review".into(),
            name: pr.to_string(),
            from: None,
            agent: None,
            session,
            key,
        },
        other => other,
    };
    let (key, work): (Option<String>, Work) = match request {
        Request::ImiStatus {
            project,
            key,
            agents,
        } => (key, engine_work(move || read_status(project, agents))),
        Request::ImiAdd {
            cwd,
            kind,
            name,
            from,
            agent,
            session,
            key,
        } => {
            let add = Add {
                request: AddRequest {
                    cwd: PathBuf::from(&cwd),
                    kind,
                    name,
                    from,
                    agent,
                    no_setup: false,
                },
                session,
            };
            (key, engine_work(move || create(cwd, add, session_dir)))
        }
        Request::ImiRemove {
            cwd,
            name,
            force,
            delete_branch,
            dry_run,
            session,
            key,
        } => {
            let request = RemoveRequest {
                cwd: PathBuf::from(&cwd),
                name,
                force,
                delete_branch,
                remote: false,
            };
            let work = move || delete(cwd, request, dry_run, session, session_dir);
            (key, engine_work(work))
        }
        Request::ImiOpen {
            cwd,
            name,
            session,
            key,
        } => (key, engine_work(move || open_tab(cwd, name, session))),
        other => {
            return Err(ErrorBody::new(
                ErrorKind::Internal,
                format!("{} is not an iMi request", other.type_name()),
            ))
        }
    };
    let key = key.map(|k| format!("{request_type}:{k}"));
    let (answer, first) = keyed::run_once(recent, key.as_deref(), work).await;
    answer.map(|response| match response {
        Response::ImiStatus { status, .. } => Response::ImiStatus { status, first },
        Response::ImiAdded { report, .. } => Response::ImiAdded { report, first },
        Response::ImiRemoved { report, .. } => Response::ImiRemoved { report, first },
        Response::ImiOpened {
            name, path, tab, ..
        } => Response::ImiOpened {
            name,
            path,
            tab,
            first,
        },
        other => other,
    })
}

/// Work for [`keyed::run_once`].
type Work = Box<dyn FnOnce() -> Answer + Send + 'static>;

/// Returns work that runs the engine future `make` builds on a thread and runtime of its own.
fn engine_work<F, Fut>(make: F) -> Work
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Answer>,
{
    Box::new(keyed::on_engine_thread(make))
}

/// An add (or a review) and the session its tab opens in.
struct Add {
    request: AddRequest,
    session: Option<String>,
}

/// Returns the folder a request names, which must be an absolute path (host-bridge's own
/// folder means nothing to the caller).
fn project_dir(what: &str, path: &str) -> Result<PathBuf, ErrorBody> {
    let dir = PathBuf::from(path);
    if path.is_empty() || !dir.is_absolute() {
        return Err(bad_request(format!(
            "{what} must be an absolute path inside an iMi project, not {path:?}"
        ))
        .with_hint("give cwd=PATH, a folder of the project (its trunk, or a worktree)"));
    }
    Ok(dir)
}

/// Classifies an iMi failure as its command line does: the caller's (exit 1), an unavailable
/// dependency (exit 3), or ours.
fn imi_error(e: imi::Error) -> ErrorBody {
    let kind = match e.class() {
        ErrorClass::User => ErrorKind::BadRequest,
        ErrorClass::Unavailable => ErrorKind::Unavailable,
        ErrorClass::Internal => ErrorKind::Internal,
    };
    let lose = matches!(e, imi::Error::WouldLoseWork(_));
    let body = ErrorBody::new(kind, e.to_string());
    if lose {
        body.with_hint("force=true on the imi::remove pipe (F in the iMi pane) discards it")
    } else {
        body
    }
}

fn internal(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorKind::Internal, e.to_string())
}

/// Resolves iMi's settings from the daemon's environment and opens the engine on them, as the
/// `iMi` binary does from its own.
async fn open_engine() -> Result<(imi::cli::Settings, Engine), ErrorBody> {
    let settings = imi::cli::Settings::resolve(None).map_err(|e| {
        ErrorBody::new(ErrorKind::Internal, format!("iMi's configuration: {e:#}"))
            .with_hint("check it with: iMi doctor")
    })?;
    let engine = imi::cli::open_engine(&settings, false, None).await;
    Ok((settings, engine))
}

async fn close(engine: &Engine) {
    if let DbState::Open(db) = engine.db() {
        db.close().await;
    }
}

/// Tells every session that the worktrees of `project` changed.
fn changed(session_dir: Option<&Path>, data: serde_json::Value) {
    let Some(dir) = session_dir else { return };
    let event = PushedEvent {
        topic: CHANGED_TOPIC.to_owned(),
        data,
    };
    let sessions = crate::push::push_to_sessions(dir, &event);
    tracing::debug!(sessions, "pushed {CHANGED_TOPIC}");
}

async fn read_status(project: Option<String>, agents: bool) -> Answer {
    let project = project.ok_or_else(|| {
        bad_request("imi_status needs project: a path inside the iMi project")
            .with_hint(r#"send {"type":"imi_status","project":"/path/to/project"}"#)
    })?;
    let cwd = project_dir("project", &project)?;
    let (_, engine) = open_engine().await?;
    let mut report = engine.status(&cwd).await;
    if let (Ok(report), true) = (&mut report, agents) {
        // The agents of the worktrees, as the iMi command line shows them (the pane follows
        // their changes on perth's `perth::agents` pipe).
        imi::cli::perth::attach_agents(report, std::time::Duration::from_secs(3));
    }
    // The types `iMi types add` added are offered by the pane's type picker too.
    let kinds = match &report {
        Ok(_) => engine.kinds().await,
        Err(_) => Vec::new(),
    };
    close(&engine).await;
    let mut status = serde_json::to_value(report.map_err(imi_error)?).map_err(internal)?;
    with_types(&mut status, &kinds);
    Ok(Response::ImiStatus {
        status,
        first: true,
    })
}

/// Adds the worktree types to a status answer as `types` (name and prefixes), a field older
/// plugins ignore; iMi's status report itself stays as the command line prints it.
fn with_types(status: &mut serde_json::Value, kinds: &[imi::WorktreeKind]) {
    if let Some(fields) = status.as_object_mut() {
        let types = kinds
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name,
                    "branch_prefix": k.branch_prefix,
                    "worktree_prefix": k.worktree_prefix,
                })
            })
            .collect();
        fields.insert("types".to_owned(), serde_json::Value::Array(types));
    }
}

async fn create(cwd: String, add: Add, session_dir: Option<PathBuf>) -> Answer {
    project_dir("cwd", &cwd)?;
    let (settings, engine) = open_engine().await?;
    let mut request = add.request;
    request.agent = request.agent.or(settings.agent_id);
    let report = engine.add(&request).await;
    close(&engine).await;
    let report = report.map_err(imi_error)?;
    let tab = perth::open_added_tab(
        session_target(add.session.as_deref()),
        &report,
        request.agent.as_deref(),
    )
    .await;
    let w = &report.worktree;
    changed(
        session_dir.as_deref(),
        serde_json::json!({
            "change": "created",
            "worktree_name": w.worktree_name,
            "path": w.path,
        }),
    );
    Ok(Response::ImiAdded {
        report: imi::cli::json_with_tab(&report, &tab),
        first: true,
    })
}

async fn delete(
    cwd: String,
    request: RemoveRequest,
    dry_run: bool,
    session: Option<String>,
    session_dir: Option<PathBuf>,
) -> Answer {
    project_dir("cwd", &cwd)?;
    let (_, engine) = open_engine().await?;
    if dry_run {
        let preview = engine.remove_preview(&request).await;
        close(&engine).await;
        let preview = serde_json::to_value(preview.map_err(imi_error)?).map_err(internal)?;
        return Ok(Response::ImiRemoveChecked { preview });
    }
    let report = engine.remove(&request).await;
    close(&engine).await;
    let report = report.map_err(imi_error)?;
    let tab = perth::close_removed_tab(
        session_target(session.as_deref()),
        &report.worktree_name,
        &perth::never,
    )
    .await;
    changed(
        session_dir.as_deref(),
        serde_json::json!({
            "change": "removed",
            "worktree_name": report.worktree_name,
            "path": report.path,
        }),
    );
    Ok(Response::ImiRemoved {
        report: imi::cli::json_with_tab(&report, &tab),
        first: true,
    })
}

async fn open_tab(cwd: String, name: String, session: Option<String>) -> Answer {
    let cwd = project_dir("cwd", &cwd)?;
    // Finding a worktree's folder needs neither git nor the database.
    let engine = Engine::new(
        imi::git::Git::default(),
        DbState::Unavailable("not needed".into()),
        imi::EngineConfig::new("host-bridge"),
    );
    let path = engine.go(&cwd, &name).map_err(imi_error)?;
    let folder = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(name);
    let tab = perth::open_tab(session_target(session.as_deref()), &folder, &path).await;
    Ok(Response::ImiOpened {
        name: folder,
        path: path.display().to_string(),
        tab: serde_json::to_value(&tab).map_err(internal)?,
        first: true,
    })
}

/// How long each call to a perth session may wait (`PERTH_CALL_TIMEOUT`, which the binary
/// reads and hands over with [`set_call_deadline`]); the session client's default until then.
static CALL_DEADLINE: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Sets the deadline of every call this bridge makes to a perth session.
pub fn set_call_deadline(deadline: std::time::Duration) {
    let _ = CALL_DEADLINE.set(deadline);
}

fn session_target(session: Option<&str>) -> perth::SessionTarget<'_> {
    perth::SessionTarget::new(
        session,
        CALL_DEADLINE
            .get()
            .copied()
            .unwrap_or(session_ipc::call::DEFAULT_DEADLINE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_or_empty_folder_is_refused_with_a_hint() {
        for path in ["", "trunk-main", "../x"] {
            let error = project_dir("cwd", path).unwrap_err();
            assert_eq!(error.kind, ErrorKind::BadRequest);
            assert!(error.message.contains("absolute path"), "{error}");
            assert!(error.hint.unwrap().contains("cwd=PATH"));
        }
        assert_eq!(project_dir("cwd", "/w/p").unwrap(), PathBuf::from("/w/p"));
    }

    #[test]
    fn imi_errors_keep_their_class_and_losing_work_says_how_to_force() {
        let lose = imi_error(imi::Error::WouldLoseWork("3 uncommitted files".into()));
        assert_eq!(lose.kind, ErrorKind::BadRequest);
        assert!(lose.hint.unwrap().contains("force=true"));
        let down = imi_error(imi::Error::DatabaseUnavailable("refused".into()));
        assert_eq!(down.kind, ErrorKind::Unavailable);
        let name = imi_error(imi::Error::InvalidName("no '/'".into()));
        assert_eq!(
            (name.kind, name.message.as_str()),
            (ErrorKind::BadRequest, "no '/'")
        );
        assert!(name.hint.is_none());
    }
}
