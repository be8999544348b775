//! perth-status-bar: perth's status bar. It shows what Zellij 0.45.1's status bar shows: in
//! two rows, the modes with their keys (the current one highlighted, the others disabled
//! while locked, the swap layout on the right) and the current mode's key hints (the quicknav
//! tip in Normal mode); in one row, Zellij's compact design (the mode ribbons with their keys,
//! then the keys of new panes, focus, resizing and floating panes in Normal mode, or the
//! current mode's hints). Each takes the narrower forms Zellij falls back to when the width
//! does not fit, in the theme's colours.
//!
//! Zellij's bar rebuilds its lines from the whole keymap on every render and reads every pane
//! update; in a session of many tabs (one bar per tab) that work in the WebAssembly interpreter
//! is most of what a restore costs. This bar builds its lines once per change of what they show
//! (the mode and keymap, the active tab's swap layout, fullscreen and floating state and whether
//! it has several panes, a copy message, the size), keeps them, and its render only prints
//! them. It never asks for pane updates, and for key presses only while a copy message waits to
//! be cleared by one.
//!
//! All logic lives here so it runs natively in tests: [`App`] turns events into whether to draw
//! again (and to read key presses), [`modes::first_line`] and [`hints::second_line`] draw the
//! two lines and [`one_line::one_line`] the one row (pure functions of the state and the
//! width), and `main.rs` only registers the plugin.

pub mod app;
pub mod hints;
pub mod keys;
pub mod modes;
pub mod one_line;

pub use app::{App, KeyPresses, EVENTS, INPUT_EVENTS, PERMISSIONS};

use zellij_tile::prelude::{PaletteColor, Styling};

/// The theme's colours the bar draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    /// The whole theme, for the ribbons of the first line.
    pub styling: Styling,
    /// Plain text.
    pub text: PaletteColor,
    /// The bar's background.
    pub background: PaletteColor,
    /// Keys.
    pub green: PaletteColor,
    /// Modifiers and notices.
    pub orange: PaletteColor,
    /// Errors.
    pub red: PaletteColor,
}

impl Colors {
    /// Returns the colours of a theme.
    pub fn of(styling: Styling) -> Colors {
        let text = styling.text_unselected;
        Colors {
            styling,
            text: text.base,
            background: text.background,
            green: text.emphasis_2,
            orange: text.emphasis_0,
            red: text.emphasis_3,
        }
    }
}

#[cfg(test)]
mod tests;
