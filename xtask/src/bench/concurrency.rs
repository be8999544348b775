//! The concurrency bench: 10 and 50 agents calling one session at once, perth next to stock Zellij 0.45.1.
//!
//! Each agent is a thread that runs, per round and one after the other, four command lines as
//! child processes, the way a coding agent calls its multiplexer:
//!
//! - a pipe with an answer, the same on both sides: `pipe --name bench::echo -- "agN step K"`,
//!   which the `pipe-echo` plugin (built with the workspace, loaded in both sessions' layout,
//!   never shipped in perth) answers with `echo agN step K`. The answer must be this call's own:
//!   another call's answer (Zellij's #5270 hands pipe output to the wrong client) is lost.
//! - perth's own pipe: `pipe --name zdrive::log --args pane=agN,source=agent -- "step K"`, which
//!   perth-core answers (`logged ... on agN`) once host-bridge has written the entry to zdrive's
//!   embedded store. Stock Zellij has no such plugin; its agents send the echo pipe again, the
//!   cheapest pipe with an answer it has. perth does more work here (a loopback HTTP request and
//!   a database write) and is still held to p50 no higher than Zellij's.
//! - `action notify --pane-id P --message ...`. Zellij has no notifications; its agents run
//!   `action rename-pane --pane-id P ...` instead: the same round trip (the client waits for the
//!   server to carry it out) and the same visible effect, a changed frame on one pane.
//! - `action list-panes --json`, on both: stdout must be a JSON array with at least one pane.
//!
//! A call is lost when it does not start, exits non-zero, prints "There is no active session"
//! or "not found", fails its check above, or has not exited after [`CALL_DEADLINE`] (it is
//! killed then). Latencies (spawn to exit, as an agent waits for it) are those of the calls
//! that were not lost; lost calls are counted on their own row.
//!
//! Both sessions run side by side for the whole bench, each in its own isolated home with its
//! own tmux client attached (someone watching the agents), in the foundation bench's layout.
//! The loads run in the order perth 10, Zellij 10, Zellij 50, perth 50, so that drift on a busy
//! machine hits both sides alike.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::{mpsc, Barrier},
    thread,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context as _, Result};
use serde_json::Value;

use super::{
    foundation::BENCH_LAYOUT,
    reference::{stock_zellij, ZELLIJ_VERSION},
    report::{percentile, Goal, Row},
    session::{Session, PROMPT},
    Bench, BenchContext,
};
use crate::workspace::{PLUGIN_PROFILE, WASM_TARGET};

/// Terminal size of both sessions, as in the foundation bench.
const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;

/// The session name the agents address, on both sides.
const SESSION_NAME: &str = "bench-agents";

/// How many agents call at once, in the order of the report.
const AGENT_COUNTS: [usize; 2] = [10, 50];

/// How long one call may take before it is killed and counted as lost.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// The p99 every call kind must stay under at the lower agent count, in ms.
const P99_GOAL_MS: f64 = 50.0;

/// The pipe the `pipe-echo` plugin answers.
const ECHO_PIPE: &str = "bench::echo";

/// The `pipe-echo` plugin, as the workspace's plugin build leaves it.
const ECHO_WASM: &str = "pipe-echo.wasm";

/// Many agents against perth and stock Zellij: lost calls and latency.
pub(crate) struct Concurrency;

