//! What the bar shows about a worktree: read leniently from iMi's status, and written at the
//! detail the width allows.

use std::collections::BTreeMap;

use bridge_client::text::inert;

use crate::style::cut;

/// The worktree folder prefixes iMi makes (`trunk-main`, `feat-login`, `pr-12`, ...): a tab named
/// like one of them may be a worktree tab, which is worth asking iMi about.
pub const WORKTREE_PREFIXES: [&str; 7] = [
    "trunk-", "feat-", "fix-", "review-", "aiops-", "devops-", "pr-",
];

/// The widest a shortened branch gets.
pub const SHORT_BRANCH: usize = 12;

/// One worktree's state, as the bar shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Badge {
    /// The checked-out branch, made inert; `None` when detached.
    pub branch: Option<String>,
    /// Changed, staged or untracked files.
    pub dirty: u64,
    /// Commits ahead of trunk.
    pub ahead: u64,
    /// Commits behind trunk.
    pub behind: u64,
}

/// How much of a badge fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    /// `⎇ feat/user-auth ●3 ↑2 ↓1`.
    Full,
    /// `⎇ user-auth ●3 ↑2 ↓1`: the branch's last path segment, at most [`SHORT_BRANCH`] wide.
    ShortBranch,
    /// `●3 ↑2 ↓1`.
    StatusOnly,
    /// Nothing.
    None,
}

impl Detail {
    /// Every detail, richest first.
    pub const ALL: [Detail; 4] = [
        Detail::Full,
        Detail::ShortBranch,
        Detail::StatusOnly,
        Detail::None,
    ];
}

impl Badge {
    /// Returns the compact status: `●3 ↑2 ↓1`, zero parts left out; empty for a clean worktree
    /// level with trunk (the branch alone then says all is well).
    pub fn status(&self) -> String {
        let parts: Vec<String> = [("●", self.dirty), ("↑", self.ahead), ("↓", self.behind)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(sign, n)| format!("{sign}{n}"))
            .collect();
        parts.join(" ")
    }

    /// Returns the branch as shown at `detail`, if it is shown.
    pub fn branch_at(&self, detail: Detail) -> Option<String> {
        let branch = self.branch.as_deref().unwrap_or("(detached)");
        match detail {
            Detail::Full => Some(branch.to_owned()),
            Detail::ShortBranch => {
                let last = branch.rsplit('/').next().unwrap_or(branch);
                Some(cut(last, SHORT_BRANCH))
            }
            Detail::StatusOnly | Detail::None => None,
        }
    }
}

/// Reads iMi's status (`{repository, trunk, worktrees: [...]}`, also inside a `data` envelope)
/// into a badge per worktree name, trunk included. Each worktree is read on its own, so one odd
/// entry or an unknown field costs nothing else; `None` when the value is no status at all.
pub fn read_status(value: &serde_json::Value) -> Option<BTreeMap<String, Badge>> {
    let status = match value.get("data") {
        Some(data) if data.is_object() => data,
        _ => value,
    };
    let worktrees = status.get("worktrees").and_then(|w| w.as_array());
    let trunk = status.get("trunk").filter(|t| t.is_object());
    if worktrees.is_none() && trunk.is_none() {
        return None;
    }
    let count = |w: &serde_json::Value, key: &str| {
        w.get(key)
            .and_then(|n| n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)))
            .unwrap_or(0)
    };
    let badges = trunk
        .into_iter()
        .chain(worktrees.into_iter().flatten())
        .filter_map(|w| {
            let name = w.get("name")?.as_str()?;
            let badge = Badge {
                branch: w.get("branch").and_then(|b| b.as_str()).map(inert),
                dirty: count(w, "dirty_files"),
                ahead: count(w, "ahead"),
                behind: count(w, "behind"),
            };
            Some((name.to_owned(), badge))
        })
        .collect();
    Some(badges)
}

/// Returns whether a tab's name looks like one of iMi's worktree folders.
pub fn looks_like_worktree(name: &str) -> bool {
    WORKTREE_PREFIXES
        .iter()
        .any(|p| name.len() > p.len() && name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_read_leniently_and_print_compactly() {
        let status = json!({
            "repository": "widgets",
            "trunk": {"path": "/w/trunk-main", "branch": "main", "ahead": 0, "behind": 0,
                      "name": "trunk-main", "type": "trunk"},
            "worktrees": [
                {"name": "feat-user-auth", "type": "feat", "dirty_files": 3, "ahead": 2,
                 "behind": 1, "last_commit": "Add login", "branch": "feat/user-auth",
                 "something_new": [1, 2]},
                {"name": "pr-7", "branch": null, "dirty_files": "many"},
                {"branch": "no-name"},
                "not an object",
            ],
        });
        let badges = read_status(&status).unwrap();
        assert_eq!(
            badges.keys().collect::<Vec<_>>(),
            ["feat-user-auth", "pr-7", "trunk-main"]
        );
        let auth = &badges["feat-user-auth"];
        assert_eq!(auth.status(), "●3 ↑2 ↓1");
        assert_eq!(auth.branch_at(Detail::Full).unwrap(), "feat/user-auth");
        assert_eq!(auth.branch_at(Detail::ShortBranch).unwrap(), "user-auth");
        assert_eq!(auth.branch_at(Detail::StatusOnly), None);
        assert_eq!(badges["pr-7"].status(), "");
        assert_eq!(
            badges["pr-7"].branch_at(Detail::Full).unwrap(),
            "(detached)"
        );
        let wrapped = json!({"success": true, "data": status});
        assert_eq!(read_status(&wrapped), Some(badges));
        assert_eq!(read_status(&json!({"kind": "bad_request"})), None);
    }

    #[test]
    fn branches_are_inert_and_shortened_to_their_last_segment() {
        let badge = Badge {
            branch: read_status(&json!({"trunk": {"name": "x", "branch": "feat/a\u{1b}[2Jb"}}))
                .unwrap()["x"]
                .branch
                .clone(),
            ..Badge::default()
        };
        assert_eq!(badge.branch.as_deref(), Some("feat/a^[[2Jb"));
        let long = Badge {
            branch: Some("feat/a-really-long-branch-name".into()),
            ahead: 4,
            ..Badge::default()
        };
        assert_eq!(long.branch_at(Detail::ShortBranch).unwrap(), "a-really-lo…");
        assert_eq!(long.status(), "↑4");
    }

    #[test]
    fn worktree_names_are_recognised_by_prefix() {
        for name in ["feat-login", "trunk-main", "pr-12", "devops-ci"] {
            assert!(looks_like_worktree(name), "{name}");
        }
        for name in ["workspace", "feat-", "Tab #2", "feature"] {
            assert!(!looks_like_worktree(name), "{name}");
        }
    }
}
