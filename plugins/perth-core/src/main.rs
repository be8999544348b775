//! The WebAssembly entry point: registers the plugin and forwards to [`perth_core::Core`].

use std::collections::BTreeMap;
use std::time::Instant;

use bridge_protocol::{Grant, PermissionAsk};
use perth_core::{host, Core, InstanceIds};
use zellij_tile::prelude::*;

#[derive(Default)]
struct PerthCore {
    core: Core,
    /// When this instance asked for its permissions (a late grant makes it ask again).
    asked: Option<PermissionAsk>,
}

impl ZellijPlugin for PerthCore {
    fn load(&mut self, configuration: BTreeMap<String, String>) {
        let ids = get_plugin_ids();
        self.core.set_cwd(ids.initial_cwd.display().to_string());
        let ids = InstanceIds {
            plugin_id: ids.plugin_id,
            client_id: ids.client_id,
        };
        host::run(self.core.load(&configuration, Some(ids)));
        self.asked = Some(PermissionAsk::new(Instant::now()));
    }

    fn update(&mut self, event: Event) -> bool {
        let grant = (event == Event::PermissionRequestResult(PermissionStatus::Granted))
            .then(|| self.asked.as_mut().map(|a| a.granted(Instant::now())))
            .flatten();
        if grant == Some(Grant::AskAgain) {
            // Perhaps another instance's grant: this one may still be without its
            // permissions, and what it wrote now (answers to CLI pipes) would be denied, so
            // the core hears of a grant only from the answer to asking again.
            request_permission(&perth_core::core::PERMISSIONS);
            return false;
        }
        host::run(self.core.update(event));
        if grant == Some(Grant::AfterAskingAgain) {
            host::run(self.core.granted_after_asking_again());
        }
        false
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        host::run(self.core.pipe(pipe_message));
        false
    }
}

register_plugin!(PerthCore);
