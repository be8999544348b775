//! Conversion of Zellij's plugin events into the wire [`Snapshot`] types.
//!
//! The conversion sorts everything Zellij hands over in hash-map order, so equal states always
//! produce equal snapshots and the diff in [`crate::core`] sees no spurious change.

use zellij_tile::prelude::{InputMode, PaneInfo, PaneManifest, TabInfo};

use crate::link::{PaneState, TabState};

/// Returns the tabs ordered by position.
pub fn tabs(tab_infos: &[TabInfo]) -> Vec<TabState> {
    let mut tabs: Vec<TabState> = tab_infos
        .iter()
        .map(|tab| TabState {
            position: tab.position,
            name: tab.name.clone(),
            active: tab.active,
            tab_id: tab.tab_id,
            is_fullscreen_active: tab.is_fullscreen_active,
            are_floating_panes_visible: tab.are_floating_panes_visible,
        })
        .collect();
    tabs.sort_by_key(|tab| tab.position);
    tabs
}

/// Returns every pane of the manifest, ordered as [`crate::link::Snapshot::panes`] documents.
pub fn panes(manifest: &PaneManifest) -> Vec<PaneState> {
    let mut positions: Vec<usize> = manifest.panes.keys().copied().collect();
    positions.sort_unstable();
    let mut panes = Vec::new();
    for position in positions {
        let Some(infos) = manifest.panes.get(&position) else {
            continue;
        };
        let start = panes.len();
        panes.extend(infos.iter().map(|info| pane(position, info)));
        // Zellij lists tiled then floating panes in a stable order but suppressed panes in
        // hash-map order; the sort is stable, so only the suppressed tail is reordered.
        panes[start..].sort_by_key(|pane| {
            if pane.is_suspended {
                (true, pane.is_plugin, pane.id)
            } else {
                (false, false, 0)
            }
        });
    }
    panes
}

fn pane(tab_position: usize, info: &PaneInfo) -> PaneState {
    PaneState {
        id: info.id,
        is_plugin: info.is_plugin,
        title: info.title.clone(),
        tab_position,
        is_focused: info.is_focused,
        is_floating: info.is_floating,
        is_suspended: info.is_suppressed,
        exited: info.exited,
        x: info.pane_x,
        y: info.pane_y,
        cols: info.pane_columns,
        rows: info.pane_rows,
        content_x: info.pane_content_x,
        content_y: info.pane_content_y,
        content_cols: info.pane_content_columns,
        content_rows: info.pane_content_rows,
        is_fullscreen: info.is_fullscreen,
        is_selectable: info.is_selectable,
        exit_status: info.exit_status,
        terminal_command: info.terminal_command.clone(),
        plugin_url: info.plugin_url.clone(),
    }
}

/// Returns the lower-case name config.kdl uses for an input mode.
pub fn mode_name(mode: InputMode) -> &'static str {
    match mode {
        InputMode::Normal => "normal",
        InputMode::Locked => "locked",
        InputMode::Resize => "resize",
        InputMode::Pane => "pane",
        InputMode::Tab => "tab",
        InputMode::Scroll => "scroll",
        InputMode::EnterSearch => "entersearch",
        InputMode::Search => "search",
        InputMode::RenameTab => "renametab",
        InputMode::RenamePane => "renamepane",
        InputMode::Session => "session",
        InputMode::Move => "move",
        InputMode::Prompt => "prompt",
        InputMode::Tmux => "tmux",
    }
}
