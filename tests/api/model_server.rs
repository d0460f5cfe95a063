//! A scripted Anthropic Messages API on loopback, for the real Claude Code CLI: it streams SSE
//! answers — a tool call (`Bash`) when the conversation asks for one and has no tool result
//! yet, else a line of text — and keeps every request so that a test can see what Claude sent
//! (the tool result after a decision, the earlier turns after a resume) and what usage it was
//! told. The same server speaks the OpenAI Responses API for Codex CLI and the Gemini API for
//! Gemini CLI.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::common::DEADLINE;

/// The model the server says it is (the price table in the tests prices it).
pub const MODEL: &str = "scripted-model-1";
/// What a conversation says to get a tool call.
pub const ASK_TOOL: &str = "please run the tool";

/// Usage the server reported for one streamed answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
}

#[derive(Default)]
struct Seen {
    /// Every streamed request's body, and the usage answered with its id.
    requests: Vec<(Value, String, Sent)>,
}

#[derive(Clone)]
pub struct ModelServer {
    pub url: String,
    seen: Arc<Mutex<Seen>>,
    /// The shell command the tool call runs.
    command: Arc<String>,
}

impl ModelServer {
    /// The Anthropic Messages API, for Claude Code; its tool call runs `command`.
    pub async fn anthropic(command: &str) -> Self {
        Self::serve(command, Router::new().fallback(answer)).await
    }

    /// The OpenAI Responses API, for Codex CLI.
    pub async fn responses() -> Self {
        Self::serve("", Router::new().fallback(respond)).await
    }

    /// The Gemini API, for Gemini CLI; its tool call runs `command`.
    pub async fn gemini(command: &str) -> Self {
        Self::serve(command, Router::new().fallback(gemini)).await
    }

    async fn serve(command: &str, app: Router<ModelServer>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = ModelServer {
            url,
            seen: Arc::default(),
            command: Arc::new(command.to_owned()),
        };
        let app = app.with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    /// The streamed requests so far: body, message id answered, usage answered.
    pub fn requests(&self) -> Vec<(Value, String, Sent)> {
        self.seen.lock().unwrap().requests.clone()
    }

    /// Waits (with the deadline) for a streamed request whose body satisfies `check`.
    pub async fn wait_request(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some((body, ..)) = self.requests().into_iter().find(|(b, ..)| check(b)) {
                return body;
            }
            assert!(
                start.elapsed() < DEADLINE * 3,
                "the model server never received {what}; it saw {:#?}",
                self.requests()
                    .iter()
                    .map(|(b, ..)| conversation_tail(b))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The tool results in a request's last user message.
pub fn tool_results(body: &Value) -> Vec<Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["type"] == "tool_result")
        .collect()
}

/// The end of a request's conversation (whichever API's shape it has), for failure messages.
fn conversation_tail(body: &Value) -> String {
    let text = [&body["messages"], &body["input"], &body["contents"]]
        .into_iter()
        .find(|v| !v.is_null())
        .unwrap_or(body)
        .to_string();
    let chars: Vec<char> = text.chars().collect();
    chars[chars.len().saturating_sub(300)..].iter().collect()
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

async fn answer(State(server): State<ModelServer>, uri: axum::http::Uri, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let streamed = uri.path().starts_with("/v1/messages")
        && !uri.path().contains("count_tokens")
        && request["stream"] == true;
    if !streamed {
        return ([(header::CONTENT_TYPE, "application/json")], "{}").into_response();
    }
    let conversation = request["messages"].to_string();
    let has_tools = request["tools"].as_array().is_some_and(|t| !t.is_empty());
    let wants_tool =
        has_tools && conversation.contains(ASK_TOOL) && tool_results(&request).is_empty();
    let (id, sent) = {
        let mut seen = server.seen.lock().unwrap();
        let n = seen.requests.len() as i64;
        // Different numbers for every answer, so that a sum proves which were counted.
        let sent = Sent {
            input: 100 + n,
            output: 20 + 3 * n,
            cache_read: 1000 + 10 * n,
            cache_write: 50 + n,
        };
        let id = format!("msg_scripted_{n}");
        seen.requests.push((request.clone(), id.clone(), sent));
        (id, sent)
    };
    let mut out = event(
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant",
            "model": MODEL, "content": [], "stop_reason": null,
            "usage": {"input_tokens": sent.input, "output_tokens": 1,
                      "cache_read_input_tokens": sent.cache_read,
                      "cache_creation_input_tokens": sent.cache_write}}}),
    );
    let stop_reason = if wants_tool {
        out += &event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "tool_use", "id": "toolu_scripted", "name": "Bash", "input": {}}}),
        );
        let input = json!({"command": server.command.as_str(), "description": "scripted"});
        out += &event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
        );
        "tool_use"
    } else {
        out += &event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        );
        out += &event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": "Scripted answer."}}),
        );
        "end_turn"
    };
    out += &event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    );
    out += &event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": stop_reason},
               "usage": {"output_tokens": sent.output}}),
    );
    out += &event("message_stop", json!({"type": "message_stop"}));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        out,
    )
        .into_response()
}

