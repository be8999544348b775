//! Finds desktop notifications and bells in a pane's output stream.
//!
//! Programs ask the terminal for desktop notifications with OSC 9 (`ESC ] 9 ; text BEL`),
//! OSC 777 (`ESC ] 777 ; notify ; title ; body BEL`) and kitty's OSC 99 (`ESC ] 99 ; key=value:...
//! ; payload ST`), and ring the bell with BEL. The scanner sees the raw bytes as they leave the
//! PTY, in chunks cut anywhere, and keeps only as much state as an unfinished sequence needs.
//! A BEL that ends an OSC (window titles, cwd reports) is not a bell.
//!
//! The style is `info` unless the notification says otherwise: kitty's urgency `u=2` is a
//! `warning`, and a message starting with `error:`, `success:`, `warning:` or `info:` takes
//! that style (the prefix is dropped).

use std::collections::HashMap;

use super::bus::{Source, Style};
use crate::agent_state::{self, AgentState};

/// The longest OSC body kept; longer ones are dropped whole.
const MAX_OSC: usize = 8192;

/// A notification found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub source: Source,
    pub style: Style,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Esc,
    Osc,
    OscEsc,
    /// A string sequence perth does not read (DCS, APC, PM, SOS): skipped to its ST, its
    /// BELs are not bells.
    Str,
    StrEsc,
}

/// The scanner of one pane.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    osc: Vec<u8>,
    overflow: bool,
    /// Unfinished kitty notifications (`d=0` chunks) by id.
    kitty: HashMap<String, (String, String, Style)>,
    /// Agent states the program reported (`ESC ] 777 ; perth-agent ; STATE ; MESSAGE`), not
    /// taken yet.
    agent: Vec<(AgentState, Option<String>)>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Ground,
            osc: Vec::new(),
            overflow: false,
            kitty: HashMap::new(),
            agent: Vec::new(),
        }
    }
}

impl Scanner {
    /// Feeds bytes; calls `found` for each notification or bell completed in them.
    pub fn feed(&mut self, bytes: &[u8], found: &mut impl FnMut(Found)) {
        for &b in bytes {
            match self.state {
                State::Ground => match b {
                    0x1b => self.state = State::Esc,
                    0x07 => found(Found {
                        source: Source::Bell,
                        style: Style::Info,
                        message: "bell".into(),
                    }),
                    _ => {}
                },
                State::Esc => {
                    self.state = match b {
                        b']' => {
                            self.osc.clear();
                            self.overflow = false;
                            State::Osc
                        }
                        b'P' | b'_' | b'^' | b'X' => State::Str,
                        0x1b => State::Esc,
                        _ => State::Ground,
                    }
                }
                State::Osc => match b {
                    0x07 => {
                        self.finish(found);
                        self.state = State::Ground;
                    }
                    0x1b => self.state = State::OscEsc,
                    // CAN and SUB abort a sequence.
                    0x18 | 0x1a => self.state = State::Ground,
                    _ => {
                        if self.osc.len() < MAX_OSC {
                            self.osc.push(b);
                        } else {
                            self.overflow = true;
                        }
                    }
                },
                State::OscEsc => {
                    if b == b'\\' {
                        self.finish(found);
                        self.state = State::Ground;
                    } else {
                        // An ESC that is not ST aborts the OSC and starts a new sequence.
                        self.state = State::Esc;
                        if b == b']' {
                            self.osc.clear();
                            self.overflow = false;
                            self.state = State::Osc;
                        }
                    }
                }
                State::Str => match b {
                    0x1b => self.state = State::StrEsc,
                    0x18 | 0x1a => self.state = State::Ground,
                    _ => {}
                },
                State::StrEsc => {
                    self.state = if b == b'\\' {
                        State::Ground
                    } else {
                        State::Str
                    }
                }
            }
        }
    }

    /// Returns the agent states the pane's program reported since the last call.
    pub fn take_agent_signals(&mut self) -> Vec<(AgentState, Option<String>)> {
        std::mem::take(&mut self.agent)
    }

    fn finish(&mut self, found: &mut impl FnMut(Found)) {
        if self.overflow {
            return;
        }
        let body = String::from_utf8_lossy(&self.osc).into_owned();
        let Some((code, rest)) = body.split_once(';') else {
            return;
        };
        if code == "777" {
            if let Some(body) = rest
                .strip_prefix(agent_state::OSC_NAMESPACE)
                .and_then(|r| r.strip_prefix(';'))
            {
                if let Some(signal) = agent_state::parse_escape(body) {
                    // Bounded: a program that prints thousands per read keeps the last ones.
                    if self.agent.len() >= 16 {
                        self.agent.remove(0);
                    }
                    self.agent.push(signal);
                }
                return;
            }
        }
        let result = match code {
            "9" => osc9(rest),
            "777" => osc777(rest),
            "99" => self.osc99(rest),
            _ => None,
        };
        if let Some(f) = result {
            found(f);
        }
    }

