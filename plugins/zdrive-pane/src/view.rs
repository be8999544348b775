//! Draws the pane: a pure function of the state and the pane's size.
//!
//! ```text
//! api-server                                         the pane's zdrive name (or that it has none)
//! tab backend · session work · terminal_3 · active   where it lives
//! tags: issue=42  area=auth                          its metadata
//! ── history · 3 of 3 ──────────────────────         the view: history or context
//! ★ 11-24 10:02 Released v2 [agent]                  entries, newest first, wrapped
//!               ↳ src/auth.rs                        their artifacts
//! ✓ logged a milestone on api-server (3 entries)     what just happened
//! l log · r rename · t tag · Tab context · ...       keys, or the type picker or a prompt
//! ```
//!
//! When rows are few (the floating pane opened in an 80x24 terminal has 38x8), the layout
//! gives the body room before anything else, a step at a time until the newest entries fit
//! (see [`Squeeze`]): the keys and the status on one line each, the header's lines unwrapped,
//! then only the name, then the name inside the rule:
//!
//! ```text
//! ── api-server · history 4 of 11 ──────
//! ★ 10:02 Released v2 [agent]
//! ◆ 09:58 What was done [agent]
//! l log · r rename · t tag · q close
//! ```
//!
//! Stored text is shown inert: its control characters in caret form, never obeyed.

use bridge_client::text::inert;
use zdrive_snapshot::markdown::{render, wrap_line};
use zdrive_snapshot::record::{format_utc, parse_rfc3339};
use zdrive_snapshot::style::{text_width, Color, Line, Style};

use crate::app::{App, Mode, Permissions, Purpose, Shown, Status, View};
use crate::editor::LineEditor;
use crate::entry::{Entry, LOG_TYPES};

/// The body rows the layout squeezes the rest for: enough for the newest entries.
pub const MIN_BODY_ROWS: usize = 6;

/// How far the header and the footer are squeezed to give the body rows, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Squeeze {
    /// Everything, wrapped.
    Roomy,
    /// A status that is not a failure on one line, the keys that fit on one line, prompts
    /// without their hint.
    OneLineFooter,
    /// The name, where the pane lives and its tags on one line each, cut rather than wrapped.
    OneLineHeader,
    /// Only the name above the rule.
    NameOnly,
    /// The name inside the rule.
    NameInRule,
}

const SQUEEZES: [Squeeze; 5] = [
    Squeeze::Roomy,
    Squeeze::OneLineFooter,
    Squeeze::OneLineHeader,
    Squeeze::NameOnly,
    Squeeze::NameInRule,
];

/// The pane laid out at a size: what goes above the body, the body, and what goes below it.
struct Layout {
    top: Vec<Line>,
    body: Vec<Line>,
    bottom: Vec<Line>,
    /// The rows the body gets.
    body_rows: usize,
}

/// Lays the pane out: the least squeeze that gives the body [`MIN_BODY_ROWS`] (or all it has).
fn layout(app: &App, rows: usize, cols: usize) -> Layout {
    let mut body = body(app, cols, false);
    // With nothing shown, the header says why: it is not squeezed away.
    let wanted = match app.shown {
        Some(_) => body.len().min(MIN_BODY_ROWS),
        None => 0,
    };
    let mut layout = None;
    for squeeze in SQUEEZES {
        if squeeze == Squeeze::NameOnly {
            body = self::body(app, cols, true);
        }
        let mut top = if squeeze >= Squeeze::NameInRule {
            Vec::new()
        } else {
            header(app, cols, squeeze)
        };
        top.push(rule(app, cols, squeeze));
        let bottom = footer(app, cols, squeeze);
        let body_rows = rows.saturating_sub(top.len() + bottom.len());
        layout = Some((top, bottom, body_rows));
        if body_rows >= wanted {
            break;
        }
    }
    let (top, bottom, body_rows) = layout.unwrap_or_default();
    Layout {
        top,
        body,
        bottom,
        body_rows,
    }
}

