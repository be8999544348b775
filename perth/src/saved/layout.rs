//! Zellij's serialized layout (`dump-layout`) split into its session-wide part and one KDL
//! node per tab: what is saved per tab and what a restore or `perth layout save` puts back.

use kdl::KdlDocument;

/// The session-wide part of a serialized layout and its tab nodes, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitLayout {
    /// Every child of `layout` but the tabs (global cwd, new-tab template, swap layouts).
    pub head: String,
    /// Each tab node as KDL text, with its `name` when it has one.
    pub tabs: Vec<(Option<String>, String)>,
}

/// Splits Zellij's serialized layout (`layout { cwd ...; tab ...; new_tab_template ... }`).
pub fn split_layout(text: &str) -> Result<SplitLayout, String> {
    let doc: KdlDocument = text
        .parse()
        .map_err(|e: kdl::KdlError| format!("unreadable layout from dump-layout: {e}"))?;
    let layout = doc
        .nodes()
        .iter()
        .find(|n| n.name().value() == "layout")
        .ok_or("dump-layout printed no layout node")?;
    let mut split = SplitLayout::default();
    let mut head = KdlDocument::new();
    for node in layout.children().map(|c| c.nodes()).unwrap_or_default() {
        if node.name().value() == "tab" {
            let name = node
                .get("name")
                .and_then(|e| e.value().as_string())
                .map(str::to_string);
            split.tabs.push((name, node.to_string().trim().to_string()));
        } else {
            head.nodes_mut().push(node.clone());
        }
    }
    split.head = head.to_string().trim().to_string();
    Ok(split)
}

/// A serialized layout as `dump-layout` prints one, for the tests of what reads it.
#[cfg(test)]
pub(crate) const SAMPLE: &str = r#"layout {
    cwd "/home/me"
    tab name="one" focus=true {
        pane command="htop" cwd="src" {
            start_suspended true
        }
    }
    tab name="two \"quoted\"" {
        pane
        floating_panes {
            pane x=1 y=2 width=30 height=10
        }
    }
    new_tab_template {
        pane
    }
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_split_layout_keeps_head_and_tabs() {
        let split = split_layout(SAMPLE).unwrap();
        assert_eq!(split.tabs.len(), 2);
        assert_eq!(split.tabs[0].0.as_deref(), Some("one"));
        assert_eq!(split.tabs[1].0.as_deref(), Some("two \"quoted\""));
        assert!(
            split.tabs[0].1.starts_with("tab name=\"one\" focus=true"),
            "{}",
            split.tabs[0].1
        );
        assert!(split.head.contains("cwd"), "{}", split.head);
        assert!(split.head.contains("new_tab_template"), "{}", split.head);
        assert!(!split.head.contains("htop"));
    }
}
