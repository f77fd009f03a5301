//! Anthropic Messages: `POST /v1/messages`, JSON and named SSE events from `message_start` to
//! `message_stop`. Claude Code speaks it, and so do the Anthropic-format providers.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::codec::{
    StreamDecoder, StreamEncoder, Tally, event_json, reported_error, sse, stop_open,
};
use super::counts::{Count, WireUsage, usage_of};
use super::ir::*;
use super::json::{
    arguments_object, new_id, parse_object, plain_text, str_of, to_raw, with_raw_fields,
};
use super::{ClientContext, Decoded, Encoded, FormatError};

/// The Messages API's version header (the API's behaviour depends on it).
pub static VERSION_HEADER: http::HeaderName = http::HeaderName::from_static("anthropic-version");
/// The Messages API's beta list header.
pub static BETA_HEADER: http::HeaderName = http::HeaderName::from_static("anthropic-beta");
/// Where an Anthropic-format API reads its key.
pub static KEY_HEADER: http::HeaderName = http::HeaderName::from_static("x-api-key");

#[derive(Deserialize)]
struct MessagesRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Value>,
    system: Option<Value>,
    #[serde(default)]
    tools: Vec<ToolIn>,
    tool_choice: Option<Value>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
    thinking: Option<Value>,
    output_config: Option<Value>,
    output_format: Option<Value>,
    metadata: Option<Value>,
    stream: Option<bool>,
    context_management: Option<Value>,
    service_tier: Option<Value>,
}

#[derive(Deserialize)]
struct ToolIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    description: Option<String>,
    input_schema: Option<Box<RawValue>>,
    cache_control: Option<Value>,
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, FormatError> {
    let r: MessagesRequest = parse_object(body)?;
    let model = r
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| FormatError::at("model", "model: Field required"))?;
    let mut dropped = Vec::new();
    if r.context_management.is_some() {
        dropped.push("context_management".to_owned());
    }
    if r.service_tier.is_some() {
        dropped.push("service_tier".to_owned());
    }
    let mut req = Request {
        model: model.clone(),
        max_tokens: r.max_tokens,
        temperature: r.temperature,
        top_p: r.top_p,
        top_k: r.top_k,
        stop: r.stop_sequences,
        stream: r.stream.unwrap_or(false),
        user: r
            .metadata
            .as_ref()
            .and_then(|m| str_of(m, "user_id"))
            .map(str::to_owned),
        ..Default::default()
    };
    match &r.system {
        Some(Value::String(s)) => req.system.push(TextBlock {
            text: s.clone(),
            cache: false,
        }),
        Some(Value::Array(blocks)) => {
            for b in blocks {
                req.system.push(TextBlock {
                    text: str_of(b, "text").unwrap_or_default().to_owned(),
                    cache: b.get("cache_control").is_some(),
                });
            }
        }
        _ => {}
    }
    for (i, m) in r.messages.iter().enumerate() {
        let role = match str_of(m, "role") {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some("system") => Role::System,
            other => {
                return Err(FormatError::at(
                    format!("messages.{i}.role"),
                    format!("unexpected role {:?}", other.unwrap_or("")),
                ));
            }
        };
        let parts = decode_content(m.get("content").unwrap_or(&Value::Null), i)?;
        req.messages.push(Message { role, parts });
    }
    for (i, t) in r.tools.into_iter().enumerate() {
        match t.kind.as_deref() {
            None | Some("custom") => req.tools.push(Tool::Function(FunctionTool {
                name: t.name,
                description: t.description,
                parameters: t.input_schema.unwrap_or_else(empty_schema),
                strict: None,
                cache: t.cache_control.is_some(),
            })),
            Some(k) if k.starts_with("web_search") => req.tools.push(Tool::WebSearch),
            Some(k) => {
                return Err(FormatError::at(
                    format!("tools.{i}"),
                    format!(
                        "the server tool '{}' ({k}) has no equivalent at this model's provider",
                        t.name
                    ),
                ));
            }
        }
    }
    if let Some(tc) = &r.tool_choice {
        req.tool_choice = match str_of(tc, "type") {
            Some("auto") => Some(ToolChoice::Auto),
            Some("any") => Some(ToolChoice::Required),
            Some("none") => Some(ToolChoice::None),
            Some("tool") => Some(ToolChoice::Function(
                str_of(tc, "name").unwrap_or_default().to_owned(),
            )),
            _ => None,
        };
        if tc.get("disable_parallel_tool_use").and_then(Value::as_bool) == Some(true) {
            req.parallel_tool_calls = Some(false);
        }
    }
    let effort = r
        .output_config
        .as_ref()
        .and_then(|o| str_of(o, "effort"))
        .map(str::to_owned);
    req.reasoning = match r.thinking.as_ref().and_then(|t| str_of(t, "type")) {
        Some("enabled") => Some(Reasoning {
            budget_tokens: r
                .thinking
                .as_ref()
                .and_then(|t| t.get("budget_tokens"))
                .and_then(Value::as_u64),
            effort,
            ..Default::default()
        }),
        Some("adaptive") => Some(Reasoning {
            adaptive: true,
            effort,
            ..Default::default()
        }),
        Some("disabled") => Some(Reasoning {
            disabled: true,
            ..Default::default()
        }),
        _ => effort.map(|e| Reasoning {
            effort: Some(e),
            ..Default::default()
        }),
    };
    let format = r
        .output_config
        .as_ref()
        .and_then(|o| o.get("format"))
        .or(r.output_format.as_ref());
    if let Some(f) = format
        && str_of(f, "type") == Some("json_schema")
    {
        let schema = f.get("schema").cloned().unwrap_or(json!({}));
        req.response_format = Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: serde_json::value::to_raw_value(&schema).unwrap_or_else(|_| empty_schema()),
            strict: None,
        });
    }
    Ok(Decoded {
        request: req,
        context: ClientContext {
            model,
            dropped,
            ..Default::default()
        },
    })
}

