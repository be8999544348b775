//! A local HTTP server standing in for an LLM provider: it answers from a script of canned
//! responses (the providers' real answer and error bodies) and records every request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// A canned answer.
#[derive(Clone, Debug)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// An Anthropic Messages answer with `text`.
pub fn anthropic_ok(text: &str) -> Canned {
    Canned::json(
        200,
        json!({
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": [{ "type": "text", "text": text }],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": { "input_tokens": 812, "output_tokens": 96 }
        }),
    )
}

/// An Anthropic error body.
pub fn anthropic_error(status: u16, kind: &str, message: &str) -> Canned {
    Canned::json(
        status,
        json!({ "type": "error", "error": { "type": kind, "message": message } }),
    )
}

/// A summary in the three sections snapshots ask for.
pub const SUMMARY: &str = "## What was done\n- Implemented OAuth login in `src/auth.rs`\n\n\
## Current state\n- Token validation passes its tests\n- Refresh is not wired yet\n\n\
## Suggested next steps\n1. Wire token refresh\n2. Add an integration test\n";

#[derive(Default)]
struct Inner {
    script: VecDeque<Canned>,
    fallback: Option<Canned>,
    requests: Vec<Recorded>,
}

/// The running fake.
pub struct FakeLlm {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    _runtime: tokio::runtime::Runtime,
}

impl FakeLlm {
    /// Starts a fake on a free loopback port that answers `fallback` when its script is empty.
    pub fn start(fallback: Canned) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let inner = Arc::new(Mutex::new(Inner {
            fallback: Some(fallback),
            ..Inner::default()
        }));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&inner));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            inner,
            _runtime: runtime,
        }
    }

    /// Queues answers given before the fallback, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Canned>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Returns the requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let canned = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        inner
            .script
            .pop_front()
            .or_else(|| inner.fallback.clone())
            .unwrap()
    };
    tokio::time::sleep(canned.delay).await;
    let mut response = (
        StatusCode::from_u16(canned.status).unwrap(),
        canned.body.clone(),
    )
        .into_response();
    for (k, v) in &canned.headers {
        response.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    response
}
