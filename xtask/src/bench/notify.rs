//! The notification bench: the speed goals of the notification bus and animation engine (issue 6).
//!
//! - Latency: from `perth action notify` exiting to the notified pane's top border showing an RGB
//!   colour in `tmux capture-pane -e -p`, polled back to back. The reference is one capture round
//!   (spawning `tmux capture-pane`), which is the resolution of that measurement.
//! - CPU: the server's CPU over 10 s with four panes animating, against the same session with none.
//! - Throughput: `cat` of the foundation's 50 MB file in the focused pane while another pane
//!   animates, against the same without any notification, each run in a fresh session; and the
//!   frame rate `perth status` reports during the animated `cat`.
//!
//! Every session uses [`LAYOUT`]: five terminal panes with full frames, the first one focused, so
//! that notifications land on panes that are not focused (those on a focused pane are only brief).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Output,
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::{
    foundation::{text_file, type_command, THROUGHPUT_BYTES, THROUGHPUT_POLL},
    report::{median, percentile, Goal, Row},
    session::{clock_ticks_per_second, ProcessUsage, Session, PROMPT},
    Bench, BenchContext,
};

/// Terminal size of every session, as in the foundation bench.
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

/// The session name the `perth action` calls address.
const SESSION_NAME: &str = "bench-notify";

/// Tab bar, five terminal panes (the first focused, the four others in two columns), status bar.
const LAYOUT: &str = r#"layout {
    pane size=1 borderless=true {
        plugin location="zellij:tab-bar"
    }
    pane split_direction="vertical" {
        pane focus=true
        pane split_direction="horizontal" {
            pane
            pane
        }
        pane split_direction="horizontal" {
            pane
            pane
        }
    }
    pane size=1 borderless=true {
        plugin location="zellij:status-bar"
    }
}
"#;

/// The name the `cat` file gets in the session's home, where the panes' shells start.
const CAT_LINK: &str = "cat.txt";

/// Terminal panes in [`LAYOUT`].
const TERMINAL_PANES: usize = 5;

/// How many panes animate in the CPU measurement.
const ANIMATED_PANES: usize = 4;
/// The window over which server CPU is measured.
const CPU_WINDOW: Duration = Duration::from_secs(10);
/// How long a session rests before its CPU is measured, after notifications were cleared.
const CPU_SETTLE: Duration = Duration::from_secs(2);
/// How long to wait for a border to light up or go dark before giving up.
const BORDER_TIMEOUT: Duration = Duration::from_secs(5);
/// Rest between latency samples, so that each notification finds the animation thread idle.
const LATENCY_REST: Duration = Duration::from_millis(150);
/// How long a fresh session rests before `cat` starts.
const CAT_SETTLE: Duration = Duration::from_secs(2);
/// How often `perth status` is asked for the frame rate while `cat` runs (in both runs alike).
const FPS_POLL: Duration = Duration::from_millis(500);
/// Frame-rate samples taken this soon after `cat` starts are left out: the engine measures output over 250 ms windows.
const FPS_WARMUP: Duration = Duration::from_millis(600);

/// The notification bench.
pub(crate) struct Notify;

impl Bench for Notify {
    fn name(&self) -> &'static str {
        "notify"
    }

    fn reference(&self) -> String {
        "the same perth session without notifications; latency: one tmux capture-pane round"
            .to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let mut rows = Vec::new();

        let session = NotifySession::start(&ctx.perth_bin)?;
        rows.extend(latency(&session, ctx.samples(40, 12))?);
        rows.extend(cpu(&session, ctx.samples(2, 1))?);
        drop(session);

        let file = text_file(&ctx.out_dir(), THROUGHPUT_BYTES)?;
        rows.extend(throughput(&ctx.perth_bin, &file, ctx.samples(3, 1))?);
        Ok(rows)
    }
}

/// A terminal pane's outer box (frame included), as `list-panes --json` gives it.
#[derive(Debug, Clone, PartialEq)]
struct PaneBox {
    /// `terminal_N`, as `--pane-id` takes it.
    id: String,
    x: usize,
    y: usize,
    columns: usize,
}

/// A perth session in [`LAYOUT`] with the panes that can be notified.
struct NotifySession {
    session: Session,
    bin: PathBuf,
    /// The terminal panes that are not focused.
    panes: Vec<PaneBox>,
}