fn decode_media(source: &Value) -> Option<Media> {
    match str_of(source, "type")? {
        "base64" => Some(Media::Base64 {
            media_type: str_of(source, "media_type").unwrap_or_default().to_owned(),
            data: str_of(source, "data").unwrap_or_default().to_owned(),
        }),
        "url" => Some(Media::Url {
            url: str_of(source, "url")?.to_owned(),
        }),
        "text" => Some(Media::Base64 {
            media_type: "text/plain".into(),
            data: base64_text(str_of(source, "data").unwrap_or_default()),
        }),
        _ => None,
    }
}

fn base64_text(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn decode_content(content: &Value, i: usize) -> Result<Vec<Part>, FormatError> {
    let blocks = match content {
        Value::String(s) => return Ok(vec![Part::text(s.clone())]),
        Value::Array(b) => b,
        _ => return Ok(Vec::new()),
    };
    let mut parts = Vec::with_capacity(blocks.len());
    for (j, b) in blocks.iter().enumerate() {
        let cache = b.get("cache_control").is_some();
        let part = match str_of(b, "type").unwrap_or_default() {
            "text" => Part::Text {
                text: str_of(b, "text").unwrap_or_default().to_owned(),
                cache,
            },
            kind @ ("image" | "document") => {
                let media = b.get("source").and_then(decode_media).ok_or_else(|| {
                    FormatError::at(
                        format!("messages.{i}.content.{j}.source"),
                        "this source type cannot be sent to this model's provider",
                    )
                })?;
                if kind == "image" {
                    Part::Image(media)
                } else {
                    Part::Document(media)
                }
            }
            "tool_use" => Part::ToolCall(ToolCall {
                id: str_of(b, "id").unwrap_or_default().to_owned(),
                name: str_of(b, "name").unwrap_or_default().to_owned(),
                arguments: b.get("input").map_or_else(|| "{}".into(), Value::to_string),
                signature: None,
            }),
            "tool_result" => {
                let content = match b.get("content") {
                    Some(Value::Array(_)) => {
                        decode_content(b.get("content").unwrap_or(&Value::Null), i)?
                    }
                    Some(v) => vec![Part::text(plain_text(v))],
                    None => Vec::new(),
                };
                Part::ToolResult(ToolResult {
                    call_id: str_of(b, "tool_use_id").unwrap_or_default().to_owned(),
                    name: None,
                    content,
                    is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                })
            }
            "thinking" => Part::Thinking(Thinking {
                text: str_of(b, "thinking").unwrap_or_default().to_owned(),
                signature: str_of(b, "signature")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            }),
            "redacted_thinking" => Part::RedactedThinking {
                data: str_of(b, "data").unwrap_or_default().to_owned(),
            },
            // Server tool history (web search calls and results) is the provider's own record.
            "server_tool_use" | "web_search_tool_result" => continue,
            other => {
                return Err(FormatError::untranslatable(
                    format!("messages.{i}.content.{j}.type"),
                    format_args!("content type '{other}'"),
                ));
            }
        };
        parts.push(part);
    }
    Ok(parts)
}

#[derive(Serialize)]
struct ToolOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum AnyToolOut<'a> {
    Function(ToolOut<'a>),
    Server(Value),
}

/// Anthropic requires `max_tokens`; this is what we ask for when the client did not say.
const DEFAULT_MAX_TOKENS: u64 = 8192;

pub fn encode_request(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    encode(req, model, false)
}

/// The same, with prompt-cache breakpoints on the stable prefix of a request whose client
/// marked none (see `caching`): the last tool, the last system block, the last text block.
pub fn encode_request_cached(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    encode(req, model, true)
}

fn encode(req: &Request, model: &str, mark: bool) -> Result<Encoded, FormatError> {
    let mut dropped = Vec::new();
    let mut system: Vec<BlockOut> = req
        .system
        .iter()
        .map(|b| text_block(&b.text, b.cache))
        .collect();
    let mut messages: Vec<MessageOut> = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        if m.role == Role::System {
            // Mid-conversation instructions join the system prompt: the Messages API has no
            // system role inside `messages` outside a beta.
            for p in &m.parts {
                if let Part::Text { text, cache } = p {
                    system.push(text_block(text, *cache));
                }
            }
            continue;
        }
        let content = encode_parts(&m.parts);
        if content.is_empty() {
            continue;
        }
        let role = if m.role == Role::User {
            "user"
        } else {
            "assistant"
        };
        messages.push(MessageOut { role, content });
    }
    if mark {
        let last_text = |blocks: &mut Vec<BlockOut<'_>>| {
            for block in blocks.iter_mut().rev() {
                if let BlockOut::Text { cache_control, .. } = block {
                    *cache_control = Some(Ephemeral {});
                    return true;
                }
            }
            false
        };
        last_text(&mut system);
        for m in messages.iter_mut().rev() {
            if last_text(&mut m.content) {
                break;
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let mut raws = vec![("messages", to_raw(&messages))];
    if matches!(req.response_format, Some(ResponseFormat::JsonObject)) {
        system.push(text_block(
            "Respond with a single JSON object and nothing else.",
            false,
        ));
    }
    if !system.is_empty() {
        raws.push(("system", to_raw(&system)));
    }
    let mut max_tokens = req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    let mut thinking_on = false;
    if let Some(r) = &req.reasoning {
        if r.disabled {
            body.insert("thinking".into(), json!({"type": "disabled"}));
        } else if r.adaptive {
            thinking_on = true;
            body.insert("thinking".into(), json!({"type": "adaptive"}));
            if let Some(e) = &r.effort {
                body.insert("output_config".into(), json!({"effort": e}));
            }
        } else {
            // The budget must be at least 1024 and below max_tokens.
            let budget = r.budget_or_default().max(1024);
            if max_tokens <= budget {
                max_tokens = budget + DEFAULT_MAX_TOKENS.min(budget);
            }
            thinking_on = true;
            body.insert(
                "thinking".into(),
                json!({"type": "enabled", "budget_tokens": budget}),
            );
        }
    }
    body.insert("max_tokens".into(), max_tokens.into());
    if let Some(t) = req.temperature {
        if thinking_on && t != 1.0 {
            dropped.push("temperature".into());
        } else {
            body.insert("temperature".into(), t.into());
        }
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    if let Some(k) = req.top_k {
        if thinking_on {
            dropped.push("top_k".into());
        } else {
            body.insert("top_k".into(), k.into());
        }
    }
    if req.seed.is_some() {
        dropped.push("seed".into());
    }
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(u) = &req.user {
        body.insert("metadata".into(), json!({"user_id": u}));
    }
    if let Some(ResponseFormat::JsonSchema { schema, .. }) = &req.response_format {
        let schema: Value = serde_json::from_str(schema.get()).unwrap_or(json!({}));
        let config = body.entry("output_config").or_insert_with(|| json!({}));
        config["format"] = json!({"type": "json_schema", "schema": schema});
    }
    if req.stream {
        body.insert("stream".into(), true.into());
    }
    let mut tools: Vec<AnyToolOut> = req
        .tools
        .iter()
        .map(|t| match t {
            Tool::Function(f) => AnyToolOut::Function(ToolOut {
                name: &f.name,
                description: f.description.as_deref(),
                input_schema: &f.parameters,
                cache_control: f.cache.then(|| json!({"type": "ephemeral"})),
            }),
            Tool::WebSearch => {
                AnyToolOut::Server(json!({"type": "web_search_20250305", "name": "web_search"}))
            }
        })
        .collect();
    if mark
        && let Some(AnyToolOut::Function(last)) = tools
            .iter_mut()
            .rev()
            .find(|t| matches!(t, AnyToolOut::Function(_)))
    {
        last.cache_control = Some(json!({"type": "ephemeral"}));
    }
    if !tools.is_empty() {
        raws.push(("tools", to_raw(&tools)));
        let mut choice = match &req.tool_choice {
            None | Some(ToolChoice::Auto) => json!({"type": "auto"}),
            Some(ToolChoice::None) => json!({"type": "none"}),
            Some(ToolChoice::Required) => json!({"type": "any"}),
            Some(ToolChoice::Function(name)) => json!({"type": "tool", "name": name}),
        };
        if req.parallel_tool_calls == Some(false) {
            choice["disable_parallel_tool_use"] = true.into();
        }
        if req.tool_choice.is_some() || req.parallel_tool_calls == Some(false) {
            body.insert("tool_choice".into(), choice);
        }
    }
    Ok(Encoded {
        body: with_raw_fields(&body, &raws),
        dropped,
    })
}

/// A request content block, borrowed from the canonical request: agent histories are large,
/// and serializing these directly escapes each text once instead of copying it into values.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Ephemeral>,
    },
    Image {
        source: SourceOut<'a>,
    },
    Document {
        source: SourceOut<'a>,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: ToolResultOut<'a>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "ephemeral")]
struct Ephemeral {}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SourceOut<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

#[derive(Serialize)]
#[serde(untagged)]
enum ToolResultOut<'a> {
    Text(String),
    Blocks(Vec<BlockOut<'a>>),
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Vec<BlockOut<'a>>,
}

fn text_block(text: &str, cache: bool) -> BlockOut<'_> {
    BlockOut::Text {
        text,
        cache_control: cache.then_some(Ephemeral {}),
    }
}

