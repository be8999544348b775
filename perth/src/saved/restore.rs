//! Turning saved rows back into a layout Zellij can resurrect a session from.
//!
//! Each tab row carries its node of Zellij's own session serialization, so a restore is
//! Zellij's resurrection of that layout (commands come back held, starting on Enter). Every
//! row is checked first: a pane row with an unknown kind, negative geometry or a tab that is
//! not there, and a tab row whose layout does not parse, is skipped with a warning naming the
//! row, and the rest of the session restores. A tab whose own layout is unusable is rebuilt
//! from its valid pane rows.

use std::collections::HashSet;

use store::perth_sessions::{StoredPane, StoredSession, StoredTab};
use zellij_utils::input::layout::Layout;

/// A restorable layout and what was skipped on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    /// The whole layout (`layout { ... }`), in Zellij's resurrection format.
    pub kdl: String,
    pub tabs: usize,
    pub panes: usize,
    /// One line per skipped or rebuilt row, naming it.
    pub warnings: Vec<String>,
    /// Names of terminal panes to give back once the session runs (Zellij's serialization
    /// keeps the names of floating panes only).
    pub names: Vec<PaneName>,
}

/// A saved terminal pane's name and where the pane is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneName {
    pub tab: String,
    pub floating: bool,
    pub x: i32,
    pub y: i32,
    /// The name to give back; empty: none (the layout gives it back, or it had none).
    pub title: String,
    /// The pane's saved agent state (JSON text), to give back too.
    pub agent: Option<String>,
}

/// Pairs saved terminal panes with the running session's (`list-panes --json`): within each
/// tab (by name) and layer, panes are paired in reading order (top to bottom, left to right)
/// when both sides have as many, so a restore into another terminal size still finds them.
pub fn pair_panes<'a>(
    saved: &'a [PaneName],
    live: &'a [serde_json::Value],
) -> Vec<(&'a PaneName, u32, &'a serde_json::Value)> {
    let mut out = Vec::new();
    let mut groups: std::collections::BTreeMap<(String, bool), Vec<&PaneName>> = Default::default();
    for n in saved {
        groups
            .entry((n.tab.clone(), n.floating))
            .or_default()
            .push(n);
    }
    for ((tab, floating), mut saved) in groups {
        let mut here: Vec<&serde_json::Value> = live
            .iter()
            .filter(|p| {
                p["is_plugin"].as_bool() == Some(false)
                    && !p["is_suppressed"].as_bool().unwrap_or(false)
                    && p["tab_name"].as_str() == Some(tab.as_str())
                    && p["is_floating"].as_bool().unwrap_or(false) == floating
            })
            .collect();
        if here.len() != saved.len() {
            continue;
        }
        saved.sort_by_key(|n| (n.y, n.x));
        here.sort_by_key(|p| (p["pane_y"].as_i64(), p["pane_x"].as_i64()));
        for (n, p) in saved.into_iter().zip(here) {
            if let Some(id) = p["id"].as_u64() {
                out.push((n, id as u32, p));
            }
        }
    }
    out
}

/// Returns which panes of the running session get which saved name ([`pair_panes`]); panes
/// that already carry their name, and saved panes without one, are left alone.
pub fn rename_plan(names: &[PaneName], live: &[serde_json::Value]) -> Vec<(u32, String)> {
    pair_panes(names, live)
        .into_iter()
        .filter(|(n, _, p)| !n.title.is_empty() && p["title"].as_str() != Some(n.title.as_str()))
        .map(|(n, id, _)| (id, n.title.clone()))
        .collect()
}

/// Returns which panes of the running session get which saved agent state ([`pair_panes`]).
pub fn agent_plan(
    names: &[PaneName],
    live: &[serde_json::Value],
) -> Vec<(u32, crate::agent_state::AgentPane)> {
    pair_panes(names, live)
        .into_iter()
        .filter_map(|(n, id, _)| Some((id, serde_json::from_str(n.agent.as_deref()?).ok()?)))
        .collect()
}

/// Why a pane row cannot be used, or `None` when it can.
pub fn pane_row_problem(pane: &StoredPane, tab_ids: &HashSet<&str>) -> Option<String> {
    if pane.kind != "terminal" && pane.kind != "plugin" {
        return Some(format!(
            "unknown pane kind {:?} (expected terminal or plugin)",
            pane.kind
        ));
    }
    if pane.x < 0 || pane.y < 0 || pane.cols < 0 || pane.rows < 0 {
        return Some(format!(
            "negative geometry x={} y={} cols={} rows={}",
            pane.x, pane.y, pane.cols, pane.rows
        ));
    }
    if !tab_ids.contains(pane.tab_id.as_str()) {
        return Some(format!("its tab {:?} is missing", pane.tab_id));
    }
    if pane.kind == "plugin" && pane.plugin_url.as_deref().unwrap_or("").is_empty() {
        return Some("a plugin pane without a plugin URL".into());
    }
    None
}

