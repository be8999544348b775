//! Recognisers of known coding agents' screens (DESIGN.md D12): given which agent runs in a
//! pane and the pane's visible lines, they tell whether it is working (its busy line shows),
//! waiting for its user (a numbered permission prompt or a yes/no question) or idle at its input
//! box, with the question and the tool it wants to run as the message.
//!
//! They are the fallback for agents whose hooks are not set up, so they are cheap and cautious:
//! they read only the bottom of the screen, where each agent draws its prompt and status lines,
//! they compile nothing and allocate only the message they return, and a screen they are unsure
//! of gives `None` (the server then keeps what it knew). Screens of the real agents recorded
//! under `tests/fixtures/agent-screens/` are what they are tested on.

use crate::agent_state::AgentState;

/// A coding agent perth knows by its foreground process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AgentProgram {
    /// Claude Code (`claude`, a native binary or `node .../claude`).
    Claude,
    /// OpenAI's Codex CLI (`codex`, a native binary behind `node .../codex`).
    Codex,
    /// Gemini CLI (`node .../gemini`).
    Gemini,
    /// aider (`python .../aider`).
    Aider,
    /// opencode.
    OpenCode,
    /// A program the user named in `perth { agents { programs ... } }`; perth knows nothing of
    /// its screens, so only generic activity tells its state.
    Named(String),
}

impl AgentProgram {
    /// Returns the program's name as listings show it.
    pub fn name(&self) -> &str {
        match self {
            AgentProgram::Claude => "claude",
            AgentProgram::Codex => "codex",
            AgentProgram::Gemini => "gemini",
            AgentProgram::Aider => "aider",
            AgentProgram::OpenCode => "opencode",
            AgentProgram::Named(name) => name,
        }
    }

    /// Whether perth can read this program's screens.
    pub fn has_recogniser(&self) -> bool {
        matches!(
            self,
            AgentProgram::Claude | AgentProgram::Codex | AgentProgram::Gemini | AgentProgram::Aider
        )
    }
}

/// The built-in agents: the names their processes go by, and npm packages whose scripts run them.
const BUILT_IN: [(&str, AgentProgram); 5] = [
    ("claude", AgentProgram::Claude),
    ("codex", AgentProgram::Codex),
    ("gemini", AgentProgram::Gemini),
    ("aider", AgentProgram::Aider),
    ("opencode", AgentProgram::OpenCode),
];

const PACKAGES: [(&str, AgentProgram); 4] = [
    ("@anthropic-ai/claude-code/", AgentProgram::Claude),
    ("@openai/codex", AgentProgram::Codex),
    ("@google/gemini-cli/", AgentProgram::Gemini),
    ("opencode-ai/", AgentProgram::OpenCode),
];

/// Programs that run an agent's script: the agent is named by the script, not by them.
const INTERPRETERS: [&str; 6] = ["node", "nodejs", "bun", "deno", "python", "pypy"];

/// Returns the built-in agent a process runs, from its `comm` (`/proc/PID/comm`) and its
/// arguments (`/proc/PID/cmdline`); `None` for anything else (shells, editors, builds).
pub fn program_of(comm: &str, argv: &[String]) -> Option<AgentProgram> {
    AgentPrograms::default().program_of(comm, argv)
}

/// The agents perth recognises: the built-in ones and the programs the user's configuration
/// names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentPrograms {
    extra: Vec<String>,
}

impl AgentPrograms {
    /// Returns the built-in agents plus `extra` program names (matched like the built-in ones:
    /// the process name, its program's file name, or the script an interpreter runs).
    pub fn new<I, S>(extra: I) -> AgentPrograms
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AgentPrograms {
            extra: extra
                .into_iter()
                .map(Into::into)
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// Returns the agent a process runs, `None` when it runs none perth knows.
    pub fn program_of(&self, comm: &str, argv: &[String]) -> Option<AgentProgram> {
        let comm = comm.trim_end();
        if let Some(p) = self.by_name(comm) {
            return Some(p);
        }
        let program = argv.first().map(|a| file_stem(a)).unwrap_or("");
        if let Some(p) = self.by_name(program) {
            return Some(p);
        }
        if !(is_interpreter(comm) || is_interpreter(program)) {
            return None;
        }
        // The first argument that is not an interpreter's option is the script it runs.
        let script = argv.iter().skip(1).find(|a| !a.starts_with('-'))?;
        if let Some(p) = self.by_name(file_stem(script)) {
            return Some(p);
        }
        PACKAGES
            .iter()
            .find(|(package, _)| script.contains(package))
            .map(|(_, p)| p.clone())
    }

    fn by_name(&self, name: &str) -> Option<AgentProgram> {
        if name.is_empty() {
            return None;
        }
        if let Some((_, p)) = BUILT_IN.iter().find(|(n, _)| *n == name) {
            return Some(p.clone());
        }
        self.extra
            .iter()
            .find(|n| *n == name)
            .map(|n| AgentProgram::Named(n.clone()))
    }
}

/// Returns a path's file name without a script's extension (`/x/cli.js` is `cli`).
fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    for ext in [".js", ".mjs", ".cjs", ".py", ".exe"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem;
        }
    }
    name
}

