//! The domain types: pane names, intent entries, pane records, and the checks on user input.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Longest pane or tab name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest intent summary, in bytes.
pub const MAX_SUMMARY_BYTES: usize = 4096;
/// Longest artifact path or metadata value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;
/// How many history entries a pane keeps unless configured otherwise.
pub const DEFAULT_HISTORY_CAP: usize = 100;

/// Why user input was refused; every message says what to do instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// A pane, tab or metadata key name is empty, too long or holds a forbidden character.
    #[error("invalid {what} {name:?}: {reason}; use letters, digits, '-', '_', '.' or '/' (at most {MAX_NAME_BYTES} bytes)")]
    Name {
        /// `pane name`, `tab name` or `metadata key`.
        what: &'static str,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A summary is empty.
    #[error(
        "the summary is empty; say what you did, e.g. zdrive pane log api \"fixed the login bug\""
    )]
    EmptySummary,
    /// A summary is over [`MAX_SUMMARY_BYTES`].
    #[error("the summary is {len} bytes, over the limit of {MAX_SUMMARY_BYTES}; shorten it or put the details in a file and pass it with --artifacts")]
    SummaryTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A value (artifact, metadata) is over [`MAX_VALUE_BYTES`].
    #[error("the {what} is {len} bytes, over the limit of {MAX_VALUE_BYTES}")]
    ValueTooLong {
        /// What the value is.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// `--meta` without `=`.
    #[error("--meta {given:?} has no '='; write --meta KEY=VALUE")]
    MetaWithoutEquals {
        /// The argument as given.
        given: String,
    },
    /// An unknown entry type.
    #[error("unknown entry type {given:?}; use checkpoint, milestone or exploration")]
    EntryType {
        /// The type as given.
        given: String,
    },
    /// An unknown source.
    #[error("unknown source {given:?}; use human or agent")]
    Source {
        /// The source as given.
        given: String,
    },
}

/// Checks a pane, tab or metadata-key name: Redis keys embed it, so `:` `*` `?` `[` `]`
/// (key separators and glob characters), whitespace and control characters are refused.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), InputError> {
    let bad = |reason: String| InputError::Name {
        what,
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("it is empty".into()));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(bad(format!("it is {} bytes long", name.len())));
    }
    if let Some(c) = name.chars().find(|c| {
        matches!(c, ':' | '*' | '?' | '[' | ']' | '\\') || c.is_whitespace() || c.is_control()
    }) {
        let shown = if c.is_control() || c.is_whitespace() {
            format!("{:?}", c)
        } else {
            format!("'{c}'")
        };
        return Err(bad(format!("it contains {shown}")));
    }
    Ok(())
}

/// Checks an intent summary: not blank, at most [`MAX_SUMMARY_BYTES`]. Escape sequences are
/// kept as given; renderers show them inert.
pub fn validate_summary(summary: &str) -> Result<(), InputError> {
    if summary.trim().is_empty() {
        return Err(InputError::EmptySummary);
    }
    if summary.len() > MAX_SUMMARY_BYTES {
        return Err(InputError::SummaryTooLong { len: summary.len() });
    }
    Ok(())
}

/// Splits `KEY=VALUE` and checks the key.
pub fn parse_meta(arg: &str) -> Result<(String, String), InputError> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(InputError::MetaWithoutEquals {
            given: arg.to_owned(),
        });
    };
    validate_name("metadata key", key)?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(InputError::ValueTooLong {
            what: "metadata value",
            len: value.len(),
        });
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// What an intent entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// Progress worth resuming from.
    #[default]
    Checkpoint,
    /// Something finished.
    Milestone,
    /// A direction being tried.
    Exploration,
    /// An LLM summary of the pane's work (`zdrive pane snapshot`); never logged by hand.
    Snapshot,
}

impl std::str::FromStr for EntryType {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, InputError> {
        match s {
            "checkpoint" => Ok(Self::Checkpoint),
            "milestone" => Ok(Self::Milestone),
            "exploration" => Ok(Self::Exploration),
            _ => Err(InputError::EntryType {
                given: s.to_owned(),
            }),
        }
    }
}

impl EntryType {
    /// Returns the name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Checkpoint => "checkpoint",
            Self::Milestone => "milestone",
            Self::Exploration => "exploration",
            Self::Snapshot => "snapshot",
        }
    }
}

/// Who logged an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A person at the keyboard.
    #[default]
    Human,
    /// An AI agent (`ZDRIVE_SOURCE=agent` in its environment).
    Agent,
}

impl std::str::FromStr for Source {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, InputError> {
        match s {
            "human" => Ok(Self::Human),
            "agent" => Ok(Self::Agent),
            _ => Err(InputError::Source {
                given: s.to_owned(),
            }),
        }
    }
}

impl Source {
    /// Returns the name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Agent => "agent",
        }
    }
}