impl Bench for Concurrency {
    fn name(&self) -> &'static str {
        "concurrency"
    }

    fn reference(&self) -> String {
        let zellij = match std::env::var_os("PERTH_BENCH_ZELLIJ_BIN") {
            Some(bin) => format!("{} (PERTH_BENCH_ZELLIJ_BIN)", Path::new(&bin).display()),
            None => format!("zellij {ZELLIJ_VERSION}"),
        };
        format!("{zellij}: the echo plugin's pipe for both pipes, rename-pane for notify")
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let rounds = ctx.samples(100, 20);
        let echo = echo_plugin(ctx)?;
        let perth = Target::start(Flavour::Perth, &ctx.perth_bin, &echo)?;
        let zellij = Target::start(Flavour::Zellij, &stock_zellij(ctx)?, &echo)?;

        let [few, many] = AGENT_COUNTS;
        let perth_few = perth.load(few, rounds)?;
        let zellij_few = zellij.load(few, rounds)?;
        let zellij_many = zellij.load(many, rounds)?;
        let perth_many = perth.load(many, rounds)?;

        let mut rows = Vec::new();
        for (agents, perth, zellij) in [
            (few, &perth_few, &zellij_few),
            (many, &perth_many, &zellij_many),
        ] {
            rows.extend(rows_for(agents, rounds, perth, zellij));
        }
        Ok(rows)
    }
}

/// Returns the `pipe-echo` plugin: beside the perth binary under test, else in the workspace's
/// plugin build.
fn echo_plugin(ctx: &BenchContext<'_>) -> Result<PathBuf> {
    let beside = ctx.perth_bin.with_file_name(ECHO_WASM);
    let built = ctx
        .ws
        .target_dir
        .join(WASM_TARGET)
        .join(PLUGIN_PROFILE)
        .join(ECHO_WASM);
    [beside, built]
        .into_iter()
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "{ECHO_WASM} is neither beside {} nor in the plugin build; run `cargo xtask build`",
                ctx.perth_bin.display()
            )
        })
}

/// Returns the bench layout with the echo plugin in a pane of its own, so that a pipe without a
/// destination reaches it as it reaches every other plugin of the session.
fn layout_with_echo(echo: &Path) -> String {
    let (head, tail) = BENCH_LAYOUT.rsplit_once('}').unwrap_or((BENCH_LAYOUT, ""));
    format!(
        "{head}    pane size=1 borderless=true {{\n        plugin location=\"file:{}\"\n    }}\n}}{tail}",
        echo.display()
    )
}

/// Grants the echo plugin the one permission it asks for, in the home both multiplexers read
/// Zellij's permission cache from, so that no prompt waits for an answer.
fn grant_echo(session: &Session, echo: &Path) -> Result<()> {
    let dir = session.env().cache_dir().join("zellij");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let file = dir.join("permissions.kdl");
    let mut text = fs::read_to_string(&file).unwrap_or_default();
    text.push_str(&format!(
        "\"{}\" {{\n    ReadCliPipes\n}}\n",
        echo.display()
    ));
    fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
}

/// Returns the rows of one agent count: lost calls, then p50 and p99 of each call kind.
fn rows_for(agents: usize, rounds: usize, perth: &Load, zellij: &Load) -> Vec<Row> {
    let mut rows = vec![Row::new(
        format!(
            "{agents} agents x {rounds} rounds: lost calls (of {})",
            perth.calls.len()
        ),
        perth.lost(None) as f64,
        zellij.lost(None) as f64,
        "calls",
        Goal::AtMost(0.0),
    )];
    for kind in CallKind::ALL {
        let (perth_ms, zellij_ms) = (perth.latencies(kind), zellij.latencies(kind));
        let at = |samples: &[f64], p| percentile(samples, p).unwrap_or(f64::NAN);
        rows.push(Row::new(
            format!("{agents} agents: {} p50", kind.label()),
            at(&perth_ms, 50.0),
            at(&zellij_ms, 50.0),
            "ms",
            Goal::RatioAtMost(1.0),
        ));
        rows.push(Row::new(
            format!("{agents} agents: {} p99", kind.label()),
            at(&perth_ms, 99.0),
            at(&zellij_ms, 99.0),
            "ms",
            if agents == AGENT_COUNTS[0] {
                Goal::AtMost(P99_GOAL_MS)
            } else {
                Goal::None
            },
        ));
    }
    rows
}

/// Which multiplexer a target runs; it decides the command lines and what counts as answered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flavour {
    Perth,
    Zellij,
}

