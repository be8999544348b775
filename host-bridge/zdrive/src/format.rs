//! Renders a pane's history for people (text), programs (JSON) and LLM prompts (context).
//!
//! Stored text is shown as given but inert: control characters (an ANSI escape's ESC among
//! them) are printed in caret notation, so a summary cannot recolour or move a terminal.

use std::fmt::Write as _;

use serde_json::json;

use crate::model::{EntryType, IntentEntry, PaneRecord, SnapshotRecord, Source};
use crate::store::History;

pub use crate::config::DEFAULT_CONTEXT_MAX_BYTES;

pub use bridge_protocol::text::inert;

/// Returns a multi-line text inert line by line.
fn inert_block(text: &str) -> String {
    text.lines().map(inert).collect::<Vec<_>>().join("\n")
}

fn session_of(record: Option<&PaneRecord>) -> (&str, &str) {
    record.map_or(("", ""), |r| (r.session.as_str(), r.tab.as_str()))
}

/// Returns the history as JSON in the seed's shape.
pub fn history_json(
    name: &str,
    record: Option<&PaneRecord>,
    history: &History,
) -> serde_json::Value {
    let (session, tab) = session_of(record);
    json!({
        "pane_name": name,
        "session": session,
        "tab": tab,
        "total_entries": history.total,
        "entries": history.entries,
    })
}

/// Returns a pane's record as JSON in the seed's shape (`pane info`, and each pane of `list`,
/// `pane rename` and navigation): `pane_name`, `status` (`active` or `stale`), `session`,
/// `tab`, `pane_id`, the three times (RFC 3339, or null before the first) and `metadata`.
pub fn pane_info_json(record: &PaneRecord) -> serde_json::Value {
    json!({
        "pane_name": record.name,
        "status": if record.stale { "stale" } else { "active" },
        "session": record.session,
        "tab": record.tab,
        "pane_id": record.pane_id,
        "created_at": record.created_at.as_ref().map(crate::model::format_time),
        "last_seen": record.last_seen.as_ref().map(crate::model::format_time),
        "last_accessed": record.last_accessed.as_ref().map(crate::model::format_time),
        "metadata": record.metadata,
    })
}

fn marker(entry: &IntentEntry) -> &'static str {
    match entry.entry_type {
        EntryType::Milestone => "★",
        EntryType::Checkpoint => "•",
        EntryType::Exploration => "?",
        EntryType::Snapshot => "◆",
    }
}

/// Returns the history as text for people: newest first, milestones marked with ★.
pub fn history_text(name: &str, record: Option<&PaneRecord>, history: &History) -> String {
    let (session, tab) = session_of(record);
    let mut out = format!(
        "{} (session {}, tab {}): {} entr{}, newest first\n",
        inert(name),
        inert(if session.is_empty() { "-" } else { session }),
        inert(if tab.is_empty() { "-" } else { tab }),
        history.total,
        if history.total == 1 { "y" } else { "ies" }
    );
    for entry in &history.entries {
        let _ = writeln!(
            out,
            "{} {} {:<11} {:<5} {}",
            marker(entry),
            entry.timestamp.format("%Y-%m-%d %H:%M:%S"),
            entry.entry_type.as_str(),
            entry.source.as_str(),
            inert(&entry.summary)
        );
        if !entry.artifacts.is_empty() {
            let artifacts: Vec<String> = entry.artifacts.iter().map(|a| inert(a)).collect();
            let _ = writeln!(out, "    artifacts: {}", artifacts.join(", "));
        }
    }
    out
}

/// How many entries the context's "Recent Activity" shows unless told otherwise.
pub const DEFAULT_CONTEXT_ENTRIES: usize = 5;

