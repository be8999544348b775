//! The LLM provider clients behind pane snapshots: Anthropic Messages, OpenAI Chat Completions
//! and Ollama's `/api/chat`, with retries, a circuit breaker and errors that say what to do.
//!
//! The caller resolves [`ProviderSettings`] from the configuration and the environment, passes
//! the prompt through the secret filter and asks for consent (DESIGN.md D7); this module only
//! talks HTTP. Base URLs are settings, which is how tests point clients at local fake servers.
//!
//! Invariants:
//! - The API key goes only into the provider's auth header (marked sensitive); it never appears
//!   in an error, a log line or a `Debug` output, even when a provider echoes it back.
//! - Ollama never gets a key, whatever the settings hold (a key left over from another provider
//!   must not leave for a server it was not meant for), and redirects are never followed (a
//!   redirect would carry `x-api-key` to another host).
//! - One [`CircuitBreaker`] is shared by every client of a process ([`CircuitBreaker::global`]);
//!   it keeps one circuit per endpoint, so a dead Ollama does not block Anthropic.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Version of the Anthropic Messages API zdrive speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Longest error body read for a message; the rest is dropped.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Longest answer accepted.
const MAX_ANSWER_BODY: usize = 4 * 1024 * 1024;
/// First wait between two attempts; it doubles after each one, up to `max_backoff`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest provider message or body excerpt kept in an error.
const EXCERPT_CHARS: usize = 300;

/// An LLM provider zdrive can call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Anthropic's Messages API (the default).
    #[default]
    Anthropic,
    /// OpenAI's Chat Completions API.
    Openai,
    /// A local (or remote) Ollama server's `/api/chat`.
    Ollama,
}

impl ProviderKind {
    /// Returns the name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::Openai => "openai",
            Self::Ollama => "ollama",
        }
    }

    /// Returns the model used when the configuration names none.
    pub fn default_model(self) -> &'static str {
        match self {
            Self::Anthropic => "claude-sonnet-4-20250514",
            Self::Openai => "gpt-4o",
            Self::Ollama => "llama3.2",
        }
    }

    /// Returns the provider's public (or, for Ollama, local) base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Anthropic => "https://api.anthropic.com",
            Self::Openai => "https://api.openai.com",
            Self::Ollama => "http://localhost:11434",
        }
    }

    /// Returns the environment variable holding the API key, for providers that need one.
    pub fn key_env(self) -> Option<&'static str> {
        match self {
            Self::Anthropic => Some("ANTHROPIC_API_KEY"),
            Self::Openai => Some("OPENAI_API_KEY"),
            Self::Ollama => None,
        }
    }

    /// Returns what the user can do about a key the provider refused or zdrive lacks.
    fn key_hint(self) -> String {
        match self.key_env() {
            Some(env) => {
                format!("set a valid key with {env} or: zdrive config set llm.api_key KEY")
            }
            None => "zdrive sends no key to ollama; check that llm.base_url is your Ollama \
                     server (zdrive config set llm.base_url URL)"
                .into(),
        }
    }

    /// Returns what the user can do about a server zdrive cannot reach.
    fn unreachable_hint(self) -> String {
        match self {
            Self::Ollama => format!(
                "is `ollama serve` running? (default {}; change with zdrive config set \
                 llm.base_url URL)",
                self.default_base_url()
            ),
            _ => {
                "check the network, or the address with: zdrive config set llm.base_url URL".into()
            }
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = LlmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "anthropic" => Ok(Self::Anthropic),
            "openai" => Ok(Self::Openai),
            "ollama" => Ok(Self::Ollama),
            _ => Err(LlmError::InvalidSettings {
                message: format!(
                    "unknown LLM provider {s:?}; use one of anthropic, openai, ollama"
                ),
            }),
        }
    }
}

