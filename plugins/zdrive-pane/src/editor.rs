//! A one-line text field: what the pane's prompts (an entry's summary, a new name, a tag) are
//! typed into.

use zellij_tile::prelude::{BareKey, KeyModifier, KeyWithModifier};

/// The longest text a field takes, in bytes (zdrive's limit on a summary).
pub const MAX_BYTES: usize = 4096;

/// What a key did to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text or the cursor moved.
    Changed,
    /// Enter: the text is done.
    Submit,
    /// Esc: the field is abandoned.
    Cancel,
    /// Not a key the field knows.
    Ignored,
}

/// The text typed so far and where the cursor is, in characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEditor {
    chars: Vec<char>,
    cursor: usize,
}

impl LineEditor {
    /// Returns a field holding `text`, the cursor after it.
    pub fn new(text: &str) -> LineEditor {
        let chars: Vec<char> = text.chars().collect();
        LineEditor {
            cursor: chars.len(),
            chars,
        }
    }

    /// Returns the text.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// Returns the characters before the cursor, the one under it (if any) and those after.
    pub fn split(&self) -> (String, Option<char>, String) {
        let before = self.chars[..self.cursor].iter().collect();
        let under = self.chars.get(self.cursor).copied();
        let after = self
            .chars
            .get(self.cursor + 1..)
            .unwrap_or_default()
            .iter()
            .collect();
        (before, under, after)
    }

    /// Applies a key: characters are typed at the cursor, Backspace and Delete remove one,
    /// arrows, Home and End (or Ctrl a, Ctrl e) move, Ctrl u clears, Enter submits and Esc
    /// cancels.
    pub fn key(&mut self, key: &KeyWithModifier) -> Edit {
        let ctrl = key.key_modifiers.contains(&KeyModifier::Ctrl);
        let other = key
            .key_modifiers
            .iter()
            .any(|m| !matches!(m, KeyModifier::Shift | KeyModifier::Ctrl));
        if other {
            return Edit::Ignored;
        }
        match (ctrl, key.bare_key) {
            (false, BareKey::Enter) => return Edit::Submit,
            (false, BareKey::Esc) => return Edit::Cancel,
            (true, BareKey::Char('a')) | (false, BareKey::Home) => self.cursor = 0,
            (true, BareKey::Char('e')) | (false, BareKey::End) => self.cursor = self.chars.len(),
            (true, BareKey::Char('u')) => *self = LineEditor::default(),
            (false, BareKey::Left) => self.cursor = self.cursor.saturating_sub(1),
            (false, BareKey::Right) => self.cursor = (self.cursor + 1).min(self.chars.len()),
            (false, BareKey::Backspace) if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            (false, BareKey::Delete) if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            (false, BareKey::Char(c)) if !c.is_control() => {
                let bytes: usize = self.chars.iter().map(|c| c.len_utf8()).sum();
                if bytes + c.len_utf8() > MAX_BYTES {
                    return Edit::Ignored;
                }
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            (false, BareKey::Backspace | BareKey::Delete) => {}
            _ => return Edit::Ignored,
        }
        Edit::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(editor: &mut LineEditor, key: BareKey) -> Edit {
        editor.key(&KeyWithModifier::new(key))
    }

    fn ctrl(editor: &mut LineEditor, c: char) -> Edit {
        editor.key(&KeyWithModifier::new(BareKey::Char(c)).with_ctrl_modifier())
    }

    #[test]
    fn typing_moving_and_deleting() {
        let mut e = LineEditor::new("api");
        for c in "-v2".chars() {
            assert_eq!(press(&mut e, BareKey::Char(c)), Edit::Changed);
        }
        assert_eq!(e.text(), "api-v2");
        press(&mut e, BareKey::Left);
        press(&mut e, BareKey::Left);
        press(&mut e, BareKey::Backspace);
        assert_eq!(e.text(), "apiv2");
        assert_eq!(e.split(), ("api".into(), Some('v'), "2".into()));
        press(&mut e, BareKey::Delete);
        press(&mut e, BareKey::Char('x'));
        assert_eq!(e.text(), "apix2");
        press(&mut e, BareKey::Home);
        press(&mut e, BareKey::Backspace);
        assert_eq!(e.split(), (String::new(), Some('a'), "pix2".into()));
        ctrl(&mut e, 'e');
        press(&mut e, BareKey::Right);
        assert_eq!(e.split(), ("apix2".into(), None, String::new()));
        ctrl(&mut e, 'a');
        assert_eq!(e.split().1, Some('a'));
        ctrl(&mut e, 'u');
        assert_eq!(e, LineEditor::default());
    }

    #[test]
    fn enter_submits_esc_cancels_and_other_chords_are_not_text() {
        let mut e = LineEditor::new("");
        assert_eq!(press(&mut e, BareKey::Enter), Edit::Submit);
        assert_eq!(press(&mut e, BareKey::Esc), Edit::Cancel);
        let alt = KeyWithModifier::new(BareKey::Char('i')).with_alt_modifier();
        assert_eq!(e.key(&alt), Edit::Ignored);
        assert_eq!(ctrl(&mut e, 'x'), Edit::Ignored);
        assert_eq!(press(&mut e, BareKey::F(1)), Edit::Ignored);
        let shifted = KeyWithModifier::new(BareKey::Char('R')).with_shift_modifier();
        assert_eq!(e.key(&shifted), Edit::Changed);
        assert_eq!(e.text(), "R");
    }

    #[test]
    fn the_text_stops_at_zdrives_limit() {
        let mut e = LineEditor::new(&"x".repeat(MAX_BYTES - 1));
        assert_eq!(press(&mut e, BareKey::Char('é')), Edit::Ignored);
        assert_eq!(press(&mut e, BareKey::Char('y')), Edit::Changed);
        assert_eq!(press(&mut e, BareKey::Char('z')), Edit::Ignored);
        assert_eq!(e.text().len(), MAX_BYTES);
    }
}