fn parses(kdl: &str) -> Result<(), String> {
    Layout::from_kdl(kdl, Some("perth-restore.kdl".into()), None, None)
        .map(|_| ())
        .map_err(|e| {
            let text = format!("{e}");
            text.lines().next().unwrap_or_default().to_string()
        })
}

fn wrap(head: &str, tabs: &[String]) -> String {
    let mut out = String::from("layout {\n");
    if !head.is_empty() {
        out.push_str(head);
        out.push('\n');
    }
    for tab in tabs {
        out.push_str(tab);
        out.push('\n');
    }
    out.push_str("}\n");
    out
}

/// Quotes a KDL string.
pub fn kdl_string(s: &str) -> String {
    kdl::KdlValue::String(s.to_string()).to_string()
}

/// Builds a tab node from pane rows when the tab's own layout is unusable: tiled panes stacked
/// top to bottom in their saved order, with their saved heights; floating panes where they were.
pub fn tab_from_rows(tab: &StoredTab, panes: &[&StoredPane]) -> String {
    let tiled: Vec<&&StoredPane> = panes.iter().filter(|p| !p.is_floating).collect();
    let floating: Vec<&&StoredPane> = panes.iter().filter(|p| p.is_floating).collect();
    let total_rows: i64 = tiled.iter().map(|p| i64::from(p.rows.max(1))).sum();
    let mut out = format!("tab name={}", kdl_string(&tab.name));
    if tab.is_active {
        out.push_str(" focus=true");
    }
    out.push_str(" {\n");
    let pane_node = |p: &StoredPane, attrs: String| -> String {
        let mut node = format!("pane{attrs}");
        if let Some(title) = &p.title {
            node.push_str(&format!(" name={}", kdl_string(title)));
        }
        if p.is_focused {
            node.push_str(" focus=true");
        }
        if p.kind == "plugin" {
            let url = p.plugin_url.as_deref().unwrap_or_default();
            return format!("{node} {{\n plugin location={}\n}}", kdl_string(url));
        }
        if let Some(cwd) = &p.cwd {
            node.push_str(&format!(" cwd={}", kdl_string(cwd)));
        }
        match p.command.as_deref().map(str::split_whitespace) {
            Some(mut words) => match words.next() {
                Some(program) => {
                    node.push_str(&format!(" command={} {{\n", kdl_string(program)));
                    let args: Vec<String> = words.map(kdl_string).collect();
                    if !args.is_empty() {
                        node.push_str(&format!(" args {}\n", args.join(" ")));
                    }
                    node.push_str(" start_suspended true\n}");
                    node
                }
                None => node,
            },
            None => node,
        }
    };
    for p in &tiled {
        let pct = if total_rows > 0 {
            (i64::from(p.rows.max(1)) * 100 / total_rows).max(1)
        } else {
            1
        };
        let attrs = if tiled.len() > 1 {
            format!(" size=\"{pct}%\"")
        } else {
            String::new()
        };
        out.push_str(&pane_node(p, attrs));
        out.push('\n');
    }
    if !floating.is_empty() {
        out.push_str("floating_panes {\n");
        for p in &floating {
            let attrs = format!(
                " x={} y={} width={} height={}",
                p.x,
                p.y,
                p.cols.max(1),
                p.rows.max(1)
            );
            out.push_str(&pane_node(p, attrs));
            out.push('\n');
        }
        out.push_str("}\n");
    }
    out.push('}');
    out
}