/// The four calls of an agent's round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CallKind {
    /// The echo plugin's pipe, on both sides.
    Echo,
    /// perth's `zdrive::log` pipe; the echo pipe on Zellij.
    Log,
    Notify,
    ListPanes,
}

impl CallKind {
    const ALL: [CallKind; 4] = [
        CallKind::Echo,
        CallKind::Log,
        CallKind::Notify,
        CallKind::ListPanes,
    ];

    fn label(self) -> &'static str {
        match self {
            CallKind::Echo => "pipe (echo)",
            CallKind::Log => "pipe (zdrive::log)",
            CallKind::Notify => "notify",
            CallKind::ListPanes => "list-panes --json",
        }
    }
}

impl Flavour {
    fn label(self) -> &'static str {
        match self {
            Flavour::Perth => "perth",
            Flavour::Zellij => "zellij",
        }
    }

    /// Returns the arguments after `--session NAME` of agent `agent`'s call `kind` in round `round`.
    fn args(self, kind: CallKind, agent: usize, round: usize, pane: &str) -> Vec<String> {
        let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        let step = format!("step {round}");
        let message = format!("ag{agent} {step}");
        match (self, kind) {
            (_, CallKind::Echo) | (Flavour::Zellij, CallKind::Log) => {
                owned(&["pipe", "--name", ECHO_PIPE, "--", &message])
            }
            (Flavour::Perth, CallKind::Log) => owned(&[
                "pipe",
                "--name",
                "zdrive::log",
                "--args",
                &format!("pane=ag{agent},source=agent"),
                "--",
                &step,
            ]),
            (Flavour::Perth, CallKind::Notify) => {
                owned(&["action", "notify", "--pane-id", pane, "--message", &message])
            }
            (Flavour::Zellij, CallKind::Notify) => {
                owned(&["action", "rename-pane", "--pane-id", pane, &message])
            }
            (_, CallKind::ListPanes) => owned(&["action", "list-panes", "--json"]),
        }
    }

    /// Returns why agent `agent`'s finished call `kind` of round `round` counts as lost, or
    /// `Ok` when it did what was asked and the answer was its own.
    fn judge(self, kind: CallKind, agent: usize, round: usize, out: &Output) -> Result<(), String> {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first_line = |text: &str| text.lines().next().unwrap_or_default().trim().to_owned();
        if !out.status.success() {
            return Err(format!("{}: {}", out.status, first_line(&stderr)));
        }
        let refused = |text: &str| {
            (text.contains("There is no active session") || text.contains("not found"))
                .then(|| first_line(text))
        };
        if let Some(refusal) = refused(&stderr) {
            return Err(refusal);
        }
        // A pane's title in list-panes' JSON may say anything; its JSON is checked instead.
        if kind != CallKind::ListPanes {
            if let Some(refusal) = refused(&stdout) {
                return Err(refusal);
            }
        }
        let answered = |own: bool| match (own, stdout.trim().is_empty()) {
            (true, _) => Ok(()),
            (false, true) => Err("exit 0 without an answer".to_owned()),
            (false, false) => Err(format!("answered {:?}", first_line(&stdout))),
        };
        match (self, kind) {
            (_, CallKind::Echo) | (Flavour::Zellij, CallKind::Log) => {
                answered(stdout == format!("echo ag{agent} step {round}\n"))
            }
            (Flavour::Perth, CallKind::Log) => answered(
                stdout.starts_with("logged ") && stdout.contains(&format!(" on ag{agent} (")),
            ),
            (_, CallKind::ListPanes) => match serde_json::from_str::<Vec<Value>>(&stdout) {
                Ok(panes) if !panes.is_empty() => Ok(()),
                Ok(_) => Err("an empty list".to_owned()),
                Err(_) if stdout.trim().is_empty() => Err("exit 0 and no output".to_owned()),
                Err(_) => Err(format!("no JSON array: {:?}", first_line(&stdout))),
            },
            _ => Ok(()),
        }
    }
}

