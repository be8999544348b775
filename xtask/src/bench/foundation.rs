//! The foundation benchmark: perth next to stock Zellij 0.45.1 for launch time, output throughput and idle cost.
//!
//! Both run in the same tmux terminal size, with the same layout file and the same configuration,
//! each sample in a fresh isolated home. Samples alternate between the two (and the order flips
//! every round) so that drift on a busy machine hits both sides alike.

use std::{
    fs,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};

use super::{
    reference::{stock_zellij, ZELLIJ_VERSION},
    report::{median, Goal, Row},
    session::{Session, PROMPT},
    Bench, BenchContext,
};

/// Terminal size of every session.
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

/// Zellij's default layout spelled out, given to both sides with `--layout`: tab bar, one terminal, status bar.
/// The status bar is named by its alias, as Zellij's default layout names it, so each side runs
/// the bar its configuration gives that alias (perth's own light bar, Zellij's bar; issue 22).
pub(crate) const BENCH_LAYOUT: &str = r#"layout {
    pane size=1 borderless=true {
        plugin location="zellij:tab-bar"
    }
    pane
    pane size=1 borderless=true {
        plugin location="status-bar"
    }
}
"#;

/// Size of the file `cat` prints in the throughput benchmark.
pub(crate) const THROUGHPUT_BYTES: u64 = 50_000_000;

/// How often the screen is read while waiting for the first full screen.
const LAUNCH_POLL: Duration = Duration::from_millis(3);
/// How often the screen is read while waiting for `cat` to finish; rarer, to leave the CPU to the work.
pub(crate) const THROUGHPUT_POLL: Duration = Duration::from_millis(25);
/// How long a session gets to settle after its first full screen before its idle cost is measured.
const IDLE_SETTLE: Duration = Duration::from_secs(3);
/// The window over which idle CPU is measured.
const IDLE_WINDOW: Duration = Duration::from_secs(10);

/// perth against stock Zellij: launch, throughput, idle CPU and memory.
pub(crate) struct Foundation;

impl Bench for Foundation {
    fn name(&self) -> &'static str {
        "foundation"
    }

    fn reference(&self) -> String {
        match std::env::var_os("PERTH_BENCH_ZELLIJ_BIN") {
            Some(bin) => format!("{} (PERTH_BENCH_ZELLIJ_BIN)", Path::new(&bin).display()),
            None => format!("zellij {ZELLIJ_VERSION}"),
        }
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        anyhow::ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let perth = Contender {
            label: "perth",
            bin: ctx.perth_bin.clone(),
        };
        let zellij = Contender {
            label: "zellij",
            bin: stock_zellij(ctx)?,
        };
        let contenders = [&perth, &zellij];
        let mut rows = Vec::new();

        // Untimed first launches, so neither side pays for a cold page cache in the figures.
        for contender in contenders {
            launch(contender, LayoutChoice::Bench, Start::First)?;
        }

        // What a user sees every day: the second start in a home whose one-time set-up (perth
        // writes its plugins and layouts to its cache, Zellij its folders) is done.
        let runs = ctx.samples(11, 3);
        let [perth_ms, zellij_ms] = sample_both(contenders, runs, "launch, bench layout", |c| {
            Ok(launch(c, LayoutChoice::Bench, Start::Second)?
                .1
                .as_secs_f64()
                * 1000.0)
        })?;
        rows.push(Row::new(
            "launch (same layout)",
            perth_ms,
            zellij_ms,
            "ms",
            Goal::RatioAtMost(1.05),
        ));

        let runs = ctx.samples(7, 3);
        let [perth_ms, zellij_ms] = sample_both(
            contenders,
            runs,
            "launch, first start in a fresh home",
            |c| {
                Ok(launch(c, LayoutChoice::Bench, Start::First)?
                    .1
                    .as_secs_f64()
                    * 1000.0)
            },
        )?;
        rows.push(Row::new(
            "launch (same layout, first start in a fresh home)",
            perth_ms,
            zellij_ms,
            "ms",
            Goal::None,
        ));

        let [perth_ms, zellij_ms] =
            sample_both(contenders, runs, "launch, own default layout", |c| {
                let layout = if c.label == "perth" {
                    LayoutChoice::PerthDefault
                } else {
                    LayoutChoice::ZellijDefault
                };
                Ok(launch(c, layout, Start::Second)?.1.as_secs_f64() * 1000.0)
            })?;
        rows.push(Row::new(
            "launch (each its default layout)",
            perth_ms,
            zellij_ms,
            "ms",
            Goal::None,
        ));

        let mut idle = Vec::new();
        for contender in contenders {
            idle.push(idle_usage(contender)?);
        }
        rows.push(Row::new(
            format!("idle server CPU ({} s)", IDLE_WINDOW.as_secs()),
            idle[0].cpu_percent,
            idle[1].cpu_percent,
            "%",
            Goal::AtMostReferencePlus(0.5),
        ));
        rows.push(Row::new(
            "server RSS (idle)",
            idle[0].rss_mib,
            idle[1].rss_mib,
            "MiB",
            Goal::None,
        ));

        let file = text_file(&ctx.out_dir(), THROUGHPUT_BYTES)?;
        let runs = ctx.samples(3, 1);
        let [perth_s, zellij_s] = sample_both(contenders, runs, "throughput", |c| {
            Ok(throughput(c, &file)?.as_secs_f64())
        })?;
        rows.push(Row::new(
            format!("throughput (cat {} MB)", THROUGHPUT_BYTES / 1_000_000),
            perth_s,
            zellij_s,
            "s",
            Goal::RatioAtMost(1.05),
        ));
        Ok(rows)
    }
}

