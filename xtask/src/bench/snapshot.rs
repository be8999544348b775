//! The snapshot bench: the speed goals of zdrive's LLM snapshots (issue 8).
//!
//! - Overhead: `zdrive pane snapshot NAME --force --json` as a whole process, for a pane of a real
//!   perth session with 100 intent entries, 2,000 lines of scrollback and a git repository as
//!   its folder, against a fake Anthropic provider on loopback that answers at once. The
//!   reference is the provider round trip alone: the same request body POSTed to the same
//!   server by `curl`, a process too. For the breakdown, `--dry-run` (the context built, nothing
//!   sent or stored) is timed next to `history --last 1` (the process and the store alone). The
//!   four run in turn in every sample, so that other work on the machine weighs on all alike.
//!   Measured on the embedded store and on Redis. The first snapshot adds an entry to the
//!   pane's capped history (100); the later ones replace it, since nothing is logged between
//!   samples, so every sample sees the same 99 intent entries.
//! - Redaction: the secret filter over 10 MB of mixed text (code, logs, shell output, markdown,
//!   JSON) with a secret planted about every 20 KB, by the `redact_bench` example of the
//!   secret-filter crate, against `sed -E` replacing one simple pattern in the same file.
//!   Every planted secret must come back as its `[REDACTED:kind]` marker.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use ::tests::{ensure_debian_packages, Redis};
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use xshell::cmd;

use super::{
    bridge::StaticServer,
    foundation::type_command,
    imi::git,
    report::{median, percentile, Goal, Row},
    session::{Session, PROMPT},
    zdrive::{run_ok, zdrive_bin},
    Bench, BenchContext,
};

const WIDTH: u16 = 200;
const HEIGHT: u16 = 50;
/// The perth session zdrive talks to (`ZELLIJ_SESSION_NAME`).
const SESSION_NAME: &str = "bench-snapshot";
/// The pane measured on the embedded store, and the one measured on Redis.
const PANE: &str = "bench-pane";
const PANE_REDIS: &str = "bench-pane-redis";
/// Lines printed into each pane's scrollback.
const SCROLLBACK_LINES: usize = 2_000;
/// Intent entries logged on each pane.
const INTENT_ENTRIES: usize = 100;
/// Snapshots zdrive keeps per pane.
const SNAPSHOTS_KEPT: usize = 20;
/// Untimed rounds before the measured ones.
const WARMUP: usize = 2;
/// The key zdrive and curl send (the fake provider does not check it).
const API_KEY: &str = "test-key";

/// What the fake provider answers to every request: a valid Anthropic Messages response.
const ANSWER: &[u8] = br###"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"## What was done\n- x\n## Current state\n- y\n## Suggested next steps\n- z"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":5}}"###;

/// Size of the generated text the secret filter redacts.
const REDACT_BYTES: usize = 10_000_000;
/// About how many bytes of filler separate two planted secrets.
const SECRET_EVERY: usize = 20_000;
/// A word every planted secret holds and the filler never does: none may survive redaction.
const NEEDLE: &str = "PLANTED";
/// The reference's one pattern, for `sed -E`.
const SED_SCRIPT: &str = "s/ghp_[A-Za-z0-9]{36}/[REDACTED:github-token]/g";

/// The snapshot bench.
pub(crate) struct Snapshot;

impl Bench for Snapshot {
    fn name(&self) -> &'static str {
        "snapshot"
    }

    fn reference(&self) -> String {
        "curl POSTing the same request to the same fake provider; sed -E with one pattern over the same text".to_owned()
    }

    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>> {
        ensure!(
            ctx.perth_bin.is_file(),
            "{} does not exist; run `cargo xtask build` or set PERTH_BENCH_PERTH_BIN",
            ctx.perth_bin.display()
        );
        let zdrive = zdrive_bin(ctx)?;
        ensure_debian_packages(&[("curl", "curl"), ("git", "git"), ("sed", "sed")])
            .context("installing curl, git and sed for the snapshot bench")?;
        // Built first: a build that has to catch up with other work must not run during the samples.
        cmd!(ctx.sh, "cargo build --release --workspace --examples")
            .run()
            .context("building the redact_bench example")?;
        let redact_bin = ctx.ws.target_dir.join("release/examples/redact_bench");

        let mut rows = overhead(ctx, &zdrive, ctx.samples(30, 8))?;
        rows.extend(redaction(ctx, &redact_bin, ctx.samples(5, 3))?);
        Ok(rows)
    }
}

