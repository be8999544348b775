//! The agents bench: what reading agents' screens costs (issue 20), perth with agent detection on against the same session with `perth { agents { detect false } }`.
//!
//! Every agent is [`AGENT_SCRIPT`], a shell script called `claude`: the kernel names its process
//! so, and perth reads its screen as Claude Code's. It prints perth's recorded Claude Code screens.
//!
//! - Latency: on a line from the bench (through a FIFO) the agent clears its screen and prints
//!   the permission prompt; measured from writing that line to `perth agents --json`, asked back
//!   to back, listing the pane as `waiting`. The agent then prints its idle screen and the bench
//!   waits for `idle` before the next round. The reference is one `perth agents --json` call,
//!   the resolution of that measurement.
//! - CPU: [`STREAMING_PANES`] agents replay the working screens at about 20 KB/s each; the
//!   server's CPU over [`CPU_WINDOW`], detection on against off, each in a fresh session.
//! - Throughput: the agent `cat`s the foundation's 50 MB file itself, so the pane's foreground
//!   program stays `claude` throughout, and stamps the time around it; on against off, in two
//!   sessions that stay up side by side and take turns.

use std::{
    fs,
    io::Write as _,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::{
    foundation::{text_file, THROUGHPUT_BYTES, THROUGHPUT_POLL},
    report::{median, percentile, Goal, Row},
    session::{clock_ticks_per_second, ProcessUsage, Session},
    Bench, BenchContext,
};

/// The stand-in agent. `claude SCREENS ready FIFO` reads commands from the FIFO: `screen FILE`
/// clears the screen and prints `SCREENS/FILE`; `cat FILE DONE` prints FILE and then writes the
/// nanosecond clock before and after into DONE. `claude SCREENS replay PAUSE` prints the working
/// screens in a loop, PAUSE seconds apart.
const AGENT_SCRIPT: &str = r#"#!/bin/sh
screens=$1
mode=$2
clear_screen() { printf '\033[H\033[2J\033[3J'; }
case "$mode" in
ready)
    exec 3<>"$3"
    echo "bench agent ready"
    while read -r what file done <&3; do
        case "$what" in
        screen) clear_screen; cat "$screens/$file" ;;
        cat)
            start=$(date +%s%N)
            cat "$file"
            end=$(date +%s%N)
            echo "$start $end" > "$done.tmp"
            mv "$done.tmp" "$done" ;;
        esac
    done ;;
replay)
    while :; do
        for file in claude-working-1.txt claude-working-2.txt claude-working-3.txt; do
            clear_screen
            cat "$screens/$file"
            sleep "$3"
        done
    done ;;
esac
"#;

/// What the agent prints once it listens to its FIFO.
const READY_BANNER: &str = "bench agent ready";

/// The terminal of the one-pane sessions (latency and throughput).
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

/// The terminal of the streaming sessions: four columns of three panes, each big enough for a
/// recorded screen (120 columns, 40 rows) without wrapping or scrolling.
const STREAM_WIDTH: u16 = 490;
const STREAM_HEIGHT: u16 = 134;

/// How many agent panes stream in the CPU measurement.
const STREAMING_PANES: usize = 12;
/// Seconds between two screens of a streaming agent: about 2.6 KB a screen makes about 20 KB/s.
const REPLAY_PAUSE: &str = "0.13";
/// The window over which server CPU is measured.
const CPU_WINDOW: Duration = Duration::from_secs(10);
/// How long a streaming session runs before its CPU is measured.
const CPU_SETTLE: Duration = Duration::from_secs(2);

/// The screen that asks for permission, and the one that waits for the next prompt.
const WAITING_SCREEN: &str = "claude-waiting-bash.txt";
const IDLE_SCREEN: &str = "claude-idle-1.txt";
/// How long a state may take to show before the round fails.
const STATE_TIMEOUT: Duration = Duration::from_secs(10);
/// Rest between latency rounds, so that each prompt comes after a quiet pane, as a real one does.
const LATENCY_REST: Duration = Duration::from_millis(300);

/// The agents bench.
pub(crate) struct Agents;

impl Bench for Agents {
    fn name(&self) -> &'static str {
        "agents"
    }

    fn reference(&self) -> String {
        "the same perth session with `perth { agents { detect false } }`; latency: one `perth agents --json` call".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let screens =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../perth/tests/fixtures/agent-screens");
        ensure!(
            screens.join(WAITING_SCREEN).is_file(),
            "the recorded agent screens are missing from {}",
            screens.display()
        );
        let mut rows = Vec::new();

        let mut on = FifoAgent::start(&ctx.perth_bin, &screens, true)?;
        rows.extend(latency(&mut on, ctx.samples(30, 10))?);
        let mut off = FifoAgent::start(&ctx.perth_bin, &screens, false)?;
        let file = text_file(&ctx.out_dir(), THROUGHPUT_BYTES)?;
        rows.extend(throughput(&mut on, &mut off, &file, ctx.samples(5, 2))?);
        drop((on, off));

        rows.extend(cpu(&ctx.perth_bin, &screens, ctx.samples(2, 1))?);
        Ok(rows)
    }
}