/// Whether `name` is an interpreter (`python3.11` and `node20` count).
fn is_interpreter(name: &str) -> bool {
    INTERPRETERS.iter().any(|i| {
        name.strip_prefix(i)
            .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

/// How many non-blank lines at the bottom of the screen the recognisers read: the agents draw
/// their prompts, status and input boxes there; what scrolled above is history.
const BOTTOM: usize = 16;

/// The last non-blank lines of a screen, bottom last, trimmed of trailing space.
struct Bottom<'a> {
    lines: [&'a str; BOTTOM],
    len: usize,
}

impl<'a> Bottom<'a> {
    fn of<S: AsRef<str>>(screen: &'a [S]) -> Bottom<'a> {
        let mut lines = [""; BOTTOM];
        let mut len = 0;
        for line in screen.iter().rev() {
            let line = line.as_ref().trim_end();
            if line.trim_start().is_empty() {
                continue;
            }
            lines[len] = line;
            len += 1;
            if len == BOTTOM {
                break;
            }
        }
        lines[..len].reverse();
        Bottom { lines, len }
    }

    fn lines(&self) -> &[&'a str] {
        &self.lines[..self.len]
    }

    /// Returns the last `n` lines.
    fn last(&self, n: usize) -> &[&'a str] {
        &self.lines[self.len.saturating_sub(n)..self.len]
    }
}

/// Returns a line without indentation and without the box borders agents draw around
/// prompts (`│ text │`).
fn inner(line: &str) -> &str {
    line.trim()
        .trim_start_matches('│')
        .trim_end_matches('│')
        .trim()
        .trim_start_matches('│')
        .trim_end_matches('│')
        .trim()
}

/// Whether a line is a horizontal rule (`────`), as agents draw above and below input boxes.
fn is_rule(line: &str) -> bool {
    let line = line.trim();
    line.chars().count() >= 8 && line.chars().all(|c| c == '─')
}

/// Whether a line starts with a spinner or bullet glyph rather than text a program logged.
fn starts_with_glyph(line: &str) -> bool {
    line.trim_start()
        .chars()
        .next()
        .is_some_and(|c| !c.is_ascii())
}

/// Returns a numbered choice's text when `line` is one (`❯ 1. Yes`, `● 2. Allow`, `3. No`):
/// the number and the text after it.
fn choice(line: &str) -> Option<(u32, &str)> {
    let text = inner(line)
        .trim_start_matches(['❯', '›', '●', '>', '▸'])
        .trim_start();
    let (digits, rest) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let rest = rest.strip_prefix(". ")?;
    Some((digits.parse().ok()?, rest))
}

/// Whether a choice line carries the selection marker agents draw next to the chosen option.
fn is_selected(line: &str) -> bool {
    inner(line).starts_with(['❯', '›', '●', '▸'])
}

/// A numbered prompt found at the bottom of a screen.
struct Prompt {
    /// Index in [`Bottom::lines`] of the question.
    question: usize,
    /// Index of the first choice.
    first_choice: usize,
}

/// Finds a question (a line ending in `?`) followed by numbered choices `1.`, `2.`, ..., one
/// of them selected, with at most `after` lines below the last choice, of which one satisfies
/// `footer` (the agent's own hint line, such as "Esc to cancel").
fn numbered_prompt(
    bottom: &Bottom<'_>,
    after: usize,
    footer: impl Fn(&str) -> bool,
) -> Option<Prompt> {
    let lines = bottom.lines();
    // The last list on the screen: an earlier numbered list (tips, an answer) is history.
    let first = lines
        .iter()
        .rposition(|l| choice(l).is_some_and(|(n, _)| n == 1))?;
    let mut last = first;
    let mut selected = is_selected(lines[first]);
    let mut expected = 2;
    for (i, line) in lines.iter().enumerate().skip(first + 1) {
        match choice(line) {
            Some((n, _)) if n == expected => {
                expected += 1;
                last = i;
                selected |= is_selected(line);
            }
            _ => break,
        }
    }
    let below = &lines[last + 1..];
    if expected < 3 || !selected || below.len() > after || !below.iter().any(|l| footer(l)) {
        return None;
    }
    // The question belongs to the prompt: a few lines above its choices at most, and the first
    // of them that asks (Codex's "Reason: ...?" comes after its question).
    let window = first.saturating_sub(7);
    let question = window
        + lines[window..first]
            .iter()
            .position(|l| inner(l).ends_with('?'))?;
    Some(Prompt {
        question,
        first_choice: first,
    })
}

/// Returns what the screen of `program` shows: its state and, for `waiting`, the question with
/// what it wants to do. `screen` is the pane's visible lines, top first. `None` when the screen
/// shows none of the agent's known prompts or busy lines, and always for programs perth has no
/// recogniser for.
pub fn recognise<S: AsRef<str>>(
    program: &AgentProgram,
    screen: &[S],
) -> Option<(AgentState, Option<String>)> {
    let bottom = Bottom::of(screen);
    if bottom.len == 0 {
        return None;
    }
    match program {
        AgentProgram::Claude => claude(&bottom),
        AgentProgram::Codex => codex(&bottom),
        AgentProgram::Gemini => gemini(&bottom),
        AgentProgram::Aider => aider(screen, &bottom),
        AgentProgram::OpenCode | AgentProgram::Named(_) => None,
    }
}

/// Joins a question and what it is about into one message, with single spaces.
fn message(question: &str, about: &[&str]) -> Option<String> {
    let mut m = String::with_capacity(question.len() + 64);
    push_words(&mut m, question);
    let mut sep = " — ";
    for part in about.iter().filter(|p| !p.trim().is_empty()) {
        m.push_str(sep);
        push_words(&mut m, part);
        sep = ": ";
    }
    Some(m)
}

fn push_words(out: &mut String, text: &str) {
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Whether `line` is a busy line ending in `hint` ("esc to interrupt"): the hint alone as a
/// footer, or a spinner's line.
fn busy(line: &str, hint: &str) -> bool {
    let text = line.trim();
    text.contains(hint) && (text.starts_with(hint) || starts_with_glyph(text))
}

/// Claude Code: a permission or start-up prompt ("Do you want to proceed?" over `❯ 1. Yes`,
/// "Esc to cancel" below), the footer "esc to interrupt" while it works, the `❯` input line
/// between two rules when idle.
fn claude(bottom: &Bottom<'_>) -> Option<(AgentState, Option<String>)> {
    let lines = bottom.lines();
    if let Some(p) = numbered_prompt(bottom, 3, |l| l.contains("Esc to cancel")) {
        // What it asks about sits between the rule that opens the prompt and the question:
        // the tool ("Bash command") and its input.
        let start = lines[..p.question]
            .iter()
            .rposition(|l| is_rule(l))
            .map_or(0, |i| i + 1);
        let mut about = lines[start..p.question]
            .iter()
            .map(|l| inner(l))
            .filter(|l| !l.is_empty());
        let tool = about.next().unwrap_or("");
        // A tool's header is a word or two ("Bash command") and its input follows; a longer
        // first line is the prompt's own explanation, which is enough alone.
        let input = match tool.split_whitespace().count() {
            1..=3 => about.next().unwrap_or(""),
            _ => "",
        };
        return Some((
            AgentState::Waiting,
            message(inner(lines[p.question]), &[tool, input]),
        ));
    }
    if bottom.last(4).iter().any(|l| busy(l, "esc to interrupt")) {
        return Some((AgentState::Working, None));
    }
    let tail = bottom.last(6);
    let input = tail
        .iter()
        .enumerate()
        .skip(1)
        .any(|(i, l)| l.trim_start().starts_with('❯') && is_rule(tail[i - 1]));
    input.then_some((AgentState::Idle, None))
}

/// Codex CLI: "Would you like to run the following command?" over `› 1. Yes, proceed`, "Press
/// enter to confirm or esc to cancel" below; "• Working (4s • esc to interrupt)" above its
/// input while it waits for its model; the `›` input line with its status lines below when idle.
fn codex(bottom: &Bottom<'_>) -> Option<(AgentState, Option<String>)> {
    let lines = bottom.lines();
    if let Some(p) = numbered_prompt(bottom, 2, |l| l.contains("esc to cancel")) {
        let command = lines[p.question + 1..p.first_choice]
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with("$ "))
            .unwrap_or("");
        return Some((
            AgentState::Waiting,
            message(inner(lines[p.question]), &[command]),
        ));
    }
    if bottom.last(8).iter().any(|l| busy(l, "esc to interrupt")) {
        return Some((AgentState::Working, None));
    }
    // FIXME: while Codex streams its answer it shows no busy line, so such a screen reads as
    // idle here; output in the last seconds (generic activity) tells it apart.
    let input = bottom
        .last(4)
        .iter()
        .any(|l| l.trim_start().starts_with('›'));
    input.then_some((AgentState::Idle, None))
}

/// Gemini CLI: a boxed prompt ("Allow execution of [Shell]?" over `● 1. Allow once`, the box's
/// bottom edge below); "⠇ Thinking... (esc to cancel, 3s)" while it works; the `>` input line
/// ("Type your message") when idle.
fn gemini(bottom: &Bottom<'_>) -> Option<(AgentState, Option<String>)> {
    let lines = bottom.lines();
    if let Some(p) = numbered_prompt(bottom, 3, |l| l.trim_start().starts_with('╰')) {
        // The tool's line opens the box: `? Shell  touch perth-was-here.txt`.
        let tool = lines[..p.question]
            .iter()
            .rev()
            .take(6)
            .map(|l| inner(l))
            .find_map(|l| l.strip_prefix("? "))
            .unwrap_or("");
        return Some((
            AgentState::Waiting,
            message(inner(lines[p.question]), &[tool]),
        ));
    }
    if bottom.last(8).iter().any(|l| busy(l, "(esc to cancel")) {
        return Some((AgentState::Working, None));
    }
    let input = bottom
        .last(4)
        .iter()
        .any(|l| inner(l) == ">" || inner(l).starts_with("> "));
    input.then_some((AgentState::Idle, None))
}

/// aider: a yes/no question on the last line ("Run shell command? (Y)es/(N)o/(D)on't ask again
/// [Yes]:"); its input prompt `>` under a rule on the last line when idle; after the user's
/// prompt, its "Waiting for MODEL" spinner or the answer streaming (aider shows no busy line
/// while it streams) when working.
fn aider<S: AsRef<str>>(screen: &[S], bottom: &Bottom<'_>) -> Option<(AgentState, Option<String>)> {
    let lines = bottom.lines();
    let last = lines[lines.len() - 1].trim();
    if last.contains("(Y)es/(N)o") {
        let question = last.split(" (Y)es/(N)o").next().unwrap_or(last);
        // "Run shell command?" shows the command on the line above it.
        let command = if question.starts_with("Run shell command") && lines.len() > 1 {
            lines[lines.len() - 2].trim()
        } else {
            ""
        };
        return Some((AgentState::Waiting, message(question, &[command])));
    }
    if starts_with_glyph(last) && last.contains("Waiting for ") {
        return Some((AgentState::Working, None));
    }
    // The last input prompt on the screen: `>` right under a rule.
    let mut previous_rule = false;
    let mut prompt_is_last = None;
    for line in screen {
        let line = line.as_ref().trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if previous_rule && (line == ">" || line.starts_with("> ")) {
            prompt_is_last = Some(true);
        } else if prompt_is_last.is_some() {
            prompt_is_last = Some(false);
        }
        previous_rule = is_rule(line);
    }
    match prompt_is_last? {
        true => Some((AgentState::Idle, None)),
        false => Some((AgentState::Working, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/agent-screens");

    /// Recorded screens whose result differs from what their name says, and why.
    const KNOWN_MISREAD: [(&str, &str); 2] = [
        // FIXME: Codex hides its busy line while it streams an answer's text.
        ("codex-working-2-streaming", "idle"),
        ("codex-working-3-streaming", "idle"),
    ];

    fn program(name: &str) -> AgentProgram {
        match name.split('-').next() {
            Some("claude") => AgentProgram::Claude,
            Some("codex") => AgentProgram::Codex,
            Some("gemini") => AgentProgram::Gemini,
            Some("aider") => AgentProgram::Aider,
            _ => panic!("fixture {name} names no known agent"),
        }
    }

    fn read(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn fixture(name: &str) -> Vec<String> {
        read(&Path::new(FIXTURES).join(format!("{name}.txt")))
    }

    fn shown(result: Option<(AgentState, Option<String>)>) -> String {
        match result {
            None => "none".into(),
            Some((state, None)) => state.to_string(),
            Some((state, Some(message))) => format!("{state}: {message}"),
        }
    }

    #[test]
    fn every_recorded_screen_reads_as_its_name_says() {
        let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
            .expect("listing the recorded screens")
            .map(|e| e.expect("a directory entry").file_name())
            .filter_map(|n| n.to_str()?.strip_suffix(".txt").map(str::to_string))
            .collect();
        names.sort();
        assert!(names.len() >= 20, "recorded screens: {names:?}");
        let mut report = String::new();
        for name in &names {
            let result = shown(recognise(&program(name), &fixture(name)));
            let named = match name.split('-').nth(1) {
                Some("startup") => "waiting",
                Some(state) => state,
                None => panic!("fixture {name} names no state"),
            };
            let expected = KNOWN_MISREAD
                .iter()
                .find(|(n, _)| n == name)
                .map_or(named, |(_, state)| state);
            assert!(
                result == expected || result.starts_with(&format!("{expected}:")),
                "{name} reads as {result}, expected {expected}"
            );
            report.push_str(&format!("{name}: {result}\n"));
        }
        insta::assert_snapshot!("recorded_screens", report);
    }

    #[test]
    fn a_shell_asking_do_you_want_to_is_no_prompt() {
        let screen = [
            "perth-test$ sudo apt-get install ripgrep",
            "The following NEW packages will be installed:",
            "  ripgrep",
            "Need to get 1,536 kB of archives.",
            "Do you want to continue? [Y/n]",
            "",
            "",
        ];
        for program in [
            AgentProgram::Claude,
            AgentProgram::Codex,
            AgentProgram::Gemini,
            AgentProgram::Aider,
        ] {
            assert_eq!(recognise(&program, &screen), None, "{program:?}");
        }
    }

    #[test]
    fn a_log_line_saying_esc_to_interrupt_is_no_busy_line() {
        let screen = [
            "perth-test$ tail -n 3 agent.log",
            "2026-12-06T10:00:01Z INFO spinner: press esc to interrupt",
            "2026-12-06T10:00:02Z INFO status: Thinking... (esc to cancel, 3s)",
            "[worker] esc to interrupt shown",
            "perth-test$",
        ];
        for program in [
            AgentProgram::Claude,
            AgentProgram::Codex,
            AgentProgram::Gemini,
            AgentProgram::Aider,
            AgentProgram::Named("tail".into()),
        ] {
            assert_eq!(recognise(&program, &screen), None, "{program:?}");
        }
    }

    #[test]
    fn a_numbered_list_shown_by_cat_is_no_prompt() {
        let screen = [
            "perth-test$ cat PLAN.md",
            "# Release plan",
            "",
            "Do you want to proceed?",
            "1. Yes",
            "2. Yes, and always allow access to proj/ from this project",
            "3. No",
            "",
            "Esc to cancel, Press enter to confirm or esc to cancel",
            "╰── end",
            "perth-test$",
        ];
        for program in [
            AgentProgram::Claude,
            AgentProgram::Codex,
            AgentProgram::Gemini,
            AgentProgram::Aider,
        ] {
            assert_eq!(recognise(&program, &screen), None, "{program:?}");
        }
    }

    #[test]
    fn a_prompt_scrolled_out_of_the_bottom_is_history() {
        let waiting = fixture("claude-waiting-bash");
        let prompt_end = waiting
            .iter()
            .rposition(|l| l.contains("Esc to cancel"))
            .expect("the recorded prompt's footer");
        let mut screen: Vec<String> = waiting[..=prompt_end].to_vec();
        screen.extend((1..=BOTTOM).map(|i| format!("  ⎿  test {i} passed")));
        assert_eq!(
            recognise(&AgentProgram::Claude, &screen),
            None,
            "a prompt above {BOTTOM} lines of output is no longer asked"
        );
        // The same once Claude's input box is back below.
        let idle = fixture("claude-idle-2");
        let input = idle
            .iter()
            .rposition(|l| l.trim_start().starts_with('❯'))
            .expect("the recorded input line");
        screen.extend_from_slice(&idle[input - 1..]);
        assert_eq!(
            recognise(&AgentProgram::Claude, &screen),
            Some((AgentState::Idle, None))
        );

        // Gemini's tips are a numbered list too, above its own prompt.
        let trust = fixture("gemini-startup-trust");
        let (state, message) = recognise(&AgentProgram::Gemini, &trust).expect("a prompt");
        assert_eq!(state, AgentState::Waiting);
        assert_eq!(
            message.as_deref(),
            Some("Do you trust the files in this folder?")
        );
    }

    #[test]
    fn questions_carry_the_tool_and_its_command() {
        let asked = |program: AgentProgram, name: &str| {
            recognise(&program, &fixture(name)).and_then(|(_, m)| m)
        };
        insta::assert_snapshot!(
            [
                asked(AgentProgram::Claude, "claude-waiting-bash"),
                asked(AgentProgram::Claude, "claude-startup-api-key"),
                asked(AgentProgram::Gemini, "gemini-waiting-shell"),
                asked(AgentProgram::Codex, "codex-waiting-command"),
                asked(AgentProgram::Aider, "aider-waiting-run-shell"),
                asked(AgentProgram::Aider, "aider-waiting-add-output"),
            ]
            .map(|m| m.unwrap_or_default())
            .join("\n"),
            @r"
            Do you want to proceed? — Bash command: touch perth-was-here.txt
            Do you want to use this API key? — Detected a custom API key in your environment
            Allow execution of [Shell]? — Shell touch perth-was-here.txt
            Would you like to run the following command? — $ touch perth-was-here.txt
            Run shell command? — touch perth-was-here.txt
            Add 0.0k tokens of command output to the chat?
            "
        );
    }

    #[test]
    fn programs_without_a_recogniser_read_nothing() {
        let screen = fixture("claude-working-1");
        assert_eq!(recognise(&AgentProgram::OpenCode, &screen), None);
        assert_eq!(recognise(&AgentProgram::Named("x".into()), &screen), None);
        assert_eq!(recognise::<&str>(&AgentProgram::Claude, &[]), None);
        assert_eq!(recognise(&AgentProgram::Claude, &["", "   "]), None);
        assert!(!AgentProgram::Named("x".into()).has_recogniser());
        assert!(AgentProgram::Aider.has_recogniser());
    }

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn agents_are_named_from_their_processes() {
        // As the agents installed from their registries run here (see `ps`).
        let cases: [(&str, &[&str], Option<AgentProgram>); 12] = [
            (
                "claude",
                &["/home/u/.cache/agents/claude/node_modules/.bin/claude"],
                Some(AgentProgram::Claude),
            ),
            (
                "node",
                &[
                    "node",
                    "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js",
                ],
                Some(AgentProgram::Claude),
            ),
            (
                "node",
                &[
                    "/usr/bin/node",
                    "--max-old-space-size=12052",
                    "/home/u/agents/gemini/node_modules/.bin/gemini",
                ],
                Some(AgentProgram::Gemini),
            ),
            (
                "node",
                &["node", "/x/node_modules/@google/gemini-cli/dist/index.js"],
                Some(AgentProgram::Gemini),
            ),
            (
                "codex",
                &["/x/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"],
                Some(AgentProgram::Codex),
            ),
            (
                "node",
                &["node", "/x/node_modules/.bin/codex"],
                Some(AgentProgram::Codex),
            ),
            (
                "aider",
                &["/venv/bin/python3", "/venv/bin/aider", "--model", "gpt-4o"],
                Some(AgentProgram::Aider),
            ),
            (
                "python3.11",
                &["python3.11", "-m", "aider"],
                Some(AgentProgram::Aider),
            ),
            ("opencode", &["opencode"], Some(AgentProgram::OpenCode)),
            ("bash", &["-bash"], None),
            ("node", &["node", "server.js"], None),
            ("vim", &["vim", "claude.md"], None),
        ];
        for (comm, args, expected) in cases {
            assert_eq!(program_of(comm, &argv(args)), expected, "{comm} {args:?}");
        }
        assert_eq!(program_of("", &[]), None);
    }

    #[test]
    fn configured_programs_are_agents_too() {
        let programs = AgentPrograms::new(["goose", "", "my-agent"]);
        assert_eq!(
            programs.program_of("goose", &argv(&["goose", "session"])),
            Some(AgentProgram::Named("goose".into()))
        );
        assert_eq!(
            programs.program_of("python3", &argv(&["python3", "/opt/my-agent.py"])),
            Some(AgentProgram::Named("my-agent".into()))
        );
        assert_eq!(
            programs.program_of("claude", &argv(&["claude"])),
            Some(AgentProgram::Claude)
        );
        assert_eq!(programs.program_of("", &argv(&[""])), None);
        assert_eq!(program_of("goose", &argv(&["goose"])), None);
        assert_eq!(AgentProgram::Named("goose".into()).name(), "goose");
    }
}
