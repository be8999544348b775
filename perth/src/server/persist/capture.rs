//! Capturing a running session's state for the writer: tabs and panes from `list-tabs` and
//! `list-panes` (the structured rows), and Zellij's own session serialization from
//! `dump-layout` (what a restore starts the session with), split into one KDL node per tab.
//! Everything captured passes through [`crate::saved::scrub`]: no credential reaches the database.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use session_ipc::SessionClient;
use store::perth_sessions::{PaneSnapshot, SessionSnapshot, TabSnapshot};

use super::StateSource;
use crate::saved::layout::split_layout;
use crate::saved::scrub::{scrub_layout, scrub_plugin_url, scrub_text};

/// Reads the state through the session's own IPC socket (extension point 2).
pub struct IpcSource {
    socket_path: PathBuf,
    scrollback_lines: usize,
    /// The session's agent states, saved with their panes.
    agents: Option<std::sync::Arc<crate::server::agents::Agents>>,
    client: Option<SessionClient>,
    timeout: Duration,
}

impl IpcSource {
    /// Returns a source for the session socket at `socket_path`.
    pub fn new(
        socket_path: PathBuf,
        scrollback_lines: usize,
        agents: Option<std::sync::Arc<crate::server::agents::Agents>>,
    ) -> IpcSource {
        IpcSource {
            socket_path,
            scrollback_lines,
            agents,
            client: None,
            timeout: Duration::from_secs(3),
        }
    }

    fn query(&mut self) -> Result<(Vec<Value>, Vec<Value>, String), String> {
        if self.client.is_none() {
            self.client =
                Some(SessionClient::connect(&self.socket_path).map_err(|e| e.to_string())?);
        }
        let Some(client) = self.client.as_mut() else {
            return Err("no connection to the session".into());
        };
        let result = (|| {
            let tabs = client.list_tabs(self.timeout)?;
            let panes = client.list_panes(self.timeout)?;
            let layout = client.dump_layout(self.timeout)?;
            Ok::<_, session_ipc::SessionClientError>((tabs, panes, layout))
        })();
        result.map_err(|e| {
            self.client = None;
            e.to_string()
        })
    }