/// Everything needed to call one provider (resolved by the caller from config + env).
#[derive(Clone)]
pub struct ProviderSettings {
    /// Which API to speak.
    pub kind: ProviderKind,
    /// The model asked for.
    pub model: String,
    /// Where the API lives, with or without a trailing slash.
    pub base_url: String,
    /// The API key (Anthropic and OpenAI only; never sent to Ollama).
    pub api_key: Option<String>,
    /// Longest answer, in tokens.
    pub max_tokens: u32,
    /// Bound of one attempt, from connecting to the last byte of the answer.
    pub timeout: Duration,
    /// Extra attempts on 429, 5xx and broken connections.
    pub retries: u32,
    /// Longest wait between two attempts (also caps `retry-after`).
    pub max_backoff: Duration,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

impl ProviderSettings {
    /// Returns the provider's defaults, without a key.
    pub fn new(kind: ProviderKind) -> Self {
        Self {
            kind,
            model: kind.default_model().into(),
            base_url: kind.default_base_url().into(),
            api_key: None,
            max_tokens: 1024,
            timeout: Duration::from_secs(60),
            retries: 3,
            max_backoff: Duration::from_secs(30),
        }
    }

    /// Returns the URL requests are posted to.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim().trim_end_matches('/');
        let path = match self.kind {
            ProviderKind::Anthropic => "/v1/messages",
            ProviderKind::Openai => "/v1/chat/completions",
            ProviderKind::Ollama => "/api/chat",
        };
        format!("{base}{path}")
    }

    /// Returns the headers sent, in order; with `mask` the key is shown as `***` (for
    /// `--dry-run` output). A missing key leaves its header out.
    pub fn headers(&self, mask: bool) -> Vec<(String, String)> {
        let key = self.key().map(|k| if mask { "***" } else { k });
        let mut headers = Vec::new();
        match self.kind {
            ProviderKind::Anthropic => {
                if let Some(key) = key {
                    headers.push(("x-api-key".into(), key.into()));
                }
                headers.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
            }
            ProviderKind::Openai => {
                if let Some(key) = key {
                    headers.push(("authorization".into(), format!("Bearer {key}")));
                }
            }
            ProviderKind::Ollama => {}
        }
        headers.push(("content-type".into(), "application/json".into()));
        headers
    }

    /// Returns the exact JSON body sent for `prompt`. An empty system prompt is left out.
    pub fn body(&self, prompt: &Prompt) -> serde_json::Value {
        let user = json!({ "role": "user", "content": prompt.user });
        let messages = if prompt.system.is_empty() {
            vec![user]
        } else {
            vec![json!({ "role": "system", "content": prompt.system }), user]
        };
        match self.kind {
            ProviderKind::Anthropic => {
                let mut body = json!({
                    "model": self.model,
                    "max_tokens": self.max_tokens,
                    "messages": [{ "role": "user", "content": prompt.user }],
                });
                if !prompt.system.is_empty() {
                    body["system"] = json!(prompt.system);
                }
                body
            }
            ProviderKind::Openai => json!({
                "model": self.model,
                "max_completion_tokens": self.max_tokens,
                "messages": messages,
            }),
            ProviderKind::Ollama => json!({
                "model": self.model,
                "stream": false,
                "messages": messages,
                "options": { "num_predict": self.max_tokens },
            }),
        }
    }

    /// Returns true when base_url's host is localhost / 127.0.0.0/8 / ::1 (data stays on this
    /// machine). An address that does not parse is not local.
    pub fn is_local(&self) -> bool {
        let Ok(url) = Url::parse(self.base_url.trim()) else {
            return false;
        };
        // `host_str` keeps IPv6 brackets and lowercases names; IPv4 comes back normalized.
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => ip.is_loopback(),
            Ok(IpAddr::V6(ip)) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            Err(_) => host.trim_end_matches('.') == "localhost",
        }
    }

    /// Returns the key to send: none for Ollama, and none when it is blank.
    fn key(&self) -> Option<&str> {
        self.kind.key_env()?;
        self.api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }

    /// Returns `text` with every occurrence of the key replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        match self.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => text.replace(key, "***"),
            _ => text.to_string(),
        }
    }
}

/// What is asked of the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// The instructions (left out of the request when empty).
    pub system: String,
    /// The question, with the pane context.
    pub user: String,
}

/// The model's answer to one [`Prompt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The model's answer (markdown).
    pub text: String,
    /// The model as the provider reported it (else the one asked for).
    pub model: String,
    /// Tokens the provider counted in the prompt.
    pub input_tokens: Option<u64>,
    /// Tokens the provider counted in the answer.
    pub output_tokens: Option<u64>,
    /// HTTP attempts made; 1 when the first try succeeded.
    pub attempts: u32,
}