/// Returns the `perth { ... }` settings of a session with detection on or off.
///
/// Both sides say it, so that they differ in nothing else.
fn detect_settings(detect: bool) -> String {
    format!("    agents {{\n        detect {detect}\n    }}")
}

/// Returns `text` as a KDL string.
fn kdl_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Returns a layout of tab bar, `panes` agent panes in rows of four, status bar; each pane runs `claude ARGS`.
fn agent_layout(agent: &Path, args: &[&str], panes: usize) -> String {
    let command = kdl_string(&agent.display().to_string());
    let args: Vec<String> = args.iter().map(|a| kdl_string(a)).collect();
    let pane = format!(
        "            pane command={command} {{\n                args {}\n            }}\n",
        args.join(" ")
    );
    let mut rows = String::new();
    let mut left = panes;
    while left > 0 {
        let in_row = left.min(4);
        rows.push_str("        pane split_direction=\"vertical\" {\n");
        for _ in 0..in_row {
            rows.push_str(&pane);
        }
        rows.push_str("        }\n");
        left -= in_row;
    }
    format!(
        "layout {{\n    pane size=1 borderless=true {{\n        plugin location=\"zellij:tab-bar\"\n    }}\n    pane split_direction=\"horizontal\" {{\n{rows}    }}\n    pane size=1 borderless=true {{\n        plugin location=\"zellij:status-bar\"\n    }}\n}}\n"
    )
}

/// Writes [`AGENT_SCRIPT`] as `<home>/agent/claude` and returns its path.
fn install_agent(session: &Session) -> Result<PathBuf> {
    let dir = session.home().join("agent");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let agent = dir.join("claude");
    fs::write(&agent, AGENT_SCRIPT).with_context(|| format!("writing {}", agent.display()))?;
    fs::set_permissions(&agent, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("making {} executable", agent.display()))?;
    Ok(agent)
}

/// Returns the session name of a side.
fn session_name(detect: bool) -> &'static str {
    if detect {
        "bench-agents-on"
    } else {
        "bench-agents-off"
    }
}

