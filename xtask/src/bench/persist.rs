//! Session persistence (issue 7): restore of a 20-tab, 100-pane session from PostgreSQL next
//! to Zellij's own resurrection of the same session from its cache file, keystroke echo with
//! the database stopped against persistence off, and the cost of a flush where one pane of 100
//! changed (next to the first, full flush of the same session).

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use ::tests::services::Postgres;
use anyhow::{bail, Context, Result};

use super::{
    reference::stock_zellij,
    report::{median, Goal, Row},
    session::{Session, PROMPT},
    Bench, BenchContext,
};

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
const TABS: usize = 20;
const PANES_PER_TAB: usize = 5;
const SESSION: &str = "bench-persist";
const POLL: Duration = Duration::from_millis(3);

pub(crate) struct Persist;

impl Bench for Persist {
    fn name(&self) -> &'static str {
        "persist"
    }

    fn reference(&self) -> String {
        "Zellij 0.45.1's own resurrection; persistence off; a full flush".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        anyhow::ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let zellij = stock_zellij(ctx)?;
        let mut pg = Postgres::start().context("starting PostgreSQL for the persist bench")?;
        let url = pg.create_database("bench_persist")?;
        let mut rows = Vec::new();

        // Save the session once: launch it from a layout, wait for the full flush.
        let (full_flush_ms, one_change_ms) = save_session(ctx, &url)?;
        let runs = ctx.samples(5, 2);
        let mut perth_ms = Vec::new();
        let mut zellij_ms = Vec::new();
        let mut cache_ms = Vec::new();
        for run in 0..runs {
            perth_ms.push(restore_perth(&ctx.perth_bin, &url)?);
            zellij_ms.push(resurrect_zellij(&zellij)?);
            cache_ms.push(resurrect_perth_from_cache(&ctx.perth_bin)?);
            eprintln!(
                "bench persist: restore {}/{runs}: perth from the database {:.1} ms, zellij from its cache {:.1} ms, perth from zellij's cache {:.1} ms",
                run + 1,
                perth_ms[run],
                zellij_ms[run],
                cache_ms[run]
            );
        }
        let (p, z) = (median(&perth_ms), median(&zellij_ms));
        let restore = format!(
            "restore {TABS} tabs / {} panes from PostgreSQL, attach to full screen",
            TABS * PANES_PER_TAB
        );
        rows.push(Row::new(
            restore.clone(),
            p.unwrap_or(f64::NAN),
            z.unwrap_or(f64::NAN),
            "ms",
            Goal::RatioAtMost(1.0),
        ));
        rows.push(Row::new(
            format!("{restore}, vs perth from Zellij's cache (persistence off)"),
            p.unwrap_or(f64::NAN),
            median(&cache_ms).unwrap_or(f64::NAN),
            "ms",
            Goal::None,
        ));
        rows.push(Row::new(
            format!("{restore} (absolute goal)"),
            p.unwrap_or(f64::NAN),
            z.unwrap_or(f64::NAN),
            "ms",
            Goal::AtMost(150.0),
        ));

        let keys = ctx.samples(40, 15);
        let off = echo_latency(&ctx.perth_bin, "enabled false", keys)?;
        pg.stop()?;
        let stalled = echo_latency(
            &ctx.perth_bin,
            &format!("flush_interval_ms 200\ndatabase_url \"{url}\""),
            keys,
        )?;
        rows.push(Row::new(
            "keystroke echo p50, database stopped vs persistence off",
            stalled,
            off,
            "ms",
            Goal::RatioAtMost(1.05),
        ));
        rows.push(Row::new(
            format!(
                "flush, {} panes, one renamed (its pane and tab rows)",
                TABS * PANES_PER_TAB
            ),
            one_change_ms,
            full_flush_ms,
            "ms",
            Goal::None,
        ));
        Ok(rows)
    }
}

/// Returns the bench's session: 20 tabs under Zellij's default tab template. The status bar is
/// named by its alias, as Zellij's default layout names it, so each side runs the bar its
/// configuration gives that alias (perth's own light bar, Zellij's bar; issue 22).
fn layout() -> String {
    let mut kdl = String::from("layout {\n    default_tab_template {\n        pane size=1 borderless=true {\n            plugin location=\"zellij:tab-bar\"\n        }\n        children\n        pane size=1 borderless=true {\n            plugin location=\"status-bar\"\n        }\n    }\n");
    for t in 1..=TABS {
        kdl.push_str(&format!(
            "    tab name=\"t{t:02}\"{} {{\n",
            if t == 1 { " focus=true" } else { "" }
        ));
        kdl.push_str("        pane split_direction=\"vertical\" {\n");
        for p in 0..PANES_PER_TAB {
            kdl.push_str(&format!(
                "            pane name=\"p{t:02}-{p}\" cwd=\"/tmp\"\n"
            ));
        }
        kdl.push_str("        }\n    }\n");
    }
    kdl.push_str("}\n");
    kdl
}