/// Why a provider call failed. Every message says what to do next and never holds the key.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Anthropic and OpenAI need a key; none was configured (no request was made).
    #[error("no API key for {provider}; {}", .provider.key_hint())]
    MissingKey { provider: ProviderKind },
    /// The provider refused the key (401 or 403).
    #[error("{}", unauthorized_message(*.provider, *.status, .message))]
    Unauthorized {
        provider: ProviderKind,
        status: u16,
        message: String,
    },
    /// The provider does not know the model (404).
    #[error("the {provider} API does not know model {model} ({status}): {message}; {}",
        unknown_model_hint(*.provider, .model))]
    UnknownModel {
        provider: ProviderKind,
        model: String,
        status: u16,
        message: String,
    },
    /// The provider rejected the request for another reason (other 4xx, or a redirect).
    #[error("the {provider} API rejected the request ({status}): {message}; {}",
        bad_request_hint(*.status))]
    BadRequest {
        provider: ProviderKind,
        status: u16,
        message: String,
    },
    /// No connection: refused, unknown host, or broken on every attempt.
    #[error("cannot reach the {provider} API at {url} ({reason}); {}", .provider.unreachable_hint())]
    Unreachable {
        provider: ProviderKind,
        url: String,
        reason: String,
    },
    /// An attempt took longer than the configured timeout (timeouts are not retried).
    #[error("the {provider} API did not answer within {}; raise it with zdrive config set \
             llm.timeout_secs N", seconds(*.timeout))]
    Timeout {
        provider: ProviderKind,
        timeout: Duration,
    },
    /// Still 429 after every retry.
    #[error(
        "the {provider} API is still rate limiting after {attempts} attempts (429): \
             {message}; wait a minute and try again, or check your plan's limits"
    )]
    RateLimited {
        provider: ProviderKind,
        attempts: u32,
        message: String,
    },
    /// Still 5xx (or Anthropic's 529 "overloaded") after every retry.
    #[error(
        "the {provider} API failed with {status} after {attempts} attempts: {excerpt}; \
             try again later"
    )]
    ServerError {
        provider: ProviderKind,
        status: u16,
        attempts: u32,
        excerpt: String,
    },
    /// The circuit breaker is open: the provider failed too often in a row; no request was made.
    #[error("the {provider} API failed {failures} times in a row; not calling it for another \
             {}; try again then, or switch with: zdrive config set llm.provider NAME",
        whole_seconds(*.retry_in))]
    CircuitOpen {
        provider: ProviderKind,
        failures: u32,
        retry_in: Duration,
    },
    /// A 2xx answer zdrive cannot read.
    #[error(
        "the {provider} API sent an answer zdrive cannot read ({reason}); check that \
             llm.base_url points at the {provider} API (zdrive config set llm.base_url URL)"
    )]
    BadResponse {
        provider: ProviderKind,
        reason: String,
    },
    /// Settings no request can be built from (an unknown provider name, a base URL that is not
    /// http(s), a key that cannot go in a header).
    #[error("{message}")]
    InvalidSettings { message: String },
}

impl LlmError {
    /// Returns a short machine name for the error (for `--json` output and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingKey { .. } => "missing_key",
            Self::Unauthorized { .. } => "unauthorized",
            Self::UnknownModel { .. } => "unknown_model",
            Self::BadRequest { .. } => "bad_request",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::RateLimited { .. } => "rate_limited",
            Self::ServerError { .. } => "server_error",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::BadResponse { .. } => "bad_response",
            Self::InvalidSettings { .. } => "invalid_settings",
        }
    }

    /// Returns true for failures of the provider itself, which the circuit breaker counts;
    /// configuration errors (key, model, request) say nothing about the provider's health.
    fn counts_against_provider(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Timeout { .. }
                | Self::RateLimited { .. }
                | Self::ServerError { .. }
                | Self::BadResponse { .. }
        )
    }
}

fn unauthorized_message(provider: ProviderKind, status: u16, message: &str) -> String {
    let what = match provider {
        ProviderKind::Ollama => "the request",
        _ => "the key",
    };
    format!(
        "the {provider} API refused {what} ({status}): {message}; {}",
        provider.key_hint()
    )
}

