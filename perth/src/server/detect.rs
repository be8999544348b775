//! Agent states perth reads for itself (DESIGN.md D12), for agents that send no signals: the
//! pane's foreground program names the agent, a recogniser reads a known agent's screen, and
//! output or silence tells the state of a configured program perth cannot read.
//!
//! Kept cheap: a PTY read only marks its pane as changed (two atomic stores); one thread looks
//! at changed panes every [`DetectSettings::interval`], asks the kernel for a pane's foreground
//! process at most once a second, and reads a screen (Zellij's own dump of the pane, through
//! the session's socket) only for panes running a known agent, only after they changed, at
//! most every [`MIN_READ_GAP`] once output pauses and every [`FLOOD_READ_GAP`] while it
//! does not. A working agent's pause is measured against its own rhythm of output
//! ([`Activity::pause`]): an answer streamed in bursts is not a pause at each burst. A state the agent gave itself (hooks, the escape sequence, a
//! script) is never overruled.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use session_ipc::SessionClient;
use zellij_utils::input::actions::Action;

use super::agents::{Agents, Raises};
use super::pty::Ptys;
use crate::agent_screens::{recognise, AgentProgram, AgentPrograms};
use crate::agent_state::{AgentState, SignalSource};
use crate::settings::PerthSettings;

/// The shortest time between two reads of one pane's screen.
pub const MIN_READ_GAP: Duration = Duration::from_millis(250);

/// Output stopped this long is a pause, when a prompt may have shown.
const PAUSE: Duration = Duration::from_millis(30);

/// The shortest time between two reads of a screen whose output does not pause.
const FLOOD_READ_GAP: Duration = Duration::from_secs(1);

/// The same, while the agent works: its prompts come when its output stops, so a screen
/// that keeps changing is read only to notice a state perth missed.
const WORKING_FLOOD_READ_GAP: Duration = Duration::from_secs(2);

/// How often a pane's foreground process is looked up again.
const PROGRAM_RECHECK: Duration = Duration::from_secs(1);

/// A working agent is called idle by its screen only after this long without output (an
/// agent that streams text may hide its busy line between bursts).
const SETTLE: Duration = Duration::from_millis(1200);

/// `perth { agents { ... } }`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectSettings {
    /// `detect`: read states from foreground programs, screens and activity (default on).
    pub enabled: bool,
    /// `programs "x" "y"`: more programs that are agents (generic activity tells their state).
    pub programs: Vec<String>,
    /// `quiet_seconds`: silence after which a configured program counts as idle.
    pub quiet: Duration,
    /// How often changed panes are looked at.
    pub interval: Duration,
    /// `notify_waiting` / `notify_idle`: which changes raise a notification.
    pub raises: Raises,
}

impl Default for DetectSettings {
    fn default() -> Self {
        DetectSettings {
            enabled: true,
            programs: Vec::new(),
            quiet: Duration::from_secs(3),
            interval: Duration::from_millis(50),
            raises: Raises::default(),
        }
    }
}

impl DetectSettings {
    /// Reads the `agents` section; returns the settings and what it could not use.
    pub fn from_settings(settings: &PerthSettings) -> (DetectSettings, Vec<String>) {
        let section = settings.section("agents");
        let mut out = DetectSettings::default();
        let mut problems = section.unknown_keys(&[
            "detect",
            "programs",
            "quiet_seconds",
            "notify_waiting",
            "notify_idle",
        ]);
        let mut take = |r: Result<Option<bool>, String>, into: &mut bool| match r {
            Ok(Some(v)) => *into = v,
            Ok(None) => {}
            Err(e) => problems.push(e),
        };
        take(section.bool("detect"), &mut out.enabled);
        take(section.bool("notify_waiting"), &mut out.raises.waiting);
        take(section.bool("notify_idle"), &mut out.raises.idle);
        match section.strings("programs") {
            Ok(programs) => out.programs = programs,
            Err(e) => problems.push(e),
        }
        match section.int("quiet_seconds", 1..=3600) {
            Ok(Some(secs)) => out.quiet = Duration::from_secs(secs as u64),
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
        (out, problems)
    }
}

/// What a pane's reader tells the detector: it had output, and when.
#[derive(Debug, Default)]
pub struct Activity {
    changed: AtomicBool,
    last_output_ms: AtomicU64,
    /// The pane's usual silence between two bursts of output (a moving average, ms): an
    /// agent that streams in bursts pauses this long without having stopped.
    usual_gap_ms: AtomicU64,
}

/// Silence shorter than this is within one burst of output, not between two.
const BURST_GAP_MS: u64 = 20;

impl Activity {
    /// The pane's program wrote something.
    pub fn output(&self) {
        self.output_at(clock_ms());
    }