fn ready(screen: &str) -> bool {
    let first = screen.lines().next().unwrap_or_default();
    first.contains("t01")
        && first.contains("t05")
        && screen.contains(PROMPT.trim_end())
        && screen.contains("LOCK")
}

fn configure(session: &Session, persistence: &str) -> Result<()> {
    let file = session.env().config_dir().join("perth/config.kdl");
    let mut text = fs::read_to_string(&file).unwrap_or_default();
    text.push_str(&format!(
        "perth {{\n    persistence {{\n{persistence}\n    }}\n}}\n"
    ));
    fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
}

fn status(session: &Session, perth: &Path) -> Result<serde_json::Value> {
    let out = session
        .env()
        .command(perth)
        .args(["--session", SESSION, "status"])
        .output()
        .context("running perth status")?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "perth status printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn wait_flush(session: &Session, perth: &Path, since_ms: u64) -> Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st = status(session, perth)?;
        let p = &st["persistence"];
        if p["state"] == "ok"
            && p["pending_changes"].as_u64() == Some(0)
            && p["last_flush_at"].as_u64().unwrap_or(0) > since_ms
        {
            return Ok(st);
        }
        if Instant::now() > deadline {
            bail!("no persistence flush after {since_ms}: {p}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Writes the bench's layout into `session`'s home, starts `bin` with it as a new session and
/// waits for its full screen (`what` names it for the timeout's error).
fn start_session(session: &Session, bin: &Path, what: &str) -> Result<()> {
    let file = session.home().join("bench-persist.kdl");
    fs::write(&file, layout())?;
    session.exec(&[
        bin,
        Path::new("--session"),
        Path::new(SESSION),
        Path::new("--new-session-with-layout"),
        &file,
    ])?;
    session.wait_for_screen(what, POLL, Duration::from_secs(120), ready)?;
    Ok(())
}

/// The bench's 100-pane session persisting to `url`, after its first (full) flush.
pub(crate) struct Persisting {
    session: Session,
    /// How long the first flush, which wrote every row, took (ms).
    pub(crate) full_ms: f64,
}

impl Persisting {
    /// Starts the session with persistence to `url` and waits for its first flush.
    pub(crate) fn start(ctx: &BenchContext<'_>, url: &str) -> Result<Self> {
        let session = Session::new(WIDTH, HEIGHT)?;
        configure(
            &session,
            &format!("flush_interval_ms 200\ndatabase_url \"{url}\""),
        )?;
        start_session(&session, &ctx.perth_bin, "the 100-pane session")?;
        let st = wait_flush(&session, &ctx.perth_bin, 0)?;
        // The first flush of the session wrote every row: the reference for a one-pane flush.
        let full_ms = st["persistence"]["last_flush_ms"]
            .as_f64()
            .unwrap_or(f64::NAN);
        Ok(Self { session, full_ms })
    }

    /// Renames the focused pane (`renamed-{n}`) and returns how long the flush that followed
    /// took, when it wrote that change alone (the pane's row and its tab's layout, which holds
    /// the pane's name); `None` when it took another change along (a shell's prompt redrawn,
    /// on a busy machine).
    pub(crate) fn one_pane_flush(&self, ctx: &BenchContext<'_>, n: usize) -> Result<Option<f64>> {
        let since = now_ms();
        let out = self
            .session
            .env()
            .command(&ctx.perth_bin)
            .args([
                "--session",
                SESSION,
                "action",
                "rename-pane",
                &format!("renamed-{n}"),
            ])
            .output()?;
        anyhow::ensure!(out.status.success(), "rename-pane failed");
        let st = wait_flush(&self.session, &ctx.perth_bin, since)?;
        let p = &st["persistence"];
        Ok(p["last_rows_written"]
            .as_u64()
            .is_some_and(|w| (1..=2).contains(&w))
            .then(|| p["last_flush_ms"].as_f64().unwrap_or(f64::NAN)))
    }
}

impl Drop for Persisting {
    fn drop(&mut self) {
        let _ = kill_server(&self.session);
    }
}

/// Returns the first (full) flush of the 100-pane session persisting to `url` and the median
/// of flushes of one renamed pane, in ms.
pub(crate) fn save_session(ctx: &BenchContext<'_>, url: &str) -> Result<(f64, f64)> {
    let session = Persisting::start(ctx, url)?;
    let wanted = ctx.samples(7, 3);
    let mut partial = Vec::new();
    // A flush that took another change along is no one-pane flush: the rename is made again,
    // up to three times as many renames in all.
    for n in 0..wanted * 3 {
        if partial.len() == wanted {
            break;
        }
        partial.extend(session.one_pane_flush(ctx, n)?);
    }
    anyhow::ensure!(
        partial.len() == wanted,
        "only {} of {wanted} renames were flushed alone",
        partial.len()
    );
    eprintln!(
        "bench persist: full flush {:.1} ms, one-pane flushes {partial:?}",
        session.full_ms
    );
    Ok((session.full_ms, median(&partial).unwrap_or(f64::NAN)))
}

fn kill_server(session: &Session) -> Result<()> {
    let pid = session.server_pid()?;
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    Ok(())
}

/// A new machine: fresh home, the database shared; `perth attach NAME` until the full screen.
fn restore_perth(perth: &Path, url: &str) -> Result<f64> {
    let session = Session::new(WIDTH, HEIGHT)?;
    configure(
        &session,
        &format!("flush_interval_ms 200\ndatabase_url \"{url}\""),
    )?;
    let started = session.exec(&[perth, Path::new("attach"), Path::new(SESSION)])?;
    session.wait_for_screen("the restored session", POLL, Duration::from_secs(60), ready)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    // Let the restored server write once, so the database holds the session for the next run.
    wait_flush(&session, perth, 0)?;
    kill_server(&session)?;
    Ok(ms)
}

/// Zellij 0.45.1 resurrecting the same layout from its own cache file: the session is saved
/// (`action save-session`), its server killed, and `zellij attach NAME` timed to the full screen.
fn resurrect_zellij(zellij: &Path) -> Result<f64> {
    resurrect_from_cache(zellij, false)
}

/// The same as [`resurrect_zellij`] with perth (persistence off): perth's own cost of starting
/// 100 panes, which a restore from the database pays too.
fn resurrect_perth_from_cache(perth: &Path) -> Result<f64> {
    resurrect_from_cache(perth, true)
}

fn resurrect_from_cache(zellij: &Path, is_perth: bool) -> Result<f64> {
    let mut session = Session::new(WIDTH, HEIGHT)?;
    if is_perth {
        configure(&session, "enabled false")?;
    }
    start_session(&session, zellij, "zellij's 100-pane session")?;
    let out = session
        .env()
        .command(zellij)
        .args(["--session", SESSION, "action", "save-session"])
        .output()?;
    anyhow::ensure!(out.status.success(), "zellij action save-session failed");
    let cache = session.env().cache_dir().join("zellij");
    let deadline = Instant::now() + Duration::from_secs(30);
    while ::tests::find_file(&cache, "session-layout.kdl").is_none() {
        if Instant::now() > deadline {
            bail!(
                "zellij wrote no session-layout.kdl under {}",
                cache.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_server(&session)?;
    session.new_terminal(WIDTH, HEIGHT)?;
    let started = session.exec(&[zellij, Path::new("attach"), Path::new(SESSION)])?;
    session.wait_for_screen(
        "zellij's resurrected session",
        POLL,
        Duration::from_secs(60),
        ready,
    )?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    kill_server(&session)?;
    Ok(ms)
}

/// Median time from a key press to its echo on screen, over `keys` presses.
fn echo_latency(perth: &Path, persistence: &str, keys: usize) -> Result<f64> {
    let session = Session::new(WIDTH, HEIGHT)?;
    configure(&session, persistence)?;
    session.exec(&[perth, Path::new("--session"), Path::new(SESSION)])?;
    session.wait_for_screen("perth's workspace", POLL, Duration::from_secs(60), |s| {
        s.contains(PROMPT.trim_end())
    })?;
    // Settle: the writer has tried (and, with the database stopped, failed) at least once.
    std::thread::sleep(Duration::from_secs(2));
    Ok(median(&session.echo_times(keys)?).unwrap_or(f64::NAN))
}