/// One side of the comparison.
struct Contender {
    label: &'static str,
    bin: PathBuf,
}

/// Which layout a session starts with.
#[derive(Debug, Clone, Copy)]
enum LayoutChoice {
    /// [`BENCH_LAYOUT`], passed with `--layout`.
    Bench,
    /// No `--layout`: perth's built-in workspace layout.
    PerthDefault,
    /// No `--layout`: Zellij's default layout.
    ZellijDefault,
}

impl LayoutChoice {
    /// Returns the screen that counts as "the layout is fully drawn".
    fn ready(self) -> Ready {
        match self {
            LayoutChoice::Bench => Ready {
                tab_names: &["Tab #1"],
                status_rows: 1,
            },
            // perth's workspace layout names its tab "workspace" and gives the status bar two rows;
            // either default is accepted on either side, so a sanity run with one binary on both sides works.
            LayoutChoice::PerthDefault | LayoutChoice::ZellijDefault => Ready {
                tab_names: &["Tab #1", "workspace"],
                status_rows: 2,
            },
        }
    }
}

/// Markers of a fully drawn layout: a tab name in the tab bar on the first row, the status bar's text
/// on one of the last rows, and the shell prompt in the terminal pane.
#[derive(Debug, Clone, Copy)]
struct Ready {
    tab_names: &'static [&'static str],
    status_rows: usize,
}

/// Text the status bar shows in normal mode, whatever its width.
const STATUS_BAR_MARKER: &str = "LOCK";

impl Ready {
    fn is_met(self, screen: &str) -> bool {
        let rows: Vec<&str> = screen.lines().collect();
        let Some(first) = rows.first() else {
            return false;
        };
        let status = &rows[rows.len().saturating_sub(self.status_rows)..];
        self.tab_names.iter().any(|name| first.contains(name))
            && status.iter().any(|row| row.contains(STATUS_BAR_MARKER))
            && rows.iter().any(|row| row.contains(PROMPT.trim_end()))
    }

    fn describe(self) -> String {
        format!(
            "one of {:?} on the first row, {STATUS_BAR_MARKER:?} in the last {} row(s) and the prompt {PROMPT:?}",
            self.tab_names, self.status_rows
        )
    }
}

/// Takes `runs` samples of `measure` for both contenders, alternating who goes first, and returns both medians.
fn sample_both(
    contenders: [&Contender; 2],
    runs: usize,
    what: &str,
    mut measure: impl FnMut(&Contender) -> Result<f64>,
) -> Result<[f64; 2]> {
    let mut samples = [Vec::new(), Vec::new()];
    for run in 0..runs {
        let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let contender = contenders[index];
            let value = measure(contender)
                .with_context(|| format!("{what}: measuring {}", contender.label))?;
            samples[index].push(value);
        }
        eprintln!(
            "bench foundation: {what} {}/{runs}: perth {:.3}, zellij {:.3}",
            run + 1,
            samples[0][run],
            samples[1][run]
        );
    }
    // Invariant: runs >= 1 (samples() never returns 0), so both medians exist.
    Ok(samples.map(|s| median(&s).unwrap_or(f64::NAN)))
}