fn unknown_model_hint(provider: ProviderKind, model: &str) -> String {
    match provider {
        ProviderKind::Ollama => format!("pull it with: ollama pull {model}"),
        _ => "pick one with: zdrive config set llm.model NAME".into(),
    }
}

fn bad_request_hint(status: u16) -> &'static str {
    match status {
        300..=399 | 404 => "check the address with: zdrive config set llm.base_url URL",
        _ => "check llm.model and llm.max_tokens (zdrive config set llm.max_tokens N)",
    }
}

/// Formats a duration as whole seconds when it is one, else with one decimal.
fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Formats a wait as whole seconds, rounded up, at least 1.
fn whole_seconds(d: Duration) -> String {
    format!("{}s", (d.as_secs_f64().ceil() as u64).max(1))
}

/// Failures a process tolerates in a row before [`CircuitBreaker::global`] opens.
pub const DEFAULT_BREAKER_THRESHOLD: u32 = 3;
/// How long [`CircuitBreaker::global`] stays open.
pub const DEFAULT_BREAKER_COOL_DOWN: Duration = Duration::from_secs(60);

static GLOBAL_BREAKER: LazyLock<Arc<CircuitBreaker>> = LazyLock::new(|| {
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
    fn admit(&self, endpoint: &str, provider: ProviderKind) -> Result<Permit<'_>, LlmError> {
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
struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    endpoint: String,
    trial: bool,
}

impl Permit<'_> {
    /// Records how the call ended: `Ok`, a failure of the provider, or neither.
    fn finish<T>(self, result: &Result<T, LlmError>) {
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

/// A client of one provider: settings, an HTTP client and the circuit breaker it reports to.
#[derive(Debug)]
pub struct LlmClient {
    settings: ProviderSettings,
    http: reqwest::Client,
    breaker: Arc<CircuitBreaker>,
}

/// How one attempt failed.
enum Failure {
    /// Give up now.
    Fatal(LlmError),
    /// Try again (after `retry_after` when the provider said so), unless attempts are spent.
    Retry {
        error: LlmError,
        retry_after: Option<Duration>,
    },
}

impl LlmClient {
    /// Returns a client reporting to [`CircuitBreaker::global`].
    pub fn new(settings: ProviderSettings) -> Result<Self, LlmError> {
        Self::with_breaker(settings, Arc::clone(&GLOBAL_BREAKER))
    }

    /// Returns a client reporting to `breaker`.
    pub fn with_breaker(
        settings: ProviderSettings,
        breaker: Arc<CircuitBreaker>,
    ) -> Result<Self, LlmError> {
        let endpoint = settings.endpoint();
        let valid = Url::parse(&endpoint)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !valid {
            return Err(LlmError::InvalidSettings {
                message: format!(
                    "llm.base_url {:?} is not an http(s) URL; set one with: zdrive config set \
                     llm.base_url URL",
                    settings.base_url
                ),
            });
        }
        let mut builder = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if settings.is_local() {
            // A proxy from the environment must not stand between zdrive and a local server.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| LlmError::InvalidSettings {
            message: format!("cannot set up the HTTP client: {e}"),
        })?;
        Ok(Self {
            settings,
            http,
            breaker,
        })
    }

    /// Returns the settings the client calls with.
    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    /// Asks the model, retrying 429, 5xx and broken connections with exponential backoff.
    pub async fn complete(&self, prompt: &Prompt) -> Result<Completion, LlmError> {
        let s = &self.settings;
        if s.kind.key_env().is_some() && s.key().is_none() {
            return Err(LlmError::MissingKey { provider: s.kind });
        }
        let headers = self.header_map()?;
        let endpoint = s.endpoint();
        let permit = self.breaker.admit(&endpoint, s.kind)?;
        let result = self.attempts(&endpoint, headers, prompt).await;
        permit.finish(&result);
        result
    }

    async fn attempts(
        &self,
        endpoint: &str,
        headers: HeaderMap,
        prompt: &Prompt,
    ) -> Result<Completion, LlmError> {
        let s = &self.settings;
        let body = serde_json::to_vec(&s.body(prompt)).map_err(|e| LlmError::InvalidSettings {
            message: format!("cannot encode the request: {e}"),
        })?;
        let max_attempts = s.retries.saturating_add(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::debug!(provider = %s.kind, model = %s.model, endpoint, attempt, "LLM request");
            match self.attempt(endpoint, &headers, &body, attempt).await {
                Ok(completion) => return Ok(completion),
                Err(Failure::Fatal(error)) => return Err(error),
                Err(Failure::Retry { error, .. }) if attempt >= max_attempts => return Err(error),
                Err(Failure::Retry { error, retry_after }) => {
                    let wait = retry_after
                        .unwrap_or_else(|| backoff(attempt))
                        .min(s.max_backoff);
                    tracing::warn!(
                        provider = %s.kind,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error = %error,
                        "LLM request failed; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        endpoint: &str,
        headers: &HeaderMap,
        body: &[u8],
        attempt: u32,
    ) -> Result<Completion, Failure> {
        let s = &self.settings;
        let mut response = self
            .http
            .post(endpoint)
            .headers(headers.clone())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| self.transport_failure(&e, endpoint))?;
        let status = response.status();
        if status.is_success() {
            let (bytes, truncated) = read_limited(&mut response, MAX_ANSWER_BODY)
                .await
                .map_err(|e| self.transport_failure(&e, endpoint))?;
            if truncated {
                return Err(Failure::Fatal(self.bad_response(format!(
                    "the answer is larger than {} MiB",
                    MAX_ANSWER_BODY / (1024 * 1024)
                ))));
            }
            return parse_answer(s.kind, &bytes)
                .map(|answer| Completion {
                    text: answer.text,
                    model: answer
                        .model
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| s.model.clone()),
                    input_tokens: answer.input_tokens,
                    output_tokens: answer.output_tokens,
                    attempts: attempt,
                })
                .map_err(|reason| Failure::Fatal(self.bad_response(reason)));
        }

        let retry_after = retry_after(response.headers(), Utc::now());
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // The status decides; a body that breaks off only shortens the message.
        let bytes = read_limited(&mut response, MAX_ERROR_BODY)
            .await
            .map(|(bytes, _)| bytes)
            .unwrap_or_default();
        let message = s.scrub(&error_message(&bytes));
        let provider = s.kind;
        let code = status.as_u16();
        Err(match code {
            401 | 403 => Failure::Fatal(LlmError::Unauthorized {
                provider,
                status: code,
                message,
            }),
            404 if message.to_ascii_lowercase().contains("model") => {
                Failure::Fatal(LlmError::UnknownModel {
                    provider,
                    model: s.model.clone(),
                    status: code,
                    message,
                })
            }
            429 => Failure::Retry {
                error: LlmError::RateLimited {
                    provider,
                    attempts: attempt,
                    message,
                },
                retry_after,
            },
            500..=599 => Failure::Retry {
                error: LlmError::ServerError {
                    provider,
                    status: code,
                    attempts: attempt,
                    excerpt: message,
                },
                retry_after,
            },
            300..=399 => Failure::Fatal(LlmError::BadRequest {
                provider,
                status: code,
                message: format!(
                    "redirected to {}, which zdrive does not follow",
                    s.scrub(location.as_deref().unwrap_or("nowhere"))
                ),
            }),
            _ => Failure::Fatal(LlmError::BadRequest {
                provider,
                status: code,
                message,
            }),
        })
    }

    /// Returns the headers as sent, the key marked sensitive (kept out of reqwest's `Debug`).
    fn header_map(&self) -> Result<HeaderMap, LlmError> {
        let mut map = HeaderMap::new();
        for (name, value) in self.settings.headers(false) {
            let bad_value = || LlmError::InvalidSettings {
                message: format!(
                    "the {name} header cannot hold the configured value (a line break or a \
                     control character?); {}",
                    self.settings.kind.key_hint()
                ),
            };
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad_value())?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| bad_value())?;
            if name == reqwest::header::AUTHORIZATION || name.as_str() == "x-api-key" {
                value.set_sensitive(true);
            }
            map.append(name, value);
        }
        Ok(map)
    }

    fn bad_response(&self, reason: String) -> LlmError {
        LlmError::BadResponse {
            provider: self.settings.kind,
            reason: self.settings.scrub(&reason),
        }
    }

    /// Sorts a failure to send or to read: timeouts and failures to connect end the call,
    /// a connection that broke after it was made is retried.
    fn transport_failure(&self, e: &reqwest::Error, endpoint: &str) -> Failure {
        let provider = self.settings.kind;
        if e.is_timeout() {
            return Failure::Fatal(LlmError::Timeout {
                provider,
                timeout: self.settings.timeout,
            });
        }
        let io_kind = io_error_kind(e);
        let error = LlmError::Unreachable {
            provider,
            url: endpoint.to_string(),
            reason: self.settings.scrub(&transport_reason(e, io_kind)),
        };
        let broken = matches!(
            io_kind,
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted)
        );
        if e.is_connect() && !broken {
            Failure::Fatal(error)
        } else {
            Failure::Retry {
                error,
                retry_after: None,
            }
        }
    }
}

