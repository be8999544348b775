//! `zdrive pane ...`: naming, logging, history, snapshots and navigation of one pane.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::json;

use zdrive::config::Config;
use zdrive::format::{history_context, history_json, history_text, inert, DEFAULT_CONTEXT_ENTRIES};
use zdrive::model::parse_meta;
use zdrive::mux::{active_tab, Multiplexer};
use zdrive::setup::Access;
use zdrive::snapshot::{snapshot, SnapshotOptions, SnapshotOutcome, SnapshotResult};
use zdrive::{LogRequest, Navigation, Zdrive};

use super::args::PaneAction;
use super::{
    milestone_notification, pretty, read_summary, record_json, Output, Resolved, UserError,
};

pub(super) async fn pane_action(
    r: &Resolved,
    action: PaneAction,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Output> {
    match action {
        PaneAction::Log {
            name,
            summary,
            entry_type,
            source,
            artifacts,
        } => {
            let summary = if summary == "-" {
                read_summary(std::io::stdin().lock())?
            } else {
                summary
            };
            let entry_type = entry_type.parse()?;
            let source = match source.or_else(|| r.source.clone()) {
                Some(s) => s.parse()?,
                None => zdrive::Source::Human,
            };
            // Checked before connecting, so bad input never waits on a store.
            zdrive::model::validate_name("pane name", &name)?;
            zdrive::model::validate_summary(&summary)?;
            let engine = r.open_engine(Access::Write).await?;
            let outcome = engine
                .log(
                    &name,
                    LogRequest {
                        summary,
                        entry_type,
                        source,
                        artifacts,
                    },
                    now,
                )
                .await?;
            // A milestone lights the pane up in perth (success); best effort: the log is what
            // counts, and a pane outside a running session has nothing to light.
            let notified = if outcome.entry.entry_type == zdrive::model::EntryType::Milestone {
                milestone_notification(r, &engine, &name, &outcome.entry.summary).await
            } else {
                false
            };
            Ok(Output {
                data: json!({ "pane_name": name, "entry": outcome.entry, "total_entries": outcome.total, "notified": notified }),
                text: format!(
                    "logged {} on {} ({})\n",
                    outcome.entry.entry_type.as_str(),
                    inert(&name),
                    zdrive::format::entry_count(outcome.total)
                ),
            })
        }
        PaneAction::History {
            name,
            last,
            format,
            max_bytes,
        } => {
            let engine = r.open_engine(Access::Write).await?;
            // The context's time range spans every stored entry; `--last` says how many of
            // them its "Recent Activity" shows.
            let context = format == "context";
            let (record, history) = engine
                .history(&name, if context { None } else { last })
                .await?;
            let data = history_json(&name, record.as_ref(), &history);
            let text = match format.as_str() {
                "json" => format!("{}\n", pretty(&data)),
                "context" => history_context(
                    &name,
                    record.as_ref(),
                    &history,
                    engine.snapshots(&name, Some(1)).await?.first(),
                    last.unwrap_or(DEFAULT_CONTEXT_ENTRIES),
                    max_bytes.unwrap_or(r.config.context_max_bytes()),
                ),
                _ => history_text(&name, record.as_ref(), &history),
            };
            let data = if format == "context" {
                json!({ "pane_name": name, "context": text })
            } else {
                data
            };
            Ok(Output { data, text })
        }
        PaneAction::Snapshot {
            name: Some(name),
            dry_run,
            force,
            ..
        } => {
            zdrive::model::validate_name("pane name", &name)?;
            let engine = r.open_engine(Access::Write).await?;
            let options = SnapshotOptions { force, dry_run };
            if !dry_run && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                let s = r.llm_settings();
                eprintln!(
                    "zdrive: snapshot of {}: asking {} ({})…",
                    inert(&name),
                    s.kind.as_str(),
                    s.model
                );
            }
            match snapshot(r, &engine, &name, &options, now).await? {
                SnapshotResult::DryRun(dry) => {
                    for note in &dry.notes {
                        eprintln!("zdrive: note: {note}");
                    }
                    let mut text = format!("POST {}\n", dry.endpoint);
                    for (k, v) in &dry.headers {
                        text.push_str(&format!("{k}: {v}\n"));
                    }
                    text.push_str(&format!("\n{}\n", pretty(&dry.body)));
                    Ok(Output {
                        data: serde_json::to_value(&dry)?,
                        text,
                    })
                }
                SnapshotResult::Done(outcome) => Ok(Output {
                    text: snapshot_text(&outcome),
                    data: serde_json::to_value(&outcome)?,
                }),
            }
        }
        PaneAction::Snapshot {
            name: None,
            dry_run,
            force,
            jobs,
            ..
        } => {
            snapshot_all(
                r,
                SnapshotOptions { force, dry_run },
                usize::from(jobs),
                now,
            )
            .await
        }
        PaneAction::Snapshots { name, last } => {
            let engine = r.open_engine(Access::Write).await?;
            engine.info(&name).await?;
            let snapshots = engine.snapshots(&name, last).await?;
            let mut text = String::new();
            if snapshots.is_empty() {
                text = format!(
                    "no snapshots of {} yet; make one with: zdrive pane snapshot {}\n",
                    inert(&name),
                    inert(&name)
                );
            }
            for s in &snapshots {
                text.push_str(&format!(
                    "=== {} · {} {} · {} ms ===\n{}\n\n",
                    zdrive::model::format_time(&s.timestamp),
                    s.provider,
                    inert(&s.model),
                    s.duration_ms,
                    inert_lines(&s.summary)
                ));
            }
            Ok(Output {
                data: json!({ "pane_name": name, "snapshots": snapshots }),
                text,
            })
        }
        PaneAction::Info { name } => {
            let engine = r.open_engine(Access::Read).await?;
            let record = engine.info(&name).await?;
            let data = record_json(&record);
            Ok(Output {
                text: format!("{}\n", pretty(&data)),
                data,
            })
        }
        PaneAction::Rename { old, new } => {
            // Checked before connecting, so bad input never waits on a store.
            zdrive::model::validate_name("pane name", &old)?;
            zdrive::model::validate_name("new pane name", &new)?;
            let engine = r.open_engine(Access::Write).await?;
            let record = engine.rename(&old, &new).await?;
            let retitled = old != new && r.retitle_pane(&record, &new);
            let mut text = format!("renamed {} to {}", inert(&old), inert(&new));
            if retitled {
                text.push_str(&format!(
                    " (its pane {} in session {} is titled so too)",
                    record.pane_id,
                    inert(&record.session)
                ));
            }
            text.push('\n');
            Ok(Output {
                data: json!({ "previous_name": old, "pane": record_json(&record), "retitled": retitled }),
                text,
            })
        }
        PaneAction::Tag {
            name,
            pairs,
            remove,
        } => {
            zdrive::model::validate_name("pane name", &name)?;
            if pairs.is_empty() && remove.is_empty() {
                return Err(UserError(
                    "nothing to tag: give KEY=VALUE pairs or --remove KEY, e.g. zdrive pane tag api issue=42"
                        .into(),
                )
                .into());
            }
            let change = zdrive::MetadataChange {
                set: pairs
                    .iter()
                    .map(|m| parse_meta(m))
                    .collect::<Result<BTreeMap<_, _>, _>>()?,
                remove,
            };
            let engine = r.open_engine(Access::Write).await?;
            let record = engine.tag(&name, &change).await?;
            let mut changes: Vec<String> =
                change.set.iter().map(|(k, v)| format!("{k}={v}")).collect();
            changes.extend(change.remove.iter().map(|k| format!("-{k}")));
            Ok(Output {
                text: format!("tagged {}: {}\n", inert(&name), inert(&changes.join(" "))),
                data: record_json(&record),
            })
        }
    }
}

