//! Draws the pane: a pure function of the state and the pane's size.
//!
//! ```text
//! iMi · widgets · 2 worktrees                                 the project (and the filter)
//!   NAME          TYPE   BRANCH        FILES    ↑↓     LAST COMMIT           AGENT
//! ▸ trunk-main    trunk  main          clean    ↑0 ↓0   2h Initial import
//!   feat-login    feat   feat/login    ●2       ↑1 ↓0   1m Log in            @claude-1
//! ── remove feat-login? ──────────                             a panel: type picker, name
//! ● 2 uncommitted files would be discarded                     prompt, PR prompt, removal
//! ⠙ removing feat-login…                                       progress, or what happened
//! a new · ⏎ open · p review · d remove · ...                   keys
//! ```
//!
//! Columns give way on narrow panes (the type first, then the branch, the agent and the last
//! commit); what does not fit is cut with an ellipsis. Stored text is shown inert.

use bridge_client::imi::{short_age, Worktree, WorktreeType};
use bridge_client::text::inert;
use zdrive_snapshot::markdown::wrap_line;
use zdrive_snapshot::style::{text_width, Color, Line, Style};

use crate::app::{App, Message, Mode, Permissions, Removal};

/// The spinner's frames.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Returns the pane's lines, at most `rows` of at most `cols` columns.
pub fn lines(app: &App, rows: usize, cols: usize) -> Vec<Line> {
    let cols = cols.max(1);
    let mut out = vec![header(app)];
    let panel = panel(app, cols);
    let status = status(app, cols);
    let list = list(app, cols);
    // The keys wrap rather than lose the last ones on a narrow pane.
    let keys = wrap_line(&keys(app), cols, 0);
    let fixed = out.len() + panel.len() + status.len() + keys.len();
    let room = rows.saturating_sub(fixed);
    out.extend(window(list, app.selected, room));
    out.extend(panel);
    out.extend(status);
    out.extend(keys);
    out.truncate(rows);
    out.into_iter().map(|l| l.truncated(cols)).collect()
}

/// Returns `room` lines of the list (the column titles and the rows), scrolled so that the
/// selected row is in view, padded with blank lines.
fn window(list: Vec<Line>, selected: usize, room: usize) -> Vec<Line> {
    let mut list = list.into_iter();
    let mut out: Vec<Line> = Vec::with_capacity(room);
    // The column titles stay on top.
    if let Some(titles) = list.next() {
        if room > 0 {
            out.push(titles);
        }
    }
    let rows: Vec<Line> = list.collect();
    let visible = room.saturating_sub(out.len());
    let first = selected.saturating_sub(visible.saturating_sub(1));
    out.extend(rows.into_iter().skip(first).take(visible));
    out.resize(room, Line::blank());
    out
}

fn header(app: &App) -> Line {
    let mut line = Line::one("iMi", Style::PLAIN.bold());
    match &app.status {
        Some(status) => {
            line.push(
                &format!(" · {}", inert(&status.repository)),
                Style::PLAIN.bold(),
            );
            let n = status.worktrees.len();
            line.push(
                &format!(" · {n} worktree{}", if n == 1 { "" } else { "s" }),
                Style::dim(),
            );
        }
        None => {
            if let Some(cwd) = &app.cwd {
                line.push(&format!(" · {}", inert(cwd)), Style::dim());
            }
        }
    }
    if app.mode == Mode::Filter {
        line.push("   /", Style::fg(Color::Cyan).bold());
        line.push(&inert(&app.filter), Style::fg(Color::Cyan));
        line.push("█", Style::fg(Color::Cyan));
    } else if !app.filter.is_empty() {
        line.push(
            &format!("   filter: {} (Esc clears)", inert(&app.filter)),
            Style::fg(Color::Cyan),
        );
    }
    line
}

/// The widths of the columns shown; `None` leaves a column out.
struct Columns {
    name: usize,
    kind: Option<usize>,
    branch: Option<usize>,
    changes: usize,
    distance: usize,
    commit: Option<usize>,
    agent: Option<usize>,
}

