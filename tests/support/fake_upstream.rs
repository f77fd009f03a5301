//! A fake provider that speaks all four provider wire formats (OpenAI Chat, Responses,
//! Anthropic Messages, Gemini) on loopback, with answers written out the way each real API
//! sends them: its JSON bodies, its SSE event names and order, its usage fields, its errors.
//! Every request is recorded for assertions.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// What the fake model answers.
#[derive(Clone, Debug)]
pub struct Script {
    pub thinking: Option<String>,
    pub text: String,
    /// A tool call (name, arguments JSON) after the text.
    pub tool: Option<(String, String)>,
    /// Answer every request with this status and the format's error body instead.
    pub error: Option<(u16, String)>,
    /// Answer with SSE even when the request did not ask for a stream.
    pub always_stream: bool,
    /// Stop a stream after this many events without its terminal event.
    pub cut_after: Option<usize>,
    /// Wait this long before each stream event.
    pub event_delay_ms: u64,
    /// Extra headers on every answer (rate-limit headers, say).
    pub headers: Vec<(&'static str, String)>,
    /// OpenRouter's `GET /key` answer; `None` answers 401 the way OpenRouter does.
    pub key_info: Option<Value>,
    /// Anthropic: cache prompts the way the real API does, at `cache_control` breakpoints
    /// (written the first time a prefix is seen, read after), and report it in the usage.
    pub prompt_cache: bool,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            thinking: Some("Let me think.".into()),
            text: "Hello from the fake.".into(),
            tool: None,
            error: None,
            always_stream: false,
            cut_after: None,
            event_delay_ms: 0,
            headers: Vec::new(),
            key_info: None,
            prompt_cache: false,
        }
    }
}

impl Script {
    /// Every answer says the minute's requests are used up, resetting in 30 s (OpenAI's
    /// rate-limit headers).
    pub fn minute_used_up() -> Self {
        Self {
            headers: vec![
                ("x-ratelimit-limit-requests", "2".into()),
                ("x-ratelimit-remaining-requests", "0".into()),
                ("x-ratelimit-reset-requests", "30s".into()),
            ],
            ..Self::default()
        }
    }
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

/// Token counts every answer reports.
pub const INPUT: u64 = 120;
pub const CACHED: u64 = 20;
pub const OUTPUT: u64 = 40;
pub const REASONING: u64 = 8;

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Cached prompt prefixes (their text) and their sizes in tokens.
    cache: Arc<Mutex<std::collections::HashMap<String, u64>>>,
}

pub struct FakeUpstream {
    pub addr: std::net::SocketAddr,
    shared: Shared,
}