/// Builds the layout to restore `session` from, skipping bad rows with warnings.
pub fn plan(session: &StoredSession) -> Result<RestorePlan, String> {
    let mut warnings = Vec::new();
    let tab_ids: HashSet<&str> = session.tabs.iter().map(|t| t.id.as_str()).collect();
    let mut good_panes: Vec<&StoredPane> = Vec::new();
    for pane in &session.panes {
        match pane_row_problem(pane, &tab_ids) {
            Some(problem) => warnings.push(format!(
                "skipping pane row {} of session {:?}: {problem}",
                pane.id, session.name
            )),
            None => good_panes.push(pane),
        }
    }
    let head = session.layout.clone().unwrap_or_default();
    if !head.is_empty() && parses(&wrap(&head, &["tab".into()])).is_err() {
        warnings.push(format!(
            "ignoring the session-wide layout of session {:?} (row {}): it does not parse",
            session.name, session.id
        ));
    }
    let head = if parses(&wrap(&head, &["tab".into()])).is_ok() {
        head
    } else {
        String::new()
    };
    let mut tabs = Vec::new();
    let mut pane_count = 0;
    for tab in &session.tabs {
        let panes: Vec<&StoredPane> = good_panes
            .iter()
            .copied()
            .filter(|p| p.tab_id == tab.id)
            .collect();
        let own = tab
            .layout
            .as_deref()
            .filter(|l| l.trim_start().starts_with("tab"))
            .map(|l| (l, parses(&wrap(&head, &[l.to_string()]))));
        match own {
            Some((kdl, Ok(()))) => {
                tabs.push(kdl.to_string());
                pane_count += panes.len();
            }
            other => {
                let why = match other {
                    Some((_, Err(e))) => format!("its layout does not parse ({e})"),
                    _ => "it has no layout".to_string(),
                };
                let rebuilt = tab_from_rows(tab, &panes);
                if !panes.is_empty() && parses(&wrap(&head, std::slice::from_ref(&rebuilt))).is_ok()
                {
                    warnings.push(format!(
                        "tab row {} ({:?}) of session {:?}: {why}; rebuilt from its {} pane rows",
                        tab.id,
                        tab.name,
                        session.name,
                        panes.len()
                    ));
                    tabs.push(rebuilt);
                    pane_count += panes.len();
                } else {
                    warnings.push(format!(
                        "skipping tab row {} ({:?}) of session {:?}: {why}, and no usable pane rows",
                        tab.id, tab.name, session.name
                    ));
                }
            }
        }
    }
    if tabs.is_empty() {
        return Err(format!(
            "session {:?} has no restorable tab in the database{}",
            session.name,
            if warnings.is_empty() {
                String::new()
            } else {
                format!(" ({})", warnings.join("; "))
            }
        ));
    }
    let tab_names: std::collections::HashMap<&str, &str> = session
        .tabs
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    // Every terminal pane takes part in the pairing; a default title ("Pane #2") or a
    // command pane's command line is not a name to give back.
    let names = good_panes
        .iter()
        .filter(|p| p.kind == "terminal")
        .filter_map(|p| {
            let title = p.title.clone().unwrap_or_default();
            Some(PaneName {
                tab: tab_names.get(p.tab_id.as_str())?.to_string(),
                floating: p.is_floating,
                x: p.x,
                y: p.y,
                title,
                agent: p.agent_state.clone(),
            })
        })
        .collect::<Vec<_>>();
    // Names the layout already gives back need no renaming; when none is missing, the
    // client does not look at the restored session at all.
    let layout_text = tabs.join("\n");
    let missing = names.iter().any(|n| {
        !n.title.is_empty()
            && !n.title.starts_with("Pane #")
            && !layout_text.contains(&format!("name={}", kdl_string(&n.title)))
            && !layout_text.contains(&format!(
                "command={}",
                kdl_string(n.title.split(' ').next().unwrap_or_default())
            ))
    });
    // Without a missing name, only agent states are given back.
    let names = if missing {
        names
    } else {
        names
            .into_iter()
            .map(|n| PaneName {
                title: String::new(),
                ..n
            })
            .collect()
    };
    let names = if names
        .iter()
        .any(|n| !n.title.is_empty() || n.agent.is_some())
    {
        names
    } else {
        Vec::new()
    };
    Ok(RestorePlan {
        kdl: wrap(&head, &tabs),
        tabs: tabs.len(),
        panes: pane_count,
        warnings,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane(id: &str, tab: &str, kind: &str) -> StoredPane {
        StoredPane {
            id: id.into(),
            tab_id: tab.into(),
            pane_id: 1,
            kind: kind.into(),
            x: 0,
            y: 0,
            cols: 80,
            rows: 20,
            cwd: Some("/tmp".into()),
            command: None,
            title: Some("t".into()),
            is_floating: false,
            is_stacked: false,
            is_fullscreen: false,
            is_focused: false,
            plugin_url: None,
            plugin_config: None,
            scrollback: None,
            agent_state: None,
        }
    }

    fn tab(id: &str, name: &str, layout: Option<&str>) -> StoredTab {
        StoredTab {
            id: id.into(),
            name: name.into(),
            position: 0,
            layout: layout.map(str::to_string),
            is_active: false,
        }
    }

    fn session(tabs: Vec<StoredTab>, panes: Vec<StoredPane>) -> StoredSession {
        StoredSession {
            id: "sid".into(),
            name: "s".into(),
            layout: Some("cwd \"/tmp\"".into()),
            created_at: None,
            saved_at: None,
            tabs,
            panes,
        }
    }

    #[test]
    fn persist_restore_uses_tab_layouts() {
        let s = session(
            vec![
                tab("t1", "one", Some("tab name=\"one\" {\n pane command=\"htop\" {\n start_suspended true\n }\n}")),
                tab("t2", "two", Some("tab name=\"two\" {\n pane\n}")),
            ],
            vec![pane("p1", "t1", "terminal")],
        );
        let plan = plan(&s).unwrap();
        assert_eq!(plan.tabs, 2);
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        assert!(
            plan.kdl.contains("htop") && plan.kdl.contains("cwd \"/tmp\""),
            "{}",
            plan.kdl
        );
    }

    #[test]
    fn persist_restore_skips_bad_rows_naming_them() {
        let mut negative = pane("p-neg", "t1", "terminal");
        negative.cols = -3;
        let s = session(
            vec![
                tab("t1", "good", Some("tab name=\"good\" {\n pane\n}")),
                tab(
                    "t2",
                    "broken",
                    Some("tab name=\"broken\" { pane size=\"nonsense\" }"),
                ),
                tab("t3", "empty", None),
            ],
            vec![
                pane("p-kind", "t1", "hologram"),
                negative,
                pane("p-orphan", "gone", "terminal"),
                pane("p-ok", "t2", "terminal"),
            ],
        );
        let plan = plan(&s).unwrap();
        let all = plan.warnings.join("\n");
        assert!(
            all.contains("pane row p-kind") && all.contains("hologram"),
            "{all}"
        );
        assert!(
            all.contains("pane row p-neg") && all.contains("negative geometry"),
            "{all}"
        );
        assert!(
            all.contains("pane row p-orphan") && all.contains("missing"),
            "{all}"
        );
        assert!(
            all.contains("tab row t2") && all.contains("rebuilt"),
            "{all}"
        );
        assert!(all.contains("skipping tab row t3"), "{all}");
        assert_eq!(plan.tabs, 2, "{}", plan.kdl);
    }

    #[test]
    fn persist_rows_rebuild_commands_plugins_and_floating() {
        let mut cmd = pane("p1", "t1", "terminal");
        cmd.command = Some("sleep 100".into());
        cmd.is_focused = true;
        let mut plugin = pane("p2", "t1", "plugin");
        plugin.plugin_url = Some("zellij:strider".into());
        let mut float = pane("p3", "t1", "terminal");
        float.is_floating = true;
        float.x = 5;
        let t = tab("t1", "a \"quoted\" ✓ name", None);
        let kdl = tab_from_rows(&t, &[&cmd, &plugin, &float]);
        assert!(kdl.contains("command=\"sleep\""), "{kdl}");
        assert!(kdl.contains("args \"100\""), "{kdl}");
        assert!(kdl.contains("start_suspended true"), "{kdl}");
        assert!(kdl.contains("plugin location=\"zellij:strider\""), "{kdl}");
        assert!(kdl.contains("floating_panes"), "{kdl}");
        parses(&wrap("", &[kdl])).unwrap();
    }

    #[test]
    fn persist_rename_plan_pairs_panes_in_reading_order() {
        let names = vec![
            PaneName {
                tab: "code".into(),
                floating: false,
                x: 70,
                y: 1,
                title: "editor".into(),
                agent: Some(
                    r#"{"pane_id":7,"state":"waiting","since_ms":5,"message":"Run tests?","source":"screen","program":"claude"}"#
                        .into(),
                ),
            },
            PaneName {
                tab: "code".into(),
                floating: false,
                x: 0,
                y: 1,
                title: "shell".into(),
                agent: None,
            },
            PaneName {
                tab: "logs".into(),
                floating: false,
                x: 0,
                y: 1,
                title: "tail".into(),
                agent: Some("{}".into()),
            },
        ];
        let live: Vec<serde_json::Value> = serde_json::from_str(
            r#"[{"id":1,"is_plugin":false,"tab_name":"code","pane_x":0,"pane_y":1,"title":"shell"},
                {"id":2,"is_plugin":false,"tab_name":"code","pane_x":50,"pane_y":1,"title":"Pane #2"},
                {"id":9,"is_plugin":true,"tab_name":"code","pane_x":0,"pane_y":0,"title":"tab-bar"},
                {"id":3,"is_plugin":false,"tab_name":"logs","pane_x":0,"pane_y":1,"title":"x"},
                {"id":4,"is_plugin":false,"tab_name":"logs","pane_x":0,"pane_y":9,"title":"y"}]"#,
        )
        .unwrap();
        // code: pairs by order (the terminal is narrower now); logs: counts differ, untouched.
        assert_eq!(rename_plan(&names, &live), vec![(2, "editor".to_string())]);
        // The editor's agent state goes to the pane it pairs with; an unreadable one nowhere.
        let agents = agent_plan(&names, &live);
        assert_eq!(agents.len(), 1);
        assert_eq!(agents[0].0, 2);
        assert_eq!(agents[0].1.state, crate::agent_state::AgentState::Waiting);
        assert_eq!(agents[0].1.message.as_deref(), Some("Run tests?"));
    }

    #[test]
    fn persist_restore_with_nothing_usable_is_an_error() {
        let s = session(vec![tab("t1", "x", None)], vec![]);
        let err = plan(&s).unwrap_err();
        assert!(err.contains("no restorable tab"), "{err}");
    }
}