impl Columns {
    fn fit(rows: &[&Worktree], cols: usize) -> Columns {
        let widest = |f: &dyn Fn(&Worktree) -> String, floor: usize, cap: usize| {
            rows.iter()
                .map(|w| text_width(&f(w)))
                .max()
                .unwrap_or(0)
                .clamp(floor, cap)
        };
        let name = widest(&|w| inert(&w.name), 4, 28);
        let changes = widest(&changes, 5, 8);
        let distance = widest(&distance, 5, 12);
        // The marker, then each column after a gap.
        let mut left = cols.saturating_sub(2 + name + 1 + changes + 1 + distance);
        let mut take = |want: usize, keep_after: usize| -> Option<usize> {
            (left >= 1 + want + keep_after).then(|| {
                left -= 1 + want;
                want
            })
        };
        // The agent first, then the type and the branch (which the folder's name mostly says
        // too), each only while the last commit keeps a dozen columns.
        let agents = rows
            .iter()
            .any(|w| w.agent_id.is_some() || !w.agents.is_empty());
        let agent = if agents {
            take(widest(&|w| agent(w), 5, 24), 13)
        } else {
            None
        };
        let branch = take(widest(&|w| branch(w), 6, 28), 13);
        let kind = take(widest(&|w| kind(w).to_owned(), 4, 7), 13);
        let commit = (left >= 13).then(|| left - 1);
        Columns {
            name,
            kind,
            branch,
            changes,
            distance,
            commit,
            agent,
        }
    }
}

fn kind(w: &Worktree) -> &str {
    w.kind.as_deref().unwrap_or("-")
}

fn branch(w: &Worktree) -> String {
    inert(w.branch.as_deref().unwrap_or("(detached)"))
}

fn changes(w: &Worktree) -> String {
    match w.dirty_files {
        0 => "clean".to_owned(),
        n => format!("●{n}"),
    }
}

fn distance(w: &Worktree) -> String {
    format!("↑{} ↓{}", w.ahead, w.behind)
}

/// The worktree's owner and the states of the agents working in it (`@claude-1 ✋ waiting`):
/// the one waiting for its user first.
fn agent(w: &Worktree) -> String {
    let mut text = w
        .agent_id
        .as_deref()
        .map(|a| format!("@{}", inert(a)))
        .unwrap_or_default();
    let mut agents: Vec<&bridge_client::imi::Agent> = w.agents.iter().collect();
    agents.sort_by_key(|a| a.state != "waiting");
    if let Some(first) = agents.first() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("{} {}", first.icon(), inert(&first.state)));
        for more in &agents[1..] {
            text.push_str(&format!(" {}", more.icon()));
        }
    }
    text
}

/// Returns `text` cut or padded to `width` columns.
fn cell(text: &str, width: usize) -> String {
    let cut = Line::one(text, Style::PLAIN).truncated(width).plain_text();
    let pad = width.saturating_sub(text_width(&cut));
    format!("{cut}{}", " ".repeat(pad))
}

/// Returns the column titles and one line per row the filter shows, or what stands in for them.
fn list(app: &App, cols: usize) -> Vec<Line> {
    if let Some(e) = &app.bridge_error {
        let why = format!("host-bridge is out of reach: {}", inert(e));
        let mut out = vec![Line::blank()];
        out.extend(wrap_line(&Line::one(why, Style::fg(Color::Red)), cols, 2));
        out.push(Line::one(
            "iMi's pane runs in sessions perth starts, which tell it the bridge's address",
            Style::dim(),
        ));
        return out;
    }
    if app.permissions == Permissions::Denied {
        return wrap_line(
            &Line::one(
                "permissions denied: grant ReadApplicationState, ChangeApplicationState and \
                 WebAccess to this plugin in Zellij's permissions.kdl",
                Style::fg(Color::Red),
            ),
            cols,
            2,
        );
    }
    let Some(status) = &app.status else {
        return vec![
            Line::blank(),
            Line::one("reading the project's worktrees…", Style::dim()),
        ];
    };
    let rows = app.rows();
    let c = Columns::fit(&rows, cols);
    let mut titles = format!("  {}", cell("NAME", c.name));
    let mut push_title = |title: &str, width: Option<usize>| {
        if let Some(width) = width {
            titles.push(' ');
            titles.push_str(&cell(title, width));
        }
    };
    push_title("TYPE", c.kind);
    push_title("BRANCH", c.branch);
    push_title("FILES", Some(c.changes));
    push_title("↑↓", Some(c.distance));
    push_title("LAST COMMIT", c.commit);
    push_title("AGENT", c.agent);
    let mut out = vec![Line::one(titles.trim_end().to_owned(), Style::dim())];
    let highlight = matches!(app.mode, Mode::List | Mode::Filter);
    for (index, w) in rows.iter().enumerate() {
        out.push(row(w, &c, index == app.selected, highlight));
    }
    if rows.is_empty() {
        out.push(Line::one(
            format!("  no worktree matches “{}”", inert(&app.filter)),
            Style::dim(),
        ));
    } else if status.worktrees.is_empty() && app.filter.is_empty() {
        out.push(Line::one(
            "  no worktrees yet: press a to create one",
            Style::dim(),
        ));
    }
    out
}

