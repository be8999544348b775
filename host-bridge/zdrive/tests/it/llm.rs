//! The LLM clients against local fakes of the Anthropic, OpenAI and Ollama APIs: the exact
//! requests, the answers, retries, the messages a user sees, and the circuit breaker.
//!
//! Each fake answers like its provider (auth check, known models, real answer and error bodies)
//! unless a scripted step tells it to fail first, and records every request it gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Response, Uri};
use axum::Router;
use serde_json::{json, Value};
use zdrive::llm::{CircuitBreaker, LlmClient, LlmError, Prompt, ProviderKind, ProviderSettings};

/// The key the fakes accept.
const KEY: &str = "sk-test-0123456789abcdef";

/// One request a fake received.
#[derive(Clone, Debug)]
struct Received {
    method: Method,
    path: String,
    /// Headers in the order they arrived, names lower case.
    headers: Vec<(String, String)>,
    body: Value,
    at: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a fake does with the next request instead of answering like its provider.
enum Step {
    /// Answers with this status, extra headers and body.
    Reply(u16, Vec<(&'static str, String)>, String),
    /// Waits this long, then answers like the provider.
    Stall(Duration),
}

fn reply(status: u16, body: Value) -> Step {
    Step::Reply(status, vec![], body.to_string())
}

struct Shared {
    kind: ProviderKind,
    requests: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Step>>,
}

/// A local fake of one provider's API.
struct Fake {
    url: String,
    shared: Arc<Shared>,
}

impl Fake {
    async fn start(kind: ProviderKind, script: Vec<Step>) -> Fake {
        let shared = Arc::new(Shared {
            kind,
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(script.into()),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Fake { url, shared }
    }

    fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().unwrap().clone()
    }

    fn push(&self, step: Step) {
        self.shared.script.lock().unwrap().push_back(step);
    }

    /// Returns settings pointing at the fake, with the key it accepts and short waits.
    fn settings(&self) -> ProviderSettings {
        let mut s = ProviderSettings::new(self.shared.kind);
        s.base_url = self.url.clone();
        s.api_key = Some(KEY.into());
        s.timeout = Duration::from_secs(5);
        s.max_backoff = Duration::from_millis(20);
        s
    }

    /// Returns a client of the fake with its own breaker (3 failures, 60 s).
    fn client(&self, settings: ProviderSettings) -> LlmClient {
        let breaker = Arc::new(CircuitBreaker::new(3, Duration::from_secs(60)));
        LlmClient::with_breaker(settings, breaker).unwrap()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let received = Received {
        method,
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    v.to_str().unwrap_or("?").to_string(),
                )
            })
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    shared.requests.lock().unwrap().push(received.clone());
    let step = shared.script.lock().unwrap().pop_front();
    let (status, extra, body) = match step {
        Some(Step::Reply(status, extra, body)) => (status, extra, body),
        Some(Step::Stall(wait)) => {
            tokio::time::sleep(wait).await;
            provider_reply(shared.kind, &received)
        }
        None => provider_reply(shared.kind, &received),
    };
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in extra {
        response = response.header(name, value);
    }
    response.body(Body::from(body)).unwrap()
}

/// Answers like the provider: wrong path, bad key, unknown model, else an answer.
fn provider_reply(kind: ProviderKind, r: &Received) -> (u16, Vec<(&'static str, String)>, String) {
    let model = r.body["model"].as_str().unwrap_or_default().to_string();
    let user = r.body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let known = model == kind.default_model();
    let (status, body) = match kind {
        ProviderKind::Anthropic => {
            let error =
                |t: &str, m: &str| json!({"type": "error", "error": {"type": t, "message": m}});
            if r.path != "/v1/messages" {
                (404, error("not_found_error", "Not Found"))
            } else if r.header("x-api-key") != Some(KEY) {
                (401, error("authentication_error", "invalid x-api-key"))
            } else if !known {
                (404, error("not_found_error", &format!("model: {model}")))
            } else {
                (
                    200,
                    json!({
                        "id": "msg_01", "type": "message", "role": "assistant", "model": model,
                        "content": [
                            {"type": "text", "text": "## Pane\n"},
                            {"type": "text", "text": format!("Summary of: {user}")},
                        ],
                        "stop_reason": "end_turn", "stop_sequence": null,
                        "usage": {"input_tokens": 42, "output_tokens": 7},
                    }),
                )
            }
        }
        ProviderKind::Openai => {
            let error = |m: &str, code: &str| json!({"error": {"message": m, "type": "invalid_request_error", "param": null, "code": code}});
            let given = r
                .header("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if r.path != "/v1/chat/completions" {
                (404, error(&format!("Invalid URL (POST {})", r.path), ""))
            } else if given != KEY {
                // Like OpenAI, the fake quotes the key it got (OpenAI masks part of it).
                let m = format!("Incorrect API key provided: {given}. You can find your API key at https://platform.openai.com/account/api-keys.");
                (401, error(&m, "invalid_api_key"))
            } else if !known {
                let m =
                    format!("The model `{model}` does not exist or you do not have access to it.");
                (404, error(&m, "model_not_found"))
            } else {
                (
                    200,
                    json!({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
                        "model": "gpt-4o-2024-08-06",
                        "choices": [{
                            "index": 0,
                            "message": {"role": "assistant", "content": format!("Summary of: {user}"), "refusal": null},
                            "finish_reason": "stop",
                        }],
                        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
                    }),
                )
            }
        }
        ProviderKind::Ollama => {
            if r.path != "/api/chat" {
                return (404, vec![], "404 page not found".into());
            } else if !known {
                let m = format!("model \"{model}\" not found, try pulling it first");
                (404, json!({ "error": m }))
            } else {
                (
                    200,
                    json!({
                        "model": model, "created_at": "2025-01-01T00:00:00.000000Z",
                        "message": {"role": "assistant", "content": format!("Summary of: {user}")},
                        "done_reason": "stop", "done": true,
                        "total_duration": 1000, "prompt_eval_count": 42, "eval_count": 7,
                    }),
                )
            }
        }
    };
    (status, vec![], body.to_string())
}

fn prompt() -> Prompt {
    Prompt {
        system: "You summarize terminal panes.".into(),
        user: "pane 1: cargo test".into(),
    }
}

async fn fail(client: &LlmClient) -> LlmError {
    match client.complete(&prompt()).await {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_anthropic_sends_a_messages_request_and_joins_text_blocks() {
    let fake = Fake::start(ProviderKind::Anthropic, vec![]).await;
    let client = fake.client(fake.settings());
    let completion = client.complete(&prompt()).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        json!({
            "model": "claude-sonnet-4-20250514",
            "max_tokens": 1024,
            "system": "You summarize terminal panes.",
            "messages": [{"role": "user", "content": "pane 1: cargo test"}],
        })
    );
    assert_eq!(r.body, client.settings().body(&prompt()));
    assert_eq!(
        completion,
        zdrive::llm::Completion {
            text: "## Pane\nSummary of: pane 1: cargo test".into(),
            model: "claude-sonnet-4-20250514".into(),
            input_tokens: Some(42),
            output_tokens: Some(7),
            attempts: 1,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_openai_sends_a_chat_completions_request() {
    let fake = Fake::start(ProviderKind::Openai, vec![]).await;
    let mut settings = fake.settings();
    settings.base_url.push('/'); // a trailing slash is fine
    settings.max_tokens = 300;
    let client = fake.client(settings);
    let completion = client.complete(&prompt()).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-api-key"), None);
    assert_eq!(
        r.body,
        json!({
            "model": "gpt-4o",
            "max_completion_tokens": 300,
            "messages": [
                {"role": "system", "content": "You summarize terminal panes."},
                {"role": "user", "content": "pane 1: cargo test"},
            ],
        })
    );
    // The model as OpenAI reported it, not as asked.
    assert_eq!(completion.model, "gpt-4o-2024-08-06");
    assert_eq!(completion.text, "Summary of: pane 1: cargo test");
    assert_eq!(
        (
            completion.input_tokens,
            completion.output_tokens,
            completion.attempts
        ),
        (Some(42), Some(7), 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_ollama_sends_a_chat_request_without_any_key() {
    let fake = Fake::start(ProviderKind::Ollama, vec![]).await;
    // A key left over from another provider must not reach Ollama.
    let client = fake.client(fake.settings());
    let completion = client.complete(&prompt()).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, Method::POST);
    assert_eq!(r.path, "/api/chat");
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.header("x-api-key"), None);
    assert!(!r.headers.iter().any(|(_, v)| v.contains(KEY)));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        json!({
            "model": "llama3.2",
            "stream": false,
            "messages": [
                {"role": "system", "content": "You summarize terminal panes."},
                {"role": "user", "content": "pane 1: cargo test"},
            ],
            "options": {"num_predict": 1024},
        })
    );
    assert_eq!(
        completion,
        zdrive::llm::Completion {
            text: "Summary of: pane 1: cargo test".into(),
            model: "llama3.2".into(),
            input_tokens: Some(42),
            output_tokens: Some(7),
            attempts: 1,
        }
    );
}

#[test]
fn llm_settings_describe_the_request_for_a_dry_run() {
    let mut s = ProviderSettings::new(ProviderKind::Anthropic);
    s.api_key = Some(KEY.into());
    assert_eq!(s.endpoint(), "https://api.anthropic.com/v1/messages");
    assert_eq!(
        s.headers(true),
        [
            ("x-api-key", "***"),
            ("anthropic-version", "2023-06-01"),
            ("content-type", "application/json"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string()))
    );
    assert_eq!(s.headers(false)[0], ("x-api-key".into(), KEY.into()));
    assert!(!s.is_local());

    let mut s = ProviderSettings::new(ProviderKind::Openai);
    s.api_key = Some(KEY.into());
    s.base_url = "https://proxy.example/openai/".into();
    assert_eq!(
        s.endpoint(),
        "https://proxy.example/openai/v1/chat/completions"
    );
    assert_eq!(
        s.headers(true)[0],
        ("authorization".into(), "Bearer ***".into())
    );

    let s = ProviderSettings::new(ProviderKind::Ollama);
    assert_eq!(s.endpoint(), "http://localhost:11434/api/chat");
    assert_eq!(
        s.headers(true),
        [("content-type".to_string(), "application/json".to_string())]
    );
    assert!(s.is_local());

    // An empty system prompt is left out rather than sent empty.
    let bare = Prompt {
        system: String::new(),
        user: "hi".into(),
    };
    let anthropic = ProviderSettings::new(ProviderKind::Anthropic).body(&bare);
    assert_eq!(anthropic.get("system"), None);
    assert_eq!(
        ProviderSettings::new(ProviderKind::Openai).body(&bare)["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
}

#[test]
fn llm_provider_kind_defaults() {
    use ProviderKind::*;
    assert_eq!(ProviderKind::default(), Anthropic);
    let rows: Vec<_> = [Anthropic, Openai, Ollama]
        .into_iter()
        .map(|k| {
            (
                k.as_str(),
                k.default_model(),
                k.default_base_url(),
                k.key_env(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "anthropic",
                "claude-sonnet-4-20250514",
                "https://api.anthropic.com",
                Some("ANTHROPIC_API_KEY")
            ),
            (
                "openai",
                "gpt-4o",
                "https://api.openai.com",
                Some("OPENAI_API_KEY")
            ),
            ("ollama", "llama3.2", "http://localhost:11434", None),
        ]
    );
    assert_eq!(serde_json::to_value(Openai).unwrap(), json!("openai"));
    assert_eq!("ollama".parse::<ProviderKind>().unwrap(), Ollama);
    let err = "claude".parse::<ProviderKind>().unwrap_err().to_string();
    assert!(err.contains("anthropic, openai, ollama"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_429_waits_for_retry_after_then_succeeds() {
    let limited = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}});
    let fake = Fake::start(
        ProviderKind::Anthropic,
        vec![Step::Reply(
            429,
            vec![("retry-after", "1".into())],
            limited.to_string(),
        )],
    )
    .await;
    let mut settings = fake.settings();
    settings.max_backoff = Duration::from_secs(30);
    let client = fake.client(settings);
    let completion = client.complete(&prompt()).await.unwrap();

    assert_eq!(completion.attempts, 2);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_retry_after_is_capped_by_max_backoff() {
    let limited = json!({"error": {"message": "Rate limit reached for gpt-4o", "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
    let fake = Fake::start(
        ProviderKind::Openai,
        vec![Step::Reply(
            429,
            vec![("retry-after", "30".into())],
            limited.to_string(),
        )],
    )
    .await;
    let mut settings = fake.settings();
    settings.max_backoff = Duration::from_millis(100);
    let client = fake.client(settings);
    let started = Instant::now();
    let completion = client.complete(&prompt()).await.unwrap();

    assert_eq!(completion.attempts, 2);
    let requests = fake.requests();
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(90),
        "waited only {waited:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the 30 s retry-after was not capped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_503_twice_then_success() {
    let unavailable = json!({"error": {"message": "The server is overloaded", "type": "server_error", "param": null, "code": null}});
    let fake = Fake::start(
        ProviderKind::Openai,
        vec![reply(503, unavailable.clone()), reply(503, unavailable)],
    )
    .await;
    let client = fake.client(fake.settings());
    let completion = client.complete(&prompt()).await.unwrap();
    assert_eq!(completion.attempts, 3);
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_overloaded_529_is_retried_then_reported() {
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let fake = Fake::start(
        ProviderKind::Anthropic,
        (0..3).map(|_| reply(529, overloaded.clone())).collect(),
    )
    .await;
    let mut settings = fake.settings();
    settings.retries = 2;
    let err = fail(&fake.client(settings)).await;
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(err.kind(), "server_error");
    assert_eq!(
        err.to_string(),
        "the anthropic API failed with 529 after 3 attempts: Overloaded; try again later"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_429_after_every_retry_is_rate_limited() {
    let limited = json!({"error": {"message": "Rate limit reached for gpt-4o", "type": "requests", "param": null, "code": "rate_limit_exceeded"}});
    let fake = Fake::start(
        ProviderKind::Openai,
        (0..2).map(|_| reply(429, limited.clone())).collect(),
    )
    .await;
    let mut settings = fake.settings();
    settings.retries = 1;
    let err = fail(&fake.client(settings)).await;
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(err.kind(), "rate_limited");
    assert_eq!(
        err.to_string(),
        "the openai API is still rate limiting after 2 attempts (429): Rate limit reached for \
         gpt-4o; wait a minute and try again, or check your plan's limits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_server_error_excerpt_stays_short_for_a_huge_body() {
    let huge = format!("<html>{}</html>", "gateway exploded ".repeat(60_000));
    let fake = Fake::start(ProviderKind::Ollama, vec![Step::Reply(502, vec![], huge)]).await;
    let mut settings = fake.settings();
    settings.retries = 0;
    let err = fail(&fake.client(settings)).await;
    assert_eq!(err.kind(), "server_error");
    let message = err.to_string();
    assert!(
        message
            .starts_with("the ollama API failed with 502 after 1 attempts: <html>gateway exploded"),
        "{message}"
    );
    assert!(message.len() < 500, "{} bytes: {message}", message.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_401_messages_say_how_to_set_a_key() {
    let anthropic = Fake::start(ProviderKind::Anthropic, vec![]).await;
    let mut settings = anthropic.settings();
    settings.api_key = Some("sk-ant-wrong-key".into());
    let err = fail(&anthropic.client(settings)).await;
    assert_eq!(err.kind(), "unauthorized");
    assert_eq!(
        err.to_string(),
        "the anthropic API refused the key (401): invalid x-api-key; set a valid key with \
         ANTHROPIC_API_KEY or: zdrive config set llm.api_key KEY"
    );
    assert_eq!(
        anthropic.requests().len(),
        1,
        "a refused key is not retried"
    );

    let openai = Fake::start(ProviderKind::Openai, vec![]).await;
    let mut settings = openai.settings();
    settings.api_key = Some("sk-wrong-key-123".into());
    let err = fail(&openai.client(settings)).await;
    assert_eq!(err.kind(), "unauthorized");
    // OpenAI quotes the key it got; the message shows it masked.
    assert_eq!(
        err.to_string(),
        "the openai API refused the key (401): Incorrect API key provided: ***. You can find \
         your API key at https://platform.openai.com/account/api-keys; set a valid key with \
         OPENAI_API_KEY or: zdrive config set llm.api_key KEY"
    );
    assert!(!format!("{err:?}").contains("sk-wrong-key-123"));
    assert_eq!(openai.requests().len(), 1);

    // Ollama has no keys; a 401 comes from something in front of it.
    let ollama = Fake::start(
        ProviderKind::Ollama,
        vec![reply(401, json!({"error": "unauthorized"}))],
    )
    .await;
    let err = fail(&ollama.client(ollama.settings())).await;
    assert_eq!(err.kind(), "unauthorized");
    assert_eq!(
        err.to_string(),
        "the ollama API refused the request (401): unauthorized; zdrive sends no key to \
         ollama; check that llm.base_url is your Ollama server (zdrive config set llm.base_url URL)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_404_messages_say_how_to_pick_a_model() {
    let cases = [
        (
            ProviderKind::Anthropic,
            "claude-nope",
            "the anthropic API does not know model claude-nope (404): model: claude-nope; pick \
             one with: zdrive config set llm.model NAME",
        ),
        (
            ProviderKind::Openai,
            "gpt-nope",
            "the openai API does not know model gpt-nope (404): The model `gpt-nope` does not \
             exist or you do not have access to it; pick one with: zdrive config set llm.model NAME",
        ),
        (
            ProviderKind::Ollama,
            "nope",
            "the ollama API does not know model nope (404): model \"nope\" not found, try \
             pulling it first; pull it with: ollama pull nope",
        ),
    ];
    for (kind, model, expected) in cases {
        let fake = Fake::start(kind, vec![]).await;
        let mut settings = fake.settings();
        settings.model = model.into();
        let err = fail(&fake.client(settings)).await;
        assert_eq!(err.kind(), "unknown_model", "{kind}");
        assert_eq!(err.to_string(), expected);
        assert_eq!(fake.requests().len(), 1, "{kind}: a 404 is not retried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_a_wrong_base_url_path_points_at_base_url() {
    let fake = Fake::start(ProviderKind::Openai, vec![]).await;
    let mut settings = fake.settings();
    settings.base_url = format!("{}/v1", fake.url);
    let err = fail(&fake.client(settings)).await;
    assert_eq!(err.kind(), "bad_request");
    assert_eq!(
        err.to_string(),
        "the openai API rejected the request (404): Invalid URL (POST \
         /v1/v1/chat/completions); check the address with: zdrive config set llm.base_url URL"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_400_and_redirects_are_not_retried() {
    let invalid = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: 999999 > 64000, which is the maximum allowed"}});
    let fake = Fake::start(
        ProviderKind::Anthropic,
        vec![
            reply(400, invalid),
            Step::Reply(
                307,
                vec![("location", "https://elsewhere.example/v1/messages".into())],
                String::new(),
            ),
        ],
    )
    .await;
    let client = fake.client(fake.settings());
    let err = fail(&client).await;
    assert_eq!(err.kind(), "bad_request");
    assert_eq!(
        err.to_string(),
        "the anthropic API rejected the request (400): max_tokens: 999999 > 64000, which is the \
         maximum allowed; check llm.model and llm.max_tokens (zdrive config set llm.max_tokens N)"
    );
    // The key must not follow a redirect to another host.
    let err = fail(&client).await;
    assert_eq!(err.kind(), "bad_request");
    assert!(
        err.to_string()
            .contains("redirected to https://elsewhere.example/v1/messages"),
        "{err}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_an_unreadable_answer_is_a_bad_response() {
    let fake = Fake::start(
        ProviderKind::Anthropic,
        vec![Step::Reply(
            200,
            vec![],
            "<html>captive portal</html>".into(),
        )],
    )
    .await;
    let err = fail(&fake.client(fake.settings())).await;
    assert_eq!(err.kind(), "bad_response");
    let message = err.to_string();
    assert!(
        message.starts_with("the anthropic API sent an answer zdrive cannot read ("),
        "{message}"
    );
    assert!(message.contains("<html>captive portal</html>"), "{message}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_ollama_not_running_says_to_start_it() {
    let port = tests::free_port();
    let mut settings = ProviderSettings::new(ProviderKind::Ollama);
    settings.base_url = format!("http://127.0.0.1:{port}");
    let breaker = Arc::new(CircuitBreaker::new(3, Duration::from_secs(60)));
    let client = LlmClient::with_breaker(settings, breaker).unwrap();
    let started = Instant::now();
    let err = fail(&client).await;
    assert_eq!(err.kind(), "unreachable");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach the ollama API at http://127.0.0.1:{port}/api/chat (connection \
             refused); is `ollama serve` running? (default http://localhost:11434; change with \
             zdrive config set llm.base_url URL)"
        )
    );
    // A refused connection is not retried (three retries would wait 3.5 s).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_a_slow_provider_times_out() {
    let fake = Fake::start(
        ProviderKind::Ollama,
        vec![Step::Stall(Duration::from_secs(10))],
    )
    .await;
    let mut settings = fake.settings();
    settings.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = fail(&fake.client(settings)).await;
    let took = started.elapsed();
    assert_eq!(err.kind(), "timeout");
    assert_eq!(
        err.to_string(),
        "the ollama API did not answer within 0.3s; raise it with zdrive config set llm.timeout_secs N"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(fake.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_missing_key_makes_no_request() {
    for kind in [ProviderKind::Anthropic, ProviderKind::Openai] {
        let fake = Fake::start(kind, vec![]).await;
        for key in [None, Some("  ".to_string())] {
            let mut settings = fake.settings();
            settings.api_key = key;
            let err = fail(&fake.client(settings)).await;
            assert_eq!(err.kind(), "missing_key");
            let env = kind.key_env().unwrap();
            assert_eq!(
                err.to_string(),
                format!(
                    "no API key for {kind}; set a valid key with {env} or: zdrive config set \
                     llm.api_key KEY"
                )
            );
        }
        assert_eq!(fake.requests().len(), 0, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_circuit_opens_after_three_failures_and_closes_after_a_success() {
    let fake = Fake::start(ProviderKind::Anthropic, vec![]).await;
    let error = json!({"type": "error", "error": {"type": "api_error", "message": "Internal server error"}});
    for _ in 0..3 {
        fake.push(reply(500, error.clone()));
    }
    let mut settings = fake.settings();
    settings.retries = 0;
    let endpoint = settings.endpoint();
    let breaker = Arc::new(CircuitBreaker::new(3, Duration::from_millis(300)));
    let client = LlmClient::with_breaker(settings, Arc::clone(&breaker)).unwrap();

    for n in 1..=3 {
        assert_eq!(fail(&client).await.kind(), "server_error", "call {n}");
    }
    assert!(breaker.open_for(&endpoint).is_some());
    let err = fail(&client).await;
    assert_eq!(err.kind(), "circuit_open");
    assert_eq!(
        err.to_string(),
        "the anthropic API failed 3 times in a row; not calling it for another 1s; try again \
         then, or switch with: zdrive config set llm.provider NAME"
    );
    assert_eq!(fake.requests().len(), 3, "an open circuit makes no request");

    tests::wait_for(
        "the circuit's cool-down to end",
        Duration::from_secs(5),
        || breaker.open_for(&endpoint).is_none().then_some(()),
    )
    .unwrap();
    // Half-open: one trial goes out, succeeds, and closes the circuit.
    let completion = client.complete(&prompt()).await.unwrap();
    assert_eq!(completion.attempts, 1);
    assert_eq!(fake.requests().len(), 4);

    // Closed again: one more failure does not reopen it.
    fake.push(reply(500, error));
    assert_eq!(fail(&client).await.kind(), "server_error");
    assert!(breaker.open_for(&endpoint).is_none());
    client.complete(&prompt()).await.unwrap();
    assert_eq!(fake.requests().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_a_failed_trial_reopens_the_circuit() {
    let fake = Fake::start(ProviderKind::Ollama, vec![]).await;
    let down = json!({"error": "llama runner process has terminated"});
    fake.push(reply(500, down.clone()));
    fake.push(reply(500, down));
    let mut settings = fake.settings();
    settings.retries = 0;
    let endpoint = settings.endpoint();
    let breaker = Arc::new(CircuitBreaker::new(1, Duration::from_millis(200)));
    let client = LlmClient::with_breaker(settings, Arc::clone(&breaker)).unwrap();

    assert_eq!(fail(&client).await.kind(), "server_error");
    assert_eq!(fail(&client).await.kind(), "circuit_open");
    tests::wait_for(
        "the circuit's cool-down to end",
        Duration::from_secs(5),
        || breaker.open_for(&endpoint).is_none().then_some(()),
    )
    .unwrap();
    assert_eq!(fail(&client).await.kind(), "server_error", "the trial call");
    assert!(
        breaker.open_for(&endpoint).is_some(),
        "a failed trial reopens the circuit"
    );
    assert_eq!(fail(&client).await.kind(), "circuit_open");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_configuration_errors_do_not_open_the_circuit() {
    let fake = Fake::start(ProviderKind::Anthropic, vec![]).await;
    let mut settings = fake.settings();
    settings.api_key = Some("sk-ant-wrong-key".into());
    let endpoint = settings.endpoint();
    let breaker = Arc::new(CircuitBreaker::new(1, Duration::from_secs(60)));
    let client = LlmClient::with_breaker(settings, Arc::clone(&breaker)).unwrap();
    for _ in 0..3 {
        assert_eq!(fail(&client).await.kind(), "unauthorized");
    }
    assert!(breaker.open_for(&endpoint).is_none());
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llm_the_key_never_shows_in_debug_or_errors() {
    let mut settings = ProviderSettings::new(ProviderKind::Openai);
    settings.api_key = Some(KEY.into());
    let debug = format!("{settings:?}");
    assert!(debug.contains("api_key: Some(\"***\")"), "{debug}");

    let fake = Fake::start(
        ProviderKind::Openai,
        vec![
            // A provider (or a proxy) that quotes the key back in every kind of error.
            reply(400, json!({"error": {"message": format!("bad key {KEY}"), "type": "invalid_request_error", "param": null, "code": null}})),
            reply(500, json!({"error": {"message": format!("crashed on {KEY}"), "type": "server_error", "param": null, "code": null}})),
            Step::Reply(200, vec![], format!("not json {KEY}")),
        ],
    )
    .await;
    let mut settings = fake.settings();
    settings.retries = 0;
    let client = fake.client(settings);
    let mut errors = Vec::new();
    for _ in 0..3 {
        errors.push(fail(&client).await);
    }
    let mut slow = fake.settings();
    slow.timeout = Duration::from_millis(100);
    fake.push(Step::Stall(Duration::from_secs(10)));
    errors.push(fail(&fake.client(slow)).await);
    let mut unreachable = ProviderSettings::new(ProviderKind::Anthropic);
    unreachable.base_url = format!("http://127.0.0.1:{}", tests::free_port());
    unreachable.api_key = Some(KEY.into());
    errors.push(fail(&fake.client(unreachable)).await);

    let kinds: Vec<_> = errors.iter().map(LlmError::kind).collect();
    assert_eq!(
        kinds,
        [
            "bad_request",
            "server_error",
            "bad_response",
            "timeout",
            "unreachable"
        ]
    );
    for err in &errors {
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(KEY), "the key leaked: {shown}");
    }
    let client_debug = format!("{client:?}");
    assert!(
        !client_debug.contains(KEY),
        "the key leaked: {client_debug}"
    );
}