/// Returns the wait after attempt `attempt` (1-based): 500 ms, 1 s, 2 s, ...
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
}

/// Returns the kind of the innermost I/O error behind `e`.
fn io_error_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut kind = None;
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            kind = Some(io.kind());
        }
        source = err.source();
    }
    kind
}

/// Returns a short reason for a transport failure, from its innermost causes (reqwest's own
/// message only repeats the URL).
fn transport_reason(e: &reqwest::Error, io_kind: Option<std::io::ErrorKind>) -> String {
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        return "connection refused".into();
    }
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        let text = err.to_string();
        if causes.last() != Some(&text) {
            causes.push(text);
        }
        source = err.source();
    }
    let start = causes.len().saturating_sub(2);
    let reason = causes[start..].join(": ");
    if reason.is_empty() {
        e.to_string()
    } else {
        reason
    }
}

/// Reads the body up to `limit` bytes; the flag says whether more was left.
async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - buf.len();
        if chunk.len() > room {
            buf.extend_from_slice(&chunk[..room]);
            return Ok((buf, true));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((buf, false))
}

/// Returns the provider's message from an error body (each provider's JSON shape), else an
/// excerpt of the body, on one line and at most [`EXCERPT_CHARS`] characters.
fn error_message(body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        // Ollama: {"error": "..."}; Anthropic and OpenAI: {"error": {"message": "..."}}.
        error
            .as_str()
            .or_else(|| error.get("message")?.as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // The message goes before "; what to do", where a closing period reads badly.
    let one_line = one_line.trim_end_matches('.');
    if one_line.is_empty() {
        return "(empty body)".into();
    }
    match one_line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line.to_string(),
    }
}