/// Where a pane's record and history live.
enum Store {
    Embedded,
    Redis(String),
}

impl Store {
    fn label(&self) -> &'static str {
        match self {
            Store::Embedded => "embedded",
            Store::Redis(_) => "redis",
        }
    }
}

/// A perth session with zdrive configured to send snapshots to the fake provider.
struct SnapshotSession {
    session: Session,
    zdrive: PathBuf,
    /// The fake provider's address, as `llm.base_url` holds it.
    base_url: String,
}

impl SnapshotSession {
    /// Returns `zdrive ARGS...` in the session's environment, on `store`.
    fn zdrive(&self, store: &Store, args: &[&str]) -> Command {
        let mut cmd = self.session.command(&self.zdrive);
        cmd.args(args)
            .env("ZELLIJ_SESSION_NAME", SESSION_NAME)
            .env("ANTHROPIC_API_KEY", API_KEY)
            .stdin(Stdio::null());
        match store {
            Store::Embedded => cmd.env("ZDRIVE_STORE", "embedded"),
            Store::Redis(url) => cmd.env("ZDRIVE_REDIS_URL", url),
        };
        cmd
    }

    /// Returns how many shell prompts the screen shows.
    fn prompts(&self) -> Result<usize> {
        Ok(self
            .session
            .capture(false)?
            .matches(PROMPT.trim_end())
            .count())
    }

    /// Creates pane `name` with `zdrive pane`, prints [`SCROLLBACK_LINES`] lines in it and logs
    /// [`INTENT_ENTRIES`] entries on it; checks that a dry run's context holds all of it.
    fn prepare_pane(&self, store: &Store, name: &str) -> Result<()> {
        let prompts = self.prompts()?;
        run_ok(&mut self.zdrive(store, &["pane", name]))?;
        self.session.wait_for_screen(
            &format!("the shell prompt of the new pane {name}"),
            Duration::from_millis(20),
            Duration::from_secs(30),
            |screen| screen.matches(PROMPT.trim_end()).count() > prompts,
        )?;

        // zdrive focused the new pane, so what is typed lands there.
        let marker = format!("scrollback-filled-{name}");
        let script = self.session.env().root().join("fill.sh");
        fs::write(
            &script,
            format!(
                "for i in $(seq 1 {SCROLLBACK_LINES}); do echo \"build step $i: compiling crate-$i v0.1.$((i % 10)) (/src/crate-$i)\"; done\necho \"scrollback-filled-$1\"\n"
            ),
        )
        .with_context(|| format!("writing {}", script.display()))?;
        type_command(&self.session, &format!("sh {} {name}", script.display()))?;
        self.session.press("Enter")?;
        self.session.wait_for_screen(
            &format!("{SCROLLBACK_LINES} lines printed in {name}"),
            Duration::from_millis(50),
            Duration::from_secs(60),
            |screen| screen.contains(&marker),
        )?;

        for i in 0..INTENT_ENTRIES {
            let summary = intent_summary(i);
            let mut args = vec![
                "pane",
                "log",
                name,
                &summary,
                "--type",
                ["checkpoint", "checkpoint", "exploration", "milestone"][i % 4],
            ];
            if i % 3 == 0 {
                args.extend(["--source", "agent"]);
            }
            let first = format!("src/module_{}.rs", i % 17);
            let second = format!("tests/it/case_{i}.rs");
            if i % 2 == 0 {
                args.extend(["--artifacts", &first, &second]);
            }
            run_ok(&mut self.zdrive(store, &args))
                .with_context(|| format!("logging intent entry {i} on {name}"))?;
        }

        let dry = self.dry_run(store, name)?;
        let user = dry["body"]["messages"][0]["content"]
            .as_str()
            .with_context(|| format!("the dry run of {name} has no user message: {dry}"))?;
        let (kept, total) = terminal_lines(user).with_context(|| {
            format!("the dry run's context of {name} has no terminal section:\n{user}")
        })?;
        ensure!(
            total >= SCROLLBACK_LINES,
            "the dry run's context of {name} has {total} terminal lines, not the {SCROLLBACK_LINES} printed:\n{user}"
        );
        ensure!(
            user.contains("## Intent log")
                && user.contains(&intent_summary(INTENT_ENTRIES - 1))
                && user.contains("## Git"),
            "the dry run's context of {name} lacks the intent log or the git state:\n{user}"
        );
        eprintln!(
            "bench snapshot: {name} ({}): {} context bytes, terminal lines {kept} of {total}, notes {}",
            store.label(),
            dry["context_bytes"],
            dry["notes"]
        );
        Ok(())
    }

