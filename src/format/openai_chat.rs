//! OpenAI Chat Completions: `POST /v1/chat/completions`, JSON and `data:` chunks ending in
//! `[DONE]`. Most API-key providers speak it, so it is also the most common upstream.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::codec::{
    Blocks, Key, StreamDecoder, StreamEncoder, Tally, event_json, reported_error, sse,
};
use super::counts::{Count, Lenient, WireUsage, usage_of};
use super::ir::*;
use super::json::{
    arguments_text, into_plain_text, new_id, parse_object, str_of, to_raw, unix_now,
    with_raw_fields,
};
use super::{ClientContext, Decoded, Encoded, FormatError};

#[derive(Deserialize)]
struct ChatRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    tools: Vec<ToolIn>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    stop: Option<Value>,
    seed: Option<i64>,
    reasoning_effort: Option<String>,
    response_format: Option<FormatIn>,
    user: Option<String>,
    prompt_cache_key: Option<String>,
    stream: Option<bool>,
    stream_options: Option<Value>,
    presence_penalty: Option<Value>,
    frequency_penalty: Option<Value>,
    logit_bias: Option<Value>,
    logprobs: Option<Value>,
    n: Option<u64>,
}

#[derive(Deserialize)]
struct ToolIn {
    #[serde(rename = "type")]
    kind: String,
    function: Option<FunctionIn>,
}

#[derive(Deserialize)]
struct FunctionIn {
    name: String,
    description: Option<String>,
    parameters: Option<Box<RawValue>>,
    strict: Option<bool>,
}

#[derive(Deserialize)]
struct FormatIn {
    #[serde(rename = "type")]
    kind: String,
    json_schema: Option<SchemaIn>,
}

#[derive(Deserialize)]
struct SchemaIn {
    name: Option<String>,
    schema: Option<Box<RawValue>>,
    strict: Option<bool>,
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, FormatError> {
    let r: ChatRequest = parse_object(body)?;
    let model = r
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| FormatError::at("model", "you must provide a model parameter"))?;
    let mut dropped = Vec::new();
    for (name, present) in [
        ("presence_penalty", r.presence_penalty.is_some()),
        ("frequency_penalty", r.frequency_penalty.is_some()),
        ("logit_bias", r.logit_bias.is_some()),
        ("logprobs", r.logprobs.is_some()),
    ] {
        if present {
            dropped.push(name.to_owned());
        }
    }
    if r.n.is_some_and(|n| n > 1) {
        return Err(FormatError::at(
            "n",
            "n > 1 can only be served by an OpenAI Chat provider; this model is served in another format",
        ));
    }
    let mut req = Request {
        model: model.clone(),
        max_tokens: r.max_completion_tokens.or(r.max_tokens),
        temperature: r.temperature,
        top_p: r.top_p,
        top_k: r.top_k,
        seed: r.seed,
        user: r.user,
        prompt_cache_key: r.prompt_cache_key,
        stream: r.stream.unwrap_or(false),
        parallel_tool_calls: r.parallel_tool_calls,
        stop: match r.stop {
            Some(Value::String(s)) => vec![s],
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        },
        reasoning: r.reasoning_effort.map(|e| Reasoning {
            disabled: e == "none",
            effort: Some(e),
            ..Default::default()
        }),
        ..Default::default()
    };
    decode_messages(r.messages, &mut req)?;
    for (i, tool) in r.tools.into_iter().enumerate() {
        match (tool.kind.as_str(), tool.function) {
            ("function", Some(f)) => req.tools.push(Tool::Function(FunctionTool {
                name: f.name,
                description: f.description,
                parameters: f.parameters.unwrap_or_else(empty_schema),
                strict: f.strict,
                cache: false,
            })),
            (kind, _) => {
                return Err(FormatError::untranslatable(
                    format!("tools[{i}]"),
                    format_args!("tool type '{kind}'"),
                ));
            }
        }
    }
    req.tool_choice = match r.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            other => {
                return Err(FormatError::at(
                    "tool_choice",
                    format!("unknown tool_choice '{other}'"),
                ));
            }
        },
        Some(v) => match v.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(ToolChoice::Function(name.to_owned())),
            None => {
                return Err(FormatError::at(
                    "tool_choice",
                    "tool_choice must be a string or name a function",
                ));
            }
        },
    };
    req.response_format = match r.response_format {
        None => None,
        Some(f) => match f.kind.as_str() {
            "text" => None,
            "json_object" => Some(ResponseFormat::JsonObject),
            "json_schema" => {
                let s = f.json_schema.ok_or_else(|| {
                    FormatError::at("response_format.json_schema", "json_schema is required")
                })?;
                Some(ResponseFormat::JsonSchema {
                    name: s.name.unwrap_or_else(|| "response".into()),
                    schema: s.schema.unwrap_or_else(empty_schema),
                    strict: s.strict,
                })
            }
            other => {
                return Err(FormatError::at(
                    "response_format.type",
                    format!("unknown response_format type '{other}'"),
                ));
            }
        },
    };
    let include_usage = r
        .stream_options
        .as_ref()
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Decoded {
        request: req,
        context: ClientContext {
            model,
            include_usage,
            dropped,
            ..Default::default()
        },
    })
}

