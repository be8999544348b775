//! The bar's state machine: events in, whether to draw again and effects out; the lines (or
//! the one row) built once per change and kept for every render after.

use bar_style::Style;
use zellij_tile::prelude::{
    Event, EventType, KeybindsVec, ModeInfo, PermissionStatus, PermissionType, TabInfo,
};

use crate::hints::{second_line, Notice, SecondLine, TabView};
use crate::modes::{first_line, FirstLine, SwapLayout};
use crate::one_line::{one_line, OneLine};
use crate::Colors;

/// The permissions it asks for, as `bridge_protocol::permissions::STATUS_BAR` lists them; perth
/// grants them up front.
pub static PERMISSIONS: std::sync::LazyLock<Vec<PermissionType>> = std::sync::LazyLock::new(|| {
    bridge_client::permission_types(bridge_protocol::permissions::STATUS_BAR)
});

/// The events the bar always reads. Pane updates (the whole pane manifest, to every instance
/// on every change) and mouse events are not among them: nothing the two lines show needs them.
pub const EVENTS: [EventType; 6] = [
    EventType::ModeUpdate,
    EventType::InitialKeybinds,
    EventType::TabUpdate,
    EventType::CopyToClipboard,
    EventType::SystemClipboardFailure,
    EventType::PermissionRequestResult,
];

/// Key presses, read only while a notice waits for one to go away.
pub const INPUT_EVENTS: [EventType; 1] = [EventType::InputReceived];

/// Whether to start or stop reading [`INPUT_EVENTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPresses {
    Read,
    Ignore,
}

/// The active tab, as far as the lines show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ActiveTab {
    swap_layout: SwapLayout,
    view: TabView,
}

impl ActiveTab {
    fn of(tab: &TabInfo) -> ActiveTab {
        ActiveTab {
            swap_layout: SwapLayout {
                name: tab.active_swap_layout_name.clone(),
                dirty: tab.is_swap_layout_dirty,
            },
            view: TabView {
                fullscreen: tab.is_fullscreen_active,
                panes_to_hide: tab.panes_to_hide,
                floating_visible: tab.are_floating_panes_visible,
                several_panes: if tab.are_floating_panes_visible {
                    tab.selectable_floating_panes_count > 1
                } else {
                    tab.selectable_tiled_panes_count > 1
                },
            },
        }
    }
}

/// The text last printed and the size it was built for.
#[derive(Debug, Clone)]
struct Drawn {
    rows: usize,
    cols: usize,
    text: String,
}

/// The bar's state.
#[derive(Debug, Default)]
pub struct App {
    /// The last mode update, its keybindings filled in from the last that carried them.
    mode_info: Option<ModeInfo>,
    /// The keybindings last sent: mode updates may come without them.
    keybinds: KeybindsVec,
    /// The active tab, once a tab update has named one.
    tab: Option<ActiveTab>,
    notice: Option<Notice>,
    /// Whether [`INPUT_EVENTS`] are subscribed to.
    reading_input: bool,
    denied: bool,
    /// The lines built for the last render, until something they show changes.
    drawn: Option<Drawn>,
}

impl App {
    /// Applies an event; returns whether to draw again and whether to start or stop reading
    /// key presses.
    pub fn update(&mut self, event: Event) -> (bool, Option<KeyPresses>) {
        let mut key_presses = None;
        let changed = match event {
            Event::ModeUpdate(mut mode_info) => {
                if mode_info.keybinds.is_empty() {
                    mode_info.keybinds = self.keybinds.clone();
                } else {
                    self.keybinds = mode_info.keybinds.clone();
                }
                self.replace_mode(mode_info)
            }
            Event::InitialKeybinds(keybinds) => {
                if keybinds.is_empty() {
                    false
                } else {
                    self.keybinds = keybinds.clone();
                    match self.mode_info.take() {
                        Some(mut mode_info) => {
                            mode_info.keybinds = keybinds;
                            self.replace_mode(mode_info)
                        }
                        None => false,
                    }
                }
            }
            Event::TabUpdate(tabs) => {
                let active = tabs.iter().find(|t| t.active).map(ActiveTab::of);
                self.replace(|app| &mut app.tab, active)
            }
            Event::CopyToClipboard(destination) => {
                self.show_notice(Notice::Copied(destination), &mut key_presses)
            }
            Event::SystemClipboardFailure => {
                self.show_notice(Notice::ClipboardFailed, &mut key_presses)
            }
            Event::InputReceived => {
                if self.reading_input {
                    self.reading_input = false;
                    key_presses = Some(KeyPresses::Ignore);
                }
                self.replace(|app| &mut app.notice, None)
            }
            Event::PermissionRequestResult(status) => {
                let denied = status == PermissionStatus::Denied;
                self.replace(|app| &mut app.denied, denied)
            }
            _ => false,
        };
        if changed {
            self.drawn = None;
        }
        (changed, key_presses)
    }

