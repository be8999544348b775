//! Keeping credentials out of the session database: what perth captures of a session or saves
//! as a layout passes through [`scrub_layout`] (and [`scrub_text`] for single fields) first.
//!
//! Zellij serializes a plugin pane with its whole configuration, and perth's plugins carry
//! host-bridge's `bridge_url` and `bridge_token` there. The database may be a server shared by
//! several users, so a stored token would let anyone who reads it drive another user's bridge.
//! A perth plugin is therefore stored under its alias (`plugin location="imi"`) without the
//! bridge's keys: when a restored or saved layout is opened, Zellij resolves the alias from the
//! current configuration, which carries the current bridge's address and token (and the wasm
//! file of the running perth). Every other text goes through the secret filter.

use kdl::{KdlDocument, KdlNode};

use crate::assets;

/// The configuration keys of perth's plugins that are credentials or point at one.
pub const BRIDGE_KEYS: [&str; 2] = ["bridge_token", "bridge_url"];

/// Returns `kdl` (a layout, or a layout's `tab` node) with every plugin's bridge keys removed,
/// perth's plugin files named by their aliases, and known secrets redacted.
///
/// Text that does not parse as KDL loses every line that names a bridge key instead, so a
/// credential never survives a layout perth cannot read.
pub fn scrub_layout(kdl: &str) -> String {
    let scrubbed = match kdl.parse::<KdlDocument>() {
        Ok(mut doc) => {
            scrub_nodes(doc.nodes_mut());
            doc.to_string()
        }
        Err(_) => without_bridge_values(kdl),
    };
    scrub_text(&scrubbed)
}

/// Returns `text` without any bridge key and the quoted value after it (`bridge_token "…";`),
/// for text that is not KDL perth can read.
fn without_bridge_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, key)) = BRIDGE_KEYS
        .iter()
        .filter_map(|k| rest.find(k).map(|at| (at, *k)))
        .min()
    {
        out.push_str(&rest[..at]);
        let after = rest[at + key.len()..].trim_start();
        rest = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut escaped = false;
                let end = quoted
                    .char_indices()
                    .find(|&(_, c)| {
                        let closes = c == '"' && !escaped;
                        escaped = c == '\\' && !escaped;
                        closes
                    })
                    .map_or(quoted.len(), |(i, _)| i + 1);
                quoted[end..].strip_prefix(';').unwrap_or(&quoted[end..])
            }
            None => after,
        };
    }
    out.push_str(rest);
    out
}

/// Returns `text` with every secret the secret filter knows replaced by its kind.
pub fn scrub_text(text: &str) -> String {
    secret_filter::redact(text).into_owned()
}

/// Whether stored text still needs [`scrub_layout`]: it names a bridge key or perth's plugin
/// files, or holds a secret.
pub fn needs_scrub(text: &str) -> bool {
    BRIDGE_KEYS.iter().any(|k| text.contains(k))
        || perth_plugin_files_named(text)
        || secret_filter::redact(text).as_ref() != text
}

fn perth_plugin_files_named(text: &str) -> bool {
    assets::PLUGINS
        .iter()
        .any(|p| text.contains(&format!("/{}-", p.name)) && text.contains(".wasm"))
}

fn scrub_nodes(nodes: &mut [KdlNode]) {
    for node in nodes.iter_mut() {
        if node.name().value() == "plugin" {
            scrub_plugin(node);
        }
        if let Some(children) = node.children_mut() {
            scrub_nodes(children.nodes_mut());
        }
    }
}

fn scrub_plugin(node: &mut KdlNode) {
    if let Some(alias) = node
        .get("location")
        .and_then(|e| e.value().as_string())
        .and_then(perth_alias)
    {
        node.insert("location", alias);
    }
    let Some(children) = node.children_mut() else {
        return;
    };
    children
        .nodes_mut()
        .retain(|child| !BRIDGE_KEYS.contains(&child.name().value()));
    if children.nodes().is_empty() {
        node.clear_children();
    }
}