fn decode_messages(messages: Vec<Value>, req: &mut Request) -> Result<(), FormatError> {
    let mut leading = true;
    for (i, mut m) in messages.into_iter().enumerate() {
        // Taken out, not cloned: histories are most of a request's bytes.
        let content = m
            .as_object_mut()
            .and_then(|o| o.shift_remove("content"))
            .unwrap_or(Value::Null);
        let role = str_of(&m, "role").unwrap_or_default();
        match role {
            "system" | "developer" => {
                let text = into_plain_text(content);
                if leading {
                    req.system.push(TextBlock { text, cache: false });
                } else {
                    req.messages.push(Message {
                        role: Role::System,
                        parts: vec![Part::text(text)],
                    });
                }
            }
            "user" => {
                leading = false;
                let parts = decode_user_content(content, i)?;
                req.messages.push(Message {
                    role: Role::User,
                    parts,
                });
            }
            "assistant" => {
                leading = false;
                req.messages.push(Message {
                    role: Role::Assistant,
                    parts: assistant_parts(&m, content),
                });
            }
            "tool" | "function" => {
                leading = false;
                let result = Part::ToolResult(ToolResult {
                    call_id: str_of(&m, "tool_call_id")
                        .or_else(|| str_of(&m, "name"))
                        .unwrap_or_default()
                        .to_owned(),
                    name: str_of(&m, "name").map(str::to_owned),
                    content: vec![Part::text(into_plain_text(content))],
                    is_error: false,
                });
                // Consecutive tool answers belong to one user turn in the other APIs.
                match req.messages.last_mut() {
                    Some(last)
                        if last.role == Role::User
                            && last.parts.iter().all(|p| matches!(p, Part::ToolResult(_))) =>
                    {
                        last.parts.push(result)
                    }
                    _ => req.messages.push(Message {
                        role: Role::User,
                        parts: vec![result],
                    }),
                }
            }
            other => {
                return Err(FormatError::at(
                    format!("messages[{i}].role"),
                    format!("unknown role '{other}'"),
                ));
            }
        }
    }
    Ok(())
}

/// An assistant message's parts, the same in a request's history and in an answer:
/// reasoning (`reasoning_content`, or `reasoning` as some providers name it), text, tool calls.
fn assistant_parts(m: &Value, content: Value) -> Vec<Part> {
    let mut parts = Vec::new();
    let reasoning = str_of(m, "reasoning_content").or_else(|| str_of(m, "reasoning"));
    if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
        parts.push(Part::Thinking(Thinking {
            text: text.to_owned(),
            signature: None,
        }));
    }
    let text = into_plain_text(content);
    if !text.is_empty() {
        parts.push(Part::text(text));
    }
    for c in m
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        parts.push(Part::ToolCall(ToolCall {
            id: str_of(c, "id").unwrap_or_default().to_owned(),
            name: c
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            arguments: arguments_text(c.pointer("/function/arguments")),
            signature: None,
        }));
    }
    parts
}