/// The Responses API's answer: every streamed `POST /v1/responses` gets a line of text and a
/// usage different for each answer.
async fn respond(State(server): State<ModelServer>, uri: axum::http::Uri, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !uri.path().ends_with("/responses") || request["stream"] != true {
        return (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"data":[],"models":[]}"#,
        )
            .into_response();
    }
    let (id, sent) = {
        let mut seen = server.seen.lock().unwrap();
        let n = seen.requests.len() as i64;
        let sent = Sent {
            input: 300 + n,
            output: 40 + 7 * n,
            cache_read: 60 + n,
            cache_write: 0,
        };
        let id = format!("resp_scripted_{n}");
        seen.requests.push((request.clone(), id.clone(), sent));
        (id, sent)
    };
    let item_id = format!("msg_{id}");
    let text = "Scripted codex answer.";
    let mut out = event(
        "response.created",
        json!({"type": "response.created", "response": {"id": id}}),
    );
    out += &event(
        "response.output_item.added",
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": {"type": "message", "role": "assistant", "id": item_id, "content": []}}),
    );
    out += &event(
        "response.output_text.delta",
        json!({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
               "content_index": 0, "delta": text}),
    );
    out += &event(
        "response.output_item.done",
        json!({"type": "response.output_item.done", "output_index": 0,
               "item": {"type": "message", "role": "assistant", "id": item_id,
                        "content": [{"type": "output_text", "text": text}]}}),
    );
    // Input tokens include the cached ones, as OpenAI counts them.
    out += &event(
        "response.completed",
        json!({"type": "response.completed", "response": {"id": id, "usage": {
            "input_tokens": sent.input + sent.cache_read,
            "input_tokens_details": {"cached_tokens": sent.cache_read},
            "output_tokens": sent.output, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": sent.input + sent.cache_read + sent.output}}}),
    );
    ([(header::CONTENT_TYPE, "text/event-stream")], out).into_response()
}

/// The function responses in a Gemini request's contents.
pub fn function_responses(body: &Value) -> Vec<Value> {
    body["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.get("functionResponse").cloned())
        .collect()
}

/// The Gemini API's answer: its routing question (`…:generateContent` asking for a complexity
/// score) gets the JSON it wants; every `…:streamGenerateContent` is answered (SSE) with a shell
/// tool call when the conversation asks for one and has no tool response yet, else a line of
/// text — each with its own usage.
async fn gemini(State(server): State<ModelServer>, uri: axum::http::Uri, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let json_answer =
        |v: Value| ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response();
    if uri.path().ends_with(":generateContent") {
        // The router's question: a simple task, in exactly the JSON it asked for.
        let text = json!({"complexity_reasoning": "a scripted turn", "complexity_score": 1});
        return json_answer(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": text.to_string()}]},
                            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 5, "totalTokenCount": 10}}));
    }
    if !uri.path().ends_with(":streamGenerateContent") {
        return json_answer(json!({}));
    }
    let contents = request["contents"].to_string();
    let wants_tool = contents.contains(ASK_TOOL) && function_responses(&request).is_empty();
    let (n, sent) = {
        let mut seen = server.seen.lock().unwrap();
        let n = seen.requests.len() as i64;
        let sent = Sent {
            input: 400 + n,
            output: 30 + 5 * n,
            cache_read: 50 + n,
            cache_write: 0,
        };
        seen.requests.push((request.clone(), n.to_string(), sent));
        (n, sent)
    };
    let part = if wants_tool {
        json!({"functionCall": {"name": "run_shell_command",
            "args": {"command": server.command.as_str(), "description": "write the marker"}}})
    } else {
        json!({"text": format!("Scripted gemini answer {n}.")})
    };
    // Gemini counts cached tokens inside the prompt's.
    let chunk = json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": sent.input + sent.cache_read,
            "cachedContentTokenCount": sent.cache_read,
            "candidatesTokenCount": sent.output,
            "totalTokenCount": sent.input + sent.cache_read + sent.output}});
    (
        [(header::CONTENT_TYPE, "text/event-stream")],
        format!("data: {chunk}\n\n"),
    )
        .into_response()
}