    /// Times `snapshot NAME --force --json` and curl with the same request, and for the
    /// breakdown `--dry-run` and `history --last 1`, in turn; returns the series in ms.
    fn measure(&self, store: &Store, name: &str, samples: usize) -> Result<Timings> {
        let dry = self.dry_run(store, name)?;
        let endpoint = dry["endpoint"]
            .as_str()
            .context("the dry run has no endpoint")?;
        ensure!(
            endpoint.starts_with(&self.base_url),
            "the dry run goes to {endpoint}, not to the fake provider at {}",
            self.base_url
        );
        let body_file = self
            .session
            .env()
            .tmp_dir()
            .join(format!("{name}-body.json"));
        let body = serde_json::to_vec(&dry["body"]).context("serializing the request body")?;
        fs::write(&body_file, body).with_context(|| format!("writing {}", body_file.display()))?;
        let mut curl = Command::new("curl");
        // `Expect:` keeps curl from waiting for a 100 Continue the server never sends.
        curl.args(["--silent", "--show-error", "--fail", "--noproxy", "*"])
            .args(["--output", "/dev/null", "--header", "Expect:"]);
        for header in dry["headers"]
            .as_array()
            .context("the dry run has no headers")?
        {
            let (Some(key), Some(value)) = (header[0].as_str(), header[1].as_str()) else {
                bail!("a header of the dry run is not a [name, value] pair: {header}");
            };
            let value = if value == "***" { API_KEY } else { value };
            curl.args(["--header", &format!("{key}: {value}")]);
        }
        curl.arg("--data-binary")
            .arg(format!("@{}", body_file.display()))
            .arg(endpoint)
            .stdin(Stdio::null());

        let count_before = self.snapshot_count(store, name)?;
        let snapshot_args = ["pane", "snapshot", name, "--force", "--json"];
        let dry_run_args = ["pane", "snapshot", name, "--dry-run", "--json"];
        let history_args = ["pane", "history", name, "--last", "1", "--json"];
        let mut timings = Timings::default();
        for run in 0..WARMUP + samples {
            let (snapshot_ms, out) = timed(&mut self.zdrive(store, &snapshot_args))?;
            let data = envelope_data(&out)?;
            ensure!(
                data["reused"] == false && data["record"]["summary"].is_string(),
                "snapshot --force did not ask the provider: {data}"
            );
            let (curl_ms, out) = timed(&mut curl)?;
            ensure!(
                out.status.success(),
                "curl failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            let (dry_run_ms, out) = timed(&mut self.zdrive(store, &dry_run_args))?;
            envelope_data(&out)?;
            let (history_ms, out) = timed(&mut self.zdrive(store, &history_args))?;
            envelope_data(&out)?;
            if run >= WARMUP {
                timings.snapshot.push(snapshot_ms);
                timings.curl.push(curl_ms);
                timings.dry_run.push(dry_run_ms);
                timings.history.push(history_ms);
            }
        }
        let count_after = self.snapshot_count(store, name)?;
        let expected = (count_before + WARMUP + samples).min(SNAPSHOTS_KEPT);
        ensure!(
            count_after == expected,
            "{name} holds {count_after} snapshots after {} runs, not {expected}",
            WARMUP + samples
        );
        Ok(timings)
    }

    /// Returns the request `pane snapshot NAME --dry-run` would send: endpoint, headers, body.
    fn dry_run(&self, store: &Store, name: &str) -> Result<Value> {
        zdrive_data(&mut self.zdrive(store, &["pane", "snapshot", name, "--dry-run", "--json"]))
    }

    /// Returns how many snapshots `zdrive pane snapshots NAME` lists.
    fn snapshot_count(&self, store: &Store, name: &str) -> Result<usize> {
        let data = zdrive_data(&mut self.zdrive(store, &["pane", "snapshots", name, "--json"]))?;
        data["snapshots"]
            .as_array()
            .map(Vec::len)
            .with_context(|| format!("pane snapshots printed no list: {data}"))
    }
}

/// Wall times of the processes [`SnapshotSession::measure`] runs, in ms.
#[derive(Default)]
struct Timings {
    /// `pane snapshot NAME --force --json`.
    snapshot: Vec<f64>,
    /// curl POSTing the same request.
    curl: Vec<f64>,
    /// `pane snapshot NAME --dry-run --json`: the context is built, nothing is sent or stored.
    dry_run: Vec<f64>,
    /// `pane history NAME --last 1 --json`: the process and the store, without a context.
    history: Vec<f64>,
}

/// Snapshot overhead on the embedded store and on Redis, `samples` alternating runs each.
fn overhead(ctx: &BenchContext<'_>, zdrive: &Path, samples: usize) -> Result<Vec<Row>> {
    let provider = StaticServer::start(ANSWER)?;
    let base_url = format!("http://127.0.0.1:{}", provider.port);
    let session = Session::new(WIDTH, HEIGHT)?;
    let project = session.home().join("project");
    make_project(&project)?;
    session.exec(&[
        &ctx.perth_bin,
        Path::new("--session"),
        Path::new(SESSION_NAME),
    ])?;
    session.wait_for_screen(
        "perth's first shell prompt",
        Duration::from_millis(20),
        Duration::from_secs(60),
        |screen| screen.contains(PROMPT.trim_end()),
    )?;
    // New panes open in the focused pane's folder: the repository.
    type_command(&session, "cd project")?;
    session.press("Enter")?;
    let bench = SnapshotSession {
        session,
        zdrive: zdrive.to_owned(),
        base_url,
    };
    for args in [
        &["config", "consent", "--grant"][..],
        &["config", "set", "llm.base_url", &bench.base_url],
    ] {
        run_ok(&mut bench.zdrive(&Store::Embedded, args))?;
    }

    let redis = Redis::start().context("starting redis-server for the snapshot bench")?;
    let mut rows = Vec::new();
    for (store, name) in [
        (Store::Embedded, PANE),
        (Store::Redis(redis.url()), PANE_REDIS),
    ] {
        bench.prepare_pane(&store, name)?;
        eprintln!(
            "bench snapshot: {samples} samples of {name} ({}): snapshot --force, curl, --dry-run and history, in turn",
            store.label()
        );
        let timings = bench.measure(&store, name, samples)?;
        let middle = |series: &[f64]| median(series).unwrap_or(f64::NAN);
        let (z50, c50) = (middle(&timings.snapshot), middle(&timings.curl));
        let (d50, h50) = (middle(&timings.dry_run), middle(&timings.history));
        eprintln!(
            "bench snapshot: {} medians: snapshot {z50:.1} ms, curl {c50:.1} ms (overhead {:.1} ms); dry run {d50:.1} ms, history --last 1 {h50:.1} ms",
            store.label(),
            z50 - c50
        );
        rows.push(Row::new(
            format!(
                "snapshot --force ({}), median of {samples}; goal: overhead",
                store.label()
            ),
            z50,
            c50,
            "ms",
            Goal::AtMostReferencePlus(50.0),
        ));
        rows.push(Row::new(
            format!("snapshot --force ({}), p95", store.label()),
            percentile(&timings.snapshot, 95.0).unwrap_or(f64::NAN),
            percentile(&timings.curl, 95.0).unwrap_or(f64::NAN),
            "ms",
            Goal::None,
        ));
        rows.push(Row::new(
            format!(
                "snapshot --dry-run ({}) vs history --last 1: building the context",
                store.label()
            ),
            d50,
            h50,
            "ms",
            Goal::None,
        ));
    }
    Ok(rows)
}

/// Makes a small git repository at `dir` with a commit and uncommitted changes, as a pane's
/// working folder usually is, so that the context holds a branch, a status and a diff stat.
fn make_project(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    git(dir, &["init", "--quiet", "-b", "main"])?;
    for i in 0..20 {
        fs::write(
            dir.join(format!("src/module_{i}.rs")),
            format!("//! Module {i}.\n\npub fn value() -> u32 {{\n    {i}\n}}\n"),
        )?;
    }
    fs::write(dir.join("README.md"), "# bench project\n")?;
    git(dir, &["add", "-A"])?;
    git(
        dir,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "--quiet",
            "-m",
            "Initial",
        ],
    )?;
    for i in 0..5 {
        fs::write(
            dir.join(format!("src/module_{i}.rs")),
            format!("//! Module {i}, changed.\n\npub fn value() -> u32 {{\n    {i} + 1\n}}\n"),
        )?;
    }
    fs::write(dir.join("src/new_module.rs"), "pub fn added() {}\n")?;
    Ok(())
}