fn decode_user_content(content: Value, i: usize) -> Result<Vec<Part>, FormatError> {
    let Value::Array(items) = content else {
        return Ok(vec![Part::text(into_plain_text(content))]);
    };
    let mut parts = Vec::new();
    for (j, item) in items.iter().enumerate() {
        match str_of(item, "type").unwrap_or("text") {
            "text" => parts.push(Part::text(str_of(item, "text").unwrap_or_default())),
            "image_url" => {
                let url = item
                    .pointer("/image_url/url")
                    .or_else(|| item.get("image_url"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                parts.push(Part::Image(Media::from_url(url)));
            }
            "file" => {
                let data = item.pointer("/file/file_data").and_then(Value::as_str);
                match data {
                    Some(d) => parts.push(Part::Document(Media::from_url(d))),
                    None => {
                        return Err(FormatError::at(
                            format!("messages[{i}].content[{j}]"),
                            "only inline files (file_data) can be sent to this model's provider",
                        ));
                    }
                }
            }
            other => {
                return Err(FormatError::untranslatable(
                    format!("messages[{i}].content[{j}].type"),
                    format_args!("content type '{other}'"),
                ));
            }
        }
    }
    Ok(parts)
}

#[derive(Serialize)]
struct ToolOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict: Option<bool>,
}

/// Reasoning models take `max_completion_tokens` and refuse `max_tokens`.
fn takes_completion_tokens(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m.starts_with(p))
}

pub fn encode_request(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    let mut dropped = Vec::new();
    let mut messages = Vec::new();
    let system: Vec<&str> = req.system.iter().map(|b| b.text.as_str()).collect();
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system.join("\n\n")}));
    }
    for m in &req.messages {
        encode_message(m, &mut messages)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), Value::Array(messages));
    if let Some(n) = req.max_tokens {
        let field = if takes_completion_tokens(model) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(field.into(), n.into());
    }
    put_opt(&mut body, "temperature", req.temperature);
    put_opt(&mut body, "top_p", req.top_p);
    put_opt(&mut body, "seed", req.seed);
    if req.top_k.is_some() {
        dropped.push("top_k".into());
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), user.clone().into());
    }
    if let Some(key) = &req.prompt_cache_key {
        body.insert("prompt_cache_key".into(), key.clone().into());
    }
    if let Some(r) = &req.reasoning {
        if r.disabled {
            body.insert("reasoning_effort".into(), "none".into());
        } else if !r.adaptive || r.effort.is_some() {
            body.insert("reasoning_effort".into(), r.effort_or_default().into());
        }
    }
    match &req.response_format {
        None => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            let schema: Value = serde_json::from_str(schema.get()).unwrap_or(Value::Null);
            let mut s = json!({"name": name, "schema": schema});
            if let Some(strict) = strict {
                s["strict"] = (*strict).into();
            }
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": s}),
            );
        }
    }
    if req.stream {
        body.insert("stream".into(), true.into());
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let mut tools = Vec::new();
    for t in &req.tools {
        match t {
            Tool::Function(f) => tools.push(ToolOut {
                kind: "function",
                function: FunctionOut {
                    name: &f.name,
                    description: f.description.as_deref(),
                    parameters: &f.parameters,
                    strict: f.strict,
                },
            }),
            Tool::WebSearch => {
                if req.tool_choice == Some(ToolChoice::Function("web_search".into())) {
                    return Err(FormatError::at(
                        "tool_choice",
                        "the web_search tool is required but OpenAI Chat providers have no equivalent",
                    ));
                }
                dropped.push("tools.web_search".into());
            }
        }
    }
    let mut raws = Vec::new();
    if !tools.is_empty() {
        raws.push(("tools", to_raw(&tools)));
        if let Some(choice) = &req.tool_choice {
            body.insert(
                "tool_choice".into(),
                match choice {
                    ToolChoice::Auto => "auto".into(),
                    ToolChoice::None => "none".into(),
                    ToolChoice::Required => "required".into(),
                    ToolChoice::Function(name) => {
                        json!({"type": "function", "function": {"name": name}})
                    }
                },
            );
        }
        if let Some(p) = req.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), p.into());
        }
    }
    Ok(Encoded {
        body: with_raw_fields(&body, &raws),
        dropped,
    })
}

fn put_opt<T: Into<Value>>(body: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        body.insert(key.into(), v.into());
    }
}

