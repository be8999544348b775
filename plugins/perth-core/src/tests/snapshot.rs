//! Conversion from Zellij's events: order, field mapping and mode names.

use std::str::FromStr;

use zellij_tile::prelude::{InputMode, PaneInfo};

use super::{manifest, tab, terminal};
use crate::snapshot::{mode_name, panes, tabs};

#[test]
fn tabs_are_ordered_by_position() {
    let converted = tabs(&[tab(2, "c", false), tab(0, "a", true), tab(1, "b", false)]);
    let names: Vec<&str> = converted.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(converted[0].active);
    assert_eq!(converted[0].tab_id, 10);
}

#[test]
fn panes_map_geometry_and_flags() {
    let mut floating = terminal(5, "float", (10, 5, 40, 12));
    floating.is_floating = true;
    floating.is_focused = true;
    floating.exited = true;
    floating.exit_status = Some(2);
    floating.terminal_command = Some("make".to_owned());
    let converted = panes(&manifest(vec![(0, vec![floating])]));
    let pane = &converted[0];
    assert_eq!(
        (pane.id, pane.x, pane.y, pane.cols, pane.rows),
        (5, 10, 5, 40, 12)
    );
    assert_eq!(
        (
            pane.content_x,
            pane.content_y,
            pane.content_cols,
            pane.content_rows
        ),
        (11, 6, 38, 10)
    );
    assert!(pane.is_floating && pane.is_focused && pane.exited && pane.is_selectable);
    assert!(!pane.is_suspended && !pane.is_plugin);
    assert_eq!(pane.exit_status, Some(2));
    assert_eq!(pane.terminal_command.as_deref(), Some("make"));
    assert_eq!(pane.tab_position, 0);
}

#[test]
fn panes_are_ordered_by_tab_then_zellij_order_then_suppressed_by_id() {
    let suppressed = |id: u32, is_plugin: bool| PaneInfo {
        id,
        is_plugin,
        is_suppressed: true,
        ..PaneInfo::default()
    };
    let mut floating = terminal(1, "f", (0, 0, 5, 5));
    floating.is_floating = true;
    let one = manifest(vec![
        (
            1,
            vec![
                terminal(9, "tiled-9", (0, 0, 10, 10)),
                terminal(3, "tiled-3", (10, 0, 10, 10)),
                floating.clone(),
                suppressed(4, true),
                suppressed(8, false),
                suppressed(2, true),
            ],
        ),
        (0, vec![terminal(7, "first-tab", (0, 0, 20, 10))]),
    ]);
    let other = manifest(vec![
        (0, vec![terminal(7, "first-tab", (0, 0, 20, 10))]),
        (
            1,
            vec![
                terminal(9, "tiled-9", (0, 0, 10, 10)),
                terminal(3, "tiled-3", (10, 0, 10, 10)),
                floating,
                suppressed(2, true),
                suppressed(4, true),
                suppressed(8, false),
            ],
        ),
    ]);
    let order: Vec<(usize, u32, bool)> = panes(&one)
        .iter()
        .map(|p| (p.tab_position, p.id, p.is_plugin))
        .collect();
    assert_eq!(
        order,
        [
            (0, 7, false),
            (1, 9, false),
            (1, 3, false),
            (1, 1, false),
            (1, 8, false),
            (1, 2, true),
            (1, 4, true),
        ]
    );
    // Suppressed panes listed in another hash-map order give the same snapshot.
    assert_eq!(panes(&one), panes(&other));
}

#[test]
fn mode_names_are_the_config_names() {
    let modes = [
        (InputMode::Normal, "normal"),
        (InputMode::Locked, "locked"),
        (InputMode::Resize, "resize"),
        (InputMode::Pane, "pane"),
        (InputMode::Tab, "tab"),
        (InputMode::Scroll, "scroll"),
        (InputMode::EnterSearch, "entersearch"),
        (InputMode::Search, "search"),
        (InputMode::RenameTab, "renametab"),
        (InputMode::RenamePane, "renamepane"),
        (InputMode::Session, "session"),
        (InputMode::Move, "move"),
        (InputMode::Prompt, "prompt"),
        (InputMode::Tmux, "tmux"),
    ];
    for (mode, name) in modes {
        assert_eq!(mode_name(mode), name);
        assert_eq!(InputMode::from_str(name).ok(), Some(mode));
    }
}
