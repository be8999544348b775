//! `zdrive_snapshots`, `zdrive_snapshot` and `zdrive_consent` requests: the snapshot pane and
//! the `zdrive::snapshot` pipe, carried out with the engine, configuration and consent of
//! `zdrive pane snapshot` (DESIGN.md D4, D7: nothing reaches an LLM but through that engine).

use std::sync::Mutex;

use bridge_protocol::{ErrorBody, ErrorKind, Response};
use zdrive::config::Config;
use zdrive::setup::Access;
use zdrive::snapshot::{SnapshotError, SnapshotOptions, SnapshotResult};

use crate::keyed::{self, Answer, RecentAnswers};
use crate::zdrive_engine::{open_engine, resolve_setup};
use crate::zdrive_log::{bad_request, engine_error};
use crate::zdrive_pane::PaneRef;

/// What the user is told to do when consent is missing.
pub const CONSENT_HINT: &str =
    "grant consent with: zdrive config consent --grant, or press c in the snapshot pane";

/// What a `zdrive_snapshots` request asks for.
#[derive(Debug, Clone, Default)]
pub struct SnapshotsArgs {
    pub pane: Option<String>,
    pub session: Option<String>,
    pub pane_id: Option<String>,
    pub last: Option<u32>,
}

/// Reads a pane's snapshots and the settings a new one would be made with.
pub async fn snapshots(args: SnapshotsArgs) -> Answer {
    keyed::run_blocking(keyed::on_engine_thread(move || read_snapshots(args))).await
}

/// Makes a snapshot of `pane`, once per key.
pub async fn snapshot(
    recent: &Mutex<RecentAnswers>,
    pane: String,
    force: bool,
    key: Option<String>,
) -> Answer {
    let key = key.map(|k| format!("zdrive_snapshot:{k}"));
    let work = keyed::on_engine_thread(move || make_snapshot(pane, force));
    match keyed::run_once(recent, key.as_deref(), work).await {
        (
            Ok(Response::ZdriveSnapshotted {
                pane_name,
                snapshot,
                reused,
                ..
            }),
            first,
        ) => Ok(Response::ZdriveSnapshotted {
            pane_name,
            snapshot,
            reused,
            first,
        }),
        (other, _) => other,
    }
}

/// Grants or revokes consent in zdrive's configuration file.
pub async fn consent(grant: bool) -> Answer {
    keyed::run_blocking(move || write_consent(grant)).await
}

async fn read_snapshots(args: SnapshotsArgs) -> Answer {
    let target = PaneRef::from_request("zdrive_snapshots", args.pane, args.session, args.pane_id)?;
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Read).await?;
    let pane_name = target.find(&engine).await?;
    let snapshots = match &pane_name {
        Some(name) => engine
            .snapshots(name, args.last.map(|n| n as usize))
            .await
            .map_err(engine_error)?
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?,
        None => Vec::new(),
    };
    let settings = setup.llm_settings();
    Ok(Response::ZdriveSnapshots {
        pane_name,
        consent: setup.config.llm_consent,
        provider: settings.kind.as_str().to_owned(),
        model: settings.model.clone(),
        local: settings.is_local(),
        snapshots,
    })
}

async fn make_snapshot(pane: String, force: bool) -> Answer {
    zdrive::model::validate_name("pane name", &pane).map_err(bad_request)?;
    let setup = resolve_setup()?;
    let engine = open_engine(&setup, Access::Write).await?;
    let options = SnapshotOptions {
        force,
        dry_run: false,
    };
    let result = zdrive::snapshot::snapshot(&setup, &engine, &pane, &options, chrono::Utc::now())
        .await
        .map_err(snapshot_error)?;
    let SnapshotResult::Done(outcome) = result else {
        return Err(ErrorBody::new(
            ErrorKind::Internal,
            "zdrive answered a snapshot request with a dry run",
        ));
    };
    Ok(Response::ZdriveSnapshotted {
        pane_name: outcome.pane,
        snapshot: serde_json::to_value(&outcome.record)
            .map_err(|e| ErrorBody::new(ErrorKind::Internal, e.to_string()))?,
        reused: outcome.reused,
        first: true,
    })
}

/// Classifies a snapshot failure: missing consent and settings the user must fix are the
/// caller's to correct (`bad_request`), a provider or store that fails is `unavailable`.
fn snapshot_error(e: SnapshotError) -> ErrorBody {
    match e {
        SnapshotError::NoConsent => {
            bad_request("zdrive may not send pane context to an LLM: consent has not been granted")
                .with_hint(CONSENT_HINT)
        }
        SnapshotError::Engine(e) => engine_error(e),
        SnapshotError::Llm(e) => match e.kind() {
            "missing_key" | "unauthorized" | "unknown_model" | "bad_request"
            | "invalid_settings" => bad_request(e),
            _ => ErrorBody::new(ErrorKind::Unavailable, e.to_string()),
        },
        SnapshotError::Config(e) => ErrorBody::new(ErrorKind::Internal, e.to_string())
            .with_hint("check it with: zdrive config show"),
    }
}

fn write_consent(grant: bool) -> Answer {
    let setup = resolve_setup()?;
    let config_error = |e: zdrive::config::ConfigError| {
        ErrorBody::new(ErrorKind::Internal, e.to_string())
            .with_hint("check it with: zdrive config show")
    };
    // The file as written, not the setup's view of it: that one carries environment overrides
    // that must not end up in the file.
    let mut config = Config::load(&setup.config_path).map_err(config_error)?;
    config.llm_consent = grant;
    config.save(&setup.config_path).map_err(config_error)?;
    tracing::info!(grant, file = %setup.config_path.display(), "zdrive LLM consent changed");
    Ok(Response::ZdriveConsent { consent: grant })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_consent_is_a_bad_request_that_says_how_to_grant_it() {
        let error = snapshot_error(SnapshotError::NoConsent);
        assert_eq!(error.kind, ErrorKind::BadRequest);
        assert_eq!(error.hint.as_deref(), Some(CONSENT_HINT));
    }
}
