//! `zdrive_pane`, `zdrive_rename`, `zdrive_tag` and `zdrive_track` requests: the zdrive pane
//! (`plugins/zdrive-pane`), carried out with the engine and configuration of `zdrive pane
//! history | rename | tag` and `zdrive pane NAME` (DESIGN.md D4: one implementation).
//!
//! A change made here is also pushed to the running sessions as a `host-bridge::event`, so that
//! every open zdrive pane (one per client) shows it.

use std::path::PathBuf;

use bridge_protocol::{ErrorBody, ErrorKind, PushedEvent, Request, Response};
use serde_json::json;
use zdrive::setup::Access;
use zdrive::{EngineError, MetadataChange, Navigation, PaneRecord, Zdrive};

use crate::keyed::{self, Answer};
use crate::zdrive_engine::{open_engine, resolve_setup};
use crate::zdrive_log::{bad_request, engine_error};

/// Which tracked pane a request is about: named, or found by where it lives (a plugin knows
/// the focused pane's id, not its zdrive name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaneRef {
    /// The zdrive name.
    Name(String),
    /// The pane at `pane_id` of `session`.
    At { session: String, pane_id: String },
}

impl PaneRef {
    /// Reads the pane a `request` names, checking a name before any store is opened.
    pub fn from_request(
        request: &str,
        pane: Option<String>,
        session: Option<String>,
        pane_id: Option<String>,
    ) -> Result<PaneRef, ErrorBody> {
        match (pane, session, pane_id) {
            (Some(pane), _, _) => {
                zdrive::model::validate_name("pane name", &pane).map_err(bad_request)?;
                Ok(PaneRef::Name(pane))
            }
            (None, Some(session), Some(pane_id)) if !session.is_empty() && !pane_id.is_empty() => {
                Ok(PaneRef::At { session, pane_id })
            }
            _ => Err(bad_request(format!(
                "{request} needs a pane name, or a session and a pane id"
            ))
            .with_hint(format!(
                r#"send {{"type":"{request}","pane":"NAME"}} or session and pane_id"#
            ))),
        }
    }

    /// Returns the zdrive name of the pane; `None` when zdrive does not track it.
    pub async fn find(&self, engine: &Zdrive) -> Result<Option<String>, ErrorBody> {
        match self {
            PaneRef::At { session, pane_id } => {
                let panes = engine.list().await.map_err(engine_error)?;
                Ok(tracked_at(&panes, session, pane_id).map(|p| p.name.clone()))
            }
            PaneRef::Name(pane) => match engine.info(pane).await {
                Ok(_) => Ok(Some(pane.clone())),
                Err(EngineError::NotTracked { .. }) => Ok(None),
                Err(e) => Err(engine_error(e)),
            },
        }
    }
}

/// Returns the tracked pane that lives at `pane_id` of `session`: a live one first, then the
/// one used last.
pub fn tracked_at<'a>(
    panes: &'a [PaneRecord],
    session: &str,
    pane_id: &str,
) -> Option<&'a PaneRecord> {
    panes
        .iter()
        .filter(|p| p.session == session && p.pane_id == pane_id)
        .max_by_key(|p| (!p.stale, p.last_accessed, p.last_seen))
}

/// Carries out a `zdrive_pane`, `zdrive_rename`, `zdrive_tag` or `zdrive_track` request on a
/// thread of its own; a change is then announced to the sessions in `session_dir`.
pub async fn handle(session_dir: Option<PathBuf>, request: Request) -> Answer {
    let answer = keyed::run_blocking(keyed::on_engine_thread(move || carry_out(request))).await;
    if let Some((topic, data)) = answer.as_ref().ok().and_then(announcement) {
        announce(session_dir, topic, data);
    }
    answer
}

async fn carry_out(request: Request) -> Answer {
    match request {
        Request::ZdrivePane {
            pane,
            session,
            pane_id,
            last,
            format,
        } => {
            let target = PaneRef::from_request("zdrive_pane", pane, session, pane_id)?;
            read_pane(target, last, format.as_deref()).await
        }
        Request::ZdriveRename { pane, new_name } => rename_pane(pane, new_name).await,
        Request::ZdriveTag { pane, set, remove } => {
            tag_pane(pane, MetadataChange { set, remove }).await
        }
        Request::ZdriveTrack {
            session,
            pane_id,
            name,
            tab,
        } => track_pane(session, pane_id, name, tab).await,
        other => Err(ErrorBody::new(
            ErrorKind::Internal,
            format!("{} is not a zdrive pane request", other.type_name()),
        )),
    }
}