/// An answer, whatever the provider.
struct Answer {
    text: String,
    model: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct AnthropicAnswer {
    model: Option<String>,
    content: Vec<AnthropicBlock>,
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OpenaiAnswer {
    model: Option<String>,
    choices: Vec<OpenaiChoice>,
    usage: Option<OpenaiUsage>,
}

#[derive(Deserialize)]
struct OpenaiChoice {
    message: OpenaiMessage,
}

#[derive(Deserialize)]
struct OpenaiMessage {
    content: Option<String>,
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct OpenaiUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OllamaAnswer {
    model: Option<String>,
    message: OllamaMessage,
    prompt_eval_count: Option<u64>,
    eval_count: Option<u64>,
}

#[derive(Deserialize)]
struct OllamaMessage {
    content: String,
}

/// Parses a 2xx body; the error is the reason it cannot be read.
fn parse_answer(kind: ProviderKind, body: &[u8]) -> Result<Answer, String> {
    let invalid = |e: serde_json::Error| format!("{e}: {}", error_message(body));
    match kind {
        ProviderKind::Anthropic => {
            let a: AnthropicAnswer = serde_json::from_slice(body).map_err(invalid)?;
            let text = a
                .content
                .into_iter()
                .filter(|b| b.kind == "text")
                .filter_map(|b| b.text)
                .collect::<String>();
            let usage = a.usage;
            Ok(Answer {
                text,
                model: a.model,
                input_tokens: usage.as_ref().and_then(|u| u.input_tokens),
                output_tokens: usage.as_ref().and_then(|u| u.output_tokens),
            })
        }
        ProviderKind::Openai => {
            let a: OpenaiAnswer = serde_json::from_slice(body).map_err(invalid)?;
            let Some(choice) = a.choices.into_iter().next() else {
                return Err("the answer has no choices".into());
            };
            let text = match (choice.message.content, choice.message.refusal) {
                (Some(text), _) => text,
                (None, Some(refusal)) => return Err(format!("the model refused: {refusal}")),
                (None, None) => return Err("the answer has no content".into()),
            };
            let usage = a.usage;
            Ok(Answer {
                text,
                model: a.model,
                input_tokens: usage.as_ref().and_then(|u| u.prompt_tokens),
                output_tokens: usage.as_ref().and_then(|u| u.completion_tokens),
            })
        }
        ProviderKind::Ollama => {
            let a: OllamaAnswer = serde_json::from_slice(body).map_err(invalid)?;
            Ok(Answer {
                text: a.message.content,
                model: a.model,
                input_tokens: a.prompt_eval_count,
                output_tokens: a.eval_count,
            })
        }
    }
}

/// Returns the wait a provider asked for: `retry-after-ms` (OpenAI), else `retry-after` in
/// seconds or as an HTTP date (relative to `now`; a past date means no wait).
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    if let Some(ms) = value("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    parse_retry_after(value("retry-after")?, now)
}

/// Parses a `retry-after` value: seconds (whole or not), or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).ok())
            .flatten();
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap()
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(parse_retry_after("1", now()), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("0.5", now()),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after("-1", now()), None);
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("", now()), None);
    }

