//! A local HTTP server speaking the wire formats of the coding agents' providers, so the real
//! agent command lines (Claude Code, Gemini CLI, Codex CLI, aider) can run a whole turn here:
//! Anthropic's Messages API, Gemini's `generateContent`, OpenAI's Responses API and OpenAI's
//! Chat Completions, each streamed as server-sent events the way the provider streams them.
//!
//! Every turn goes the same way: the first answer says a sentence and asks to run
//! [`Script::command`] with the agent's own shell tool (so the agent shows its permission
//! prompt); the answer to the tool's result is [`Script::answer`]. A model without tools (aider)
//! gets the command as a fenced shell block instead, which aider offers to run.
//!
//! Answers can be held open after their first sentence until the test calls
//! [`FakeAgentsApi::release`], so a test can look at the agent's busy screen for as long as it
//! needs without sleeping a fixed time.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fake_llm::{read_request, Request};

/// The tool call id the fake uses, so its follow-up request can be told from the first.
const CALL_ID: &str = "call_perth_1";

/// The longest a held answer waits for [`FakeAgentsApi::release`] before it goes on by itself,
/// so a test that forgets to release cannot hang an agent forever.
const MAX_HOLD: Duration = Duration::from_secs(120);

/// What the fake model says in a turn.
#[derive(Debug, Clone)]
pub struct Script {
    /// The sentence the first answer opens with.
    pub preamble: String,
    /// The shell command the fake asks the agent to run.
    pub command: String,
    /// The final answer, once the command's result came back.
    pub answer: String,
    /// Where streamed answers stop until [`FakeAgentsApi::release`].
    pub hold: Hold,
    /// The pause between two streamed parts of an answer.
    pub pace: Duration,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            preamble: "I will create the marker file first.".into(),
            command: "touch perth-was-here.txt".into(),
            answer: "Done: I created perth-was-here.txt in the project folder.".into(),
            hold: Hold::Never,
            pace: Duration::from_millis(50),
        }
    }
}

/// Where a streamed answer waits for the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Answers stream to their end at [`Script::pace`].
    Never,
    /// Before the first byte of the answer: the agent waits for its model.
    BeforeFirstToken,
    /// After the first words: the agent shows a partial answer.
    AfterFirstPart,
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub target: String,
    pub body: String,
}

struct Shared {
    script: Script,
    received: Mutex<Vec<Received>>,
    /// How many times the test released held answers; an answer waits until this exceeds the
    /// count it saw when it arrived.
    releases: Mutex<u64>,
    released: Condvar,
}

/// A running fake provider; it stops with the test process.
pub struct FakeAgentsApi {
    /// The base URL (`http://127.0.0.1:PORT`), without a path.
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeAgentsApi {
    /// Starts the fake on a free loopback port.
    pub fn start(script: Script) -> anyhow::Result<FakeAgentsApi> {
        use anyhow::Context as _;
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the fake agents API's port")?;
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .context("reading the fake agents API's address")?
        );
        let shared = Arc::new(Shared {
            script,
            received: Mutex::new(Vec::new()),
            releases: Mutex::new(0),
            released: Condvar::new(),
        });
        let serving = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let shared = Arc::clone(&serving);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Ok(FakeAgentsApi { url, shared })
    }

    /// Lets every answer held so far go on to its end.
    pub fn release(&self) {
        *lock(&self.shared.releases) += 1;
        self.shared.released.notify_all();
    }

    /// Returns the requests received, oldest first.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The provider a request is meant for, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Anthropic,
    Gemini { stream: bool },
    Responses,
    ChatCompletions,
}

