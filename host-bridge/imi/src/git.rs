//! Driving the `git` command line: spawning it, and parsing its porcelain formats.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The `git` executable and how it is run: no prompts, no pager, C locale.
#[derive(Clone, Debug)]
pub struct Git {
    program: PathBuf,
}

impl Default for Git {
    fn default() -> Self {
        Self {
            program: PathBuf::from("git"),
        }
    }
}

/// What `git` printed and how it exited.
#[derive(Debug)]
pub struct GitOutput {
    /// Whether it exited with status 0.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error, trimmed.
    pub stderr: String,
}

impl Git {
    /// Returns a runner of the `git` at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            // iMi reads status in the background (the tab bar, the pane, host-bridge) while
            // the user and their agents run git in the same worktrees: a `git status` that
            // refreshed the index would hold `index.lock` and make their `git add` fail.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_PAGER", "cat")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `git -C dir ARGS`, returning its output whatever the exit status.
    pub fn output(&self, dir: &Path, args: &[&str]) -> Result<GitOutput> {
        self.output_with_input(dir, args, None)
    }

    /// Runs `git -C dir ARGS` with `input` on stdin, returning its output whatever the status.
    pub fn output_with_input(
        &self,
        dir: &Path,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<GitOutput> {
        let mut cmd = self.command(dir, args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|source| Error::GitMissing { source })?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // A writer thread: git may fill its stdout pipe before it has read all of stdin.
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let out = child
            .wait_with_output()
            .map_err(|source| Error::GitMissing { source })?;
        Ok(GitOutput {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    /// Runs `git -C dir ARGS` and returns its stdout, or [`Error::Git`] when it fails.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Result<String> {
        self.run_with_input(dir, args, None)
    }

    /// Like [`Git::run`], with `input` on stdin.
    pub fn run_with_input(
        &self,
        dir: &Path,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<String> {
        let out = self.output_with_input(dir, args, input)?;
        if out.ok {
            Ok(out.stdout)
        } else {
            Err(Error::Git {
                args: args.join(" "),
                dir: dir.display().to_string(),
                stderr: out.stderr,
            })
        }
    }

    /// Returns git's version (`2.47.3`).
    pub fn version(&self) -> Result<String> {
        let out = self.run(Path::new("."), &["--version"])?;
        Ok(out
            .trim()
            .trim_start_matches("git version ")
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned())
    }

    /// Returns the absolute path of the repository's common git directory (shared by all worktrees).
    pub fn common_dir(&self, dir: &Path) -> Result<PathBuf> {
        let out = self.run(
            dir,
            &["rev-parse", "--path-format=absolute", "--git-common-dir"],
        )?;
        Ok(PathBuf::from(out.trim()))
    }

    /// Returns the top folder of the worktree containing `dir`.
    pub fn toplevel(&self, dir: &Path) -> Result<PathBuf> {
        Ok(PathBuf::from(
            self.run(dir, &["rev-parse", "--show-toplevel"])?.trim(),
        ))
    }

    /// Returns the branch checked out in `dir`, or `main` when HEAD is detached or unborn
    /// without a name (what a new project's trunk is then called).
    pub fn current_branch_or_main(&self, dir: &Path) -> Result<String> {
        let branch = self
            .output(dir, &["symbolic-ref", "--short", "-q", "HEAD"])?
            .stdout
            .trim()
            .to_owned();
        Ok(if branch.is_empty() {
            "main".to_owned()
        } else {
            branch
        })
    }

    /// Returns whether `refname` (for example `refs/heads/feat/x`) exists.
    pub fn ref_exists(&self, dir: &Path, refname: &str) -> Result<bool> {
        Ok(self
            .output(dir, &["show-ref", "--verify", "--quiet", refname])?
            .ok)
    }

    /// Returns every worktree `git worktree list --porcelain` knows, the main one first.
    pub fn worktrees(&self, dir: &Path) -> Result<Vec<GitWorktree>> {
        Ok(parse_worktree_list(
            &self.run(dir, &["worktree", "list", "--porcelain", "-z"])?,
        ))
    }

    /// Returns how many entries `git status --porcelain` lists (changed, staged or untracked files).
    pub fn dirty_count(&self, worktree: &Path) -> Result<usize> {
        let out = self.run(
            worktree,
            &["status", "--porcelain", "-z", "--untracked-files=normal"],
        )?;
        Ok(count_status_entries(&out))
    }

    /// Returns the branches under `refs/heads` with their tip, upstream tracking and distance to `trunk`.
    pub fn branches(&self, dir: &Path, trunk: &str) -> Result<HashMap<String, BranchInfo>> {
        let format = format!(
            "--format=%(refname:strip=2)%00%(objectname)%00%(upstream:short)%00%(upstream:track,nobracket)%00%(ahead-behind:{trunk})%00%(committerdate:unix)%00%(subject)"
        );
        let out = self.run(dir, &["for-each-ref", &format, "refs/heads"])?;
        Ok(parse_branches(&out))
    }

    /// Returns how `branch` relates to `trunk`: merged (and how), without commits of its own, or not merged.
    pub fn merge_state(&self, dir: &Path, branch: &str, trunk: &str) -> Result<MergeState> {
        let range = format!("{trunk}..{branch}");
        let own: u64 = self
            .run(dir, &["rev-list", "--count", &range])?
            .trim()
            .parse()
            .unwrap_or(0);
        if own == 0 {
            // Every commit of the branch is in trunk: either nothing was ever committed on it
            // (it still points where it was created) or it was merged or fast-forwarded.
            if !self.was_committed_on(dir, branch)? {
                return Ok(MergeState::NoCommits);
            }
            return Ok(MergeState::Merged {
                how: MergeHow::Ancestor,
            });
        }
        // Rebase merges and cherry-picks: every commit has an equivalent (same patch-id) in trunk.
        let cherry = self.run(dir, &["cherry", trunk, branch])?;
        if !cherry.trim().is_empty() && cherry.lines().all(|l| l.starts_with('-')) {
            return Ok(MergeState::Merged {
                how: MergeHow::Rebased,
            });
        }
        // Squash merges: the branch's whole diff since the merge base equals one trunk commit's.
        let merge_base = self.run(dir, &["merge-base", trunk, branch])?;
        let merge_base = merge_base.trim();
        let diff = self.run(
            dir,
            &["diff", "--no-color", "--no-ext-diff", merge_base, branch],
        )?;
        if diff.trim().is_empty() {
            return Ok(MergeState::Merged {
                how: MergeHow::Squashed,
            });
        }
        let branch_id = patch_ids(&self.run_with_input(
            dir,
            &["patch-id", "--stable"],
            Some(diff.as_bytes()),
        )?);
        let Some(branch_id) = branch_id.into_iter().next() else {
            return Ok(MergeState::NotMerged { commits: own });
        };
        let trunk_range = format!("{merge_base}..{trunk}");
        let log = self.run(
            dir,
            &[
                "log",
                "-p",
                "--no-merges",
                "--no-color",
                "--no-ext-diff",
                "-n",
                "1000",
                "--format=commit %H",
                &trunk_range,
            ],
        )?;
        let trunk_ids = patch_ids(&self.run_with_input(
            dir,
            &["patch-id", "--stable"],
            Some(log.as_bytes()),
        )?);
        if trunk_ids.contains(&branch_id) {
            Ok(MergeState::Merged {
                how: MergeHow::Squashed,
            })
        } else {
            Ok(MergeState::NotMerged { commits: own })
        }
    }

    /// Returns whether the branch's reflog shows a commit made on it (rather than only its creation).
    fn was_committed_on(&self, dir: &Path, branch: &str) -> Result<bool> {
        let out = self.output(
            dir,
            &[
                "reflog",
                "show",
                "--format=%gs",
                &format!("refs/heads/{branch}"),
            ],
        )?;
        Ok(out.ok
            && out.stdout.lines().any(|l| {
                l.starts_with("commit") || l.starts_with("merge") || l.starts_with("reset")
            }))
    }

    /// Returns how many commits reachable from `rev` are neither in `trunk` nor on any remote.
    pub fn unpushed_count(&self, dir: &Path, rev: &str, trunk: &str) -> Result<u64> {
        let out = self.run(
            dir,
            &["rev-list", "--count", rev, "--not", trunk, "--remotes"],
        )?;
        Ok(out.trim().parse().unwrap_or(0))
    }
}

/// How a branch relates to trunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum MergeState {
    /// The branch has no commits of its own: deleting it loses nothing, but nothing was merged.
    NoCommits,
    /// The branch's work is in trunk.
    Merged {
        /// How it got there.
        how: MergeHow,
    },
    /// The branch has `commits` commits trunk does not have.
    NotMerged {
        /// How many commits are only on the branch.
        commits: u64,
    },
}

impl MergeState {
    /// Returns whether deleting the branch loses no commits.
    pub fn is_safe_to_delete(self) -> bool {
        !matches!(self, MergeState::NotMerged { .. })
    }
}

/// How a merged branch got into trunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeHow {
    /// Its tip is an ancestor of trunk (merge commit or fast-forward).
    Ancestor,
    /// Each commit has an equivalent in trunk (rebase or cherry-pick).
    Rebased,
    /// Its combined diff matches one trunk commit (squash merge), recognised by patch-id.
    Squashed,
}

/// One entry of `git worktree list --porcelain`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitWorktree {
    /// The worktree's folder.
    pub path: PathBuf,
    /// The checked-out commit (absent for a bare repository).
    pub head: Option<String>,
    /// The checked-out branch without `refs/heads/`; `None` when detached or bare.
    pub branch: Option<String>,
    /// Whether this entry is the bare repository itself.
    pub bare: bool,
    /// Whether `HEAD` is detached.
    pub detached: bool,
    /// The lock reason, when locked (empty when locked without a reason).
    pub locked: Option<String>,
    /// Why git would prune it (its folder is gone), when it would.
    pub prunable: Option<String>,
}

/// Parses `git worktree list --porcelain -z`: attributes separated by NUL, entries by an empty one.
pub fn parse_worktree_list(out: &str) -> Vec<GitWorktree> {
    let mut all = Vec::new();
    let mut current: Option<GitWorktree> = None;
    for field in out.split('\0') {
        if field.is_empty() {
            if let Some(wt) = current.take() {
                all.push(wt);
            }
            continue;
        }
        let (key, value) = field.split_once(' ').unwrap_or((field, ""));
        if key == "worktree" {
            if let Some(wt) = current.take() {
                all.push(wt);
            }
            current = Some(GitWorktree {
                path: PathBuf::from(value),
                ..GitWorktree::default()
            });
            continue;
        }
        let Some(wt) = current.as_mut() else { continue };
        match key {
            "HEAD" => wt.head = Some(value.to_owned()),
            "branch" => {
                wt.branch = Some(
                    value
                        .strip_prefix("refs/heads/")
                        .unwrap_or(value)
                        .to_owned(),
                )
            }
            "bare" => wt.bare = true,
            "detached" => wt.detached = true,
            "locked" => wt.locked = Some(value.to_owned()),
            "prunable" => wt.prunable = Some(value.to_owned()),
            _ => {}
        }
    }
    if let Some(wt) = current {
        all.push(wt);
    }
    all
}

/// Counts the entries of `git status --porcelain -z` (a rename carries its old path as an extra field).
pub fn count_status_entries(out: &str) -> usize {
    let mut count = 0;
    let mut fields = out.split('\0').filter(|f| !f.is_empty());
    while let Some(entry) = fields.next() {
        count += 1;
        let status = entry.as_bytes();
        if status.first() == Some(&b'R') || status.first() == Some(&b'C') {
            fields.next();
        }
    }
    count
}

/// A local branch as `git for-each-ref` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BranchInfo {
    /// The tip commit.
    pub tip: String,
    /// The upstream (`origin/feat/x`), when set.
    pub upstream: Option<String>,
    /// Commits ahead of the upstream.
    pub ahead_upstream: u64,
    /// Commits behind the upstream.
    pub behind_upstream: u64,
    /// Whether the upstream branch is gone from the remote.
    pub upstream_gone: bool,
    /// Commits ahead of trunk.
    pub ahead_trunk: u64,
    /// Commits behind trunk.
    pub behind_trunk: u64,
    /// When the tip was committed (Unix seconds).
    pub committed_at: i64,
    /// The tip's subject line.
    pub subject: String,
}

