//! A shadow of what one client's terminal shows, kept by reading the render stream perth's
//! server sends it (DESIGN.md D3).
//!
//! Zellij renders by moving the cursor and printing styled characters; the shadow replays
//! that into a grid of cells (character, width, colours, attributes), enough to know which
//! cells show frame glyphs and to put a cell back exactly as Zellij drew it.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;
use vte::{Params, Parser, Perform};

/// A colour as SGR sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Color {
    #[default]
    Default,
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// The attributes of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Sgr {
    pub fg: Color,
    pub bg: Color,
    /// Bold 1, dim 2, italic 4, underline 8, blink 16, reverse 32, hidden 64, strike 128.
    pub attrs: u8,
}

const ATTR_CODES: [(u8, u8); 8] = [
    (1, 1),
    (2, 2),
    (4, 3),
    (8, 4),
    (16, 5),
    (32, 7),
    (64, 8),
    (128, 9),
];

impl Sgr {
    /// Writes the SGR sequence that sets exactly this style (starting from a reset).
    pub fn write(&self, out: &mut String) {
        out.push_str("\u{1b}[0");
        for (bit, code) in ATTR_CODES {
            if self.attrs & bit != 0 {
                let _ = write!(out, ";{code}");
            }
        }
        write_color(out, self.fg, 30);
        write_color(out, self.bg, 40);
        out.push('m');
    }

    fn apply(&mut self, params: &Params) {
        let flat: Vec<&[u16]> = params.iter().collect();
        if flat.is_empty() {
            *self = Sgr::default();
            return;
        }
        let mut i = 0;
        while i < flat.len() {
            let p = flat[i];
            let code = p[0];
            match code {
                0 => *self = Sgr::default(),
                1 => self.attrs |= 1,
                2 => self.attrs |= 2,
                3 => self.attrs |= 4,
                4 => {
                    // 4:0 turns underline off.
                    if p.get(1) == Some(&0) {
                        self.attrs &= !8
                    } else {
                        self.attrs |= 8
                    }
                }
                5 | 6 => self.attrs |= 16,
                7 => self.attrs |= 32,
                8 => self.attrs |= 64,
                9 => self.attrs |= 128,
                21 => self.attrs |= 8,
                22 => self.attrs &= !3,
                23 => self.attrs &= !4,
                24 => self.attrs &= !8,
                25 => self.attrs &= !16,
                27 => self.attrs &= !32,
                28 => self.attrs &= !64,
                29 => self.attrs &= !128,
                30..=37 => self.fg = Color::Indexed((code - 30) as u8),
                39 => self.fg = Color::Default,
                40..=47 => self.bg = Color::Indexed((code - 40) as u8),
                49 => self.bg = Color::Default,
                90..=97 => self.fg = Color::Indexed((code - 90 + 8) as u8),
                100..=107 => self.bg = Color::Indexed((code - 100 + 8) as u8),
                38 | 48 | 58 => {
                    let (color, used) = extended_color(&flat[i..]);
                    match code {
                        38 => self.fg = color.unwrap_or(self.fg),
                        48 => self.bg = color.unwrap_or(self.bg),
                        _ => {}
                    }
                    i += used;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// Reads `38;5;n`, `38;2;r;g;b` or their `:` forms; returns the colour and how many params
/// it took.
fn extended_color(params: &[&[u16]]) -> (Option<Color>, usize) {
    let first = params[0];
    if first.len() > 1 {
        // Colon form: 38:5:n or 38:2:[colourspace:]r:g:b, all in one param.
        let color = match first.get(1) {
            Some(5) => first.get(2).map(|n| Color::Indexed(*n as u8)),
            Some(2) => {
                let rgb = if first.len() >= 6 {
                    &first[3..6]
                } else {
                    &first[2..first.len().min(5)]
                };
                (rgb.len() == 3).then(|| Color::Rgb(rgb[0] as u8, rgb[1] as u8, rgb[2] as u8))
            }
            _ => None,
        };
        return (color, 1);
    }
    match params.get(1).map(|p| p[0]) {
        Some(5) => (params.get(2).map(|p| Color::Indexed(p[0] as u8)), 3),
        Some(2) if params.len() >= 5 => (
            Some(Color::Rgb(
                params[2][0] as u8,
                params[3][0] as u8,
                params[4][0] as u8,
            )),
            5,
        ),
        _ => (None, params.len().min(2)),
    }
}

fn write_color(out: &mut String, color: Color, base: u8) {
    match color {
        Color::Default => {}
        Color::Indexed(n) if n < 8 => {
            let _ = write!(out, ";{}", base + n);
        }
        Color::Indexed(n) if n < 16 => {
            let _ = write!(out, ";{}", base + 60 + n - 8);
        }
        Color::Indexed(n) => {
            let _ = write!(out, ";{};5;{n}", base + 8);
        }
        Color::Rgb(r, g, b) => {
            let _ = write!(out, ";{};2;{r};{g};{b}", base + 8);
        }
    }
}

/// One cell of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    /// 1 or 2 for a character, 0 for the second half of a wide character.
    pub width: u8,
    pub sgr: Sgr,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            ch: ' ',
            width: 1,
            sgr: Sgr::default(),
        }
    }
}

/// The shadow screen of one client.
#[derive(Debug, Default)]
pub struct Shadow {
    rows: Vec<Vec<Cell>>,
    cursor: (usize, usize),
    sgr: Sgr,
    cursor_visible: bool,
    parser: ParserBox,
    /// Cells written since [`Shadow::take_written`] was last called, as (row, col).
    written: Vec<(usize, usize)>,
    /// Whether the whole screen was cleared since the last [`Shadow::take_written`].
    cleared: bool,
}

/// vte's parser has no `Debug`; this wrapper gives it one.
struct ParserBox(Parser);

impl Default for ParserBox {
    fn default() -> Self {
        ParserBox(Parser::new())
    }
}

impl std::fmt::Debug for ParserBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parser")
    }
}

