//! Renders a snapshot's markdown for a terminal pane: headings, bullet and numbered lists,
//! block quotes, rules, code blocks, and inline bold, emphasis, code and links, wrapped to the
//! pane's width with list items hanging under their text.
//!
//! This is the subset LLM summaries use, not CommonMark. What it does not know prints as it
//! was written. Control characters print in caret form (`^[`), never as escape sequences.

use bridge_client::text::push_inert;
use unicode_width::UnicodeWidthChar;

use crate::style::{Color, Line, Style};

/// Columns a tab advances to the next multiple of.
const TAB: usize = 4;

/// A character and its style: the unit text is parsed and wrapped in.
type Cell = (char, Style);

/// Renders `markdown` into lines at most `width` columns wide.
pub fn render(markdown: &str, width: usize) -> Vec<Line> {
    let width = width.max(8);
    let mut out: Vec<Line> = Vec::new();
    let mut in_code = false;
    // The column list item text starts at, for the lines that continue the item.
    let mut item_indent: Option<usize> = None;
    // The indents of the open lists, outermost first: an item's level is where its indent fits.
    let mut lists: Vec<usize> = Vec::new();
    for raw in markdown.split('\n') {
        let line = expand_tabs(raw.trim_end_matches('\r'));
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            item_indent = None;
            continue;
        }
        if in_code {
            let code = inert_cells(line.trim_end(), Style::fg(Color::Yellow));
            let prefix = cells("  ", Style::PLAIN);
            out.extend(hard_wrap(&prefix, &code, width));
            continue;
        }
        if trimmed.is_empty() {
            // Runs of blank lines count as one.
            if out.last().is_some_and(|l| l.width() > 0) {
                out.push(Line::blank());
            }
            item_indent = None;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if let Some((level, text)) = heading(trimmed) {
            let style = match level {
                1 => Style {
                    underline: true,
                    ..Style::fg(Color::Magenta).bold()
                },
                2 => Style::fg(Color::Cyan).bold(),
                _ => Style::PLAIN.bold(),
            };
            out.extend(wrap(&[], &[], &inline(text, style), width));
            item_indent = None;
            lists.clear();
        } else if is_rule(trimmed) {
            out.push(Line::one("─".repeat(width), Style::dim()));
            item_indent = None;
        } else if let Some(quoted) = trimmed.strip_prefix('>') {
            let prefix = cells("│ ", Style::dim());
            let text = inline(quoted.trim_start(), Style::dim());
            out.extend(wrap(&prefix, &prefix, &text, width));
            item_indent = None;
        } else if let Some((marker, text)) = list_item(trimmed) {
            while lists.last().is_some_and(|open| *open > indent) {
                lists.pop();
            }
            if lists.last().is_none_or(|open| *open < indent) {
                lists.push(indent);
            }
            let level = lists.len() - 1;
            let marker = match marker {
                Marker::Bullet => ["•", "◦", "▪"][level % 3].to_owned(),
                Marker::Number(n) => format!("{n}."),
            };
            let lead = "  ".repeat(level.min(4));
            let mut first = cells(&lead, Style::PLAIN);
            first.extend(cells(&marker, Style::fg(Color::Cyan)));
            first.push((' ', Style::PLAIN));
            let hang = cells(&" ".repeat(cells_width(&first)), Style::PLAIN);
            item_indent = Some(hang.len());
            out.extend(wrap(&first, &hang, &inline(text, Style::PLAIN), width));
        } else if let (Some(hang), true) = (item_indent, indent >= 2) {
            let prefix = cells(&" ".repeat(hang), Style::PLAIN);
            out.extend(wrap(
                &prefix,
                &prefix,
                &inline(trimmed, Style::PLAIN),
                width,
            ));
        } else {
            out.extend(wrap(&[], &[], &inline(trimmed, Style::PLAIN), width));
            item_indent = None;
            lists.clear();
        }
    }
    while out.last().is_some_and(|l| l.width() == 0) {
        out.pop();
    }
    out
}

fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut column = 0;
    for c in line.chars() {
        if c == '\t' {
            let next = (column / TAB + 1) * TAB;
            out.extend(std::iter::repeat_n(' ', next - column));
            column = next;
        } else {
            out.push(c);
            column += c.width().unwrap_or(0);
        }
    }
    out
}

/// Returns the heading level and text of `# Title` .. `###### Title`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let rest = &line[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| (level, rest.trim().trim_end_matches('#').trim_end()))
}

/// Returns whether the line is a thematic break (`---`, `***`, `___`, spaced or not).
fn is_rule(line: &str) -> bool {
    let marks: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ["-", "*", "_"]
            .iter()
            .any(|m| marks.chars().all(|c| c.to_string() == *m))
}

enum Marker {
    Bullet,
    Number(u32),
}

/// Returns the marker and text of `- item`, `* item`, `+ item`, `1. item` or `1) item`.
fn list_item(line: &str) -> Option<(Marker, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(text) = line.strip_prefix(bullet) {
            return Some((Marker::Bullet, text.trim_start()));
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &line[digits..];
        if let Some(text) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            let number = line[..digits].parse().ok()?;
            return Some((Marker::Number(number), text.trim_start()));
        }
    }
    None
}

fn cells(text: &str, style: Style) -> Vec<Cell> {
    text.chars().map(|c| (c, style)).collect()
}

/// Returns the cells of `text` with control characters in their visible form.
fn inert_cells(text: &str, style: Style) -> Vec<Cell> {
    let mut shown = String::new();
    for c in text.chars() {
        push_inert(&mut shown, c);
    }
    cells(&shown, style)
}

fn cells_width(cells: &[Cell]) -> usize {
    cells.iter().map(|(c, _)| c.width().unwrap_or(0)).sum()
}

/// Parses inline markup (`**bold**`, `*emphasis*`, `_emphasis_`, `` `code` ``, `[text](url)`,
/// backslash escapes) over `base`.
fn inline(text: &str, base: Style) -> Vec<Cell> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Cell> = Vec::new();
    let (mut bold, mut italic) = (false, false);
    let style = |bold: bool, italic: bool| Style {
        bold: base.bold || bold,
        italic: base.italic || italic,
        ..base
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|p| chars[p]);
        match c {
            '\\' if next.is_some_and(|n| n.is_ascii_punctuation()) => {
                out.push((chars[i + 1], style(bold, italic)));
                i += 2;
                continue;
            }
            '`' => {
                let ticks = chars[i..].iter().take_while(|c| **c == '`').count();
                if let Some(end) = find_run(&chars, i + ticks, '`', ticks) {
                    let code: String = chars[i + ticks..end].iter().collect();
                    let code_style = Style {
                        fg: Some(Color::Yellow),
                        ..style(bold, italic)
                    };
                    out.extend(inert_cells(code.trim(), code_style));
                    i = end + ticks;
                    continue;
                }
            }
            '*' | '_' if next == Some(c) => {
                let opens = !bold
                    && chars.get(i + 2).is_some_and(|n| !n.is_whitespace())
                    && find_closing(&chars, i + 2, c, 2).is_some();
                let closes = bold && prev.is_some_and(|p| !p.is_whitespace());
                if opens || closes {
                    bold = !bold;
                    i += 2;
                    continue;
                }
            }
            '*' | '_' => {
                // An underscore inside a word (snake_case) is a letter, not emphasis.
                let word_edge = |x: Option<char>| c == '*' || !x.is_some_and(char::is_alphanumeric);
                let opens = !italic
                    && word_edge(prev)
                    && next.is_some_and(|n| !n.is_whitespace())
                    && find_closing(&chars, i + 1, c, 1).is_some();
                let closes = italic && prev.is_some_and(|p| !p.is_whitespace()) && word_edge(next);
                if opens || closes {
                    italic = !italic;
                    i += 1;
                    continue;
                }
            }
            '[' => {
                if let Some((label, url, end)) = link(&chars, i) {
                    let link_style = Style {
                        underline: true,
                        fg: Some(Color::Blue),
                        ..style(bold, italic)
                    };
                    out.extend(inert_cells(&label, link_style));
                    if !url.is_empty() && url != label {
                        out.extend(inert_cells(&format!(" ({url})"), Style::dim()));
                    }
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        let mut shown = String::new();
        push_inert(&mut shown, c);
        out.extend(shown.chars().map(|s| (s, style(bold, italic))));
        i += 1;
    }
    out
}

/// Finds the next run of exactly `count` `mark`s at or after `from`.
fn find_run(chars: &[char], from: usize, mark: char, count: usize) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == mark {
            let run = chars[i..].iter().take_while(|c| **c == mark).count();
            if run == count {
                return Some(i);
            }
            i += run;
        } else {
            i += 1;
        }
    }
    None
}