/// Returns `text` inert line by line (newlines kept).
pub(super) fn inert_lines(text: &str) -> String {
    text.lines().map(inert).collect::<Vec<_>>().join("\n")
}

pub(super) fn snapshot_text(outcome: &SnapshotOutcome) -> String {
    let s = &outcome.record;
    let head = if outcome.reused {
        format!(
            "snapshot of {}: nothing changed since {}, the last snapshot stands (--force asks again)",
            inert(&outcome.pane),
            zdrive::model::format_time(&s.timestamp)
        )
    } else {
        format!(
            "snapshot of {} stored ({} {}, {:.1} s, {} bytes sent, {})",
            inert(&outcome.pane),
            s.provider,
            inert(&s.model),
            s.duration_ms as f64 / 1000.0,
            s.context_bytes,
            zdrive::format::entry_count(outcome.total_entries)
        )
    };
    format!("{head}\n\n{}\n", inert_lines(&s.summary))
}

/// `pane snapshot --all`: every tracked pane, `jobs` at a time, a progress line per pane on
/// stderr; fails (after all were tried) when any failed.
pub(super) async fn snapshot_all(
    r: &Resolved,
    options: SnapshotOptions,
    jobs: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Output> {
    use futures_util::StreamExt as _;
    if !options.dry_run && !Config::load(&r.config_path)?.llm_consent {
        return Err(zdrive::snapshot::SnapshotError::NoConsent.into());
    }
    let engine = r.open_engine(Access::Write).await?;
    let panes = engine.list().await?;
    let total = panes.len();
    if total == 0 {
        return Ok(Output {
            data: json!({ "results": [] }),
            text: "no panes tracked yet; create one with: zdrive pane NAME\n".into(),
        });
    }
    let s = r.llm_settings();
    eprintln!(
        "zdrive: snapshotting {total} pane(s), {jobs} at a time, with {} ({})",
        s.kind.as_str(),
        s.model
    );
    let mut done = 0usize;
    let mut failed = 0usize;
    let mut results = Vec::new();
    let mut text = String::new();
    let engine = &engine;
    let mut stream = futures_util::stream::iter(panes.iter().map(|p| async move {
        (
            p.name.clone(),
            snapshot(r, engine, &p.name, &options, now).await,
        )
    }))
    .buffer_unordered(jobs.max(1));
    while let Some((name, result)) = stream.next().await {
        done += 1;
        let (line, value) = match result {
            Ok(SnapshotResult::Done(o)) => (
                if o.reused {
                    "unchanged, last snapshot stands"
                } else {
                    "stored"
                }
                .to_owned(),
                json!({ "pane_name": name, "ok": true, "reused": o.reused, "snapshot": o.record }),
            ),
            Ok(SnapshotResult::DryRun(d)) => (
                format!("would send {} bytes to {}", d.context_bytes, d.endpoint),
                json!({ "pane_name": name, "ok": true, "dry_run": d }),
            ),
            Err(e) => {
                failed += 1;
                (
                    format!("failed: {e}"),
                    json!({ "pane_name": name, "ok": false, "error": { "kind": e.kind(), "message": e.to_string() } }),
                )
            }
        };
        eprintln!("zdrive: [{done}/{total}] {}: {line}", inert(&name));
        text.push_str(&format!("{}: {line}\n", inert(&name)));
        results.push(value);
    }
    if failed > 0 {
        return Err(UserError(format!(
            "{failed} of {total} snapshot(s) failed:\n{}",
            text.trim_end()
        ))
        .into());
    }
    Ok(Output {
        data: json!({ "results": results }),
        text,
    })
}

pub(super) async fn navigate(
    mux: &mut dyn Multiplexer,
    engine: &Zdrive,
    name: &str,
    tab: Option<&str>,
) -> Result<Navigation> {
    let session = mux.session().to_owned();
    let record = engine.store().get_pane(name).await?;
    let live = mux.list_panes()?;
    let known = record
        .as_ref()
        .filter(|r| r.session == session)
        .and_then(|r| live.iter().find(|l| l.pane_id == r.pane_id))
        .or_else(|| live.iter().find(|l| l.title == name));
    if let Some(found) = known {
        mux.go_to_tab(&found.tab, false)?;
        mux.focus_pane(&found.pane_id)?;
        return Ok(Navigation {
            created: false,
            session,
            tab: found.tab.clone(),
            pane_id: found.pane_id.clone(),
        });
    }
    let tab = match tab {
        Some(t) => {
            mux.go_to_tab(t, true)?;
            t.to_owned()
        }
        None => active_tab(mux)?.unwrap_or_default(),
    };
    let pane_id = mux.new_pane(name)?;
    Ok(Navigation {
        created: true,
        session,
        tab,
        pane_id,
    })
}