impl Shadow {
    /// Replays rendered output.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut parser = std::mem::take(&mut self.parser);
        parser.0.advance(self, bytes);
        self.parser = parser;
    }

    /// The cell at (row, col), if anything was ever drawn there.
    pub fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        self.rows.get(row)?.get(col)
    }

    /// The character shown at (row, col); a space where nothing was drawn.
    pub fn ch(&self, row: usize, col: usize) -> char {
        self.cell(row, col).map_or(' ', |c| c.ch)
    }

    /// Whether the cursor is shown at the end of what was fed.
    pub fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }

    /// Returns the cells written since the last call and whether the screen was cleared.
    pub fn take_written(&mut self) -> (Vec<(usize, usize)>, bool) {
        (
            std::mem::take(&mut self.written),
            std::mem::replace(&mut self.cleared, false),
        )
    }

    /// Writes the sequence that puts (row, col) back as Zellij drew it (for the second half of
    /// a wide character, the whole character).
    pub fn restore(&self, row: usize, col: usize, out: &mut String) {
        let (col, cell) = match self.cell(row, col) {
            Some(c) if c.width == 0 && col > 0 => (col - 1, self.cell(row, col - 1).copied()),
            other => (col, other.copied()),
        };
        let cell = cell.unwrap_or_default();
        let _ = write!(out, "\u{1b}[{};{}H", row + 1, col + 1);
        cell.sgr.write(out);
        out.push(if cell.width == 0 { ' ' } else { cell.ch });
    }

    fn put(&mut self, ch: char, width: usize) {
        let (row, col) = self.cursor;
        if self.rows.len() <= row {
            self.rows.resize_with(row + 1, Vec::new);
        }
        let line = &mut self.rows[row];
        if line.len() < col + width {
            line.resize(col + width, Cell::default());
        }
        line[col] = Cell {
            ch,
            width: width as u8,
            sgr: self.sgr,
        };
        self.written.push((row, col));
        if width == 2 {
            line[col + 1] = Cell {
                ch: ' ',
                width: 0,
                sgr: self.sgr,
            };
            self.written.push((row, col + 1));
        }
        self.cursor.1 += width;
    }
}

fn first(params: &Params, default: usize) -> usize {
    params
        .iter()
        .next()
        .map(|p| p[0] as usize)
        .filter(|n| *n != 0)
        .unwrap_or(default)
}

