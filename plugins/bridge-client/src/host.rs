//! Carries out the client's effects with `zellij-tile` inside a plugin.
//!
//! The plugin needs the `WebAccess` permission and must subscribe to `WebRequestResult` and
//! `Timer`; it feeds those events to [`BridgeClient::on_web_result`] and
//! [`BridgeClient::on_timer`] and passes the returned effects to [`run_effects`].

use zellij_tile::prelude::{
    get_plugin_ids, pipe_message_to_plugin, set_timeout, web_request, HttpVerb, MessageToPlugin,
};

use crate::client::Effect;

/// Performs the effects: HTTP requests through Zellij and timer wake-ups.
pub fn run_effects(effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Send {
                url,
                headers,
                body,
                context,
            } => web_request(url, HttpVerb::Post, headers, body, context),
            Effect::WakeAfter(after) => set_timeout(after.as_secs_f64()),
        }
    }
}

/// Asks perth-core's instance for this plugin's client to have Zellij send the client's mode
/// again (`bridge_protocol::REFRESH_PIPE`): the plugin holds its permissions only after asking
/// again, and dropped the updates Zellij handed it before.
pub fn ask_for_updates() {
    let client = get_plugin_ids().client_id;
    pipe_message_to_plugin(
        MessageToPlugin::new(bridge_protocol::REFRESH_PIPE).with_payload(client.to_string()),
    );
}
