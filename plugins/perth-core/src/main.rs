//! The WebAssembly entry point: registers the plugin and forwards to [`perth_core::Core`].

use std::collections::BTreeMap;

use perth_core::{host, Core, InstanceIds};
use zellij_tile::prelude::*;

#[derive(Default)]
struct PerthCore {
    core: Core,
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
    }

    fn update(&mut self, event: Event) -> bool {
        host::run(self.core.update(event));
        false
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        host::run(self.core.pipe(pipe_message));
        false
    }
}

register_plugin!(PerthCore);
