//! Performs [`Effect`]s through Zellij's plugin API.
//!
//! Only meaningful inside Zellij: on the host the API calls write to stdout and go nowhere.

use zellij_tile::prelude::{
    block_cli_pipe_input, cli_pipe_output, hide_self, highlight_and_unhighlight_panes,
    pipe_message_to_plugin, request_permission, set_pane_color, set_timeout, subscribe,
    switch_to_input_mode, unblock_cli_pipe_input, MessageToPlugin, PaneId,
};

use crate::notice::PaneRef;

fn pane_id(pane: PaneRef) -> PaneId {
    match pane {
        PaneRef::Terminal(id) => PaneId::Terminal(id),
        PaneRef::Plugin(id) => PaneId::Plugin(id),
    }
}

use crate::core::Effect;

/// Performs the effects in order.
pub fn run(effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Subscribe(event_types) => subscribe(&event_types),
            Effect::RequestPermission(permissions) => request_permission(&permissions),
            Effect::PipeOutput { pipe_id, line } => cli_pipe_output(&pipe_id, &line),
            Effect::Block { pipe_id } => block_cli_pipe_input(&pipe_id),
            Effect::Unblock { pipe_id } => unblock_cli_pipe_input(&pipe_id),
            Effect::SetTimeout { seconds } => set_timeout(seconds),
            Effect::HideSelf => hide_self(),
            // A plugin's stderr ends up in Zellij's log.
            Effect::Log(message) => eprintln!("{message}"),
            Effect::Bridge(effects) => bridge_client::host::run_effects(effects),
            Effect::Highlight { on, off } => highlight_and_unhighlight_panes(
                on.into_iter().map(pane_id).collect(),
                off.into_iter().map(pane_id).collect(),
            ),
            Effect::PaneBackground { pane, bg } => set_pane_color(pane_id(pane), None, bg),
            Effect::SwitchMode(mode) => switch_to_input_mode(&mode),
            Effect::ReportState => highlight_and_unhighlight_panes(Vec::new(), Vec::new()),
            // No destination: Zellij hands it to every plugin of the session.
            Effect::Broadcast { name, payload } => {
                pipe_message_to_plugin(MessageToPlugin::new(name).with_payload(payload))
            }
        }
    }
}
