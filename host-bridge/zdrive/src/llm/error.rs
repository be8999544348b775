//! Why a provider call failed, in words that say what to do next and never hold the key.

use super::provider::ProviderKind;
use std::time::Duration;

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
    pub(super) fn counts_against_provider(&self) -> bool {
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
