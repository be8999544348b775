//! Draws the bar: a pure function of the state and the width, which snapshot tests read.
//!
//! One row: ` perth (SESSION) `, then the tabs, then blank cells to the edge. The blank stretch
//! stays blank on purpose: perth's notification overlay writes each tab's counts there.
//!
//! When the tabs do not fit, worktree badges give way first (the branch is shortened to its
//! last segment, then dropped, then the status goes), then the tabs collapse around the active
//! one behind `← +N` / `+N →` markers, which switch to the nearest hidden tab when clicked.

use bridge_client::text::inert;
use zellij_tile::prelude::{InputMode, PaletteColor, Styling, TabInfo};

use crate::app::{App, Hit};
use crate::status::{Badge, Detail};
use crate::style::{cut, text_width, Line, Style};

/// The name before the session's.
pub const PRODUCT: &str = "perth";

/// The bar as drawn, with the columns a click switches tabs at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bar {
    pub line: Line,
    pub hits: Vec<Hit>,
}

/// The bar's colours, from the theme and the input mode.
#[derive(Debug, Clone, Copy)]
struct Colors {
    bar: Style,
    session_name: Style,
    active: Style,
    inactive: Style,
    marker: Style,
}

impl Colors {
    /// The active tab and the session's name take the mode's colour: the selected ribbon's in
    /// normal mode, the error colour when locked, the first emphasis in every other mode.
    fn new(styling: &Styling, mode: InputMode) -> Colors {
        let text = styling.text_unselected;
        let mode_color: PaletteColor = match mode {
            InputMode::Normal => styling.ribbon_selected.background,
            InputMode::Locked => styling.exit_code_error.base,
            _ => text.emphasis_0,
        };
        let bar = Style::new(text.base, text.background);
        Colors {
            bar,
            session_name: bar.with_fg(mode_color).bold(),
            active: Style::new(styling.ribbon_selected.base, mode_color).bold(),
            inactive: Style::new(
                styling.ribbon_unselected.base,
                styling.ribbon_unselected.background,
            ),
            marker: bar.with_fg(text.emphasis_0).bold(),
        }
    }
}

/// One tab as drawn: its pieces of text and their styles.
struct Label {
    parts: Vec<(String, Style)>,
}

impl Label {
    fn width(&self) -> usize {
        self.parts.iter().map(|(t, _)| text_width(t)).sum()
    }
}

/// Returns a tab's label at `detail`: ` name (FULL) ⎇ branch ●3 ↑2 `, the name cut to
/// `max_name` columns when given.
fn label(
    tab: &TabInfo,
    badge: Option<&Badge>,
    detail: Detail,
    colors: &Colors,
    max_name: Option<usize>,
) -> Label {
    let style = if tab.active {
        colors.active
    } else {
        colors.inactive
    };
    let plain = Style {
        bold: false,
        ..style
    };
    let mut name = inert(&tab.name);
    if let Some(max) = max_name {
        name = cut(&name, max);
    }
    let mut parts = vec![(format!(" {name}"), style)];
    let flags = [
        (tab.is_fullscreen_active, " (FULL)"),
        (tab.is_sync_panes_active, " (SYNC)"),
        (
            tab.are_floating_panes_visible && tab.selectable_floating_panes_count > 0,
            " (FLOAT)",
        ),
    ];
    for (on, flag) in flags {
        if on {
            parts.push((flag.to_owned(), plain));
        }
    }
    if let Some(badge) = badge {
        if let Some(branch) = badge.branch_at(detail) {
            parts.push((format!(" ⎇ {branch}"), plain));
        }
        let status = badge.status();
        if detail != Detail::None && !status.is_empty() {
            parts.push((format!(" {status}"), plain));
        }
    }
    parts.push((" ".to_owned(), style));
    Label { parts }
}

/// Returns the marker for `hidden` tabs on the left (` ← +2 `) or right (` +2 → `).
fn marker(hidden: usize, left: bool) -> String {
    match (hidden, left) {
        (0, _) => String::new(),
        (n, true) => format!(" ← +{n} "),
        (n, false) => format!(" +{n} → "),
    }
}

