//! The WebAssembly entry point: registers the plugin and forwards to [`perth_core::Core`].

use std::collections::BTreeMap;
use std::time::Instant;

use bridge_protocol::PermissionAsk;
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
        if event == Event::PermissionRequestResult(PermissionStatus::Granted)
            && self
                .asked
                .as_mut()
                .is_some_and(|a| a.granted(Instant::now()))
        {
            request_permission(&perth_core::core::PERMISSIONS);
        }
        host::run(self.core.update(event));
        false
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        host::run(self.core.pipe(pipe_message));
        false
    }
}

register_plugin!(PerthCore);
