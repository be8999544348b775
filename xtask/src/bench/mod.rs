//! `cargo xtask bench`: a registry of named benchmarks, each comparing perth with a reference, merged into one report.
//!
//! A benchmark implements [`Bench`] and is listed in [`registry`]; it returns [`Row`]s and the
//! runner does the rest: `--only`, printing, `<target>/bench/<name>.json` and the merged
//! `<target>/bench/report.json` and table.

mod agents;
mod agents_session;
mod bridge;
mod concurrency;
mod foundation;
mod imi;
mod notify;
mod outbox;
mod persist;
mod reference;
mod report;
mod session;
mod snapshot;
mod tls;
mod web;
mod zdrive;

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use serde_json::json;
use xshell::Shell;

use crate::{
    build::build,
    workspace::{Profile, Workspace},
};
use report::{render_table, rows_json, Row, Section};

/// A named benchmark that measures perth against a reference and returns report rows.
pub(crate) trait Bench {
    /// Returns the name `--only` selects and `<target>/bench/<name>.json` is named after.
    fn name(&self) -> &'static str;
    /// Returns what perth is compared against, as the report's section title shows it.
    fn reference(&self) -> String;
    /// Measures, printing progress to stderr, and returns the rows.
    fn run(&self, ctx: &BenchContext<'_>) -> Result<Vec<Row>>;
}

/// Returns every benchmark, in report order; later features add theirs here.
fn registry() -> Vec<Box<dyn Bench>> {
    vec![
        Box::new(foundation::Foundation),
        Box::new(bridge::BridgeRoundTrip),
        Box::new(outbox::OutboxThroughput),
        Box::new(zdrive::Zdrive),
        Box::new(imi::Imi),
        Box::new(notify::Notify),
        Box::new(persist::Persist),
        Box::new(snapshot::Snapshot),
        Box::new(concurrency::Concurrency),
        Box::new(agents::Agents),
        Box::new(agents_session::AgentsSession),
        Box::new(tls::Tls),
        Box::new(web::Web),
    ]
}

/// What a benchmark gets to work with.
pub(crate) struct BenchContext<'a> {
    pub(crate) sh: &'a Shell,
    pub(crate) ws: &'a Workspace,
    /// Set by `--quick`: fewer samples.
    pub(crate) quick: bool,
    /// The perth binary under test; `PERTH_BENCH_PERTH_BIN` overrides it.
    pub(crate) perth_bin: PathBuf,
}

impl BenchContext<'_> {
    /// Returns `<target>/bench`: results and reusable inputs (such as generated files) go here.
    pub(crate) fn out_dir(&self) -> PathBuf {
        self.ws.target_dir.join("bench")
    }

    /// Returns `full`, or `quick` under `--quick`.
    pub(crate) fn samples(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }

    /// Returns the folder that caches slow-to-make inputs across runs (`PERTH_BENCH_CACHE`, else ~/.cache/perth-bench).
    pub(crate) fn cache_dir(&self) -> Result<PathBuf> {
        if let Some(dir) = env::var_os("PERTH_BENCH_CACHE") {
            return Ok(PathBuf::from(dir));
        }
        let home = env::var_os("HOME").context("HOME is not set; set PERTH_BENCH_CACHE")?;
        Ok(PathBuf::from(home).join(".cache/perth-bench"))
    }
}

/// Runs the benchmarks (all, or the one named by `only`), prints one table and writes the JSON files.
pub(crate) fn bench(sh: &Shell, ws: &Workspace, only: Option<&str>, quick: bool) -> Result<()> {
    let mut benches = registry();
    if let Some(only) = only {
        let names: Vec<_> = benches.iter().map(|b| b.name()).collect();
        benches.retain(|b| b.name() == only);
        if benches.is_empty() {
            bail!(
                "no benchmark is called {only:?}; the benchmarks are: {}",
                names.join(", ")
            );
        }
    }

    let perth_bin = match env::var_os("PERTH_BENCH_PERTH_BIN") {
        Some(bin) => {
            let bin = PathBuf::from(bin);
            eprintln!(
                "bench: PERTH_BENCH_PERTH_BIN is set; not building, measuring {}",
                bin.display()
            );
            bin
        }
        None => {
            // Measured as users install it, with Zellij's own release settings.
            build(sh, ws, Profile::Dist)?;
            ws.bin_path(Profile::Dist, "perth")
        }
    };
    let ctx = BenchContext {
        sh,
        ws,
        quick,
        perth_bin,
    };
    let out_dir = ctx.out_dir();
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    warn_if_busy();
    let mut sections = Vec::new();
    let mut failed = Vec::new();
    for bench in benches {
        eprintln!(
            "bench {}: running against {}",
            bench.name(),
            bench.reference()
        );
        match bench.run(&ctx) {
            Ok(rows) => {
                let path = out_dir.join(format!("{}.json", bench.name()));
                write_json(&path, &rows_json(&rows))?;
                eprintln!("bench {}: wrote {}", bench.name(), path.display());
                sections.push(Section {
                    bench: bench.name().to_owned(),
                    reference: bench.reference(),
                    rows,
                });
            }
            Err(err) => {
                eprintln!("bench {}: failed: {err:#}", bench.name());
                failed.push(bench.name());
            }
        }
    }

    if !sections.is_empty() {
        let report: Vec<_> = sections
            .iter()
            .map(
                |s| json!({"bench": s.bench, "reference": s.reference, "rows": rows_json(&s.rows)}),
            )
            .collect();
        let path = out_dir.join("report.json");
        write_json(&path, &serde_json::Value::Array(report))?;
        println!("\n{}", render_table(&sections));
        println!("(JSON: {})", path.display());
    }
    if !failed.is_empty() {
        bail!("benchmarks failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Warns when other work competes for the CPU: on a small machine a parallel build skews every figure.
fn warn_if_busy() {
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(load) = load.filter(|load| *load > cpus as f64 / 2.0) {
        eprintln!(
            "bench: warning: the load average is {load:.2} on {cpus} CPUs; other work will make the figures noisy"
        );
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("serializing benchmark results")?;
    fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