    fn osc99(&mut self, rest: &str) -> Option<Found> {
        let (meta, payload) = rest.split_once(';').unwrap_or((rest, ""));
        let mut id = String::new();
        let mut done = true;
        let mut part = "title";
        let mut encoded = false;
        let mut style = Style::Info;
        for kv in meta.split(':') {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            match k {
                "i" => id = v.to_string(),
                "d" => done = v != "0",
                "p" => {
                    part = if v == "body" {
                        "body"
                    } else if v == "title" {
                        "title"
                    } else {
                        "other"
                    }
                }
                "e" => encoded = v == "1",
                "u" if v == "2" => style = Style::Warning,
                _ => {}
            }
        }
        if part == "other" {
            // Icons, buttons, queries: nothing to show.
            return None;
        }
        let text = if encoded {
            let bytes = decode_base64(payload.trim())?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            payload.to_string()
        };
        let entry = self
            .kitty
            .entry(id.clone())
            .or_insert_with(|| (String::new(), String::new(), Style::Info));
        if part == "title" {
            entry.0.push_str(&text);
        } else {
            entry.1.push_str(&text);
        }
        entry.2 = entry.2.max(style);
        if !done {
            // Bounded: a program that never finishes its chunks cannot grow this.
            if self.kitty.len() > 16 {
                self.kitty.clear();
            }
            return None;
        }
        let (title, body, style) = self.kitty.remove(&id)?;
        let message = join(&title, &body);
        Some(styled(Source::Osc99, style, &message))
    }
}

fn osc9(rest: &str) -> Option<Found> {
    // ConEmu uses OSC 9 with a number and `;` for progress and other commands (`9;4;1;50`).
    let mut parts = rest.splitn(2, ';');
    let first = parts.next().unwrap_or("");
    if parts.next().is_some() && !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(styled(Source::Osc9, Style::Info, rest))
}

fn osc777(rest: &str) -> Option<Found> {
    let mut parts = rest.splitn(3, ';');
    if parts.next()? != "notify" {
        return None;
    }
    let title = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("");
    Some(styled(Source::Osc777, Style::Info, &join(title, body)))
}

/// Decodes standard base64 (kitty's `e=1` payloads); `None` when it is not valid.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|b| *b != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn join(title: &str, body: &str) -> String {
    match (title.trim().is_empty(), body.trim().is_empty()) {
        (false, false) => format!("{}: {}", title.trim(), body.trim()),
        (false, true) => title.trim().to_string(),
        _ => body.trim().to_string(),
    }
}

/// Applies a `style:` prefix of the message, if any.
fn styled(source: Source, default: Style, message: &str) -> Found {
    let trimmed = message.trim();
    if let Some((word, rest)) = trimmed.split_once(':') {
        if let Ok(style) = word.parse::<Style>() {
            return Found {
                source,
                style,
                message: rest.trim().to_string(),
            };
        }
    }
    Found {
        source,
        style: default,
        message: trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<Found> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |f| out.push(f));
        }
        out
    }

    fn one(source: Source, style: Style, message: &str) -> Found {
        Found {
            source,
            style,
            message: message.into(),
        }
    }

    #[test]
    fn agent_states_are_taken_apart_from_notifications() {
        let mut scanner = Scanner::default();
        let mut found = Vec::new();
        let stream =
            b"\x1b]777;perth-agent;waiting;Allow edit of a.rs?\x07x\x1b]777;perth-agent;bogus\x07";
        for chunk in stream.chunks(5) {
            scanner.feed(chunk, &mut |f| found.push(f));
        }
        assert!(found.is_empty(), "{found:?}");
        assert_eq!(
            scanner.take_agent_signals(),
            [(AgentState::Waiting, Some("Allow edit of a.rs?".to_string()))]
        );
        assert!(scanner.take_agent_signals().is_empty());
    }

    #[test]
    fn osc9_and_777_in_any_chunking() {
        let stream = b"ls\r\n\x1b]9;Build done\x07\x1b]777;notify;Claude;needs input\x1b\\";
        let expected = vec![
            one(Source::Osc9, Style::Info, "Build done"),
            one(Source::Osc777, Style::Info, "Claude: needs input"),
        ];
        assert_eq!(scan(&[stream]), expected);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(scan(&bytes), expected);
    }

    #[test]
    fn titles_and_cwd_reports_are_not_bells() {
        let found = scan(&[b"\x1b]0;vim\x07\x1b]7;file://h/tmp\x07\x1b]133;A\x07text\x07"]);
        assert_eq!(found, vec![one(Source::Bell, Style::Info, "bell")]);
        assert!(scan(&[b"\x1bP1$r0m\x07\x1b\\"]).is_empty());
    }

    #[test]
    fn conemu_progress_is_ignored() {
        assert!(scan(&[b"\x1b]9;4;1;50\x07"]).is_empty());
        assert_eq!(scan(&[b"\x1b]9;4 tests failed\x07"]).len(), 1);
    }

    #[test]
    fn style_prefix_and_kitty_urgency() {
        assert_eq!(
            scan(&[b"\x1b]9;error: tests failed\x07"]),
            vec![one(Source::Osc9, Style::Error, "tests failed")]
        );
        assert_eq!(
            scan(&[b"\x1b]99;i=1:d=0;Agent\x1b\\\x1b]99;i=1:p=body:u=2;waiting for you\x1b\\"]),
            vec![one(Source::Osc99, Style::Warning, "Agent: waiting for you")]
        );
        assert_eq!(
            scan(&[b"\x1b]99;e=1;aGVsbG8=\x1b\\"]),
            vec![one(Source::Osc99, Style::Info, "hello")]
        );
        assert!(scan(&[b"\x1b]99;p=icon;xyz\x1b\\"]).is_empty());
    }

    #[test]
    fn huge_and_aborted_sequences_are_dropped() {
        let mut big = b"\x1b]9;".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_OSC * 2));
        big.push(7);
        assert!(scan(&[&big]).is_empty());
        assert!(scan(&[b"\x1b]9;half\x18\x07"])
            .iter()
            .all(|f| f.source == Source::Bell));
    }
}