impl NotifySession {
    /// Starts perth with [`LAYOUT`] and waits until every pane shows its prompt.
    fn start(bin: &Path) -> Result<NotifySession> {
        let session = Session::new(WIDTH, HEIGHT)?;
        session.launch(
            bin,
            SESSION_NAME,
            LAYOUT,
            &format!("{TERMINAL_PANES} prompts and the status bar"),
            |screen| screen.matches(PROMPT.trim_end()).count() >= TERMINAL_PANES,
        )?;
        let mut notify = NotifySession {
            session,
            bin: bin.to_owned(),
            panes: Vec::new(),
        };
        notify.panes = notify.unfocused_panes()?;
        Ok(notify)
    }

    /// Runs `perth --session NAME ARGS` and returns its output, whatever its exit code.
    fn perth_output(&self, args: &[&str]) -> Result<Output> {
        self.session
            .command(&self.bin)
            .arg("--session")
            .arg(SESSION_NAME)
            .args(args)
            .output()
            .with_context(|| format!("running perth {}", args.join(" ")))
    }

    /// Runs `perth --session NAME ARGS` and fails unless it exits 0.
    fn perth(&self, args: &[&str]) -> Result<Output> {
        let out = self.perth_output(args)?;
        if !out.status.success() {
            bail!(
                "perth {} exited with {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(out)
    }

    fn notify(&self, pane: &str) -> Result<()> {
        self.perth(&[
            "action",
            "notify",
            "--pane-id",
            pane,
            "--style",
            "error",
            "--message",
            "bench",
        ])
        .map(drop)
    }

    fn clear_all(&self) -> Result<()> {
        self.perth(&["action", "clear-notification", "--all"])
            .map(drop)
    }

    /// Returns the `notifications` object of `perth status`.
    ///
    /// `perth status` exits 1 while some extension is unhealthy (perth-core still loading, say)
    /// but prints the JSON all the same; only the notification engine's part is read here.
    fn status(&self) -> Result<Value> {
        let out = self.perth_output(&["status"])?;
        let status: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "perth status printed no JSON (exit {}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })?;
        let notifications = status["notifications"].clone();
        ensure!(
            notifications.is_object(),
            "perth status has no notifications object: {status}"
        );
        Ok(notifications)
    }

    /// Waits until `perth status` reports at least `count` animated panes.
    fn wait_animated(&self, count: u64) -> Result<Value> {
        let deadline = Instant::now() + BORDER_TIMEOUT;
        loop {
            let status = self.status()?;
            if status["animated_panes"].as_u64().unwrap_or(0) >= count {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("perth status never showed {count} animated panes: {status}");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the terminal panes that are not focused, from `list-panes --json --all`.
    ///
    /// Right after the first full screen `list-panes` can print nothing; it is asked again then.
    fn unfocused_panes(&self) -> Result<Vec<PaneBox>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.perth(&["action", "list-panes", "--json", "--all"])?;
            let parsed = serde_json::from_slice::<Vec<Value>>(&out.stdout)
                .map_err(anyhow::Error::from)
                .and_then(|panes| parse_unfocused_panes(&panes));
            match parsed {
                Ok(panes) if panes.len() >= TERMINAL_PANES - 1 => return Ok(panes),
                _ if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
                _ => bail!(
                    "list-panes never listed {} unfocused terminal panes; it printed: {}",
                    TERMINAL_PANES - 1,
                    String::from_utf8_lossy(&out.stdout)
                ),
            }
        }
    }

    /// Returns the foreground colour of every cell of screen row `row`.
    fn row_colours(&self, row: usize) -> Result<Vec<Fg>> {
        let screen = self.session.capture(true)?;
        Ok(screen.lines().nth(row).map(row_colours).unwrap_or_default())
    }

    /// Reads the screen back to back until `pane`'s top border is (`lit`) or is not an RGB colour
    /// it did not have in `baseline`; returns when the capture that saw it ended.
    fn wait_border(&self, pane: &PaneBox, baseline: &[Fg], lit: bool) -> Result<Instant> {
        let deadline = Instant::now() + BORDER_TIMEOUT;
        loop {
            let colours = self.row_colours(pane.y)?;
            let seen = Instant::now();
            if border_lit(&colours, baseline, pane) == lit {
                return Ok(seen);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{}'s top border (row {}) did not {} within {BORDER_TIMEOUT:?}; the screen was:\n{}",
                    pane.id,
                    pane.y,
                    if lit { "light up" } else { "go back" },
                    self.session.capture(true).unwrap_or_default()
                );
            }
        }
    }
}

/// Returns the unfocused terminal panes of a `list-panes --json --all` answer, left to right, top to bottom.
fn parse_unfocused_panes(panes: &[Value]) -> Result<Vec<PaneBox>> {
    let mut found = Vec::new();
    for pane in panes {
        if pane["is_plugin"] != Value::Bool(false)
            || pane["is_focused"] == Value::Bool(true)
            || pane["is_floating"] == Value::Bool(true)
        {
            continue;
        }
        let number = |key: &str| {
            pane[key]
                .as_u64()
                .map(|n| n as usize)
                .with_context(|| format!("list-panes: a pane without {key}: {pane}"))
        };
        found.push(PaneBox {
            id: format!("terminal_{}", number("id")?),
            x: number("pane_x")?,
            y: number("pane_y")?,
            columns: number("pane_columns")?,
        });
    }
    found.sort_by_key(|p| (p.x, p.y));
    Ok(found)
}

/// A cell's foreground colour in `capture-pane -e` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Fg {
    #[default]
    Default,
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// Returns the foreground colour of each cell of one line of `capture-pane -e -p` output.
///
/// Every character counts as one cell: frames, titles and prompts here are narrow ASCII and box
/// drawing. Escape sequences other than SGR (OSC hyperlinks) are skipped.
fn row_colours(line: &str) -> Vec<Fg> {
    let mut cells = Vec::new();
    let mut fg = Fg::Default;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            cells.push(fg);
            continue;
        }
        match chars.next() {
            Some('[') => {
                let mut params = String::new();
                let mut last = None;
                for c in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        last = Some(c);
                        break;
                    }
                    params.push(c);
                }
                if last == Some('m') {
                    fg = apply_sgr(fg, &params);
                }
            }
            Some(']') => {
                // OSC: up to BEL or ST (ESC \).
                while let Some(c) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    cells
}

/// Returns the foreground colour after the SGR sequence with parameters `params` (`1;38;2;239;83;80`).
fn apply_sgr(mut fg: Fg, params: &str) -> Fg {
    let numbers: Vec<u16> = params
        .split([';', ':'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let mut i = 0;
    while i < numbers.len() {
        let byte = |at: usize| numbers.get(at).map_or(0, |n| *n as u8);
        match numbers[i] {
            0 | 39 => fg = Fg::Default,
            n @ 30..=37 => fg = Fg::Indexed((n - 30) as u8),
            n @ 90..=97 => fg = Fg::Indexed((n - 90 + 8) as u8),
            38 | 48 | 58 => {
                let target = numbers[i];
                let colour = match numbers.get(i + 1) {
                    Some(2) => {
                        let rgb = Fg::Rgb(byte(i + 2), byte(i + 3), byte(i + 4));
                        i += 4;
                        rgb
                    }
                    Some(5) => {
                        let indexed = Fg::Indexed(byte(i + 2));
                        i += 2;
                        indexed
                    }
                    _ => fg,
                };
                if target == 38 {
                    fg = colour;
                }
            }
            _ => {}
        }
        i += 1;
    }
    fg
}

/// Returns whether `pane`'s top border has a cell in an RGB colour that the same cell did not have in `baseline`.
fn border_lit(colours: &[Fg], baseline: &[Fg], pane: &PaneBox) -> bool {
    (pane.x..pane.x + pane.columns).any(|col| {
        let now = colours.get(col).copied().unwrap_or_default();
        matches!(now, Fg::Rgb(..)) && baseline.get(col).copied().unwrap_or_default() != now
    })
}

/// Notify-to-visible latency over `samples` notifications, cycling through the unfocused panes.
fn latency(session: &NotifySession, samples: usize) -> Result<Vec<Row>> {
    eprintln!("bench notify: latency, {samples} notifications");
    session.clear_all()?;
    thread::sleep(Duration::from_millis(300));
    let mut latencies = Vec::new();
    let mut capture_rounds = Vec::new();
    let mut notify_calls = Vec::new();
    let mut list_calls = Vec::new();
    for sample in 0..samples {
        let pane = &session.panes[sample % session.panes.len()];
        // The reference: one capture round, the resolution of the wait below.
        let started = Instant::now();
        let baseline = session.row_colours(pane.y)?;
        capture_rounds.push(ms(started.elapsed()));
        ensure!(
            !border_lit(&baseline, &baseline, pane),
            "cannot happen: a row compared with itself"
        );

        let started = Instant::now();
        session.notify(&pane.id)?;
        let returned = Instant::now();
        notify_calls.push(ms(returned - started));
        let seen = session.wait_border(pane, &baseline, true)?;
        latencies.push(ms(seen - returned));
        if std::env::var_os("PERTH_BENCH_SCREENS").is_some() {
            let row = session.row_colours(pane.y)?;
            let border = row.get(pane.x..pane.x + pane.columns).unwrap_or_default();
            let mut colours: Vec<Fg> = border
                .iter()
                .copied()
                .filter(|fg| matches!(fg, Fg::Rgb(..)))
                .collect();
            let rgb_cells = colours.len();
            colours.dedup();
            colours.sort_by_key(|fg| format!("{fg:?}"));
            colours.dedup();
            eprintln!(
                "bench notify: {} lit after {:.1} ms: {rgb_cells} of the {} cells of its top border (row {}) in {colours:?}",
                pane.id,
                ms(seen - returned),
                border.len(),
                pane.y,
            );
        }

        session.clear_all()?;
        session.wait_border(pane, &baseline, false)?;
        // A no-op round trip through the same command path, for scale.
        let started = Instant::now();
        session.perth(&["action", "list-notifications", "--json"])?;
        list_calls.push(ms(started.elapsed()));
        thread::sleep(LATENCY_REST);
    }
    eprintln!(
        "bench notify: latency samples (ms): {}",
        latencies
            .iter()
            .map(|l| format!("{l:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let capture = median(&capture_rounds).unwrap_or(f64::NAN);
    Ok(vec![
        Row::new(
            format!("notify -> border visible, median ({samples})"),
            median(&latencies).unwrap_or(f64::NAN),
            capture,
            "ms",
            Goal::AtMost(30.0),
        ),
        Row::new(
            "notify -> border visible, p95",
            percentile(&latencies, 95.0).unwrap_or(f64::NAN),
            capture,
            "ms",
            Goal::None,
        ),
        Row::new(
            "`action notify` call vs `list-notifications`",
            median(&notify_calls).unwrap_or(f64::NAN),
            median(&list_calls).unwrap_or(f64::NAN),
            "ms",
            Goal::None,
        ),
    ])
}

/// What one CPU window measured.
struct CpuWindow {
    cpu_percent: f64,
    /// `fps` of `perth status` at the end of the window.
    fps: f64,
    fps_cap: f64,
    /// Overlay frames sent per second over the window; a frame whose cells did not change is not sent.
    frames_per_second: f64,
}

/// Server CPU with [`ANIMATED_PANES`] panes animating against none, `runs` pairs in alternating order.
fn cpu(session: &NotifySession, runs: usize) -> Result<Vec<Row>> {
    let pid = session.session.server_pid()?;
    let (mut idle, mut animated) = (Vec::new(), Vec::new());
    let mut last = None;
    for run in 0..runs {
        let order = if run % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for animate in order {
            let window = cpu_window(session, pid, animate)?;
            eprintln!(
                "bench notify: CPU {}/{runs}, {} panes animating: {:.2} % (fps {}, {:.1} frames/s)",
                run + 1,
                if animate { ANIMATED_PANES } else { 0 },
                window.cpu_percent,
                window.fps,
                window.frames_per_second
            );
            if animate {
                animated.push(window.cpu_percent);
                last = Some(window);
            } else {
                idle.push(window.cpu_percent);
            }
        }
    }
    session.clear_all()?;
    let last = last.context("no animated CPU window was measured")?;
    Ok(vec![
        Row::new(
            format!(
                "server CPU, {ANIMATED_PANES} panes animating ({} s)",
                CPU_WINDOW.as_secs()
            ),
            median(&animated).unwrap_or(f64::NAN),
            median(&idle).unwrap_or(f64::NAN),
            "%",
            Goal::AtMostReferencePlus(2.0),
        ),
        Row::new(
            "fps (perth status) vs fps cap",
            last.fps,
            last.fps_cap,
            "fps",
            Goal::None,
        ),
        Row::new(
            "frames sent (only those with changed cells) vs cap",
            last.frames_per_second,
            last.fps_cap,
            "frames/s",
            Goal::None,
        ),
    ])
}

/// Clears every notification, then notifies [`ANIMATED_PANES`] panes if `animate`, and measures the server's CPU.
fn cpu_window(session: &NotifySession, pid: u32, animate: bool) -> Result<CpuWindow> {
    session.clear_all()?;
    thread::sleep(CPU_SETTLE);
    if animate {
        for pane in &session.panes[..ANIMATED_PANES] {
            session.notify(&pane.id)?;
        }
        session.wait_animated(ANIMATED_PANES as u64)?;
    }
    let before_status = session.status()?;
    let status_at = Instant::now();
    let before = ProcessUsage::read(pid)?;
    let started = Instant::now();
    thread::sleep(CPU_WINDOW);
    let after = ProcessUsage::read(pid)?;
    let seconds = started.elapsed().as_secs_f64();
    let after_status = session.status()?;
    let status_seconds = status_at.elapsed().as_secs_f64();
    if animate {
        ensure!(
            after_status["animated_panes"].as_u64() == Some(ANIMATED_PANES as u64),
            "the animation stopped during the window: {after_status}"
        );
    }
    let cpu_seconds =
        after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / clock_ticks_per_second() as f64;
    let frames = |s: &Value| s["frames_sent"].as_f64().unwrap_or(0.0);
    Ok(CpuWindow {
        cpu_percent: cpu_seconds / seconds * 100.0,
        fps: after_status["fps"].as_f64().unwrap_or(f64::NAN),
        fps_cap: after_status["fps_cap"].as_f64().unwrap_or(f64::NAN),
        frames_per_second: (frames(&after_status) - frames(&before_status)) / status_seconds,
    })
}

/// What one `cat` run measured.
struct CatRun {
    seconds: f64,
    /// `fps` of `perth status` just before `cat` started.
    fps_before: f64,
    /// `fps` of `perth status` while `cat` ran, after [`FPS_WARMUP`].
    fps_during: Vec<f64>,
}

/// `cat FILE` with one pane animating against none, `runs` pairs in alternating order, each in a fresh session.
fn throughput(bin: &Path, file: &Path, runs: usize) -> Result<Vec<Row>> {
    let megabytes = fs::metadata(file)
        .with_context(|| format!("reading the size of {}", file.display()))?
        .len() as f64
        / 1e6;
    // An untimed run first, so that neither side pays for a cold page cache in the figures.
    let warm = cat_run(bin, file, false)?;
    eprintln!("bench notify: cat warm-up (untimed): {:.2} s", warm.seconds);
    let (mut plain, mut animated) = (Vec::new(), Vec::new());
    let (mut fps_before, mut fps_during) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let order = if run % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for animate in order {
            let cat = cat_run(bin, file, animate)?;
            eprintln!(
                "bench notify: cat {}/{runs}, {}: {:.2} s, fps before {} and during {:?}",
                run + 1,
                if animate {
                    "one pane animating"
                } else {
                    "plain"
                },
                cat.seconds,
                cat.fps_before,
                cat.fps_during
            );
            if animate {
                animated.push(megabytes / cat.seconds);
                fps_before.push(cat.fps_before);
                fps_during.extend(cat.fps_during);
            } else {
                plain.push(megabytes / cat.seconds);
            }
        }
    }
    ensure!(
        !fps_during.is_empty(),
        "no frame rate was read while cat ran"
    );
    Ok(vec![
        Row::new(
            format!("cat {megabytes:.0} MB while 1 pane animates"),
            median(&animated).unwrap_or(f64::NAN),
            median(&plain).unwrap_or(f64::NAN),
            "MB/s",
            Goal::RatioAtLeast(0.95),
        ),
        Row::new(
            "fps during cat (median) vs before it",
            median(&fps_during).unwrap_or(f64::NAN),
            median(&fps_before).unwrap_or(f64::NAN),
            "fps",
            Goal::AtMost(30.0),
        ),
        Row::new(
            "fps during cat (highest) vs before it",
            fps_during.iter().copied().fold(f64::NAN, f64::max),
            median(&fps_before).unwrap_or(f64::NAN),
            "fps",
            Goal::None,
        ),
    ])
}

/// Starts a fresh session, notifies one unfocused pane if `animate`, and times `cat FILE` in the focused pane.
fn cat_run(bin: &Path, file: &Path, animate: bool) -> Result<CatRun> {
    let session = NotifySession::start(bin)?;
    if animate {
        session.notify(&session.panes[0].id)?;
        session.wait_animated(1)?;
    }
    // The engine's output rate still counts the session's first screens for a moment.
    thread::sleep(CAT_SETTLE);
    let fps_before = session.status()?["fps"].as_f64().unwrap_or(f64::NAN);
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let marker = format!("DONE-{nonce:x}");
    // printf joins the marker only in its output, so the echoed command line never matches it.
    // A short relative path, so the command fits on one row of the narrow pane and is seen echoed.
    let link = session.session.home().join(CAT_LINK);
    std::os::unix::fs::symlink(file, &link)
        .with_context(|| format!("linking {} to {}", link.display(), file.display()))?;
    let command = format!("cat {CAT_LINK}; printf '%s-%s\\n' DONE {nonce:x}");
    type_command(&session.session, &command)?;
    let started = Instant::now();
    session.session.press("Enter")?;
    let deadline = started + Duration::from_secs(300);
    let mut next_fps = started + FPS_WARMUP;
    let mut fps_during = Vec::new();
    loop {
        if session.session.capture(false)?.contains(&marker) {
            break;
        }
        if Instant::now() >= deadline {
            bail!("cat did not finish within 300 s");
        }
        // Asked in both runs alike, so both pay the same for it.
        if Instant::now() >= next_fps {
            let fps = session.status()?["fps"].as_f64().unwrap_or(f64::NAN);
            if !session.session.capture(false)?.contains(&marker) {
                fps_during.push(fps);
            }
            next_fps = Instant::now() + FPS_POLL;
        }
        thread::sleep(THROUGHPUT_POLL);
    }
    let seconds = started.elapsed().as_secs_f64();
    if animate {
        ensure!(
            session.status()?["animated_panes"].as_u64() >= Some(1),
            "the animation stopped during cat"
        );
    }
    Ok(CatRun {
        seconds,
        fps_before,
        fps_during: if animate { fps_during } else { Vec::new() },
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sgr_colours_are_tracked_per_cell() {
        let line =
            "ab\x1b[38;2;239;83;80m\u{2500}\x1b[1;38;5;3mc\x1b[39md\x1b[31;48;2;1;2;3me\x1b[0mf";
        assert_eq!(
            row_colours(line),
            vec![
                Fg::Default,
                Fg::Default,
                Fg::Rgb(239, 83, 80),
                Fg::Indexed(3),
                Fg::Default,
                Fg::Indexed(1),
                Fg::Default,
            ]
        );
    }

    #[test]
    fn osc_sequences_take_no_cells() {
        let line = "\x1b]8;;http://x\x1b\\ab\x1b]8;;\x07c";
        assert_eq!(row_colours(line).len(), 3);
    }

    #[test]
    fn a_border_is_lit_by_a_new_rgb_cell_inside_the_pane_only() {
        let pane = PaneBox {
            id: "terminal_1".to_owned(),
            x: 2,
            y: 0,
            columns: 3,
        };
        let base = row_colours("\x1b[38;2;1;1;1mx\x1b[0m-----");
        assert!(!border_lit(&base, &base, &pane));
        let outside = row_colours("\x1b[38;2;9;9;9mx\x1b[0m-----");
        assert!(!border_lit(&outside, &base, &pane));
        let inside = row_colours("\x1b[38;2;1;1;1mx\x1b[0m--\x1b[38;2;239;83;80m-\x1b[0m--");
        assert!(border_lit(&inside, &base, &pane));
        let indexed = row_colours("\x1b[38;2;1;1;1mx\x1b[0m--\x1b[31m-\x1b[0m--");
        assert!(!border_lit(&indexed, &base, &pane));
    }

    #[test]
    fn unfocused_terminal_panes_are_picked_in_screen_order() {
        let pane = |id: u32, plugin: bool, focused: bool, x: usize, y: usize| {
            json!({"id": id, "is_plugin": plugin, "is_focused": focused, "is_floating": false,
                   "pane_x": x, "pane_y": y, "pane_columns": 10, "pane_rows": 5})
        };
        let panes = [
            pane(0, false, true, 0, 1),
            pane(0, true, false, 0, 0),
            pane(2, false, false, 50, 1),
            pane(1, false, false, 20, 1),
            pane(3, false, false, 20, 6),
        ];
        let ids: Vec<String> = parse_unfocused_panes(&panes)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, ["terminal_1", "terminal_3", "terminal_2"]);
    }
}
