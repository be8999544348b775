//! Draws the pane: a pure function of the state and the pane's size.
//!
//! ```text
//! api-server                                          the pane (or why there is none)
//! ollama/llama3.2 · consent: granted (Ollama on ...)  the LLM and the consent
//! ─────────────────────────────────────────
//! 2026-11-24 10:02 UTC · 3 min ago · llama3.2         the snapshot shown, then its markdown
//! What was done
//! • ...
//! ── snapshots (3) ─────────────────────────          the list, when there is more than one
//! ▸ 2026-11-24 10:02 UTC  3 min ago  llama3.2
//! ⠙ asking ollama (llama3.2) for a snapshot... 4 s    progress, or what just happened
//! g snapshot · G force · c consent · ...              keys
//! ```
//!
//! Long lines wrap (the markdown at words, with list items hanging under their text); only
//! the key line is cut to the pane's width.

use bridge_client::text::inert;

use crate::app::{App, Permissions, Status, Target};
use crate::markdown::wrap_line;
use crate::record::{age, Snapshot};
use crate::style::{Color, Line, Style};

/// The spinner's frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Rows of the snapshot list at most.
const LIST_ROWS: usize = 5;

/// Returns the pane's lines, at most `rows` of at most `cols` columns.
pub fn lines(app: &App, rows: usize, cols: usize) -> Vec<Line> {
    let cols = cols.max(1);
    let layout = Layout::of(app, rows, cols);
    let mut out = header(app, cols);
    out.push(rule("", cols));
    let body = body(app, cols);
    let scroll = app.scroll.min(body.len().saturating_sub(layout.body_rows));
    let mut shown: Vec<Line> = body
        .into_iter()
        .skip(scroll)
        .take(layout.body_rows)
        .collect();
    shown.resize(layout.body_rows, Line::blank());
    out.extend(shown);
    out.extend(list(app, layout.list_rows, cols));
    out.extend(status(app, cols));
    out.push(keys(app));
    out.truncate(rows);
    out.into_iter().map(|l| l.truncated(cols)).collect()
}

/// Returns how far the snapshot can scroll at this size.
pub fn max_scroll(app: &App, rows: usize, cols: usize) -> usize {
    let layout = Layout::of(app, rows, cols.max(1));
    body(app, cols.max(1))
        .len()
        .saturating_sub(layout.body_rows)
}

/// How the rows are shared out.
struct Layout {
    body_rows: usize,
    list_rows: usize,
}

impl Layout {
    fn of(app: &App, rows: usize, cols: usize) -> Layout {
        let fixed = header(app, cols).len() + 1 + status(app, cols).len() + 1;
        let free = rows.saturating_sub(fixed);
        let count = app.shown.as_ref().map_or(0, |s| s.snapshots.len());
        // The list (a title and a row per snapshot) gives way to the snapshot on small panes.
        let wanted = if count > 1 {
            1 + count.min(LIST_ROWS)
        } else {
            0
        };
        let list_rows = wanted.min(free.saturating_sub(6));
        let list_rows = if list_rows < 2 { 0 } else { list_rows };
        Layout {
            body_rows: free - list_rows,
            list_rows,
        }
    }
}

