//! The providers zdrive can call and the settings of one: kind, model, key, base URL, limits.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use super::error::LlmError;
use super::{Prompt, ANTHROPIC_VERSION};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use serde_json::json;

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
    pub(super) fn key_hint(self) -> String {
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
    pub(super) fn unreachable_hint(self) -> String {
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
    pub(super) fn key(&self) -> Option<&str> {
        self.kind.key_env()?;
        self.api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
    }

    /// Returns `text` with every occurrence of the key replaced by `***`.
    pub(super) fn scrub(&self, text: &str) -> String {
        match self.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => text.replace(key, "***"),
            _ => text.to_string(),
        }
    }
}