/// Returns the event that tells open zdrive panes about a change, if `response` reports one.
fn announcement(response: &Response) -> Option<(&'static str, serde_json::Value)> {
    match response {
        Response::ZdriveRenamed {
            pane_name,
            previous_name,
            ..
        } => Some((
            "workspace.pane.renamed",
            json!({ "pane_name": pane_name, "previous_name": previous_name }),
        )),
        Response::ZdriveTagged { pane_name, .. } => {
            Some(("workspace.pane.tagged", json!({ "pane_name": pane_name })))
        }
        Response::ZdriveTracked { pane_name, .. } => {
            Some(("workspace.pane.focused", json!({ "pane_name": pane_name })))
        }
        _ => None,
    }
}

/// Tells the plugins of every running session that `topic` happened, without waiting: the
/// change is stored, and a session that does not answer must not hold the reply up.
pub fn announce(session_dir: Option<PathBuf>, topic: &str, data: serde_json::Value) {
    let Some(dir) = session_dir else {
        return;
    };
    let event = PushedEvent {
        topic: topic.to_owned(),
        data,
    };
    drop(tokio::task::spawn_blocking(move || {
        crate::push::push_to_sessions(&dir, &event)
    }));
}

fn to_json(record: &PaneRecord) -> Result<serde_json::Value, ErrorBody> {
    serde_json::to_value(record).map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))
}

async fn read_pane(target: PaneRef, last: Option<u32>, format: Option<&str>) -> Answer {
    let context = match format {
        None | Some("entries") => false,
        Some("context") => true,
        Some(other) => {
            return Err(bad_request(format!(
                "unknown format {other:?}; zdrive_pane takes entries or context"
            )))
        }
    };
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Read).await?;
    let untracked = Response::ZdrivePane {
        pane_name: None,
        record: None,
        entries: Vec::new(),
        total_entries: 0,
        context: None,
    };
    let Some(name) = target.find(&engine).await? else {
        return Ok(untracked);
    };
    let last = last.map(|n| n as usize);
    // The context's time range spans every stored entry; `last` says how many it shows.
    let fetch = if context { None } else { last };
    let (record, history) = match engine.history(&name, fetch).await {
        Ok(found) => found,
        Err(EngineError::NotTracked { .. }) => return Ok(untracked),
        Err(e) => return Err(engine_error(e)),
    };
    let (entries, context) = if context {
        let snapshot = engine
            .snapshots(&name, Some(1))
            .await
            .map_err(engine_error)?;
        let markdown = zdrive::format::history_context(
            &name,
            record.as_ref(),
            &history,
            snapshot.first(),
            last.unwrap_or(zdrive::format::DEFAULT_CONTEXT_ENTRIES),
            setup.config.context_max_bytes(),
        );
        (Vec::new(), Some(markdown))
    } else {
        let entries = history
            .entries
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?;
        (entries, None)
    };
    Ok(Response::ZdrivePane {
        pane_name: Some(name),
        record: record.as_ref().map(to_json).transpose()?,
        entries,
        total_entries: history.total,
        context,
    })
}

async fn rename_pane(pane: String, new_name: String) -> Answer {
    // Checked before any store is opened, so bad input never waits on one.
    zdrive::model::validate_name("pane name", &pane).map_err(bad_request)?;
    zdrive::model::validate_name("new pane name", &new_name).map_err(bad_request)?;
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Write).await?;
    let record = engine
        .rename(&pane, &new_name)
        .await
        .map_err(engine_error)?;
    let retitled = pane != new_name && setup.retitle_pane(&record, &new_name);
    Ok(Response::ZdriveRenamed {
        pane_name: new_name,
        previous_name: pane,
        record: to_json(&record)?,
        retitled,
    })
}

