//! The plugin as Zellij runs it: [`App`] with its effects performed through Zellij's API.
//!
//! Only meaningful inside Zellij: on the host the API calls write to stdout and go nowhere.

use std::collections::BTreeMap;

use zdrive_snapshot::host;
use zellij_tile::prelude::{Event, PipeMessage, ZellijPlugin};

use crate::app::{App, Effect, Now};
use crate::view;

/// The zdrive pane registered with Zellij.
#[derive(Default)]
pub struct Plugin {
    app: App,
}

impl Plugin {
    /// Runs one step of the app at the clock's time, performs its effects and says whether to
    /// draw again.
    fn perform(&mut self, step: impl FnOnce(&mut App, Now) -> (bool, Vec<Effect>)) -> bool {
        let (render, effects) = step(&mut self.app, host::now());
        host::run(effects);
        render
    }
}

impl ZellijPlugin for Plugin {
    fn load(&mut self, configuration: BTreeMap<String, String>) {
        self.perform(|app, now| (false, app.load(&configuration, now)));
    }

    fn update(&mut self, event: Event) -> bool {
        self.perform(|app, now| app.update(event, now))
    }

    fn pipe(&mut self, message: PipeMessage) -> bool {
        self.perform(|app, now| app.pipe(message, now))
    }

    fn render(&mut self, rows: usize, cols: usize) {
        self.app.note_size(rows, cols);
        host::print(&view::lines(&self.app, rows, cols), cols);
    }
}
