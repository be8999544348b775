//! bar-style: the styled text of perth's bars (the tab bar and the status bar): spans in the
//! theme's colours, and how a line becomes terminal output.
//!
//! [`Line::to_ansi`] is what a plugin prints (SGR sequences with the palette's 256-colour or
//! true-colour values); [`Line::to_markup`] is what snapshot tests read.

use unicode_width::UnicodeWidthChar;
use zellij_tile::prelude::PaletteColor;

/// How a span looks: colours from the theme, bold, and the dim italic of disabled text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<PaletteColor>,
    pub bg: Option<PaletteColor>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
}

impl Style {
    /// Returns the style of `fg` on `bg`.
    pub fn new(fg: PaletteColor, bg: PaletteColor) -> Style {
        Style {
            fg: Some(fg),
            bg: Some(bg),
            ..Style::default()
        }
    }

    /// Returns the style of `fg` on the terminal's own background.
    pub fn fg(fg: PaletteColor) -> Style {
        Style {
            fg: Some(fg),
            ..Style::default()
        }
    }

    /// Returns this style, bold.
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }

    /// Returns this style, dim.
    pub fn dim(self) -> Style {
        Style { dim: true, ..self }
    }

    /// Returns this style, italic.
    pub fn italic(self) -> Style {
        Style {
            italic: true,
            ..self
        }
    }

    /// Returns this style with another foreground.
    pub fn with_fg(self, fg: PaletteColor) -> Style {
        Style {
            fg: Some(fg),
            ..self
        }
    }

    /// Returns the SGR sequence that resets the attributes and sets this style.
    pub fn sgr(self) -> String {
        let mut codes: Vec<String> = vec!["0".into()];
        if self.bold {
            codes.push("1".into());
        }
        if self.dim {
            codes.push("2".into());
        }
        if self.italic {
            codes.push("3".into());
        }
        if let Some(fg) = self.fg {
            codes.push(color_code(38, fg));
        }
        if let Some(bg) = self.bg {
            codes.push(color_code(48, bg));
        }
        format!("\u{1b}[{}m", codes.join(";"))
    }

    fn markup(self) -> String {
        let mut names = Vec::new();
        if self.bold {
            names.push("b".to_owned());
        }
        if self.dim {
            names.push("dim".to_owned());
        }
        if self.italic {
            names.push("i".to_owned());
        }
        if let Some(fg) = self.fg {
            names.push(format!("fg={}", color_name(fg)));
        }
        if let Some(bg) = self.bg {
            names.push(format!("bg={}", color_name(bg)));
        }
        names.join(",")
    }
}

/// Returns the SGR parameters of a colour: `38;5;N` / `38;2;R;G;B` (48 for the background).
fn color_code(base: u8, color: PaletteColor) -> String {
    match color {
        PaletteColor::EightBit(n) => format!("{base};5;{n}"),
        PaletteColor::Rgb((r, g, b)) => format!("{base};2;{r};{g};{b}"),
    }
}

fn color_name(color: PaletteColor) -> String {
    match color {
        PaletteColor::EightBit(n) => n.to_string(),
        PaletteColor::Rgb((r, g, b)) => format!("#{r:02x}{g:02x}{b:02x}"),
    }
}

/// Text of one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub style: Style,
}

/// One row of a bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub spans: Vec<Span>,
}

impl Line {
    /// Appends text (free of control characters), merging it into the last span when they
    /// share a style.
    pub fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        match self.spans.last_mut() {
            Some(last) if last.style == style => last.text.push_str(text),
            _ => self.spans.push(Span {
                text: text.to_owned(),
                style,
            }),
        }
    }

    /// Appends the spans of `other`.
    pub fn append(&mut self, other: &Line) {
        for span in &other.spans {
            self.push(&span.text, span.style);
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

    /// Returns the terminal output of the line, styles reset at the end.
    pub fn to_ansi(&self) -> String {
        let mut out = String::new();
        for span in &self.spans {
            out.push_str(&span.style.sgr());
            out.push_str(&span.text);
        }
        out.push_str("\u{1b}[0m");
        out
    }

    /// Returns the line with styled spans written `{b,fg=0,bg=2|text}`, for tests.
    pub fn to_markup(&self) -> String {
        self.spans
            .iter()
            .map(|s| match s.style.markup() {
                names if names.is_empty() => s.text.clone(),
                names => format!("{{{names}|{}}}", s.text),
            })
            .collect()
    }
}

/// Returns the display width of `text`.
pub fn text_width(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Returns `text` cut to at most `width` columns, an ellipsis marking a cut.
pub fn cut(text: &str, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_carries_palette_colours_and_resets() {
        let mut line = Line::default();
        let style = Style::new(PaletteColor::EightBit(0), PaletteColor::Rgb((1, 2, 255)));
        line.push(" a", style.bold());
        line.push("b", style.bold());
        line.push(" ", style);
        assert_eq!(
            line.to_ansi(),
            "\u{1b}[0;1;38;5;0;48;2;1;2;255m ab\u{1b}[0;38;5;0;48;2;1;2;255m \u{1b}[0m"
        );
        assert_eq!(
            line.to_markup(),
            "{b,fg=0,bg=#0102ff| ab}{fg=0,bg=#0102ff| }"
        );
        assert_eq!(line.width(), 4);
    }

    #[test]
    fn cuts_keep_within_the_width() {
        assert_eq!(cut("feat/user-auth", 8), "feat/us…");
        assert_eq!(cut("short", 8), "short");
        assert_eq!(cut("漢字漢字", 5), "漢字…");
        assert_eq!(cut("abc", 0), "");
    }
}