    fn scrollback(&mut self, pane_id: u32) -> Option<String> {
        let client = self.client.as_mut()?;
        let dir = std::env::temp_dir().join(format!("perth-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("terminal_{pane_id}.txt"));
        client
            .dump_pane(
                zellij_utils::data::PaneId::Terminal(pane_id),
                &path,
                true,
                self.timeout,
            )
            .ok()?;
        let text = std::fs::read_to_string(&path).ok()?;
        let _ = std::fs::remove_file(&path);
        Some(last_lines_redacted(&text, self.scrollback_lines))
    }
}

impl StateSource for IpcSource {
    fn capture(&mut self, session: &str) -> Result<SessionSnapshot, String> {
        let (tabs, panes, layout) = self.query()?;
        let mut snapshot = snapshot_from(session, &tabs, &panes, &layout)?;
        if self.scrollback_lines > 0 {
            for pane in snapshot.panes.iter_mut().filter(|p| p.kind == "terminal") {
                pane.scrollback = self.scrollback(pane.pane_id as u32);
            }
        }
        if let Some(agents) = &self.agents {
            let records = agents.list();
            for pane in snapshot.panes.iter_mut().filter(|p| p.kind == "terminal") {
                pane.agent_state = records
                    .iter()
                    .find(|a| i64::from(a.pane_id) == pane.pane_id)
                    .map(saved_agent);
            }
        }
        Ok(snapshot)
    }
}

/// An agent pane's record as saved: JSON text, its message secret-filtered (DESIGN.md D7).
pub fn saved_agent(record: &crate::agent_state::AgentPane) -> String {
    let mut record = record.clone();
    record.message = record.message.map(|m| scrub_text(&m));
    record.place = Default::default();
    serde_json::to_string(&record).unwrap_or_default()
}

/// Returns the last `n` lines of `text`, with secrets replaced (DESIGN.md D7).
pub fn last_lines_redacted(text: &str, n: usize) -> String {
    let trimmed = text.trim_end_matches(['\n', ' ']);
    let lines: Vec<&str> = trimmed.lines().collect();
    let start = lines.len().saturating_sub(n);
    secret_filter::redact(&lines[start..].join("\n")).into_owned()
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn int_field(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn bool_field(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Builds the snapshot from `list-tabs --json`, `list-panes --json` and `dump-layout` output.
pub fn snapshot_from(
    session: &str,
    tabs: &[Value],
    panes: &[Value],
    layout: &str,
) -> Result<SessionSnapshot, String> {
    let split = split_layout(layout)?;
    let mut tabs: Vec<&Value> = tabs.iter().collect();
    tabs.sort_by_key(|t| int_field(t, "position"));
    let by_order = split.tabs.len() == tabs.len();
    let tab_rows = tabs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let name = str_field(t, "name").unwrap_or_default();
            let layout = if by_order {
                split.tabs.get(i).map(|(_, kdl)| kdl.clone())
            } else {
                split
                    .tabs
                    .iter()
                    .find(|(n, _)| n.as_deref() == Some(name.as_str()))
                    .map(|(_, kdl)| kdl.clone())
            }
            .map(|kdl| scrub_layout(&kdl));
            TabSnapshot {
                key: int_field(t, "tab_id").to_string(),
                name,
                position: int_field(t, "position") as i32,
                layout,
                is_active: bool_field(t, "active"),
            }
        })
        .collect();
    let pane_rows = panes
        .iter()
        .map(|p| {
            let is_plugin = bool_field(p, "is_plugin");
            PaneSnapshot {
                tab_key: int_field(p, "tab_id").to_string(),
                pane_id: int_field(p, "id"),
                kind: if is_plugin { "plugin" } else { "terminal" }.into(),
                x: int_field(p, "pane_x") as i32,
                y: int_field(p, "pane_y") as i32,
                cols: int_field(p, "pane_columns") as i32,
                rows: int_field(p, "pane_rows") as i32,
                cwd: str_field(p, "pane_cwd"),
                command: str_field(p, "pane_command")
                    .or_else(|| str_field(p, "terminal_command"))
                    .map(|c| scrub_text(&c)),
                title: str_field(p, "title").map(|t| scrub_text(&t)),
                is_floating: bool_field(p, "is_floating"),
                is_stacked: false,
                is_fullscreen: bool_field(p, "is_fullscreen"),
                is_focused: bool_field(p, "is_focused"),
                plugin_url: str_field(p, "plugin_url").map(|u| scrub_plugin_url(&u)),
                plugin_config: None,
                scrollback: None,
                agent_state: None,
            }
        })
        .collect();
    Ok(SessionSnapshot {
        name: session.to_string(),
        layout: Some(split.head)
            .filter(|h| !h.is_empty())
            .map(|h| scrub_layout(&h)),
        tabs: tab_rows,
        panes: pane_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::saved::layout::SAMPLE;

    #[test]
    fn persist_snapshot_maps_tabs_and_panes() {
        let tabs: Vec<Value> = serde_json::from_str(
            r#"[{"position":1,"name":"two \"quoted\"","active":false,"tab_id":7},
                {"position":0,"name":"one","active":true,"tab_id":3}]"#,
        )
        .unwrap();
        let panes: Vec<Value> = serde_json::from_str(
            r#"[{"id":1,"is_plugin":false,"tab_id":3,"pane_x":0,"pane_y":1,"pane_columns":80,"pane_rows":20,
                 "title":"htop","pane_command":"htop","pane_cwd":"/home/me/src","is_focused":true},
                {"id":2,"is_plugin":true,"tab_id":7,"plugin_url":"zellij:tab-bar","pane_rows":1}]"#,
        )
        .unwrap();
        let s = snapshot_from("s", &tabs, &panes, SAMPLE).unwrap();
        assert_eq!(s.tabs[0].name, "one");
        assert_eq!(s.tabs[0].key, "3");
        assert!(s.tabs[0].layout.as_deref().unwrap().contains("htop"));
        assert!(s.tabs[1]
            .layout
            .as_deref()
            .unwrap()
            .contains("floating_panes"));
        assert_eq!(s.panes[0].command.as_deref(), Some("htop"));
        assert_eq!(s.panes[0].cwd.as_deref(), Some("/home/me/src"));
        assert_eq!(s.panes[1].key(), "plugin_2");
        assert_eq!(s.panes[1].plugin_url.as_deref(), Some("zellij:tab-bar"));
    }

    #[test]
    fn persist_scrollback_is_cut_and_redacted() {
        let text = "one\ntwo\nexport GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n\n";
        let kept = last_lines_redacted(text, 2);
        assert!(kept.starts_with("two\n"), "{kept}");
        assert!(!kept.contains("ghp_abcdef"), "{kept}");
        assert!(kept.contains("REDACTED"), "{kept}");
    }
}