/// Returns one entry of the context's "Recent Activity": `★` for a milestone, `●` otherwise,
/// the time of day, tags, the summary on one line, and its artifacts on the next.
fn context_entry(entry: &IntentEntry) -> String {
    let mark = if entry.entry_type == EntryType::Milestone {
        '★'
    } else {
        '●'
    };
    let mut line = format!("{mark} [{}]", entry.timestamp.format("%H:%M"));
    // The specification tags only agents; explorations and snapshots say what they are too.
    match entry.entry_type {
        EntryType::Exploration => line.push_str(" [EXPLORATION]"),
        EntryType::Snapshot => line.push_str(" [SNAPSHOT]"),
        EntryType::Milestone | EntryType::Checkpoint => {}
    }
    if entry.source == Source::Agent {
        line.push_str(" [AGENT]");
    }
    let _ = writeln!(line, " {}", inert(&entry.summary).replace('\n', " "));
    if !entry.artifacts.is_empty() {
        let artifacts: Vec<String> = entry.artifacts.iter().map(|a| inert(a)).collect();
        let _ = writeln!(line, "  Artifacts: {}", artifacts.join(", "));
    }
    line.push('\n');
    line
}

/// Returns a span in its two largest units: `1d 5h`, `3h 20m`, `45m`.
pub fn short_span(span: chrono::TimeDelta) -> String {
    let minutes = span.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {mins}m")
    } else {
        format!("{mins}m")
    }
}

/// Returns the history as markdown for an LLM prompt (the specification's "Workspace Context"),
/// at most `max_bytes` long unless the header alone is longer: the newest `recent` entries are
/// shown, and old ones are cut first to fit, the header never.
///
/// `history` should hold every stored entry: the time range spans them all. Sections, in
/// order, with stable markers: `# Workspace Context: NAME`, the `Session:`, `Total Entries:`
/// and `Time Range:` lines, `## Recent Activity (Last N Entries)`, `## Current State`,
/// `## Suggested Next Steps`. With a `snapshot` (the pane's newest), its current state and
/// next steps lead those two sections.
pub fn history_context(
    name: &str,
    record: Option<&PaneRecord>,
    history: &History,
    snapshot: Option<&SnapshotRecord>,
    recent: usize,
    max_bytes: usize,
) -> String {
    let (session, tab) = session_of(record);
    let mut header = format!("# Workspace Context: {}\n\n", inert(name));
    let _ = writeln!(
        header,
        "Session: {} / Tab: {}",
        inert(if session.is_empty() { "-" } else { session }),
        inert(if tab.is_empty() { "-" } else { tab })
    );
    let _ = writeln!(header, "Total Entries: {}", history.total);
    match (history.entries.first(), history.entries.last()) {
        (Some(newest), Some(oldest)) => {
            let _ = writeln!(
                header,
                "Time Range: {} → {} ({})",
                oldest.timestamp.format("%Y-%m-%d %H:%M"),
                newest.timestamp.format("%Y-%m-%d %H:%M"),
                short_span(newest.timestamp - oldest.timestamp)
            );
        }
        _ => header.push_str("Time Range: -\n"),
    }
    header.push('\n');

    let mut state = String::from("## Current State\n\n");
    let snapshot_part = |title: &str| {
        snapshot.and_then(|s| {
            section(&s.summary, title).map(|text| {
                let text = inert_block(text);
                (s, crate::text::cut_to(&text, max_bytes / 4).to_owned())
            })
        })
    };
    if let Some((s, text)) = snapshot_part("Current state") {
        let _ = writeln!(
            state,
            "From the snapshot of {} ({}):\n{text}\n",
            s.timestamp.format("%Y-%m-%d %H:%M"),
            inert(&s.model)
        );
    }
    match history.entries.first() {
        Some(latest) => {
            let _ = writeln!(
                state,
                "- Latest ({}, {}): {}",
                latest.entry_type.as_str(),
                latest.source.as_str(),
                inert(&latest.summary).replace('\n', " ")
            );
            if let Some(m) = history
                .entries
                .iter()
                .find(|e| e.entry_type == EntryType::Milestone)
            {
                let _ = writeln!(
                    state,
                    "- Last milestone: {}",
                    inert(&m.summary).replace('\n', " ")
                );
            }
        }
        None => state.push_str("- No entries yet.\n"),
    }
    state.push('\n');

    let mut steps = String::from("## Suggested Next Steps\n\n");
    if let Some((_, text)) = snapshot_part("Suggested next steps") {
        let _ = writeln!(steps, "{text}");
    }
    match history.entries.first() {
        Some(latest) if latest.entry_type == EntryType::Exploration => {
            steps.push_str(
                "- Decide on the exploration above: adopt it (log a checkpoint) or drop it.\n",
            );
        }
        Some(latest) if latest.entry_type == EntryType::Milestone => {
            steps.push_str(
                "- Start the next piece of work and log a checkpoint when it takes shape.\n",
            );
        }
        Some(_) => steps.push_str("- Continue from the latest checkpoint.\n"),
        None => steps.push_str("- Log what you are working on: zdrive pane log NAME \"...\"\n"),
    }
    if history
        .entries
        .iter()
        .take(recent)
        .any(|e| !e.artifacts.is_empty())
    {
        steps.push_str("- Review the artifacts listed above.\n");
    }

    let heading = |n: usize| {
        format!(
            "## Recent Activity (Last {n} {})\n\n",
            if n == 1 { "Entry" } else { "Entries" }
        )
    };
    let fixed = header.len() + heading(recent).len() + state.len() + steps.len();
    let mut budget = max_bytes.saturating_sub(fixed);
    let mut activity = String::new();
    let mut shown = 0;
    for entry in history.entries.iter().take(recent) {
        let block = context_entry(entry);
        if block.len() > budget {
            break;
        }
        budget -= block.len();
        activity.push_str(&block);
        shown += 1;
    }
    if shown == 0 {
        activity.push_str("No entries yet.\n\n");
    }
    format!("{header}{}{activity}{state}{steps}", heading(shown))
}