    #[test]
    fn retry_after_reads_http_dates() {
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        // A date already past asks for no wait.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now()),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("20"));
        headers.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(
            retry_after(&headers, now()),
            Some(Duration::from_millis(250))
        );
        headers.remove("retry-after-ms");
        assert_eq!(retry_after(&headers, now()), Some(Duration::from_secs(20)));
        assert_eq!(retry_after(&HeaderMap::new(), now()), None);
    }

    #[test]
    fn backoff_doubles_from_half_a_second() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
        // Large attempt numbers neither overflow nor panic.
        assert!(backoff(u32::MAX) >= Duration::from_secs(30));
    }

    fn local(base_url: &str) -> bool {
        let mut s = ProviderSettings::new(ProviderKind::Ollama);
        s.base_url = base_url.into();
        s.is_local()
    }

    #[test]
    fn is_local_accepts_loopback_hosts_only() {
        for url in [
            "http://localhost:11434",
            "http://LOCALHOST:11434/",
            "http://localhost.:11434",
            "http://127.0.0.1:11434",
            "http://127.8.9.10",
            "http://[::1]:11434",
            "http://[::ffff:127.0.0.1]:11434",
        ] {
            assert!(local(url), "{url} is local");
        }
        for url in [
            "https://api.anthropic.com",
            "http://10.0.0.5:11434",
            "http://0.0.0.0:11434",
            "http://localhost.example.com",
            "http://[::2]:11434",
            "not a url",
            "",
        ] {
            assert!(!local(url), "{url} is not local");
        }
    }

    #[test]
    fn error_message_reads_each_provider_shape() {
        let anthropic =
            br#"{"type":"error","error":{"type":"not_found_error","message":"model: x"}}"#;
        assert_eq!(error_message(anthropic), "model: x");
        let ollama = br#"{"error":"model \"x\" not found, try pulling it first"}"#;
        assert_eq!(
            error_message(ollama),
            r#"model "x" not found, try pulling it first"#
        );
        assert_eq!(
            error_message(b"<html>\n  Bad   Gateway\n</html>"),
            "<html> Bad Gateway </html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
        let long = "x".repeat(1000);
        assert_eq!(
            error_message(long.as_bytes()).chars().count(),
            EXCERPT_CHARS + 1
        );
    }

    #[test]
    fn provider_names_parse_and_print() {
        for kind in [
            ProviderKind::Anthropic,
            ProviderKind::Openai,
            ProviderKind::Ollama,
        ] {
            assert_eq!(kind.as_str().parse::<ProviderKind>().unwrap(), kind);
        }
        assert_eq!(
            " OpenAI ".parse::<ProviderKind>().unwrap(),
            ProviderKind::Openai
        );
        let err = "gemini".parse::<ProviderKind>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown LLM provider "gemini"; use one of anthropic, openai, ollama"#
        );
    }
}
