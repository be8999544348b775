//! The first line: the modes as ribbons with their keys (` <p> PANE `), the current one
//! highlighted, all but the lock disabled while locked, the modifier they share named once on
//! the left (` Ctrl + `), and the tab's swap layout with its keys on the right.
//!
//! When the line does not fit it keeps the ribbons with shortened modifiers (`^C`), then the
//! keys alone, then nothing; the swap layout drops its keys, then goes.

use bar_style::{Line, Style};
use zellij_tile::prelude::actions::Action;
use zellij_tile::prelude::{InputMode, KeyModifier, KeyWithModifier, Styling};

use crate::keys::{
    common_modifiers, key_group, keys_for, keys_for_each, mode_switch_keys, modifier_text,
    shown_key, Keymap, Part, TO_NORMAL,
};
use crate::Colors;

/// The ribbon separator of fonts with powerline glyphs.
pub const ARROW: &str = "\u{e0b0}";

/// What the first line needs to know about the active tab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwapLayout {
    /// The active swap layout's name.
    pub name: Option<String>,
    /// Whether the user moved panes out of it.
    pub dirty: bool,
}

/// The ribbons the first line is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Unselected,
    Alternate,
    Selected,
    Disabled,
}

/// The styles of one ribbon's pieces.
#[derive(Debug, Clone, Copy)]
struct RibbonStyle {
    prefix: Style,
    brackets: Style,
    key: Style,
    text: Style,
    suffix: Style,
}

/// The styles of the whole line, from the theme.
#[derive(Debug, Clone, Copy)]
pub struct Ribbons {
    selected: RibbonStyle,
    unselected: RibbonStyle,
    alternate: RibbonStyle,
    disabled: RibbonStyle,
    /// The shared modifier's text and the padding.
    plain: Style,
    /// The separator after the shared modifier.
    plain_separator: Style,
}

impl Ribbons {
    /// Returns the line's styles for a theme; with the simplified UI (no arrow glyphs) every
    /// other ribbon takes another colour, since no separators tell them apart.
    pub fn of(styling: &Styling, simplified_ui: bool) -> Ribbons {
        let background = styling.text_unselected.background;
        let ribbon = |decl: zellij_tile::prelude::StyleDeclaration| RibbonStyle {
            prefix: Style::new(background, decl.background),
            brackets: Style::new(decl.base, decl.background).bold(),
            key: Style::new(decl.emphasis_0, decl.background).bold(),
            text: Style::new(decl.base, decl.background).bold(),
            suffix: Style::new(decl.background, background).bold(),
        };
        let unselected = styling.ribbon_unselected;
        let alternate_background = if simplified_ui {
            unselected.base
        } else {
            unselected.background
        };
        let disabled_text = Style::new(unselected.base, unselected.background)
            .dim()
            .italic();
        Ribbons {
            selected: ribbon(styling.ribbon_selected),
            unselected: ribbon(unselected),
            alternate: RibbonStyle {
                prefix: Style::new(background, alternate_background),
                brackets: Style::new(background, alternate_background).bold(),
                key: Style::new(unselected.emphasis_0, alternate_background).bold(),
                text: Style::new(unselected.base, alternate_background).bold(),
                suffix: Style::new(alternate_background, background).bold(),
            },
            disabled: RibbonStyle {
                prefix: Style::new(background, unselected.background),
                brackets: disabled_text,
                key: disabled_text,
                text: disabled_text,
                suffix: Style::new(unselected.background, background),
            },
            plain: Style::new(styling.text_unselected.base, background).bold(),
            plain_separator: Style::new(background, background),
        }
    }

    fn of_look(&self, look: Look) -> RibbonStyle {
        match look {
            Look::Unselected => self.unselected,
            Look::Alternate => self.alternate,
            Look::Selected => self.selected,
            Look::Disabled => self.disabled,
        }
    }
}

/// One mode's ribbon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub look: Look,
    pub name: &'static str,
    pub key: Option<KeyWithModifier>,
}

/// How much of each ribbon is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// ` <p> PANE `
    Full,
    /// ` <^C p> PANE `: modifiers the ribbons do not share, shortened.
    ShortModifiers,
    /// ` p `
    KeyOnly,
}

