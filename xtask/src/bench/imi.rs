//! iMi against raw git: `add` against `git worktree add`, `status` over 50 worktrees against a
//! sequential `git status` + `git rev-list` loop and against worktrunk's `wt list` (installed
//! into the bench cache), `list --json` over 1,000 rows, and the
//! monitor's write-to-event latency across 20 worktrees.
//!
//! Every iMi run uses an isolated HOME, so the default SQLite store is fresh. The iMi binary is
//! the one built next to perth (`PERTH_BENCH_IMI_BIN` overrides it).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ::tests::IsolatedEnv;
use anyhow::{bail, ensure, Context, Result};

use super::reference::{worktrunk, WORKTRUNK_VERSION};
use super::report::{median, Goal, Row};
use super::{Bench, BenchContext};

pub(crate) struct Imi;

impl Bench for Imi {
    fn name(&self) -> &'static str {
        "imi"
    }

    fn reference(&self) -> String {
        "raw git (worktree add; status + rev-list loop; worktree list) and worktrunk's `wt list`"
            .to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let bin = imi_bin(ctx)?;
        let env = IsolatedEnv::new()?;
        let imi = ImiRunner { env: &env, bin };
        let mut rows = Vec::new();

        // add: 5,000 files, hooks off.
        let big = imi.project("big", 5_000)?;
        let adds = ctx.samples(15, 5);
        eprintln!("bench imi: {adds} x `iMi add feat` vs `git worktree add` on 5,000 files");
        let (mut imi_add, mut git_add) = (Vec::new(), Vec::new());
        for i in 0..adds {
            imi_add.push(imi.time(&big, &["feat", &format!("x{i}"), "--no-hooks"])?);
            let dir = format!("../feat-g{i}");
            let branch = format!("feat/g{i}");
            git_add.push(time_ms(|| {
                git(&big, &["worktree", "add", "--quiet", "-b", &branch, &dir])
            })?);
        }
        rows.push(Row::new(
            "add feat x (5,000 files)",
            median(&imi_add).unwrap_or(0.0),
            median(&git_add).unwrap_or(0.0),
            "ms",
            Goal::RatioAtMost(1.10),
        ));

        // status: 50 worktrees, 10 dirty.
        let wide = imi.project("wide", 500)?;
        for i in 0..50 {
            imi.run(&wide, &["feat", &format!("w{i}"), "--no-hooks"])?;
            if i % 5 == 0 {
                let wt = wide.parent().unwrap().join(format!("feat-w{i}"));
                std::fs::write(wt.join("src/dirty.txt"), "dirty")?;
                std::fs::write(wt.join("README.md"), "changed")?;
            }
        }
        let worktrees: Vec<PathBuf> = (0..50)
            .map(|i| wide.parent().unwrap().join(format!("feat-w{i}")))
            .collect();
        let runs = ctx.samples(15, 5);
        let wt = worktrunk(ctx)?;
        eprintln!(
            "bench imi: {runs} x `iMi status` over 50 worktrees vs a sequential git loop \
             and worktrunk's `wt list`"
        );
        let (mut imi_status, mut loop_status, mut wt_status) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            imi_status.push(imi.time(&wide, &["--json", "status"])?);
            wt_status.push(time_ms(|| {
                run_quiet(&env, &wt, &wide, &["list", "--format", "json"])
            })?);
            loop_status.push(time_ms(|| {
                for wt in &worktrees {
                    git(wt, &["status", "--porcelain"])?;
                    git(wt, &["rev-list", "--left-right", "--count", "main...HEAD"])?;
                }
                Ok(())
            })?);
        }
        rows.push(Row::new(
            "status, 50 worktrees (10 dirty)",
            median(&imi_status).unwrap_or(0.0),
            median(&loop_status).unwrap_or(0.0),
            "ms",
            Goal::RatioAtMost(0.5),
        ));
        rows.push(Row::new(
            format!("status, 50 worktrees vs worktrunk {WORKTRUNK_VERSION} `wt list`"),
            median(&imi_status).unwrap_or(0.0),
            median(&wt_status).unwrap_or(0.0),
            "ms",
            Goal::RatioAtMost(1.0),
        ));

        // list: 1,000 rows.
        let many = imi.project("many", 3)?;
        let count = if ctx.quick { 200 } else { 1_000 };
        eprintln!("bench imi: creating {count} worktrees for `iMi list --json`");
        for i in 0..count {
            imi.run(&many, &["feat", &format!("l{i}"), "--no-hooks"])?;
        }
        let (mut imi_list, mut git_list) = (Vec::new(), Vec::new());
        for _ in 0..ctx.samples(31, 11) {
            imi_list.push(imi.time(&many, &["--json", "list"])?);
            git_list.push(time_ms(|| {
                git(&many, &["worktree", "list", "--porcelain"])
            })?);
        }
        rows.push(Row::new(
            format!("list --json, {count} rows (median)"),
            median(&imi_list).unwrap_or(0.0),
            median(&git_list).unwrap_or(0.0),
            "ms",
            Goal::AtMost(20.0),
        ));

        // monitor: write -> printed event, across 20 worktrees.
        let watched = imi.project("watched", 50)?;
        for i in 0..20 {
            imi.run(&watched, &["feat", &format!("m{i}"), "--no-hooks"])?;
        }
        let writes = ctx.samples(1_000, 200);
        eprintln!("bench imi: {writes} writes across 20 worktrees under `iMi monitor`");
        let latencies = imi.monitor_latencies(&watched, writes)?;
        rows.push(Row::new(
            format!("monitor write->event p99 ({writes} writes)"),
            percentile(&latencies, 99.0),
            0.0,
            "ms",
            Goal::AtMost(50.0),
        ));
        rows.push(Row::new(
            "monitor write->event p50",
            percentile(&latencies, 50.0),
            0.0,
            "ms",
            Goal::None,
        ));
        Ok(rows)
    }
}

