//! The bar in a pane one row high, Zellij's compact design: the modes as ribbons with their
//! keys after the modifier they share (` Ctrl + `), all of them in Normal and Locked mode and
//! the current one in the others; then, in Normal and Locked mode, the keys of a new pane,
//! moving focus, resizing and the floating panes on the right (` Alt + <n> New Pane ...`);
//! in the other modes a separator (naming the search and rename modes) and the mode's hints,
//! each a key and a ribbon.
//!
//! Zellij draws this row with its UI components (text and ribbons that its server styles from
//! the theme); the styles here are the ones the server gives them. As the row narrows, the
//! mode ribbons keep only their keys, then go; the keys on the right take short names, then
//! give way to `...`; the hints take short names, then as many as fit are kept, followed by
//! ` ... `. Widths are display widths throughout, as Zellij counts them for this row.

use bar_style::{text_width, Line, Style};
use zellij_tile::prelude::actions::Action;
use zellij_tile::prelude::{
    BareKey, Direction, InputMode, KeyModifier, KeyWithModifier, ModeInfo, PaletteColor, Resize,
    Styling,
};

use crate::hints::{
    break_left_right, enter_search_hints, focus_keys, hint, new_pane, new_tab, notice_line,
    resize_hints, search_hints, switch_location, tab_focus_keys, tmux_hints, Hint, ModeBindings,
    Notice, TabView,
};
use crate::keys::{common_modifiers, keys_for, keys_for_each, modifier_text, shown_key, Keymap};
use crate::modes::ARROW;
use crate::Colors;

/// What follows the hints that did not all fit.
const MORE: &str = " ... ";

/// How Zellij's server draws the row's pieces, from the theme.
#[derive(Debug, Clone, Copy)]
struct Painter {
    styling: Styling,
    /// Whether ribbons end in arrow glyphs (not in the simplified UI).
    arrows: bool,
}

impl Painter {
    /// Returns the bar's background.
    fn background(&self) -> PaletteColor {
        self.styling.text_unselected.background
    }

    /// Draws opaque text: bold on the bar's background, the characters `emphasised` accepts
    /// (by index) in `emphasis`, the others in the text colour.
    fn text(
        &self,
        line: &mut Line,
        text: &str,
        emphasis: PaletteColor,
        emphasised: impl Fn(usize) -> bool,
    ) {
        let plain = Style::new(self.styling.text_unselected.base, self.background()).bold();
        for (i, c) in text.chars().enumerate() {
            let style = if emphasised(i) {
                plain.with_fg(emphasis)
            } else {
                plain
            };
            line.push(c.encode_utf8(&mut [0; 4]), style);
        }
    }

    /// Draws a ribbon: ` text ` bold on the ribbon's colour (the selected ribbon's when
    /// `selected`), the characters `emphasised` accepts in its first emphasis colour, between
    /// arrow glyphs.
    fn ribbon(
        &self,
        line: &mut Line,
        text: &str,
        selected: bool,
        emphasised: impl Fn(usize) -> bool,
    ) {
        let ribbon = if selected {
            self.styling.ribbon_selected
        } else {
            self.styling.ribbon_unselected
        };
        let body = Style::new(ribbon.base, ribbon.background).bold();
        if self.arrows {
            line.push(
                ARROW,
                Style::new(self.background(), ribbon.background).bold(),
            );
        }
        line.push(" ", body);
        for (i, c) in text.chars().enumerate() {
            let style = if emphasised(i) {
                body.with_fg(ribbon.emphasis_0)
            } else {
                body
            };
            line.push(c.encode_utf8(&mut [0; 4]), style);
        }
        line.push(" ", body);
        if self.arrows {
            line.push(
                ARROW,
                Style::new(ribbon.background, self.background()).bold(),
            );
        }
    }

