//! perth's own settings: the `perth { ... }` block of the configuration.
//!
//! Zellij ignores top-level nodes it does not know, so perth's settings live in the same
//! `config.kdl` as Zellij's, under one `perth` node with a child block per feature:
//!
//! ```kdl
//! perth {
//!     notifications { ttl_seconds 0; history 100 }
//!     animation { enabled true; fps 60 }
//!     persistence { database_url "postgres://..." }
//! }
//! ```
//!
//! The client resolves the configuration (built-in file, then the user's) and exports the path
//! of the composed file as [`SERVER_CONFIG_ENV`]; Zellij starts the server from the client's
//! process, so the server finds the same file there. Each feature parses its own section with
//! [`Section`] and reports what it could not use with the node's line.

use std::path::Path;

use kdl::{KdlDocument, KdlNode, KdlValue};

/// The environment variable naming the composed configuration file for the server.
pub const SERVER_CONFIG_ENV: &str = "PERTH_SERVER_CONFIG";

/// The `perth` block of a configuration file.
#[derive(Debug, Clone, Default)]
pub struct PerthSettings {
    doc: KdlDocument,
    text: String,
}

impl PerthSettings {
    /// Reads the `perth` block of a KDL document; an absent block gives empty settings.
    pub fn from_kdl_text(text: &str) -> Result<PerthSettings, String> {
        let doc: KdlDocument = text.parse().map_err(|e: kdl::KdlError| e.to_string())?;
        let block = doc
            .nodes()
            .iter()
            .rev()
            .find(|n| n.name().value() == "perth")
            .and_then(|n| n.children().cloned())
            .unwrap_or_default();
        Ok(PerthSettings {
            doc: block,
            text: text.to_string(),
        })
    }

    /// The whole configuration file's text (the `perth` block and everything Zellij reads).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Reads the file named by [`SERVER_CONFIG_ENV`]; empty settings when it is unset or
    /// unreadable (the server then runs on defaults and says so in its log).
    pub fn for_server() -> PerthSettings {
        let Some(path) = std::env::var_os(SERVER_CONFIG_ENV) else {
            return PerthSettings::default();
        };
        match Self::from_file(Path::new(&path)) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("perth: settings from {}: {e}", Path::new(&path).display());
                PerthSettings::default()
            }
        }
    }

    /// Reads the `perth` block of a file.
    pub fn from_file(path: &Path) -> Result<PerthSettings, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::from_kdl_text(&text)
    }

    /// Describes the child blocks that are not among `known`.
    pub fn unknown_sections(&self, known: &[&str]) -> Vec<String> {
        self.doc
            .nodes()
            .iter()
            .filter(|n| !known.contains(&n.name().value()))
            .map(|n| {
                let (line, _) = line_and_column(&self.text, n.span().offset());
                format!("perth.{} (line {line}): unknown section", n.name().value())
            })
            .collect()
    }

    /// Returns the named child block (`notifications`, `animation`, ...).
    pub fn section(&self, name: &str) -> Section<'_> {
        Section {
            name: name.to_string(),
            node: self
                .doc
                .nodes()
                .iter()
                .rev()
                .find(|n| n.name().value() == name),
            text: &self.text,
        }
    }
}

/// Returns `(line, column)`, both 1-based, of a byte offset in `text`.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// One child block of the `perth` node, with typed getters that describe what they reject.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    name: String,
    node: Option<&'a KdlNode>,
    text: &'a str,
}

impl<'a> Section<'a> {
    /// Whether the block is present.
    pub fn is_present(&self) -> bool {
        self.node.is_some()
    }

    fn entry(&self, key: &str) -> Option<&'a KdlNode> {
        self.node?
            .children()?
            .nodes()
            .iter()
            .rev()
            .find(|n| n.name().value() == key)
    }

    fn value(&self, key: &str) -> Option<(&'a KdlValue, &'a KdlNode)> {
        let node = self.entry(key)?;
        node.entries()
            .iter()
            .find(|e| e.name().is_none())
            .map(|e| (e.value(), node))
    }

    fn describe(&self, node: &KdlNode, what: &str) -> String {
        let (line, _) = line_and_column(self.text, node.span().offset());
        format!(
            "perth.{}.{} (line {line}): {what}",
            self.name,
            node.name().value()
        )
    }

    /// Returns the names of the child nodes, for rejecting unknown keys.
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<String> {
        let Some(children) = self.node.and_then(|n| n.children()) else {
            return Vec::new();
        };
        children
            .nodes()
            .iter()
            .filter(|n| !known.contains(&n.name().value()))
            .map(|n| self.describe(n, "unknown setting"))
            .collect()
    }

    /// A boolean setting.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.value(key) {
            None => Ok(None),
            Some((KdlValue::Bool(b), _)) => Ok(Some(*b)),
            Some((_, node)) => Err(self.describe(node, "expected true or false")),
        }
    }

    /// A whole number setting within `range`.
    pub fn int(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, String> {
        match self.value(key) {
            None => Ok(None),
            Some((KdlValue::Base10(n), node))
            | Some((KdlValue::Base16(n), node))
            | Some((KdlValue::Base8(n), node))
            | Some((KdlValue::Base2(n), node)) => {
                if range.contains(n) {
                    Ok(Some(*n))
                } else {
                    Err(self.describe(
                        node,
                        &format!("{n} is outside {}..={}", range.start(), range.end()),
                    ))
                }
            }
            Some((_, node)) => Err(self.describe(node, "expected a whole number")),
        }
    }

    /// A string setting.
    pub fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.value(key) {
            None => Ok(None),
            Some((KdlValue::String(s), _)) | Some((KdlValue::RawString(s), _)) => {
                Ok(Some(s.clone()))
            }
            Some((_, node)) => Err(self.describe(node, "expected a quoted string")),
        }
    }

    /// A list of strings on one line (`programs "a" "b"`); none when the key is absent.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, String> {
        let Some(node) = self.entry(key) else {
            return Ok(Vec::new());
        };
        node.entries()
            .iter()
            .map(|e| match e.value() {
                KdlValue::String(s) | KdlValue::RawString(s) if e.name().is_none() => Ok(s.clone()),
                _ => Err(self.describe(node, "expected quoted strings")),
            })
            .collect()
    }

    /// A nested block of this section, as its own section (`animation { styles { ... } }`).
    pub fn child(&self, key: &str) -> Section<'a> {
        Section {
            name: format!("{}.{key}", self.name),
            node: self.entry(key),
            text: self.text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn reads_typed_values_and_names_bad_ones() {
        let s = PerthSettings::from_kdl_text(
            "show_startup_tips false\nperth {\n  animation {\n    enabled false\n    fps 120\n    name \"x\"\n    bogus 1\n  }\n}\n",
        )
        .unwrap();
        let a = s.section("animation");
        assert!(a.is_present());
        assert_eq!(a.bool("enabled").unwrap(), Some(false));
        assert_eq!(a.string("name").unwrap().as_deref(), Some("x"));
        let err = a.int("fps", 1..=60).unwrap_err();
        assert!(err.contains("perth.animation.fps (line 5)"), "{err}");
        assert!(a.bool("fps").is_err());
        assert_eq!(a.unknown_keys(&["enabled", "fps", "name"]).len(), 1);
        assert!(!s.section("persistence").is_present());
        assert_eq!(s.section("persistence").int("x", 0..=1).unwrap(), None);
    }

    #[test]
    fn absent_block_is_empty() {
        let s = PerthSettings::from_kdl_text("pane_frames true").unwrap();
        assert!(!s.section("notifications").is_present());
    }
}
