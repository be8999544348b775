//! The three providers' answers and error bodies on the wire (Anthropic Messages, OpenAI
//! Chat Completions, Ollama `/api/chat`), read into one shape.

use super::provider::ProviderKind;
use super::EXCERPT_CHARS;
use serde::Deserialize;

/// Returns the provider's message from an error body (each provider's JSON shape), else an
/// excerpt of the body, on one line and at most [`EXCERPT_CHARS`] characters.
pub(super) fn error_message(body: &[u8]) -> String {
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
pub(super) struct Answer {
    pub(super) text: String,
    pub(super) model: Option<String>,
    pub(super) input_tokens: Option<u64>,
    pub(super) output_tokens: Option<u64>,
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
pub(super) fn parse_answer(kind: ProviderKind, body: &[u8]) -> Result<Answer, String> {
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