    /// Draws `keys` as one group before a ribbon: ` Alt <n|f> ` with the shared modifier and
    /// the keys in `emphasis`, or ` Ctrl g ` whole in it for one key or none shared.
    fn key_group(&self, line: &mut Line, keys: &[KeyWithModifier], emphasis: PaletteColor) {
        let common = common_modifiers(keys.iter());
        if common.is_empty() || keys.len() == 1 {
            let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let text = format!(" {} ", join_keys(&names, &SEAMLESS));
            self.text(line, &text, emphasis, |_| true);
            return;
        }
        let modifiers = modifier_text(&common);
        let names: Vec<String> = keys
            .iter()
            .map(|key| key.strip_common_modifiers(&common).to_string())
            .collect();
        let joined = join_keys(&names, &SEAMLESS);
        let text = format!(" {modifiers} <{joined}> ");
        let modifiers_end = text_width(&modifiers) + 1;
        let keys_start = modifiers_end + 2;
        let keys_end = keys_start + text_width(&joined);
        self.text(line, &text, emphasis, |i| {
            i < modifiers_end || (keys_start..keys_end).contains(&i)
        });
    }

    /// Draws a key group in the text's emphasis `emphasis` and a ribbon named `name`; nothing
    /// without keys.
    fn keys_then_ribbon(
        &self,
        line: &mut Line,
        keys: &[KeyWithModifier],
        name: &str,
        selected: bool,
        emphasis: usize,
    ) {
        if keys.is_empty() {
            return;
        }
        self.key_group(line, keys, self.text_emphasis(emphasis));
        self.ribbon(line, name, selected, |_| false);
    }

    /// Draws a ribbon `<keys> name`, its keys emphasised; nothing without keys.
    fn ribbon_with_keys(
        &self,
        line: &mut Line,
        keys: &[KeyWithModifier],
        name: &str,
        selected: bool,
    ) {
        if keys.is_empty() {
            return;
        }
        let names: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let joined = join_keys(&names, &SEAMLESS_IN_RIBBONS);
        let keys_end = text_width(&joined) + 1;
        self.ribbon(line, &format!("<{joined}> {name}"), selected, |i| {
            (1..keys_end).contains(&i)
        });
    }

    /// Draws a ribbon holding only a key, emphasised; nothing without one.
    fn key_ribbon(&self, line: &mut Line, key: Option<&KeyWithModifier>, selected: bool) {
        if let Some(key) = key {
            self.ribbon(line, &key.to_string(), selected, |_| true);
        }
    }

    /// Returns one of the text's emphasis colours (0 to 3).
    fn text_emphasis(&self, index: usize) -> PaletteColor {
        let text = self.styling.text_unselected;
        match index {
            0 => text.emphasis_0,
            1 => text.emphasis_1,
            2 => text.emphasis_2,
            _ => text.emphasis_3,
        }
    }
}

/// Groups of keys written together, without `|` between them.
const SEAMLESS: [&str; 6] = ["HJKL", "hjkl", "←↓↑→", "←→", "↓↑", "[]"];

/// The same inside a ribbon, where `+-` joins them too.
const SEAMLESS_IN_RIBBONS: [&str; 7] = ["HJKL", "hjkl", "←↓↑→", "←→", "↓↑", "[]", "+-"];

/// Returns key names joined with `|`, or with nothing when they form a known run.
fn join_keys(names: &[String], seamless: &[&str]) -> String {
    let separator = if seamless.contains(&names.concat().as_str()) {
        ""
    } else {
        "|"
    };
    names.join(separator)
}

/// A mode's ribbon at the start of the row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModeTile {
    name: &'static str,
    short: &'static str,
    selected: bool,
    key: Option<KeyWithModifier>,
}

