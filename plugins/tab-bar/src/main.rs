//! The WebAssembly entry point: registers the plugin and forwards to [`perth_tab_bar::App`].

use std::collections::BTreeMap;
use std::time::Instant;

use perth_tab_bar::{host, view, App, Effect};
use zellij_tile::prelude::*;

#[derive(Default)]
struct TabBar {
    app: App,
}

impl TabBar {
    /// Runs one step of the app, performs its effects and says whether to draw again.
    fn step(&mut self, step: impl FnOnce(&mut App) -> (bool, Vec<Effect>)) -> bool {
        let (render, effects) = step(&mut self.app);
        host::run(effects);
        render
    }
}

impl ZellijPlugin for TabBar {
    fn load(&mut self, configuration: BTreeMap<String, String>) {
        let ids = get_plugin_ids();
        let cwd = ids.initial_cwd.display().to_string();
        self.step(|app| {
            (
                false,
                app.load(&configuration, Some(cwd), Some(ids.plugin_id)),
            )
        });
    }

    fn update(&mut self, event: Event) -> bool {
        self.step(|app| app.update(event, Instant::now()))
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        self.step(|app| app.pipe(pipe_message, Instant::now()))
    }

    fn render(&mut self, _rows: usize, cols: usize) {
        let bar = view::bar(&self.app, cols);
        host::print(&bar);
        self.app.drawn(bar.hits);
    }
}

register_plugin!(TabBar);