fn media_source(m: &Media) -> SourceOut<'_> {
    match m {
        Media::Base64 { media_type, data } => SourceOut::Base64 { media_type, data },
        Media::Url { url } => SourceOut::Url { url },
    }
}

fn encode_parts(parts: &[Part]) -> Vec<BlockOut<'_>> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        match p {
            Part::Text { text, cache } => {
                if !text.is_empty() {
                    out.push(text_block(text, *cache));
                }
            }
            Part::Image(m) => out.push(BlockOut::Image {
                source: media_source(m),
            }),
            Part::Document(m) => out.push(BlockOut::Document {
                source: media_source(m),
            }),
            // Thinking without Anthropic's signature cannot be replayed to Anthropic.
            Part::Thinking(t) => {
                if let Some(signature) = &t.signature {
                    out.push(BlockOut::Thinking {
                        thinking: &t.text,
                        signature,
                    });
                }
            }
            Part::RedactedThinking { data } => out.push(BlockOut::RedactedThinking { data }),
            Part::ToolCall(c) => out.push(BlockOut::ToolUse {
                id: &c.id,
                name: &c.name,
                input: arguments_object(&c.arguments),
            }),
            Part::ToolResult(r) => {
                let only_text = r.content.iter().all(|p| matches!(p, Part::Text { .. }));
                out.push(BlockOut::ToolResult {
                    tool_use_id: &r.call_id,
                    content: if only_text {
                        ToolResultOut::Text(r.text())
                    } else {
                        ToolResultOut::Blocks(encode_parts(&r.content))
                    },
                    is_error: r.is_error,
                });
            }
        }
    }
    out
}

