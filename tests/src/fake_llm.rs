//! A local HTTP server speaking Ollama's `/api/chat` wire format, standing in for the LLM
//! provider of zdrive's snapshots: it answers every request with a fixed summary and keeps the
//! request bodies, so a test can check what left the machine.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running fake Ollama; it stops with the test process.
pub struct FakeOllama {
    /// The base URL to configure as `llm.base_url` (`http://127.0.0.1:PORT`).
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl FakeOllama {
    /// Starts a fake on a free loopback port that answers with `summary` after `delay`.
    pub fn start(summary: &str, delay: Duration) -> FakeOllama {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake Ollama's port");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the fake Ollama's address")
        );
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&bodies);
        let body = serde_json::json!({
            "model": "llama3.2",
            "created_at": "2026-11-24T10:00:00Z",
            "message": {"role": "assistant", "content": summary},
            "done": true,
        })
        .to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let recorded = Arc::clone(&recorded);
                let body = body.clone();
                std::thread::spawn(move || answer(stream, &recorded, &body, delay));
            }
        });
        FakeOllama { url, bodies }
    }

    /// Returns how many requests were received.
    pub fn requests(&self) -> usize {
        self.bodies().len()
    }

    /// Returns the bodies of the requests received, oldest first.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn answer(stream: TcpStream, bodies: &Mutex<Vec<String>>, body: &str, delay: Duration) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    bodies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(String::from_utf8_lossy(&request.body).into_owned());
    std::thread::sleep(delay);
    let mut stream = &stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// One HTTP/1.1 request as a fake provider reads it.
pub(crate) struct Request {
    pub method: String,
    /// The request target, query string included (`/v1/messages?beta=true`).
    pub target: String,
    pub body: Vec<u8>,
}

/// Reads one request (request line, headers, a `content-length` body) from `stream`; `None`
/// when the client went away or sent something else.
pub(crate) fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        body,
    })
}
