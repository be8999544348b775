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

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;

mod breaker;
mod error;
mod provider;
mod wire;

pub use breaker::*;
pub use error::*;
pub use provider::*;
use wire::*;

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
