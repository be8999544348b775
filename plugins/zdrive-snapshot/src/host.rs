//! Performs [`Effect`]s through Zellij's plugin API and prints the view.
//!
//! Only meaningful inside Zellij: on the host the API calls write to stdout and go nowhere.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use zellij_tile::prelude::{
    block_cli_pipe_input, cli_pipe_output, close_self, get_plugin_ids, rename_plugin_pane,
    request_permission, set_timeout, subscribe, unblock_cli_pipe_input,
};

use crate::app::{Effect, Now};

/// Returns the clock now.
pub fn now() -> Now {
    let unix_seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Now {
        mono: Instant::now(),
        unix_seconds,
    }
}

/// Performs the effects in order.
pub fn run(effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Subscribe(event_types) => subscribe(&event_types),
            Effect::RequestPermission(permissions) => request_permission(&permissions),
            Effect::Bridge(effects) => bridge_client::host::run_effects(effects),
            Effect::WakeAfter(after) => set_timeout(after.as_secs_f64()),
            Effect::PipeOutput { pipe_id, line } => cli_pipe_output(&pipe_id, &line),
            Effect::Block { pipe_id } => block_cli_pipe_input(&pipe_id),
            Effect::Unblock { pipe_id } => unblock_cli_pipe_input(&pipe_id),
            // A plugin's stderr ends up in Zellij's log.
            Effect::Log(message) => eprintln!("{message}"),
            Effect::Close => close_self(),
            Effect::SetTitle(title) => rename_plugin_pane(get_plugin_ids().plugin_id, title),
        }
    }
}

/// Prints the view: each line placed at its row, so that nothing scrolls.
pub fn print(lines: &[crate::style::Line], cols: usize) {
    let mut out = String::new();
    for (row, line) in lines.iter().enumerate() {
        out.push_str(&format!("\u{1b}[{};1H{}", row + 1, line.to_ansi(cols)));
    }
    print!("{out}");
}