/// Returns the summary of the `i`th logged intent entry.
fn intent_summary(i: usize) -> String {
    let subjects = [
        "parser handles nested blocks",
        "split the lexer out of the parser",
        "tried a table-driven tokenizer, slower",
        "all integration tests pass",
        "fixed the off-by-one in span ends",
        "retry logic for the upload client",
    ];
    format!(
        "step {i}: {} (see build step {})",
        subjects[i % subjects.len()],
        i * 20
    )
}

/// Returns `(kept, total)` from the context's `## Terminal (last N of M lines` heading.
fn terminal_lines(user: &str) -> Option<(usize, usize)> {
    let rest = user.split("## Terminal (last ").nth(1)?;
    let (kept, rest) = rest.split_once(" of ")?;
    let (total, _) = rest.split_once(" lines")?;
    Some((kept.parse().ok()?, total.parse().ok()?))
}

/// Runs `cmd` and returns its wall time in ms with its output.
fn timed(cmd: &mut Command) -> Result<(f64, Output)> {
    let started = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, out))
}

/// Runs a `zdrive ... --json` command and returns its envelope's `data`.
fn zdrive_data(cmd: &mut Command) -> Result<Value> {
    envelope_data(&cmd.output().context("running zdrive")?)
}

/// Returns the `data` of zdrive's `{success, data, error}` envelope, failing unless it succeeded.
fn envelope_data(out: &Output) -> Result<Value> {
    let envelope: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "zdrive printed no JSON (exit {}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })?;
    ensure!(
        out.status.success() && envelope["success"] == true,
        "zdrive failed ({}): {}",
        out.status,
        envelope["error"]
    );
    Ok(envelope["data"].clone())
}