/// Which start of the multiplexer in its home is timed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// The first, in a fresh home.
    First,
    /// The second: the first session is started, drawn and killed, then a new one is timed.
    Second,
}

/// Starts `contender` and returns its session with the time until the layout was fully drawn.
fn launch(
    contender: &Contender,
    layout: LayoutChoice,
    start: Start,
) -> Result<(Session, Duration)> {
    let mut session = Session::new(WIDTH, HEIGHT)?;
    let layout_file = session.home().join("bench-layout.kdl");
    fs::write(&layout_file, BENCH_LAYOUT)
        .with_context(|| format!("writing {}", layout_file.display()))?;
    let mut argv: Vec<&Path> = vec![&contender.bin];
    if let LayoutChoice::Bench = layout {
        argv.extend([Path::new("--layout"), &layout_file]);
    }
    let ready = layout.ready();
    let wait_drawn = |session: &Session| -> Result<Duration> {
        let started = session.exec(&argv)?;
        let screen = session.wait_for_screen(
            &ready.describe(),
            LAUNCH_POLL,
            Duration::from_secs(60),
            |screen| ready.is_met(screen),
        )?;
        let elapsed = started.elapsed();
        if std::env::var_os("PERTH_BENCH_SCREENS").is_some() {
            eprintln!(
                "bench foundation: {} {layout:?} {start:?} start ready after {elapsed:?}:\n{screen}",
                contender.label
            );
        }
        Ok(elapsed)
    };
    let mut elapsed = wait_drawn(&session)?;
    if start == Start::Second {
        end_sessions(&session, contender)?;
        session.new_terminal(WIDTH, HEIGHT)?;
        elapsed = wait_drawn(&session)?;
    }
    Ok((session, elapsed))
}