/// One session under load: its multiplexer, its tmux client and the pane the agents notify.
struct Target {
    flavour: Flavour,
    bin: PathBuf,
    session: Session,
    /// `terminal_N`: the layout's terminal pane.
    pane: String,
}

impl Target {
    /// Starts `bin` as session [`SESSION_NAME`] in the bench layout and waits until every kind of call is answered.
    fn start(flavour: Flavour, bin: &Path, echo: &Path) -> Result<Target> {
        let label = flavour.label();
        eprintln!("bench concurrency: starting {label}");
        let session = Session::new(WIDTH, HEIGHT)?;
        grant_echo(&session, echo)?;
        session.launch(
            bin,
            SESSION_NAME,
            &layout_with_echo(echo),
            &format!("{label}'s shell prompt"),
            |screen| screen.contains(PROMPT.trim_end()),
        )?;
        let mut target = Target {
            flavour,
            bin: bin.to_owned(),
            session,
            pane: String::new(),
        };
        target.pane = ::tests::wait_for_with_last(
            &format!("{label}'s list-panes to name a terminal pane"),
            Duration::from_secs(20),
            || {
                let out = target.call(CallKind::ListPanes, 0, 0)?;
                let panes: Vec<Value> = serde_json::from_slice(&out.stdout)
                    .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))?;
                panes
                    .iter()
                    .find(|p| p["is_plugin"] == Value::Bool(false))
                    .and_then(|p| p["id"].as_u64())
                    .map(|id| format!("terminal_{id}"))
                    .ok_or_else(|| format!("no terminal pane in {panes:?}"))
            },
        )?;
        if flavour == Flavour::Perth {
            // zdrive::log goes through host-bridge, which perth's server starts after its own start.
            ::tests::wait_for_with_last(
                "perth status to show host-bridge answering perth-core",
                Duration::from_secs(30),
                || {
                    let out = target
                        .command()
                        .arg("status")
                        .output()
                        .map_err(|e| e.to_string())?;
                    let status: Value =
                        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
                    let bridge = &status["bridge"];
                    (bridge["state"] == "running" && bridge["plugin_ping_ok"] == true)
                        .then_some(())
                        .ok_or_else(|| bridge.to_string())
                },
            )?;
        }
        for kind in CallKind::ALL {
            ::tests::wait_for_with_last(
                &format!("{label} to answer a {} call", kind.label()),
                Duration::from_secs(20),
                || {
                    let out = target.call(kind, 0, 0)?;
                    flavour.judge(kind, 0, 0, &out)
                },
            )?;
        }
        Ok(target)
    }

    /// Returns `BIN --session NAME` in the session's environment.
    fn command(&self) -> Command {
        let mut command = self.session.command(&self.bin);
        command.arg("--session").arg(SESSION_NAME);
        command
    }

    /// Runs one call to completion, without a deadline (for the checks before the load).
    fn call(&self, kind: CallKind, agent: usize, round: usize) -> Result<Output, String> {
        self.command()
            .args(self.flavour.args(kind, agent, round, &self.pane))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", self.bin.display()))
    }

    /// Runs `agents` agents at once, each doing `rounds` rounds of every call kind, and returns every call.
    fn load(&self, agents: usize, rounds: usize) -> Result<Load> {
        let label = self.flavour.label();
        eprintln!("bench concurrency: {label}, {agents} agents x {rounds} rounds");
        let start = Barrier::new(agents + 1);
        let (calls, seconds) = thread::scope(|scope| {
            let workers: Vec<_> = (0..agents)
                .map(|agent| {
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        let mut calls = Vec::with_capacity(rounds * CallKind::ALL.len());
                        for round in 0..rounds {
                            for kind in CallKind::ALL {
                                let mut command = self.command();
                                command.args(self.flavour.args(kind, agent, round, &self.pane));
                                let (ms, out) = run_with_deadline(command, CALL_DEADLINE);
                                let lost = out
                                    .and_then(|out| self.flavour.judge(kind, agent, round, &out))
                                    .err();
                                calls.push(Call { kind, ms, lost });
                            }
                        }
                        calls
                    })
                })
                .collect();
            start.wait();
            let started = Instant::now();
            let calls: Vec<Call> = workers
                .into_iter()
                // Invariant: an agent only pushes to its own Vec; a panic there is a bug worth seeing.
                .flat_map(|worker| worker.join().expect("an agent thread panicked"))
                .collect();
            (calls, started.elapsed().as_secs_f64())
        });
        let load = Load { calls };
        load.print(label, agents, seconds);
        Ok(load)
    }
}

