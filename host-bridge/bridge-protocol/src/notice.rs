//! Notification vocabulary shared by the perth server, its command line and perth-core:
//! styles, pane references and the cleaning of messages.
//!
//! It lives here (a library both sides link) so `perth action notify`, the `perth::notify` pipe
//! and the server accept and reject exactly the same input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest message kept, in characters; longer ones end with `…`.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// How a notification is drawn; ordered by severity (`Info` lowest).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// Blue: something to know.
    #[default]
    Info,
    /// Green: a job finished well.
    Success,
    /// Yellow: the pane needs the user.
    Warning,
    /// Red: a job failed.
    Error,
}

impl Style {
    /// Every style, by severity.
    pub const ALL: [Style; 4] = [Style::Info, Style::Success, Style::Warning, Style::Error];

    /// The lower-case name used on the command line and in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Style::Info => "info",
            Style::Success => "success",
            Style::Warning => "warning",
            Style::Error => "error",
        }
    }

    /// The one-cell icon drawn before the message.
    pub fn icon(self) -> char {
        match self {
            Style::Info => '●',
            Style::Success => '✓',
            Style::Warning => '▲',
            Style::Error => '✗',
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Style {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Style::Error),
            "success" => Ok(Style::Success),
            "warning" | "warn" => Ok(Style::Warning),
            "info" => Ok(Style::Info),
            _ => Err(format!(
                "unknown style '{}'; use error, success, warning or info",
                clean_message(s)
            )),
        }
    }
}

/// A pane of the session: Zellij numbers terminal and plugin panes separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneRef {
    /// A terminal pane (`3` or `terminal_3`).
    Terminal(u32),
    /// A plugin pane (`plugin_2`).
    Plugin(u32),
}

impl PaneRef {
    /// Returns the reference of a pane as the plugin API reports it.
    pub fn new(id: u32, is_plugin: bool) -> PaneRef {
        if is_plugin {
            PaneRef::Plugin(id)
        } else {
            PaneRef::Terminal(id)
        }
    }
}

impl fmt::Display for PaneRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaneRef::Terminal(id) => write!(f, "terminal_{id}"),
            PaneRef::Plugin(id) => write!(f, "plugin_{id}"),
        }
    }
}

impl FromStr for PaneRef {
    type Err = String;

    /// Accepts every form Zellij accepts: `3`, `terminal_3`, `plugin_2`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let bad = || {
            format!(
                "'{}' is not a pane id; use a number (3), terminal_3 or plugin_2 (see `perth action list-panes`)",
                clean_message(s)
            )
        };
        let (kind, digits) = if let Some(rest) = t.strip_prefix("terminal_") {
            (false, rest)
        } else if let Some(rest) = t.strip_prefix("plugin_") {
            (true, rest)
        } else {
            (false, t)
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let id: u32 = digits.parse().map_err(|_| bad())?;
        Ok(PaneRef::new(id, kind))
    }
}

impl Serialize for PaneRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PaneRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A dark shade of `#rrggbb` (a fifth of it over black) for a pane's background, so that text
/// stays readable; `None` for anything that is not `#rrggbb`.
pub fn dark_tint(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#').filter(|h| h.len() == 6)?;
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let (r, g, b) = (channel(0)?, channel(2)?, channel(4)?);
    let shade = |c: u8| c / 5;
    Some(format!("#{:02x}{:02x}{:02x}", shade(r), shade(g), shade(b)))
}

/// Makes a message inert: escape sequences and control characters are removed, runs of
/// whitespace become one space, and the text is cut to [`MAX_MESSAGE_CHARS`].
pub fn clean_message(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_MESSAGE_CHARS * 4));
    let mut chars = raw.chars().peekable();
    let mut count = 0;
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            skip_escape(&mut chars);
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        // C0, DEL, C1 and the bidirectional overrides that could reorder the frame.
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        if count >= MAX_MESSAGE_CHARS {
            out.push('…');
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        // CSI: parameters and intermediates up to a final byte.
        Some('[') => {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
        // OSC, DCS, APC, PM, SOS: up to BEL or ST.
        Some(']') | Some('P') | Some('_') | Some('^') | Some('X') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        // Two-byte sequences with an intermediate (charset designations).
        Some('(') | Some(')') | Some('*') | Some('+') | Some('#') | Some('%') => {
            chars.next();
        }
        _ => {}
    }
}

/// A notification request as the `perth::notify` pipe carries it, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyArgs {
    /// The pane.
    pub pane: PaneRef,
    /// The style.
    pub style: Style,
    /// The cleaned message.
    pub message: String,
    /// Time to live in milliseconds; none keeps it until focus or clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
}

