//! Renders a pane's history for people (text), programs (JSON) and LLM prompts (context).
//!
//! Stored text is shown as given but inert: control characters (an ANSI escape's ESC among
//! them) are printed in caret notation, so a summary cannot recolour or move a terminal.

use std::fmt::Write as _;

use serde_json::json;

use crate::model::{format_time, EntryType, IntentEntry, PaneRecord, SnapshotRecord, Source};
use crate::snapshot::section;
use crate::store::History;

/// Default cap of the context format, in bytes.
pub const DEFAULT_CONTEXT_MAX_BYTES: usize = 4096;

/// Returns `s` with control characters in caret notation (`ESC` as `^[`, `DEL` as `^?`).
pub fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(b'@' + c as u8));
            }
            '\u{7f}' => out.push_str("^?"),
            '\u{80}'..='\u{9f}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out
}

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

fn context_entry(entry: &IntentEntry) -> String {
    let kind = format!("[{}]", entry.entry_type.as_str().to_ascii_uppercase());
    let agent = if entry.source == Source::Agent {
        " [AGENT]"
    } else {
        ""
    };
    let mut line = format!(
        "- {kind}{agent} {} {}\n",
        format_time(&entry.timestamp),
        inert(&entry.summary).replace('\n', " ")
    );
    if !entry.artifacts.is_empty() {
        let artifacts: Vec<String> = entry
            .artifacts
            .iter()
            .map(|a| format!("`{}`", inert(a)))
            .collect();
        let _ = writeln!(line, "  - artifacts: {}", artifacts.join(", "));
    }
    line
}

/// Returns the history as markdown for an LLM prompt, at most `max_bytes` long unless the
/// header alone is longer: old entries are cut first, the header never.
///
/// Sections, in order, with stable markers: `# Pane context: NAME`, `## Recent activity`,
/// `## Current state`, `## Suggested next steps`. With a `snapshot` (the pane's newest), its
/// current state and next steps lead those two sections.
pub fn history_context(
    name: &str,
    record: Option<&PaneRecord>,
    history: &History,
    snapshot: Option<&SnapshotRecord>,
    max_bytes: usize,
) -> String {
    let (session, tab) = session_of(record);
    let mut header = format!("# Pane context: {}\n\n", inert(name));
    let _ = writeln!(
        header,
        "- Session: {} / Tab: {}",
        inert(if session.is_empty() { "-" } else { session }),
        inert(if tab.is_empty() { "-" } else { tab })
    );
    let _ = writeln!(header, "- Total entries: {}", history.total);
    if let (Some(newest), Some(oldest)) = (history.entries.first(), history.entries.last()) {
        let _ = writeln!(
            header,
            "- Time range: {} .. {}",
            format_time(&oldest.timestamp),
            format_time(&newest.timestamp)
        );
    }
    header.push('\n');

    let mut state = String::from("## Current state\n\n");
    let snapshot_part = |title: &str| {
        snapshot.and_then(|s| {
            section(&s.summary, title).map(|text| {
                let text = inert_block(text);
                (s, crate::engine::cut_to(&text, max_bytes / 4).to_owned())
            })
        })
    };
    if let Some((s, text)) = snapshot_part("Current state") {
        let _ = writeln!(
            state,
            "From the snapshot of {} ({}):\n{text}\n",
            format_time(&s.timestamp),
            inert(&s.model)
        );
    }
    match history.entries.first() {
        Some(latest) => {
            let _ = writeln!(
                state,
                "Latest ({}, {}): {}",
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
                    "Last milestone: {}",
                    inert(&m.summary).replace('\n', " ")
                );
            }
        }
        None => state.push_str("No entries yet.\n"),
    }
    state.push('\n');

    let mut steps = String::from("## Suggested next steps\n\n");
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
    if history.entries.iter().any(|e| !e.artifacts.is_empty()) {
        steps.push_str("- Review the artifacts listed above.\n");
    }

    let fixed = header.len() + "## Recent activity\n\n".len() + 1 + state.len() + steps.len();
    let mut budget = max_bytes.saturating_sub(fixed);
    let mut activity = String::new();
    let mut shown = 0;
    for entry in &history.entries {
        let line = context_entry(entry);
        // Keep room for the omission note.
        if line.len() + 64 > budget && shown < history.entries.len() {
            break;
        }
        budget -= line.len();
        activity.push_str(&line);
        shown += 1;
    }
    let omitted = history.total.saturating_sub(shown as u64);
    if omitted > 0 {
        let _ = writeln!(activity, "- ({omitted} older entries omitted)");
    }
    format!("{header}## Recent activity\n\n{activity}\n{state}{steps}")
}

/// Says how many entries a history holds: `1 entry`, `4 entries`.
pub fn entry_count(n: u64) -> String {
    if n == 1 {
        "1 entry".to_owned()
    } else {
        format!("{n} entries")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_time;

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
        let full = history_context("api", None, &history, None, 1 << 20);
        assert!(full.contains("[MILESTONE] [AGENT]"));
        assert!(!full.contains("omitted"));
        let small = history_context("api", None, &history, None, 1500);
        assert!(small.len() <= 1500, "{}", small.len());
        assert!(small.starts_with("# Pane context: api\n"));
        for marker in [
            "## Recent activity",
            "## Current state",
            "## Suggested next steps",
            "- Total entries: 60",
            "- Time range:",
        ] {
            assert!(small.contains(marker), "{marker} missing");
        }
        assert!(small.contains("step 59"), "the newest entry stays");
        assert!(!small.contains("step 0 "), "the oldest entry goes");
        assert!(small.contains("older entries omitted"));
        let tiny = history_context("api", None, &history, None, 10);
        assert!(tiny.starts_with("# Pane context: api\n"));
    }
}
