//! Carries out the client's effects with `zellij-tile` inside a plugin.
//!
//! The plugin needs the `WebAccess` permission and must subscribe to `WebRequestResult` and
//! `Timer`; it feeds those events to [`BridgeClient::on_web_result`] and
//! [`BridgeClient::on_timer`] and passes the returned effects to [`run_effects`].

use zellij_tile::prelude::{set_timeout, web_request, HttpVerb};

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
