//! zdrive as whole processes, as agents call it: `pane log` against `redis-cli` running the
//! same MULTI (LPUSH, LTRIM, HSET), `pane history --last 20 --format json` against
//! `redis-cli LRANGE`, and the same two commands on the embedded store next to them.
//!
//! Each sample is one process from spawn to exit; the figure is the median. zdrive comes from
//! the folder of the perth binary under test (`cargo xtask build` builds both) or `ZDRIVE_BENCH_BIN`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use ::tests::{IsolatedEnv, Redis};
use anyhow::{bail, Context, Result};

use super::report::{Goal, Row};
use super::{Bench, BenchContext};

pub(crate) struct Zdrive;

impl Bench for Zdrive {
    fn name(&self) -> &'static str {
        "zdrive"
    }

    fn reference(&self) -> String {
        "redis-cli running the same Redis commands".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let samples = ctx.samples(200, 30);
        let zdrive = zdrive_bin(ctx)?;
        let redis = Redis::start().context("starting redis-server for the zdrive benchmark")?;
        let port = redis.port().to_string();
        let env = IsolatedEnv::new()?;
        let zd = |redis_url: Option<&str>, args: &[&str]| {
            let mut cmd = env.command(&zdrive);
            cmd.args(args);
            match redis_url {
                Some(url) => cmd.env("ZDRIVE_REDIS_URL", url),
                None => cmd.env("ZDRIVE_STORE", "embedded"),
            };
            cmd
        };
        let url = redis.url();
        let log_args = [
            "pane",
            "log",
            "bench",
            "checkpoint: parser half done",
            "--type",
            "checkpoint",
        ];
        let history_args = [
            "pane", "history", "bench", "--last", "20", "--format", "json",
        ];

        eprintln!("bench zdrive: {samples} x pane log / history on redis, embedded and redis-cli");
        // Fill both stores first, so history reads a full page.
        for _ in 0..25 {
            run_ok(&mut zd(Some(&url), &log_args))?;
            run_ok(&mut zd(None, &log_args))?;
        }
        let redis_log = median(samples, || run_ok(&mut zd(Some(&url), &log_args)))?;
        let embedded_log = median(samples, || run_ok(&mut zd(None, &log_args)))?;
        let entry = r#"{"timestamp":"2026-01-02T03:04:05.000000Z","entry_type":"checkpoint","source":"human","summary":"checkpoint: parser half done","artifacts":[]}"#;
        let multi = format!(
            "MULTI\nLPUSH perth:pane:cli:history '{entry}'\nLTRIM perth:pane:cli:history 0 99\nHSET perth:pane:cli last_accessed 2026-01-02T03:04:05.000000Z\nEXEC\n"
        );
        let cli_log = median(samples, || redis_cli(&port, &[], Some(&multi)))?;

        let redis_history = median(samples, || run_ok(&mut zd(Some(&url), &history_args)))?;
        let embedded_history = median(samples, || run_ok(&mut zd(None, &history_args)))?;
        let cli_history = median(samples, || {
            redis_cli(
                &port,
                &["LRANGE", "perth:pane:bench:history", "0", "19"],
                None,
            )
        })?;

        Ok(vec![
            Row::new(
                "pane log (redis) vs redis-cli MULTI",
                redis_log,
                cli_log,
                "ms",
                Goal::RatioAtMost(1.5),
            ),
            Row::new(
                "history --last 20 json (redis) vs redis-cli LRANGE",
                redis_history,
                cli_history,
                "ms",
                Goal::RatioAtMost(1.5),
            ),
            Row::new(
                "pane log (embedded) vs redis-cli MULTI",
                embedded_log,
                cli_log,
                "ms",
                Goal::None,
            ),
            Row::new(
                "history --last 20 json (embedded) vs redis-cli LRANGE",
                embedded_history,
                cli_history,
                "ms",
                Goal::None,
            ),
        ])
    }
}

/// Returns the zdrive binary to measure: `ZDRIVE_BENCH_BIN`, else the one next to the perth binary.
pub(crate) fn zdrive_bin(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    let zdrive = match std::env::var_os("ZDRIVE_BENCH_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => ctx
            .perth_bin
            .parent()
            .context("the perth binary has no folder")?
            .join("zdrive"),
    };
    anyhow::ensure!(
        zdrive.is_file(),
        "{} does not exist; build it with `cargo xtask build` or set ZDRIVE_BENCH_BIN",
        zdrive.display()
    );
    Ok(zdrive)
}

/// Runs `cmd` to completion, failing on a non-zero exit.
pub(crate) fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .context("running zdrive")?;
    if !out.status.success() {
        bail!("zdrive failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Runs `redis-cli -p PORT ARGS...`, with `stdin` piped in when given.
fn redis_cli(port: &str, args: &[&str], stdin: Option<&str>) -> Result<()> {
    use std::io::Write as _;
    let mut child = Command::new(Path::new("redis-cli"))
        .args(["-p", port])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .spawn()
        .context("running redis-cli")?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let status = child.wait()?;
    anyhow::ensure!(status.success(), "redis-cli failed: {status}");
    Ok(())
}

/// Returns the median wall time of `samples` runs of `f`, in ms, after a short warm-up.
fn median(samples: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(times[times.len() / 2])
}
