//! Waiting for a condition with a deadline and a description, polling with a short backoff.
//!
//! This is the only place in the harness that sleeps: between probes, never longer than 100 ms
//! and never past the deadline. `PERTH_TEST_TIMEOUT_SCALE` (a positive number, default 1)
//! multiplies every timeout, for slow machines.

use std::time::{Duration, Instant};

/// First pause between two probes.
const FIRST_DELAY: Duration = Duration::from_millis(5);
/// Longest pause between two probes.
const MAX_DELAY: Duration = Duration::from_millis(100);

/// Error returned when a condition did not hold before its deadline.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}{}", last_state_suffix(.last))]
pub struct WaitError {
    /// What was awaited, as the caller described it.
    pub what: String,
    /// The effective timeout (after `PERTH_TEST_TIMEOUT_SCALE`).
    pub timeout: Duration,
    /// The last state the probe reported, when it reported one.
    pub last: Option<String>,
}

/// Renders the last observed state as a framed block after the message, so screens stay readable.
fn last_state_suffix(last: &Option<String>) -> String {
    match last {
        None => String::new(),
        Some(last) => {
            let newline = if last.ends_with('\n') { "" } else { "\n" };
            format!(
                "\n--- last observed state ---\n{last}{newline}--- end of last observed state ---"
            )
        }
    }
}

/// Returns `timeout` multiplied by `PERTH_TEST_TIMEOUT_SCALE` (ignored unless it is a positive number).
pub fn scaled(timeout: Duration) -> Duration {
    match std::env::var("PERTH_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
    {
        Some(scale) if scale.is_finite() && scale > 0.0 => timeout.mul_f64(scale),
        _ => timeout,
    }
}

/// Polls `probe` until it returns `Some`, or fails once `timeout` has passed.
///
/// The probe runs at least once, and once more at the deadline.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, WaitError> {
    poll(what, timeout, || probe().ok_or(None))
}

/// Polls `probe` until it returns `Ok`; on timeout the error carries the last `Err` it returned.
///
/// The `Err` value describes what the probe saw (a screen, a log tail, an error message), so
/// that a failure explains itself. A probe that must give up early (a child exited) returns
/// `Ok(Err(..))` and lets the caller apply `?` twice.
pub fn wait_for_with_last<T, S: std::fmt::Display>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, S>,
) -> Result<T, WaitError> {
    poll(what, timeout, || {
        probe().map_err(|last| Some(last.to_string()))
    })
}

fn poll<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, Option<String>>,
) -> Result<T, WaitError> {
    let timeout = scaled(timeout);
    let deadline = Instant::now() + timeout;
    let mut delay = FIRST_DELAY;
    loop {
        let last = match probe() {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError {
                what: what.to_owned(),
                timeout,
                last,
            });
        }
        std::thread::sleep(delay.min(deadline - now));
        delay = (delay * 2).min(MAX_DELAY);
    }
}