/// Finds where an emphasis opened at `from` closes: `count` marks after a non-space.
fn find_closing(chars: &[char], from: usize, mark: char, count: usize) -> Option<usize> {
    (from + 1..=chars.len().saturating_sub(count)).find(|&i| {
        chars[i..i + count].iter().all(|c| *c == mark)
            && !chars[i - 1].is_whitespace()
            && (count == 2 || chars.get(i + 1) != Some(&mark))
    })
}

/// Reads `[label](url)` at `start`; returns the label, the URL and where it ends.
fn link(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    let close = start + chars[start..].iter().position(|c| *c == ']')?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = close + 2 + chars[close + 2..].iter().position(|c| *c == ')')?;
    let label: String = chars[start + 1..close].iter().collect();
    let url: String = chars[close + 2..end].iter().collect();
    (!label.is_empty()).then_some((label, url, end + 1))
}

/// Wraps a styled line at spaces into lines of `width` columns; the lines after the first
/// start with `hang` spaces.
pub fn wrap_line(line: &Line, width: usize, hang: usize) -> Vec<Line> {
    let text: Vec<Cell> = line
        .spans
        .iter()
        .flat_map(|span| span.text.chars().map(move |c| (c, span.style)))
        .collect();
    // Leading spaces indent the line (they would go as word separators).
    let lead = text.iter().take_while(|(c, _)| *c == ' ').count();
    let first = cells(&" ".repeat(lead), Style::PLAIN);
    let rest = cells(&" ".repeat(hang.max(lead)), Style::PLAIN);
    wrap(&first, &rest, &text[lead..], width.max(hang + 8))
}

/// Wraps `text` at spaces into lines of `width` columns, the first starting with `first`, the
/// others with `rest`; words longer than a line are cut.
fn wrap(first: &[Cell], rest: &[Cell], text: &[Cell], width: usize) -> Vec<Line> {
    let mut words: Vec<&[Cell]> = text
        .split(|(c, _)| *c == ' ')
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        words.push(&[]);
    }
    let mut lines: Vec<Vec<Cell>> = vec![first.to_vec()];
    let mut used = cells_width(first);
    let mut empty = true;
    for word in words {
        let word_width = cells_width(word);
        if !empty && used + 1 + word_width > width {
            lines.push(rest.to_vec());
            used = cells_width(rest);
        } else if !empty {
            let line = lines.last_mut().expect("lines starts with one line");
            // A space between two words of one style keeps it (an underlined link stays whole).
            let space_style = match (line.last(), word.first()) {
                (Some((_, a)), Some((_, b))) if a == b => *a,
                _ => Style::PLAIN,
            };
            line.push((' ', space_style));
            used += 1;
        }
        for &(c, style) in word {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > cells_width(rest) {
                lines.push(rest.to_vec());
                used = cells_width(rest);
            }
            lines
                .last_mut()
                .expect("lines starts with one line")
                .push((c, style));
            used += w;
        }
        empty = false;
    }
    lines.into_iter().map(|cells| to_line(&cells)).collect()
}

