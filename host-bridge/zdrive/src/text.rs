//! Small text helpers the modules share; they depend on nothing else of zdrive.

/// Returns `s` cut to at most `max` bytes on a character boundary.
pub fn cut_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::cut_to;

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(cut_to("abc", 10), "abc");
        assert_eq!(cut_to("abc", 2), "ab");
        // 'é' is two bytes: a cut inside it keeps the character out.
        assert_eq!(cut_to("aé", 2), "a");
        assert_eq!(cut_to("", 0), "");
    }
}