    fn output_at(&self, now: u64) {
        let gap = now.saturating_sub(self.last_output_ms.swap(now, Ordering::Relaxed));
        if gap >= BURST_GAP_MS {
            // Gaps over a few seconds are the agent stopping, not its rhythm.
            let gap = gap.min(2_000);
            let usual = self.usual_gap_ms.load(Ordering::Relaxed);
            self.usual_gap_ms
                .store((usual * 3 + gap) / 4, Ordering::Relaxed);
        }
        self.changed.store(true, Ordering::Release);
    }

    /// How long the pane must be silent before its screen may show a prompt: [`PAUSE`], or
    /// while it works, half as long again as its usual gap between bursts (at most
    /// [`MAX_PAUSE`]), so that a streaming agent's screen is not read between every two
    /// bursts of its answer.
    fn pause(&self, working: bool) -> Duration {
        if !working {
            return PAUSE;
        }
        let usual = Duration::from_millis(self.usual_gap_ms.load(Ordering::Relaxed));
        (usual * 3 / 2).clamp(PAUSE, MAX_PAUSE)
    }
}

/// The longest silence [`Activity::pause`] asks for.
const MAX_PAUSE: Duration = Duration::from_millis(300);

/// The clock of [`Detector::last_output_ms`].
pub fn output_clock_ms() -> u64 {
    clock_ms()
}

/// Milliseconds on a monotonic clock shared by readers and the detector.
fn clock_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The panes watched, and the thread that reads them.
pub struct Detector {
    settings: DetectSettings,
    programs: AgentPrograms,
    panes: Mutex<HashMap<u32, Arc<Activity>>>,
    ptys: Arc<Ptys>,
    agents: Arc<Agents>,
}

/// What the detector knows of one pane between looks.
#[derive(Default)]
struct Seen {
    program: Option<AgentProgram>,
    checked: Option<Instant>,
    last_read: Option<Instant>,
    /// Output came since the screen was last read.
    unread: bool,
    /// Output came since the foreground program was last looked up.
    unchecked: bool,
    state: Option<AgentState>,
}

impl Detector {
    /// A detector of the panes whose PTYs are in `ptys`, recording into `agents`.
    pub fn new(settings: DetectSettings, ptys: Arc<Ptys>, agents: Arc<Agents>) -> Arc<Detector> {
        Arc::new(Detector {
            programs: AgentPrograms::new(settings.programs.iter()),
            settings,
            panes: Mutex::new(HashMap::new()),
            ptys,
            agents,
        })
    }

    /// Starts watching terminal `id`; its reader reports output on what this returns.
    pub fn watch(&self, id: u32) -> Arc<Activity> {
        let activity = Arc::new(Activity::default());
        self.lock().insert(id, activity.clone());
        activity
    }

    /// When terminal `id` last had output, on [`output_clock_ms`]'s clock; `None` when it is
    /// not watched or never had any.
    pub fn last_output_ms(&self, id: u32) -> Option<u64> {
        let ms = self.lock().get(&id)?.last_output_ms.load(Ordering::Relaxed);
        (ms > 0).then_some(ms)
    }

    /// Stops watching terminal `id` (its pane closed).
    pub fn forget(&self, id: u32) {
        self.lock().remove(&id);
    }

