//! The WebAssembly entry point: registers the plugin and forwards to [`perth_status_bar::App`].

use std::collections::BTreeMap;
use std::time::Instant;

use bridge_protocol::{Grant, ModeSeen, PermissionAsk};
use perth_status_bar::{App, KeyPresses, EVENTS, INPUT_EVENTS, PERMISSIONS};
use zellij_tile::prelude::*;

#[derive(Default)]
struct StatusBar {
    app: App,
    /// When this instance asked for its permissions (a late grant makes it ask again).
    asked: Option<PermissionAsk>,
    /// Whether the client's mode came (a tab update without it means it was dropped).
    mode_seen: ModeSeen,
}

impl ZellijPlugin for StatusBar {
    fn load(&mut self, _configuration: BTreeMap<String, String>) {
        set_selectable(false);
        request_permission(&PERMISSIONS);
        self.asked = Some(PermissionAsk::new(Instant::now()));
        subscribe(&EVENTS);
        // Timers: a grant with no mode after it asks for the mode (ModeSeen).
        subscribe(&[EventType::Timer]);
    }

    fn update(&mut self, event: Event) -> bool {
        if event == Event::PermissionRequestResult(PermissionStatus::Granted) {
            if let Some(wait) = self.mode_seen.granted(Instant::now()) {
                set_timeout(wait.as_secs_f64());
            }
            match self.asked.as_mut().map(|a| a.granted(Instant::now())) {
                Some(Grant::AskAgain) => request_permission(&PERMISSIONS),
                Some(Grant::AfterAskingAgain) => bridge_client::host::ask_for_updates(),
                Some(Grant::InTime) | None => {}
            }
        }
        let ask = match &event {
            Event::ModeUpdate(_) => {
                self.mode_seen.mode();
                false
            }
            Event::Timer(_) => self.mode_seen.due(Instant::now()),
            Event::TabUpdate(_) => self.mode_seen.tabs(Instant::now()),
            _ => false,
        };
        if ask {
            bridge_client::host::ask_for_updates();
        }
        if let Some(wait) = self.mode_seen.follow_up() {
            set_timeout(wait.as_secs_f64());
        }
        let (render, key_presses) = self.app.update(event);
        match key_presses {
            Some(KeyPresses::Read) => subscribe(&INPUT_EVENTS),
            Some(KeyPresses::Ignore) => unsubscribe(&INPUT_EVENTS),
            None => {}
        }
        render
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        self.app.pipe(&pipe_message.name)
    }

    fn render(&mut self, rows: usize, cols: usize) {
        print!("{}", self.app.render(rows, cols));
    }
}

register_plugin!(StatusBar);