/// Draws the bar `cols` wide.
pub fn bar(app: &App, cols: usize) -> Bar {
    let colors = Colors::new(&app.styling, app.mode);
    let mut out = Bar::default();
    let tabs = &app.tabs;
    let count = tabs.len();
    let badge = |t: &TabInfo| app.worktrees.get(&t.name);
    let labels_at = |detail: Detail| -> Vec<Label> {
        tabs.iter()
            .map(|t| label(t, badge(t), detail, &colors, None))
            .collect()
    };
    let total = |labels: &[Label]| -> usize {
        labels.iter().map(Label::width).sum::<usize>() + count.saturating_sub(1)
    };

    // The session's name stays while the tabs, bare, or at least the active one with its
    // markers, fit beside it.
    let session: Vec<(String, Style)> = match (&app.session, app.hide_session_name) {
        (_, true) => Vec::new(),
        (Some(name), false) => vec![
            (format!(" {PRODUCT} ("), colors.bar),
            (inert(name), colors.session_name),
            (") ".to_owned(), colors.bar),
        ],
        (None, false) => vec![(format!(" {PRODUCT} "), colors.bar)],
    };
    let session_width: usize = session.iter().map(|(t, _)| text_width(t)).sum();
    let active = tabs.iter().position(|t| t.active).unwrap_or(0);
    let needed = match tabs.get(active) {
        Some(tab) => total(&labels_at(Detail::None)).min(
            label(tab, None, Detail::None, &colors, None).width() + markers(active, active, count),
        ),
        None => 0,
    };
    if session_width + needed <= cols {
        for (text, style) in &session {
            out.line.push(text, *style);
        }
    }
    let room = cols.saturating_sub(out.line.width());

    // Everything fits at one detail: every tab is drawn.
    let all_fit = Detail::ALL
        .into_iter()
        .map(labels_at)
        .find(|labels| total(labels) <= room);
    let shown = match all_fit {
        Some(labels) => Shown {
            labels,
            first: 0,
            markers: false,
        },
        None => collapse(app, &colors, room),
    };
    let last = shown.first + shown.labels.len();
    let mut col = out.line.width();
    let push_marker = |out: &mut Bar, col: &mut usize, text: String, position: usize| {
        if text.is_empty() || !shown.markers {
            return;
        }
        let width = text_width(&text);
        out.hits.push(Hit {
            start: *col,
            end: *col + width,
            position,
        });
        out.line.push(&text, colors.marker);
        *col += width;
    };
    if shown.first > 0 {
        let position = tabs[shown.first - 1].position;
        push_marker(&mut out, &mut col, marker(shown.first, true), position);
    }
    for (i, label) in shown.labels.iter().enumerate() {
        if i > 0 {
            out.line.push(" ", colors.bar);
            col += 1;
        }
        let width = label.width();
        out.hits.push(Hit {
            start: col,
            end: col + width,
            position: tabs[shown.first + i].position,
        });
        for (text, style) in &label.parts {
            out.line.push(text, *style);
        }
        col += width;
    }
    if last < count {
        let position = tabs[last].position;
        push_marker(&mut out, &mut col, marker(count - last, false), position);
    }
    let used = out.line.width();
    if used > cols {
        out.line = truncate(&out.line, cols);
        out.hits.retain(|h| h.start < cols);
    } else {
        out.line.push(&" ".repeat(cols - used), colors.bar);
    }
    out
}

/// Returns the width of the markers around tabs `lo..=hi` of `count`.
fn markers(lo: usize, hi: usize, count: usize) -> usize {
    text_width(&marker(lo, true)) + text_width(&marker(count - 1 - hi, false))
}

/// The tabs drawn when not all fit.
struct Shown {
    labels: Vec<Label>,
    /// The index of the first tab drawn.
    first: usize,
    /// Whether the markers for the tabs left out are drawn.
    markers: bool,
}

/// Returns the tabs shown when not all fit: the active tab with the richest badge that fits,
/// then its neighbours, right first, as long as they fit with the markers for the tabs left
/// out. When not even the active tab's name fits beside the markers, it is shown alone, cut.
fn collapse(app: &App, colors: &Colors, room: usize) -> Shown {
    let tabs = &app.tabs;
    let count = tabs.len();
    let active = tabs.iter().position(|t| t.active).unwrap_or(0);
    let badge = |t: &TabInfo| app.worktrees.get(&t.name);
    let tab = &tabs[active];
    let own_markers = markers(active, active, count);
    let Some(active_label) = Detail::ALL
        .into_iter()
        .map(|detail| label(tab, badge(tab), detail, colors, None))
        .find(|l| l.width() + own_markers <= room)
    else {
        let bare = label(tab, None, Detail::None, colors, None);
        let over = bare.width().saturating_sub(room);
        let name = text_width(&inert(&tab.name)).saturating_sub(over).max(1);
        return Shown {
            labels: vec![label(tab, None, Detail::None, colors, Some(name))],
            first: active,
            markers: false,
        };
    };
    let widths: Vec<usize> = tabs
        .iter()
        .enumerate()
        .map(|(i, t)| match i == active {
            true => active_label.width(),
            false => label(t, badge(t), Detail::None, colors, None).width(),
        })
        .collect();
    let fits = |lo: usize, hi: usize| {
        widths[lo..=hi].iter().sum::<usize>() + (hi - lo) + markers(lo, hi, count) <= room
    };
    let (mut lo, mut hi) = (active, active);
    loop {
        let mut grew = false;
        if hi + 1 < count && fits(lo, hi + 1) {
            hi += 1;
            grew = true;
        }
        if lo > 0 && fits(lo - 1, hi) {
            lo -= 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    let mut active_label = Some(active_label);
    let labels = (lo..=hi)
        .map(
            |i| match (i == active, active_label.take_if(|_| i == active)) {
                (true, Some(label)) => label,
                _ => label(&tabs[i], badge(&tabs[i]), Detail::None, colors, None),
            },
        )
        .collect();
    Shown {
        labels,
        first: lo,
        markers: true,
    }
}

/// Returns `line` cut to `width` columns.
fn truncate(line: &Line, width: usize) -> Line {
    let mut out = Line::default();
    let mut used = 0;
    for span in &line.spans {
        let text = cut_plain(&span.text, width - used);
        used += text_width(&text);
        out.push(&text, span.style);
        if used >= width {
            break;
        }
    }
    out
}

/// Returns the longest start of `text` at most `width` columns wide.
fn cut_plain(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]));
        if used + w > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}