/// Returns the iMi binary to measure: `PERTH_BENCH_IMI_BIN`, else the one next to perth.
pub(crate) fn imi_bin(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    let bin = match std::env::var_os("PERTH_BENCH_IMI_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => ctx
            .perth_bin
            .parent()
            .context("the perth binary has no folder")?
            .join("iMi"),
    };
    ensure!(
        bin.is_file(),
        "{} does not exist; build it with `cargo xtask build` or set PERTH_BENCH_IMI_BIN",
        bin.display()
    );
    Ok(bin)
}

/// Runs the iMi binary under test in one isolated HOME (and its environment's database).
pub(crate) struct ImiRunner<'a> {
    pub(crate) env: &'a IsolatedEnv,
    pub(crate) bin: PathBuf,
}

impl ImiRunner<'_> {
    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        quiet_command(self.env, &self.bin, dir, args)
    }

    pub(crate) fn run(&self, dir: &Path, args: &[&str]) -> Result<()> {
        run_quiet(self.env, &self.bin, dir, args)
    }

    fn time(&self, dir: &Path, args: &[&str]) -> Result<f64> {
        time_ms(|| self.run(dir, args))
    }

    /// Makes a bare origin with `files` files, clones it with `iMi init --repo`; returns the trunk.
    pub(crate) fn project(&self, name: &str, files: usize) -> Result<PathBuf> {
        let root = self.env.root().join("repos");
        let seed = root.join(format!("{name}-seed"));
        std::fs::create_dir_all(&seed)?;
        git(&seed, &["init", "--quiet", "-b", "main"])?;
        for i in 0..files {
            let dir = seed.join(format!("src/d{}", i % 100));
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(format!("f{i}.txt")), format!("file {i}\n"))?;
        }
        std::fs::write(seed.join("README.md"), "bench\n")?;
        git(&seed, &["add", "-A"])?;
        git(
            &seed,
            &[
                "-c",
                "user.name=bench",
                "-c",
                "user.email=bench@example.com",
                "commit",
                "--quiet",
                "-m",
                "Generated",
            ],
        )?;
        let bare = root.join(format!("{name}.git"));
        git(
            &root,
            &[
                "clone",
                "--quiet",
                "--bare",
                &seed.display().to_string(),
                &bare.display().to_string(),
            ],
        )?;
        let work = root.join("work");
        std::fs::create_dir_all(&work)?;
        self.run(&work, &["init", "--repo", &bare.display().to_string()])?;
        Ok(work.join(name).join("trunk-main"))
    }

    /// Writes `writes` files round-robin across the project's worktrees and returns each
    /// write-to-printed-event latency in ms.
    fn monitor_latencies(&self, trunk: &Path, writes: usize) -> Result<Vec<f64>> {
        let mut child = self
            .command(trunk, &["--json", "monitor"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting iMi monitor")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(10))
            .context("iMi monitor printed nothing")?;
        ensure!(
            ready.contains("\"ready\""),
            "unexpected first line: {ready}"
        );
        let project = trunk.parent().context("trunk has no parent")?;
        let mut latencies = Vec::with_capacity(writes);
        for i in 0..writes {
            let worktree = format!("feat-m{}", i % 20);
            let file = format!("bench-{i}.txt");
            let path = project.join(&worktree).join(&file);
            let needle = format!("\"path\":\"{file}\"");
            let start = Instant::now();
            std::fs::write(&path, "x")?;
            loop {
                let line = rx
                    .recv_timeout(Duration::from_secs(5))
                    .with_context(|| format!("no event for {}", path.display()))?;
                if line.contains(&needle) {
                    break;
                }
            }
            latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let _ = child.kill();
        let _ = child.wait();
        Ok(latencies)
    }
}

/// Runs `git -C DIR ARGS...`, failing with its stderr on a non-zero exit.
/// Returns `bin ARGS` in `dir` under `env`, its output discarded but for stderr.
fn quiet_command(env: &IsolatedEnv, bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = env.command(bin);
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `bin ARGS` in `dir` under `env`; a failure carries its stderr.
fn run_quiet(env: &IsolatedEnv, bin: &Path, dir: &Path, args: &[&str]) -> Result<()> {
    let name = bin.file_name().unwrap_or_default().to_string_lossy();
    let out = quiet_command(env, bin, dir, args)
        .output()
        .with_context(|| format!("running {name} {args:?}"))?;
    if !out.status.success() {
        bail!(
            "{name} {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn time_ms(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64() * 1000.0)
}

/// Returns the nearest-rank percentile `p` of `samples` (0 when empty).
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