/// Returns the ribbons of the line for a mode and its keymap.
pub fn tiles(mode: InputMode, keymap: &Keymap) -> Vec<Tile> {
    let key_to = |mode| {
        shown_key(keys_for(
            keymap,
            &[Action::SwitchToMode { input_mode: mode }],
        ))
    };
    let tile = |look, name, key| Tile { look, name, key };
    let mut tiles = vec![
        tile(Look::Unselected, "LOCK", key_to(InputMode::Locked)),
        tile(Look::Alternate, "PANE", key_to(InputMode::Pane)),
        tile(Look::Unselected, "TAB", key_to(InputMode::Tab)),
        tile(Look::Alternate, "RESIZE", key_to(InputMode::Resize)),
        tile(Look::Unselected, "MOVE", key_to(InputMode::Move)),
        tile(Look::Alternate, "SEARCH", key_to(InputMode::Scroll)),
        tile(Look::Unselected, "SESSION", key_to(InputMode::Session)),
        tile(
            Look::Alternate,
            "QUIT",
            shown_key(keys_for(keymap, &[Action::Quit])),
        ),
    ];
    let back = || shown_key(keys_for(keymap, &[TO_NORMAL]));
    let current = match mode {
        InputMode::Normal | InputMode::Prompt | InputMode::Tmux => None,
        InputMode::Locked => Some("LOCK"),
        InputMode::Pane | InputMode::RenamePane => Some("PANE"),
        InputMode::Tab | InputMode::RenameTab => Some("TAB"),
        InputMode::Resize => Some("RESIZE"),
        InputMode::Move => Some("MOVE"),
        InputMode::Scroll | InputMode::Search | InputMode::EnterSearch => Some("SEARCH"),
        InputMode::Session => Some("SESSION"),
    };
    if let Some(tile) = tiles.iter_mut().find(|t| Some(t.name) == current) {
        tile.look = Look::Selected;
        tile.key = back();
    }
    if mode == InputMode::Locked {
        for tile in tiles.iter_mut().skip(1) {
            tile.look = Look::Disabled;
        }
    }
    if mode == InputMode::Tmux {
        tiles.push(tile(Look::Selected, "TMUX", back()));
    }
    tiles
}

/// Returns a key as a ribbon shows it, without the modifiers the line names once.
fn key_text(key: &KeyWithModifier, common: &[KeyModifier], form: Form) -> String {
    let key = key.strip_common_modifiers(&common.to_vec());
    if form != Form::ShortModifiers || key.key_modifiers.is_empty() {
        return key.to_string();
    }
    let modifiers: Vec<&str> = key
        .key_modifiers
        .iter()
        .map(|m| match m {
            KeyModifier::Ctrl => "^C",
            KeyModifier::Alt => "^A",
            KeyModifier::Super => "^Su",
            KeyModifier::Shift => "^Sh",
        })
        .collect();
    format!("{} {}", modifiers.join("-"), key.bare_key)
}

/// Draws one ribbon; `first` leaves out its leading separator when nothing precedes it.
fn tile_part(
    tile: &Tile,
    form: Form,
    ribbons: &Ribbons,
    separator: &str,
    common: &[KeyModifier],
    first: bool,
) -> Part {
    let key = match (&tile.key, tile.look) {
        (Some(key), _) => key_text(key, common, form),
        (None, Look::Disabled) => String::new(),
        (None, _) => return Part::default(),
    };
    let style = ribbons.of_look(tile.look);
    let start = if common.is_empty() && first {
        ""
    } else {
        separator
    };
    let mut line = Line::default();
    line.push(start, style.prefix);
    if form == Form::KeyOnly {
        line.push(&format!(" {key} "), style.key);
        line.push(separator, style.suffix);
        // Counted with both separators even where the first is left out, as Zellij does.
        let len = 2 * separator.chars().count() + 2 + key.chars().count();
        return Part { line, len };
    }
    line.push(" <", style.brackets);
    line.push(&key, style.key);
    line.push("> ", style.brackets);
    line.push(&format!("{} ", tile.name), style.text);
    line.push(separator, style.suffix);
    Part::counted_in_chars(line)
}

