//! Layering KDL documents the way Zellij layers a configuration file over its base: a node
//! replaces the one of its name, a group merges with it, `load_plugins` is carried over.

use std::collections::BTreeMap;

use kdl::{KdlDocument, KdlNode};

/// Returns the `load_plugins` block of Zellij's default configuration.
///
/// Only that block is parsed (the whole default file is what start-up must not parse again);
/// should its shape ever change upstream, the whole file is parsed instead.
pub(super) fn zellij_default_load_plugins() -> KdlNode {
    let text = String::from_utf8_lossy(zellij_utils::setup::DEFAULT_CONFIG);
    let block = text.find("\nload_plugins {").and_then(|start| {
        let rest = &text[start + 1..];
        let end = rest.find("\n}")?;
        rest[..end + 2].parse::<KdlDocument>().ok()
    });
    let from_block = block.and_then(|doc| doc.get("load_plugins").cloned());
    from_block
        .or_else(|| {
            let doc = text.parse::<KdlDocument>().ok()?;
            doc.get("load_plugins").cloned()
        })
        .unwrap_or_else(|| KdlNode::new("load_plugins"))
}

/// How Zellij layers a top-level node of a later file over the same node of an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layering {
    /// A map of entries (key bindings, themes, plugin aliases, environment): the later file's
    /// entries are applied after the earlier ones, so they win.
    Entries,
    /// A group of settings (`ui`, `web_client`): merged child by child.
    Nested,
    /// A single setting, or `load_plugins`: the later file's node replaces the earlier one.
    Replace,
}

pub(super) fn layering(node: &KdlNode) -> Layering {
    match node.name().value() {
        // `keybinds clear-defaults=true` drops every earlier binding, perth's included.
        "keybinds"
            if node
                .get("clear-defaults")
                .is_some_and(|e| e.value().as_bool() == Some(true)) =>
        {
            Layering::Replace
        }
        "keybinds" | "themes" | "plugins" | "env" => Layering::Entries,
        "ui" | "web_client" | "perth" => Layering::Nested,
        _ => Layering::Replace,
    }
}

/// Returns `base` with `over` layered on top, node by node (only the first node of a name
/// counts, as in Zellij).
pub(super) fn layer_documents(base: &KdlDocument, over: &KdlDocument) -> KdlDocument {
    let mut out = base.clone();
    let mut seen = std::collections::BTreeSet::new();
    for node in over.nodes() {
        let name = node.name().value().to_string();
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(index) = out.nodes().iter().position(|n| n.name().value() == name) else {
            out.nodes_mut().push(node.clone());
            continue;
        };
        let merged = match layering(node) {
            Layering::Replace => node.clone(),
            Layering::Entries => {
                let mut merged = out.nodes()[index].clone();
                let over_children = node
                    .children()
                    .map(|c| c.nodes().to_vec())
                    .unwrap_or_default();
                merged.ensure_children().nodes_mut().extend(over_children);
                merged
            }
            Layering::Nested => merge_group(&out.nodes()[index], node),
        };
        out.nodes_mut()[index] = merged;
    }
    out
}

/// Merges a group of settings: the later node's arguments, its children layered over the
/// earlier node's children child by child (a child in both is merged the same way, a leaf of the
/// later node wins).
pub(super) fn merge_group(earlier: &KdlNode, later: &KdlNode) -> KdlNode {
    let mut merged = later.clone();
    match (earlier.children(), later.children()) {
        (Some(earlier_children), Some(later_children)) => {
            let mut out = earlier_children.clone();
            for child in later_children.nodes() {
                let name = child.name().value();
                match out.nodes().iter().position(|n| n.name().value() == name) {
                    Some(i) => out.nodes_mut()[i] = merge_group(&out.nodes()[i], child),
                    None => out.nodes_mut().push(child.clone()),
                }
            }
            merged.set_children(out);
        }
        (Some(earlier_children), None) => merged.set_children(earlier_children.clone()),
        _ => {}
    }
    merged
}

/// Returns the children of the top-level node `name`, adding the node when it is missing.
pub(super) fn child_block<'a>(doc: &'a mut KdlDocument, name: &str) -> &'a mut KdlDocument {
    let index = match doc.nodes().iter().position(|n| n.name().value() == name) {
        Some(index) => index,
        None => {
            doc.nodes_mut().push(KdlNode::new(name));
            doc.nodes().len() - 1
        }
    };
    doc.nodes_mut()[index].ensure_children()
}

/// Writes a plugin's configuration as `key "value"` children, as Zellij's plugin blocks take it.
pub(super) fn configuration_children(node: &mut KdlNode, configuration: &BTreeMap<String, String>) {
    if configuration.is_empty() {
        return;
    }
    let children = node.ensure_children();
    for (key, value) in configuration {
        let mut child = KdlNode::new(key.as_str());
        child.push(value.as_str());
        children.nodes_mut().push(child);
    }
}