fn finish_from(reason: Option<&str>, seq: Option<&str>) -> Finish {
    match reason {
        Some("max_tokens") | Some("model_context_window_exceeded") => Finish::Length,
        Some("tool_use") => Finish::ToolUse,
        Some("stop_sequence") => Finish::StopSequence(seq.map(str::to_owned)),
        Some("refusal") => Finish::Refusal,
        Some("pause_turn") => Finish::Pause,
        _ => Finish::Stop,
    }
}

fn finish_name(f: &Finish) -> (&'static str, Option<String>) {
    match f {
        Finish::Length => ("max_tokens", None),
        Finish::ToolUse => ("tool_use", None),
        Finish::StopSequence(s) => ("stop_sequence", s.clone()),
        Finish::Refusal | Finish::ContentFilter => ("refusal", None),
        Finish::Pause => ("pause_turn", None),
        _ => ("end_turn", None),
    }
}

/// The Messages API's usage object.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UsageObject {
    input_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation_input_tokens: Count,
    output_tokens: Count,
}

impl WireUsage for UsageObject {
    fn counts(&self) -> Usage {
        Usage {
            input: self.input_tokens.or_zero(),
            cache_read: self.cache_read_input_tokens.or_zero(),
            cache_write: self.cache_creation_input_tokens.or_zero(),
            output: self.output_tokens.or_zero(),
            reasoning: 0,
        }
    }
}