/// Ends every session of `contender` in `session`'s home and waits until its server is gone.
fn end_sessions(session: &Session, contender: &Contender) -> Result<()> {
    let out = session
        .command(&contender.bin)
        .args(["kill-all-sessions", "--yes"])
        .output()
        .with_context(|| format!("running {} kill-all-sessions", contender.bin.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "{} kill-all-sessions failed: {}",
        contender.label,
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while session.server_pid().is_ok() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the {} server did not exit after kill-all-sessions",
            contender.label
        );
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Idle cost of a server with one client attached.
struct IdleUsage {
    cpu_percent: f64,
    rss_mib: f64,
}

/// Launches `contender`, lets it settle, then measures its server's CPU over [`IDLE_WINDOW`] and its RSS.
fn idle_usage(contender: &Contender) -> Result<IdleUsage> {
    eprintln!(
        "bench foundation: idle {}: settling {} s, measuring {} s",
        contender.label,
        IDLE_SETTLE.as_secs(),
        IDLE_WINDOW.as_secs()
    );
    let (session, _) = launch(contender, LayoutChoice::Bench, Start::Second)?;
    thread::sleep(IDLE_SETTLE);
    let measured = session.server_usage_over(IDLE_WINDOW)?;
    let pid = measured.pid;
    let usage = IdleUsage {
        cpu_percent: measured.cpu_percent,
        rss_mib: measured.rss_mib,
    };
    eprintln!(
        "bench foundation: idle {}: server pid {pid}, CPU {:.2} %, RSS {:.1} MiB",
        contender.label, usage.cpu_percent, usage.rss_mib
    );
    Ok(usage)
}

/// Launches `contender`, runs `cat FILE` in its shell and returns the time until the marker printed after it shows.
fn throughput(contender: &Contender, file: &Path) -> Result<Duration> {
    let (session, _) = launch(contender, LayoutChoice::Bench, Start::Second)?;
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let marker = format!("DONE-{nonce:x}");
    // printf joins the marker only in its output, so the echoed command line never matches it.
    let command = format!("cat {}; printf '%s-%s\\n' DONE {nonce:x}", file.display());
    type_command(&session, &command)?;
    let started = Instant::now();
    session.press("Enter")?;
    session.wait_for_screen(
        &format!("{marker:?} after cat"),
        THROUGHPUT_POLL,
        Duration::from_secs(300),
        |screen| screen.contains(&marker),
    )?;
    Ok(started.elapsed())
}

/// Types `command` at the prompt and waits until it is echoed, typing it again if it is not.
///
/// Keys typed right after the first full screen can be lost (stock Zellij 0.45.1 was seen to drop
/// them while it is still starting up), and a lost Enter would otherwise be timed as a hung `cat`.
pub(crate) fn type_command(session: &Session, command: &str) -> Result<()> {
    const ATTEMPTS: usize = 5;
    let mut attempt = 1;
    loop {
        session.type_text(command)?;
        let echoed = session.wait_for_screen(
            "the typed command",
            LAUNCH_POLL,
            Duration::from_secs(3),
            |screen| screen.contains(command),
        );
        match echoed {
            Ok(_) => return Ok(()),
            Err(err) if attempt == ATTEMPTS => {
                return Err(err.context(format!("typed the command {ATTEMPTS} times")))
            }
            Err(_) => {
                eprintln!("bench foundation: typed command not echoed; clearing the line and typing it again");
                session.press("C-u")?;
                attempt += 1;
            }
        }
    }
}

/// Returns `<dir>/cat-<size>.txt`, writing it first if it is missing or of another size.
pub(crate) fn text_file(dir: &Path, bytes: u64) -> Result<PathBuf> {
    let path = dir.join(format!("cat-{bytes}.txt"));
    if fs::metadata(&path).is_ok_and(|meta| meta.len() == bytes) {
        return Ok(path);
    }
    eprintln!(
        "bench foundation: writing {} ({bytes} bytes)",
        path.display()
    );
    let file = fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    write_text(&mut out, bytes).with_context(|| format!("writing {}", path.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Writes exactly `bytes` bytes of numbered lines of printable ASCII, each at most 100 bytes long.
fn write_text(out: &mut impl Write, bytes: u64) -> std::io::Result<()> {
    let printable: Vec<u8> = (b' '..=b'~').collect();
    let mut written = 0u64;
    let mut line_no = 0u64;
    let mut line = Vec::with_capacity(128);
    while written < bytes {
        line.clear();
        write!(line, "{line_no:08} ")?;
        // Lengths and contents vary from line to line, like real output does.
        let len = 40 + (line_no * 7 % 51) as usize;
        let start = (line_no % printable.len() as u64) as usize;
        line.extend(printable.iter().cycle().skip(start).take(len));
        line.push(b'\n');
        let take = line.len().min((bytes - written) as usize);
        if take < line.len() && take > 0 {
            // The last line is cut short but still ends the file with a newline.
            line.truncate(take);
            line[take - 1] = b'\n';
        }
        out.write_all(&line[..take])?;
        written += take as u64;
        line_no += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_exactly_the_size_asked_with_printable_lines() {
        let mut out = Vec::new();
        write_text(&mut out, 10_007).unwrap();
        assert_eq!(out.len(), 10_007);
        assert_eq!(out.last(), Some(&b'\n'));
        assert!(out.iter().all(|b| *b == b'\n' || (b' '..=b'~').contains(b)));
        assert!(out.split(|b| *b == b'\n').all(|line| line.len() <= 100));
    }

    #[test]
    fn ready_needs_tab_bar_status_bar_and_prompt() {
        let ready = LayoutChoice::Bench.ready();
        let full = " Zellij (x)  Tab #1 \n perth-test$ \n\n Ctrl + <g> LOCK \n";
        assert!(ready.is_met(full));
        assert!(!ready.is_met(" Zellij (x)  Tab #1 \n\n\n Ctrl + <g> LOCK \n"));
        assert!(!ready.is_met(" Loading... \n perth-test$ \n\n Ctrl + <g> LOCK \n"));
        assert!(!ready.is_met(" Zellij (x)  Tab #1 \n perth-test$ \n\n \n"));
        assert!(!ready.is_met(""));
        let perth_default =
            " Zellij (x)  workspace \n perth-test$ \n\n Ctrl + <g> LOCK \n Tip: Alt + <n> \n";
        assert!(LayoutChoice::PerthDefault.ready().is_met(perth_default));
        assert!(!ready.is_met(perth_default));
    }
}
