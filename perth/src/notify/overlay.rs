//! The overlay: which cells of a client's screen perth recolours, and the escape sequences
//! that bring the terminal from what it shows to that (DESIGN.md D3).
//!
//! [`desired`] decides from the shadow screen and the client's visible panes: a border cell of
//! a notified pane is recoloured only when the shadow shows a frame glyph there and no pane
//! drawn above covers it, and only when the pane's rectangle matches what is on screen (at
//! least two of its corners show corner glyphs), so stale geometry never paints the wrong
//! place. [`Painter`] remembers what perth painted over Zellij's output and emits only
//! changes: cells to paint, and cells to give back to Zellij's drawing.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

use super::anim::{Paint, Rgb};
use super::bus::{PaneRef, Style};
use super::shadow::{Color, Sgr, Shadow};

/// A rectangle of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub cols: usize,
    pub rows: usize,
}

impl Rect {
    fn contains(&self, row: usize, col: usize) -> bool {
        row >= self.y && row < self.y + self.rows && col >= self.x && col < self.x + self.cols
    }
}

/// A pane as one client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneView {
    pub pane: PaneRef,
    /// The whole pane, frame included.
    pub rect: Rect,
    pub floating: bool,
    /// Whether Zellij draws a frame around it (the content is smaller than the pane).
    pub framed: bool,
}

/// What to draw on one notified pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoration {
    pub paint: Paint,
    pub style: Style,
    pub message: String,
}

/// What an agent pane shows next to its title: `✋ waiting`, `⏳ working`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Badge {
    /// The icon, kept when the word does not fit.
    pub icon: char,
    pub word: String,
    /// Its colour; the frame's own when `None`.
    pub color: Option<Rgb>,
}

/// A cell perth wants on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub ch: char,
    /// 0 marks the second half of a wide character (nothing is written for it).
    pub width: u8,
    pub sgr: Sgr,
}

/// The cells perth wants, by (row, col).
pub type Desired = BTreeMap<(usize, usize), Want>;

/// Whether a character is one of the box-drawing glyphs frames are made of.
pub fn is_frame_glyph(ch: char) -> bool {
    ('\u{2500}'..='\u{257f}').contains(&ch)
}

/// Whether a frame glyph has a stroke going up or down (what a pane's side edge shows).
fn has_vertical_stroke(ch: char) -> bool {
    !matches!(
        ch,
        '─' | '━' | '═' | '╌' | '┄' | '┈' | '╴' | '╶' | '╸' | '╺'
    )
}

/// Whether a frame glyph has a stroke going left or right (what a top or bottom edge shows).
fn has_horizontal_stroke(ch: char) -> bool {
    !matches!(
        ch,
        '│' | '┃' | '║' | '╎' | '┆' | '┊' | '╵' | '╷' | '╹' | '╻'
    )
}

fn is_corner(ch: char) -> bool {
    matches!(
        ch,
        '┌' | '┐' | '└' | '┘' | '╭' | '╮' | '╰' | '╯' | '├' | '┤' | '┬' | '┴' | '┼'
    )
}

/// Computes the cells to recolour for one client. `panes` are the visible panes in drawing
/// order (tiled first, floating panes after, later ones above); `decorations` are the notified
/// panes, `badges` the agent panes.
pub fn desired(
    shadow: &Shadow,
    panes: &[PaneView],
    decorations: &HashMap<PaneRef, Decoration>,
    badges: &HashMap<PaneRef, Badge>,
) -> Desired {
    let mut out = Desired::new();
    for (i, view) in panes.iter().enumerate() {
        let (deco, badge) = (decorations.get(&view.pane), badges.get(&view.pane));
        if deco.is_none() && badge.is_none() {
            continue;
        }
        if !view.framed || view.rect.cols < 2 || view.rect.rows == 0 {
            continue;
        }
        let above: Vec<Rect> = panes[i + 1..]
            .iter()
            .filter(|p| p.floating)
            .map(|p| p.rect)
            .collect();
        let covered = |row: usize, col: usize| above.iter().any(|r| r.contains(row, col));
        if !shows_frame(shadow, view.rect) {
            continue;
        }
        if let Some(deco) = deco {
            borders(shadow, view.rect, deco, &covered, &mut out);
        }
        let (start, end) = top_line(shadow, view.rect, &covered);
        let start = match badge {
            Some(badge) => put_badge(shadow, view.rect.y, (start, end), badge, &mut out),
            None => start,
        };
        if let Some(deco) = deco {
            label(shadow, view.rect.y, (start, end), deco, &mut out);
        }
    }
    out
}