/// Returns the shared modifier of the mode keys (` Ctrl +`) and the modifiers.
fn superkey(
    keymap: &Keymap,
    ribbons: &Ribbons,
    separator: &str,
    simplified_ui: bool,
) -> (Vec<KeyModifier>, Part) {
    let common = common_modifiers(mode_switch_keys(keymap).into_iter());
    if common.is_empty() {
        return (common, Part::default());
    }
    let text = if simplified_ui {
        format!(" {} + ", modifier_text(&common))
    } else {
        format!(" {} +", modifier_text(&common))
    };
    let mut line = Line::default();
    line.push(&text, ribbons.plain);
    line.push(separator, ribbons.plain_separator);
    (common, Part::counted_in_chars(line))
}

/// Returns the ribbons in the widest form shorter than `width`, or nothing.
fn ribbons_line(
    tiles: &[Tile],
    keymap: &Keymap,
    ribbons: &Ribbons,
    separator: &str,
    simplified_ui: bool,
    width: usize,
) -> Part {
    for form in [Form::Full, Form::ShortModifiers, Form::KeyOnly] {
        let (common, mut part) = superkey(keymap, ribbons, separator, simplified_ui);
        for tile in tiles {
            let first = part.len == 0;
            part.append(&tile_part(tile, form, ribbons, separator, &common, first));
        }
        if part.len < width {
            return part;
        }
    }
    Part::default()
}

/// Returns the swap layout's name with its keys (`Alt + <[]>  BASE `), or the name alone,
/// or nothing, whichever fits in `width`.
fn swap_layout_part(
    swap: &SwapLayout,
    mode: InputMode,
    keymap: &Keymap,
    colors: &Colors,
    ribbons: &Ribbons,
    separator: &str,
    width: usize,
) -> Option<Part> {
    let name = format!(" {} ", swap.name.as_ref()?).to_ascii_uppercase();
    // Two separators and a cell left free at the screen's end, counted in bytes.
    let name_len = name.len() + 3;
    let style = if mode == InputMode::Locked {
        ribbons.disabled
    } else if swap.dirty {
        ribbons.unselected
    } else {
        ribbons.selected
    };
    let mut indicator = Line::default();
    indicator.push(separator, style.prefix);
    indicator.push(&name, style.text);
    indicator.push(separator, style.suffix);
    if mode == InputMode::Locked {
        return (name_len <= width).then_some(Part {
            line: indicator,
            len: name_len,
        });
    }
    let keys = keys_for_each(
        keymap,
        &[&[Action::PreviousSwapLayout], &[Action::NextSwapLayout]],
    );
    let keycode = key_group(&keys, colors, Some(colors.background));
    let full_len = keycode.len + name_len + 1;
    if full_len <= width {
        let mut line = keycode.line;
        line.push(" ", ribbons.plain);
        line.append(&indicator);
        line.push(" ", ribbons.plain);
        Some(Part {
            line,
            len: full_len,
        })
    } else if name_len < width {
        Some(Part {
            line: indicator,
            len: name_len + 1,
        })
    } else {
        None
    }
}

/// What the first line is drawn from.
#[derive(Debug, Clone, Copy)]
pub struct FirstLine<'a> {
    pub mode: InputMode,
    /// The current mode's bindings.
    pub keymap: &'a Keymap,
    pub colors: &'a Colors,
    /// Zellij's simplified UI: no arrow glyphs.
    pub simplified_ui: bool,
    /// The active tab's swap layout, once the tabs are known.
    pub swap_layout: Option<&'a SwapLayout>,
}

/// Returns the first line for `width` columns.
pub fn first_line(input: FirstLine<'_>, width: usize) -> Line {
    let separator = if input.simplified_ui { "" } else { ARROW };
    let ribbons = Ribbons::of(&input.colors.styling, input.simplified_ui);
    let tiles = tiles(input.mode, input.keymap);
    let mut part = ribbons_line(
        &tiles,
        input.keymap,
        &ribbons,
        separator,
        input.simplified_ui,
        width,
    );
    if part.len < width {
        if let Some(swap) = input.swap_layout {
            let free = width - part.len;
            if let Some(swap) = swap_layout_part(
                swap,
                input.mode,
                input.keymap,
                input.colors,
                &ribbons,
                separator,
                free,
            ) {
                part.line.push(&" ".repeat(free - swap.len), ribbons.plain);
                part.append(&swap);
            }
        }
    }
    part.line
}
