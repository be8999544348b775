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
//! Stored text is shown inert: its control characters in caret form, never obeyed.

use bridge_client::text::inert;
use zdrive_snapshot::markdown::{render, wrap_line};
use zdrive_snapshot::record::{format_utc, parse_rfc3339};
use zdrive_snapshot::style::{text_width, Color, Line, Style};

use crate::app::{App, Mode, Permissions, Purpose, Shown, Status, View};
use crate::editor::LineEditor;
use crate::entry::{Entry, LOG_TYPES};

/// Returns the pane's lines, at most `rows` of at most `cols` columns.
pub fn lines(app: &App, rows: usize, cols: usize) -> Vec<Line> {
    let cols = cols.max(1);
    let mut out = header(app, cols);
    out.push(rule(app, cols));
    let footer = footer(app, cols);
    let body_rows = rows.saturating_sub(out.len() + footer.len());
    let body = body(app, cols);
    let scroll = app.scroll.min(body.len().saturating_sub(body_rows));
    out.extend(body.into_iter().skip(scroll).take(body_rows));
    while out.len() + footer.len() < rows {
        out.push(Line::blank());
    }
    out.extend(footer);
    out.truncate(rows);
    out.into_iter().map(|l| l.truncated(cols)).collect()
}

/// Returns how far the body can scroll at this size.
pub fn max_scroll(app: &App, rows: usize, cols: usize) -> usize {
    let cols = cols.max(1);
    let fixed = header(app, cols).len() + 1 + footer(app, cols).len();
    body(app, cols)
        .len()
        .saturating_sub(rows.saturating_sub(fixed))
}

/// Returns the pane's name, where it lives and its tags.
fn header(app: &App, cols: usize) -> Vec<Line> {
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
    let mut lines = wrap_line(&title, cols, 2);
    lines.extend(wrap_line(&place, cols, 2));
    if let Some(tags) = tags {
        lines.extend(wrap_line(&tags, cols, 6));
    }
    lines
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

/// Returns the rule under the header, naming the view.
fn rule(app: &App, cols: usize) -> Line {
    let title = match (app.view, &app.shown) {
        (View::History, Some(shown)) if shown.pane_name.is_some() => {
            format!("history · {} of {}", shown.entries.len(), shown.total)
        }
        (View::History, _) => "history".to_owned(),
        (View::Context, _) => "context: what zdrive hands an LLM".to_owned(),
    };
    let mut line = Line::one(format!("── {title} "), Style::dim());
    line.push(&"─".repeat(cols.saturating_sub(line.width())), Style::dim());
    line
}

/// Returns the history, the context, or what stands in for them.
fn body(app: &App, cols: usize) -> Vec<Line> {
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
            .flat_map(|entry| entry_lines(entry, cols))
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
/// logged it, then the summary's other lines and the artifacts, hanging under the summary.
fn entry_lines(entry: &Entry, cols: usize) -> Vec<Line> {
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
    for artifact in &entry.artifacts {
        let line = Line::one(format!("{indent}↳ {}", inert(artifact)), Style::dim());
        lines.extend(wrap_line(&line, cols, hang + 2));
    }
    lines
}

/// Returns what just happened, then the picker or the prompt, or the keys.
fn footer(app: &App, cols: usize) -> Vec<Line> {
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
    let mut lines: Vec<Line> = lines.iter().flat_map(|l| wrap_line(l, cols, 2)).collect();
    match &app.mode {
        Mode::Browse => lines.extend(wrap_line(&keys(app), cols, 0)),
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
            lines.push(Line::one(
                "c, m or e · ←→ and Enter · Esc cancels",
                Style::dim(),
            ));
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
            lines.push(Line::one(hint, Style::dim()));
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

fn keys(app: &App) -> Line {
    let text = match (&app.shown, app.view) {
        (Some(shown), view) if shown.pane_name.is_some() => format!(
            "l log · r rename · t tag · Tab {} · j/k scroll · R refresh · q close",
            if view == View::History {
                "context"
            } else {
                "history"
            }
        ),
        (Some(_), _) => "n name it · R refresh · q close".to_owned(),
        (None, _) => "R refresh · q close".to_owned(),
    };
    Line::one(text, Style::dim())
}