fn encode_message(m: &Message, out: &mut Vec<Value>) -> Result<(), FormatError> {
    match m.role {
        Role::System => {
            out.push(json!({"role": "system", "content": text_of(&m.parts)}));
        }
        Role::User => {
            let mut content = Vec::new();
            for p in &m.parts {
                match p {
                    Part::ToolResult(r) => out.push(json!({
                        "role": "tool",
                        "tool_call_id": r.call_id,
                        "content": if r.is_error { format!("Error: {}", r.text()) } else { r.text() },
                    })),
                    Part::Text { text, .. } => content.push(json!({"type": "text", "text": text})),
                    Part::Image(media) => content
                        .push(json!({"type": "image_url", "image_url": {"url": media.to_url()}})),
                    Part::Document(Media::Base64 { media_type, data }) => content.push(json!({
                        "type": "file",
                        "file": {"file_data": format!("data:{media_type};base64,{data}"), "filename": "document"},
                    })),
                    Part::Document(Media::Url { .. }) => {
                        return Err(FormatError::new(
                            "documents given by URL cannot be sent to an OpenAI Chat provider",
                        ));
                    }
                    _ => {}
                }
            }
            if content.is_empty() {
                return Ok(());
            }
            let all_text = content.iter().all(|c| c["type"] == "text");
            let content = if all_text {
                Value::String(text_of(&m.parts))
            } else {
                Value::Array(content)
            };
            out.push(json!({"role": "user", "content": content}));
        }
        Role::Assistant => {
            let mut msg = json!({"role": "assistant"});
            let text = text_of(&m.parts);
            msg["content"] = if text.is_empty() {
                Value::Null
            } else {
                text.into()
            };
            let calls: Vec<Value> = m
                .parts
                .iter()
                .filter_map(|p| match p {
                    Part::ToolCall(c) => Some(json!({
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    })),
                    _ => None,
                })
                .collect();
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            out.push(msg);
        }
    }
    Ok(())
}

fn finish_from(reason: &str) -> Finish {
    match reason {
        "length" => Finish::Length,
        "tool_calls" | "function_call" => Finish::ToolUse,
        "content_filter" => Finish::ContentFilter,
        _ => Finish::Stop,
    }
}

fn finish_name(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "length",
        Finish::ToolUse => "tool_calls",
        Finish::ContentFilter | Finish::Refusal => "content_filter",
        _ => "stop",
    }
}

/// Chat Completions' usage object.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UsageObject {
    prompt_tokens: Count,
    completion_tokens: Count,
    prompt_tokens_details: Lenient<PromptDetails>,
    completion_tokens_details: Lenient<CompletionDetails>,
    /// DeepSeek's name for the cached part of the prompt.
    prompt_cache_hit_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PromptDetails {
    cached_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionDetails {
    reasoning_tokens: Count,
}

impl WireUsage for UsageObject {
    fn counts(&self) -> Usage {
        let cached = (self.prompt_tokens_details.0.cached_tokens.0)
            .or(self.prompt_cache_hit_tokens.0)
            .unwrap_or(0);
        Usage {
            input: self.prompt_tokens.or_zero().saturating_sub(cached),
            cache_read: cached,
            cache_write: 0,
            output: self.completion_tokens.or_zero(),
            reasoning: self.completion_tokens_details.0.reasoning_tokens.or_zero(),
        }
    }
}

pub(crate) fn usage_from(u: &Value) -> Usage {
    usage_of::<UsageObject>(u)
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_total(),
        "completion_tokens": u.output,
        "total_tokens": u.prompt_total() + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning},
    })
}

pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let choice = v.pointer("/choices/0").ok_or("the answer has no choices")?;
    let msg = choice.get("message").unwrap_or(&Value::Null);
    let parts = assistant_parts(msg, msg.get("content").cloned().unwrap_or(Value::Null));
    let mut finish = finish_from(str_of(choice, "finish_reason").unwrap_or("stop"));
    if str_of(msg, "refusal").is_some_and(|r| !r.is_empty()) {
        finish = Finish::Refusal;
    }
    Ok(Response {
        id: str_of(&v, "id").unwrap_or_default().to_owned(),
        model: str_of(&v, "model").unwrap_or_default().to_owned(),
        parts,
        finish,
        usage: v.get("usage").map(usage_from).unwrap_or_default(),
    })
}