/// One entry of a pane's intent log, stored as this JSON in `perth:pane:<name>:history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentEntry {
    /// When it was logged (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// Checkpoint, milestone or exploration.
    pub entry_type: EntryType,
    /// Human or agent.
    #[serde(default)]
    pub source: Source,
    /// What happened, secrets redacted.
    pub summary: String,
    /// Files the entry refers to, secrets redacted.
    #[serde(default)]
    pub artifacts: Vec<String>,
}

/// A tracked pane: the fields of the hash `perth:pane:<name>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PaneRecord {
    /// The semantic name.
    pub name: String,
    /// The multiplexer session it lives in.
    pub session: String,
    /// The tab it lives in.
    pub tab: String,
    /// The multiplexer's pane id (`terminal_3`).
    pub pane_id: String,
    /// When zdrive first recorded it.
    pub created_at: Option<DateTime<Utc>>,
    /// When reconcile last saw it in the live session.
    pub last_seen: Option<DateTime<Utc>>,
    /// When a user or agent last navigated to it or logged on it.
    pub last_accessed: Option<DateTime<Utc>>,
    /// Whether reconcile found it gone from the live session.
    pub stale: bool,
    /// User metadata (`meta:<key>` fields), secrets redacted.
    pub metadata: BTreeMap<String, String>,
}

/// One snapshot of a pane, stored as this JSON in `perth:snapshots:<name>` (newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// When it was generated (RFC 3339, UTC).
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// `anthropic`, `openai` or `ollama`.
    pub provider: String,
    /// The model that wrote it, as the provider reported it.
    pub model: String,
    /// The summary, in markdown: what was done, current state, suggested next steps.
    pub summary: String,
    /// SHA-256 of what was sent: an unchanged context reuses this snapshot.
    pub context_hash: String,
    /// Bytes of context sent.
    pub context_bytes: u64,
    /// How long the provider took, in milliseconds.
    pub duration_ms: u64,
}

/// Formats a timestamp as stored: RFC 3339, UTC, microseconds.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp; unreadable text reads as missing.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

mod rfc3339 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(t))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        parse_time(&s).ok_or_else(|| serde::de::Error::custom(format!("bad timestamp {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_key_separators_globs_whitespace_and_controls() {
        for bad in [
            "",
            "a:b",
            "a*",
            "who?",
            "a b",
            "tab\there",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "[x]",
        ] {
            assert!(validate_name("pane name", bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("pane name", &"x".repeat(129)).is_err());
        for good in ["api-server", "feat/login", "db_1.test", "ünïcode"] {
            validate_name("pane name", good).unwrap();
        }
        let e = validate_name("pane name", "a:b").unwrap_err().to_string();
        assert_eq!(e, "invalid pane name \"a:b\": it contains ':'; use letters, digits, '-', '_', '.' or '/' (at most 128 bytes)");
    }

    #[test]
    fn summaries_have_bounds_and_keep_escapes() {
        assert_eq!(validate_summary("  "), Err(InputError::EmptySummary));
        assert_eq!(
            validate_summary(&"x".repeat(4097)),
            Err(InputError::SummaryTooLong { len: 4097 })
        );
        validate_summary(&"x".repeat(4096)).unwrap();
        validate_summary("\u{1b}[31mred\u{1b}[0m").unwrap();
    }

    #[test]
    fn meta_needs_an_equals_sign_and_a_valid_key() {
        assert_eq!(parse_meta("k=v=w").unwrap(), ("k".into(), "v=w".into()));
        assert_eq!(parse_meta("k=").unwrap(), ("k".into(), "".into()));
        assert!(matches!(
            parse_meta("novalue"),
            Err(InputError::MetaWithoutEquals { .. })
        ));
        assert!(parse_meta("a:b=c").is_err());
    }

    #[test]
    fn entry_types_and_sources_parse_strictly() {
        assert_eq!(
            "milestone".parse::<EntryType>().unwrap(),
            EntryType::Milestone
        );
        assert!("Milestone".parse::<EntryType>().is_err());
        assert!("bot".parse::<Source>().is_err());
    }

    #[test]
    fn intent_entries_serialize_in_the_seed_shape() {
        let entry = IntentEntry {
            timestamp: parse_time("2026-01-02T03:04:05.000006Z").unwrap(),
            entry_type: EntryType::Milestone,
            source: Source::Agent,
            summary: "done".into(),
            artifacts: vec!["src/a.rs".into()],
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"timestamp":"2026-01-02T03:04:05.000006Z","entry_type":"milestone","source":"agent","summary":"done","artifacts":["src/a.rs"]}"#
        );
        let old: IntentEntry = serde_json::from_str(
            r#"{"timestamp":"2026-01-02T03:04:05Z","entry_type":"checkpoint","summary":"x"}"#,
        )
        .unwrap();
        assert_eq!(old.source, Source::Human);
        assert!(old.artifacts.is_empty());
    }
}
