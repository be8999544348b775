//! Pane snapshots: a pane's recent work, summarised by an LLM (DESIGN.md D7).
//!
//! [`snapshot`] gathers the pane's material ([`gather`]: its intent history, the last lines of
//! its screen and scrollback through the session, its working directory's git state, the
//! commands seen at its prompt), passes all of it through the secret filter, cuts it to the
//! configured token budget keeping the newest material ([`build_prompt`]), and then, with the
//! user's consent only, asks the configured provider for a summary. The summary is stored as a
//! `snapshot` entry of the pane's history and in its snapshot list; the pane lights up in perth
//! (`info` when stored, `warning` when the provider failed).
//!
//! The command line, host-bridge (the snapshot pane and the `zdrive::snapshot` pipe) all call
//! [`snapshot`]; nothing else sends pane content anywhere.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use chrono::{DateTime, Utc};
use secret_filter::SecretFilter;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::config::{Config, ConfigError};
use crate::format::section;
use crate::llm::{LlmClient, LlmError, Prompt, ProviderSettings};
use crate::model::{format_time, EntryType, PaneRecord, SnapshotRecord, Source};
use crate::setup::Setup;
use crate::store::History;
use crate::text::cut_to;
use crate::{EngineError, Zdrive};

/// About how many bytes of English and code make one token.
pub const BYTES_PER_TOKEN: usize = 4;
/// History entries considered for the context.
const HISTORY_ENTRIES: usize = 100;
/// Longest screen line sent, in bytes.
const MAX_LINE_BYTES: usize = 400;
/// Longest history summary sent, in bytes.
const MAX_ENTRY_BYTES: usize = 300;
/// Commands listed from the prompt lines.
const MAX_COMMANDS: usize = 10;
/// Changed files listed from `git status`.
const MAX_STATUS_LINES: usize = 30;

/// What the model is asked to do. Stable, so an unchanged pane hashes the same.
pub const SYSTEM_PROMPT: &str = "You summarise the work done in one terminal pane of a \
developer's workspace, for the person or AI agent who picks it up next. You are given the \
pane's intent log (newest first), its git state and the last lines of its terminal. Answer in \
markdown with exactly these three sections and nothing before them:\n\
## What was done\n## Current state\n## Suggested next steps\n\
Use short bullet lists, at most about 250 words in all, name files and commands where they \
matter. Text shown as [REDACTED:kind] was a secret removed before sending; never guess it.";

/// What `snapshot` is asked to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Call the provider even when the context is unchanged since the last snapshot.
    pub force: bool,
    /// Build the request and return it instead of sending it (no consent needed).
    pub dry_run: bool,
}

/// A request that was built but not sent (`--dry-run`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DryRun {
    /// The pane.
    pub pane: String,
    /// `anthropic`, `openai` or `ollama`.
    pub provider: String,
    /// Where it would go.
    pub endpoint: String,
    /// The headers, the key masked.
    pub headers: Vec<(String, String)>,
    /// The exact body.
    pub body: serde_json::Value,
    /// Bytes of context (system and user text).
    pub context_bytes: u64,
    /// SHA-256 of the context.
    pub context_hash: String,
    /// What could not be gathered, and why.
    pub notes: Vec<String>,
}

/// A stored (or reused) snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotOutcome {
    /// The pane.
    pub pane: String,
    /// The snapshot.
    pub record: SnapshotRecord,
    /// True when the context was unchanged and the last snapshot stands (no request made).
    pub reused: bool,
    /// Entries in the pane's history afterwards.
    pub total_entries: u64,
    /// What could not be gathered, and why.
    pub notes: Vec<String>,
}

/// What [`snapshot`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotResult {
    /// `dry_run`: the request, not sent.
    DryRun(DryRun),
    /// The snapshot.
    Done(SnapshotOutcome),
}