/// Runs `perth --session NAME agents --json` and returns the agents it lists.
fn list_agents(session: &Session, bin: &Path, name: &str) -> Result<Vec<Value>> {
    let out = session
        .command(bin)
        .args(["--session", name, "agents", "--json"])
        .output()
        .context("running perth agents --json")?;
    ensure!(
        out.status.success(),
        "perth agents --json exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "perth agents --json printed no JSON array: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// One perth session whose only pane runs the agent, listening to a FIFO.
struct FifoAgent {
    session: Session,
    bin: PathBuf,
    detect: bool,
    /// The FIFO's writing end, open for the session's life.
    fifo: fs::File,
    home: PathBuf,
    /// How many `cat`s the agent was sent, to name each one's done file.
    cats: usize,
}

impl FifoAgent {
    /// Starts perth with detection on or off and one agent pane, and waits until the agent listens.
    fn start(bin: &Path, screens: &Path, detect: bool) -> Result<FifoAgent> {
        eprintln!(
            "bench agents: starting a session with detection {}",
            if detect { "on" } else { "off" }
        );
        let session = Session::new(WIDTH, HEIGHT)?;
        session.configure_perth(&detect_settings(detect))?;
        let agent = install_agent(&session)?;
        let fifo_path = session.home().join("agent/commands");
        let made = Command::new("mkfifo")
            .arg(&fifo_path)
            .status()
            .context("running mkfifo")?;
        ensure!(made.success(), "mkfifo {} failed", fifo_path.display());
        let screens = screens.display().to_string();
        let fifo_arg = fifo_path.display().to_string();
        let layout = agent_layout(&agent, &[&screens, "ready", &fifo_arg], 1);
        session.launch(
            bin,
            session_name(detect),
            &layout,
            "the agent's ready banner",
            |screen| screen.contains(READY_BANNER),
        )?;
        // The agent holds the FIFO open for reading and writing, so this open does not block.
        let fifo = fs::OpenOptions::new()
            .write(true)
            .open(&fifo_path)
            .with_context(|| format!("opening {}", fifo_path.display()))?;
        let home = session.home();
        Ok(FifoAgent {
            session,
            bin: bin.to_owned(),
            detect,
            fifo,
            home,
            cats: 0,
        })
    }

    /// Sends the agent one command line.
    fn send(&mut self, line: &str) -> Result<()> {
        self.fifo
            .write_all(format!("{line}\n").as_bytes())
            .context("writing to the agent's FIFO")
    }

    fn agents(&self) -> Result<Vec<Value>> {
        list_agents(&self.session, &self.bin, session_name(self.detect))
    }

    /// Asks `perth agents --json` back to back until the claude pane is in `state`; returns when the answer that showed it came.
    fn wait_state(&self, state: &str) -> Result<Instant> {
        let deadline = Instant::now() + STATE_TIMEOUT;
        loop {
            let agents = self.agents()?;
            let seen = Instant::now();
            if agents
                .iter()
                .any(|a| a["program"] == "claude" && a["state"] == state)
            {
                return Ok(seen);
            }
            if seen >= deadline {
                bail!(
                    "perth agents --json did not show the agent {state} within {STATE_TIMEOUT:?}: {agents:?}\nthe screen was:\n{}",
                    self.session.capture(false).unwrap_or_default()
                );
            }
        }
    }

    /// Has the agent `cat` `file` and returns how long `cat` took by the agent's clock.
    fn cat(&mut self, file: &Path) -> Result<f64> {
        self.cats += 1;
        let done = self.home.join(format!("agent/cat-done-{}", self.cats));
        self.send(&format!("cat {} {}", file.display(), done.display()))?;
        let deadline = Instant::now() + Duration::from_secs(300);
        while !done.exists() {
            if Instant::now() >= deadline {
                bail!("the agent's cat did not finish within 300 s");
            }
            thread::sleep(THROUGHPUT_POLL);
        }
        let stamps =
            fs::read_to_string(&done).with_context(|| format!("reading {}", done.display()))?;
        parse_cat_stamps(&stamps)
            .with_context(|| format!("the agent wrote {stamps:?}, not two nanosecond clocks"))
    }
}

/// Returns the seconds between the two nanosecond clocks `date +%s%N` wrote.
fn parse_cat_stamps(text: &str) -> Option<f64> {
    let mut stamps = text.split_whitespace().map(|s| s.parse::<u64>().ok());
    let (start, end) = (stamps.next()??, stamps.next()??);
    (end > start).then(|| (end - start) as f64 / 1e9)
}

/// Prompt-to-`waiting` latency over `rounds` rounds, in the session with detection on.
fn latency(agent: &mut FifoAgent, rounds: usize) -> Result<Vec<Row>> {
    eprintln!("bench agents: latency, {rounds} prompts");
    agent.send(&format!("screen {IDLE_SCREEN}"))?;
    agent.wait_state("idle")?;
    let (mut latencies, mut calls) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        thread::sleep(LATENCY_REST);
        let started = Instant::now();
        agent.agents()?;
        calls.push(ms(started.elapsed()));

        let sent = Instant::now();
        agent.send(&format!("screen {WAITING_SCREEN}"))?;
        let seen = agent.wait_state("waiting")?;
        latencies.push(ms(seen - sent));
        agent.send(&format!("screen {IDLE_SCREEN}"))?;
        agent.wait_state("idle")?;
    }
    eprintln!(
        "bench agents: latency samples (ms): {}",
        latencies
            .iter()
            .map(|l| format!("{l:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let call = median(&calls).unwrap_or(f64::NAN);
    Ok(vec![
        Row::new(
            format!("prompt printed -> `agents` shows waiting, median ({rounds})"),
            median(&latencies).unwrap_or(f64::NAN),
            call,
            "ms",
            Goal::AtMost(200.0),
        ),
        Row::new(
            "prompt printed -> `agents` shows waiting, p95",
            percentile(&latencies, 95.0).unwrap_or(f64::NAN),
            call,
            "ms",
            Goal::AtMost(500.0),
        ),
    ])
}

/// `cat FILE` by the agent with detection on against off, `runs` pairs in alternating order.
fn throughput(
    on: &mut FifoAgent,
    off: &mut FifoAgent,
    file: &Path,
    runs: usize,
) -> Result<Vec<Row>> {
    let megabytes = fs::metadata(file)
        .with_context(|| format!("reading the size of {}", file.display()))?
        .len() as f64
        / 1e6;
    // An untimed run first, so that neither side pays for a cold page cache in the figures.
    let warm = off.cat(file)?;
    eprintln!("bench agents: cat warm-up (untimed): {warm:.2} s");
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let order = if run % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for detect in order {
            let seconds = if detect {
                on.cat(file)?
            } else {
                off.cat(file)?
            };
            eprintln!(
                "bench agents: cat {}/{runs}, detection {}: {seconds:.2} s ({:.1} MB/s)",
                run + 1,
                if detect { "on" } else { "off" },
                megabytes / seconds
            );
            if detect {
                with.push(megabytes / seconds);
            } else {
                without.push(megabytes / seconds);
            }
        }
    }
    Ok(vec![Row::new(
        format!("cat {megabytes:.0} MB in an agent pane, detection on vs off"),
        median(&with).unwrap_or(f64::NAN),
        median(&without).unwrap_or(f64::NAN),
        "MB/s",
        Goal::RatioAtLeast(0.97),
    )])
}

/// Server CPU with [`STREAMING_PANES`] agents streaming, detection on against off, `runs` pairs in alternating order.
fn cpu(bin: &Path, screens: &Path, runs: usize) -> Result<Vec<Row>> {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let order = if run % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for detect in order {
            let percent = cpu_window(bin, screens, detect)?;
            eprintln!(
                "bench agents: CPU {}/{runs}, {STREAMING_PANES} agents streaming, detection {}: {percent:.2} % of a core",
                run + 1,
                if detect { "on" } else { "off" },
            );
            if detect {
                with.push(percent);
            } else {
                without.push(percent);
            }
        }
    }
    Ok(vec![Row::new(
        format!(
            "server CPU, {STREAMING_PANES} agents streaming ({} s), detection on vs off",
            CPU_WINDOW.as_secs()
        ),
        median(&with).unwrap_or(f64::NAN),
        median(&without).unwrap_or(f64::NAN),
        "%",
        Goal::AtMostReferencePlus(2.0),
    )])
}

/// Starts a session of [`STREAMING_PANES`] streaming agents and returns its server's CPU over [`CPU_WINDOW`], in % of one core.
fn cpu_window(bin: &Path, screens: &Path, detect: bool) -> Result<f64> {
    eprintln!(
        "bench agents: starting {STREAMING_PANES} streaming agents, detection {}",
        if detect { "on" } else { "off" }
    );
    let session = Session::new(STREAM_WIDTH, STREAM_HEIGHT)?;
    session.configure_perth(&detect_settings(detect))?;
    let agent = install_agent(&session)?;
    let screens = screens.display().to_string();
    let layout = agent_layout(&agent, &[&screens, "replay", REPLAY_PAUSE], STREAMING_PANES);
    let name = session_name(detect);
    session.launch(
        bin,
        name,
        &layout,
        &format!("{STREAMING_PANES} agents' screens"),
        |screen| screen.matches("Claude Code v").count() >= STREAMING_PANES,
    )?;
    if detect {
        // Proof that detection runs: every pane is read as a working agent.
        ::tests::wait_for_with_last(
            &format!("perth agents to list {STREAMING_PANES} working agents"),
            STATE_TIMEOUT,
            || {
                let agents = list_agents(&session, bin, name).map_err(|e| format!("{e:#}"))?;
                let working = agents.iter().filter(|a| a["state"] == "working").count();
                (working >= STREAMING_PANES)
                    .then_some(())
                    .ok_or_else(|| format!("{agents:?}"))
            },
        )?;
    }
    thread::sleep(CPU_SETTLE);
    let pid = session.server_pid()?;
    let before = ProcessUsage::read(pid)?;
    let started = Instant::now();
    thread::sleep(CPU_WINDOW);
    let after = ProcessUsage::read(pid)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds =
        after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / clock_ticks_per_second() as f64;
    Ok(cpu_seconds / seconds * 100.0)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_clock_stamps_give_seconds() {
        assert_eq!(parse_cat_stamps("1000000000 3500000000\n"), Some(2.5));
        assert_eq!(parse_cat_stamps("5 5\n"), None);
        assert_eq!(parse_cat_stamps("%N %N\n"), None);
        assert_eq!(parse_cat_stamps(""), None);
    }

    #[test]
    fn the_layout_runs_the_agent_in_rows_of_four() {
        let layout = agent_layout(Path::new("/h/agent/claude"), &["/s \"x\"", "replay"], 6);
        assert_eq!(layout.matches("split_direction=\"vertical\"").count(), 2);
        assert_eq!(
            layout
                .matches(r#"pane command="/h/agent/claude" {"#)
                .count(),
            6
        );
        assert!(layout.contains(r#"args "/s \"x\"" "replay""#), "{layout}");
    }

    #[test]
    fn both_sides_name_their_detection() {
        assert!(detect_settings(true).contains("detect true"));
        assert!(detect_settings(false).contains("detect false"));
    }
}