async fn tag_pane(pane: String, change: MetadataChange) -> Answer {
    zdrive::model::validate_name("pane name", &pane).map_err(bad_request)?;
    if change.set.is_empty() && change.remove.is_empty() {
        return Err(bad_request("zdrive_tag has nothing to set or remove")
            .with_hint(r#"send "set":{"KEY":"VALUE"} or "remove":["KEY"]"#));
    }
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Write).await?;
    let record = engine.tag(&pane, &change).await.map_err(engine_error)?;
    Ok(Response::ZdriveTagged {
        pane_name: pane,
        record: to_json(&record)?,
    })
}

async fn track_pane(session: String, pane_id: String, name: String, tab: Option<String>) -> Answer {
    zdrive::model::validate_name("pane name", &name).map_err(bad_request)?;
    if session.is_empty() || !is_terminal_id(&pane_id) {
        return Err(bad_request(format!(
            "zdrive_track needs a session and a terminal pane id (terminal_N), not {pane_id:?} in {session:?}"
        )));
    }
    let setup = resolve_setup()?;
    let tab = match tab {
        Some(tab) => tab,
        None => live_tab(&setup, &session, &pane_id).unwrap_or_default(),
    };
    let engine = open_engine(&setup, Access::Write).await?;
    let nav = Navigation {
        created: false,
        session,
        tab,
        pane_id,
    };
    let record = engine
        .track(&name, &nav, chrono::Utc::now())
        .await
        .map_err(engine_error)?;
    let retitled = setup.retitle_pane(&record, &name);
    Ok(Response::ZdriveTracked {
        pane_name: name,
        record: to_json(&record)?,
        retitled,
    })
}

fn is_terminal_id(pane_id: &str) -> bool {
    pane_id
        .strip_prefix("terminal_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Returns the tab the pane is in, asking the live session; `None` when it cannot be reached.
fn live_tab(setup: &zdrive::setup::Setup, session: &str, pane_id: &str) -> Option<String> {
    let mut mux = setup.connect_mux(Some(session)).ok()?;
    mux.list_panes()
        .ok()?
        .into_iter()
        .find(|p| p.pane_id == pane_id)
        .map(|p| p.tab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane(name: &str, session: &str, id: &str, stale: bool, accessed: i64) -> PaneRecord {
        PaneRecord {
            name: name.into(),
            session: session.into(),
            pane_id: id.into(),
            stale,
            last_accessed: chrono::DateTime::from_timestamp(accessed, 0),
            ..Default::default()
        }
    }

    #[test]
    fn a_pane_is_found_by_session_and_id_preferring_live_and_recent_ones() {
        let panes = [
            pane("old", "work", "terminal_1", true, 900),
            pane("api", "work", "terminal_1", false, 100),
            pane("web", "work", "terminal_2", false, 500),
            pane("other", "play", "terminal_1", false, 800),
            pane("newer", "work", "terminal_2", false, 600),
        ];
        let found = |s, id| tracked_at(&panes, s, id).map(|p| p.name.as_str());
        assert_eq!(found("work", "terminal_1"), Some("api"));
        assert_eq!(found("work", "terminal_2"), Some("newer"));
        assert_eq!(found("play", "terminal_1"), Some("other"));
        assert_eq!(found("work", "terminal_9"), None);
        assert_eq!(found("gone", "terminal_1"), None);
    }

    #[test]
    fn a_request_names_its_pane_or_where_it_lives() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            PaneRef::from_request("zdrive_pane", some("api"), None, None),
            Ok(PaneRef::Name("api".into()))
        );
        assert_eq!(
            PaneRef::from_request("zdrive_pane", None, some("work"), some("terminal_3")),
            Ok(PaneRef::At {
                session: "work".into(),
                pane_id: "terminal_3".into()
            })
        );
        let bad = PaneRef::from_request("zdrive_pane", some("a:b"), None, None).unwrap_err();
        assert_eq!(bad.kind, ErrorKind::BadRequest);
        let none =
            PaneRef::from_request("zdrive_pane", None, some(""), some("terminal_3")).unwrap_err();
        assert_eq!(
            none.message,
            "zdrive_pane needs a pane name, or a session and a pane id"
        );
        assert_eq!(
            none.hint.as_deref(),
            Some(r#"send {"type":"zdrive_pane","pane":"NAME"} or session and pane_id"#)
        );
    }

    #[test]
    fn only_terminal_ids_are_tracked() {
        assert!(is_terminal_id("terminal_12"));
        for bad in ["plugin_1", "terminal_", "terminal_x", "12", ""] {
            assert!(!is_terminal_id(bad), "{bad}");
        }
    }
}