/// Reads the arguments of a `perth::notify` pipe message: `pane_id` (required), `style`
/// (default `info`), `ttl` (seconds, optional) and the message from the payload or a `message`
/// argument.
pub fn parse_notify_pipe(
    args: &std::collections::BTreeMap<String, String>,
    payload: Option<&str>,
) -> Result<NotifyArgs, String> {
    let known = ["pane_id", "style", "ttl", "message"];
    if let Some(unknown) = args.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "unknown argument '{}'; perth::notify takes pane_id, style, ttl and message",
            clean_message(unknown)
        ));
    }
    let pane = args
        .get("pane_id")
        .ok_or("perth::notify needs --args pane_id=ID (for example pane_id=3)")?
        .parse()?;
    let style = match args.get("style") {
        Some(s) => s.parse()?,
        None => Style::Info,
    };
    let ttl_ms = match args.get("ttl") {
        Some(t) => Some(parse_ttl(t)?),
        None => None,
    };
    let raw = payload
        .filter(|p| !p.trim().is_empty())
        .or(args.get("message").map(String::as_str))
        .unwrap_or("");
    let message = clean_message(raw);
    if message.is_empty() {
        return Err("perth::notify needs a message: `zellij pipe --name perth::notify --args pane_id=3 -- \"Build failed\"`".into());
    }
    Ok(NotifyArgs {
        pane,
        style,
        message,
        ttl_ms,
    })
}

/// Reads a time to live in seconds (fractions allowed) as milliseconds.
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 7.0 * 24.0 * 3600.0 => Ok((s * 1000.0) as u64),
        _ => Err(format!(
            "ttl '{}' is not a number of seconds between 0 and 604800",
            clean_message(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pane_refs_in_every_form() {
        assert_eq!("3".parse::<PaneRef>().unwrap(), PaneRef::Terminal(3));
        assert_eq!(
            "terminal_3".parse::<PaneRef>().unwrap(),
            PaneRef::Terminal(3)
        );
        assert_eq!("plugin_2".parse::<PaneRef>().unwrap(), PaneRef::Plugin(2));
        for bad in ["", "x", "-1", "terminal_", "plugin_x", "3 4", "99999999999"] {
            assert!(bad.parse::<PaneRef>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&PaneRef::Plugin(2)).unwrap();
        assert_eq!(json, "\"plugin_2\"");
        assert_eq!(
            serde_json::from_str::<PaneRef>(&json).unwrap(),
            PaneRef::Plugin(2)
        );
    }

    #[test]
    fn styles_parse_and_order_by_severity() {
        assert_eq!("ERROR".parse::<Style>().unwrap(), Style::Error);
        assert!("loud"
            .parse::<Style>()
            .unwrap_err()
            .contains("unknown style 'loud'"));
        assert!(Style::Error > Style::Warning && Style::Warning > Style::Success);
    }

    #[test]
    fn messages_are_made_inert() {
        assert_eq!(clean_message("  Build\n\tfailed  "), "Build failed");
        assert_eq!(
            clean_message("\u{1b}[31mred\u{1b}[0m \u{1b}]0;title\u{7}x\u{7}"),
            "red x"
        );
        assert_eq!(clean_message("a\u{1b}]8;;http://x\u{1b}\\b"), "ab");
        assert_eq!(clean_message("\u{202e}evil"), "evil");
        assert_eq!(clean_message("界面 ok"), "界面 ok");
        let long = clean_message(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn pipe_arguments() {
        let mut args = std::collections::BTreeMap::new();
        args.insert("pane_id".to_string(), "terminal_4".to_string());
        args.insert("style".to_string(), "error".to_string());
        let n = parse_notify_pipe(&args, Some("Build failed\n")).unwrap();
        assert_eq!(
            (n.pane, n.style, n.message.as_str()),
            (PaneRef::Terminal(4), Style::Error, "Build failed")
        );
        assert!(parse_notify_pipe(&args, None).is_err());
        args.insert("ttl".into(), "1.5".into());
        assert_eq!(
            parse_notify_pipe(&args, Some("x")).unwrap().ttl_ms,
            Some(1500)
        );
        args.insert("ttl".into(), "-1".into());
        assert!(parse_notify_pipe(&args, Some("x")).is_err());
        args.remove("ttl");
        args.insert("colour".into(), "red".into());
        assert!(parse_notify_pipe(&args, Some("x"))
            .unwrap_err()
            .contains("unknown argument 'colour'"));
        let mut args = std::collections::BTreeMap::new();
        args.insert("style".to_string(), "error".to_string());
        assert!(parse_notify_pipe(&args, Some("x"))
            .unwrap_err()
            .contains("pane_id"));
    }
}