/// Returns the pane the snapshots are of, and the LLM and consent a new one would use.
fn header(app: &App, cols: usize) -> Vec<Line> {
    let mut title = Line::blank();
    let mut settings = Line::blank();
    match (&app.shown, &app.target) {
        (Some(shown), _) => {
            match &shown.pane_name {
                Some(name) => title.push(&inert(name), Style::PLAIN.bold()),
                None => title.push(
                    "focused pane is not tracked by zdrive — name it with: zdrive pane NAME",
                    Style::fg(Color::Yellow),
                ),
            }
            settings.push(
                &format!("{}/{} · ", inert(&shown.provider), inert(&shown.model)),
                Style::dim(),
            );
            if shown.consent {
                settings.push("consent: granted", Style::fg(Color::Green));
            } else {
                settings.push(
                    "consent: not granted — press c to grant",
                    Style::fg(Color::Yellow).bold(),
                );
            }
            if shown.local {
                let provider = match shown.provider.as_str() {
                    "ollama" => "Ollama".to_owned(),
                    other => inert(other),
                };
                settings.push(
                    &format!(" ({provider} on localhost: data stays on this machine)"),
                    Style::dim(),
                );
            }
        }
        (None, Some(Target::Named(name))) => {
            title.push(&inert(name), Style::PLAIN.bold());
            settings.push("looking it up…", Style::dim());
        }
        (None, _) => {
            title.push("zdrive snapshot", Style::PLAIN.bold());
            let waiting = if app.bridge_error.is_some() {
                "host-bridge is not configured"
            } else if app.permissions == Permissions::Denied {
                "permissions denied"
            } else if app.target.is_some() {
                "looking up the focused pane…"
            } else {
                "waiting for a focused terminal pane…"
            };
            settings.push(waiting, Style::dim());
        }
    }
    let mut lines = wrap_line(&title, cols, 2);
    lines.extend(wrap_line(&settings, cols, 2));
    lines
}

fn rule(title: &str, cols: usize) -> Line {
    if title.is_empty() {
        return Line::one("─".repeat(cols), Style::dim());
    }
    let lead = format!("── {title} ");
    let rest = cols.saturating_sub(crate::style::text_width(&lead));
    Line::one(format!("{lead}{}", "─".repeat(rest)), Style::dim())
}

/// Returns the snapshot shown (its label and its markdown), or what stands in for it.
fn body(app: &App, cols: usize) -> Vec<Line> {
    let wrapped = |lines: Vec<Line>| -> Vec<Line> {
        lines
            .iter()
            .flat_map(|line| wrap_line(line, cols, 0))
            .collect()
    };
    if let Some(e) = &app.bridge_error {
        return wrapped(vec![
            Line::one(
                format!("cannot reach host-bridge: {}", inert(e)),
                Style::fg(Color::Red),
            ),
            Line::one(
                "start the session with perth, which passes its address",
                Style::dim(),
            ),
        ]);
    }
    if app.permissions == Permissions::Denied {
        return wrapped(vec![Line::one(
            "permissions denied: grant ReadApplicationState, ChangeApplicationState, WebAccess \
             and ReadCliPipes to this plugin in Zellij's permissions.kdl",
            Style::fg(Color::Red),
        )]);
    }
    let Some(shown) = &app.shown else {
        return Vec::new();
    };
    let Some(name) = &shown.pane_name else {
        return wrapped(vec![
            Line::one(
                "zdrive keeps an intent log and snapshots for the panes you name:",
                Style::PLAIN,
            ),
            Line::blank(),
            Line::one("  zdrive pane NAME", Style::fg(Color::Yellow)),
            Line::blank(),
            Line::one(
                "opens a pane under that name; a pane already titled NAME (rename this one with \
                 Ctrl p, c) is taken over instead.",
                Style::dim(),
            ),
        ]);
    };
    let Some(snapshot) = shown.snapshots.get(app.selected) else {
        let mut lines = vec![Line::one(
            format!("no snapshot of {} yet — press g to make one", inert(name)),
            Style::PLAIN,
        )];
        if !shown.consent {
            lines.push(Line::blank());
            lines.push(Line::one(
                format!(
                    "a snapshot sends the pane's intent log, screen and git state, secrets \
                     redacted, to {} ({}); press c to consent",
                    inert(&shown.provider),
                    inert(&shown.model)
                ),
                Style::dim(),
            ));
        }
        return wrapped(lines);
    };
    let mut lines = wrap_line(&label(app, snapshot), cols, 2);
    lines.push(Line::blank());
    lines.extend(crate::markdown::render(&snapshot.summary, cols));
    lines
}