impl FakeUpstream {
    pub async fn start(script: Script) -> Self {
        let shared = Shared {
            script: Arc::new(Mutex::new(script)),
            seen: Arc::new(Mutex::new(Vec::new())),
            cache: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/responses", post(responses))
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .route("/v1beta/models/{*rest}", post(gemini))
            .route("/v1/key", axum::routing::get(key_info))
            .route("/v1/models", axum::routing::get(model_list))
            .route("/v1beta/models", axum::routing::get(gemini_model_list))
            .fallback(stray)
            .layer(axum::middleware::map_response_with_state(
                shared.clone(),
                extra_headers,
            ))
            .with_state(shared.clone());
        let addr = super::serve_on_loopback(app).await;
        Self { addr, shared }
    }

    /// The base URL as each SDK takes it: OpenAI-style with `/v1`.
    pub fn openai_base(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Anthropic and Gemini base URLs carry no version.
    pub fn root(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Router config with one account per format, all on this fake: `fchat/…` (OpenAI Chat
    /// node), `fresp/…` (Responses node), `fanth/…` (Anthropic node) and `gemini/…` (the
    /// registry's Gemini row with its base URL overridden). `head` goes first.
    pub fn four_formats_config(&self, head: &str) -> String {
        format!(
            r#"{head}
[[provider]]
provider = "openai-compatible"
name = "chat"
prefix = "fchat"
base_url = "{openai}"
api_key = "k-chat"

[[provider]]
provider = "openai-responses"
name = "resp"
prefix = "fresp"
base_url = "{openai}"
api_key = "k-resp"

[[provider]]
provider = "anthropic-compatible"
name = "anth"
prefix = "fanth"
base_url = "{root}"
api_key = "k-anth-secret"

[[provider]]
provider = "gemini"
name = "gem"
base_url = "{root}"
api_key = "k-gem"
"#,
            openai = self.openai_base(),
            root = self.root(),
        )
    }

    pub fn set(&self, script: Script) {
        *self.shared.script.lock().unwrap() = script;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Seen {
        self.seen().pop().expect("the fake saw a request")
    }
}

/// Any other path: recorded (a request that lands here went somewhere it should not), 404.
async fn stray(State(s): State<Shared>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Response {
    record(&s, &uri.to_string(), &headers, &raw);
    json_response(404, json!({"error": {"message": "no such path (fake)"}}))
}

fn record(s: &Shared, path: &str, headers: &HeaderMap, raw: &Bytes) -> (Script, Value) {
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    s.seen.lock().unwrap().push(Seen {
        path: path.to_owned(),
        headers: headers.clone(),
        body: body.clone(),
        raw: raw.clone(),
    });
    (s.script.lock().unwrap().clone(), body)
}

fn sse_response(mut events: Vec<String>, script: &Script) -> Response {
    events.truncate(script.cut_after.unwrap_or(events.len()));
    let delay = std::time::Duration::from_millis(script.event_delay_ms);
    if delay.is_zero() {
        return ([("content-type", "text/event-stream")], events.concat()).into_response();
    }
    let paced = futures_util::stream::iter(events).then(move |e| async move {
        tokio::time::sleep(delay).await;
        Ok::<_, std::convert::Infallible>(e)
    });
    (
        [("content-type", "text/event-stream")],
        axum::body::Body::from_stream(paced),
    )
        .into_response()
}

/// Adds the script's extra headers to every answer.
async fn extra_headers(State(s): State<Shared>, mut response: Response) -> Response {
    let extra = s.script.lock().unwrap().headers.clone();
    for (name, value) in extra {
        response
            .headers_mut()
            .insert(name, axum::http::HeaderValue::from_str(&value).unwrap());
    }
    response
}

/// `GET /v1/models`: OpenAI's list, or Anthropic's when the request names an API version.
async fn model_list(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (script, _) = record(&s, "/v1/models", &headers, &Bytes::new());
    if let Some((status, message)) = &script.error {
        return json_response(
            *status,
            json!({"error": {"message": message, "type": "authentication_error"}}),
        );
    }
    if headers.contains_key("anthropic-version") {
        return json_response(
            200,
            json!({"data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
                "created_at": "2025-09-29T00:00:00Z"}], "has_more": false,
                "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"}),
        );
    }
    json_response(
        200,
        json!({"object": "list", "data": [
            {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
            {"id": "gpt-5", "object": "model", "created": 1754425777, "owned_by": "system"}]}),
    )
}

/// Gemini's `GET /v1beta/models`.
async fn gemini_model_list(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (script, _) = record(&s, "/v1beta/models", &headers, &Bytes::new());
    if let Some((status, message)) = &script.error {
        return json_response(
            *status,
            json!({"error": {"code": status, "message": message, "status": "PERMISSION_DENIED"}}),
        );
    }
    json_response(
        200,
        json!({"models": [{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash",
            "supportedGenerationMethods": ["generateContent", "countTokens"]}]}),
    )
}

/// OpenRouter's `GET /api/v1/key`.
async fn key_info(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let (script, _) = record(&s, "/v1/key", &headers, &Bytes::new());
    match script.key_info {
        Some(info) => json_response(200, info),
        None => json_response(
            401,
            json!({"error": {"message": "No auth credentials found", "code": 401}}),
        ),
    }
}

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

fn named(name: &str, v: &Value) -> String {
    format!("event: {name}\ndata: {v}\n\n")
}

fn json_response(status: u16, v: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
}

// ---------------------------------------------------------------- OpenAI Chat Completions

async fn chat(State(s): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    let (script, body) = record(&s, "/v1/chat/completions", &headers, &raw);
    if let Some((status, message)) = &script.error {
        return json_response(
            *status,
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
        );
    }
    let model = body["model"].as_str().unwrap_or("gpt").to_owned();
    let usage = json!({"prompt_tokens": INPUT, "completion_tokens": OUTPUT, "total_tokens": INPUT + OUTPUT,
        "prompt_tokens_details": {"cached_tokens": CACHED}, "completion_tokens_details": {"reasoning_tokens": REASONING}});
    if body["stream"] == true || script.always_stream {
        let chunk = |delta: Value, finish: Value| {
            data(
                &json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
                "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]}),
            )
        };
        let mut ev = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        if let Some(t) = &script.thinking {
            ev.push(chunk(json!({"reasoning_content": t}), Value::Null));
        }
        let (a, b) = script.text.split_at(script.text.len() / 2);
        ev.push(chunk(json!({"content": a}), Value::Null));
        ev.push(chunk(json!({"content": b}), Value::Null));
        let finish = if let Some((name, args)) = &script.tool {
            ev.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_fake1", "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            ));
            let (x, y) = args.split_at(args.len() / 2);
            for part in [x, y] {
                ev.push(chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}),
                    Value::Null,
                ));
            }
            "tool_calls"
        } else {
            "stop"
        };
        ev.push(chunk(json!({}), json!(finish)));
        ev.push(data(
            &json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
            "model": model, "choices": [], "usage": usage}),
        ));
        ev.push("data: [DONE]\n\n".into());
        return sse_response(ev, &script);
    }
    let mut msg = json!({"role": "assistant", "content": script.text, "refusal": null});
    if let Some(t) = &script.thinking {
        msg["reasoning_content"] = t.clone().into();
    }
    let mut finish = "stop";
    if let Some((name, args)) = &script.tool {
        msg["tool_calls"] = json!([{"id": "call_fake1", "type": "function", "function": {"name": name, "arguments": args}}]);
        finish = "tool_calls";
    }
    json_response(
        200,
        json!({"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": null, "finish_reason": finish}], "usage": usage}),
    )
}