/// One call an agent made.
struct Call {
    kind: CallKind,
    /// From spawn to exit.
    ms: f64,
    /// Why it counts as lost, if it does.
    lost: Option<String>,
}

/// Every call of one run of agents against one target.
struct Load {
    calls: Vec<Call>,
}

impl Load {
    /// Returns how many calls of `kind` (of every kind with `None`) were lost.
    fn lost(&self, kind: Option<CallKind>) -> usize {
        self.calls
            .iter()
            .filter(|c| c.lost.is_some() && kind.is_none_or(|k| c.kind == k))
            .count()
    }

    /// Returns the latencies of the calls of `kind` that were not lost, in ms.
    fn latencies(&self, kind: CallKind) -> Vec<f64> {
        self.calls
            .iter()
            .filter(|c| c.kind == kind && c.lost.is_none())
            .map(|c| c.ms)
            .collect()
    }

    /// Prints a summary line per call kind, and why calls were lost, to stderr.
    fn print(&self, label: &str, agents: usize, seconds: f64) {
        eprintln!(
            "bench concurrency: {label}, {agents} agents: {} calls in {seconds:.1} s ({:.0} calls/s), {} lost",
            self.calls.len(),
            self.calls.len() as f64 / seconds,
            self.lost(None)
        );
        for kind in CallKind::ALL {
            let ms = self.latencies(kind);
            let at = |p| percentile(&ms, p).unwrap_or(f64::NAN);
            eprintln!(
                "bench concurrency:   {:<18} p50 {:6.1} ms  p99 {:6.1} ms  max {:6.1} ms  lost {}",
                kind.label(),
                at(50.0),
                at(99.0),
                at(100.0),
                self.lost(Some(kind))
            );
        }
        let mut reasons: BTreeMap<(CallKind, &str), usize> = BTreeMap::new();
        for call in &self.calls {
            if let Some(reason) = &call.lost {
                *reasons.entry((call.kind, reason.as_str())).or_default() += 1;
            }
        }
        for ((kind, reason), count) in reasons.iter().take(10) {
            eprintln!(
                "bench concurrency:   lost {count} x {}: {reason}",
                kind.label()
            );
        }
    }
}