/// Parses the `for-each-ref` format [`Git::branches`] asks for.
pub fn parse_branches(out: &str) -> HashMap<String, BranchInfo> {
    let mut map = HashMap::new();
    for line in out.lines() {
        let f: Vec<&str> = line.splitn(7, '\0').collect();
        if f.len() < 7 {
            continue;
        }
        let mut info = BranchInfo {
            tip: f[1].to_owned(),
            upstream: Some(f[2].to_owned()).filter(|u| !u.is_empty()),
            committed_at: f[5].parse().unwrap_or(0),
            subject: f[6].to_owned(),
            ..BranchInfo::default()
        };
        for part in f[3].split(", ") {
            if let Some(n) = part.strip_prefix("ahead ") {
                info.ahead_upstream = n.parse().unwrap_or(0);
            } else if let Some(n) = part.strip_prefix("behind ") {
                info.behind_upstream = n.parse().unwrap_or(0);
            } else if part == "gone" {
                info.upstream_gone = true;
            }
        }
        if let Some((ahead, behind)) = f[4].split_once(' ') {
            info.ahead_trunk = ahead.parse().unwrap_or(0);
            info.behind_trunk = behind.parse().unwrap_or(0);
        }
        map.insert(f[0].to_owned(), info);
    }
    map
}