/// Redaction throughput of the `redact_bench` example over [`REDACT_BYTES`] of mixed text, against `sed -E`.
fn redaction(ctx: &BenchContext<'_>, bin: &Path, runs: usize) -> Result<Vec<Row>> {
    let (text, planted) = mixed_text(REDACT_BYTES);
    let input = ctx.out_dir().join("snapshot-redact-input.txt");
    let output = ctx.out_dir().join("snapshot-redact-output.txt");
    fs::write(&input, &text).with_context(|| format!("writing {}", input.display()))?;
    let megabytes = text.len() as f64 / 1e6;
    let secrets: usize = planted.values().sum();
    eprintln!(
        "bench snapshot: redacting {megabytes:.1} MB with {secrets} planted secrets, {runs} runs"
    );
    let out = Command::new(bin)
        .arg(&input)
        .arg(&output)
        .args(["--runs", &runs.to_string()])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    ensure!(
        out.status.success(),
        "redact_bench failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "redact_bench printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let rate = report["mb_per_s"]
        .as_f64()
        .with_context(|| format!("redact_bench reported no mb_per_s: {report}"))?;

    let redacted =
        fs::read_to_string(&output).with_context(|| format!("reading {}", output.display()))?;
    check_redacted(&redacted, &planted)?;

    // The reference: one pattern, the same file, output thrown away.
    let mut sed_mb_per_s = Vec::new();
    for _ in 0..runs {
        let mut sed = Command::new("sed");
        sed.args(["-E", SED_SCRIPT])
            .arg(&input)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let (ms, out) = timed(&mut sed)?;
        ensure!(out.status.success(), "sed failed ({})", out.status);
        sed_mb_per_s.push(megabytes / (ms / 1000.0));
    }
    let sed_rate = median(&sed_mb_per_s).unwrap_or(f64::NAN);
    eprintln!(
        "bench snapshot: redaction {rate:.1} MB/s ({} redactions), sed -E one pattern {sed_rate:.1} MB/s",
        report["redactions"]
    );
    Ok(vec![Row::new(
        format!("redact {megabytes:.0} MB mixed text, {secrets} secrets (vs sed -E, 1 pattern)"),
        rate,
        sed_rate,
        "MB/s",
        Goal::AtLeast(50.0),
    )])
}

/// Fails unless every planted secret came back as one marker of its kind and none is left.
fn check_redacted(redacted: &str, planted: &BTreeMap<&'static str, usize>) -> Result<()> {
    let leaked = redacted.matches(NEEDLE).count();
    ensure!(
        leaked == 0,
        "{leaked} planted secrets survived redaction (search the output for {NEEDLE})"
    );
    let mut wrong = Vec::new();
    for (kind, count) in planted {
        let found = redacted.matches(&format!("[REDACTED:{kind}]")).count();
        if found != *count {
            wrong.push(format!("{kind}: {found} markers for {count} planted"));
        }
    }
    let markers = redacted.matches("[REDACTED:").count();
    let secrets: usize = planted.values().sum();
    if markers != secrets {
        wrong.push(format!("{markers} markers in all for {secrets} planted"));
    }
    ensure!(
        wrong.is_empty(),
        "redaction markers do not match the planted secrets: {}",
        wrong.join("; ")
    );
    Ok(())
}

/// A small deterministic generator (xorshift64*), so that every run redacts the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Returns `len` characters drawn from `alphabet`.
    fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

/// Returns about `bytes` of mixed text with a secret every [`SECRET_EVERY`] bytes or so, and
/// how many secrets of each kind it holds.
fn mixed_text(bytes: usize) -> (String, BTreeMap<&'static str, usize>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut text = String::with_capacity(bytes + 4096);
    let mut planted = BTreeMap::new();
    let mut since_secret = 0;
    let mut n = 0usize;
    while text.len() < bytes {
        let before = text.len();
        filler(&mut text, &mut rng, n);
        since_secret += text.len() - before;
        if since_secret >= SECRET_EVERY {
            let kind = plant_secret(&mut text, &mut rng, planted.values().sum());
            *planted.entry(kind).or_insert(0) += 1;
            since_secret = 0;
        }
        n += 1;
    }
    (text, planted)
}

/// Appends one chunk of filler: code, logs, shell output, markdown or JSON, all free of secrets
/// (the markdown has near misses the filter must leave alone).
fn filler(text: &mut String, rng: &mut Rng, n: usize) {
    use std::fmt::Write as _;
    match rng.below(5) {
        0 => {
            let _ = write!(
                text,
                "/// Returns the items owned by the caller, newest first.\n\
                 pub async fn list_items_{n}(req: &Request, db: &Pool) -> Result<Response, ApiError> {{\n    \
                 let user = req.header(\"x-user-id\").ok_or(ApiError::MissingUser)?;\n    \
                 let items: Vec<Item> = db\n        \
                 .query(\"SELECT id, name, updated_at FROM items WHERE owner = $1 ORDER BY updated_at DESC LIMIT {}\", &[&user])\n        \
                 .await?;\n    \
                 tracing::info!(count = items.len(), user = %user, \"listed items\");\n    \
                 Ok(Response::json(&items))\n}}\n\n",
                10 + n % 90
            );
        }
        1 => {
            for line in 0..12 {
                let _ = writeln!(
                    text,
                    "2026-01-02T03:{:02}:{:02}.{:03}Z  {} api::server{{request_id={}}}: {} /v1/items/{} {} {}ms",
                    n / 60 % 60,
                    n % 60,
                    rng.below(1000),
                    ["INFO", "INFO", "INFO", "WARN", "DEBUG"][line % 5],
                    rng.string(HEX, 16),
                    ["GET", "POST", "PUT"][line % 3],
                    n * 12 + line,
                    [200, 200, 201, 404, 500][rng.below(5)],
                    rng.below(250)
                );
            }
        }
        2 => {
            let _ = write!(
                text,
                "perth-test$ cargo build --release\n   Compiling crate-{n} v0.1.{}\n   Compiling api v0.3.0 (/src/api)\n    Finished `release` profile [optimized] target(s) in {}.{:02}s\n\
                 perth-test$ git status --short\n M src/module_{}.rs\n?? notes/step-{n}.md\n\
                 perth-test$ git log --oneline -3\n{} Split the lexer out of the parser\n{} Handle nested blocks\n{} Retry uploads on 503\n\
                 perth-test$ ls -la target/release | head -3\ntotal {}\ndrwxr-xr-x  7 dev dev  4096 Jan  2 03:04 .\ndrwxr-xr-x  9 dev dev  4096 Jan  2 03:00 ..\n",
                n % 10,
                rng.below(90),
                rng.below(100),
                n % 40,
                rng.string(HEX, 7),
                rng.string(HEX, 7),
                rng.string(HEX, 7),
                rng.below(500_000)
            );
        }
        3 => {
            let _ = write!(
                text,
                "## Step {n}: refactor the parser\n\n\
                 - Moved the tokenizer into `src/lexer.rs`; the grammar is at https://docs.example.com/parser/{n}.\n\
                 - Weak defaults such as `password=changeme` are now rejected at start-up.\n\
                 - CI reads `token: ${{GITHUB_TOKEN}}` from the environment instead of a literal.\n\
                 - Benchmarks: {} ms before, {} ms after (median of 30).\n\n\
                 | file | lines | change |\n|------|-------|--------|\n| src/lexer.rs | {} | new |\n| src/parser.rs | {} | -{} |\n\n",
                rng.below(900) + 100,
                rng.below(100) + 10,
                rng.below(800),
                rng.below(1500),
                rng.below(400)
            );
        }
        _ => {
            for item in 0..6 {
                let _ = writeln!(
                    text,
                    "{{\"id\":{},\"name\":\"item-{n}-{item}\",\"tags\":[\"alpha\",\"beta\"],\"owner\":{{\"id\":\"u-{}\",\"email\":\"dev{}@example.com\"}},\"updated_at\":\"2026-01-02T03:04:05Z\",\"size\":{}}}",
                    n * 6 + item,
                    rng.string(HEX, 8),
                    rng.below(50),
                    rng.below(1_000_000)
                );
            }
        }
    }
}

/// Appends secret number `index` (kinds in turn) in a line of its usual context; returns its kind.
fn plant_secret(text: &mut String, rng: &mut Rng, index: usize) -> &'static str {
    let (kind, line) = match index % 7 {
        0 => (
            "github-token",
            format!(
                "perth-test$ export GITHUB_TOKEN=ghp_{NEEDLE}{}\n",
                rng.string(ALNUM, 36 - NEEDLE.len())
            ),
        ),
        1 => (
            "aws-access-key",
            format!(
                "aws_access_key_id = AKIA{NEEDLE}{}\n",
                rng.string(UPPER_DIGITS, 16 - NEEDLE.len())
            ),
        ),
        2 => (
            "aws-secret-key",
            format!(
                "aws_secret_access_key = {NEEDLE}{}\n",
                rng.string(BASE64, 40 - NEEDLE.len())
            ),
        ),
        3 => (
            "url-password",
            format!(
                "DATABASE_URL=postgres://app:{NEEDLE}{}@db.internal:5432/app\n",
                rng.string(ALNUM, 16)
            ),
        ),
        4 => {
            let mut block = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
            block.push_str(NEEDLE);
            for line in 0..6 {
                let len = if line == 0 { 70 - NEEDLE.len() } else { 70 };
                block.push_str(&rng.string(BASE64, len));
                block.push('\n');
            }
            block.push_str("-----END OPENSSH PRIVATE KEY-----\n");
            ("private-key", block)
        }
        5 => (
            "generic-secret",
            format!("API_KEY={NEEDLE}{}\n", rng.string(ALNUM, 24)),
        ),
        _ => (
            "anthropic-key",
            format!(
                "ANTHROPIC_API_KEY=sk-ant-api03-{NEEDLE}{}\n",
                rng.string(ALNUM, 40)
            ),
        ),
    };
    text.push_str(&line);
    kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_lines_come_from_the_heading() {
        let user =
            "# Pane p\n\n## Terminal (last 812 of 2004 lines, oldest first)\n\n```\nx\n```\n";
        assert_eq!(terminal_lines(user), Some((812, 2004)));
        assert_eq!(terminal_lines("# Pane p\n"), None);
    }

    #[test]
    fn mixed_text_plants_every_kind_and_only_there_the_needle() {
        let (text, planted) = mixed_text(400_000);
        assert!(
            text.len() >= 400_000 && text.len() < 410_000,
            "{}",
            text.len()
        );
        assert_eq!(planted.len(), 7, "{planted:?}");
        let secrets: usize = planted.values().sum();
        assert!((18..=21).contains(&secrets), "{secrets}");
        assert_eq!(text.matches(NEEDLE).count(), secrets);
        assert!(!text.contains("[REDACTED:"));
        assert_eq!(mixed_text(50_000), mixed_text(50_000), "deterministic");
    }

    #[test]
    fn redaction_check_wants_one_marker_per_secret_and_no_needle() {
        let planted = BTreeMap::from([("github-token", 1), ("url-password", 1)]);
        let good = "a [REDACTED:github-token] b postgres://app:[REDACTED:url-password]@db";
        assert!(check_redacted(good, &planted).is_ok());
        let leaked = format!("{good} ghp_{NEEDLE}x");
        assert!(check_redacted(&leaked, &planted).is_err());
        let extra = format!("{good} [REDACTED:generic-secret]");
        assert!(check_redacted(&extra, &planted).is_err());
    }
}