/// Returns the mode ribbons the row shows in `mode`, each with the key that leaves for its
/// mode (or, for the current one, back to Normal): all of them in Normal mode, the lock's in
/// Locked mode, the current one in the others (after the lock's, selected and named UNLOCK,
/// when Locked is the base mode). Nothing for the modes without a ribbon of their own
/// (search, renaming, tmux).
fn mode_tiles(mode_info: &ModeInfo, mode: InputMode, locked_base: bool) -> Option<Vec<ModeTile>> {
    let binds = mode_info.get_keybinds_for_mode(mode);
    let key_to = |input_mode| shown_key(keys_for(&binds, &[Action::SwitchToMode { input_mode }]));
    let tile = |name, short, selected, key| ModeTile {
        name,
        short,
        selected,
        key,
    };
    let (lock, lock_short) = if locked_base {
        ("UNLOCK", "Un")
    } else {
        ("LOCK", "Lo")
    };
    let (name, short) = match mode {
        InputMode::Locked => {
            return Some(vec![tile(
                lock,
                lock_short,
                !locked_base,
                key_to(InputMode::Normal),
            )])
        }
        InputMode::Normal => {
            return Some(vec![
                tile(lock, lock_short, locked_base, key_to(InputMode::Locked)),
                tile("PANE", "Pa", false, key_to(InputMode::Pane)),
                tile("TAB", "Ta", false, key_to(InputMode::Tab)),
                tile("RESIZE", "Re", false, key_to(InputMode::Resize)),
                tile("MOVE", "Mo", false, key_to(InputMode::Move)),
                tile("SEARCH", "Se", false, key_to(InputMode::Scroll)),
                tile("SESSION", "Se", false, key_to(InputMode::Session)),
                tile(
                    "QUIT",
                    "Qu",
                    false,
                    shown_key(keys_for(&binds, &[Action::Quit])),
                ),
            ])
        }
        InputMode::Pane => ("PANE", "Pa"),
        InputMode::Tab => ("TAB", "Ta"),
        InputMode::Resize => ("RESIZE", "Re"),
        InputMode::Move => ("MOVE", "Mo"),
        InputMode::Scroll => ("SEARCH", "Se"),
        InputMode::Session => ("SESSION", "Se"),
        InputMode::EnterSearch
        | InputMode::Search
        | InputMode::RenameTab
        | InputMode::RenamePane
        | InputMode::Prompt
        | InputMode::Tmux => return None,
    };
    let mut tiles = Vec::new();
    if locked_base {
        tiles.push(tile(lock, lock_short, true, key_to(InputMode::Locked)));
    }
    tiles.push(tile(name, short, true, key_to(InputMode::Normal)));
    Some(tiles)
}

/// The modes that have ribbons of their own.
const TILED_MODES: [InputMode; 8] = [
    InputMode::Locked,
    InputMode::Normal,
    InputMode::Pane,
    InputMode::Tab,
    InputMode::Resize,
    InputMode::Move,
    InputMode::Scroll,
    InputMode::Session,
];

/// Returns the modifiers every mode ribbon's key has, in every mode: named once at the start
/// of the row. Nothing when a ribbon has no key or none is shared.
fn shared_modifiers(mode_info: &ModeInfo, locked_base: bool) -> Option<Vec<KeyModifier>> {
    let mut keys = Vec::new();
    for mode in TILED_MODES {
        for tile in mode_tiles(mode_info, mode, locked_base).unwrap_or_default() {
            keys.push(tile.key?);
        }
    }
    let common = common_modifiers(keys.iter());
    (!common.is_empty()).then_some(common)
}