/// Returns the patch ids (first column) of `git patch-id` output.
fn patch_ids(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worktree_list_is_parsed() {
        let out = "worktree /p/trunk-main\0HEAD abc\0branch refs/heads/main\0\0\
                   worktree /p/feat-x\0HEAD def\0branch refs/heads/feat/x\0locked initializing\0\0\
                   worktree /p/gone\0HEAD 123\0detached\0prunable gitdir file points to non-existent location\0\0";
        let list = parse_worktree_list(out);
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].branch.as_deref(), Some("main"));
        assert_eq!(list[1].branch.as_deref(), Some("feat/x"));
        assert_eq!(list[1].locked.as_deref(), Some("initializing"));
        assert!(list[2].detached);
        assert!(list[2].prunable.is_some());
    }

    /// A status read never rewrites the index (which holds `index.lock` while it does, and
    /// fails a `git add` the user runs at that moment).
    #[test]
    fn reading_status_takes_no_index_lock() {
        let dir = tempfile::tempdir().unwrap();
        let sh = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@t")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@t")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
        };
        sh(&["init", "-q"]);
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "a\n").unwrap();
        sh(&["add", "a.txt"]);
        sh(&["commit", "-q", "-m", "a"]);
        // The file's times change, not its content: a status that may refresh the index
        // rewrites it.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let index = dir.path().join(".git/index");
        let before = std::fs::read(&index).unwrap();
        assert_eq!(Git::new("git").dirty_count(dir.path()).unwrap(), 0);
        assert_eq!(
            std::fs::read(&index).unwrap(),
            before,
            "the index was rewritten"
        );
    }

    #[test]
    fn status_entries_count_renames_once() {
        assert_eq!(count_status_entries(""), 0);
        assert_eq!(
            count_status_entries(" M a.txt\0?? new\0R  new-name\0old-name\0"),
            3
        );
    }

    #[test]
    fn branches_are_parsed() {
        let out = "feat/x\0abc\0origin/feat/x\0ahead 2, behind 1\x003 4\x001700000000\0Add x\n\
                   main\0def\0\0\x000 0\x001700000001\0Initial\n";
        let map = parse_branches(out);
        let x = &map["feat/x"];
        assert_eq!((x.ahead_upstream, x.behind_upstream), (2, 1));
        assert_eq!((x.ahead_trunk, x.behind_trunk), (3, 4));
        assert_eq!(x.subject, "Add x");
        assert_eq!(map["main"].upstream, None);
    }
}
