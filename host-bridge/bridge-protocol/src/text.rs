//! Text from outside (stored summaries, pane names, error messages) made safe to print.

/// Returns `text` with every control character shown instead of obeyed: C0 controls and DEL in
/// caret form (`ESC` as `^[`, `DEL` as `^?`), C1 controls as `<U+009B>`. Escape sequences in
/// stored text thus print as the characters they are made of and never reach the terminal.
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_inert(&mut out, c);
    }
    out
}

/// Appends `c` to `out`, in its visible form when it is a control character.
pub fn push_inert(out: &mut String, c: char) {
    match c as u32 {
        0x00..=0x1f => {
            out.push('^');
            out.push(char::from(c as u8 + 0x40));
        }
        0x7f => out.push_str("^?"),
        0x80..=0x9f => out.push_str(&format!("<U+{:04X}>", c as u32)),
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(
            inert("a\u{1b}[31mred\u{7}\u{7f}\u{9b}2J\nb"),
            "a^[[31mred^G^?<U+009B>2J^Jb"
        );
        assert_eq!(inert("plain ünïcode ✓"), "plain ünïcode ✓");
    }
}
