//! What the pane reads from host-bridge and what it sends: zdrive's pane record and intent
//! entries, read leniently from the JSON relayed (a newer zdrive may add fields), the types an
//! entry can be logged as, and the tag prompt's syntax.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A tracked pane's record (zdrive's `PaneRecord`); fields it lacks read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Record {
    /// The zdrive name.
    pub name: String,
    /// The session it was last seen in.
    pub session: String,
    /// The tab it was last seen in.
    pub tab: String,
    /// Its id in the session (`terminal_3`).
    pub pane_id: String,
    /// Whether zdrive found it gone from its session.
    pub stale: bool,
    /// The tags (`zdrive pane tag`).
    pub metadata: BTreeMap<String, String>,
}

/// One intent entry (zdrive's `IntentEntry`); fields it lacks read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Entry {
    /// When it was logged, RFC 3339 in UTC.
    pub timestamp: String,
    /// `checkpoint`, `milestone`, `exploration` or `snapshot`.
    pub entry_type: String,
    /// `human` or `agent`.
    pub source: String,
    /// What happened (a snapshot's is its markdown summary).
    pub summary: String,
    /// Files the entry refers to.
    pub artifacts: Vec<String>,
}

/// Reads one value of a type the pane shows; `None` when it is not an object.
pub fn read<T: for<'de> Deserialize<'de>>(value: &serde_json::Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// The entry types the pane logs, with the key that picks each in the type picker.
pub const LOG_TYPES: [(char, &str); 3] = [
    ('c', "checkpoint"),
    ('m', "milestone"),
    ('e', "exploration"),
];

impl Entry {
    /// Returns whether an agent logged it.
    pub fn by_agent(&self) -> bool {
        self.source == "agent"
    }

    /// Returns the line a snapshot entry stands for in the history: the first line of its
    /// summary that is not a heading, without a list marker or emphasis marks.
    pub fn headline(&self) -> String {
        self.first_content_line().replace("**", "").replace('`', "")
    }

    fn first_content_line(&self) -> &str {
        self.summary
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                ["- ", "* ", "+ "]
                    .iter()
                    .find_map(|m| l.strip_prefix(m))
                    .unwrap_or(l)
                    .trim()
            })
            .find(|l| !l.is_empty())
            .unwrap_or_default()
    }
}

/// Reads the tag prompt: `key=value` sets one key (the value may hold spaces); `-key` removes
/// one, and several `-key`s separated by spaces remove several. Returns what to set and what
/// to remove; zdrive checks the keys.
pub fn parse_tags(input: &str) -> Result<(BTreeMap<String, String>, Vec<String>), String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("type key=value to tag the pane, or -key to remove a tag".into());
    }
    if input.starts_with('-') {
        let mut remove = Vec::new();
        for word in input.split_whitespace() {
            match word.strip_prefix('-') {
                Some(key) if !key.is_empty() => remove.push(key.to_owned()),
                _ => {
                    return Err(format!(
                    "{word:?} is not -key; remove tags with -key -other, or set one with key=value"
                ))
                }
            }
        }
        return Ok((BTreeMap::new(), remove));
    }
    match input.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((
            BTreeMap::from([(key.trim().to_owned(), value.trim().to_owned())]),
            Vec::new(),
        )),
        _ => Err(format!(
            "{input:?} has no key=value; tag with key=value, or remove a tag with -key"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_entries_read_leniently() {
        let record: Record = read(&serde_json::json!({
            "name": "api", "session": "work", "tab": "backend", "pane_id": "terminal_3",
            "stale": false, "metadata": {"issue": "42"}, "created_at": "2026-11-24T10:00:00Z",
            "something_new": [1, 2],
        }))
        .unwrap();
        assert_eq!(record.metadata["issue"], "42");
        assert_eq!(record.pane_id, "terminal_3");
        let entry: Entry = read(&serde_json::json!({"summary": "s"})).unwrap();
        assert_eq!((entry.summary.as_str(), entry.by_agent()), ("s", false));
        assert!(read::<Entry>(&serde_json::json!("text")).is_none());
    }

    #[test]
    fn a_snapshot_stands_for_its_first_line_of_content() {
        let snapshot = Entry {
            summary: "## What was done\n\n- Fixed the **login** loop\n- More".into(),
            ..Entry::default()
        };
        assert_eq!(snapshot.headline(), "Fixed the login loop");
        let plain = Entry {
            summary: "just text".into(),
            ..Entry::default()
        };
        assert_eq!(plain.headline(), "just text");
        assert_eq!(Entry::default().headline(), "");
    }

    #[test]
    fn tags_are_set_with_key_value_and_removed_with_a_dash() {
        let set = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(parse_tags(" issue=42 "), Ok((set("issue", "42"), vec![])));
        assert_eq!(
            parse_tags("note=waiting on review"),
            Ok((set("note", "waiting on review"), vec![]))
        );
        assert_eq!(parse_tags("issue="), Ok((set("issue", ""), vec![])));
        assert_eq!(
            parse_tags("-owner -draft"),
            Ok((BTreeMap::new(), vec!["owner".into(), "draft".into()]))
        );
        for bad in ["", "   ", "issue", "=42", "-", "-a b"] {
            assert!(parse_tags(bad).is_err(), "{bad:?}");
        }
    }
}