/// Cuts `text` into lines of `width` columns, each starting with `prefix` (code keeps its
/// spacing, so it is not wrapped at words).
fn hard_wrap(prefix: &[Cell], text: &[Cell], width: usize) -> Vec<Line> {
    let room = width.saturating_sub(cells_width(prefix)).max(1);
    let mut lines = Vec::new();
    let mut current = prefix.to_vec();
    let mut used = 0;
    for &(c, style) in text {
        let w = c.width().unwrap_or(0);
        if used + w > room && used > 0 {
            lines.push(to_line(&current));
            current = prefix.to_vec();
            used = 0;
        }
        current.push((c, style));
        used += w;
    }
    lines.push(to_line(&current));
    lines
}

fn to_line(cells: &[Cell]) -> Line {
    let mut line = Line::blank();
    let mut buf = [0u8; 4];
    for (c, style) in cells {
        line.push(c.encode_utf8(&mut buf), *style);
    }
    // Trailing spaces carry no information and only widen the line.
    if let Some(last) = line.spans.last_mut() {
        let kept = last.text.trim_end_matches(' ').len();
        last.text.truncate(kept);
        if last.text.is_empty() {
            line.spans.pop();
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markup(markdown: &str, width: usize) -> String {
        render(markdown, width)
            .iter()
            .map(Line::to_markup)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn headings_lists_and_emphasis() {
        let md = "# Title\n## What was done\n- fixed **login** in `src/auth.rs`\n\
                  * tried _token cache_, see [docs](https://x.dev)\n\n1. ship *it*";
        insta::assert_snapshot!(markup(md, 60), @r"
        {b,u,magenta|Title}
        {b,cyan|What was done}
        {cyan|•} fixed {b|login} in {yellow|src/auth.rs}
        {cyan|•} tried {i|token cache}, see {u,blue|docs} {dim|(https://x.dev)}

        {cyan|1.} ship {i|it}
        ");
    }

    #[test]
    fn list_items_hang_under_their_text_when_wrapped() {
        let md = "- a first item whose words do not fit on one line of twenty\n  \
                  continued here\n    - nested item text";
        insta::assert_snapshot!(markup(md, 20), @r"
        {cyan|•} a first item whose
          words do not fit
          on one line of
          twenty
          continued here
          {cyan|◦} nested item text
        ");
    }

    #[test]
    fn snake_case_and_lone_stars_stay_as_written() {
        let md = "call my_func_name with 2 * 3 and a*b, not *closed";
        assert_eq!(markup(md, 80), md);
        assert_eq!(markup("\\*literal\\*", 80), "*literal*");
    }

    #[test]
    fn escape_sequences_print_inert() {
        let md = "## Evil \u{1b}[2J\n- \u{1b}]0;title\u{7} and `\u{1b}[31m`\n```\n\u{1b}[H\n```";
        let text = markup(md, 80);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        insta::assert_snapshot!(text, @r"
        {b,cyan|Evil ^[[2J}
        {cyan|•} ^[]0;title^G and {yellow|^[[31m}
          {yellow|^[[H}
        ");
    }

    #[test]
    fn long_words_are_cut_and_code_is_not_rewrapped() {
        let md = "averyveryverylongwordthatdoesnotfit\n```\nlet x =   1;\n```";
        insta::assert_snapshot!(markup(md, 12), @r"
        averyveryver
        ylongwordtha
        tdoesnotfit
          {yellow|let x =}
          {yellow|1;}
        ");
    }

    #[test]
    fn rules_quotes_and_blank_runs() {
        let md = "> quoted *text*\n\n\n---\nend\n\n";
        insta::assert_snapshot!(markup(md, 10), @r"
        {dim|│ quoted}
        {dim|│ }{dim,i|text}

        {dim|──────────}
        end
        ");
    }
}