/// Returns the pane's lines, at most `rows` of at most `cols` columns.
pub fn lines(app: &App, rows: usize, cols: usize) -> Vec<Line> {
    let cols = cols.max(1);
    let Layout {
        mut top,
        body,
        bottom,
        body_rows,
    } = layout(app, rows, cols);
    let scroll = app.scroll.min(body.len().saturating_sub(body_rows));
    top.extend(body.into_iter().skip(scroll).take(body_rows));
    while top.len() + bottom.len() < rows {
        top.push(Line::blank());
    }
    top.extend(bottom);
    top.truncate(rows);
    top.into_iter().map(|l| l.truncated(cols)).collect()
}

/// Returns how far the body can scroll at this size.
pub fn max_scroll(app: &App, rows: usize, cols: usize) -> usize {
    let layout = layout(app, rows, cols.max(1));
    layout.body.len().saturating_sub(layout.body_rows)
}

/// Returns how many rows the body gets at this size (a page, to scroll by).
pub fn body_rows(app: &App, rows: usize, cols: usize) -> usize {
    layout(app, rows, cols.max(1)).body_rows
}

/// Returns the pane's name, where it lives and its tags; squeezed, fewer and shorter lines.
fn header(app: &App, cols: usize, squeeze: Squeeze) -> Vec<Line> {
    let mut title = Line::blank();
    let mut place = Line::blank();
    let mut tags = None;
    match &app.shown {
        Some(Shown {
            pane_name: Some(name),
            record,
            ..
        }) => {
            title.push(&inert(name), Style::PLAIN.bold());
            let record = record.clone().unwrap_or_default();
            if record.stale {
                place.push("stale (gone from its session)", Style::fg(Color::Yellow));
            } else {
                place.push("active", Style::fg(Color::Green));
            }
            place.push(
                &format!(
                    " · tab {} · session {} · {}",
                    inert(&record.tab),
                    inert(&record.session),
                    inert(&record.pane_id)
                ),
                Style::dim(),
            );
            let mut line = Line::one("tags: ", Style::dim());
            if record.metadata.is_empty() {
                line.push("none (t adds one)", Style::dim());
            }
            for (i, (key, value)) in record.metadata.iter().enumerate() {
                if i > 0 {
                    line.push(" · ", Style::dim());
                }
                line.push(
                    &format!("{}={}", inert(key), inert(value)),
                    Style::fg(Color::Cyan),
                );
            }
            tags = Some(line);
        }
        Some(_) => {
            title.push(
                "not tracked — press n to name it",
                Style::fg(Color::Yellow).bold(),
            );
            if let Some(focus) = &app.focus {
                place.push(
                    &format!(
                        "tab {} · session {} · {}",
                        inert(&focus.tab),
                        inert(&focus.session),
                        focus.pane_id
                    ),
                    Style::dim(),
                );
            }
        }
        None => {
            title.push("zdrive", Style::PLAIN.bold());
            let waiting = match (trouble(app), &app.focus) {
                (Some(trouble), _) => trouble.label,
                (None, Some(_)) => "looking up the focused pane…",
                (None, None) => "waiting for a focused terminal pane…",
            };
            place.push(waiting, Style::dim());
        }
    }
    if squeeze >= Squeeze::NameOnly {
        return vec![title];
    }
    if squeeze >= Squeeze::OneLineHeader {
        return [Some(title), Some(place), tags]
            .into_iter()
            .flatten()
            .collect();
    }
    let mut lines = wrap_line(&title, cols, 2);
    lines.extend(wrap_line(&place, cols, 2));
    if let Some(tags) = tags {
        lines.extend(wrap_line(&tags, cols, 6));
    }
    lines
}

/// Returns what the header's first line says, for the rule to carry when squeezed most.
fn name(app: &App) -> String {
    match &app.shown {
        Some(Shown {
            pane_name: Some(name),
            ..
        }) => inert(name),
        Some(_) => "not tracked (n names it)".to_owned(),
        None => "zdrive".to_owned(),
    }
}

