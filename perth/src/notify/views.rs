//! What the clients' screens show, read from perth-core's views of them: which panes are where
//! and framed, their labels, the tab bar's place and its notification and agent counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bridge_protocol::link::Snapshot;
use serde::{Deserialize, Serialize};
use zellij_utils::data::ClientId;

use super::bus::{Bus, PaneRef};
use super::overlay::{PaneView, Rect};
use super::{anim, overlay};
use crate::agent_state::AgentState;

/// A pane's name and tab, for listings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaneLabel {
    pub pane: String,
    pub title: String,
    pub tab: String,
}

/// The view a client's screen shows: its own, or for a client perth-core has no view of (a
/// watcher: `perth watch`, a browser with a read-only token) the view of the client whose
/// screen Zellij draws it, found as the view whose panes' frames its screen shows most (Zellij
/// follows one client and does not say which; the lowest id on a tie, its first client).
pub(super) fn view_for<'a>(
    views: &'a BTreeMap<ClientId, Snapshot>,
    client: ClientId,
    shadow: &super::shadow::Shadow,
) -> Option<&'a Snapshot> {
    if let Some(own) = views.get(&client) {
        return Some(own);
    }
    let mut best: Option<(usize, &Snapshot)> = None;
    for view in views.values() {
        let shown = visible_panes(view)
            .iter()
            .filter(|p| p.framed && overlay::shows_frame(shadow, p.rect))
            .count();
        if shown > 0 && best.is_none_or(|(most, _)| shown > most) {
            best = Some((shown, view));
        }
    }
    best.map(|(_, view)| view)
}

pub(super) fn find_pane(
    views: &BTreeMap<ClientId, Snapshot>,
    pane: PaneRef,
) -> Option<&bridge_protocol::link::PaneState> {
    views.values().find_map(|v| {
        v.panes
            .iter()
            .find(|p| PaneRef::new(p.id, p.is_plugin) == pane)
    })
}

/// Whether perth can draw on the pane: a full frame leaves at least one cell on each side of
/// the content.
pub(super) fn has_full_frame(views: &BTreeMap<ClientId, Snapshot>, pane: PaneRef) -> bool {
    find_pane(views, pane)
        .is_some_and(|p| p.content_cols + 2 <= p.cols && p.content_rows + 2 <= p.rows)
}

pub(super) fn pane_exists(views: &BTreeMap<ClientId, Snapshot>, pane: PaneRef) -> bool {
    views.values().any(|v| {
        v.panes
            .iter()
            .any(|p| PaneRef::new(p.id, p.is_plugin) == pane)
    })
}

pub(super) fn label_of(views: &BTreeMap<ClientId, Snapshot>, pane: PaneRef) -> PaneLabel {
    for v in views.values() {
        if let Some(p) = v
            .panes
            .iter()
            .find(|p| PaneRef::new(p.id, p.is_plugin) == pane)
        {
            let tab = v
                .tabs
                .iter()
                .find(|t| t.position == p.tab_position)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            return PaneLabel {
                pane: pane.to_string(),
                title: p.title.clone(),
                tab,
            };
        }
    }
    PaneLabel {
        pane: pane.to_string(),
        ..Default::default()
    }
}

/// The tab bar one client sees: a one-row plugin pane of the active tab running a tab bar.
pub(super) fn tab_bar(view: &Snapshot) -> Option<Rect> {
    let tab = view.tabs.iter().find(|t| t.active)?;
    view.panes
        .iter()
        .find(|p| {
            p.is_plugin
                && p.tab_position == tab.position
                && p.rows == 1
                && !p.is_suspended
                && p.plugin_url
                    .as_deref()
                    .is_some_and(|u| u.contains("tab-bar"))
        })
        .map(|p| Rect {
            x: p.x,
            y: p.y,
            cols: p.cols,
            rows: 1,
        })
}

/// The tab bar's summary: for each tab with notifications or agents, its name, a count per
/// style in the style's colour, then its waiting agents (`✋`, in the warning colour) and its
/// working ones (`⏳`): ` workspace ✗2 ✓1  build ▲1 ✋1 ⏳2 `.
/// The badge each visible agent pane shows next to its title.
pub(super) fn badges(
    visible: &[PaneView],
    agents: &BTreeMap<u32, AgentState>,
    looks: &anim::AnimSettings,
) -> HashMap<PaneRef, overlay::Badge> {
    visible
        .iter()
        .filter_map(|view| {
            let PaneRef::Terminal(id) = view.pane else {
                return None;
            };
            let state = *agents.get(&id)?;
            let (icon, color) = match state {
                AgentState::Waiting => ('✋', Some(looks.look(super::bus::Style::Warning).color)),
                AgentState::Working => ('⏳', None),
                AgentState::Idle => ('✓', None),
                AgentState::Exited => ('■', None),
            };
            Some((
                view.pane,
                overlay::Badge {
                    icon,
                    word: state.to_string(),
                    color,
                },
            ))
        })
        .collect()
}