pub(crate) fn usage_from(u: &Value) -> Usage {
    usage_of::<UsageObject>(u)
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.output,
    })
}

fn decode_output_block(b: &Value) -> Option<Part> {
    Some(match str_of(b, "type")? {
        "text" => Part::text(str_of(b, "text").unwrap_or_default()),
        "thinking" => Part::Thinking(Thinking {
            text: str_of(b, "thinking").unwrap_or_default().to_owned(),
            signature: str_of(b, "signature").map(str::to_owned),
        }),
        "redacted_thinking" => Part::RedactedThinking {
            data: str_of(b, "data").unwrap_or_default().to_owned(),
        },
        "tool_use" => Part::ToolCall(ToolCall {
            id: str_of(b, "id").unwrap_or_default().to_owned(),
            name: str_of(b, "name").unwrap_or_default().to_owned(),
            arguments: b.get("input").map_or_else(|| "{}".into(), Value::to_string),
            signature: None,
        }),
        _ => return None,
    })
}

pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let content = v
        .get("content")
        .and_then(Value::as_array)
        .ok_or("the answer has no content")?;
    Ok(Response {
        id: str_of(&v, "id").unwrap_or_default().to_owned(),
        model: str_of(&v, "model").unwrap_or_default().to_owned(),
        parts: content.iter().filter_map(decode_output_block).collect(),
        finish: finish_from(str_of(&v, "stop_reason"), str_of(&v, "stop_sequence")),
        usage: v.get("usage").map(usage_from).unwrap_or_default(),
    })
}