    /// Starts the thread that reads changed panes of the session at `socket_path`.
    pub fn start(self: &Arc<Self>, socket_path: PathBuf) {
        if !self.settings.enabled {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("perth-agent-detect".into())
            .spawn(move || me.run(socket_path));
        if let Err(e) = spawned {
            log::error!("perth: agent detection did not start: {e}");
        }
    }

    fn run(&self, socket_path: PathBuf) {
        let mut seen: HashMap<u32, Seen> = HashMap::new();
        let mut screens = Screens {
            socket_path,
            client: None,
        };
        loop {
            std::thread::sleep(self.settings.interval);
            let panes: Vec<(u32, Arc<Activity>)> =
                self.lock().iter().map(|(id, a)| (*id, a.clone())).collect();
            seen.retain(|id, _| panes.iter().any(|(p, _)| p == id));
            for (id, activity) in panes {
                self.look(id, &activity, seen.entry(id).or_default(), &mut screens);
            }
        }
    }

    /// Looks at one pane: its program, then its screen or its activity.
    fn look(&self, id: u32, activity: &Activity, seen: &mut Seen, screens: &mut Screens) {
        let now = Instant::now();
        let changed = activity.changed.swap(false, Ordering::AcqRel);
        seen.unread |= changed;
        seen.unchecked |= changed;
        let due = seen
            .checked
            .is_none_or(|at| now.duration_since(at) >= PROGRAM_RECHECK);
        // A program that starts within a second of the last look is looked up once due, even
        // if it writes nothing more.
        if due && (seen.unchecked || seen.program.is_some()) {
            seen.unchecked = false;
            let program = self
                .ptys
                .with_primary(id, |fd| Ok(crate::foreground::foreground(fd)))
                .and_then(Result::ok)
                .flatten()
                .and_then(|leader| self.agent_in(&leader));
            seen.checked = Some(now);
            if let (Some(was), None) = (&seen.program, &program) {
                // The agent ended and its shell has the terminal again.
                if seen.state.is_some_and(|s| s != AgentState::Exited) {
                    self.agents.detected(
                        id,
                        AgentState::Exited,
                        Some(&format!("{} ended", was.name())),
                        SignalSource::Activity,
                        was.name(),
                    );
                }
                seen.state = None;
            }
            if program != seen.program {
                seen.state = None;
                seen.unread = true;
            }
            seen.program = program;
        }
        let Some(program) = seen.program.clone() else {
            return;
        };
        let quiet_ms = clock_ms().saturating_sub(activity.last_output_ms.load(Ordering::Relaxed));
        let quiet = Duration::from_millis(quiet_ms);
        let found = if program.has_recogniser() {
            // A prompt shows when output stops: read once output pauses, and only now and
            // then while it floods (a screen read costs Zellij's screen thread its time).
            let working = seen.state == Some(AgentState::Working);
            let gap = if quiet >= activity.pause(working) {
                MIN_READ_GAP
            } else if working {
                WORKING_FLOOD_READ_GAP
            } else {
                FLOOD_READ_GAP
            };
            let due = seen
                .last_read
                .is_none_or(|at| now.duration_since(at) >= gap);
            if !seen.unread || !due {
                return;
            }
            seen.last_read = Some(now);
            seen.unread = false;
            let Some(lines) = screens.read(id) else {
                return;
            };
            match recognise(&program, &lines) {
                // Output still flowing: a streaming agent may hide its busy line.
                Some((AgentState::Idle, _))
                    if seen.state == Some(AgentState::Working) && quiet < SETTLE =>
                {
                    // Read again once it settles.
                    seen.unread = true;
                    return;
                }
                Some(found) => found,
                None => return,
            }
        } else if changed {
            (AgentState::Working, None)
        } else if quiet >= self.settings.quiet && seen.state == Some(AgentState::Working) {
            (AgentState::Idle, None)
        } else {
            return;
        };
        let (state, message) = found;
        if seen.state == Some(state) && message.is_none() {
            return;
        }
        let source = if program.has_recogniser() {
            SignalSource::Screen
        } else {
            SignalSource::Activity
        };
        if self
            .agents
            .detected(id, state, message.as_deref(), source, program.name())
        {
            seen.state = Some(state);
        }
    }

    /// The agent program terminal `id` runs in its foreground now, if any (for states an
    /// agent reports itself, which do not say which agent it is).
    pub fn program_now(&self, id: u32) -> Option<String> {
        let leader = self
            .ptys
            .with_primary(id, |fd| Ok(crate::foreground::foreground(fd)))?
            .ok()??;
        Some(self.agent_in(&leader)?.name().to_string())
    }

    /// The agent the foreground job runs: its leader, or (a shell without job control runs
    /// its commands in its own group) one of the leader's children.
    fn agent_in(&self, leader: &crate::foreground::ProcessInfo) -> Option<AgentProgram> {
        self.programs
            .program_of(&leader.comm, &leader.argv)
            .or_else(|| {
                crate::foreground::children(leader.pid)
                    .into_iter()
                    .filter_map(crate::foreground::process)
                    .find_map(|child| self.programs.program_of(&child.comm, &child.argv))
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Activity>>> {
        self.panes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads panes' screens through the session's own socket, with one connection kept open.
struct Screens {
    socket_path: PathBuf,
    client: Option<SessionClient>,
}

impl Screens {
    /// The visible lines of terminal `id`, top first; `None` when the session cannot say.
    fn read(&mut self, id: u32) -> Option<Vec<String>> {
        if self.client.is_none() {
            self.client = SessionClient::connect(&self.socket_path).ok();
        }
        let client = self.client.as_mut()?;
        let dumped = client.run_action(
            Action::DumpScreen {
                file_path: None,
                include_scrollback: false,
                pane_id: Some(zellij_utils::data::PaneId::Terminal(id)),
                ansi: false,
            },
            Duration::from_secs(2),
        );
        match dumped {
            Ok(output) => Some(
                output
                    .lines
                    .iter()
                    .flat_map(|l| l.split('\n'))
                    .map(str::to_string)
                    .collect(),
            ),
            Err(e) => {
                log::debug!("perth: cannot read the screen of terminal {id}: {e}");
                self.client = None;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_section_is_read_and_checked() {
        let s = PerthSettings::from_kdl_text(
            r#"perth {
    agents {
        detect false
        programs "myagent" "x"
        quiet_seconds 5
        notify_idle false
    }
}"#,
        )
        .unwrap();
        let (d, problems) = DetectSettings::from_settings(&s);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!d.enabled);
        assert_eq!(d.programs, vec!["myagent".to_string(), "x".to_string()]);
        assert_eq!(d.quiet, Duration::from_secs(5));
        assert!(d.raises.waiting && !d.raises.idle);
        let bad = PerthSettings::from_kdl_text(
            "perth {\n agents {\n programs 1\n quiet_seconds 0\n detect \"yes\"\n colour 1\n }\n}",
        )
        .unwrap();
        let (_, problems) = DetectSettings::from_settings(&bad);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(
            problems.iter().all(|p| p.starts_with("perth.agents.")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_working_pane_that_streams_in_bursts_must_be_silent_longer_than_its_rhythm() {
        let a = Activity::default();
        assert_eq!(a.pause(true), PAUSE);
        // Bursts 130 ms apart, as an agent streaming its answer.
        for burst in 0..12 {
            // Each burst is several reads a few milliseconds apart.
            for read in 0..3 {
                a.output_at(1_000 + burst * 130 + read * 2);
            }
        }
        let pause = a.pause(true);
        assert!(pause > Duration::from_millis(150), "{pause:?}");
        assert!(pause <= MAX_PAUSE, "{pause:?}");
        // A pane that is not working shows its prompt after the usual short pause.
        assert_eq!(a.pause(false), PAUSE);
    }

    #[test]
    fn output_marks_a_pane_changed_once() {
        let a = Activity::default();
        a.output();
        assert!(a.changed.swap(false, Ordering::AcqRel));
        assert!(!a.changed.swap(false, Ordering::AcqRel));
    }
}