fn serve(stream: TcpStream, shared: &Shared) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    lock(&shared.received).push(Received {
        method: request.method.clone(),
        target: request.target.clone(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
    });
    let path = request.target.split('?').next().unwrap_or("");
    let dialect = if path.ends_with("/messages") {
        Dialect::Anthropic
    } else if path.contains(":streamGenerateContent") {
        Dialect::Gemini { stream: true }
    } else if path.contains(":generateContent") {
        Dialect::Gemini { stream: false }
    } else if path.ends_with("/responses") {
        Dialect::Responses
    } else if path.ends_with("/chat/completions") {
        Dialect::ChatCompletions
    } else {
        return small_answer(&stream, &request, path);
    };
    let turn = Turn::of(dialect, &body, &shared.script);
    let streamed = match dialect {
        Dialect::Gemini { stream } => stream,
        _ => body.get("stream").and_then(Value::as_bool).unwrap_or(false),
    };
    if !streamed {
        let whole = whole_answer(dialect, &turn);
        return send(&stream, "200 OK", "application/json", &whole.to_string());
    }
    let arrived = *lock(&shared.releases);
    if shared.script.hold == Hold::BeforeFirstToken {
        wait_release(shared, arrived);
    }
    let mut out = Chunked::start(&stream, "text/event-stream");
    let events = events(dialect, &turn);
    let hold_after = events.iter().position(|e| e.ends_part).unwrap_or(0);
    for (i, event) in events.iter().enumerate() {
        if !out.send(&event.text) {
            return;
        }
        if i == hold_after && shared.script.hold == Hold::AfterFirstPart {
            wait_release(shared, arrived);
        } else if event.ends_part {
            std::thread::sleep(shared.script.pace);
        }
    }
    out.finish();
}

fn wait_release(shared: &Shared, arrived: u64) {
    let deadline = Instant::now() + MAX_HOLD;
    let mut releases = lock(&shared.releases);
    while *releases <= arrived {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        releases = match shared.released.wait_timeout(releases, left) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

/// Answers what is not a model call: model lists, token counts, anything else with an empty
/// object, so an agent's side requests never fail the turn.
fn small_answer(stream: &TcpStream, request: &Request, path: &str) {
    let body = if path.ends_with("/models") {
        json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model", "owned_by": "perth"},
            {"id": "gpt-5", "object": "model", "owned_by": "perth"},
        ], "models": []})
    } else if path.contains("count_tokens") {
        json!({"input_tokens": 12})
    } else if path.contains(":countTokens") {
        json!({"totalTokens": 12})
    } else {
        json!({})
    };
    let status = if request.method == "GET" || request.method == "POST" {
        "200 OK"
    } else {
        "404 Not Found"
    };
    send(stream, status, "application/json", &body.to_string());
}

/// What one answer holds: some text and maybe a call of the agent's shell tool.
struct Turn {
    text: String,
    call: Option<ToolCall>,
    model: String,
}

struct ToolCall {
    name: String,
    arguments: Value,
}

impl Turn {
    fn of(dialect: Dialect, body: &Value, script: &Script) -> Turn {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("perth-fake")
            .to_string();
        let tools = tool_schemas(dialect, body);
        let done = Turn {
            text: script.answer.clone(),
            call: None,
            model: model.clone(),
        };
        if wants_json(body) {
            return Turn {
                text: json!({"next_speaker": "user", "reasoning": "The turn is over.",
                    "model_choice": "flash"})
                .to_string(),
                call: None,
                model,
            };
        }
        if tools.is_empty() {
            // A model without tools (aider): the command as a fenced block, once.
            if last_user_text(dialect, body).contains(&script.command) || has_tool_result(body) {
                return done;
            }
            return Turn {
                text: format!("{}\n\n```bash\n{}\n```\n", script.preamble, script.command),
                call: None,
                model,
            };
        }
        if has_tool_result(body) {
            return done;
        }
        match shell_call(&tools, &script.command) {
            Some(call) => Turn {
                text: script.preamble.clone(),
                call: Some(call),
                model,
            },
            None => done,
        }
    }
}

/// Whether the request asks for a JSON answer (Gemini CLI's next-speaker and routing checks).
fn wants_json(body: &Value) -> bool {
    let config = &body["generationConfig"];
    config["responseMimeType"].as_str() == Some("application/json")
        || !config["responseJsonSchema"].is_null()
        || !config["responseSchema"].is_null()
}