fn row(w: &Worktree, c: &Columns, selected: bool, highlight: bool) -> Line {
    let style = |s: Style| match (selected, highlight) {
        (true, true) => s.reverse(),
        (true, false) => s.bold(),
        _ => s,
    };
    let mut line = Line::blank();
    line.push(if selected { "▸ " } else { "  " }, style(Style::PLAIN));
    line.push(&cell(&inert(&w.name), c.name), style(Style::PLAIN.bold()));
    let mut column = |text: &str, width: Option<usize>, look: Style| {
        if let Some(width) = width {
            // An empty cell is blank, not coloured blank.
            let look = if text.is_empty() { Style::PLAIN } else { look };
            line.push(" ", style(Style::PLAIN));
            line.push(&cell(text, width), style(look));
        }
    };
    column(kind(w), c.kind, Style::dim());
    column(&branch(w), c.branch, Style::fg(Color::Cyan));
    let dirty = if w.dirty_files > 0 {
        Style::fg(Color::Yellow)
    } else {
        Style::dim()
    };
    column(&changes(w), Some(c.changes), dirty);
    let apart = if w.ahead + w.behind > 0 {
        Style::PLAIN
    } else {
        Style::dim()
    };
    column(&distance(w), Some(c.distance), apart);
    let (commit, look) = match (&w.error, &w.last_commit) {
        (Some(e), _) => (format!("error: {}", inert(e)), Style::fg(Color::Red)),
        // The age first, so that a narrow column cuts the subject, not the age.
        (None, Some(subject)) => {
            let age = w.last_commit_age_seconds.map(short_age).unwrap_or_default();
            (format!("{age:>3} {}", inert(subject)), Style::PLAIN)
        }
        (None, None) => (String::new(), Style::PLAIN),
    };
    column(&commit, c.commit, look);
    let waiting = w.agents.iter().any(|a| a.state == "waiting");
    column(
        &agent(w),
        c.agent,
        Style::fg(if waiting {
            Color::Yellow
        } else {
            Color::Magenta
        }),
    );
    line
}

fn rule(title: &str, cols: usize) -> Line {
    let lead = format!("── {title} ");
    let rest = cols.saturating_sub(text_width(&lead));
    Line::one(format!("{lead}{}", "─".repeat(rest)), Style::dim())
}

/// Returns the panel of the mode: the type picker, a prompt, or the removal's confirmation.
fn panel(app: &App, cols: usize) -> Vec<Line> {
    let wrapped = |lines: Vec<Line>| -> Vec<Line> {
        lines.iter().flat_map(|l| wrap_line(l, cols, 2)).collect()
    };
    match &app.mode {
        Mode::List | Mode::Filter => Vec::new(),
        Mode::PickKind { index } => {
            let mut out = vec![rule("new worktree: pick a type", cols)];
            for (i, kind) in app.kinds().iter().enumerate() {
                // Only nine have a digit; the others are reached with the arrows.
                let digit = if i < 9 {
                    (i + 1).to_string()
                } else {
                    " ".to_owned()
                };
                let text = format!(
                    "{} {digit} {:<7} {}",
                    if i == *index { "▸" } else { " " },
                    inert(&kind.name),
                    match kind.name.as_str() {
                        "review" => "a pull request, by number".to_owned(),
                        _ => format!(
                            "branch {}NAME in {}NAME/",
                            inert(&kind.branch_prefix),
                            inert(&kind.worktree_prefix)
                        ),
                    }
                );
                let look = if i == *index {
                    Style::PLAIN.reverse()
                } else {
                    Style::PLAIN
                };
                out.push(Line::one(text, look));
            }
            out
        }
        Mode::Name { kind, input } => {
            let mut prompt = Line::one("name: ", Style::PLAIN.bold());
            prompt.push(&inert(input), Style::PLAIN);
            prompt.push("█", Style::PLAIN);
            let shown = if input.trim().is_empty() {
                "NAME".to_owned()
            } else {
                inert(input.trim())
            };
            let prefixes = app
                .kinds()
                .into_iter()
                .find(|k| &k.name == kind)
                .unwrap_or_else(|| WorktreeType::builtin(kind));
            let (branch, folder) = (
                inert(&prefixes.branch_prefix),
                inert(&prefixes.worktree_prefix),
            );
            wrapped(vec![
                rule(&format!("new {} worktree", inert(kind)), cols),
                prompt,
                Line::one(
                    format!(
                        "branch {branch}{shown} in {folder}{shown}/ next to trunk; its tab opens in this session"
                    ),
                    Style::dim(),
                ),
            ])
        }
        Mode::Review { input } => {
            let mut prompt = Line::one("pull request #", Style::PLAIN.bold());
            prompt.push(input, Style::PLAIN);
            prompt.push("█", Style::PLAIN);
            wrapped(vec![
                rule("review a pull request", cols),
                prompt,
                Line::one(
                    "checked out into pr-N/ next to trunk (title and author from GitHub when \
                     host-bridge has a GITHUB_TOKEN)",
                    Style::dim(),
                ),
            ])
        }
        Mode::Confirm(removal) => wrapped(confirmation(removal, cols)),
    }
}

