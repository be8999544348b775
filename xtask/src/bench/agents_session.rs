//! The agents' workspace (issue 22): `perth --layout agents` over an iMi project of
//! [`WORKTREES`] worktrees (the trunk's tab, then one tab of three panes per worktree), against
//! stock Zellij 0.45.1 started with the very layout file perth generated.
//!
//! The worktree tabs are the user's own `worktree.kdl` (perth's, with each pane running a
//! printer instead of a shell): every printer waits on a FIFO in its worktree, so the session
//! is idle until the bench opens them all. Per side and sample, in a fresh home:
//! - server RSS and CPU over [`IDLE_WINDOW`] once the session has settled, printers waiting;
//! - then, with every worktree pane printing a line every [`PRINT_PAUSE`] s, the time from a key
//!   typed in the trunk tab's shell to its echo on screen, median over [`KEYS`] keys.
//!
//! Samples alternate which side goes first; the table gives medians.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::Duration,
};

use anyhow::{ensure, Context, Result};

use super::{
    imi::{imi_bin, ImiRunner},
    reference::stock_zellij,
    report::{median, Goal, Row},
    session::{Session, PROMPT},
    Bench, BenchContext,
};

/// How many worktrees (and so worktree tabs) the project has.
const WORKTREES: usize = 12;
/// The terminal both sides draw in.
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
/// How long a started session settles before its idle cost is measured.
const IDLE_SETTLE: Duration = Duration::from_secs(5);
/// The window over which idle CPU is measured.
const IDLE_WINDOW: Duration = Duration::from_secs(10);
/// Seconds between two lines of a printing pane (each prints its clock).
const PRINT_PAUSE: &str = "0.05";
/// How long the printers run before keys are typed.
const PRINT_SETTLE: Duration = Duration::from_secs(2);
/// Keys typed per sample.
const KEYS: usize = 30;
/// The FIFO each worktree's printers wait on.
const GO_FIFO: &str = ".bench-go";
/// Text the status bar shows in normal mode, whatever its width.
const STATUS_BAR_MARKER: &str = "LOCK";

/// The worktree tab the bench's user has: perth's `worktree.kdl` with printers for panes.
fn worktree_layout() -> String {
    let printer = format!(
        "command=\"sh\" {{\n                args \"-c\" \"cat {GO_FIFO} >/dev/null; while :; do date +%s%N; sleep {PRINT_PAUSE}; done\"\n            }}"
    );
    format!(
        "layout {{\n    default_tab_template {{\n        pane size=1 borderless=true {{\n            plugin location=\"tab-bar\"\n        }}\n        children\n        pane size=2 borderless=true {{\n            plugin location=\"status-bar\"\n        }}\n    }}\n    tab {{\n        pane split_direction=\"vertical\" size=\"70%\" {{\n            pane name=\"editor\" focus=true {printer}\n            pane name=\"agent\" {printer}\n        }}\n        pane name=\"shell\" {printer}\n    }}\n}}\n"
    )
}

/// The agents' workspace bench.
pub(crate) struct AgentsSession;

impl Bench for AgentsSession {
    fn name(&self) -> &'static str {
        "agents-session"
    }

    fn reference(&self) -> String {
        "stock Zellij 0.45.1 with the layout file perth generated".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        let zellij = stock_zellij(ctx)?;
        let imi = imi_bin(ctx)?;
        let runs = ctx.samples(3, 1);
        let (mut perth, mut stock) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let order = if run % 2 == 0 {
                [true, false]
            } else {
                [false, true]
            };
            for is_perth in order {
                let sample = if is_perth {
                    sample(&ctx.perth_bin, &imi, None)?
                } else {
                    sample(&ctx.perth_bin, &imi, Some(&zellij))?
                };
                eprintln!(
                    "bench agents-session: {} {}/{runs}: RSS {:.1} MiB, idle CPU {:.2} %, echo {:.1} ms",
                    if is_perth { "perth" } else { "Zellij" },
                    run + 1,
                    sample.rss_mib,
                    sample.cpu_percent,
                    sample.echo_ms
                );
                if is_perth {
                    perth.push(sample);
                } else {
                    stock.push(sample);
                }
            }
        }
        let med = |samples: &[Sample], f: fn(&Sample) -> f64| {
            median(&samples.iter().map(f).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        let label = format!("agents layout, {WORKTREES} worktrees x 3 panes");
        Ok(vec![
            Row::new(
                format!("{label}: server RSS, idle"),
                med(&perth, |s| s.rss_mib),
                med(&stock, |s| s.rss_mib),
                "MiB",
                Goal::RatioAtMost(1.00),
            ),
            Row::new(
                format!("{label}: idle server CPU ({} s)", IDLE_WINDOW.as_secs()),
                med(&perth, |s| s.cpu_percent),
                med(&stock, |s| s.cpu_percent),
                "%",
                Goal::AtMostReferencePlus(0.5),
            ),
            Row::new(
                format!("{label}: keystroke to echo while the worktree tabs print, median"),
                med(&perth, |s| s.echo_ms),
                med(&stock, |s| s.echo_ms),
                "ms",
                Goal::RatioAtMost(1.05),
            ),
        ])
    }
}

/// One side's figures.
struct Sample {
    rss_mib: f64,
    cpu_percent: f64,
    echo_ms: f64,
}

