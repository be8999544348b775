//! Styled text: spans of one style, lines of spans, and how they become terminal output.
//!
//! The renderer builds [`Line`]s; [`Line::to_ansi`] turns one into what the plugin prints (SGR
//! sequences, cut to the pane's width), [`Line::to_markup`] into what snapshot tests read.

use unicode_width::UnicodeWidthChar;

/// One of the terminal's basic colours, so that the user's theme decides how they look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
}

impl Color {
    fn sgr(self) -> u8 {
        match self {
            Color::Red => 31,
            Color::Green => 32,
            Color::Yellow => 33,
            Color::Blue => 34,
            Color::Magenta => 35,
            Color::Cyan => 36,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Color::Red => "red",
            Color::Green => "green",
            Color::Yellow => "yellow",
            Color::Blue => "blue",
            Color::Magenta => "magenta",
            Color::Cyan => "cyan",
        }
    }
}

/// How a span looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub italic: bool,
    pub underline: bool,
    pub dim: bool,
    pub reverse: bool,
    pub fg: Option<Color>,
}

impl Style {
    /// Returns the plain style.
    pub const PLAIN: Style = Style {
        bold: false,
        italic: false,
        underline: false,
        dim: false,
        reverse: false,
        fg: None,
    };

    /// Returns the style in `color`.
    pub fn fg(color: Color) -> Style {
        Style {
            fg: Some(color),
            ..Style::PLAIN
        }
    }

    /// Returns the dim style.
    pub fn dim() -> Style {
        Style {
            dim: true,
            ..Style::PLAIN
        }
    }

    /// Returns this style, bold.
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }

    /// Returns this style, reversed.
    pub fn reverse(self) -> Style {
        Style {
            reverse: true,
            ..self
        }
    }

    fn sgr(self) -> String {
        let mut codes: Vec<String> = Vec::new();
        if self.bold {
            codes.push("1".into());
        }
        if self.dim {
            codes.push("2".into());
        }
        if self.italic {
            codes.push("3".into());
        }
        if self.underline {
            codes.push("4".into());
        }
        if self.reverse {
            codes.push("7".into());
        }
        if let Some(fg) = self.fg {
            codes.push(fg.sgr().to_string());
        }
        if codes.is_empty() {
            String::new()
        } else {
            format!("\u{1b}[{}m", codes.join(";"))
        }
    }

    fn markup(self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for (on, name) in [
            (self.bold, "b"),
            (self.dim, "dim"),
            (self.italic, "i"),
            (self.underline, "u"),
            (self.reverse, "rev"),
        ] {
            if on {
                names.push(name);
            }
        }
        if let Some(fg) = self.fg {
            names.push(fg.name());
        }
        names.join(",")
    }
}

/// Text of one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

impl Span {
    /// Returns a span; `text` must hold no control characters (make it [`inert`] first).
    ///
    /// [`inert`]: bridge_client::text::inert
    pub fn new(text: impl Into<String>, style: Style) -> Span {
        Span {
            text: text.into(),
            style,
        }
    }

    /// Returns an unstyled span.
    pub fn plain(text: impl Into<String>) -> Span {
        Span::new(text, Style::PLAIN)
    }
}

/// One screen line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub spans: Vec<Span>,
}

impl Line {
    /// Returns a line of `spans`.
    pub fn new(spans: Vec<Span>) -> Line {
        Line { spans }
    }

    /// Returns a line of one span.
    pub fn one(text: impl Into<String>, style: Style) -> Line {
        Line::new(vec![Span::new(text, style)])
    }

    /// Returns an empty line.
    pub fn blank() -> Line {
        Line::default()
    }

    /// Appends a span, merging it into the last one when they share a style.
    pub fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push_str(text),
            _ => self.spans.push(Span::new(text, style)),
        }
    }

    /// Returns the display width.
    pub fn width(&self) -> usize {
        self.spans.iter().map(|s| text_width(&s.text)).sum()
    }

    /// Returns the text without styles.
    pub fn plain_text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Returns the line cut to `width` columns (an ellipsis marks the cut).
    pub fn truncated(&self, width: usize) -> Line {
        if self.width() <= width {
            return self.clone();
        }
        let mut out = Line::blank();
        let room = width.saturating_sub(1);
        let mut used = 0;
        'spans: for span in &self.spans {
            let mut text = String::new();
            for c in span.text.chars() {
                let w = c.width().unwrap_or(0);
                if used + w > room {
                    out.push(&text, span.style);
                    break 'spans;
                }
                used += w;
                text.push(c);
            }
            out.push(&text, span.style);
        }
        if width > 0 {
            let style = out.spans.last().map_or(Style::PLAIN, |s| s.style);
            out.push("…", style);
        }
        out
    }

    /// Returns the terminal output of the line, cut to `width` columns, styles reset at the end.
    pub fn to_ansi(&self, width: usize) -> String {
        let mut out = String::new();
        for span in &self.truncated(width).spans {
            let sgr = span.style.sgr();
            if sgr.is_empty() {
                out.push_str(&span.text);
            } else {
                out.push_str(&sgr);
                out.push_str(&span.text);
                out.push_str("\u{1b}[0m");
            }
        }
        out
    }

    /// Returns the line with styled spans written `{b,cyan|text}`, for tests.
    pub fn to_markup(&self) -> String {
        self.spans
            .iter()
            .map(|s| {
                let names = s.style.markup();
                if names.is_empty() {
                    s.text.clone()
                } else {
                    format!("{{{names}|{}}}", s.text)
                }
            })
            .collect()
    }
}

/// Returns the display width of `text`.
pub fn text_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_output_is_styled_reset_and_cut() {
        let mut line = Line::one("title", Style::fg(Color::Cyan).bold());
        line.push(" rest", Style::PLAIN);
        assert_eq!(line.to_ansi(80), "\u{1b}[1;36mtitle\u{1b}[0m rest");
        assert_eq!(line.to_ansi(6), "\u{1b}[1;36mtitle…\u{1b}[0m");
        assert_eq!(line.to_markup(), "{b,cyan|title} rest");
        assert_eq!(
            Line::one("漢字漢字", Style::PLAIN)
                .truncated(5)
                .plain_text(),
            "漢字…"
        );
    }
}