pub fn encode_response(r: &Response, ctx: &ClientContext) -> Vec<u8> {
    let mut msg = json!({"role": "assistant"});
    let text = text_of(&r.parts);
    msg["content"] = if text.is_empty() && has_calls(&r.parts) {
        Value::Null
    } else {
        text.into()
    };
    let thinking: String = r
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Thinking(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect();
    if !thinking.is_empty() {
        msg["reasoning_content"] = thinking.into();
    }
    let calls: Vec<Value> = r
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(json!({
                "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })),
            _ => None,
        })
        .collect();
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    let body = json!({
        "id": chat_id(&r.id),
        "object": "chat.completion",
        "created": unix_now(),
        "model": ctx.model,
        "choices": [{"index": 0, "message": msg, "logprobs": null, "finish_reason": finish_name(&r.finish)}],
        "usage": usage_json(&r.usage),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn has_calls(parts: &[Part]) -> bool {
    parts.iter().any(|p| matches!(p, Part::ToolCall(_)))
}

fn chat_id(id: &str) -> String {
    if id.starts_with("chatcmpl") {
        id.to_owned()
    } else {
        new_id("chatcmpl-")
    }
}

/// Reads Chat Completions chunks.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    blocks: Blocks,
    done: bool,
    finished: bool,
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let v: Value = event_json(data)?;
        if let Some(e) = v.get("error") {
            return Err(reported_error(str_of(e, "message")));
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: str_of(&v, "id").unwrap_or_default().to_owned(),
                model: str_of(&v, "model").unwrap_or_default().to_owned(),
            });
        }
        if let Some(choice) = v.pointer("/choices/0") {
            let delta = choice.get("delta").cloned().unwrap_or(Value::Null);
            if let Some(t) =
                str_of(&delta, "reasoning_content").or_else(|| str_of(&delta, "reasoning"))
            {
                self.blocks.thinking(t.to_owned(), out);
            }
            if let Some(t) = str_of(&delta, "content") {
                self.blocks.text(t.to_owned(), out);
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for c in calls {
                    let n = c.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let key = Key::Tool(n);
                    let index = if self.blocks.is_open(&key) {
                        self.blocks.index_for(key, || Block::Text, out)
                    } else {
                        let id = str_of(c, "id")
                            .map(str::to_owned)
                            .unwrap_or_else(|| new_id("call_"));
                        let name = c
                            .pointer("/function/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        self.blocks
                            .index_for(key, || Block::ToolCall { id, name }, out)
                    };
                    if let Some(args) = c
                        .pointer("/function/arguments")
                        .and_then(Value::as_str)
                        .filter(|a| !a.is_empty())
                    {
                        out.push(Event::Delta {
                            index,
                            delta: Delta::Arguments(args.to_owned()),
                        });
                    }
                }
            }
            if let Some(reason) = str_of(choice, "finish_reason") {
                self.blocks.close(out);
                self.finished = true;
                out.push(Event::Finish(finish_from(reason)));
            }
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            out.push(Event::Usage(usage_from(u)));
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.done || self.finished
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        self.blocks.close(out);
    }
}

/// Writes Chat Completions chunks.
pub struct Encoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    tools: Vec<usize>,
    tally: Tally,
    started: bool,
}

impl Encoder {
    pub fn new(ctx: &ClientContext) -> Self {
        Self {
            id: new_id("chatcmpl-"),
            model: ctx.model.clone(),
            created: unix_now(),
            include_usage: ctx.include_usage,
            tools: Vec::new(),
            tally: Tally::default(),
            started: false,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
        let body = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        sse(out, None, &body);
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.chunk(json!({"role": "assistant", "content": ""}), None, out);
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.tally.note(event);
        match event {
            Event::Start { .. } => self.ensure_started(out),
            Event::BlockStart {
                index,
                block: Block::ToolCall { id, name },
            } => {
                self.ensure_started(out);
                self.tools.push(*index);
                let k = self.tools.len() - 1;
                self.chunk(
                    json!({"tool_calls": [{"index": k, "id": id, "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    None,
                    out,
                );
            }
            Event::Delta { index, delta } => {
                self.ensure_started(out);
                match delta {
                    Delta::Text(t) => self.chunk(json!({"content": t}), None, out),
                    Delta::Thinking(t) => self.chunk(json!({"reasoning_content": t}), None, out),
                    Delta::Arguments(a) => {
                        if let Some(k) = self.tools.iter().position(|i| i == index) {
                            self.chunk(
                                json!({"tool_calls": [{"index": k, "function": {"arguments": a}}]}),
                                None,
                                out,
                            );
                        }
                    }
                    Delta::Signature(_) => {}
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.ensure_started(out);
        let finish = match &self.tally.finish {
            Some(Finish::Stop) | None if !self.tools.is_empty() => Finish::ToolUse,
            Some(f) => f.clone(),
            None => Finish::Stop,
        };
        let usage = usage_json(&self.tally.usage);
        let mut last = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": finish_name(&finish)}],
        });
        if self.include_usage {
            sse(out, None, &last);
            let usage_chunk = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": [], "usage": usage,
            });
            sse(out, None, &usage_chunk);
        } else {
            last["usage"] = usage;
            sse(out, None, &last);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&error_event(message));
    }
}

/// The stream error OpenAI's SDKs raise as an API error.
pub fn error_event(message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    sse(
        &mut out,
        None,
        &json!({"error": {"message": message, "type": "upstream_error", "param": null, "code": "stream_interrupted"}}),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_request_decodes_into_the_canonical_form() {
        let body = br#"{"model":"m","messages":[
            {"role":"system","content":"be brief"},
            {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"ok"},
            {"role":"developer","content":"later rule"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
            "tool_choice":"required","max_completion_tokens":9,"stop":"X","reasoning_effort":"low",
            "stream":true,"stream_options":{"include_usage":true},"presence_penalty":1}"#;
        let d = decode_request(body).unwrap();
        let r = d.request;
        assert_eq!(r.system[0].text, "be brief");
        assert_eq!(r.messages.len(), 4);
        assert!(matches!(
            r.messages[0].parts[1],
            Part::Image(Media::Base64 { .. })
        ));
        assert!(matches!(&r.messages[2].parts[0], Part::ToolResult(t) if t.call_id == "c1"));
        assert_eq!(r.messages[3].role, Role::System);
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert_eq!(r.max_tokens, Some(9));
        assert_eq!(r.stop, vec!["X"]);
        assert_eq!(r.reasoning.unwrap().effort.as_deref(), Some("low"));
        assert!(d.context.include_usage);
        assert_eq!(d.context.dropped, vec!["presence_penalty"]);
    }

    #[test]
    fn encode_then_decode_is_stable() {
        let body = br#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"},
            {"role":"assistant","content":"a","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"r"}],
            "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}],
            "temperature":0.5,"seed":3}"#;
        let first = decode_request(body).unwrap().request;
        let encoded = encode_request(&first, "m").unwrap();
        let second = decode_request(&encoded.body).unwrap().request;
        assert_eq!(first, second);
    }

    #[test]
    fn golden_encoding_of_a_tool_turn() {
        let req = Request {
            model: "x".into(),
            system: vec![TextBlock {
                text: "sys".into(),
                cache: true,
            }],
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::text("hi")],
            }],
            max_tokens: Some(10),
            ..Default::default()
        };
        let e = encode_request(&req, "gpt-4o").unwrap();
        assert_eq!(
            String::from_utf8(e.body).unwrap(),
            r#"{"model":"gpt-4o","messages":[{"role":"system","content":"sys"},{"role":"user","content":"hi"}],"max_tokens":10}"#
        );
        let e = encode_request(&req, "o3").unwrap();
        assert!(
            String::from_utf8(e.body)
                .unwrap()
                .contains("max_completion_tokens")
        );
    }

    #[test]
    fn stream_chunks_decode_to_blocks_with_usage() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for data in [
            r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"th"}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{\"a\""}}]}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}"#,
            r#"{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            r#"{"id":"c","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"#,
            "[DONE]",
        ] {
            d.feed(data, &mut out).unwrap();
        }
        assert!(d.is_complete());
        let mut agg = super::super::codec::Aggregator::default();
        for e in out {
            agg.push(e);
        }
        let r = agg.finish();
        assert_eq!(r.parts.len(), 3);
        assert!(matches!(&r.parts[2], Part::ToolCall(c) if c.arguments == r#"{"a":1}"#));
        assert_eq!(r.finish, Finish::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input: 6,
                cache_read: 4,
                cache_write: 0,
                output: 5,
                reasoning: 2
            }
        );
    }
}