/// Whether the conversation's last entry carries a tool's result, for any of the dialects.
fn has_tool_result(body: &Value) -> bool {
    let last = |key: &str| {
        body.get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.last())
    };
    if let Some(message) = last("messages") {
        if message["role"] == "tool" {
            return true;
        }
        if let Some(blocks) = message["content"].as_array() {
            return blocks.iter().any(|b| b["type"] == "tool_result");
        }
        return false;
    }
    if let Some(content) = last("contents") {
        return content["parts"]
            .as_array()
            .is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()));
    }
    if let Some(items) = body.get("input").and_then(Value::as_array) {
        // The Responses API: a function call's output after the last user message.
        for item in items.iter().rev() {
            if item["type"] == "function_call_output" {
                return true;
            }
            if item["role"] == "user" {
                return false;
            }
        }
    }
    false
}

/// Returns the text of the last user message.
fn last_user_text(dialect: Dialect, body: &Value) -> String {
    let key = match dialect {
        Dialect::Gemini { .. } => "contents",
        Dialect::Responses => "input",
        _ => "messages",
    };
    let Some(last) = body[key]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    let mut text = String::new();
    collect_text(last, &mut text);
    text
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|v| collect_text(v, out)),
        Value::Object(o) => o.values().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

/// A tool the agent offered: its name and the JSON schema of its arguments.
struct ToolSchema {
    name: String,
    parameters: Value,
}

fn tool_schemas(dialect: Dialect, body: &Value) -> Vec<ToolSchema> {
    let mut out = Vec::new();
    let Some(tools) = body.get("tools").and_then(Value::as_array) else {
        return out;
    };
    for tool in tools {
        match dialect {
            Dialect::Anthropic => out.push(ToolSchema {
                name: tool["name"].as_str().unwrap_or_default().into(),
                parameters: tool["input_schema"].clone(),
            }),
            Dialect::Gemini { .. } => {
                for f in tool["functionDeclarations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    out.push(ToolSchema {
                        name: f["name"].as_str().unwrap_or_default().into(),
                        parameters: if f["parametersJsonSchema"].is_null() {
                            f["parameters"].clone()
                        } else {
                            f["parametersJsonSchema"].clone()
                        },
                    });
                }
            }
            Dialect::Responses => out.push(ToolSchema {
                name: tool["name"].as_str().unwrap_or_default().into(),
                parameters: tool["parameters"].clone(),
            }),
            Dialect::ChatCompletions => out.push(ToolSchema {
                name: tool["function"]["name"].as_str().unwrap_or_default().into(),
                parameters: tool["function"]["parameters"].clone(),
            }),
        }
    }
    out
}

/// The shell tools of the agents, in the order the fake prefers them.
const SHELL_TOOLS: [&str; 6] = [
    "Bash",
    "run_shell_command",
    "shell_command",
    "shell",
    "exec_command",
    "bash",
];

/// Builds a call of the agent's shell tool running `command`, shaped after the tool's schema
/// (`command` as a string or as an argv array, or `cmd`).
fn shell_call(tools: &[ToolSchema], command: &str) -> Option<ToolCall> {
    let tool = SHELL_TOOLS
        .iter()
        .find_map(|name| tools.iter().find(|t| t.name == *name))?;
    let props = &tool.parameters["properties"];
    let mut args = serde_json::Map::new();
    if props.get("cmd").is_some() && props.get("command").is_none() {
        args.insert("cmd".into(), json!(command));
    } else if props["command"]["type"] == "array" {
        args.insert("command".into(), json!(["bash", "-lc", command]));
    } else {
        args.insert("command".into(), json!(command));
    }
    if props.get("description").is_some() {
        args.insert("description".into(), json!("Create the marker file"));
    }
    // Codex runs commands in its sandbox without asking unless the model asks to leave it.
    if props.get("sandbox_permissions").is_some() {
        args.insert("sandbox_permissions".into(), json!("require_escalated"));
        args.insert(
            "justification".into(),
            json!("Do you want me to create the marker file?"),
        );
    }
    Some(ToolCall {
        name: tool.name.clone(),
        arguments: Value::Object(args),
    })
}

