//! Finding the keys bound to actions in a mode's keymap, and drawing a group of keys the way
//! Zellij's status bar does: `Ctrl + <p|t>`, `Alt + <←↓↑→>`, `<ENTER>`.

use bar_style::{Line, Style};
use zellij_tile::prelude::actions::Action;
use zellij_tile::prelude::{BareKey, InputMode, KeyModifier, KeyWithModifier, PaletteColor};

use crate::Colors;

/// One mode's bindings, in the order the server sent them.
pub type Keymap = [(KeyWithModifier, Vec<Action>)];

/// The action that goes back to Normal mode.
pub const TO_NORMAL: Action = Action::SwitchToMode {
    input_mode: InputMode::Normal,
};

/// A styled piece of a line and its length as Zellij's status bar counts it when it decides
/// what fits: some of its pieces count characters, others bytes (an arrow key counts three),
/// and which form it picks follows from those counts, so they are kept as it keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    pub line: Line,
    pub len: usize,
}

impl Part {
    /// Returns a part whose length is its text's byte length.
    pub fn counted_in_bytes(line: Line) -> Part {
        let len = line.plain_text().len();
        Part { line, len }
    }

    /// Returns a part whose length is its text's character count.
    pub fn counted_in_chars(line: Line) -> Part {
        let len = line.plain_text().chars().count();
        Part { line, len }
    }

    /// Appends `other`, adding its length.
    pub fn append(&mut self, other: &Part) {
        self.line.append(&other.line);
        self.len += other.len;
    }
}

/// Returns the keys bound to exactly the action sequence `actions` (a new tab or a plugin
/// launch matches whatever its details), in keymap order.
pub fn keys_for(keymap: &Keymap, actions: &[Action]) -> Vec<KeyWithModifier> {
    keymap
        .iter()
        .filter(|(_, bound)| {
            bound.len() == actions.len() && bound.iter().zip(actions).all(|(a, b)| a.shallow_eq(b))
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// Returns the keys bound to each of `sequences`, one sequence after the other.
pub fn keys_for_each(keymap: &Keymap, sequences: &[&[Action]]) -> Vec<KeyWithModifier> {
    sequences
        .iter()
        .flat_map(|actions| keys_for(keymap, actions))
        .collect()
}

/// Whether `key` is one of the keys every mode uses to go back (Enter, Space, Esc), which
/// say nothing about the mode.
fn is_generic_return(key: &KeyWithModifier) -> bool {
    matches!(
        key.bare_key,
        BareKey::Enter | BareKey::Esc | BareKey::Char(' ')
    )
}

/// Returns the key to show for a mode: the first that is not Enter, Space or Esc, else the
/// first.
pub fn shown_key(keys: Vec<KeyWithModifier>) -> Option<KeyWithModifier> {
    keys.iter()
        .find(|key| !is_generic_return(key))
        .or(keys.first())
        .cloned()
}

/// Returns the modifiers every key in `keys` has, in Zellij's order (Ctrl, Alt, Shift, Super).
pub fn common_modifiers<'a>(
    mut keys: impl Iterator<Item = &'a KeyWithModifier>,
) -> Vec<KeyModifier> {
    let Some(first) = keys.next() else {
        return Vec::new();
    };
    let mut common = first.key_modifiers.clone();
    for key in keys {
        common.retain(|m| key.key_modifiers.contains(m));
    }
    common.into_iter().collect()
}

/// Returns modifiers as Zellij's bar joins them (`Ctrl-Alt`).
pub fn modifier_text(modifiers: &[KeyModifier]) -> String {
    modifiers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("-")
}

/// Returns the keys bound to a mode switch or to quitting in this mode, leaving out the
/// generic ways back: the keys whose shared modifier the first line names once (`Ctrl +`).
pub fn mode_switch_keys(keymap: &Keymap) -> Vec<&KeyWithModifier> {
    keymap
        .iter()
        .filter(|(key, actions)| {
            !is_generic_return(key)
                && match actions.first() {
                    Some(Action::SwitchToMode { input_mode }) => matches!(
                        input_mode,
                        InputMode::Normal
                            | InputMode::Locked
                            | InputMode::Pane
                            | InputMode::Tab
                            | InputMode::Resize
                            | InputMode::Move
                            | InputMode::Scroll
                            | InputMode::Session
                    ),
                    Some(Action::Quit) => true,
                    _ => false,
                }
        })
        .map(|(key, _)| key)
        .collect()
}

/// Groups whose keys are written together, without `|` between them.
const SEAMLESS_GROUPS: [&str; 6] = ["HJKL", "hjkl", "←↓↑→", "←→", "↓↑", "[]"];

/// Draws `keys` as one group: their shared modifiers once (`Alt + `), then the keys in angle
/// brackets, `|` between them unless they form a known run (`hjkl`, the arrows, `[]`). Keys
/// are green and bold, modifiers orange and bold, the rest in the text colour; `background`
/// sets the cells' background (the terminal's own without it). Its length counts bytes.
pub fn key_group(
    keys: &[KeyWithModifier],
    colors: &Colors,
    background: Option<PaletteColor>,
) -> Part {
    let mut line = Line::default();
    if keys.is_empty() {
        return Part::default();
    }
    let on = |fg: PaletteColor| Style {
        fg: Some(fg),
        bg: background,
        ..Style::default()
    };
    let common = common_modifiers(keys.iter());
    if !common.is_empty() {
        line.push(&modifier_text(&common), on(colors.orange).bold());
    }
    line.push(
        if common.is_empty() { "<" } else { " + <" },
        on(colors.text),
    );
    let names: Vec<String> = keys
        .iter()
        .map(|key| key.strip_common_modifiers(&common).to_string())
        .collect();
    let seamless = SEAMLESS_GROUPS.contains(&names.concat().as_str());
    for (i, name) in names.iter().enumerate() {
        if i > 0 && !seamless {
            line.push("|", on(colors.text));
        }
        line.push(name, on(colors.green).bold());
    }
    line.push(">", on(colors.text));
    Part::counted_in_bytes(line)
}