/// Makes the project and starts perth with `--layout agents` in its trunk; with `zellij`, then
/// stops perth and starts Zellij with the layout file perth generated. Measures the session.
fn sample(perth: &Path, imi: &Path, zellij: Option<&Path>) -> Result<Sample> {
    let session = Session::new(WIDTH, HEIGHT)?;
    let runner = ImiRunner {
        env: session.env(),
        bin: imi.to_owned(),
    };
    let trunk = runner.project("fleet", 20)?;
    let mut worktrees = Vec::new();
    for i in 0..WORKTREES {
        runner.run(&trunk, &["feat", &format!("agent{i}"), "--no-hooks"])?;
    }
    let parent = trunk.parent().context("the trunk has no parent folder")?;
    for entry in fs::read_dir(parent)? {
        let path = entry?.path();
        if path != trunk && path.join(".git").exists() {
            worktrees.push(path);
        }
    }
    ensure!(
        worktrees.len() == WORKTREES,
        "expected {WORKTREES} worktrees beside {}, found {}",
        trunk.display(),
        worktrees.len()
    );
    for worktree in &worktrees {
        let fifo = worktree.join(GO_FIFO);
        let made = Command::new("mkfifo").arg(&fifo).status()?;
        ensure!(made.success(), "mkfifo {} failed", fifo.display());
    }
    let layouts = session.env().config_dir().join("perth/layouts");
    fs::create_dir_all(&layouts)?;
    fs::write(layouts.join("worktree.kdl"), worktree_layout())?;

    let trunk_tab = trunk
        .file_name()
        .context("the trunk has no folder name")?
        .to_string_lossy()
        .into_owned();
    let perth_str = perth.to_str().context("the perth path is not UTF-8")?;
    cd_and_exec(&session, &trunk, &[perth_str, "--layout", "agents"])?;
    wait_full_screen(&session, &trunk_tab)?;
    let Some(zellij) = zellij else {
        return measure(&session, &worktrees);
    };
    // Zellij gets the file perth generated, in a home of its own; perth's session goes first
    // (its home keeps the project folders the layout names).
    let layout = fs::read_to_string(generated_layout(session.env().root())?)?;
    let pid = session.server_pid()?;
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    let stock = Session::new(WIDTH, HEIGHT)?;
    let file = stock.home().join("agents.kdl");
    fs::write(&file, layout)?;
    let zellij_str = zellij.to_str().context("the Zellij path is not UTF-8")?;
    let file_str = file.to_str().context("the layout path is not UTF-8")?;
    cd_and_exec(&stock, &trunk, &[zellij_str, "-n", file_str])?;
    wait_full_screen(&stock, &trunk_tab)?;
    measure(&stock, &worktrees)
}

/// Types `cd DIR && exec ARGV` at `session`'s launcher prompt.
fn cd_and_exec(session: &Session, dir: &Path, argv: &[&str]) -> Result<()> {
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
    let line = format!("cd '{}' && exec {}", dir.display(), quoted.join(" "));
    session.exec(&[Path::new("sh"), Path::new("-c"), Path::new(&line)])?;
    Ok(())
}

/// Waits until the trunk tab is drawn whole: its name in the tab bar, the status bar and the
/// shell's prompt.
fn wait_full_screen(session: &Session, trunk_tab: &str) -> Result<()> {
    session.wait_for_screen(
        "the agents layout's trunk tab (tab bar, status bar, prompt)",
        Duration::from_millis(20),
        Duration::from_secs(120),
        |screen| {
            let rows: Vec<&str> = screen.lines().collect();
            let status = &rows[rows.len().saturating_sub(2)..];
            rows.first().is_some_and(|r| r.contains(trunk_tab))
                && status.iter().any(|r| r.contains(STATUS_BAR_MARKER))
                && rows.iter().any(|r| r.contains(PROMPT.trim_end()))
        },
    )?;
    Ok(())
}

/// Returns the agents layout perth wrote under `root` (its cache folder).
fn generated_layout(root: &Path) -> Result<PathBuf> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.parent().and_then(Path::file_name) == Some("agents-layouts".as_ref())
                && path.extension() == Some("kdl".as_ref())
            {
                return Ok(path);
            }
        }
    }
    anyhow::bail!("perth wrote no agents layout under {}", root.display())
}

/// Measures the settled session idle, then starts the printers and times keystroke echoes.
fn measure(session: &Session, worktrees: &[PathBuf]) -> Result<Sample> {
    thread::sleep(IDLE_SETTLE);
    let idle = session.server_usage_over(IDLE_WINDOW)?;

    // Opening a FIFO for writing and closing it ends every `cat` waiting on it.
    for worktree in worktrees {
        fs::OpenOptions::new()
            .write(true)
            .open(worktree.join(GO_FIFO))
            .with_context(|| format!("opening {}", worktree.join(GO_FIFO).display()))?;
    }
    thread::sleep(PRINT_SETTLE);
    Ok(Sample {
        rss_mib: idle.rss_mib,
        cpu_percent: idle.cpu_percent,
        echo_ms: median(&session.echo_times(KEYS)?).unwrap_or(f64::NAN),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worktree_layout_runs_a_waiting_printer_in_each_of_its_three_panes() {
        let layout = worktree_layout();
        assert_eq!(layout.matches("command=\"sh\"").count(), 3);
        assert!(layout.contains(&format!("cat {GO_FIFO} >/dev/null")));
        assert_eq!(layout.matches('{').count(), layout.matches('}').count());
    }
}
