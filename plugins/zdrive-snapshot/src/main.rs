//! The WebAssembly entry point: registers the plugin and forwards to [`zdrive_snapshot::App`].

use std::collections::BTreeMap;

use zdrive_snapshot::{host, view, App};
use zellij_tile::prelude::*;

#[derive(Default)]
struct ZdriveSnapshot {
    app: App,
}

impl ZellijPlugin for ZdriveSnapshot {
    fn load(&mut self, configuration: BTreeMap<String, String>) {
        host::run(self.app.load(&configuration, host::now()));
    }

    fn update(&mut self, event: Event) -> bool {
        let (render, effects) = self.app.update(event, host::now());
        host::run(effects);
        render
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        let (render, effects) = self.app.pipe(pipe_message, host::now());
        host::run(effects);
        render
    }

    fn render(&mut self, rows: usize, cols: usize) {
        self.app.note_size(rows, cols);
        host::print(&view::lines(&self.app, rows, cols), cols);
    }
}

register_plugin!(ZdriveSnapshot);