pub(super) fn tab_counts(
    view: &Snapshot,
    bus: &Bus,
    agents: &BTreeMap<u32, AgentState>,
    looks: &anim::AnimSettings,
) -> Vec<overlay::Segment> {
    let mut by_tab: BTreeMap<usize, BTreeMap<std::cmp::Reverse<super::bus::Style>, usize>> =
        BTreeMap::new();
    let mut agents_by_tab: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for (pane, state) in agents {
        let tab = view
            .panes
            .iter()
            .find(|p| !p.is_plugin && p.id == *pane)
            .map(|p| p.tab_position);
        if let Some(tab) = tab {
            let counts = agents_by_tab.entry(tab).or_default();
            match state {
                AgentState::Waiting => counts.0 += 1,
                AgentState::Working => counts.1 += 1,
                AgentState::Idle | AgentState::Exited => {}
            }
        }
    }
    agents_by_tab.retain(|_, (waiting, working)| *waiting + *working > 0);
    for (n, _) in bus.active() {
        let tab = view
            .panes
            .iter()
            .find(|p| PaneRef::new(p.id, p.is_plugin) == n.pane)
            .map(|p| p.tab_position);
        if let Some(tab) = tab {
            *by_tab
                .entry(tab)
                .or_default()
                .entry(std::cmp::Reverse(n.style))
                .or_default() += 1;
        }
    }
    for tab in agents_by_tab.keys() {
        by_tab.entry(*tab).or_default();
    }
    let mut out = Vec::new();
    for (position, counts) in by_tab {
        let name = view
            .tabs
            .iter()
            .find(|t| t.position == position)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| format!("tab {}", position + 1));
        out.push((
            format!(" {} ", bridge_protocol::notice::clean_message(&name)),
            None,
        ));
        for (std::cmp::Reverse(style), count) in counts {
            out.push((
                format!("{}{count}", style.icon()),
                Some(looks.look(style).color),
            ));
            out.push((" ".to_string(), None));
        }
        if let Some((waiting, working)) = agents_by_tab.get(&position) {
            if *waiting > 0 {
                out.push((
                    format!("✋{waiting}"),
                    Some(looks.look(super::bus::Style::Warning).color),
                ));
                out.push((" ".to_string(), None));
            }
            if *working > 0 {
                out.push((format!("⏳{working}"), None));
                out.push((" ".to_string(), None));
            }
        }
    }
    out
}

/// The panes one client sees, tiled first, then floating ones (later ones above).
pub fn visible_panes(view: &Snapshot) -> Vec<PaneView> {
    let Some(tab) = view.tabs.iter().find(|t| t.active) else {
        return Vec::new();
    };
    let mut panes: Vec<PaneView> = view
        .panes
        .iter()
        .filter(|p| p.tab_position == tab.position && !p.is_suspended)
        .filter(|p| {
            if p.is_floating {
                tab.are_floating_panes_visible
            } else {
                !tab.is_fullscreen_active || p.is_fullscreen
            }
        })
        .map(|p| PaneView {
            pane: PaneRef::new(p.id, p.is_plugin),
            rect: Rect {
                x: p.x,
                y: p.y,
                cols: p.cols,
                rows: p.rows,
            },
            floating: p.is_floating,
            framed: p.content_cols < p.cols || p.content_rows < p.rows,
        })
        .collect();
    panes.sort_by_key(|p| p.floating);
    panes
}

/// The panes that have a client's focus: the focused pane of the layer each client looks at
/// (floating panes when they are shown), in each client's active tab.
pub fn focused_panes<'a>(views: impl Iterator<Item = &'a Snapshot>) -> BTreeSet<PaneRef> {
    let mut out = BTreeSet::new();
    for view in views {
        let Some(tab) = view.tabs.iter().find(|t| t.active) else {
            continue;
        };
        let floating_layer = tab.are_floating_panes_visible
            && view
                .panes
                .iter()
                .any(|p| p.tab_position == tab.position && p.is_floating && !p.is_suspended);
        for p in &view.panes {
            if p.tab_position == tab.position
                && p.is_focused
                && !p.is_suspended
                && p.is_floating == floating_layer
            {
                out.insert(PaneRef::new(p.id, p.is_plugin));
            }
        }
    }
    out
}