fn confirmation(removal: &Removal, cols: usize) -> Vec<Line> {
    let mut out = vec![rule(&format!("remove {}?", inert(&removal.name)), cols)];
    let Some(p) = &removal.preview else {
        out.push(Line::one(
            format!(
                "checking what removing {} would lose…",
                inert(&removal.name)
            ),
            Style::dim(),
        ));
        return out;
    };
    let loss = Style::fg(Color::Red).bold();
    out.push(match p.uncommitted_files {
        0 => Line::one("no uncommitted files", Style::fg(Color::Green)),
        n => Line::one(
            format!(
                "● {n} uncommitted file{} would be discarded",
                if n == 1 { "" } else { "s" }
            ),
            loss,
        ),
    });
    out.push(match p.unpushed_commits {
        0 => Line::one(
            "every commit is pushed or merged into trunk",
            Style::fg(Color::Green),
        ),
        n => Line::one(
            format!(
                "↑ {n} commit{} neither pushed nor merged would be lost",
                if n == 1 { "" } else { "s" }
            ),
            loss,
        ),
    });
    if let Some(branch) = &p.branch {
        let (what, other) = if p.branch_deleted {
            ("is deleted", "b keeps it")
        } else if removal.delete_branch {
            ("is deleted only with force", "b keeps it")
        } else {
            ("is kept", "b deletes it too")
        };
        out.push(Line::one(
            format!("branch {} {what} ({other})", inert(branch)),
            Style::PLAIN,
        ));
    }
    if let Some(refusal) = &p.refusal {
        out.push(Line::one(
            format!("without force iMi refuses: {}", inert(refusal)),
            Style::fg(Color::Yellow),
        ));
    }
    out
}

/// The most lines a message takes; the rest of a long one (a command's output) is cut.
const MESSAGE_LINES: usize = 6;

fn status(app: &App, cols: usize) -> Vec<Line> {
    if let Some(busy) = &app.busy {
        let line = Line::one(
            format!(
                "{} {}…",
                SPINNER[busy.frame % SPINNER.len()],
                inert(&busy.label)
            ),
            Style::fg(Color::Cyan),
        );
        return wrap_line(&line, cols, 2);
    }
    let (mark, text, look) = match &app.message {
        Some(Message::Error(e)) => ("✗", e, Style::fg(Color::Red)),
        Some(Message::Info(text)) => ("✓", text, Style::fg(Color::Green)),
        None => return Vec::new(),
    };
    // A message of several lines (git's or GitHub's, passed on by iMi) is shown as lines, not
    // as one line with its newlines in caret form.
    let mut shown: Vec<&str> = text.lines().map(str::trim_end).collect();
    while shown.last().is_some_and(|l| l.is_empty()) {
        shown.pop();
    }
    if shown.is_empty() {
        shown.push("");
    }
    let cut = shown.len() > MESSAGE_LINES;
    shown.truncate(MESSAGE_LINES);
    let mut out = Vec::new();
    for (i, line) in shown.iter().enumerate() {
        let text = match i {
            0 => format!("{mark} {}", inert(line)),
            _ => format!("  {}", inert(line)),
        };
        out.extend(wrap_line(&Line::one(text, look), cols, 2));
    }
    if cut {
        out.push(Line::one("  …", look));
    }
    out
}

fn keys(app: &App) -> Line {
    let text = match &app.mode {
        Mode::List => {
            "a new · ⏎ open · p review PR · d remove · t trunk · / filter · r refresh · q close"
        }
        Mode::Filter => "type to filter · ⏎ keep · Esc clear",
        Mode::PickKind { .. } => {
            let digits = app.kinds().len().min(9);
            return Line::one(
                format!("↑↓ or 1-{digits} pick · ⏎ choose · Esc cancel"),
                Style::dim(),
            );
        }
        Mode::Name { .. } => "⏎ create · Esc cancel",
        Mode::Review { .. } => "⏎ check out · Esc cancel",
        Mode::Confirm(removal) => match &removal.preview {
            Some(p) if p.refusal.is_none() => "y remove · F force · b branch · Esc cancel",
            Some(_) => "F force remove · b branch · Esc cancel",
            None => "Esc cancel",
        },
    };
    Line::one(text, Style::dim())
}