/// Recolours the border of a notified pane.
fn borders(
    shadow: &Shadow,
    r: Rect,
    deco: &Decoration,
    covered: &dyn Fn(usize, usize) -> bool,
    out: &mut Desired,
) {
    let last_row = r.y + r.rows - 1;
    let last_col = r.x + r.cols - 1;
    // `side`: the cell is on a side edge (it must show a vertical stroke), else on the top
    // or bottom edge between the corners (a horizontal stroke). A floating pane's frame
    // crossing the edge shows the other stroke: the engine may not know that pane yet
    // (it learns of panes from perth-core's next push), but the screen says so.
    let border = |row: usize, col: usize, side: Option<bool>, out: &mut Desired| {
        if covered(row, col) {
            return;
        }
        let Some(cell) = shadow.cell(row, col) else {
            return;
        };
        if !is_frame_glyph(cell.ch) || !deco.paint.border_on {
            return;
        }
        match side {
            Some(true) if !has_vertical_stroke(cell.ch) => return,
            Some(false) if !has_horizontal_stroke(cell.ch) => return,
            _ => {}
        }
        out.insert(
            (row, col),
            Want {
                ch: cell.ch,
                width: 1,
                sgr: Sgr {
                    fg: rgb(deco.paint.color_at(row, col)),
                    bg: cell.sgr.bg,
                    attrs: 1,
                },
            },
        );
    };
    for col in r.x..=last_col {
        let edge = (col != r.x && col != last_col).then_some(false);
        border(r.y, col, edge, out);
        if last_row != r.y {
            border(last_row, col, edge, out);
        }
    }
    for row in r.y + 1..last_row {
        border(row, r.x, Some(true), out);
        border(row, last_col, Some(true), out);
    }
}

/// The longest stretch of plain horizontal line on the pane's top border not covered by a
/// pane above, as `(first column, column after it)`: where perth writes on the frame.
fn top_line(shadow: &Shadow, r: Rect, covered: &dyn Fn(usize, usize) -> bool) -> (usize, usize) {
    longest_run(r.x + 1, r.x + r.cols.saturating_sub(1), |col| {
        shadow.ch(r.y, col) == '─' && !covered(r.y, col)
    })
}