    /// Handles a pipe message; returns whether to draw again (perth's server asks every
    /// plugin to when a client attached, see [`bridge_protocol::REDRAW_PIPE`]).
    pub fn pipe(&mut self, name: &str) -> bool {
        name == bridge_protocol::REDRAW_PIPE
    }

    fn replace_mode(&mut self, mode_info: ModeInfo) -> bool {
        self.replace(|app| &mut app.mode_info, Some(mode_info))
    }

    /// Sets a field; returns whether its value changed.
    fn replace<T: PartialEq>(&mut self, field: impl Fn(&mut App) -> &mut T, value: T) -> bool {
        let slot = field(self);
        if *slot == value {
            return false;
        }
        *slot = value;
        true
    }

    fn show_notice(&mut self, notice: Notice, key_presses: &mut Option<KeyPresses>) -> bool {
        if !self.reading_input {
            self.reading_input = true;
            *key_presses = Some(KeyPresses::Read);
        }
        self.replace(|app| &mut app.notice, Some(notice))
    }

    /// Returns the text to print in a pane of `rows` x `cols`: built when something shown
    /// changed since the last render, the same text otherwise.
    pub fn render(&mut self, rows: usize, cols: usize) -> &str {
        let fresh = matches!(&self.drawn, Some(d) if d.rows == rows && d.cols == cols);
        if !fresh {
            let text = self.build(rows, cols);
            self.drawn = Some(Drawn { rows, cols, text });
        }
        self.drawn.as_ref().map_or("", |d| d.text.as_str())
    }

    /// Builds the terminal output of the bar.
    fn build(&self, rows: usize, cols: usize) -> String {
        if self.denied {
            return format!(
                " perth status bar: it needs permission to read the session's modes and tabs{}",
                "\u{1b}[0K"
            );
        }
        let Some(mode_info) = &self.mode_info else {
            return String::new();
        };
        // The first line's background (and the one row's) reaches the right edge; the
        // second's is the terminal's.
        let fill = Style {
            bg: Some(Colors::of(mode_info.style.colors).background),
            ..Style::default()
        }
        .sgr();
        match rows {
            0 => String::new(),
            // One row: Zellij's compact design.
            1 => format!("{}{fill}\u{1b}[0K", self.row(mode_info, cols).to_ansi()),
            _ => {
                let [first, second] = self.lines(mode_info, cols);
                format!(
                    "{}{fill}\u{1b}[0K\n\u{1b}[m{}\u{1b}[0K",
                    first.to_ansi(),
                    second.to_ansi()
                )
            }
        }
    }

    /// Returns the bar in one row of `cols` columns.
    pub fn row(&self, mode_info: &ModeInfo, cols: usize) -> bar_style::Line {
        one_line(
            OneLine {
                mode_info,
                colors: &Colors::of(mode_info.style.colors),
                tab: self.tab.as_ref().map(|t| &t.view),
                notice: self.notice,
            },
            cols,
        )
    }

    /// Returns the two lines for `cols` columns.
    pub fn lines(&self, mode_info: &ModeInfo, cols: usize) -> [bar_style::Line; 2] {
        let colors = Colors::of(mode_info.style.colors);
        let keymap = mode_info.get_mode_keybinds();
        let first = first_line(
            FirstLine {
                mode: mode_info.mode,
                keymap: &keymap,
                colors: &colors,
                simplified_ui: mode_info.capabilities.arrow_fonts,
                swap_layout: self.tab.as_ref().map(|t| &t.swap_layout),
            },
            cols,
        );
        let second = second_line(
            SecondLine {
                mode_info,
                keymap: &keymap,
                colors: &colors,
                tab: self.tab.as_ref().map(|t| &t.view),
                notice: self.notice,
            },
            cols,
        );
        [first, second]
    }

    /// Returns the last mode update, for tests.
    pub fn mode_info(&self) -> Option<&ModeInfo> {
        self.mode_info.as_ref()
    }
}