/// Scrubs what an earlier perth stored (bridge keys in layouts, perth's plugin files by path)
/// and returns how many values changed. It reads only rows that name a bridge key or a wasm
/// file, so on a clean database it costs one filtered scan per table.
pub async fn scrub_database(db: &store::Database) -> Result<u64, store::Error> {
    let mut conn = db.acquire().await?;
    let markers = [BRIDGE_KEYS[0], BRIDGE_KEYS[1], ".wasm"];
    store::perth_sessions::scrub_stored_text(conn.conn(), &markers, &|column, text| match column {
        "plugin_url" => scrub_plugin_url(text),
        "layout" | "kdl" => scrub_layout(text),
        _ => scrub_text(text),
    })
    .await
}

/// What a layout opened from the database gets back: perth's plugin files by alias and the
/// running bridge's keys (`bridge_url`, `bridge_token`).
#[derive(Debug, Clone, Default)]
pub struct OpeningContext {
    pub plugin_files: Vec<(&'static str, std::path::PathBuf)>,
    pub bridge: std::collections::BTreeMap<String, String>,
}

/// Returns a stored layout as a session opens it: each perth plugin named by its alias gets
/// the running perth's file and the running bridge's keys, so the plugin loads exactly as in a
/// session perth started (Zellij checks a plugin's permissions by its location).
///
/// Without the bridge's keys (a command that starts no session, such as `perth action new-tab
/// --layout db:NAME`) the aliases stay: the running session resolves them with its own.
pub fn for_opening(kdl: &str, context: &OpeningContext) -> String {
    if context.bridge.is_empty() {
        return kdl.to_string();
    }
    let Ok(mut doc) = kdl.parse::<KdlDocument>() else {
        return kdl.to_string();
    };
    open_nodes(doc.nodes_mut(), context);
    doc.to_string()
}

fn open_nodes(nodes: &mut [KdlNode], context: &OpeningContext) {
    for node in nodes.iter_mut() {
        if node.name().value() == "plugin" {
            let file = node
                .get("location")
                .and_then(|e| e.value().as_string())
                .and_then(|alias| context.plugin_files.iter().find(|(a, _)| *a == alias))
                .map(|(_, file)| format!("file:{}", file.display()));
            if let Some(file) = file {
                node.insert("location", file);
                let children = node.ensure_children();
                for (key, value) in &context.bridge {
                    let mut entry = KdlNode::new(key.as_str());
                    entry.push(value.as_str());
                    children.nodes_mut().push(entry);
                }
            }
        }
        if let Some(children) = node.children_mut() {
            open_nodes(children.nodes_mut(), context);
        }
    }
}

/// Returns a pane's plugin URL as it is stored: perth's plugin files by their aliases.
pub fn scrub_plugin_url(url: &str) -> String {
    perth_alias(url).map_or_else(|| scrub_text(url), str::to_string)
}

/// Returns the alias of the perth plugin whose materialized file `location` names
/// (`file:/…/plugins/imi-<digest>.wasm` → `imi`), whatever perth version wrote it.
fn perth_alias(location: &str) -> Option<&'static str> {
    let path = location.strip_prefix("file:").unwrap_or(location);
    let file = std::path::Path::new(path).file_name()?.to_str()?;
    let stem = file.strip_suffix(".wasm")?;
    // `<alias>-<digest>`, the digest being hex digits and dashes (`34e38c6e-1267300`).
    assets::PLUGINS.iter().map(|p| p.name).find(|alias| {
        stem.strip_prefix(alias)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|digest| {
                digest.bytes().any(|b| b.is_ascii_hexdigit())
                    && digest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0f3c9a7d5e2b4c6a8e1f0d3b5a7c9e2f";

    fn dumped_tab() -> String {
        format!(
            r#"tab name="feat-x" focus=true {{
    pane size=1 borderless=true {{
        plugin location="file:/home/me/.cache/perth/plugins/tab-bar-9a8b7c0d1e2f3a4b-81234.wasm" {{
            bridge_token "{TOKEN}"
            bridge_url "http://127.0.0.1:40123"
        }}
    }}
    pane command="claude" cwd="/work/feat-x"
    pane {{
        plugin location="file:/home/me/.cache/perth/plugins/imi-0123abcd.wasm" {{
            bridge_token "{TOKEN}"
            bridge_url "http://127.0.0.1:40123"
            filter "feat"
        }}
    }}
    pane {{
        plugin location="zellij:status-bar"
    }}
}}"#
        )
    }

    #[test]
    fn persist_scrub_removes_the_bridge_and_names_perth_plugins_by_alias() {
        let scrubbed = scrub_layout(&dumped_tab());
        assert!(!scrubbed.contains(TOKEN), "{scrubbed}");
        assert!(!scrubbed.contains("bridge_"), "{scrubbed}");
        assert!(!scrubbed.contains(".wasm"), "{scrubbed}");
        assert!(
            scrubbed.contains(r#"plugin location="tab-bar""#),
            "{scrubbed}"
        );
        // Other configuration stays with its plugin; Zellij merges it over the alias's.
        assert!(
            scrubbed.contains("plugin location=\"imi\" {") && scrubbed.contains("filter \"feat\""),
            "{scrubbed}"
        );
        assert!(scrubbed.contains("zellij:status-bar"), "{scrubbed}");
        assert!(scrubbed.contains(r#"command="claude""#), "{scrubbed}");
        assert!(!needs_scrub(&scrubbed), "{scrubbed}");
        assert!(needs_scrub(&dumped_tab()));
    }

    #[test]
    fn persist_scrub_result_is_a_layout_zellij_reads() {
        let layout = format!("layout {{\n{}\n}}", scrub_layout(&dumped_tab()));
        let parsed = zellij_utils::input::layout::Layout::from_kdl(&layout, None, None, None);
        assert!(parsed.is_ok(), "{layout}\n{parsed:?}");
    }

    #[test]
    fn persist_opening_gives_perth_plugins_the_running_file_and_bridge() {
        let stored = scrub_layout(&dumped_tab());
        let context = OpeningContext {
            plugin_files: vec![("imi", "/run/perth/plugins/imi-77aa-9.wasm".into())],
            bridge: [
                ("bridge_token", "new-token"),
                ("bridge_url", "http://127.0.0.1:2"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        let opened = for_opening(&stored, &context);
        assert!(
            opened.contains(r#"plugin location="file:/run/perth/plugins/imi-77aa-9.wasm" {"#),
            "{opened}"
        );
        assert!(opened.contains(r#"bridge_token "new-token""#), "{opened}");
        assert!(opened.contains("filter \"feat\""), "{opened}");
        // A plugin the running perth does not carry keeps its alias.
        assert!(opened.contains(r#"plugin location="tab-bar""#), "{opened}");
    }

    #[test]
    fn persist_scrub_leaves_foreign_plugins_named_alike_alone() {
        for location in [
            "file:/opt/plugins/imi-helper.wasm",
            "file:/opt/plugins/mine-0abc.wasm",
            "https://example.com/imi-0abc.wasm.txt",
        ] {
            assert_eq!(perth_alias(location), None, "{location}");
        }
        assert_eq!(
            perth_alias("file:/x/zdrive-snapshot-34e38c6e5dbaad22-1267300.wasm"),
            Some("zdrive-snapshot")
        );
        assert_eq!(
            perth_alias("file:/x/zdrive-34e38c6e-12.wasm"),
            Some("zdrive")
        );
        assert_eq!(perth_alias("/x/perth-core-1a2b.wasm"), Some("perth-core"));
    }

    #[test]
    fn persist_scrub_redacts_secrets_and_unreadable_text() {
        let kdl = "tab { pane command=\"env\" { args \"GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\"; } }";
        let scrubbed = scrub_layout(kdl);
        assert!(!scrubbed.contains("ghp_abcdef"), "{scrubbed}");
        assert!(scrubbed.contains("REDACTED"), "{scrubbed}");
        let broken = format!(
            "tab {{ pane {{ plugin location=\"x\" {{ bridge_token \"{TOKEN}\"; bridge_url \"a\\\"b\"; }} }} }}"
        );
        let scrubbed = scrub_layout(&broken);
        assert_eq!(
            scrubbed, "tab { pane { plugin location=\"x\" {   } } }",
            "unreadable text keeps all but the bridge's keys"
        );
    }
}