/// Returns the line naming the snapshot shown: when, how long ago, which model.
fn label(app: &App, snapshot: &Snapshot) -> Line {
    let count = app.shown.as_ref().map_or(0, |s| s.snapshots.len());
    let mut line = Line::blank();
    line.push(&inert(&snapshot.when()), Style::fg(Color::Cyan));
    let mut rest = Vec::new();
    if let Some(t) = snapshot.unix_seconds() {
        rest.push(age(t, app.now_unix));
    }
    if !snapshot.model.is_empty() {
        rest.push(inert(&snapshot.model));
    }
    if snapshot.duration_ms > 0 {
        rest.push(format!("{:.1} s", snapshot.duration_ms as f64 / 1000.0));
    }
    if count > 1 {
        rest.push(if app.selected == 0 {
            format!("newest of {count}")
        } else {
            format!("{} of {count}, older", app.selected + 1)
        });
    }
    if !rest.is_empty() {
        line.push(&format!(" · {}", rest.join(" · ")), Style::dim());
    }
    line
}

/// Returns the list of snapshots, `rows` lines with its title; the selected one stays in view.
fn list(app: &App, rows: usize, cols: usize) -> Vec<Line> {
    let Some(shown) = &app.shown else {
        return Vec::new();
    };
    if rows < 2 {
        return Vec::new();
    }
    let count = shown.snapshots.len();
    let title = if app.list_focus {
        format!("snapshots ({count}) — ↑↓ pick, Tab back")
    } else {
        format!("snapshots ({count}) — Tab or [ ] to pick")
    };
    let mut out = vec![rule(&title, cols)];
    let visible = rows - 1;
    let first = app.selected.saturating_sub(visible - 1);
    for (index, snapshot) in shown.snapshots.iter().enumerate().skip(first).take(visible) {
        let selected = index == app.selected;
        let mut text = format!(
            "{} {}",
            if selected { "▸" } else { " " },
            inert(&snapshot.when())
        );
        if let Some(t) = snapshot.unix_seconds() {
            text.push_str(&format!("  {}", age(t, app.now_unix)));
        }
        if !snapshot.model.is_empty() {
            text.push_str(&format!("  {}", inert(&snapshot.model)));
        }
        let style = match (selected, app.list_focus) {
            (true, true) => Style::PLAIN.reverse(),
            (true, false) => Style::PLAIN.bold(),
            _ => Style::dim(),
        };
        out.push(Line::one(text, style));
    }
    out
}

fn status(app: &App, cols: usize) -> Vec<Line> {
    status_line(app)
        .map(|line| wrap_line(&line, cols, 2))
        .unwrap_or_default()
}

fn status_line(app: &App) -> Option<Line> {
    if let Some(g) = &app.generating {
        let (provider, model) = app
            .shown
            .as_ref()
            .map(|s| (inert(&s.provider), inert(&s.model)))
            .unwrap_or_default();
        let asking = if provider.is_empty() {
            "asking the LLM".to_owned()
        } else {
            format!("asking {provider} ({model})")
        };
        let force = if g.force { " (forced)" } else { "" };
        return Some(Line::one(
            format!(
                "{} {asking} for a snapshot of {}{force}… {} s",
                SPINNER[g.frame % SPINNER.len()],
                inert(&g.pane),
                g.elapsed_seconds
            ),
            Style::fg(Color::Cyan),
        ));
    }
    match &app.status {
        Some(Status::Error(e)) => Some(Line::one(format!("✗ {}", inert(e)), Style::fg(Color::Red))),
        Some(Status::Info(text)) => Some(Line::one(
            format!("✓ {}", inert(text)),
            Style::fg(Color::Green),
        )),
        None => None,
    }
}

fn keys(app: &App) -> Line {
    let scroll = if app.list_focus {
        "↑↓ pick"
    } else {
        "j/k scroll"
    };
    Line::one(
        format!("g snapshot · G force · c consent · r refresh · {scroll} · Tab pick · q close"),
        Style::dim(),
    )
}
