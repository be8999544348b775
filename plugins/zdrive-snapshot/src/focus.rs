//! Which pane the snapshot pane is about: the terminal pane focused in this client's active tab,
//! and the session it lives in.

use zellij_tile::prelude::{PaneInfo, PaneManifest, SessionInfo, TabInfo};

/// Returns the name of the session the plugin runs in, from a `SessionUpdate`'s live sessions.
///
/// A plugin cannot count on a `ModeUpdate` for it: one that loads while the screen reports the
/// session's state may get its first `PaneUpdate` and `TabUpdate` but no `ModeUpdate`, and none
/// comes until the input mode changes. Zellij sends a `SessionUpdate` with every `PaneUpdate` it
/// reports, the plugin's own session marked current.
pub fn current_session(sessions: &[SessionInfo]) -> Option<&str> {
    sessions
        .iter()
        .find(|s| s.is_current_session && !s.name.is_empty())
        .map(|s| s.name.as_str())
}

/// Returns zdrive's id (`terminal_3`) of the terminal pane focused in the active tab: in the
/// floating layer when it is shown and a terminal has its focus, else in the tiled layer.
///
/// `None` when a plugin has the focus (this one, when the user is reading it) or the tab has
/// no terminal: the pane keeps showing what it showed.
pub fn focused_terminal(tabs: &[TabInfo], manifest: &PaneManifest) -> Option<String> {
    let tab = tabs.iter().find(|t| t.active)?;
    let panes = manifest.panes.get(&tab.position)?;
    let focused = |floating: bool| {
        panes
            .iter()
            .filter(|p| p.is_focused && p.is_floating == floating && !p.is_suppressed)
            .min_by_key(|p| p.id)
    };
    let floating = tab
        .are_floating_panes_visible
        .then(|| focused(true))
        .flatten();
    // A floating plugin (this pane) with the focus: the user reads about the tiled pane.
    let pane: &PaneInfo = match floating {
        Some(p) if !p.is_plugin => p,
        _ => focused(false)?,
    };
    (!pane.is_plugin).then(|| format!("terminal_{}", pane.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pane(id: u32, plugin: bool, floating: bool, focused: bool) -> PaneInfo {
        PaneInfo {
            id,
            is_plugin: plugin,
            is_floating: floating,
            is_focused: focused,
            ..Default::default()
        }
    }

    fn tab(position: usize, active: bool, floating_visible: bool) -> TabInfo {
        TabInfo {
            position,
            active,
            are_floating_panes_visible: floating_visible,
            ..Default::default()
        }
    }

    fn manifest(tabs: Vec<(usize, Vec<PaneInfo>)>) -> PaneManifest {
        PaneManifest {
            panes: tabs.into_iter().collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn the_focused_terminal_of_the_active_tab() {
        let m = manifest(vec![
            (0, vec![pane(1, false, false, true)]),
            (
                1,
                vec![pane(2, false, false, false), pane(3, false, false, true)],
            ),
        ]);
        assert_eq!(
            focused_terminal(&[tab(0, false, false), tab(1, true, false)], &m).as_deref(),
            Some("terminal_3")
        );
        assert_eq!(
            focused_terminal(&[tab(0, true, false), tab(1, false, false)], &m).as_deref(),
            Some("terminal_1")
        );
        assert_eq!(focused_terminal(&[], &m), None);
    }

    #[test]
    fn this_floating_plugin_is_looked_through_but_a_floating_terminal_counts() {
        let with_plugin = manifest(vec![(
            0,
            vec![pane(4, false, false, true), pane(9, true, true, true)],
        )]);
        assert_eq!(
            focused_terminal(&[tab(0, true, true)], &with_plugin).as_deref(),
            Some("terminal_4")
        );
        let with_terminal = manifest(vec![(
            0,
            vec![
                pane(4, false, false, true),
                pane(9, true, true, false),
                pane(7, false, true, true),
            ],
        )]);
        assert_eq!(
            focused_terminal(&[tab(0, true, true)], &with_terminal).as_deref(),
            Some("terminal_7")
        );
        // Floating panes hidden: the tiled focus.
        assert_eq!(
            focused_terminal(&[tab(0, true, false)], &with_terminal).as_deref(),
            Some("terminal_4")
        );
    }

    #[test]
    fn the_current_session_is_the_one_marked_current() {
        let session = |name: &str, current: bool| SessionInfo {
            name: name.into(),
            is_current_session: current,
            ..Default::default()
        };
        let live = [session("other", false), session("work", true)];
        assert_eq!(current_session(&live), Some("work"));
        // Sessions read from disk between reports carry no mark: nothing is known from them.
        assert_eq!(current_session(&[session("work", false)]), None);
        assert_eq!(current_session(&[]), None);
    }

    #[test]
    fn a_focused_tiled_plugin_is_not_a_target() {
        let m = manifest(vec![(0, vec![pane(2, true, false, true)])]);
        assert_eq!(focused_terminal(&[tab(0, true, false)], &m), None);
    }
}
