//! What names users may give worktrees, types and pull requests (the "Safety" rules).

use crate::error::{Error, Result};

/// Longest worktree name accepted (the folder adds the type's prefix).
pub const MAX_NAME_LEN: usize = 64;

const ALLOWED: &str = "use 1 to 64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit (no '/', '..', spaces, or a '.lock' ending)";

/// Checks a worktree name (`x` in `iMi feat x`); the error says what is allowed.
pub fn validate_worktree_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("it is too long")
    } else if name.starts_with('-') {
        Some("it starts with '-' (it would read as an option)")
    } else if name.starts_with('.') {
        Some("it starts with '.'")
    } else if name.contains("..") {
        Some("it contains '..'")
    } else if name.contains('/') || name.contains('\\') {
        Some("it contains a path separator")
    } else if name.chars().any(char::is_whitespace) {
        Some("it contains whitespace")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.ends_with(".lock") || name.ends_with('.') {
        Some("git refuses ref names ending in '.lock' or '.'")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("it contains a character git or the shell treats specially")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::InvalidName(format!(
            "worktree name {} is not allowed because {why}: {ALLOWED}",
            shown(name)
        ))),
    }
}

/// Checks a worktree type name (`feat`, or a user's own); the error says what is allowed.
pub fn validate_type_name(name: &str) -> Result<()> {
    store::worktree_types::validate_name(name).map_err(|e| Error::InvalidName(e.to_string()))
}

/// Parses a pull request reference: a number (`123`, `#123`) or a GitHub PR URL.
pub fn parse_pr_reference(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('#').unwrap_or(text);
    if let Some(n) = parse_pr_number(digits) {
        return Some(n);
    }
    let path = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))?;
    let mut parts = path.trim_end_matches('/').split('/');
    let _host = parts.next()?;
    let (_owner, _repo, pull, number) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if pull != "pull" {
        return None;
    }
    parse_pr_number(number)
}

fn parse_pr_number(digits: &str) -> Option<u64> {
    if digits.is_empty() || digits.len() > 10 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// Quotes a name for a message, escaping control characters so the message stays one line.
fn shown(name: &str) -> String {
    let cut: String = name.chars().take(80).collect();
    format!("{cut:?}{}", if cut.len() < name.len() { "..." } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for ok in ["x", "login-page", "v2.1", "JIRA_123", &"a".repeat(64)] {
            assert!(validate_worktree_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unsafe_names_are_refused_with_what_is_allowed() {
        for bad in [
            "",
            "..",
            "a..b",
            "a/b",
            "../x",
            "-rf",
            ".hidden",
            "a b",
            "tab\there",
            "nl\n",
            "esc\u{1b}[31m",
            "x.lock",
            "x.",
            "a~1",
            "a^b",
            "a:b",
            "a?b",
            "a*b",
            "a[b",
            "a@{b",
            "ä",
            &"a".repeat(65),
        ] {
            let e = validate_worktree_name(bad).unwrap_err().to_string();
            assert!(e.contains("ASCII letters"), "{bad:?}: {e}");
            assert!(!e.contains('\n'), "{bad:?}: {e}");
        }
    }

    #[test]
    fn pull_requests_are_numbers_or_urls() {
        assert_eq!(parse_pr_reference("123"), Some(123));
        assert_eq!(parse_pr_reference("#7"), Some(7));
        assert_eq!(
            parse_pr_reference("https://github.com/o/r/pull/42"),
            Some(42)
        );
        assert_eq!(parse_pr_reference("https://github.com/o/r/issues/42"), None);
        for bad in ["0", "-1", "12a", "", "99999999999", "1 2"] {
            assert_eq!(parse_pr_reference(bad), None, "{bad}");
        }
    }
}