/// The longest stretch of columns in `from..to` where `fits` holds, as `(first, after last)`;
/// `(0, 0)` when there is none.
fn longest_run(from: usize, to: usize, fits: impl Fn(usize) -> bool) -> (usize, usize) {
    let (mut best, mut run_start) = ((0, 0), None);
    for col in from..=to {
        match (col < to && fits(col), run_start) {
            (true, None) => run_start = Some(col),
            (false, Some(start)) => {
                if col - start > best.1 - best.0 {
                    best = (start, col);
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best
}

/// Puts the badge at the start of the line stretch `(start, end)` (just after Zellij's title,
/// which ends with a space), `icon word `, or the icon alone when the word does not fit; keeps
/// one line cell before the end. Returns where the stretch now starts.
fn put_badge(
    shadow: &Shadow,
    row: usize,
    (start, end): (usize, usize),
    badge: &Badge,
    out: &mut Desired,
) -> usize {
    let room = (end - start).saturating_sub(1);
    let word = format!("{} {} ", badge.icon, badge.word);
    let icon = format!("{} ", badge.icon);
    let text = [word, icon].into_iter().find(|t| width_of(t) <= room);
    let Some(text) = text else {
        return start;
    };
    let frame_fg = shadow.cell(row, start).map_or(Color::Default, |c| c.sgr.fg);
    let sgr = Sgr {
        fg: badge.color.map_or(frame_fg, rgb),
        bg: shadow.cell(row, start).map_or(Color::Default, |c| c.sgr.bg),
        attrs: 1,
    };
    put_text(row, start, &text, sgr, out)
}

/// Writes `text` from `col` on; returns the column after it.
fn put_text(row: usize, mut col: usize, text: &str, sgr: Sgr, out: &mut Desired) -> usize {
    for ch in text.chars() {
        col = put_char(row, col, ch, sgr, out);
    }
    col
}

/// Writes one character (a wide one takes two cells); returns the column after it.
fn put_char(row: usize, col: usize, ch: char, sgr: Sgr, out: &mut Desired) -> usize {
    let w = ch.width().unwrap_or(0);
    if w == 0 {
        return col;
    }
    out.insert(
        (row, col),
        Want {
            ch,
            width: w as u8,
            sgr,
        },
    );
    if w == 2 {
        out.insert(
            (row, col + 1),
            Want {
                ch: ' ',
                width: 0,
                sgr,
            },
        );
    }
    col + w
}

fn width_of(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

fn rgb(c: Rgb) -> Color {
    Color::Rgb(c.0, c.1, c.2)
}

/// Whether the screen shows a frame where the rectangle says: at least two of its corners show
/// corner glyphs (a one-row pane, a folded pane of a stack, needs any frame glyph).
pub fn shows_frame(shadow: &Shadow, r: Rect) -> bool {
    let last_row = r.y + r.rows - 1;
    let last_col = r.x + r.cols - 1;
    if r.rows == 1 {
        // A folded pane of a stack: one title row, its glyphs around the title.
        return (r.x..=last_col).any(|col| is_frame_glyph(shadow.ch(r.y, col)));
    }
    let corners = [
        (r.y, r.x),
        (r.y, last_col),
        (last_row, r.x),
        (last_row, last_col),
    ];
    corners
        .iter()
        .filter(|(row, col)| is_corner(shadow.ch(*row, *col)))
        .count()
        >= 2
}

/// Puts ` <icon> <message> ` into the line stretch `(start, end)` of the top border,
/// right-aligned, cut to fit with `…`; Zellij's title stays readable.
fn label(
    shadow: &Shadow,
    row: usize,
    (start, end): (usize, usize),
    deco: &Decoration,
    out: &mut Desired,
) {
    // Keep one line cell on each side so the label never touches the title or a corner.
    let room = end.saturating_sub(start).saturating_sub(2);
    if room < 5 {
        return;
    }
    let text = fit(&format!(" {} {} ", deco.style.icon(), deco.message), room);
    let col = end - 1 - width_of(&text);
    let sgr = Sgr {
        fg: rgb(deco.paint.label),
        bg: shadow.cell(row, col).map_or(Color::Default, |c| c.sgr.bg),
        attrs: 1,
    };
    put_text(row, col, &text, sgr, out);
}

/// One piece of the tab bar's summary: text, in a colour or in the bar's own.
pub type Segment = (String, Option<Rgb>);

/// Writes the per-tab notification counts into the tab bar: right-aligned in the longest
/// stretch of blank cells of its row, cut from the left when it does not fit.
pub fn tab_summary(shadow: &Shadow, bar: Rect, segments: &[Segment], out: &mut Desired) {
    if segments.is_empty() || bar.cols < 8 {
        return;
    }
    let row = bar.y;
    let best = longest_run(bar.x, bar.x + bar.cols, |col| shadow.ch(row, col) == ' ');
    // A blank cell of margin on both sides.
    let room = (best.1 - best.0).saturating_sub(2);
    let mut cells: Vec<(char, usize, Option<Rgb>)> = Vec::new();
    for (text, color) in segments {
        for ch in text.chars() {
            let w = ch.width().unwrap_or(0);
            if w > 0 {
                cells.push((ch, w, *color));
            }
        }
    }
    let mut width: usize = cells.iter().map(|c| c.1).sum();
    while width > room && !cells.is_empty() {
        width -= cells.remove(0).1;
    }
    if cells.is_empty() {
        return;
    }
    let mut col = best.1 - 1 - width;
    for (ch, _, color) in cells {
        let base = shadow.cell(row, col).map(|c| c.sgr).unwrap_or_default();
        let sgr = match color {
            Some(c) => Sgr {
                fg: rgb(c),
                bg: base.bg,
                attrs: 1,
            },
            None => base,
        };
        col = put_char(row, col, ch, sgr, &mut *out);
    }
}

/// Cuts `text` to at most `room` display cells, ending with `… ` when cut.
pub fn fit(text: &str, room: usize) -> String {
    let width: usize = text.chars().map(|c| c.width().unwrap_or(0)).sum();
    if width <= room {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 2 > room {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push_str("… ");
    out
}

/// What perth has painted over one client's screen.
#[derive(Debug, Default)]
pub struct Painter {
    painted: HashMap<(usize, usize), Want>,
}

impl Painter {
    /// Whether nothing of perth's is on screen.
    pub fn is_empty(&self) -> bool {
        self.painted.is_empty()
    }

    /// Forgets cells Zellij drew over (its drawing is on screen there now).
    pub fn drawn_over(&mut self, written: &[(usize, usize)], cleared: bool) {
        if cleared {
            self.painted.clear();
            return;
        }
        if self.painted.is_empty() {
            return;
        }
        // Zellij writes thousands of cells a render and perth paints a few rows (frames'
        // top lines, borders): only cells on a painted row are looked up.
        let mut rows = vec![
            false;
            self.painted
                .keys()
                .map(|(row, _)| row + 1)
                .max()
                .unwrap_or(0)
        ];
        for (row, _) in self.painted.keys() {
            rows[*row] = true;
        }
        for pos in written {
            if rows.get(pos.0).copied().unwrap_or(false) {
                self.painted.remove(pos);
            }
        }
    }

    /// Returns the escape sequences that take the screen to `want`, or an empty string when
    /// it shows that already. The cursor's position, style and visibility are kept.
    pub fn frame(&mut self, shadow: &Shadow, want: &Desired) -> String {
        let mut body = String::new();
        let stale: Vec<(usize, usize)> = self
            .painted
            .keys()
            .filter(|pos| !want.contains_key(pos))
            .copied()
            .collect();
        for (row, col) in stale {
            self.painted.remove(&(row, col));
            shadow.restore(row, col, &mut body);
        }
        let mut last: Option<((usize, usize), Sgr)> = None;
        for (&(row, col), cell) in want {
            if self.painted.get(&(row, col)) == Some(cell) {
                continue;
            }
            self.painted.insert((row, col), *cell);
            if cell.width == 0 {
                continue;
            }
            let contiguous = matches!(last, Some(((r, c), _)) if r == row && c == col);
            if !contiguous {
                let _ = write!(body, "\u{1b}[{};{}H", row + 1, col + 1);
            }
            if last.map(|(_, s)| s) != Some(cell.sgr) || !contiguous {
                cell.sgr.write(&mut body);
            }
            body.push(cell.ch);
            last = Some(((row, col + cell.width as usize), cell.sgr));
        }
        if body.is_empty() {
            return body;
        }
        // Save the cursor (position and style), hide it while drawing, then put it back.
        let mut out = String::with_capacity(body.len() + 24);
        out.push_str("\u{1b}7\u{1b}[?25l");
        out.push_str(&body);
        out.push_str("\u{1b}[0m\u{1b}8");
        if shadow.cursor_visible() {
            out.push_str("\u{1b}[?25h");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::anim::Paint;

    fn rect(x: usize, y: usize, cols: usize, rows: usize) -> Rect {
        Rect { x, y, cols, rows }
    }

    /// A framed pane.
    fn view(pane: PaneRef, rect: Rect, floating: bool) -> PaneView {
        PaneView {
            pane,
            rect,
            floating,
            framed: true,
        }
    }

    /// Draws a framed pane the way Zellij does: corners, lines, a title.
    fn frame(shadow: &mut Shadow, r: Rect, title: &str) {
        let mut s = String::new();
        let _ = write!(
            s,
            "\u{1b}[{};{}H\u{1b}[m\u{1b}[38;5;8m┌ {title} ",
            r.y + 1,
            r.x + 1
        );
        for _ in 0..r.cols - 4 - title.chars().count() {
            s.push('─');
        }
        s.push('┐');
        for row in r.y + 1..r.y + r.rows - 1 {
            let _ = write!(
                s,
                "\u{1b}[{};{}H│\u{1b}[{};{}H│",
                row + 1,
                r.x + 1,
                row + 1,
                r.x + r.cols
            );
        }
        let _ = write!(s, "\u{1b}[{};{}H└", r.y + r.rows, r.x + 1);
        for _ in 0..r.cols - 2 {
            s.push('─');
        }
        s.push('┘');
        shadow.feed(s.as_bytes());
    }

    fn deco(message: &str) -> Decoration {
        Decoration {
            paint: Paint {
                color: (255, 0, 0),
                label: (255, 0, 0),
                stripes: None,
                border_on: true,
            },
            style: Style::Error,
            message: message.into(),
        }
    }

    fn screen_text(shadow: &Shadow, rows: usize, cols: usize) -> String {
        (0..rows)
            .map(|r| (0..cols).map(|c| shadow.ch(r, c)).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn recolours_only_the_notified_frame_and_restores_it() {
        let mut shadow = Shadow::default();
        let left = rect(0, 0, 20, 6);
        let right = rect(20, 0, 20, 6);
        frame(&mut shadow, left, "one");
        frame(&mut shadow, right, "two");
        let panes = vec![
            view(PaneRef::Terminal(1), left, false),
            view(PaneRef::Terminal(2), right, false),
        ];
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(2), deco("Build failed"));
        let want = desired(&shadow, &panes, &decos, &HashMap::new());
        assert!(
            want.keys().all(|(_, col)| *col >= 20),
            "only the right pane"
        );
        // 2 * 20 top/bottom + 2 * 4 sides, the title cells excluded.
        let border_cells = want.values().filter(|w| is_frame_glyph(w.ch)).count();
        assert!(border_cells > 30, "{border_cells}");
        let mut painter = Painter::default();
        let out = painter.frame(&shadow, &want);
        assert!(out.starts_with("\u{1b}7") && out.contains("38;2;255;0;0"));
        assert_eq!(
            painter.frame(&shadow, &want),
            "",
            "nothing changed, nothing sent"
        );
        // Replay perth's output over the shadow: the label is in the top border.
        let mut seen = Shadow::default();
        frame(&mut seen, left, "one");
        frame(&mut seen, right, "two");
        seen.feed(out.as_bytes());
        let text = screen_text(&seen, 6, 40);
        assert!(text.lines().next().unwrap().contains("✗ Build"), "{text}");
        let cleared = painter.frame(&shadow, &Desired::new());
        seen.feed(cleared.as_bytes());
        assert_eq!(screen_text(&seen, 6, 40), screen_text(&shadow, 6, 40));
        assert!(painter.is_empty());
    }

    #[test]
    fn floating_panes_above_are_never_painted_over() {
        let mut shadow = Shadow::default();
        let tiled = rect(0, 0, 40, 10);
        let float = rect(30, 5, 20, 8);
        frame(&mut shadow, tiled, "tiled");
        frame(&mut shadow, float, "float");
        let panes = vec![
            view(PaneRef::Terminal(1), tiled, false),
            view(PaneRef::Terminal(2), float, true),
        ];
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(1), deco("x"));
        let want = desired(&shadow, &panes, &decos, &HashMap::new());
        assert!(!want.is_empty());
        assert!(want.keys().all(|(r, c)| !float.contains(*r, *c)));
    }

    /// A floating pane the engine does not know of yet (its view lags the screen): where its
    /// frame crosses the tiled pane's edges, the screen shows the other stroke, and those
    /// cells are left alone.
    #[test]
    fn a_floating_frame_not_in_view_is_not_painted_over() {
        let mut shadow = Shadow::default();
        let tiled = rect(0, 0, 40, 10);
        let float = rect(30, 3, 20, 5);
        frame(&mut shadow, tiled, "tiled");
        frame(&mut shadow, float, "float");
        let panes = vec![view(PaneRef::Terminal(1), tiled, false)];
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(1), deco("x"));
        let want = desired(&shadow, &panes, &decos, &HashMap::new());
        // The float's top and bottom edges cross the tiled pane's right edge (column 39).
        assert!(!want.contains_key(&(3, 39)), "{:?}", want.get(&(3, 39)));
        assert!(!want.contains_key(&(7, 39)), "{:?}", want.get(&(7, 39)));
        assert!(want.contains_key(&(2, 39)) && want.contains_key(&(8, 39)));
    }

    #[test]
    fn stale_geometry_paints_nothing() {
        let mut shadow = Shadow::default();
        frame(&mut shadow, rect(0, 0, 30, 8), "a");
        let panes = vec![view(PaneRef::Terminal(1), rect(3, 2, 10, 3), false)];
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(1), deco("x"));
        assert!(desired(&shadow, &panes, &decos, &HashMap::new()).is_empty());
    }

    /// A render the way Zellij's server writes one (cursor hidden, each chunk placed and reset,
    /// styled, the cursor put back and shown), two framed panes side by side.
    fn zellij_render() -> String {
        let mut s = String::from("\u{1b}[?25l");
        let line = |s: &mut String, y: usize, x: usize, text: &str| {
            let _ = write!(
                s,
                "\u{1b}[{};{}H\u{1b}[m\u{1b}[38;5;245m{text}",
                y + 1,
                x + 1
            );
        };
        line(&mut s, 0, 0, "┌ shell ─────────────┐");
        line(&mut s, 0, 22, "┌ agent ─────────────┐");
        for y in 1..5 {
            line(&mut s, y, 0, "│");
            line(&mut s, y, 21, "│");
            line(&mut s, y, 22, "│");
            line(&mut s, y, 43, "│");
        }
        line(&mut s, 5, 0, "└────────────────────┘");
        line(&mut s, 5, 22, "└────────────────────┘");
        s.push_str("\u{1b}[2;24H\u{1b}[?25h");
        s
    }

    #[test]
    fn overlay_of_a_zellij_render_stream() {
        let mut shadow = Shadow::default();
        shadow.feed(zellij_render().as_bytes());
        shadow.take_written();
        let panes = vec![
            view(PaneRef::Terminal(0), rect(0, 0, 22, 6), false),
            view(PaneRef::Terminal(1), rect(22, 0, 22, 6), false),
        ];
        let mut decos = HashMap::new();
        let mut d = deco("Build failed");
        d.paint.stripes = Some(((255, 200, 200), 0));
        decos.insert(PaneRef::Terminal(1), d);
        let mut painter = Painter::default();
        let first = painter.frame(&shadow, &desired(&shadow, &panes, &decos, &HashMap::new()));
        insta::assert_snapshot!("overlay_first_frame", first.replace('\u{1b}', "␛"));
        // Zellij redraws the right pane's top border (a title change): only those cells are
        // painted again.
        let mut redraw = String::new();
        let _ = write!(
            redraw,
            "\u{1b}[1;23H\u{1b}[m\u{1b}[38;5;154m┌ agent* ────────────┐"
        );
        shadow.feed(redraw.as_bytes());
        let (written, cleared) = shadow.take_written();
        painter.drawn_over(&written, cleared);
        let again = painter.frame(&shadow, &desired(&shadow, &panes, &decos, &HashMap::new()));
        insta::assert_snapshot!("overlay_after_title_redraw", again.replace('\u{1b}', "␛"));
        let mut seen = Shadow::default();
        seen.feed(zellij_render().as_bytes());
        seen.feed(first.as_bytes());
        seen.feed(redraw.as_bytes());
        seen.feed(again.as_bytes());
        let text = screen_text(&seen, 6, 44);
        insta::assert_snapshot!("overlay_screen", text);
    }

    #[test]
    fn tab_summary_sits_in_the_bar_blank_space() {
        let mut shadow = Shadow::default();
        shadow.feed(" Zellij (s)  workspace  Tab #2                              BASE ".as_bytes());
        let bar = rect(0, 0, 70, 1);
        let segments = vec![
            (" Tab #2 ".to_string(), None),
            ("✗1".to_string(), Some((255, 0, 0))),
            (" ".to_string(), None),
        ];
        let mut want = Desired::new();
        tab_summary(&shadow, bar, &segments, &mut want);
        let mut painter = Painter::default();
        let mut seen = Shadow::default();
        seen.feed(" Zellij (s)  workspace  Tab #2                              BASE ".as_bytes());
        seen.feed(painter.frame(&shadow, &want).as_bytes());
        let line: String = (0..70).map(|c| seen.ch(0, c)).collect();
        assert!(line.contains("Tab #2 ✗1  BASE"), "{line:?}");
        assert!(
            line.starts_with(" Zellij (s)  workspace  Tab #2 "),
            "{line:?}"
        );
        let red = want
            .values()
            .filter(|w| w.sgr.fg == Color::Rgb(255, 0, 0))
            .count();
        assert_eq!(red, 2);
    }

    #[test]
    fn long_and_wide_messages_fit_the_frame() {
        assert_eq!(fit(" ✗ short ", 20), " ✗ short ");
        let cut = fit(" ✗ 界界界界界界界界界界 ", 12);
        let width: usize = cut.chars().map(|c| c.width().unwrap_or(0)).sum();
        assert!(width <= 12 && cut.ends_with("… "), "{cut}");
        let mut shadow = Shadow::default();
        let r = rect(0, 0, 16, 4);
        frame(&mut shadow, r, "t");
        let panes = vec![view(PaneRef::Terminal(1), r, false)];
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(1), deco(&"界".repeat(300)));
        let want = desired(&shadow, &panes, &decos, &HashMap::new());
        assert!(want.keys().all(|(row, col)| *row < 4 && *col < 16));
        let mut painter = Painter::default();
        let mut seen = Shadow::default();
        frame(&mut seen, r, "t");
        seen.feed(painter.frame(&shadow, &want).as_bytes());
        let top: String = (0..16).map(|c| seen.ch(0, c)).collect();
        assert!(top.starts_with("┌ t") && top.ends_with("─┐"), "{top}");
    }

    /// The top row a client sees after perth paints `want` over `shadow`.
    fn seen_top(shadow: &Shadow, r: Rect, title: &str, want: &Desired) -> String {
        let mut seen = Shadow::default();
        frame(&mut seen, r, title);
        seen.feed(Painter::default().frame(shadow, want).as_bytes());
        (0..r.cols).map(|c| seen.ch(r.y, c)).collect()
    }

    #[test]
    fn an_agent_badge_follows_the_title_and_a_notification_keeps_its_place() {
        let mut shadow = Shadow::default();
        let r = rect(0, 0, 40, 4);
        frame(&mut shadow, r, "claude");
        let panes = vec![view(PaneRef::Terminal(1), r, false)];
        let mut badges = HashMap::new();
        badges.insert(
            PaneRef::Terminal(1),
            Badge {
                icon: '✋',
                word: "waiting".into(),
                color: Some((255, 200, 0)),
            },
        );
        let want = desired(&shadow, &panes, &HashMap::new(), &badges);
        // The badge alone recolours no border cell.
        assert!(want.keys().all(|(row, _)| *row == 0));
        let top = seen_top(&shadow, r, "claude", &want);
        assert!(top.starts_with("┌ claude ✋  waiting ─"), "{top}");
        let mut decos = HashMap::new();
        decos.insert(PaneRef::Terminal(1), deco("Allow?"));
        let want = desired(&shadow, &panes, &decos, &badges);
        let top = seen_top(&shadow, r, "claude", &want);
        assert!(top.starts_with("┌ claude ✋  waiting ─"), "{top}");
        assert!(top.ends_with("Allow? ─┐"), "{top}");
        // A narrow pane keeps the icon; a narrower one shows nothing over its title.
        let small = rect(0, 0, 14, 3);
        let mut shadow = Shadow::default();
        frame(&mut shadow, small, "claude");
        let want = desired(
            &shadow,
            &[view(PaneRef::Terminal(1), small, false)],
            &HashMap::new(),
            &badges,
        );
        let top = seen_top(&shadow, small, "claude", &want);
        assert_eq!(top, "┌ claude ✋  ─┐");
        let tiny = rect(0, 0, 11, 3);
        let mut shadow = Shadow::default();
        frame(&mut shadow, tiny, "claude");
        let want = desired(
            &shadow,
            &[view(PaneRef::Terminal(1), tiny, false)],
            &HashMap::new(),
            &badges,
        );
        assert!(want.is_empty());
    }
}