fn output_block(p: &Part) -> Option<Value> {
    Some(match p {
        Part::Text { text, .. } => json!({"type": "text", "text": text}),
        Part::Thinking(t) => json!({"type": "thinking", "thinking": t.text,
            "signature": t.signature.clone().unwrap_or_default()}),
        Part::RedactedThinking { data } => json!({"type": "redacted_thinking", "data": data}),
        Part::ToolCall(c) => json!({"type": "tool_use", "id": tool_id(&c.id), "name": c.name,
            "input": arguments_object(&c.arguments)}),
        _ => return None,
    })
}

/// Anthropic tool ids match `^[a-zA-Z0-9_-]+$`; other APIs' ids are kept when they fit.
fn tool_id(id: &str) -> String {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        id.to_owned()
    } else {
        new_id("toolu_")
    }
}

fn message_id(id: &str) -> String {
    if id.starts_with("msg_") {
        id.to_owned()
    } else {
        new_id("msg_")
    }
}

pub fn encode_response(r: &Response, ctx: &ClientContext) -> Vec<u8> {
    let (stop, seq) = finish_name(&r.finish);
    let body = json!({
        "id": message_id(&r.id),
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": r.parts.iter().filter_map(output_block).collect::<Vec<_>>(),
        "stop_reason": stop,
        "stop_sequence": seq,
        "usage": usage_json(&r.usage),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Reads Anthropic's SSE events.
#[derive(Default)]
pub struct Decoder {
    /// Upstream block index → canonical index (server tool blocks have none).
    blocks: HashMap<u64, usize>,
    next: usize,
    stopped: bool,
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        let v: Value = event_json(data)?;
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        match str_of(&v, "type").unwrap_or_default() {
            "message_start" => {
                let m = v.get("message").cloned().unwrap_or(Value::Null);
                out.push(Event::Start {
                    id: str_of(&m, "id").unwrap_or_default().to_owned(),
                    model: str_of(&m, "model").unwrap_or_default().to_owned(),
                });
                if let Some(u) = m.get("usage") {
                    out.push(Event::Usage(usage_from(u)));
                }
            }
            "content_block_start" => {
                let b = v.get("content_block").cloned().unwrap_or(Value::Null);
                let block = match str_of(&b, "type").unwrap_or_default() {
                    "text" => Block::Text,
                    "thinking" => Block::Thinking,
                    "redacted_thinking" => Block::RedactedThinking {
                        data: str_of(&b, "data").unwrap_or_default().to_owned(),
                    },
                    "tool_use" => Block::ToolCall {
                        id: str_of(&b, "id").unwrap_or_default().to_owned(),
                        name: str_of(&b, "name").unwrap_or_default().to_owned(),
                    },
                    _ => return Ok(()),
                };
                let canonical = self.next;
                self.next += 1;
                self.blocks.insert(index, canonical);
                out.push(Event::BlockStart {
                    index: canonical,
                    block,
                });
                if let Some(t) = str_of(&b, "text").filter(|t| !t.is_empty()) {
                    out.push(Event::Delta {
                        index: canonical,
                        delta: Delta::Text(t.to_owned()),
                    });
                }
            }
            "content_block_delta" => {
                let Some(&canonical) = self.blocks.get(&index) else {
                    return Ok(());
                };
                let d = v.get("delta").cloned().unwrap_or(Value::Null);
                let delta = match str_of(&d, "type").unwrap_or_default() {
                    "text_delta" => Delta::Text(str_of(&d, "text").unwrap_or_default().into()),
                    "thinking_delta" => {
                        Delta::Thinking(str_of(&d, "thinking").unwrap_or_default().into())
                    }
                    "signature_delta" => {
                        Delta::Signature(str_of(&d, "signature").unwrap_or_default().into())
                    }
                    "input_json_delta" => {
                        Delta::Arguments(str_of(&d, "partial_json").unwrap_or_default().into())
                    }
                    _ => return Ok(()),
                };
                out.push(Event::Delta {
                    index: canonical,
                    delta,
                });
            }
            "content_block_stop" => {
                if let Some(canonical) = self.blocks.remove(&index) {
                    out.push(Event::BlockStop { index: canonical });
                }
            }
            "message_delta" => {
                if let Some(u) = v.get("usage") {
                    out.push(Event::Usage(usage_from(u)));
                }
                let d = v.get("delta").cloned().unwrap_or(Value::Null);
                if let Some(reason) = str_of(&d, "stop_reason") {
                    out.push(Event::Finish(finish_from(
                        Some(reason),
                        str_of(&d, "stop_sequence"),
                    )));
                }
            }
            "message_stop" => self.stopped = true,
            "error" => {
                return Err(reported_error(
                    v.pointer("/error/message").and_then(Value::as_str),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.stopped
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        stop_open(self.blocks.drain().map(|(_, c)| c), out);
    }
}

/// Writes Anthropic's SSE events.
pub struct Encoder {
    model: String,
    started: bool,
    /// Canonical index → the index this stream gave the block.
    open: HashMap<usize, (usize, bool)>,
    next: usize,
    tally: Tally,
}

impl Encoder {
    pub fn new(ctx: &ClientContext) -> Self {
        Self {
            model: ctx.model.clone(),
            started: false,
            open: HashMap::new(),
            next: 0,
            tally: Tally::default(),
        }
    }

    fn start(&mut self, id: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let msg = json!({
            "type": "message_start",
            "message": {
                "id": message_id(id), "type": "message", "role": "assistant", "model": self.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": usage_json(&self.tally.usage),
            }
        });
        sse(out, Some("message_start"), &msg);
    }

    fn stop_all(&mut self, out: &mut Vec<u8>) {
        let mut open: Vec<usize> = self.open.drain().map(|(_, (i, _))| i).collect();
        open.sort_unstable();
        for index in open {
            sse(
                out,
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": index}),
            );
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.tally.note(event);
        match event {
            Event::Start { id, .. } => self.start(id, out),
            Event::BlockStart { index, block } => {
                self.start("", out);
                let (content_block, is_thinking) = match block {
                    Block::Text => (json!({"type": "text", "text": ""}), false),
                    Block::Thinking => (
                        json!({"type": "thinking", "thinking": "", "signature": ""}),
                        true,
                    ),
                    Block::RedactedThinking { data } => {
                        (json!({"type": "redacted_thinking", "data": data}), false)
                    }
                    Block::ToolCall { id, name } => (
                        json!({"type": "tool_use", "id": tool_id(id), "name": name, "input": {}}),
                        false,
                    ),
                };
                let mine = self.next;
                self.next += 1;
                self.open.insert(*index, (mine, is_thinking));
                sse(
                    out,
                    Some("content_block_start"),
                    &json!({"type": "content_block_start", "index": mine, "content_block": content_block}),
                );
            }
            Event::Delta { index, delta } => {
                let Some(&(mine, is_thinking)) = self.open.get(index) else {
                    return;
                };
                let d = match delta {
                    Delta::Text(t) => json!({"type": "text_delta", "text": t}),
                    Delta::Thinking(t) => json!({"type": "thinking_delta", "thinking": t}),
                    Delta::Signature(s) if is_thinking => {
                        json!({"type": "signature_delta", "signature": s})
                    }
                    Delta::Signature(_) => return,
                    Delta::Arguments(a) => json!({"type": "input_json_delta", "partial_json": a}),
                };
                sse(
                    out,
                    Some("content_block_delta"),
                    &json!({"type": "content_block_delta", "index": mine, "delta": d}),
                );
            }
            Event::BlockStop { index } => {
                if let Some((mine, _)) = self.open.remove(index) {
                    sse(
                        out,
                        Some("content_block_stop"),
                        &json!({"type": "content_block_stop", "index": mine}),
                    );
                }
            }
            Event::Usage(_) | Event::Finish(_) => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start("", out);
        self.stop_all(out);
        let (stop, seq) = finish_name(self.tally.finish.as_ref().unwrap_or(&Finish::Stop));
        sse(
            out,
            Some("message_delta"),
            &json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": seq},
                "usage": usage_json(&self.tally.usage)}),
        );
        sse(out, Some("message_stop"), &json!({"type": "message_stop"}));
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&error_event(message));
    }
}

/// The stream error Anthropic's SDKs raise as an API error.
pub fn error_event(message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    sse(
        &mut out,
        Some("error"),
        &json!({"type": "error", "error": {"type": "api_error", "message": message}}),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Aggregator;

    #[test]
    fn system_blocks_mid_conversation_system_and_thinking_decode() {
        let body = br#"{"model":"claude","max_tokens":100,
            "system":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],
            "messages":[{"role":"user","content":"hi"},{"role":"system","content":"remember"},
              {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"S"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"boom","is_error":true}]}],
            "thinking":{"type":"enabled","budget_tokens":2048},"context_management":{"edits":[]},
            "tools":[{"name":"f","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}]}"#;
        let d = decode_request(body).unwrap();
        let r = d.request;
        assert_eq!(r.system.len(), 2);
        assert!(r.system[1].cache);
        assert_eq!(r.messages[1].role, Role::System);
        assert!(
            matches!(&r.messages[2].parts[0], Part::Thinking(t) if t.signature.as_deref() == Some("S"))
        );
        assert!(matches!(&r.messages[3].parts[0], Part::ToolResult(t) if t.is_error));
        assert_eq!(r.reasoning.unwrap().budget_tokens, Some(2048));
        assert_eq!(r.tools[1], Tool::WebSearch);
        assert_eq!(d.context.dropped, vec!["context_management"]);
    }

    #[test]
    fn encode_then_decode_is_stable() {
        let body = br#"{"model":"m","max_tokens":50,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],
            "messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]},
              {"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"S"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}],
            "tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},
            "stop_sequences":["END"],"top_k":3}"#;
        let first = decode_request(body).unwrap().request;
        let encoded = encode_request(&first, "m").unwrap();
        let second = decode_request(&encoded.body).unwrap().request;
        assert_eq!(first, second);
    }

    #[test]
    fn effort_only_requests_become_a_thinking_budget_below_max_tokens() {
        let req = Request {
            max_tokens: Some(2000),
            reasoning: Some(Reasoning {
                effort: Some("high".into()),
                ..Default::default()
            }),
            temperature: Some(0.2),
            ..Default::default()
        };
        let e = encode_request(&req, "claude").unwrap();
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        let budget = v["thinking"]["budget_tokens"].as_u64().unwrap();
        assert!(v["max_tokens"].as_u64().unwrap() > budget);
        assert!(v.get("temperature").is_none());
        assert_eq!(e.dropped, vec!["temperature"]);
    }

    #[test]
    fn the_stream_decodes_and_aggregates() {
        let events = [
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":12,"cache_read_input_tokens":3,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"SIG"}}"#,
            r#"{"type":"content_block_stop","index":0}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_9","name":"f","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"2}"}}"#,
            r#"{"type":"content_block_stop","index":1}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}}"#,
            r#"{"type":"message_stop"}"#,
        ];
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for e in events {
            d.feed(e, &mut out).unwrap();
        }
        assert!(d.is_complete());
        let mut agg = Aggregator::default();
        out.into_iter().for_each(|e| agg.push(e));
        let r = agg.finish();
        assert!(
            matches!(&r.parts[0], Part::Thinking(t) if t.text == "hm" && t.signature.as_deref() == Some("SIG"))
        );
        assert!(matches!(&r.parts[1], Part::ToolCall(c) if c.arguments == r#"{"a":2}"#));
        assert_eq!(r.usage.input, 12);
        assert_eq!(r.usage.cache_read, 3);
        assert_eq!(r.usage.output, 30);
        assert_eq!(r.finish, Finish::ToolUse);
    }
}
