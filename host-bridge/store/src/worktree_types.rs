//! Worktree types (`feat`, `fix`, `review`, `aiops`, `devops` and the user's own): their branch and folder prefixes.

use chrono::{DateTime, Utc};

use crate::{params, Conn, Error, QueryError, Row};

/// Longest type name accepted.
const MAX_NAME_LEN: usize = 32;

/// A worktree type: `feat` makes branch `feat/NAME` in folder `feat-NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorktreeType {
    /// The row id.
    pub id: i64,
    /// The type's name, as typed in `iMi add NAME ...`.
    pub name: String,
    /// What branch names start with, for example `feat/`.
    pub branch_prefix: String,
    /// What worktree folder names start with, for example `feat-`.
    pub worktree_prefix: String,
    /// What the type is for.
    pub description: Option<String>,
    /// Whether the type ships with iMi.
    pub is_builtin: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A user-defined worktree type to add; prefixes default to `NAME/` and `NAME-`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewWorktreeType {
    /// The name: 1 to 32 lowercase ASCII letters, digits, `-` or `_`, starting with a letter.
    pub name: String,
    /// The branch prefix; `NAME/` when `None`.
    pub branch_prefix: Option<String>,
    /// The folder prefix; `NAME-` when `None`.
    pub worktree_prefix: Option<String>,
    /// What the type is for.
    pub description: Option<String>,
}

/// Checks a worktree type name; the error says what is allowed.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(format!(
            "worktree type name {name:?} is not allowed: use 1 to {MAX_NAME_LEN} lowercase letters, digits, '-' or '_', starting with a letter"
        )))
    }
}

/// Checks a prefix: what git accepts at the start of a ref name or a folder name.
fn validate_prefix(what: &str, prefix: &str, allow_slash: bool) -> Result<(), Error> {
    let bad_char = |c: char| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '~' | '^' | ':' | '?' | '*' | '[' | '\\')
            || (c == '/' && !allow_slash)
    };
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_NAME_LEN + 1
        && !prefix.starts_with(['-', '.', '/'])
        && !prefix.contains("..")
        && !prefix.contains("//")
        && !prefix.chars().any(bad_char);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(format!(
            "{what} {prefix:?} is not allowed: use up to {} characters git accepts in a {}, not starting with '-', '.' or '/'",
            MAX_NAME_LEN + 1,
            if allow_slash { "branch name" } else { "folder name" }
        )))
    }
}

const COLUMNS: &str =
    "id, name, branch_prefix, worktree_prefix, description, is_builtin, created_at";

fn row_from(row: &Row) -> Result<WorktreeType, QueryError> {
    Ok(WorktreeType {
        id: row.get("id")?,
        name: row.get("name")?,
        branch_prefix: row.get("branch_prefix")?,
        worktree_prefix: row.get("worktree_prefix")?,
        description: row.get("description")?,
        is_builtin: row.get("is_builtin")?,
        created_at: row.get("created_at")?,
    })
}

/// Returns every worktree type in id order (the built-in ones come first).
pub async fn list(mut conn: Conn<'_>) -> Result<Vec<WorktreeType>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM worktree_types ORDER BY id");
    conn.fetch_all(&sql, &[])
        .await
        .and_then(|rows| rows.iter().map(row_from).collect())
        .map_err(|e| Error::query("list_worktree_types", e))
}

/// Adds a user-defined worktree type; a taken name is [`Error::AlreadyExists`].
pub async fn add(mut conn: Conn<'_>, new: &NewWorktreeType) -> Result<WorktreeType, Error> {
    validate_name(&new.name)?;
    let branch_prefix = new
        .branch_prefix
        .clone()
        .unwrap_or_else(|| format!("{}/", new.name));
    let worktree_prefix = new
        .worktree_prefix
        .clone()
        .unwrap_or_else(|| format!("{}-", new.name));
    validate_prefix("branch prefix", &branch_prefix, true)?;
    validate_prefix("worktree prefix", &worktree_prefix, false)?;
    let sql = format!(
        "INSERT INTO worktree_types (name, branch_prefix, worktree_prefix, description, is_builtin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let params = params![
        new.name,
        branch_prefix,
        worktree_prefix,
        new.description,
        false,
        Utc::now()
    ];
    conn.fetch_one(&sql, params)
        .await
        .and_then(|row| row_from(&row))
        .map_err(|e| {
            if e.is_unique_violation() {
                Error::AlreadyExists {
                    what: "worktree type",
                    name: new.name.clone(),
                }
            } else {
                Error::query("add_worktree_type", e)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_lowercase_words() {
        for ok in ["feat", "hotfix", "ml-ops", "a1", "x_y"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Feat",
            "1x",
            "-x",
            "a/b",
            "..",
            "a b",
            "a\nb",
            "ä",
            &"x".repeat(33),
        ] {
            let e = validate_name(bad).unwrap_err().to_string();
            assert!(e.contains("lowercase letters"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn prefixes_are_what_git_accepts() {
        assert!(validate_prefix("branch prefix", "feat/", true).is_ok());
        assert!(validate_prefix("worktree prefix", "feat-", false).is_ok());
        assert!(validate_prefix("worktree prefix", "feat/", false).is_err());
        assert!(validate_prefix("branch prefix", "a..b/", true).is_err());
        assert!(validate_prefix("branch prefix", "-x/", true).is_err());
        assert!(validate_prefix("branch prefix", "x~/", true).is_err());
    }
}