/// Why a snapshot was not made.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The user has not consented (or revoked consent): nothing was sent.
    #[error("zdrive may not send pane context to an LLM yet; grant consent with: zdrive config consent --grant (see first exactly what would be sent with: zdrive pane snapshot NAME --dry-run)")]
    NoConsent,
    /// The pane, store or outbox failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The provider failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The configuration file cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl SnapshotError {
    /// Returns a short machine-readable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NoConsent => "no_consent",
            Self::Engine(EngineError::Input(_)) => "bad_input",
            Self::Engine(EngineError::NotTracked { .. }) => "not_tracked",
            Self::Engine(_) => "unavailable",
            Self::Llm(e) => e.kind(),
            Self::Config(_) => "bad_config",
        }
    }
}

/// A pane's working directory's git state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitState {
    /// The branch (or `HEAD` when detached).
    pub branch: String,
    /// `git status --porcelain` lines.
    pub status: Vec<String>,
    /// `git diff --stat HEAD`.
    pub diff_stat: String,
}

/// What the context is built from, besides the intent log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Material {
    /// The screen and scrollback as plain text, oldest line first.
    pub screen: Option<String>,
    /// The working directory.
    pub cwd: Option<String>,
    /// The command the pane runs.
    pub command: Option<String>,
    /// The working directory's git state.
    pub git: Option<GitState>,
    /// What could not be gathered, and why (shown to the user, not sent).
    pub notes: Vec<String>,
}

