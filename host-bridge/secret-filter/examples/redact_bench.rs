//! `redact_bench`: redacts a file with the process-wide secret filter and prints the rate as
//! JSON (run by `cargo xtask bench --only snapshot`).
//!
//! Usage: `redact_bench INPUT OUTPUT [--runs N]`. The filter is compiled before the clock
//! starts; each of the N runs (default 3) redacts the whole text in memory, and the median run
//! is reported. The redacted text of the last run goes to OUTPUT, so that the caller can check
//! that every planted secret is gone.

use std::process::ExitCode;
use std::time::Instant;

use secret_filter::SecretFilter;

fn main() -> ExitCode {
    match run() {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("redact_bench: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let usage = "usage: redact_bench INPUT OUTPUT [--runs N]";
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or(usage)?;
    let output = args.next().ok_or(usage)?;
    let runs = match (args.next().as_deref(), args.next()) {
        (None, _) => 3,
        (Some("--runs"), Some(n)) => n
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(format!("--runs takes a positive number, not {n:?}"))?,
        _ => return Err(usage.to_owned()),
    };
    let text = std::fs::read_to_string(&input).map_err(|e| format!("reading {input}: {e}"))?;

    let filter = SecretFilter::global();
    // Compiles the prefilter (and nothing else: clean text matches no rule) outside the clock.
    let _ = filter.redact("warm-up");
    let mut seconds = Vec::with_capacity(runs);
    let mut redacted = String::new();
    for _ in 0..runs {
        let started = Instant::now();
        redacted = filter.redact(&text).into_owned();
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    std::fs::write(&output, &redacted).map_err(|e| format!("writing {output}: {e}"))?;

    let bytes = text.len();
    let redactions = redacted.matches("[REDACTED:").count();
    Ok(format!(
        "{{\"bytes\":{bytes},\"runs\":{runs},\"seconds\":{median},\"mb_per_s\":{},\"redactions\":{redactions}}}",
        bytes as f64 / 1e6 / median
    ))
}
