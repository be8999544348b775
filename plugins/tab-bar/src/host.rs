//! Performs [`Effect`]s through Zellij's plugin API and prints the bar.
//!
//! Only meaningful inside Zellij: on the host the API calls write to stdout and go nowhere.

use zellij_tile::prelude::{
    request_permission, set_selectable, set_timeout, subscribe, switch_tab_to, unsubscribe,
};

use crate::app::Effect;

/// Performs the effects in order.
pub fn run(effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Subscribe(event_types) => subscribe(&event_types),
            Effect::Unsubscribe(event_types) => unsubscribe(&event_types),
            Effect::RequestPermission(permissions) => request_permission(&permissions),
            Effect::SetSelectable(selectable) => set_selectable(selectable),
            Effect::Bridge(effects) => bridge_client::host::run_effects(effects),
            Effect::WakeAfter(after) => set_timeout(after.as_secs_f64()),
            Effect::SwitchTab(index) => switch_tab_to(index),
            Effect::AskForUpdates => bridge_client::host::ask_for_updates(),
            // A plugin's stderr ends up in Zellij's log.
            Effect::Log(message) => eprintln!("{message}"),
        }
    }
}

/// Prints the bar: one row, exactly `cols` wide.
pub fn print(bar: &crate::view::Bar) {
    print!("{}", bar.line.to_ansi());
}