/// Gathers the pane's screen, working directory and git state from the live session. What
/// cannot be reached (the session is gone, the folder is not a repository) becomes a note.
pub fn gather(setup: &Setup, record: Option<&PaneRecord>) -> Material {
    let mut material = Material::default();
    match record {
        Some(r) if !r.stale && !r.session.is_empty() && r.pane_id.starts_with("terminal_") => {
            match setup.connect_mux(Some(&r.session)) {
                Ok(mut mux) => {
                    match mux.list_panes() {
                        Ok(panes) => {
                            if let Some(live) = panes.into_iter().find(|p| p.pane_id == r.pane_id) {
                                material.cwd = live.cwd;
                                material.command = live.command;
                            }
                        }
                        Err(e) => material.notes.push(format!("pane list unavailable: {e}")),
                    }
                    match mux.dump_screen(&r.pane_id, true) {
                        Ok(text) => material.screen = Some(text),
                        Err(e) => material.notes.push(format!("screen unavailable: {e}")),
                    }
                }
                Err(e) => material
                    .notes
                    .push(format!("session {} unreachable: {e}", r.session)),
            }
        }
        Some(r) if r.stale => material
            .notes
            .push("the pane is stale (gone from its session): no screen".into()),
        _ => material
            .notes
            .push("the pane is not in a live session: no screen".into()),
    }
    if let Some(cwd) = &material.cwd {
        match git_state(Path::new(cwd)) {
            Ok(git) => material.git = Some(git),
            Err(why) => material.notes.push(why),
        }
    }
    material
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| format!("git unavailable: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "no git state for {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads the branch, `status --porcelain` and `diff --stat HEAD` of the repository at `dir`.
pub fn git_state(dir: &Path) -> Result<GitState, String> {
    let branch = git(dir, &["rev-parse", "--abbrev-ref", "HEAD"])?
        .trim()
        .to_owned();
    let status = git(dir, &["status", "--porcelain=v1"])?
        .lines()
        .map(str::to_owned)
        .collect();
    // A repository without commits has no HEAD to diff against.
    let diff_stat = git(dir, &["diff", "--stat", "HEAD"]).unwrap_or_default();
    Ok(GitState {
        branch,
        status,
        diff_stat,
    })
}

/// Returns `text` with control characters other than newline and tab removed.
fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

fn redact(text: &str) -> String {
    SecretFilter::global().redact(&plain(text)).into_owned()
}

/// Returns the commands typed at a shell prompt (`user@host:~/x$ cargo test`), newest last.
pub fn prompt_commands(screen: &str) -> Vec<String> {
    let mut commands: Vec<String> = Vec::new();
    for line in screen.lines() {
        let found = ["$ ", "❯ ", "% "]
            .iter()
            .filter_map(|marker| line.find(marker).map(|at| (at, marker.len())))
            .min();
        let Some((at, len)) = found else { continue };
        // A prompt is short and has no spaces before its marker (`~/src/api$ `).
        let before = &line[..at];
        if before.len() > 80 || before.contains(' ') {
            continue;
        }
        let command = line[at + len..].trim();
        if !command.is_empty() && commands.last().map(String::as_str) != Some(command) {
            commands.push(command.to_owned());
        }
    }
    let skip = commands.len().saturating_sub(MAX_COMMANDS);
    commands.split_off(skip)
}

fn entry_line(entry: &crate::IntentEntry) -> String {
    let kind = entry.entry_type.as_str().to_ascii_uppercase();
    let agent = if entry.source == Source::Agent {
        " [AGENT]"
    } else {
        ""
    };
    let summary = redact(&entry.summary).replace('\n', " ");
    let mut line = format!(
        "- [{kind}]{agent} {} {}",
        format_time(&entry.timestamp),
        cut_to(&summary, MAX_ENTRY_BYTES)
    );
    if !entry.artifacts.is_empty() {
        let artifacts: Vec<String> = entry.artifacts.iter().map(|a| redact(a)).collect();
        let _ = write!(line, " (artifacts: {})", artifacts.join(", "));
    }
    line.push('\n');
    line
}

/// Builds the prompt: everything redacted, at most `budget_tokens` (about
/// [`BYTES_PER_TOKEN`] bytes each) of user text. The header always stays; git state takes at
/// most a fifth of the budget and the intent log (newest first) a third; the screen's newest
/// lines fill what is left. Old material is what gets cut.
pub fn build_prompt(
    name: &str,
    record: Option<&PaneRecord>,
    history: &History,
    material: &Material,
    budget_tokens: usize,
) -> Prompt {
    let budget = budget_tokens.max(100) * BYTES_PER_TOKEN;
    let mut header = format!("# Pane {}\n\n", redact(name));
    if let Some(r) = record.filter(|r| !r.session.is_empty()) {
        let _ = writeln!(
            header,
            "- Session: {} / Tab: {}",
            redact(&r.session),
            redact(&r.tab)
        );
    }
    if let Some(cwd) = &material.cwd {
        let _ = writeln!(header, "- Working directory: {}", redact(cwd));
    }
    if let Some(command) = &material.command {
        let _ = writeln!(header, "- Running: {}", redact(command));
    }
    header.push('\n');

    let mut git_text = String::new();
    if let Some(g) = &material.git {
        let _ = writeln!(git_text, "## Git\n\nBranch: {}", redact(&g.branch));
        if g.status.is_empty() {
            git_text.push_str("Working tree clean.\n");
        } else {
            let _ = writeln!(git_text, "Changed files ({}):", g.status.len());
            for line in g.status.iter().take(MAX_STATUS_LINES) {
                let _ = writeln!(git_text, "  {}", redact(line));
            }
            if g.status.len() > MAX_STATUS_LINES {
                let _ = writeln!(git_text, "  ({} more)", g.status.len() - MAX_STATUS_LINES);
            }
        }
        if !g.diff_stat.trim().is_empty() {
            let _ = writeln!(git_text, "Diff stat:\n{}", redact(g.diff_stat.trim_end()));
        }
        git_text.push('\n');
        let cap = budget / 5;
        if git_text.len() > cap {
            git_text = format!("{}\n(cut)\n\n", cut_to(&git_text, cap.saturating_sub(8)));
        }
    }

    let mut commands_text = String::new();
    if let Some(screen) = &material.screen {
        let commands = prompt_commands(screen);
        if !commands.is_empty() {
            commands_text.push_str("## Recent commands (oldest first)\n\n");
            for c in commands {
                let _ = writeln!(commands_text, "- `{}`", redact(cut_to(&c, MAX_LINE_BYTES)));
            }
            commands_text.push('\n');
        }
    }

    // Earlier snapshots are derived from this same material: leaving them out keeps an
    // unchanged pane's context unchanged, so its last snapshot is reused.
    let mut history_text = String::from("## Intent log (newest first)\n\n");
    let history_cap = budget / 3;
    let logged: Vec<&crate::IntentEntry> = history
        .entries
        .iter()
        .filter(|e| e.entry_type != EntryType::Snapshot)
        .take(HISTORY_ENTRIES)
        .collect();
    let mut shown = 0usize;
    for entry in &logged {
        let line = entry_line(entry);
        if history_text.len() + line.len() > history_cap {
            break;
        }
        history_text.push_str(&line);
        shown += 1;
    }
    if logged.is_empty() {
        history_text.push_str("(no entries)\n");
    }
    if shown < logged.len() || history.total > history.entries.len() as u64 {
        history_text.push_str("(older entries omitted)\n");
    }
    history_text.push('\n');

    let used = header.len() + git_text.len() + commands_text.len() + history_text.len();
    let mut screen_text = String::new();
    if let Some(screen) = &material.screen {
        let room = budget.saturating_sub(used + 64);
        let redacted = redact(screen);
        let lines: Vec<&str> = redacted.trim_end().lines().collect();
        let mut kept: Vec<&str> = Vec::new();
        let mut size = 0;
        for line in lines.iter().rev() {
            let line = cut_to(line.trim_end(), MAX_LINE_BYTES);
            if size + line.len() + 1 > room {
                break;
            }
            size += line.len() + 1;
            kept.push(line);
        }
        kept.reverse();
        let _ = writeln!(
            screen_text,
            "## Terminal (last {} of {} lines, oldest first)\n\n```",
            kept.len(),
            lines.len()
        );
        for line in kept {
            screen_text.push_str(line);
            screen_text.push('\n');
        }
        screen_text.push_str("```\n");
    }
    let user = format!("{header}{git_text}{commands_text}{history_text}{screen_text}");
    // Every piece was redacted on its own; one more pass catches a secret split across pieces.
    Prompt {
        system: SYSTEM_PROMPT.to_owned(),
        user: SecretFilter::global().redact(&user).into_owned(),
    }
}

/// Returns the SHA-256 (hex) of what would be sent to whom.
pub fn context_hash(settings: &ProviderSettings, prompt: &Prompt) -> String {
    let mut hash = Sha256::new();
    for part in [
        settings.kind.as_str(),
        settings.model.as_str(),
        prompt.system.as_str(),
        prompt.user.as_str(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Makes (or with an unchanged context reuses) a snapshot of pane `name`.
///
/// Order: gather and build the redacted context; a dry run returns the request here. Then
/// consent, read from the file at each call so that a revocation stops the next request at
/// once; then the last snapshot is reused when its context hash matches (unless
/// `force`); then the provider is asked and the answer stored.
pub async fn snapshot(
    setup: &Setup,
    engine: &Zdrive,
    name: &str,
    options: &SnapshotOptions,
    now: DateTime<Utc>,
) -> Result<SnapshotResult, SnapshotError> {
    let (record, history) = engine
        .history(name, Some(HISTORY_ENTRIES + crate::engine::SNAPSHOTS_KEPT))
        .await?;
    let material = gather(setup, record.as_ref());
    let settings = setup.llm_settings();
    let prompt = build_prompt(
        name,
        record.as_ref(),
        &history,
        &material,
        setup.config.llm.context_tokens(),
    );
    let hash = context_hash(&settings, &prompt);
    let context_bytes = (prompt.system.len() + prompt.user.len()) as u64;
    if options.dry_run {
        return Ok(SnapshotResult::DryRun(DryRun {
            pane: name.to_owned(),
            provider: settings.kind.as_str().to_owned(),
            endpoint: settings.endpoint(),
            headers: settings.headers(true),
            body: settings.body(&prompt),
            context_bytes,
            context_hash: hash,
            notes: material.notes,
        }));
    }
    if !Config::load(&setup.config_path)?.llm_consent {
        return Err(SnapshotError::NoConsent);
    }
    if !options.force {
        if let Some(last) = engine.snapshots(name, Some(1)).await?.into_iter().next() {
            if last.context_hash == hash {
                return Ok(SnapshotResult::Done(SnapshotOutcome {
                    pane: name.to_owned(),
                    record: last,
                    reused: true,
                    total_entries: history.total,
                    notes: material.notes,
                }));
            }
        }
    }
    let started = Instant::now();
    let answer = match LlmClient::new(settings.clone()) {
        Ok(client) => client.complete(&prompt).await,
        Err(e) => Err(e),
    };
    let completion = match answer {
        Ok(c) => c,
        Err(e) => {
            if let Some(r) = &record {
                setup.notify_pane(r, "warning", &format!("snapshot failed: {e}"));
            }
            return Err(e.into());
        }
    };
    let (stored, total) = engine
        .record_snapshot(
            name,
            SnapshotRecord {
                timestamp: now,
                provider: settings.kind.as_str().to_owned(),
                model: completion.model,
                summary: completion.text,
                context_hash: hash,
                context_bytes,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            },
        )
        .await?;
    if let Some(r) = &record {
        let state = section(&stored.summary, "Current state")
            .and_then(|s| s.lines().find(|l| !l.trim().is_empty()))
            .map(|l| l.trim_start_matches(['-', '*', ' ']).to_owned())
            .unwrap_or_else(|| "stored".into());
        setup.notify_pane(r, "info", &format!("snapshot: {state}"));
    }
    Ok(SnapshotResult::Done(SnapshotOutcome {
        pane: name.to_owned(),
        record: stored,
        reused: false,
        total_entries: total,
        notes: material.notes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse_time;
    use crate::IntentEntry;

    fn history(n: usize) -> History {
        History {
            entries: (0..n)
                .rev()
                .map(|i| IntentEntry {
                    timestamp: parse_time("2026-01-02T03:04:05Z").unwrap(),
                    entry_type: if i % 10 == 0 {
                        EntryType::Milestone
                    } else {
                        EntryType::Checkpoint
                    },
                    source: Source::Agent,
                    summary: format!("entry number {i} with some words about the work"),
                    artifacts: vec![format!("src/f{i}.rs")],
                })
                .collect(),
            total: n as u64,
        }
    }

    fn screen(lines: usize) -> String {
        (0..lines)
            .map(|i| format!("output line {i} of the build\n"))
            .collect()
    }

    #[test]
    fn the_budget_keeps_the_header_and_the_newest_material() {
        let material = Material {
            screen: Some(screen(2000)),
            cwd: Some("/src/api".into()),
            ..Material::default()
        };
        let prompt = build_prompt("api", None, &history(100), &material, 1000);
        assert!(
            prompt.user.len() <= 1000 * BYTES_PER_TOKEN,
            "{}",
            prompt.user.len()
        );
        assert!(prompt.user.starts_with("# Pane api\n"));
        assert!(prompt.user.contains("- Working directory: /src/api"));
        assert!(
            prompt.user.contains("entry number 99 "),
            "newest entry kept"
        );
        assert!(!prompt.user.contains("entry number 0 "), "oldest entry cut");
        assert!(prompt.user.contains("older entries omitted"));
        assert!(
            prompt.user.contains("output line 1999 "),
            "newest line kept"
        );
        assert!(!prompt.user.contains("output line 0 "), "oldest line cut");
        assert!(prompt.user.contains("of 2000 lines"));
    }

    #[test]
    fn secrets_never_reach_the_prompt() {
        let key = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let mut h = history(3);
        h.entries[0].summary = format!("pushed with {key}");
        let material = Material {
            screen: Some(format!(
                "~/x$ export GITHUB_TOKEN={key}\nAWS key AKIAQ3EGT7WLN4ZX5VPR\n"
            )),
            cwd: Some("/tmp".into()),
            command: Some(format!("deploy --token {key}")),
            git: Some(GitState {
                branch: "feat/x".into(),
                status: vec![format!(" M {key}.txt")],
                diff_stat: String::new(),
            }),
            notes: vec![],
        };
        let prompt = build_prompt("api", None, &h, &material, 6000);
        assert!(!prompt.user.contains(key), "{}", prompt.user);
        assert!(!prompt.user.contains("AKIAQ3EGT7WLN4ZX5VPR"));
        assert!(prompt.user.contains("[REDACTED:github-token]"));
    }

    #[test]
    fn no_secret_of_the_filters_corpus_reaches_the_prompt() {
        let corpus = include_str!("../../secret-filter/tests/corpus/positives.tsv");
        let cases: Vec<(String, String)> = corpus
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut f = l.split('\t').map(|s| s.replace("\\n", "\n"));
                let (_kind, text, secret) = (f.next()?, f.next()?, f.next()?);
                Some((text, secret))
            })
            .collect();
        assert!(cases.len() > 50, "{}", cases.len());
        let screen: String = cases.iter().map(|(t, _)| format!("{t}\n")).collect();
        let mut h = history(0);
        for (text, _) in &cases {
            h.entries.push(crate::IntentEntry {
                timestamp: parse_time("2026-01-02T03:04:05Z").unwrap(),
                entry_type: EntryType::Checkpoint,
                source: Source::Human,
                summary: text.replace('\n', " "),
                artifacts: vec![],
            });
        }
        h.total = h.entries.len() as u64;
        let material = Material {
            screen: Some(screen),
            ..Material::default()
        };
        let prompt = build_prompt("api", None, &h, &material, 100_000);
        let body = ProviderSettings::new(crate::llm::ProviderKind::Openai).body(&prompt);
        let sent = body.to_string();
        assert!(sent.contains("[REDACTED:"), "{sent}");
        for (_, secret) in &cases {
            for line in secret
                .lines()
                .filter(|l| l.len() > 8 && !l.starts_with("-----"))
            {
                assert!(!sent.contains(line), "{line:?} was sent");
            }
        }
    }

    #[test]
    fn control_characters_are_dropped() {
        let material = Material {
            screen: Some("a\u{1b}[31mred\u{7}\tb\n".into()),
            ..Material::default()
        };
        let prompt = build_prompt("api", None, &history(0), &material, 6000);
        assert!(prompt.user.contains("a[31mred\tb"), "{}", prompt.user);
        assert!(prompt.user.contains("(no entries)"));
    }

    #[test]
    fn prompt_lines_give_recent_commands() {
        let screen = "user@host:~/api$ cargo test\nrunning 3 tests\n\
                      test result: ok. cost $ 3\n~/api$ git commit -m x\n❯ ls\n~/api$ \n";
        assert_eq!(
            prompt_commands(screen),
            vec!["cargo test", "git commit -m x", "ls"]
        );
    }

    #[test]
    fn the_hash_follows_the_context_and_the_model() {
        let s = ProviderSettings::new(crate::llm::ProviderKind::Anthropic);
        let p = Prompt {
            system: "s".into(),
            user: "u".into(),
        };
        let h = context_hash(&s, &p);
        assert_eq!(h.len(), 64);
        assert_eq!(h, context_hash(&s, &p));
        let mut other = s.clone();
        other.model = "m2".into();
        assert_ne!(h, context_hash(&other, &p));
        let changed = Prompt {
            user: "u2".into(),
            ..p
        };
        assert_ne!(h, context_hash(&s, &changed));
    }
}
