//! A team server's price (issue 26): zdrive `pane log`, iMi `list --json` and a perth flush of the 100-pane session over TLS with passwords, against the same in plain text to the same kind of local server.
//!
//! The secured servers are the test harness's (`start_secured`, a CA made for the run,
//! certificates for `localhost`): Redis over `rediss://` with an ACL user and the CA file,
//! PostgreSQL with `sslmode=verify-full` and SCRAM-SHA-256. The plain-text side authenticates
//! the same way (the same Redis server's plain port with the same ACL user; a PostgreSQL
//! server asking for SCRAM-SHA-256 passwords over plain TCP), so each ratio is the price of
//! TLS alone: a team server asks for passwords either way. Plain and TLS samples alternate,
//! so a machine that slows down mid-run slows both sides.

use std::time::Instant;

use ::tests::services::{Postgres, Redis, TestCa, REDIS_ACL_USER};
use ::tests::IsolatedEnv;
use anyhow::{Context, Result};

use super::imi::{imi_bin, ImiRunner};
use super::persist::Persisting;
use super::report::{median, Goal, Row};
use super::zdrive::{run_ok, zdrive_bin};
use super::{Bench, BenchContext};

pub(crate) struct Tls;

impl Bench for Tls {
    fn name(&self) -> &'static str {
        "tls"
    }

    fn reference(&self) -> String {
        "the same commands in plain text to the same local servers".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let ca = TestCa::generate("perth bench CA")?;
        let mut rows = Vec::new();
        rows.push(zdrive_log(ctx, &ca)?);
        rows.push(imi_list(ctx, &ca)?);
        rows.extend(perth_flush(ctx, &ca)?);
        Ok(rows)
    }
}

