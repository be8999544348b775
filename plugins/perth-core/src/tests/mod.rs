//! Native unit tests of the snapshot conversion and the state machine (the link's wire format
//! is tested in bridge-protocol).

mod core;
mod snapshot;

use std::collections::HashMap;

use zellij_tile::prelude::{PaneInfo, PaneManifest, PipeMessage, PipeSource, TabInfo};

/// Returns a `perth::link` message from the CLI pipe `pipe_id`.
fn link_message(pipe_id: &str, payload: Option<&str>) -> PipeMessage {
    PipeMessage::new(
        PipeSource::Cli(pipe_id.to_owned()),
        crate::link::PIPE_NAME,
        &payload.map(str::to_owned),
        &None,
        true,
    )
}

/// Returns a terminal pane at the given geometry.
fn terminal(id: u32, title: &str, (x, y, cols, rows): (usize, usize, usize, usize)) -> PaneInfo {
    PaneInfo {
        id,
        title: title.to_owned(),
        pane_x: x,
        pane_y: y,
        pane_columns: cols,
        pane_rows: rows,
        pane_content_x: x + 1,
        pane_content_y: y + 1,
        pane_content_columns: cols.saturating_sub(2),
        pane_content_rows: rows.saturating_sub(2),
        is_selectable: true,
        ..PaneInfo::default()
    }
}

/// Returns a manifest holding the given panes per tab position.
fn manifest(tabs: Vec<(usize, Vec<PaneInfo>)>) -> PaneManifest {
    PaneManifest {
        panes: tabs.into_iter().collect::<HashMap<_, _>>(),
    }
}

/// Returns a tab.
fn tab(position: usize, name: &str, active: bool) -> TabInfo {
    TabInfo {
        position,
        name: name.to_owned(),
        active,
        tab_id: position + 10,
        ..TabInfo::default()
    }
}