/// One server-sent event; `ends_part` marks where the stream may pause.
struct Event {
    text: String,
    ends_part: bool,
}

fn sse(name: Option<&str>, data: &Value, ends_part: bool) -> Event {
    let text = match name {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    };
    Event { text, ends_part }
}

/// Splits `text` into the pieces a model streams (a few words each).
fn pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(3).map(|c| c.concat()).collect()
}

fn events(dialect: Dialect, turn: &Turn) -> Vec<Event> {
    match dialect {
        Dialect::Anthropic => anthropic_events(turn),
        Dialect::Gemini { .. } => gemini_events(turn),
        Dialect::Responses => responses_events(turn),
        Dialect::ChatCompletions => chat_events(turn),
    }
}

fn anthropic_events(turn: &Turn) -> Vec<Event> {
    let mut out = vec![sse(
        Some("message_start"),
        &json!({"type": "message_start", "message": {
            "id": "msg_perth_1", "type": "message", "role": "assistant", "model": turn.model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        false,
    )];
    out.push(sse(
        Some("content_block_start"),
        &json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        false,
    ));
    for piece in pieces(&turn.text) {
        out.push(sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": piece}}),
            true,
        ));
    }
    out.push(sse(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": 0}),
        false,
    ));
    let mut stop = "end_turn";
    if let Some(call) = &turn.call {
        stop = "tool_use";
        out.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": 1, "content_block": {
                "type": "tool_use", "id": CALL_ID, "name": call.name, "input": {}}}),
            false,
        ));
        out.push(sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": 1, "delta": {
                "type": "input_json_delta", "partial_json": call.arguments.to_string()}}),
            true,
        ));
        out.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": 1}),
            false,
        ));
    }
    out.push(sse(
        Some("message_delta"),
        &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": 24}}),
        false,
    ));
    out.push(sse(
        Some("message_stop"),
        &json!({"type": "message_stop"}),
        false,
    ));
    out
}

fn gemini_chunk(parts: Value, finish: Option<&str>, model: &str) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "modelVersion": model,
        "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 24,
            "totalTokenCount": 36}})
}

fn gemini_events(turn: &Turn) -> Vec<Event> {
    let mut out: Vec<Event> = pieces(&turn.text)
        .into_iter()
        .map(|p| {
            sse(
                None,
                &gemini_chunk(json!([{"text": p}]), None, &turn.model),
                true,
            )
        })
        .collect();
    let last = match &turn.call {
        Some(call) => json!([{"functionCall": {"name": call.name, "args": call.arguments}}]),
        None => json!([{"text": ""}]),
    };
    out.push(sse(
        None,
        &gemini_chunk(last, Some("STOP"), &turn.model),
        false,
    ));
    out
}