impl Perform for Shadow {
    fn print(&mut self, c: char) {
        match c.width() {
            Some(0) | None => {}
            Some(w) => self.put(c, w.min(2)),
        }
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' | 0x0b | 0x0c => self.cursor.0 += 1,
            b'\r' => self.cursor.1 = 0,
            0x08 => self.cursor.1 = self.cursor.1.saturating_sub(1),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], _ignore: bool, action: char) {
        if intermediates.first() == Some(&b'?') {
            if (action == 'h' || action == 'l') && params.iter().any(|p| p[0] == 25) {
                self.cursor_visible = action == 'h';
            }
            return;
        }
        if !intermediates.is_empty() {
            return;
        }
        match action {
            'H' | 'f' => {
                let mut it = params.iter();
                let row = it.next().map_or(1, |p| p[0].max(1) as usize);
                let col = it.next().map_or(1, |p| p[0].max(1) as usize);
                self.cursor = (row - 1, col - 1);
            }
            'A' => self.cursor.0 = self.cursor.0.saturating_sub(first(params, 1)),
            'B' => self.cursor.0 += first(params, 1),
            'C' => self.cursor.1 += first(params, 1),
            'D' => self.cursor.1 = self.cursor.1.saturating_sub(first(params, 1)),
            'G' | '`' => self.cursor.1 = first(params, 1) - 1,
            'd' => self.cursor.0 = first(params, 1) - 1,
            'm' => self.sgr.apply(params),
            'J' => {
                let mode = params.iter().next().map_or(0, |p| p[0]);
                if mode == 2 || mode == 3 {
                    self.rows.clear();
                    self.cleared = true;
                } else if mode == 0 {
                    let (row, col) = self.cursor;
                    if let Some(line) = self.rows.get_mut(row) {
                        line.truncate(col);
                    }
                    self.rows.truncate(row + 1);
                    self.cleared = true;
                }
            }
            'K' => {
                let mode = params.iter().next().map_or(0, |p| p[0]);
                let (row, col) = self.cursor;
                if let Some(line) = self.rows.get_mut(row) {
                    match mode {
                        0 => line.truncate(col),
                        2 => line.clear(),
                        _ => {
                            for cell in line.iter_mut().take(col + 1) {
                                *cell = Cell::default();
                            }
                        }
                    }
                    self.cleared = true;
                }
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if intermediates.is_empty() && byte == b'c' {
            // RIS: full reset.
            self.rows.clear();
            self.sgr = Sgr::default();
            self.cleared = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_positioned_styled_output() {
        let mut s = Shadow::default();
        s.feed(b"\x1b[2;3H\x1b[m\x1b[38;2;10;20;30;1m\xe2\x94\x8cab\x1b[0m\x1b[1;1H\xe7\x95\x8cx");
        assert_eq!(s.ch(1, 2), '┌');
        let cell = s.cell(1, 2).unwrap();
        assert_eq!(cell.sgr.fg, Color::Rgb(10, 20, 30));
        assert_eq!(cell.sgr.attrs & 1, 1);
        assert_eq!(s.ch(1, 4), 'b');
        assert_eq!(s.cell(1, 4).unwrap().sgr, s.cell(1, 3).unwrap().sgr);
        assert_eq!(s.ch(0, 0), '界');
        assert_eq!(s.cell(0, 1).unwrap().width, 0);
        assert_eq!(s.ch(0, 2), 'x');
        let (written, cleared) = s.take_written();
        assert_eq!(written.len(), 3 + 3);
        assert!(!cleared);
        let mut out = String::new();
        s.restore(1, 2, &mut out);
        assert_eq!(out, "\u{1b}[2;3H\u{1b}[0;1;38;2;10;20;30m┌");
        out.clear();
        s.restore(0, 1, &mut out);
        assert!(out.ends_with('界'), "{out}");
    }

    #[test]
    fn sgr_round_trips() {
        for seq in [
            "\x1b[31;42;4m",
            "\x1b[38;5;200;48:2::1:2:3m",
            "\x1b[91;7;9m",
            "\x1b[1;2;3;22m",
        ] {
            let mut s = Shadow::default();
            s.feed(seq.as_bytes());
            s.feed(b"x");
            let sgr = s.cell(0, 0).unwrap().sgr;
            let mut out = String::new();
            sgr.write(&mut out);
            let mut again = Shadow::default();
            again.feed(out.as_bytes());
            again.feed(b"x");
            assert_eq!(again.cell(0, 0).unwrap().sgr, sgr, "{seq} -> {out:?}");
        }
    }

    #[test]
    fn clear_and_cursor_visibility() {
        let mut s = Shadow::default();
        s.feed(b"\x1b[?25labc\x1b[2J");
        assert_eq!(s.ch(0, 0), ' ');
        assert!(!s.cursor_visible());
        s.feed(b"\x1b[?25h");
        assert!(s.cursor_visible());
        assert!(s.take_written().1);
    }
}