/// Returns the mode ribbons, or nothing when even the shared modifier does not fit in
/// `width`.
fn mode_ribbons(painter: &Painter, mode_info: &ModeInfo, width: usize) -> Option<Line> {
    let locked_base = mode_info.base_mode == Some(InputMode::Locked);
    let tiles = mode_tiles(mode_info, mode_info.mode, locked_base);
    let mut line = Line::default();
    match (shared_modifiers(mode_info, locked_base), tiles) {
        (_, None) => {}
        (Some(shared), Some(tiles)) => {
            // The simplified UI has no separator glyph, so a space takes its place.
            let prefix = if painter.arrows {
                format!(" {} +", modifier_text(&shared))
            } else {
                format!(" {} + ", modifier_text(&shared))
            };
            painter.text(
                &mut line,
                &prefix,
                painter.styling.text_unselected.base,
                |_| false,
            );
            if painter.arrows {
                // Zellij writes the glyph with colours alone, so it keeps the text's bold.
                let background = painter.background();
                line.push(ARROW, Style::new(background, background).bold());
            }
            let stripped: Vec<(&ModeTile, Option<KeyWithModifier>)> = tiles
                .iter()
                .map(|t| (t, t.key.as_ref().map(|k| k.strip_common_modifiers(&shared))))
                .collect();
            let mut full = Line::default();
            for (tile, key) in &stripped {
                let keys: Vec<KeyWithModifier> = key.iter().cloned().collect();
                painter.ribbon_with_keys(&mut full, &keys, tile.name, tile.selected);
            }
            if line.width() + full.width() <= width {
                line.append(&full);
            } else {
                let mut keys_only = Line::default();
                for (tile, key) in &stripped {
                    painter.key_ribbon(&mut keys_only, key.as_ref(), tile.selected);
                }
                if line.width() + keys_only.width() <= width {
                    line.append(&keys_only);
                }
            }
        }
        (None, Some(tiles)) => {
            let with_names = |short: bool| {
                let mut part = Line::default();
                for tile in &tiles {
                    let keys: Vec<KeyWithModifier> = tile.key.iter().cloned().collect();
                    let name = if short { tile.short } else { tile.name };
                    painter.keys_then_ribbon(&mut part, &keys, name, tile.selected, 3);
                }
                part
            };
            let full = with_names(false);
            if full.width() <= width {
                line.append(&full);
            } else {
                let short = with_names(true);
                if short.width() <= width {
                    line.append(&short);
                }
            }
        }
    }
    (line.width() <= width).then_some(line)
}

/// One of the ribbons on the right of the row in Normal and Locked mode.
struct QuickKey {
    long: &'static str,
    short: &'static str,
    /// The key it names (none, one, or the four of moving focus, the two of resizing).
    keys: Vec<KeyWithModifier>,
    shown: bool,
    selected: bool,
}

impl QuickKey {
    fn new(long: &'static str, short: &'static str, keys: Vec<KeyWithModifier>) -> QuickKey {
        QuickKey {
            long,
            short,
            keys,
            shown: true,
            selected: false,
        }
    }
}

/// Returns the first of `keys` that `preferred` accepts, else the first.
fn preferred_key(
    keys: &[KeyWithModifier],
    preferred: impl Fn(&KeyWithModifier) -> bool,
) -> Option<KeyWithModifier> {
    keys.iter().find(|k| preferred(k)).or(keys.first()).cloned()
}