/// Says how many entries a history holds: `1 entry`, `4 entries`.
pub fn entry_count(n: u64) -> String {
    if n == 1 {
        "1 entry".to_owned()
    } else {
        format!("{n} entries")
    }
}

/// Returns the markdown section under heading `title` (`## Current state`), without the heading.
pub fn section<'a>(summary: &'a str, title: &str) -> Option<&'a str> {
    let mut start = None;
    let mut offset = 0;
    for line in summary.split_inclusive('\n') {
        let heading = line.trim_start_matches('#');
        let is_heading = line.starts_with('#') && heading.starts_with(' ');
        if is_heading {
            if let Some(s) = start {
                return Some(summary[s..offset].trim());
            }
            if heading.trim().eq_ignore_ascii_case(title) {
                start = Some(offset + line.len());
            }
        }
        offset += line.len();
    }
    start.map(|s| summary[s..].trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_time;

    #[test]
    fn sections_are_found_by_heading() {
        let summary = "## What was done\n- a\n\n## Current state\n- tests pass\n- b\n\n\
                       ## Suggested next steps\n1. ship it\n";
        assert_eq!(section(summary, "Current state"), Some("- tests pass\n- b"));
        assert_eq!(section(summary, "suggested next steps"), Some("1. ship it"));
        assert_eq!(section(summary, "Nothing"), None);
    }

    fn entry(i: u32, t: EntryType, s: Source) -> IntentEntry {
        IntentEntry {
            timestamp: parse_time(&format!("2026-01-02T03:{:02}:00Z", i % 60)).unwrap(),
            entry_type: t,
            source: s,
            summary: format!("step {i}"),
            artifacts: if i.is_multiple_of(2) {
                vec![format!("src/f{i}.rs")]
            } else {
                vec![]
            },
        }
    }

    fn sample(n: u32) -> History {
        History {
            entries: (0..n)
                .rev()
                .map(|i| {
                    entry(
                        i,
                        if i.is_multiple_of(5) {
                            EntryType::Milestone
                        } else {
                            EntryType::Checkpoint
                        },
                        if i.is_multiple_of(3) {
                            Source::Agent
                        } else {
                            Source::Human
                        },
                    )
                })
                .collect(),
            total: u64::from(n),
        }
    }

    #[test]
    fn escapes_are_shown_inert() {
        assert_eq!(
            inert("\u{1b}[31mred\u{1b}[0m\tx\u{7f}"),
            "^[[31mred^[[0m^Ix^?"
        );
        assert_eq!(inert("plain ünï"), "plain ünï");
        // C1 controls as the plugins show them (one `inert`, in bridge_protocol).
        assert_eq!(inert("\u{85}\u{9b}2J"), "<U+0085><U+009B>2J");
    }

    #[test]
    fn text_marks_milestones_newest_first() {
        let record = PaneRecord {
            session: "s1".into(),
            tab: "dev".into(),
            ..Default::default()
        };
        let text = history_text("api", Some(&record), &sample(2));
        assert_eq!(
            text,
            "api (session s1, tab dev): 2 entries, newest first\n\
             • 2026-01-02 03:01:00 checkpoint  human step 1\n\
             ★ 2026-01-02 03:00:00 milestone   agent step 0\n    artifacts: src/f0.rs\n"
        );
    }

    #[test]
    fn context_is_capped_by_cutting_old_entries_never_the_header() {
        let history = sample(60);
        let full = history_context("api", None, &history, None, 60, 1 << 20);
        assert!(full.contains("## Recent Activity (Last 60 Entries)"));
        assert!(full.contains("★ [03:55] step 55\n"), "{full}");
        assert!(full.contains("● [03:57] [AGENT] step 57\n"), "{full}");
        let small = history_context("api", None, &history, None, 60, 1500);
        assert!(small.len() <= 1500, "{}", small.len());
        assert!(small.starts_with("# Workspace Context: api\n"));
        for marker in [
            "## Recent Activity (Last ",
            "## Current State",
            "## Suggested Next Steps",
            "Total Entries: 60",
            "Time Range: 2026-01-02 03:00 → 2026-01-02 03:59 (59m)",
        ] {
            assert!(small.contains(marker), "{marker} missing");
        }
        assert!(small.contains("step 59"), "the newest entry stays");
        assert!(!small.contains("step 0\n"), "the oldest entry goes");
        let tiny = history_context("api", None, &history, None, 5, 10);
        assert!(tiny.starts_with("# Workspace Context: api\n"));
        assert!(tiny.contains("## Recent Activity (Last 0 Entries)"));
    }

    /// The specification's example, from fixed data: compared whole.
    /// The specification's example: six entries over two days of a pane in main / backend.
    fn spec_example() -> (PaneRecord, History) {
        let at = |t: &str| parse_time(t).unwrap();
        let entry = |t: &str, kind, source, summary: &str, artifacts: &[&str]| IntentEntry {
            timestamp: at(t),
            entry_type: kind,
            source,
            summary: summary.into(),
            artifacts: artifacts.iter().map(|a| a.to_string()).collect(),
        };
        let history = History {
            entries: vec![
                entry(
                    "2026-01-29T15:45:00Z",
                    EntryType::Milestone,
                    Source::Human,
                    "Released API v2.0",
                    &["CHANGELOG.md"],
                ),
                entry(
                    "2026-01-29T14:20:00Z",
                    EntryType::Checkpoint,
                    Source::Agent,
                    "Added rate limiting middleware",
                    &["src/middleware/rate_limit.rs"],
                ),
                entry(
                    "2026-01-29T11:05:00Z",
                    EntryType::Exploration,
                    Source::Agent,
                    "Tried a token bucket in Redis",
                    &[],
                ),
                entry(
                    "2026-01-28T16:30:00Z",
                    EntryType::Checkpoint,
                    Source::Human,
                    "Endpoint validation in place",
                    &["src/api/validate.rs", "tests/validate.rs"],
                ),
                entry(
                    "2026-01-28T12:00:00Z",
                    EntryType::Checkpoint,
                    Source::Human,
                    "Split the router",
                    &[],
                ),
                entry(
                    "2026-01-28T10:00:00Z",
                    EntryType::Milestone,
                    Source::Human,
                    "Started API v2",
                    &[],
                ),
            ],
            total: 6,
        };
        let record = PaneRecord {
            name: "api-server".into(),
            session: "main".into(),
            tab: "backend".into(),
            pane_id: "terminal_3".into(),
            created_at: Some(at("2026-01-28T09:58:00Z")),
            last_seen: Some(at("2026-01-29T15:50:00Z")),
            last_accessed: Some(at("2026-01-29T15:45:00Z")),
            stale: false,
            metadata: [("issue".to_owned(), "42".to_owned())].into(),
        };
        (record, history)
    }

    #[test]
    fn context_is_the_specifications_workspace_context() {
        let (record, history) = spec_example();
        insta::assert_snapshot!(history_context(
            "api-server",
            Some(&record),
            &history,
            None,
            DEFAULT_CONTEXT_ENTRIES,
            DEFAULT_CONTEXT_MAX_BYTES
        ));
    }

    #[test]
    fn history_json_is_the_seeds_shape() {
        let (record, history) = spec_example();
        let json = history_json("api-server", Some(&record), &history);
        insta::assert_snapshot!(serde_json::to_string_pretty(&json).unwrap());
    }

    #[test]
    fn pane_info_json_is_the_seeds_shape() {
        let (record, _) = spec_example();
        insta::assert_snapshot!(serde_json::to_string_pretty(&pane_info_json(&record)).unwrap());
        let fresh = PaneRecord {
            name: "scratch".into(),
            stale: true,
            ..Default::default()
        };
        insta::assert_snapshot!(
            "pane_info_json_of_a_stale_record_never_seen",
            serde_json::to_string_pretty(&pane_info_json(&fresh)).unwrap()
        );
    }

    /// The JSON type a documented field has.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Str,
        Number,
        Array,
        Object,
        Time,
        TimeOrNull,
        OneOf(&'static [&'static str]),
    }

    fn check(v: &serde_json::Value, fields: &[(&str, Kind)], what: &str) {
        let object = v
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
        for &(field, kind) in fields {
            let value = object
                .get(field)
                .unwrap_or_else(|| panic!("{what} has no `{field}`: {v}"));
            let time = |s: &str| chrono::DateTime::parse_from_rfc3339(s).is_ok();
            let ok = match kind {
                Kind::Str => value.is_string(),
                Kind::Number => value.is_u64(),
                Kind::Array => value.is_array(),
                Kind::Object => value.is_object(),
                Kind::Time => value.as_str().is_some_and(time),
                Kind::TimeOrNull => value.is_null() || value.as_str().is_some_and(time),
                Kind::OneOf(words) => value.as_str().is_some_and(|s| words.contains(&s)),
            };
            assert!(ok, "{what}.{field} is not {kind:?}: {value}");
        }
    }

    /// Every field the specification names for the history JSON and `pane info`, with its type.
    #[test]
    fn every_documented_field_is_there_with_its_type() {
        let (record, history) = spec_example();
        let json = history_json("api-server", Some(&record), &history);
        check(
            &json,
            &[
                ("pane_name", Kind::Str),
                ("session", Kind::Str),
                ("tab", Kind::Str),
                ("total_entries", Kind::Number),
                ("entries", Kind::Array),
            ],
            "history",
        );
        let entries = json["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 6);
        for entry in entries {
            check(
                entry,
                &[
                    ("timestamp", Kind::Time),
                    (
                        "entry_type",
                        Kind::OneOf(&["checkpoint", "milestone", "exploration", "snapshot"]),
                    ),
                    ("source", Kind::OneOf(&["human", "agent"])),
                    ("summary", Kind::Str),
                    ("artifacts", Kind::Array),
                ],
                "entry",
            );
            assert!(entry["artifacts"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a.is_string()));
        }
        let info = pane_info_json(&record);
        let fields = [
            ("pane_name", Kind::Str),
            ("status", Kind::OneOf(&["active", "stale"])),
            ("session", Kind::Str),
            ("tab", Kind::Str),
            ("pane_id", Kind::Str),
            ("created_at", Kind::TimeOrNull),
            ("last_seen", Kind::TimeOrNull),
            ("last_accessed", Kind::TimeOrNull),
            ("metadata", Kind::Object),
        ];
        check(&info, &fields, "pane info");
        check(
            &pane_info_json(&PaneRecord::default()),
            &fields,
            "a new pane's info",
        );
    }

    #[test]
    fn spans_show_their_two_largest_units() {
        let span = |m: i64| short_span(chrono::TimeDelta::minutes(m));
        assert_eq!(span(29 * 60 + 45), "1d 5h");
        assert_eq!(span(200), "3h 20m");
        assert_eq!(span(45), "45m");
        assert_eq!(span(-3), "0m");
    }
}
