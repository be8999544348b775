//! Inside perth, the panes of a worktree's tab are tracked by zdrive under `TAB/TITLE`
//! (`feat-login/editor`, `feat-login/agent`, `feat-login/shell`), with a `worktree created`
//! checkpoint on the agent pane; removing the worktree marks them stale. zdrive's own engine
//! and configuration do it (the same store `zdrive pane ...` uses), reached through its
//! library: one implementation of tracking.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use zdrive::setup::{Access, Setup};
use zdrive::{EntryType, LogRequest, Navigation, Source};

/// How long the panes of a new tab may take to show up in the session.
const PANES_WAIT: Duration = Duration::from_secs(5);

/// Resolves zdrive's setup from the environment, as the `zdrive` binary does.
fn setup() -> Result<Setup, String> {
    Setup::resolve(&|k| std::env::var(k).ok()).map_err(|e| format!("zdrive's configuration: {e:#}"))
}

/// Records the panes of tab `tab` of `session` under `TAB/TITLE` and logs `summary` as a
/// checkpoint on its agent pane; returns the names tracked.
pub async fn track_tab(
    session: &str,
    tab: &str,
    agent: Option<&str>,
    summary: &str,
) -> Result<Vec<String>, String> {
    let setup = setup()?;
    // `new-tab` returns before the tab's panes are listed: the listing is asked again until
    // they show up (a change of state, with a deadline). A listing that fails is reported: the
    // session client has already asked it again where that is safe.
    let deadline = Instant::now() + PANES_WAIT;
    let mut mux = setup
        .connect_mux(Some(session))
        .map_err(|e| e.to_string())?;
    let panes = loop {
        let all = mux.list_panes().map_err(|e| e.to_string())?;
        let panes: Vec<_> = all.into_iter().filter(|p| p.tab == tab).collect();
        if panes.len() >= 3 || Instant::now() >= deadline {
            break panes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if panes.is_empty() {
        return Err(format!("the session shows no panes in tab {tab}"));
    }
    let engine = setup
        .open_engine(Access::Write)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let now = chrono::Utc::now();
    let mut names = Vec::new();
    for pane in &panes {
        let name = format!("{tab}/{}", pane.title);
        if zdrive::model::validate_name("pane name", &name).is_err() {
            continue;
        }
        let mut metadata = BTreeMap::from([
            ("worktree".to_owned(), tab.to_owned()),
            ("title".to_owned(), pane.title.clone()),
        ]);
        if let Some(agent) = agent {
            metadata.insert("agent".to_owned(), agent.to_owned());
        }
        let nav = Navigation {
            created: true,
            session: session.to_owned(),
            tab: tab.to_owned(),
            pane_id: pane.pane_id.clone(),
        };
        engine
            .record_navigation(&name, &nav, &metadata, now)
            .await
            .map_err(|e| e.to_string())?;
        names.push(name);
    }
    let agent_pane = names
        .iter()
        .find(|n| n.ends_with("/agent"))
        .or(names.first())
        .cloned();
    if let Some(pane) = agent_pane {
        let request = LogRequest {
            summary: summary.to_owned(),
            entry_type: EntryType::Checkpoint,
            source: if agent.is_some() {
                Source::Agent
            } else {
                Source::Human
            },
            artifacts: Vec::new(),
        };
        engine
            .log(&pane, request, now)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(names)
}

/// Marks the tracked panes of worktree tab `tab` in `session` stale; returns their names.
pub async fn untrack_tab(session: &str, tab: &str) -> Result<Vec<String>, String> {
    let setup = setup()?;
    let engine = setup
        .open_engine(Access::Write)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let mut names = Vec::new();
    for pane in engine.list().await.map_err(|e| e.to_string())? {
        if pane.session == session
            && !pane.stale
            && pane.metadata.get("worktree").map(String::as_str) == Some(tab)
        {
            engine
                .mark_stale(&pane.name)
                .await
                .map_err(|e| e.to_string())?;
            names.push(pane.name);
        }
    }
    Ok(names)
}