// ---------------------------------------------------------------- OpenAI Responses

async fn responses(State(s): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    let (script, body) = record(&s, "/v1/responses", &headers, &raw);
    if let Some((status, message)) = &script.error {
        return json_response(
            *status,
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
        );
    }
    let model = body["model"].as_str().unwrap_or("gpt").to_owned();
    let usage = json!({"input_tokens": INPUT, "input_tokens_details": {"cached_tokens": CACHED},
        "output_tokens": OUTPUT, "output_tokens_details": {"reasoning_tokens": REASONING}, "total_tokens": INPUT + OUTPUT});
    let mut output = Vec::new();
    if let Some(t) = &script.thinking {
        output.push(json!({"id": "rs_fake", "type": "reasoning", "summary": [{"type": "summary_text", "text": t}], "encrypted_content": "ENCRYPTED"}));
    }
    output.push(
        json!({"id": "msg_fake", "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": script.text, "annotations": []}]}),
    );
    if let Some((name, args)) = &script.tool {
        output.push(json!({"id": "fc_fake", "type": "function_call", "status": "completed", "call_id": "call_fake1", "name": name, "arguments": args}));
    }
    // Each answer has an id of its own, as clients continue by it (`previous_response_id`).
    let id = format!("resp_fake_{}", s.seen.lock().unwrap().len());
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": id, "object": "response", "created_at": 1700000000, "status": status,
            "error": null, "incomplete_details": null, "model": model, "output": output, "usage": usage})
    };
    if body["stream"] != true && !script.always_stream {
        return json_response(200, response("completed", json!(output), usage));
    }
    let mut seq = 0;
    let mut ev = Vec::new();
    let mut push = |kind: &str, mut v: Value| {
        v["type"] = kind.into();
        v["sequence_number"] = seq.into();
        seq += 1;
        ev.push(named(kind, &v));
    };
    push(
        "response.created",
        json!({"response": response("in_progress", json!([]), Value::Null)}),
    );
    push(
        "response.in_progress",
        json!({"response": response("in_progress", json!([]), Value::Null)}),
    );
    for (i, item) in output.iter().enumerate() {
        let id = item["id"].as_str().unwrap().to_owned();
        match item["type"].as_str().unwrap() {
            "reasoning" => {
                push(
                    "response.output_item.added",
                    json!({"output_index": i, "item": {"id": id, "type": "reasoning", "summary": []}}),
                );
                push(
                    "response.reasoning_summary_part.added",
                    json!({"item_id": id, "output_index": i, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                );
                let t = item["summary"][0]["text"].as_str().unwrap();
                push(
                    "response.reasoning_summary_text.delta",
                    json!({"item_id": id, "output_index": i, "summary_index": 0, "delta": t}),
                );
                push(
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": i, "summary_index": 0, "text": t}),
                );
                push(
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": i, "summary_index": 0, "part": {"type": "summary_text", "text": t}}),
                );
            }
            "message" => {
                push(
                    "response.output_item.added",
                    json!({"output_index": i, "item": {"id": id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
                );
                push(
                    "response.content_part.added",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
                );
                let t = item["content"][0]["text"].as_str().unwrap();
                let (a, b) = t.split_at(t.len() / 2);
                for d in [a, b] {
                    push(
                        "response.output_text.delta",
                        json!({"item_id": id, "output_index": i, "content_index": 0, "delta": d, "logprobs": []}),
                    );
                }
                push(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "text": t, "logprobs": []}),
                );
                push(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": i, "content_index": 0, "part": {"type": "output_text", "text": t, "annotations": []}}),
                );
            }
            _ => {
                push(
                    "response.output_item.added",
                    json!({"output_index": i, "item": {"id": id, "type": "function_call", "status": "in_progress", "call_id": "call_fake1", "name": item["name"], "arguments": ""}}),
                );
                let args = item["arguments"].as_str().unwrap();
                let (a, b) = args.split_at(args.len() / 2);
                for d in [a, b] {
                    push(
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": i, "delta": d}),
                    );
                }
                push(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": i, "arguments": args}),
                );
            }
        }
        push(
            "response.output_item.done",
            json!({"output_index": i, "item": item}),
        );
    }
    push(
        "response.completed",
        json!({"response": response("completed", json!(output), usage)}),
    );
    sse_response(ev, &script)
}

// ---------------------------------------------------------------- Anthropic Messages

/// Anthropic's prompt cache: the prompt is read in order (tools, system, messages), block by
/// block; a block marked `cache_control` ends a prefix that is written to the cache, and a
/// prefix cached before is read from it. Tokens are counted as 4 bytes each. Returns the
/// uncached input, the tokens written and the tokens read.
fn prompt_cache(s: &Shared, body: &Value) -> (u64, u64, u64) {
    let mut blocks: Vec<&Value> = Vec::new();
    blocks.extend(body["tools"].as_array().into_iter().flatten());
    match &body["system"] {
        Value::Array(b) => blocks.extend(b),
        Value::Null => {}
        other => blocks.push(other),
    }
    for m in body["messages"].as_array().into_iter().flatten() {
        match &m["content"] {
            Value::Array(b) => blocks.extend(b),
            other => blocks.push(other),
        }
    }
    let mut cache = s.cache.lock().unwrap();
    let (mut prefix, mut total, mut read, mut written) = (String::new(), 0u64, 0u64, 0u64);
    for block in blocks {
        let text = block.to_string();
        // The mark itself is not part of what is cached.
        let unmarked = text
            .replace(r#","cache_control":{"type":"ephemeral"}"#, "")
            .replace(r#""cache_control":{"type":"ephemeral"},"#, "");
        prefix.push_str(&unmarked);
        total = (prefix.len() / 4) as u64;
        if block.get("cache_control").is_some() {
            match cache.get(&prefix) {
                Some(&size) => read = read.max(size),
                None => {
                    cache.insert(prefix.clone(), total);
                    written = total;
                }
            }
        }
    }
    let written = written.saturating_sub(read);
    (total.saturating_sub(read + written), written, read)
}

async fn messages(State(s): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    let (script, body) = record(&s, "/v1/messages", &headers, &raw);
    if let Some((status, message)) = &script.error {
        let kind = match status {
            429 => "rate_limit_error",
            401 => "authentication_error",
            529 => "overloaded_error",
            _ => "invalid_request_error",
        };
        return json_response(
            *status,
            json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake"}),
        );
    }
    if body["max_tokens"].as_u64().is_none() {
        return json_response(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}}),
        );
    }
    let model = body["model"].as_str().unwrap_or("claude").to_owned();
    let stop = if script.tool.is_some() {
        "tool_use"
    } else {
        "end_turn"
    };
    let mut content = Vec::new();
    if let Some(t) = &script.thinking {
        content
            .push(json!({"type": "thinking", "thinking": t, "signature": "EqQBCkYIBxgCKkAfake"}));
    }
    content.push(json!({"type": "text", "text": script.text}));
    if let Some((name, args)) = &script.tool {
        let input: Value = serde_json::from_str(args).unwrap();
        content
            .push(json!({"type": "tool_use", "id": "toolu_fake1", "name": name, "input": input}));
    }
    let (input, written, read) = if script.prompt_cache {
        prompt_cache(&s, &body)
    } else {
        (INPUT - CACHED, 0, CACHED)
    };
    let usage = json!({"input_tokens": input, "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read, "output_tokens": OUTPUT});
    if body["stream"] != true && !script.always_stream {
        return json_response(
            200,
            json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage}),
        );
    }
    let mut ev = vec![named(
        "message_start",
        &json!({"type": "message_start", "message": {"id": "msg_fake", "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "cache_creation_input_tokens": written, "cache_read_input_tokens": read, "output_tokens": 1}}}),
    )];
    ev.push(named("ping", &json!({"type": "ping"})));
    for (i, block) in content.iter().enumerate() {
        let (start, deltas) = match block["type"].as_str().unwrap() {
            "thinking" => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                vec![
                    json!({"type": "thinking_delta", "thinking": block["thinking"]}),
                    json!({"type": "signature_delta", "signature": block["signature"]}),
                ],
            ),
            "text" => {
                let t = block["text"].as_str().unwrap();
                let (a, b) = t.split_at(t.len() / 2);
                (
                    json!({"type": "text", "text": ""}),
                    vec![
                        json!({"type": "text_delta", "text": a}),
                        json!({"type": "text_delta", "text": b}),
                    ],
                )
            }
            _ => {
                let args = block["input"].to_string();
                let (a, b) = args.split_at(args.len() / 2);
                (
                    json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                    vec![
                        json!({"type": "input_json_delta", "partial_json": ""}),
                        json!({"type": "input_json_delta", "partial_json": a}),
                        json!({"type": "input_json_delta", "partial_json": b}),
                    ],
                )
            }
        };
        ev.push(named(
            "content_block_start",
            &json!({"type": "content_block_start", "index": i, "content_block": start}),
        ));
        for d in deltas {
            ev.push(named(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": i, "delta": d}),
            ));
        }
        ev.push(named(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": i}),
        ));
    }
    ev.push(named(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
            "usage": {"output_tokens": OUTPUT}}),
    ));
    ev.push(named("message_stop", &json!({"type": "message_stop"})));
    sse_response(ev, &script)
}

async fn count_tokens(State(s): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    record(&s, "/v1/messages/count_tokens", &headers, &raw);
    json_response(200, json!({"input_tokens": 4242}))
}

// ---------------------------------------------------------------- Gemini

async fn gemini(
    State(s): State<Shared>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let path = format!("/v1beta/models/{rest}");
    let (script, _body) = record(&s, &uri.to_string(), &headers, &raw);
    if let Some((status, message)) = &script.error {
        let name = match status {
            429 => "RESOURCE_EXHAUSTED",
            403 => "PERMISSION_DENIED",
            _ => "INVALID_ARGUMENT",
        };
        return json_response(
            *status,
            json!({"error": {"code": status, "message": message, "status": name}}),
        );
    }
    let model = rest.split(':').next().unwrap_or_default().to_owned();
    let usage = json!({"promptTokenCount": INPUT, "candidatesTokenCount": OUTPUT - REASONING,
        "totalTokenCount": INPUT + OUTPUT, "cachedContentTokenCount": CACHED, "thoughtsTokenCount": REASONING});
    let mut parts = Vec::new();
    if let Some(t) = &script.thinking {
        parts.push(json!({"text": t, "thought": true}));
    }
    parts.push(json!({"text": script.text}));
    if let Some((name, args)) = &script.tool {
        let a: Value = serde_json::from_str(args).unwrap();
        parts.push(
            json!({"functionCall": {"name": name, "args": a}, "thoughtSignature": "CiQBfake"}),
        );
    }
    let streaming = path.ends_with(":streamGenerateContent");
    if !streaming && !script.always_stream {
        return json_response(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": model, "responseId": "fake-resp"}),
        );
    }
    let mut ev = Vec::new();
    let last = parts.len() - 1;
    for (i, p) in parts.into_iter().enumerate() {
        let mut chunk = json!({"candidates": [{"content": {"role": "model", "parts": [p]}, "index": 0}],
            "modelVersion": model, "responseId": "fake-resp"});
        if i == last {
            chunk["candidates"][0]["finishReason"] = "STOP".into();
            chunk["usageMetadata"] = usage.clone();
        } else {
            chunk["usageMetadata"] = json!({"promptTokenCount": INPUT, "totalTokenCount": INPUT});
        }
        ev.push(format!("data: {chunk}\r\n\r\n"));
    }
    sse_response(ev, &script)
}