/// Why the pane can show nothing: in short, in full, and what to do about it.
struct Trouble {
    label: &'static str,
    detail: String,
    remedy: &'static str,
}

fn trouble(app: &App) -> Option<Trouble> {
    if let Some(e) = &app.bridge_error {
        return Some(Trouble {
            label: "host-bridge is not configured",
            detail: format!("cannot reach host-bridge: {}", inert(e)),
            remedy: "start the session with perth, which passes its address",
        });
    }
    (app.permissions == Permissions::Denied).then(|| Trouble {
        label: "permissions denied",
        detail: "this pane may not read the session or reach host-bridge".to_owned(),
        remedy: "grant ReadApplicationState, ChangeApplicationState and WebAccess to this \
                 plugin in Zellij's permissions.kdl",
    })
}

/// Returns the rule under the header, naming the view; squeezed most, the pane's name too.
fn rule(app: &App, cols: usize, squeeze: Squeeze) -> Line {
    let mut title = match (app.view, &app.shown) {
        (View::History, Some(shown)) if shown.pane_name.is_some() => {
            format!("history · {} of {}", shown.entries.len(), shown.total)
        }
        (View::History, _) => "history".to_owned(),
        (View::Context, _) if squeeze >= Squeeze::OneLineHeader => "context".to_owned(),
        (View::Context, _) => "context: what zdrive hands an LLM".to_owned(),
    };
    let mut line = Line::one("── ", Style::dim());
    if squeeze >= Squeeze::NameInRule {
        line.push(&name(app), Style::PLAIN.bold());
        title = format!(" · {title}");
    }
    line.push(&format!("{title} "), Style::dim());
    line.push(&"─".repeat(cols.saturating_sub(line.width())), Style::dim());
    line
}

/// Returns the history, the context, or what stands in for them; `compact`, an entry's
/// artifacts on one line.
fn body(app: &App, cols: usize, compact: bool) -> Vec<Line> {
    let wrapped = |lines: Vec<Line>| wrap_all(&lines, cols);
    if let Some(trouble) = trouble(app) {
        let detail = Line::one(trouble.detail, Style::fg(Color::Red));
        return wrapped(vec![detail, Line::one(trouble.remedy, Style::dim())]);
    }
    let Some(shown) = &app.shown else {
        return Vec::new();
    };
    if shown.pane_name.is_none() {
        return wrapped(vec![
            Line::one(
                "zdrive keeps an intent log for the panes you name: the checkpoints, \
                 milestones and explorations that you, your scripts and your agents log, \
                 which zdrive hands to an LLM as the pane's context.",
                Style::PLAIN,
            ),
            Line::blank(),
            Line::one(
                "Press n and type a name (letters, digits, '-', '_', '.', '/') to start.",
                Style::dim(),
            ),
        ]);
    }
    match app.view {
        View::Context => match &shown.context {
            Some(markdown) => render(markdown, cols),
            None => vec![Line::one("loading the context…", Style::dim())],
        },
        View::History if shown.entries.is_empty() => wrapped(vec![Line::one(
            "no entries yet — press l to log one",
            Style::dim(),
        )]),
        View::History => shown
            .entries
            .iter()
            .flat_map(|entry| entry_lines(entry, cols, compact))
            .collect(),
    }
}

/// Returns `lines` wrapped at words to `cols` columns.
fn wrap_all(lines: &[Line], cols: usize) -> Vec<Line> {
    lines.iter().flat_map(|l| wrap_line(l, cols, 0)).collect()
}

/// Returns an entry's marker and its style.
fn marker(entry: &Entry) -> (&'static str, Style) {
    match entry.entry_type.as_str() {
        "milestone" => ("★", Style::fg(Color::Yellow).bold()),
        "checkpoint" => ("•", Style::fg(Color::Green)),
        "exploration" => ("?", Style::fg(Color::Cyan)),
        "snapshot" => ("◆", Style::fg(Color::Magenta)),
        _ => ("·", Style::dim()),
    }
}