fn responses_events(turn: &Turn) -> Vec<Event> {
    let response = |status: &str| {
        json!({"id": "resp_perth_1", "object": "response", "status": status,
            "model": turn.model, "output": [],
            "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 24, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 36}})
    };
    let mut out = vec![sse(
        Some("response.created"),
        &json!({"type": "response.created", "response": response("in_progress")}),
        false,
    )];
    out.push(sse(
        Some("response.output_item.added"),
        &json!({"type": "response.output_item.added", "output_index": 0, "item": {
            "type": "message", "id": "msg_perth_1", "role": "assistant", "status": "in_progress",
            "content": []}}),
        false,
    ));
    for piece in pieces(&turn.text) {
        out.push(sse(
            Some("response.output_text.delta"),
            &json!({"type": "response.output_text.delta", "item_id": "msg_perth_1",
                "output_index": 0, "content_index": 0, "delta": piece}),
            true,
        ));
    }
    out.push(sse(
        Some("response.output_item.done"),
        &json!({"type": "response.output_item.done", "output_index": 0, "item": {
            "type": "message", "id": "msg_perth_1", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": turn.text, "annotations": []}]}}),
        false,
    ));
    if let Some(call) = &turn.call {
        out.push(sse(
            Some("response.output_item.done"),
            &json!({"type": "response.output_item.done", "output_index": 1, "item": {
                "type": "function_call", "id": "fc_perth_1", "call_id": CALL_ID,
                "name": call.name, "arguments": call.arguments.to_string(),
                "status": "completed"}}),
            false,
        ));
    }
    out.push(sse(
        Some("response.completed"),
        &json!({"type": "response.completed", "response": response("completed")}),
        false,
    ));
    out
}

fn chat_chunk(delta: Value, finish: Option<&str>, model: &str) -> Value {
    json!({"id": "chatcmpl-perth", "object": "chat.completion.chunk", "created": 1_764_000_000,
        "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn chat_events(turn: &Turn) -> Vec<Event> {
    let mut out = vec![sse(
        None,
        &chat_chunk(
            json!({"role": "assistant", "content": ""}),
            None,
            &turn.model,
        ),
        false,
    )];
    for piece in pieces(&turn.text) {
        out.push(sse(
            None,
            &chat_chunk(json!({"content": piece}), None, &turn.model),
            true,
        ));
    }
    let finish = match &turn.call {
        Some(call) => {
            out.push(sse(
                None,
                &chat_chunk(
                    json!({"tool_calls": [{"index": 0, "id": CALL_ID, "type": "function",
                        "function": {"name": call.name,
                            "arguments": call.arguments.to_string()}}]}),
                    None,
                    &turn.model,
                ),
                false,
            ));
            "tool_calls"
        }
        None => "stop",
    };
    let mut last = chat_chunk(json!({}), Some(finish), &turn.model);
    last["usage"] = json!({"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36});
    out.push(sse(None, &last, false));
    out.push(Event {
        text: "data: [DONE]\n\n".into(),
        ends_part: false,
    });
    out
}

/// The same answer as one JSON document, for requests that do not stream.
fn whole_answer(dialect: Dialect, turn: &Turn) -> Value {
    match dialect {
        Dialect::Anthropic => {
            let mut content = vec![json!({"type": "text", "text": turn.text})];
            if let Some(call) = &turn.call {
                content.push(json!({"type": "tool_use", "id": CALL_ID, "name": call.name,
                    "input": call.arguments}));
            }
            json!({"id": "msg_perth_1", "type": "message", "role": "assistant",
                "model": turn.model, "content": content,
                "stop_reason": if turn.call.is_some() { "tool_use" } else { "end_turn" },
                "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 24}})
        }
        Dialect::Gemini { .. } => {
            let mut parts = vec![json!({"text": turn.text})];
            if let Some(call) = &turn.call {
                parts.push(json!({"functionCall": {"name": call.name, "args": call.arguments}}));
            }
            gemini_chunk(json!(parts), Some("STOP"), &turn.model)
        }
        Dialect::Responses => {
            json!({"id": "resp_perth_1", "object": "response", "status": "completed",
                "model": turn.model, "output": [{"type": "message", "id": "msg_perth_1",
                    "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": turn.text, "annotations": []}]}],
                "usage": {"input_tokens": 12, "output_tokens": 24, "total_tokens": 36}})
        }
        Dialect::ChatCompletions => {
            let mut message = json!({"role": "assistant", "content": turn.text});
            if let Some(call) = &turn.call {
                message["tool_calls"] = json!([{"id": CALL_ID, "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments.to_string()}}]);
            }
            json!({"id": "chatcmpl-perth", "object": "chat.completion",
                "created": 1_764_000_000, "model": turn.model,
                "choices": [{"index": 0, "message": message,
                    "finish_reason": if turn.call.is_some() { "tool_calls" } else { "stop" }}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 24, "total_tokens": 36}})
        }
    }
}

fn send(stream: &TcpStream, status: &str, content_type: &str, body: &str) {
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A response with a chunked body, written piece by piece as the model "thinks".
struct Chunked<'a> {
    stream: &'a TcpStream,
}

impl<'a> Chunked<'a> {
    fn start(stream: &'a TcpStream, content_type: &str) -> Chunked<'a> {
        let mut s = stream;
        let _ = write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );
        Chunked { stream }
    }

    /// Writes one chunk; false when the client went away.
    fn send(&mut self, data: &str) -> bool {
        let mut s = self.stream;
        write!(s, "{:x}\r\n{data}\r\n", data.len()).is_ok() && s.flush().is_ok()
    }

    fn finish(self) {
        let mut s = self.stream;
        let _ = s.write_all(b"0\r\n\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::Read as _;

    /// Posts `body` to `path` and returns the whole response.
    fn post(url: &str, path: &str, body: &Value) -> String {
        let addr = url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connecting to the fake");
        let body = body.to_string();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("sending the request");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("reading the answer");
        answer
    }

    fn fast() -> FakeAgentsApi {
        FakeAgentsApi::start(Script {
            pace: Duration::ZERO,
            ..Script::default()
        })
        .expect("starting the fake")
    }

    #[test]
    fn claude_is_asked_to_run_bash_then_answered() {
        let api = fast();
        let tools = json!([{"name": "Bash", "input_schema": {"properties": {
            "command": {"type": "string"}, "description": {"type": "string"}}}}]);
        let first = post(
            &api.url,
            "/v1/messages?beta=true",
            &json!({"model": "m", "stream": true, "tools": tools,
                "messages": [{"role": "user", "content": "make the file"}]}),
        );
        assert!(first.contains("transfer-encoding: chunked"), "{first}");
        assert!(first.contains(r#""name":"Bash""#), "{first}");
        assert!(first.contains(r#""stop_reason":"tool_use""#), "{first}");
        assert!(first.contains("touch perth-was-here.txt"), "{first}");
        let second = post(
            &api.url,
            "/v1/messages?beta=true",
            &json!({"model": "m", "stream": true, "tools": tools,
                "messages": [{"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": CALL_ID, "content": ""}]}]}),
        );
        assert!(second.contains(r#""stop_reason":"end_turn""#), "{second}");
        assert!(second.contains("Done: I created"), "{second}");
        assert_eq!(api.received().len(), 2);
    }

    #[test]
    fn codex_asks_to_leave_its_sandbox_and_aider_gets_a_shell_block() {
        let api = fast();
        let first = post(
            &api.url,
            "/v1/responses",
            &json!({"model": "gpt-5", "stream": true, "tools": [{"type": "function",
                "name": "exec_command", "parameters": {"properties": {
                    "cmd": {"type": "string"}, "sandbox_permissions": {"type": "string"}}}}],
                "input": [{"type": "message", "role": "user", "content": "go"}]}),
        );
        assert!(first.contains("event: response.completed"), "{first}");
        assert!(
            first.contains(r#"require_escalated"#) && first.contains(r#"\"cmd\""#),
            "{first}"
        );
        let aider = post(
            &api.url,
            "/v1/chat/completions",
            &json!({"model": "gpt-4o", "stream": true,
                "messages": [{"role": "user", "content": "make the file"}]}),
        );
        assert!(aider.contains("```bash"), "{aider}");
        assert!(aider.contains("data: [DONE]"), "{aider}");
    }

    #[test]
    fn held_answers_wait_for_release() {
        let api = FakeAgentsApi::start(Script {
            hold: Hold::BeforeFirstToken,
            pace: Duration::ZERO,
            ..Script::default()
        })
        .expect("starting the fake");
        let url = api.url.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let answer = post(
                &url,
                "/v1/chat/completions",
                &json!({"model": "m", "stream": true, "messages": []}),
            );
            let _ = tx.send(answer);
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while api.received().is_empty() {
            assert!(Instant::now() < deadline, "the request never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "a held answer came before its release"
        );
        api.release();
        let answer = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the answer after the release");
        assert!(answer.contains("data: [DONE]"), "{answer}");
    }
}