/// Returns the Normal and Locked modes' keys on the right of the row, right-aligned with a
/// column free at the end, or nothing when they do not fit in `width`.
fn quick_keys(
    painter: &Painter,
    keymap: &Keymap,
    tab: Option<&TabView>,
    width: usize,
) -> Option<Line> {
    let alt = |c| KeyWithModifier::new(BareKey::Char(c)).with_alt_modifier();
    let new_pane_keys = keys_for(keymap, &[new_pane(None)]);
    let new_pane: Vec<KeyWithModifier> = preferred_key(&new_pane_keys, |k| *k == alt('n'))
        .into_iter()
        .collect();
    let resize = |resize| Action::Resize {
        resize,
        direction: None,
    };
    let increase = keys_for(keymap, &[resize(Resize::Increase)]);
    let decrease = keys_for(keymap, &[resize(Resize::Decrease)]);
    let is_char = |c| move |k: &KeyWithModifier| k.bare_key == BareKey::Char(c);
    let mut resize_keys: Vec<KeyWithModifier> =
        preferred_key(&increase, is_char('+')).into_iter().collect();
    // Where nothing decreases with `-`, Zellij shows the first key that increases.
    let decrease_key = decrease
        .iter()
        .find(|k| is_char('-')(k))
        .or(increase.first())
        .cloned();
    resize_keys.extend(decrease_key);
    let focus_key = |action: Action, bare: BareKey| {
        preferred_key(&keys_for(keymap, &[action]), |k| k.bare_key == bare)
    };
    let focus: Vec<KeyWithModifier> = [
        focus_key(
            Action::MoveFocusOrTab {
                direction: Direction::Left,
            },
            BareKey::Left,
        ),
        focus_key(
            Action::MoveFocus {
                direction: Direction::Down,
            },
            BareKey::Down,
        ),
        focus_key(
            Action::MoveFocus {
                direction: Direction::Up,
            },
            BareKey::Up,
        ),
        focus_key(
            Action::MoveFocusOrTab {
                direction: Direction::Right,
            },
            BareKey::Right,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let floating_keys = keys_for(keymap, &[Action::ToggleFloatingPanes]);
    let floating: Vec<KeyWithModifier> = preferred_key(&floating_keys, |k| *k == alt('f'))
        .into_iter()
        .collect();
    let floating_visible = tab.is_some_and(|t| t.floating_visible);
    let focus_shown = tab.is_some_and(|t| t.several_panes);

    let quick = [
        QuickKey::new("New Pane", "New", new_pane),
        QuickKey {
            shown: focus_shown,
            ..QuickKey::new("Change Focus", "Focus", focus)
        },
        QuickKey {
            shown: focus_shown,
            ..QuickKey::new("Resize", "Resize", resize_keys)
        },
        QuickKey {
            selected: floating_visible,
            ..QuickKey::new("Floating", "Floating", floating)
        },
    ];
    // The modifier is shared by all the keys, those of the hidden ribbons too.
    let shared = common_modifiers(quick.iter().flat_map(|q| q.keys.iter()));
    let names_of = |short: bool| {
        let mut line = Line::default();
        if !shared.is_empty() {
            let emphasis = painter.styling.text_unselected.emphasis_0;
            let modifiers = format!("{} + ", modifier_text(&shared));
            painter.text(&mut line, &modifiers, emphasis, |_| true);
        }
        for q in quick.iter().filter(|q| q.shown) {
            let name = if short { q.short } else { q.long };
            if shared.is_empty() {
                painter.keys_then_ribbon(&mut line, &q.keys, name, q.selected, 0);
            } else {
                let stripped: Vec<KeyWithModifier> = q
                    .keys
                    .iter()
                    .map(|k| k.strip_common_modifiers(&shared))
                    .collect();
                painter.ribbon_with_keys(&mut line, &stripped, name, q.selected);
            }
        }
        line
    };
    let keys = [names_of(false), names_of(true)]
        .into_iter()
        .find(|line| line.width() <= width)
        .unwrap_or_else(|| {
            let mut line = Line::default();
            if width >= 3 {
                let emphasis = painter.styling.text_unselected.emphasis_0;
                painter.text(&mut line, &format!("{:>width$}", "..."), emphasis, |_| true);
            }
            line
        });
    let padding = width.saturating_sub(keys.width()).saturating_sub(1);
    let mut line = Line::default();
    let plain = Style::new(painter.styling.text_unselected.base, painter.background()).bold();
    line.push(&" ".repeat(padding), plain);
    line.append(&keys);
    (line.width() <= width).then_some(line)
}

/// Returns the separator between the current mode's ribbon and its hints (naming the search
/// and rename modes), or nothing when it does not fit in `width`.
fn hints_separator(painter: &Painter, mode: InputMode, width: usize) -> Option<Line> {
    let arrow = if painter.arrows { ARROW } else { " " };
    let edge = painter.styling.text_unselected.emphasis_0;
    let fill = painter.styling.ribbon_selected.base;
    let mut line = Line::default();
    let name = match mode {
        InputMode::RenamePane => Some("RENAMING PANE"),
        InputMode::RenameTab => Some("RENAMING TAB"),
        InputMode::EnterSearch => Some("ENTERING SEARCH TERM"),
        InputMode::Search => Some("SEARCHING"),
        _ => None,
    };
    if let Some(name) = name {
        line.push(&format!(" {name} "), Style::new(edge, fill).bold());
    }
    line.push(arrow, Style::new(fill, edge).bold());
    line.push(" ", Style::new(edge, edge).bold());
    line.push(arrow, Style::new(edge, fill).bold());
    (line.width() <= width).then_some(line)
}

/// Returns the first key in `km` whose binding starts with `action`.
fn first_starting_with(km: &Keymap, action: &Action) -> Vec<KeyWithModifier> {
    km.iter()
        .find(|(_, actions)| actions.first() == Some(action))
        .map(|(key, _)| key.clone())
        .into_iter()
        .collect()
}

/// Returns the first key in `km` that opens or focuses the plugin at `url`.
fn plugin_key(km: &Keymap, url: &str) -> Vec<KeyWithModifier> {
    km.iter()
        .find(|(_, actions)| actions.iter().any(|a| a.launches_plugin(url)))
        .map(|(key, _)| key.clone())
        .into_iter()
        .collect()
}

/// Returns the hints of a mode other than Normal and Locked as the one-row bar shows them.
///
/// Where several keys do the same thing the one shown is the first in key order; many hints
/// take the first key whose binding starts with the action, whatever follows it. Going back
/// to the base mode prefers Enter. The modes the two bars show alike take their lists from
/// [`crate::hints`].
pub fn row_hints(mode_info: &ModeInfo) -> Vec<Hint> {
    use Action as A;
    use InputMode as IM;

    let keymap = mode_info.get_mode_keybinds();
    let b = ModeBindings::new(&keymap, mode_info.base_mode.unwrap_or(IM::Normal));
    let km = b.km();
    let first = |action: Action| first_starting_with(km, &action);
    let to_mode = |input_mode| A::SwitchToMode { input_mode };

    match mode_info.mode {
        IM::Pane => vec![
            hint("New", "New", first(new_pane(None))),
            hint("Change Focus", "Move", focus_keys(km)),
            hint("Close", "Close", first(A::CloseFocus)),
            hint("Rename", "Rename", first(to_mode(IM::RenamePane))),
            hint(
                "Toggle Fullscreen",
                "Fullscreen",
                first(A::ToggleFocusFullscreen),
            ),
            hint("Toggle Floating", "Floating", first(A::ToggleFloatingPanes)),
            hint("Toggle Embed", "Embed", first(A::TogglePaneEmbedOrFloating)),
            hint(
                "Split Right",
                "Right",
                first(new_pane(Some(Direction::Right))),
            ),
            hint("Split Down", "Down", first(new_pane(Some(Direction::Down)))),
            hint(
                "Stack",
                "Stack",
                first(A::NewStackedPane {
                    command: None,
                    pane_name: None,
                    near_current_pane: false,
                    no_focus: false,
                    tab_id: None,
                }),
            ),
            b.select_pane(),
        ],
        IM::Tab => vec![
            hint("New", "New", first(new_tab())),
            hint("Change focus", "Move", tab_focus_keys(&b)),
            hint("Close", "Close", first(A::CloseTab)),
            hint("Rename", "Rename", first(to_mode(IM::RenameTab))),
            hint("Sync", "Sync", first(A::ToggleActiveSyncTab)),
            hint("Break pane to new tab", "Break out", first(A::BreakPane)),
            break_left_right(&b),
            hint("Toggle", "Toggle", first(A::ToggleTab)),
            b.select_pane(),
        ],
        IM::Resize => resize_hints(&b),
        IM::Move => vec![
            switch_location(&b),
            hint("When done", "Back", b.back.clone()),
        ],
        IM::Scroll => vec![
            hint("Enter search term", "Search", b.enter_search()),
            hint(
                "Scroll",
                "Scroll",
                keys_for_each(
                    km,
                    &[
                        &[A::ScrollDown],
                        &[A::ScrollUp],
                        &[A::PageScrollDown],
                        &[A::PageScrollUp],
                        &[A::HalfPageScrollDown],
                        &[A::HalfPageScrollUp],
                    ],
                ),
            ),
            hint(
                "Edit scrollback in default editor",
                "Edit",
                first(A::EditScrollback { ansi: false }),
            ),
            b.select_pane(),
            hint(
                "Scroll commands",
                "Commands",
                b.pair(A::ScrollToPreviousPrompt, A::ScrollToNextPrompt),
            ),
        ],
        IM::EnterSearch => enter_search_hints(&b),
        IM::Search => search_hints(&b),
        IM::Session => vec![
            hint("Detach", "Detach", keys_for(km, &[A::Detach])),
            hint(
                "Session Manager",
                "Manager",
                plugin_key(km, "session-manager"),
            ),
            hint("Share", "Share", plugin_key(km, "zellij:share")),
            hint("Configure", "Config", plugin_key(km, "configuration")),
            hint(
                "Layout Manager",
                "Layouts",
                plugin_key(km, "zellij:layout-manager"),
            ),
            hint(
                "Plugin Manager",
                "Plugins",
                plugin_key(km, "plugin-manager"),
            ),
            hint("About", "About", plugin_key(km, "zellij:about")),
            b.select_pane(),
        ],
        IM::Tmux => tmux_hints(&b),
        IM::RenamePane | IM::RenameTab => vec![hint("When done", "Done", b.back.clone())],
        IM::Normal | IM::Locked | IM::Prompt => vec![],
    }
}

/// Returns the hints with their long or short names, each a key group and a ribbon.
fn hints_row(painter: &Painter, hints: &[Hint], short: bool) -> Line {
    let mut line = Line::default();
    for h in hints {
        let name = if short { h.short } else { h.long };
        painter.keys_then_ribbon(&mut line, &h.keys, name, false, 2);
    }
    line
}

/// Returns the mode's hints in the widest form that fits in `width`: long names, short
/// names, or as many short ones as fit followed by ` ... `.
fn mode_hints(painter: &Painter, mode_info: &ModeInfo, width: usize) -> Line {
    let hints = row_hints(mode_info);
    for short in [false, true] {
        let line = hints_row(painter, &hints, short);
        if line.width() <= width {
            return line;
        }
    }
    let mut line = Line::default();
    for h in &hints {
        let mut next = Line::default();
        painter.keys_then_ribbon(&mut next, &h.keys, h.short, false, 2);
        if line.width() + next.width() + MORE.len() > width {
            line.push(MORE, Style::default());
            break;
        }
        line.append(&next);
    }
    line
}

/// What the row is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct OneLine<'a> {
    pub mode_info: &'a ModeInfo,
    pub colors: &'a Colors,
    /// The active tab, once the tabs are known.
    pub tab: Option<&'a TabView>,
    pub notice: Option<Notice>,
}

/// Returns the row for `width` columns.
pub fn one_line(input: OneLine<'_>, width: usize) -> Line {
    let OneLine {
        mode_info,
        colors,
        tab,
        notice,
    } = input;
    if let Some(line) = notice_line(mode_info, colors, notice, width) {
        return line;
    }
    let painter = Painter {
        styling: colors.styling,
        arrows: !mode_info.capabilities.arrow_fonts,
    };
    let Some(mut line) = mode_ribbons(&painter, mode_info, width) else {
        return Line::default();
    };
    let rest = width.saturating_sub(line.width());
    match mode_info.mode {
        InputMode::Normal | InputMode::Locked => {
            let keymap = mode_info.get_mode_keybinds();
            if let Some(keys) = quick_keys(&painter, &keymap, tab, rest) {
                line.append(&keys);
            }
        }
        mode => {
            if let Some(separator) = hints_separator(&painter, mode, rest) {
                let rest = rest - separator.width();
                line.append(&separator);
                line.append(&mode_hints(&painter, mode_info, rest));
            }
        }
    }
    line
}