/// Returns an entry: marker, time, summary (its first line; a snapshot's headline) and who
/// logged it, then the summary's other lines and the artifacts, hanging under the summary
/// (`compact`, the artifacts on one line, cut).
fn entry_lines(entry: &Entry, cols: usize, compact: bool) -> Vec<Line> {
    let (marker, marker_style) = marker(entry);
    let when = match parse_rfc3339(&entry.timestamp) {
        // `2026-11-24 10:02 UTC` shown as `11-24 10:02`.
        Some(t) => format_utc(t).get(5..16).unwrap_or_default().to_owned(),
        None => inert(&entry.timestamp),
    };
    let snapshot = entry.entry_type == "snapshot";
    let mut summary = entry.summary.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = if snapshot {
        entry.headline()
    } else {
        summary.next().unwrap_or_default().to_owned()
    };
    let mut head = Line::one(marker, marker_style);
    head.push(&format!(" {when} "), Style::dim());
    let text_style = if entry.entry_type == "milestone" {
        Style::PLAIN.bold()
    } else {
        Style::PLAIN
    };
    head.push(&inert(&first), text_style);
    if entry.by_agent() {
        head.push(" [agent]", Style::fg(Color::Magenta));
    }
    let hang = if cols >= 40 { 3 + text_width(&when) } else { 2 };
    let indent = " ".repeat(hang);
    let mut lines = wrap_line(&head, cols, hang);
    if !snapshot {
        for more in summary {
            let line = Line::one(format!("{indent}{}", inert(more)), Style::PLAIN);
            lines.extend(wrap_line(&line, cols, hang));
        }
    }
    if compact && !entry.artifacts.is_empty() {
        let artifacts: Vec<String> = entry.artifacts.iter().map(|a| inert(a)).collect();
        let line = Line::one(format!("{indent}↳ {}", artifacts.join(" · ")), Style::dim());
        lines.push(line.truncated(cols));
        return lines;
    }
    for artifact in &entry.artifacts {
        let line = Line::one(format!("{indent}↳ {}", inert(artifact)), Style::dim());
        lines.extend(wrap_line(&line, cols, hang + 2));
    }
    lines
}

/// Returns what just happened, then the picker or the prompt, or the keys; squeezed, the
/// keys and what is going on or done take a line each (a failure stays whole), and prompts
/// lose their hint.
fn footer(app: &App, cols: usize, squeeze: Squeeze) -> Vec<Line> {
    let short = squeeze >= Squeeze::OneLineFooter;
    let mut lines = Vec::new();
    match &app.status {
        Some(Status::Working(what)) => {
            lines.push(Line::one(
                format!("… {}", inert(what)),
                Style::fg(Color::Cyan),
            ));
        }
        Some(Status::Done(what)) => {
            lines.push(Line::one(
                format!("✓ {}", inert(what)),
                Style::fg(Color::Green),
            ));
        }
        Some(Status::Failed { message, hint }) => {
            lines.push(Line::one(
                format!("✗ {}", inert(message)),
                Style::fg(Color::Red),
            ));
            if let Some(hint) = hint {
                lines.push(Line::one(format!("  {}", inert(hint)), Style::dim()));
            }
        }
        None => {}
    }
    // What went wrong is read whole, squeezed or not; what is going on fits a line.
    let failed = matches!(app.status, Some(Status::Failed { .. }));
    let mut lines: Vec<Line> = if short && !failed {
        lines
    } else {
        lines.iter().flat_map(|l| wrap_line(l, cols, 2)).collect()
    };
    match &app.mode {
        Mode::Browse if short => lines.push(keys(app, Some(cols))),
        Mode::Browse => lines.extend(wrap_line(&keys(app, None), cols, 0)),
        Mode::PickType(selected) => {
            let mut line = Line::one(
                format!("log on {} as: ", inert(app.pane_name().unwrap_or_default())),
                Style::PLAIN,
            );
            for (i, (key, name)) in LOG_TYPES.iter().enumerate() {
                let style = if i == *selected {
                    Style::fg(Color::Cyan).reverse()
                } else {
                    Style::fg(Color::Cyan)
                };
                line.push(" ", Style::PLAIN);
                line.push(&format!("[{key}] {name}"), style);
            }
            lines.extend(wrap_line(&line, cols, 2));
            if !short {
                lines.push(Line::one(
                    "c, m or e · ←→ and Enter · Esc cancels",
                    Style::dim(),
                ));
            }
        }
        Mode::Prompt(purpose, editor) => {
            let (label, hint) = match purpose {
                Purpose::Log(entry_type) => (*entry_type, "Enter logs it · Esc cancels"),
                Purpose::Rename => (
                    "new name",
                    "Enter renames (history and snapshots follow) · Esc cancels",
                ),
                Purpose::Tag => ("tag", "key=value sets · -key removes · Enter · Esc cancels"),
                Purpose::Track => ("name", "Enter names this pane · Esc cancels"),
            };
            lines.push(prompt(label, editor, cols));
            if !short {
                lines.push(Line::one(hint, Style::dim()));
            }
        }
    }
    lines
}