/// Returns the medians of `samples` alternating runs of `tls` and `plain`, in ms, after a warm-up.
fn alternate(
    samples: usize,
    mut tls: impl FnMut() -> Result<()>,
    mut plain: impl FnMut() -> Result<()>,
) -> Result<(f64, f64)> {
    for _ in 0..3 {
        tls()?;
        plain()?;
    }
    let (mut t, mut p) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for _ in 0..samples {
        let started = Instant::now();
        tls()?;
        t.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = Instant::now();
        plain()?;
        p.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((
        median(&t).unwrap_or(f64::NAN),
        median(&p).unwrap_or(f64::NAN),
    ))
}

fn zdrive_log(ctx: &BenchContext<'_>, ca: &TestCa) -> Result<Row> {
    let zdrive = zdrive_bin(ctx)?;
    let secured = Redis::start_secured(ca).context("starting redis-server with TLS")?;
    let tls_url = secured
        .tls_url(true)
        .context("a secured server has a TLS URL")?;
    let password = secured
        .password()
        .context("a secured server has a password")?;
    let plain_url = format!(
        "redis://{REDIS_ACL_USER}:{password}@127.0.0.1:{}/0",
        secured.port()
    );
    let env = IsolatedEnv::new()?;
    let log_args = [
        "pane",
        "log",
        "bench",
        "checkpoint: parser half done",
        "--type",
        "checkpoint",
    ];
    let samples = ctx.samples(200, 30);
    eprintln!(
        "bench tls: {samples} x zdrive pane log over rediss:// and redis:// (same server and ACL user)"
    );
    let (tls, plain_ms) = alternate(
        samples,
        || {
            run_ok(
                env.command(&zdrive)
                    .args(log_args)
                    .env("ZDRIVE_REDIS_URL", &tls_url)
                    .env("ZDRIVE_REDIS_CA_FILE", ca.cert()),
            )
        },
        || {
            run_ok(
                env.command(&zdrive)
                    .args(log_args)
                    .env("ZDRIVE_REDIS_URL", &plain_url),
            )
        },
    )?;
    Ok(Row::new(
        "zdrive pane log, rediss:// vs redis://, both with a password",
        tls,
        plain_ms,
        "ms",
        Goal::RatioAtMost(1.10),
    ))
}

fn imi_list(ctx: &BenchContext<'_>, ca: &TestCa) -> Result<Row> {
    let bin = imi_bin(ctx)?;
    let plain_pg = Postgres::start_with_passwords().context("starting PostgreSQL")?;
    let secured_pg = Postgres::start_secured(ca).context("starting PostgreSQL with TLS")?;
    let plain_url = plain_pg.create_database("bench_tls_imi")?;
    secured_pg.create_database("bench_tls_imi")?;
    let tls_url = secured_pg.url_for("bench_tls_imi");
    let count = if ctx.quick { 50 } else { 200 };
    let mut envs = Vec::new();
    for url in [&tls_url, &plain_url] {
        let mut env = IsolatedEnv::new()?;
        env.set_var("IMI_DATABASE_URL", url.as_str());
        envs.push(env);
    }
    let runners: Vec<ImiRunner<'_>> = envs
        .iter()
        .map(|env| ImiRunner {
            env,
            bin: bin.clone(),
        })
        .collect();
    eprintln!("bench tls: creating {count} worktrees twice for iMi list --json");
    let mut trunks = Vec::new();
    for imi in &runners {
        let trunk = imi.project("tlsbench", 3)?;
        for i in 0..count {
            imi.run(&trunk, &["feat", &format!("l{i}"), "--no-hooks"])?;
        }
        trunks.push(trunk);
    }
    let samples = ctx.samples(31, 11);
    eprintln!("bench tls: {samples} x iMi list --json over verify-full and plain text");
    let (tls, plain) = alternate(
        samples,
        || runners[0].run(&trunks[0], &["--json", "list"]),
        || runners[1].run(&trunks[1], &["--json", "list"]),
    )?;
    Ok(Row::new(
        format!("iMi list --json, {count} rows, verify-full vs plain, both SCRAM"),
        tls,
        plain,
        "ms",
        Goal::RatioAtMost(1.10),
    ))
}

fn perth_flush(ctx: &BenchContext<'_>, ca: &TestCa) -> Result<Vec<Row>> {
    let plain_pg = Postgres::start_with_passwords().context("starting PostgreSQL")?;
    let secured_pg = Postgres::start_secured(ca).context("starting PostgreSQL with TLS")?;
    let plain_url = plain_pg.create_database("bench_tls_persist")?;
    secured_pg.create_database("bench_tls_persist")?;
    let tls_url = secured_pg.url_for("bench_tls_persist");
    eprintln!("bench tls: the 100-pane session persisting over verify-full and in plain text");
    let tls_session = Persisting::start(ctx, &tls_url)?;
    let plain_session = Persisting::start(ctx, &plain_url)?;
    let wanted = ctx.samples(15, 5);
    let (mut tls, mut plain) = (Vec::new(), Vec::new());
    // Alternating renames in the two sessions; a flush that took another change along does not
    // count (up to three times as many renames in all).
    for n in 0..wanted * 3 {
        if tls.len() >= wanted && plain.len() >= wanted {
            break;
        }
        tls.extend(tls_session.one_pane_flush(ctx, n)?);
        plain.extend(plain_session.one_pane_flush(ctx, n)?);
    }
    anyhow::ensure!(
        tls.len() >= wanted && plain.len() >= wanted,
        "only {} (TLS) and {} (plain) of {wanted} renames were flushed alone",
        tls.len(),
        plain.len()
    );
    let (tls_one, plain_one) = (
        median(&tls).unwrap_or(f64::NAN),
        median(&plain).unwrap_or(f64::NAN),
    );
    let (tls_full, plain_full) = (tls_session.full_ms, plain_session.full_ms);
    Ok(vec![
        Row::new(
            "perth flush of the 100-pane session, one pane renamed, verify-full vs plain",
            tls_one,
            plain_one,
            "ms",
            Goal::RatioAtMost(1.10),
        ),
        Row::new(
            "perth first flush of the 100-pane session (connect and every row), verify-full vs plain",
            tls_full,
            plain_full,
            "ms",
            Goal::None,
        ),
    ])
}
