//! Reading what a terminal shows in colour: `tmux capture-pane -e -p` parsed into cells with
//! their foreground colour, so a test can ask which cells of a pane's frame carry a colour.

use unicode_width::UnicodeWidthChar;

/// A foreground colour as the capture spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fg {
    #[default]
    Default,
    Indexed(u16),
    Rgb(u8, u8, u8),
}

/// One cell of a captured screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub fg: Fg,
}

/// A rectangle of cells: a pane as `list-panes --json` reports it (frame included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub cols: usize,
    pub rows: usize,
}

impl Rect {
    /// The pane's rectangle from one entry of `list-panes --json`.
    pub fn of_pane(pane: &serde_json::Value) -> Rect {
        let n = |k: &str| pane[k].as_u64().unwrap_or(0) as usize;
        Rect {
            x: n("pane_x"),
            y: n("pane_y"),
            cols: n("pane_columns"),
            rows: n("pane_rows"),
        }
    }

    /// Whether (row, col) is inside.
    pub fn contains(&self, row: usize, col: usize) -> bool {
        row >= self.y && row < self.y + self.rows && col >= self.x && col < self.x + self.cols
    }

    /// The cells of the outer ring, as (row, col).
    pub fn border(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.rows == 0 || self.cols == 0 {
            return out;
        }
        let (last_row, last_col) = (self.y + self.rows - 1, self.x + self.cols - 1);
        for col in self.x..=last_col {
            out.push((self.y, col));
            if last_row != self.y {
                out.push((last_row, col));
            }
        }
        for row in self.y + 1..last_row {
            out.push((row, self.x));
            out.push((row, last_col));
        }
        out
    }
}

/// A captured screen.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    rows: Vec<Vec<Cell>>,
}

impl Screen {
    /// Parses `capture-pane -e -p` output.
    pub fn parse(captured: &str) -> Screen {
        let mut screen = Screen::default();
        let mut fg = Fg::Default;
        for line in captured.split('\n') {
            let mut parser = vte::Parser::new();
            let mut row = Row {
                cells: Vec::new(),
                fg,
            };
            parser.advance(&mut row, line.as_bytes());
            fg = row.fg;
            screen.rows.push(row.cells);
        }
        screen
    }

    /// The cell at (row, col).
    pub fn cell(&self, row: usize, col: usize) -> Option<Cell> {
        self.rows.get(row)?.get(col).copied()
    }

    /// The text of a row.
    pub fn line(&self, row: usize) -> String {
        self.rows
            .get(row)
            .map(|r| r.iter().map(|c| c.ch).collect())
            .unwrap_or_default()
    }

    /// The share of `rect`'s frame glyph cells drawn in an RGB colour (perth's overlay; 0 when
    /// no frame is drawn there).
    pub fn coloured_share(&self, rect: Rect) -> f64 {
        let cells = self.frame_cells(rect);
        if cells.is_empty() {
            return 0.0;
        }
        let rgb = cells
            .iter()
            .filter(|(_, _, c)| matches!(c.fg, Fg::Rgb(..)))
            .count();
        rgb as f64 / cells.len() as f64
    }

    /// The border cells of `rect` that show a frame glyph.
    pub fn frame_cells(&self, rect: Rect) -> Vec<(usize, usize, Cell)> {
        rect.border()
            .into_iter()
            .filter_map(|(r, c)| self.cell(r, c).map(|cell| (r, c, cell)))
            .filter(|(_, _, cell)| ('\u{2500}'..='\u{257f}').contains(&cell.ch))
            .collect()
    }

    /// Every cell whose foreground is an RGB colour, as (row, col).
    pub fn rgb_cells(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (r, row) in self.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if matches!(cell.fg, Fg::Rgb(..)) {
                    out.push((r, c));
                }
            }
        }
        out
    }
}

struct Row {
    cells: Vec<Cell>,
    fg: Fg,
}

impl vte::Perform for Row {
    fn print(&mut self, ch: char) {
        let w = ch.width().unwrap_or(0);
        if w == 0 {
            return;
        }
        self.cells.push(Cell { ch, fg: self.fg });
        if w == 2 {
            self.cells.push(Cell {
                ch: ' ',
                fg: self.fg,
            });
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, _: &[u8], _: bool, action: char) {
        if action != 'm' {
            return;
        }
        let flat: Vec<u16> = params.iter().flat_map(|p| p.iter().copied()).collect();
        if flat.is_empty() {
            self.fg = Fg::Default;
        }
        let mut i = 0;
        while i < flat.len() {
            match flat[i] {
                0 | 39 => self.fg = Fg::Default,
                n @ 30..=37 => self.fg = Fg::Indexed(n - 30),
                n @ 90..=97 => self.fg = Fg::Indexed(n - 90 + 8),
                38 | 48 | 58 => {
                    let target_fg = flat[i] == 38;
                    match flat.get(i + 1) {
                        Some(5) => {
                            if target_fg {
                                self.fg = Fg::Indexed(flat.get(i + 2).copied().unwrap_or(0));
                            }
                            i += 2;
                        }
                        Some(2) => {
                            let v = |k: usize| flat.get(i + k).copied().unwrap_or(0) as u8;
                            if target_fg {
                                self.fg = Fg::Rgb(v(2), v(3), v(4));
                            }
                            i += 4;
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_colours_per_cell() {
        let s = Screen::parse("\x1b[38;2;1;2;3m┌─\x1b[0m┐\nab\x1b[38;5;9mc");
        assert_eq!(s.cell(0, 0).unwrap().fg, Fg::Rgb(1, 2, 3));
        assert_eq!(s.cell(0, 2).unwrap().fg, Fg::Default);
        assert_eq!(s.cell(1, 2).unwrap().fg, Fg::Indexed(9));
        assert_eq!(s.rgb_cells(), vec![(0, 0), (0, 1)]);
        let r = Rect {
            x: 0,
            y: 0,
            cols: 3,
            rows: 2,
        };
        assert_eq!(s.frame_cells(r).len(), 3);
        assert_eq!(s.line(1), "abc");
    }
}