/// Returns the prompt's line: its label and the text with the cursor shown, scrolled so that
/// the cursor stays in view.
fn prompt(label: &str, editor: &LineEditor, cols: usize) -> Line {
    let mut line = Line::one(label, Style::fg(Color::Cyan).bold());
    line.push(" › ", Style::dim());
    let (before, under, after) = editor.split();
    let room = cols.saturating_sub(line.width() + 1);
    let before = inert(&before);
    let shown_before = if text_width(&before) <= room {
        before
    } else {
        let mut tail: Vec<char> = Vec::new();
        let mut used = 1;
        for c in before.chars().rev() {
            used += text_width(&c.to_string());
            if used > room {
                break;
            }
            tail.push(c);
        }
        std::iter::once('…').chain(tail.into_iter().rev()).collect()
    };
    line.push(&shown_before, Style::PLAIN);
    let cursor = under.map_or_else(|| " ".to_owned(), |c| inert(&c.to_string()));
    line.push(&cursor, Style::PLAIN.reverse());
    line.push(&inert(&after), Style::PLAIN);
    line
}

/// Returns the keys; with a width, only those that fit in it, the most used first.
fn keys(app: &App, width: Option<usize>) -> Line {
    let switch = match app.view {
        View::History => "Tab context",
        View::Context => "Tab history",
    };
    // Each key with its rank: the lower, the longer it stays when room is short.
    let keys: &[(&str, u8)] = match &app.shown {
        Some(shown) if shown.pane_name.is_some() => &[
            ("l log", 0),
            ("r rename", 2),
            ("t tag", 1),
            (switch, 4),
            ("j/k scroll", 6),
            ("R refresh", 5),
            ("q close", 3),
        ],
        Some(_) => &[("n name it", 0), ("R refresh", 2), ("q close", 1)],
        None => &[("R refresh", 1), ("q close", 0)],
    };
    const SEPARATOR: &str = " · ";
    let mut kept: Vec<(&str, u8)> = keys.to_vec();
    if let Some(width) = width {
        let mut by_rank = kept.clone();
        by_rank.sort_by_key(|(_, rank)| *rank);
        let mut used = 0;
        let fits: Vec<&str> = by_rank
            .into_iter()
            .take_while(|(key, _)| {
                let separator = if used == 0 { 0 } else { text_width(SEPARATOR) };
                used += text_width(key) + separator;
                used <= width
            })
            .map(|(key, _)| key)
            .collect();
        kept.retain(|(key, _)| fits.contains(key));
    }
    let text: Vec<&str> = kept.into_iter().map(|(key, _)| key).collect();
    Line::one(text.join(SEPARATOR), Style::dim())
}
