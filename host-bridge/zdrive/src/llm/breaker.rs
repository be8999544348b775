//! The circuit breaker: a provider that keeps failing is not called for a while.

use super::error::LlmError;
use super::provider::ProviderKind;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failures a process tolerates in a row before [`CircuitBreaker::global`] opens.
pub const DEFAULT_BREAKER_THRESHOLD: u32 = 3;
/// How long [`CircuitBreaker::global`] stays open.
pub const DEFAULT_BREAKER_COOL_DOWN: Duration = Duration::from_secs(60);

pub(super) static GLOBAL_BREAKER: LazyLock<Arc<CircuitBreaker>> = LazyLock::new(|| {
    Arc::new(CircuitBreaker::new(
        DEFAULT_BREAKER_THRESHOLD,
        DEFAULT_BREAKER_COOL_DOWN,
    ))
});

/// Stops calling a provider that keeps failing: after `threshold` failed calls in a row to one
/// endpoint it refuses calls to it for `cool_down`, then lets one trial call through
/// (half-open); a success closes the circuit, a failure opens it again.
///
/// Shared between calls (one per process; host-bridge keeps one for its lifetime).
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cool_down: Duration,
    circuits: Mutex<HashMap<String, Circuit>>,
}

/// The state of one endpoint's circuit.
#[derive(Debug, Default)]
struct Circuit {
    /// Failed calls in a row.
    failures: u32,
    /// Set while open; once past, the next call is a trial.
    open_until: Option<Instant>,
    /// A trial call is in flight; others are refused until it ends.
    trial: bool,
}

impl CircuitBreaker {
    /// Returns a breaker that opens after `threshold` failures in a row (0 never opens) for
    /// `cool_down`.
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold,
            cool_down,
            circuits: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the process-wide breaker (3 failures, 60 s), which [`LlmClient::new`] uses.
    pub fn global() -> &'static CircuitBreaker {
        &GLOBAL_BREAKER
    }

    /// Returns how long calls to `endpoint` (see [`ProviderSettings::endpoint`]) are still
    /// refused, or `None` when the next call may go out.
    pub fn open_for(&self, endpoint: &str) -> Option<Duration> {
        let circuits = self.lock();
        let until = circuits.get(endpoint)?.open_until?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Circuit>> {
        // The map stays consistent whatever panicked while holding it: every change is one field.
        self.circuits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Returns a permit to call `endpoint`, or `CircuitOpen`.
    pub(super) fn admit(
        &self,
        endpoint: &str,
        provider: ProviderKind,
    ) -> Result<Permit<'_>, LlmError> {
        let mut circuits = self.lock();
        let circuit = circuits.entry(endpoint.to_string()).or_default();
        let mut trial = false;
        if let Some(until) = circuit.open_until {
            let now = Instant::now();
            let retry_in = if now < until {
                Some(until - now)
            } else if circuit.trial {
                // The trial may fail and open the circuit again for a whole cool-down.
                Some(self.cool_down)
            } else {
                None
            };
            if let Some(retry_in) = retry_in {
                return Err(LlmError::CircuitOpen {
                    provider,
                    failures: circuit.failures,
                    retry_in,
                });
            }
            circuit.trial = true;
            trial = true;
        }
        Ok(Permit {
            breaker: self,
            endpoint: endpoint.to_string(),
            trial,
        })
    }
}

/// One admitted call; dropping it without an outcome (the call was cancelled) ends a trial.
pub(super) struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    endpoint: String,
    trial: bool,
}

impl Permit<'_> {
    /// Records how the call ended: `Ok`, a failure of the provider, or neither.
    pub(super) fn finish<T>(self, result: &Result<T, LlmError>) {
        let mut circuits = self.breaker.lock();
        match result {
            Ok(_) => {
                circuits.remove(&self.endpoint);
            }
            Err(e) if e.counts_against_provider() => {
                let circuit = circuits.entry(self.endpoint.clone()).or_default();
                circuit.failures = circuit.failures.saturating_add(1);
                if self.breaker.threshold > 0 && circuit.failures >= self.breaker.threshold {
                    circuit.open_until = Some(Instant::now() + self.breaker.cool_down);
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        failures = circuit.failures,
                        "LLM provider circuit opened"
                    );
                }
            }
            Err(_) => {}
        }
        // `Drop` ends the trial, and takes the lock again.
        drop(circuits);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial {
            if let Some(circuit) = self.breaker.lock().get_mut(&self.endpoint) {
                circuit.trial = false;
            }
        }
    }
}