/// Runs `command` with stdin closed and its output captured, killing it after `deadline`;
/// returns the time from spawn to exit in ms with the output, or why there is none.
fn run_with_deadline(mut command: Command, deadline: Duration) -> (f64, Result<Output, String>) {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => return (ms(started.elapsed()), Err(format!("could not start: {e}"))),
    };
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = done.send((started.elapsed(), out));
    });
    match finished.recv_timeout(deadline) {
        Ok((elapsed, out)) => (ms(elapsed), out.map_err(|e| format!("waiting for it: {e}"))),
        Err(_) => {
            // Its waiter has not reported, so the child is not reaped yet and the pid is still its own.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let _ = finished.recv();
            (
                ms(deadline),
                Err(format!("no exit within {deadline:?}; killed")),
            )
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;

    use super::*;

    fn output(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn each_side_gets_its_own_command_lines() {
        let args = |flavour: Flavour, kind| flavour.args(kind, 7, 3, "terminal_0").join(" ");
        assert_eq!(
            args(Flavour::Perth, CallKind::Log),
            "pipe --name zdrive::log --args pane=ag7,source=agent -- step 3"
        );
        for flavour in [Flavour::Perth, Flavour::Zellij] {
            assert_eq!(
                args(flavour, CallKind::Echo),
                "pipe --name bench::echo -- ag7 step 3"
            );
        }
        assert_eq!(
            args(Flavour::Zellij, CallKind::Log),
            args(Flavour::Zellij, CallKind::Echo)
        );
        assert_eq!(
            args(Flavour::Perth, CallKind::Notify),
            "action notify --pane-id terminal_0 --message ag7 step 3"
        );
        assert_eq!(
            args(Flavour::Zellij, CallKind::Notify),
            "action rename-pane --pane-id terminal_0 ag7 step 3"
        );
        assert_eq!(
            args(Flavour::Zellij, CallKind::ListPanes),
            args(Flavour::Perth, CallKind::ListPanes)
        );
    }

    #[test]
    fn a_pipe_counts_only_with_its_own_answer() {
        let judge =
            |flavour: Flavour, kind, stdout| flavour.judge(kind, 7, 3, &output(0, stdout, ""));
        let logged = "logged exploration on ag7 (4 entries)\n";
        assert_eq!(judge(Flavour::Perth, CallKind::Log, logged), Ok(()));
        assert_eq!(
            judge(Flavour::Perth, CallKind::Log, ""),
            Err("exit 0 without an answer".to_owned())
        );
        // Another agent's answer is a lost call (the answer went to the wrong caller).
        assert!(judge(
            Flavour::Perth,
            CallKind::Log,
            "logged exploration on ag8 (4 entries)\n"
        )
        .is_err());
        assert!(judge(Flavour::Perth, CallKind::Log, "zdrive::log: bad\n").is_err());
        for flavour in [Flavour::Perth, Flavour::Zellij] {
            assert_eq!(judge(flavour, CallKind::Echo, "echo ag7 step 3\n"), Ok(()));
            assert!(judge(flavour, CallKind::Echo, "echo ag7 step 2\n").is_err());
            assert!(judge(flavour, CallKind::Echo, "").is_err());
        }
        assert_eq!(
            judge(Flavour::Zellij, CallKind::Log, "echo ag7 step 3\n"),
            Ok(())
        );
        let gone = output(0, "", "There is no active session!\n");
        assert!(Flavour::Zellij.judge(CallKind::Echo, 7, 3, &gone).is_err());
        let failed = output(2, "", "boom\n");
        assert!(Flavour::Zellij
            .judge(CallKind::Notify, 7, 3, &failed)
            .is_err_and(|e| e.ends_with(": boom")));
    }

    #[test]
    fn the_echo_plugin_gets_a_pane_of_its_own_in_the_bench_layout() {
        let layout = layout_with_echo(Path::new("/x/pipe-echo.wasm"));
        assert!(layout.starts_with(BENCH_LAYOUT.rsplit_once('}').unwrap().0));
        assert!(layout.contains("plugin location=\"file:/x/pipe-echo.wasm\""));
        assert_eq!(layout.matches('{').count(), layout.matches('}').count());
    }

    #[test]
    fn list_panes_must_list_a_pane() {
        let judge =
            |stdout| Flavour::Zellij.judge(CallKind::ListPanes, 0, 0, &output(0, stdout, ""));
        assert_eq!(judge(r#"[{"id": 0, "is_plugin": false}]"#), Ok(()));
        assert_eq!(judge("[]"), Err("an empty list".to_owned()));
        assert_eq!(judge(""), Err("exit 0 and no output".to_owned()));
        assert!(judge("TAB PANE\n").is_err());
    }

    #[test]
    fn a_call_past_its_deadline_is_killed() {
        let (ms, out) = run_with_deadline(
            {
                let mut sleep = Command::new("sleep");
                sleep.arg("5");
                sleep
            },
            Duration::from_millis(100),
        );
        assert!(out.is_err_and(|e| e.contains("killed")));
        assert!((100.0..1000.0).contains(&ms), "{ms}");
        let (_, out) = run_with_deadline(Command::new("true"), Duration::from_secs(5));
        assert!(out.is_ok_and(|o| o.status.success()));
    }
}
