//! iMi's test sandbox: generated git repositories (a bare origin, many files, several branches
//! and a pull request), the `iMi` binary run in a private HOME, and its database. iMi's own
//! tests use it, and so do the tests of host-bridge, which runs iMi's engine for the plugins.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Which database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Returns the URL of a fresh PostgreSQL database, or `None` when skipped (never under `CI=true`).
pub fn postgres_url(test: &str) -> Option<String> {
    crate::services::fresh_database("imi", test)
}

/// A sandbox: a HOME, a bare origin with content, and an iMi project cloned from it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// The database URL every iMi run gets (`IMI_DATABASE_URL`); `None` means iMi's default SQLite.
    pub database_url: Option<String>,
}

/// The result of one iMi run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Returns `data` of a successful run, failing the test with the output otherwise.
    pub fn data(&self) -> &Value {
        assert!(
            self.code == 0 && self.json["success"] == true,
            "iMi failed (exit {}): {}\nstderr: {}",
            self.code,
            self.stdout,
            self.stderr
        );
        &self.json["data"]
    }

    /// Returns the error kind of a failed run.
    pub fn error_kind(&self) -> &str {
        assert_eq!(
            self.json["success"], false,
            "expected a failure: {}",
            self.stdout
        );
        self.json["error"]["kind"].as_str().unwrap_or_default()
    }

    /// Returns the error message of a failed run.
    pub fn error_message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }
}

/// Returns the `iMi` binary built by this workspace (`IMI_BIN` overrides it).
fn imi_bin() -> PathBuf {
    crate::workspace_bin("iMi").unwrap_or_else(|e| panic!("{e:#}"))
}

/// How many files the generated repository holds.
pub const FILES: usize = 400;

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// Returns a sandbox using iMi's default SQLite database (in the sandbox's HOME).
    pub fn new() -> Self {
        Self::with_database(None)
    }

    /// Returns a sandbox for `backend`, or `None` when PostgreSQL is unavailable outside CI.
    pub fn for_backend(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::new()),
            Backend::Postgres => Some(Self::with_database(Some(postgres_url(test)?))),
        }
    }

    /// Returns a sandbox whose iMi runs use `database_url`.
    pub fn with_database(database_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("creating a temp dir");
        let sb = Self { dir, database_url };
        std::fs::create_dir_all(sb.home()).unwrap();
        std::fs::write(
            sb.home().join(".gitconfig"),
            "[user]\n\tname = iMi Test\n\temail = imi@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
        )
        .unwrap();
        sb
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// Returns the bare origin's path (created by [`Sandbox::origin`]).
    pub fn origin_path(&self) -> PathBuf {
        self.root().join("origin.git")
    }

    /// Returns the project folder `iMi init --repo origin.git` makes.
    pub fn project(&self) -> PathBuf {
        self.root().join("work").join("origin")
    }

    pub fn trunk(&self) -> PathBuf {
        self.project().join("trunk-main")
    }

    /// Runs git with the sandbox's environment; panics on failure.
    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        let out = self
            .env(&mut cmd)
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .env("TMPDIR", self.root());
        if let Some(url) = &self.database_url {
            cmd.env("IMI_DATABASE_URL", url);
        }
        cmd
    }

    /// Makes the bare origin: FILES files in nested folders, branches `develop` and
    /// `release/1.0`, and pull request 7 (`refs/pull/7/head`) as GitHub stores it.
    pub fn origin(&self) -> &Self {
        let seed = self.root().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        self.git(
            self.root(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        self.git(&seed, &["init", "--quiet", "-b", "main"]);
        for i in 0..FILES {
            let dir = seed.join(format!("src/m{}", i % 20));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("f{i}.rs")),
                format!("pub fn f{i}() -> usize {{ {i} }}\n"),
            )
            .unwrap();
        }
        std::fs::write(seed.join(".gitignore"), "target/\n.env\n").unwrap();
        self.git(&seed, &["add", "-A"]);
        self.git(&seed, &["commit", "--quiet", "-m", "Initial import"]);
        let origin = self.origin_path().display().to_string();
        self.git(&seed, &["remote", "add", "origin", &origin]);
        self.git(&seed, &["push", "--quiet", "origin", "main"]);
        for (branch, file) in [("develop", "DEVELOP.md"), ("release/1.0", "RELEASE.md")] {
            self.git(&seed, &["checkout", "--quiet", "-b", branch, "main"]);
            std::fs::write(seed.join(file), branch).unwrap();
            self.git(&seed, &["add", file]);
            self.git(
                &seed,
                &["commit", "--quiet", "-m", &format!("Work on {branch}")],
            );
            self.git(&seed, &["push", "--quiet", "origin", branch]);
        }
        self.git(&seed, &["checkout", "--quiet", "-b", "contributor", "main"]);
        std::fs::write(seed.join("PR.md"), "a contribution").unwrap();
        self.git(&seed, &["add", "PR.md"]);
        self.git(&seed, &["commit", "--quiet", "-m", "Contribution for PR 7"]);
        self.git(
            &seed,
            &["push", "--quiet", "origin", "contributor:refs/pull/7/head"],
        );
        self
    }

    /// Makes the origin and runs `iMi init --repo origin.git` in `work/`; returns the trunk.
    pub fn project_from_origin(&self) -> PathBuf {
        self.origin();
        let work = self.root().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let origin = self.origin_path().display().to_string();
        self.imi_in(&work, &["init", "--repo", &origin]).data();
        self.trunk()
    }

    /// Runs `iMi --json ARGS` in the trunk.
    pub fn imi(&self, args: &[&str]) -> Run {
        self.imi_in(&self.trunk(), args)
    }

    /// Returns the iMi command (with the sandbox environment) for `args`, run in `dir`.
    pub fn imi_command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(imi_bin());
        self.env(&mut cmd);
        cmd.current_dir(dir)
            .arg("--json")
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `iMi --json ARGS` in `dir`.
    pub fn imi_in(&self, dir: &Path, args: &[&str]) -> Run {
        run_output(self.imi_command(dir, args).output().expect("running iMi"))
    }

    /// Runs `iMi ARGS` (text output) in the trunk.
    pub fn imi_text(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(imi_bin());
        self.env(&mut cmd);
        let out = cmd
            .current_dir(self.trunk())
            .args(args)
            .output()
            .expect("running iMi");
        Run {
            code: out.status.code().unwrap_or(-1),
            json: Value::Null,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Commits `file` with `content` in `worktree`.
    pub fn commit(&self, worktree: &Path, file: &str, content: &str, message: &str) {
        std::fs::write(worktree.join(file), content).unwrap();
        self.git(worktree, &["add", file]);
        self.git(worktree, &["commit", "--quiet", "-m", message]);
    }

    /// Returns the folders `git worktree list` shows, trunk first.
    pub fn git_worktrees(&self) -> Vec<String> {
        self.git(&self.trunk(), &["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .map(|p| {
                Path::new(p)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    /// Returns whether local branch `branch` exists.
    pub fn branch_exists(&self, branch: &str) -> bool {
        Command::new("git")
            .arg("-C")
            .arg(self.trunk())
            .args([
                "show-ref",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ])
            .status()
            .unwrap()
            .success()
    }
}

pub fn run_output(out: Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "iMi --json printed no JSON document ({e}): {stdout:?}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
