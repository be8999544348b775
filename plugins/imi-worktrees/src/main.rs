//! The WebAssembly entry point: registers the plugin and forwards to [`imi_worktrees::App`].

use std::collections::BTreeMap;
use std::time::Instant;

use imi_worktrees::{view, App, Effect};
use zellij_tile::prelude::*;

#[derive(Default)]
struct ImiWorktrees {
    app: App,
}

impl ImiWorktrees {
    /// Runs one step of the app, performs its effects and says whether to draw again.
    fn step(&mut self, step: impl FnOnce(&mut App) -> (bool, Vec<Effect>)) -> bool {
        let (render, effects) = step(&mut self.app);
        zdrive_snapshot::host::run(effects);
        render
    }
}

impl ZellijPlugin for ImiWorktrees {
    fn load(&mut self, configuration: BTreeMap<String, String>) {
        let cwd = get_plugin_ids().initial_cwd.display().to_string();
        self.step(|app| (false, app.load(&configuration, Some(cwd))));
    }

    fn update(&mut self, event: Event) -> bool {
        self.step(|app| app.update(event, Instant::now()))
    }

    fn pipe(&mut self, pipe_message: PipeMessage) -> bool {
        self.step(|app| app.pipe(pipe_message, Instant::now()))
    }

    fn render(&mut self, rows: usize, cols: usize) {
        zdrive_snapshot::host::print(&view::lines(&self.app, rows, cols), cols);
    }
}

register_plugin!(ImiWorktrees);
