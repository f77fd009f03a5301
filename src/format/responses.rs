//! OpenAI Responses: `POST /v1/responses` (Codex CLI), item-based input and output, and typed
//! SSE events numbered by `sequence_number` from `response.created` to `response.completed`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::codec::{
    StreamDecoder, StreamEncoder, Tally, event_json, reported_error, sse, stop_open,
};
use super::counts::{Count, Lenient, WireUsage, usage_of};
use super::ir::*;
use super::json::{
    arguments_text, new_id, parse_object, plain_text, str_of, to_raw, unix_now, with_raw_fields,
};
use super::{ClientContext, Decoded, Encoded, FormatError};

/// Namespaced tools reach other APIs as `namespace__name`.
const NAMESPACE_SEPARATOR: &str = "__";

#[derive(Deserialize)]
struct ResponsesRequest {
    model: Option<String>,
    input: Option<Value>,
    instructions: Option<String>,
    #[serde(default)]
    tools: Vec<ToolIn>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    reasoning: Option<Value>,
    max_output_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    text: Option<Value>,
    stream: Option<bool>,
    user: Option<String>,
    prompt_cache_key: Option<String>,
    previous_response_id: Option<String>,
}

#[derive(Deserialize)]
struct ToolIn {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    description: Option<String>,
    parameters: Option<Box<RawValue>>,
    strict: Option<bool>,
    #[serde(default)]
    tools: Vec<ToolIn>,
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, FormatError> {
    let r: ResponsesRequest = parse_object(body)?;
    let model = r
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| FormatError::at("model", "Missing required parameter: 'model'."))?;
    if r.previous_response_id.is_some() {
        return Err(FormatError::at(
            "previous_response_id",
            "previous_response_id needs responses stored by OpenAI; send the full input instead (store: false)",
        ));
    }
    let mut req = Request {
        model: model.clone(),
        max_tokens: r.max_output_tokens,
        temperature: r.temperature,
        top_p: r.top_p,
        parallel_tool_calls: r.parallel_tool_calls,
        stream: r.stream.unwrap_or(false),
        user: r.user,
        prompt_cache_key: r.prompt_cache_key,
        ..Default::default()
    };
    if let Some(i) = r.instructions.filter(|i| !i.is_empty()) {
        req.system.push(TextBlock {
            text: i,
            cache: false,
        });
    }
    let mut namespaces = HashMap::new();
    match r.input {
        Some(Value::String(s)) => req.messages.push(Message {
            role: Role::User,
            parts: vec![Part::text(s)],
        }),
        Some(Value::Array(items)) => decode_items(&items, &mut req)?,
        _ => {}
    }
    for (i, t) in r.tools.into_iter().enumerate() {
        decode_tool(t, None, i, &mut req, &mut namespaces)?;
    }
    req.tool_choice = match r.tool_choice {
        None => None,
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => None,
        },
        Some(v) => match str_of(&v, "type") {
            Some("function") => Some(ToolChoice::Function(
                str_of(&v, "name").unwrap_or_default().to_owned(),
            )),
            Some(t) if t.starts_with("web_search") => {
                Some(ToolChoice::Function("web_search".into()))
            }
            _ => None,
        },
    };
    if let Some(reasoning) = &r.reasoning {
        let effort = str_of(reasoning, "effort").map(str::to_owned);
        req.reasoning = Some(Reasoning {
            disabled: effort.as_deref() == Some("none"),
            effort,
            summary: str_of(reasoning, "summary").map(str::to_owned),
            ..Default::default()
        });
    }
    if let Some(format) = r.text.as_ref().and_then(|t| t.get("format")) {
        req.response_format = match str_of(format, "type") {
            Some("json_object") => Some(ResponseFormat::JsonObject),
            Some("json_schema") => Some(ResponseFormat::JsonSchema {
                name: str_of(format, "name").unwrap_or("response").to_owned(),
                schema: serde_json::value::to_raw_value(format.get("schema").unwrap_or(&json!({})))
                    .unwrap_or_else(|_| empty_schema()),
                strict: format.get("strict").and_then(Value::as_bool),
            }),
            _ => None,
        };
    }
    Ok(Decoded {
        request: req,
        context: ClientContext {
            model,
            namespaces,
            ..Default::default()
        },
    })
}

fn decode_tool(
    t: ToolIn,
    namespace: Option<&str>,
    i: usize,
    req: &mut Request,
    namespaces: &mut HashMap<String, (String, String)>,
) -> Result<(), FormatError> {
    match t.kind.as_str() {
        "function" => {
            let name = t.name.unwrap_or_default();
            let flat = match namespace {
                Some(ns) => {
                    let flat = format!("{ns}{NAMESPACE_SEPARATOR}{name}");
                    namespaces.insert(flat.clone(), (ns.to_owned(), name));
                    flat
                }
                None => name,
            };
            req.tools.push(Tool::Function(FunctionTool {
                name: flat,
                description: t.description,
                parameters: t.parameters.unwrap_or_else(empty_schema),
                strict: t.strict,
                cache: false,
            }));
        }
        "namespace" => {
            let ns = t.name.unwrap_or_default();
            for inner in t.tools {
                decode_tool(inner, Some(&ns), i, req, namespaces)?;
            }
        }
        k if k.starts_with("web_search") => req.tools.push(Tool::WebSearch),
        other => {
            return Err(FormatError::at(
                format!("tools[{i}]"),
                format!("the built-in tool '{other}' has no equivalent at this model's provider"),
            ));
        }
    }
    Ok(())
}

fn flat_name(item: &Value) -> String {
    let name = str_of(item, "name").unwrap_or_default();
    match str_of(item, "namespace") {
        Some(ns) if !ns.is_empty() => format!("{ns}{NAMESPACE_SEPARATOR}{name}"),
        _ => name.to_owned(),
    }
}

fn decode_items(items: &[Value], req: &mut Request) -> Result<(), FormatError> {
    let mut leading = true;
    for (i, item) in items.iter().enumerate() {
        let kind = str_of(item, "type").unwrap_or("message");
        match kind {
            "message" => {
                let role = str_of(item, "role").unwrap_or("user");
                let content = item.get("content").unwrap_or(&Value::Null);
                match role {
                    "system" | "developer" => {
                        let text = plain_text(content);
                        if leading {
                            req.system.push(TextBlock { text, cache: false });
                        } else {
                            req.messages.push(Message {
                                role: Role::System,
                                parts: vec![Part::text(text)],
                            });
                        }
                    }
                    "assistant" => {
                        leading = false;
                        let text = plain_text(content);
                        push_part(req, Role::Assistant, Part::text(text));
                    }
                    _ => {
                        leading = false;
                        let parts = decode_user_content(content, i)?;
                        req.messages.push(Message {
                            role: Role::User,
                            parts,
                        });
                    }
                }
            }
            "function_call" => {
                leading = false;
                push_part(
                    req,
                    Role::Assistant,
                    Part::ToolCall(ToolCall {
                        id: str_of(item, "call_id").unwrap_or_default().to_owned(),
                        name: flat_name(item),
                        arguments: arguments_text(item.get("arguments")),
                        signature: None,
                    }),
                );
            }
            "function_call_output" => {
                leading = false;
                let output = item.get("output").unwrap_or(&Value::Null);
                push_part(
                    req,
                    Role::User,
                    Part::ToolResult(ToolResult {
                        call_id: str_of(item, "call_id").unwrap_or_default().to_owned(),
                        name: None,
                        content: vec![Part::text(plain_text(output))],
                        is_error: false,
                    }),
                );
            }
            "reasoning" => {
                leading = false;
                let summary = item.get("summary").map(plain_text).unwrap_or_default();
                push_part(
                    req,
                    Role::Assistant,
                    Part::Thinking(Thinking {
                        text: summary,
                        signature: str_of(item, "encrypted_content").map(str::to_owned),
                    }),
                );
            }
            // The provider's own record of a search it ran.
            "web_search_call" => {}
            other => {
                return Err(FormatError::untranslatable(
                    format!("input[{i}].type"),
                    format_args!("input item type '{other}'"),
                ));
            }
        }
    }
    Ok(())
}

/// Consecutive items of one side form one turn in the message-based APIs.
fn push_part(req: &mut Request, role: Role, part: Part) {
    if let Part::Text { text, .. } = &part
        && text.is_empty()
    {
        return;
    }
    match req.messages.last_mut() {
        Some(last)
            if last.role == role
                && (role == Role::Assistant
                    || last.parts.iter().all(|p| matches!(p, Part::ToolResult(_)))) =>
        {
            last.parts.push(part)
        }
        _ => req.messages.push(Message {
            role,
            parts: vec![part],
        }),
    }
}

fn decode_user_content(content: &Value, i: usize) -> Result<Vec<Part>, FormatError> {
    let Value::Array(items) = content else {
        return Ok(vec![Part::text(plain_text(content))]);
    };
    let mut parts = Vec::new();
    for (j, c) in items.iter().enumerate() {
        match str_of(c, "type").unwrap_or_default() {
            "input_text" | "output_text" | "text" => {
                parts.push(Part::text(str_of(c, "text").unwrap_or_default()))
            }
            "input_image" => match str_of(c, "image_url") {
                Some(url) => parts.push(Part::Image(Media::from_url(url))),
                None => {
                    return Err(FormatError::at(
                        format!("input[{i}].content[{j}]"),
                        "images must be given by image_url to reach this model's provider",
                    ));
                }
            },
            "input_file" => match str_of(c, "file_data").or_else(|| str_of(c, "file_url")) {
                Some(d) => parts.push(Part::Document(Media::from_url(d))),
                None => {
                    return Err(FormatError::at(
                        format!("input[{i}].content[{j}]"),
                        "files must be inline (file_data) to reach this model's provider",
                    ));
                }
            },
            other => {
                return Err(FormatError::untranslatable(
                    format!("input[{i}].content[{j}].type"),
                    format_args!("content type '{other}'"),
                ));
            }
        }
    }
    Ok(parts)
}

#[derive(Serialize)]
#[serde(untagged)]
enum ToolOut<'a> {
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<&'a str>,
        parameters: &'a RawValue,
        #[serde(skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
    Builtin(Value),
}

pub fn encode_request(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    let mut input = Vec::new();
    for m in &req.messages {
        match m.role {
            Role::System => input.push(json!({"type": "message", "role": "developer",
                "content": [{"type": "input_text", "text": text_of(&m.parts)}]})),
            Role::User => {
                let mut content = Vec::new();
                for p in &m.parts {
                    match p {
                        Part::Text { text, .. } => {
                            content.push(json!({"type": "input_text", "text": text}))
                        }
                        Part::Image(media) => content
                            .push(json!({"type": "input_image", "image_url": media.to_url()})),
                        Part::Document(media) => content.push(
                            json!({"type": "input_file", "file_data": media.to_url(), "filename": "document"}),
                        ),
                        Part::ToolResult(r) => input.push(json!({
                            "type": "function_call_output", "call_id": r.call_id, "output": r.text(),
                        })),
                        _ => {}
                    }
                }
                if !content.is_empty() {
                    input.push(json!({"type": "message", "role": "user", "content": content}));
                }
            }
            Role::Assistant => {
                for p in &m.parts {
                    match p {
                        Part::Text { text, .. } => input
                            .push(json!({"type": "message", "role": "assistant",
                            "content": [{"type": "output_text", "text": text}]})),
                        Part::ToolCall(c) => input.push(json!({"type": "function_call",
                            "call_id": c.id, "name": c.name, "arguments": c.arguments})),
                        // Earlier turns' reasoning is not replayed to another format's provider.
                        _ => {}
                    }
                }
            }
        }
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    let instructions: Vec<&str> = req.system.iter().map(|b| b.text.as_str()).collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    body.insert("input".into(), Value::Array(input));
    if let Some(n) = req.max_tokens {
        body.insert("max_output_tokens".into(), n.into());
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), p.into());
    }
    let mut dropped = Vec::new();
    if req.top_k.is_some() {
        dropped.push("top_k".into());
    }
    if req.seed.is_some() {
        dropped.push("seed".into());
    }
    if !req.stop.is_empty() {
        dropped.push("stop".into());
    }
    if let Some(r) = &req.reasoning {
        let effort = if r.disabled {
            "none"
        } else {
            r.effort_or_default()
        };
        body.insert(
            "reasoning".into(),
            json!({"effort": effort, "summary": r.summary.as_deref().unwrap_or("auto")}),
        );
    }
    match &req.response_format {
        None => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("text".into(), json!({"format": {"type": "json_object"}}));
        }
        Some(ResponseFormat::JsonSchema {
            name,
            schema,
            strict,
        }) => {
            let schema: Value = serde_json::from_str(schema.get()).unwrap_or(json!({}));
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": name, "schema": schema, "strict": strict.unwrap_or(false)}}),
            );
        }
    }
    if let Some(u) = &req.user {
        body.insert("user".into(), u.clone().into());
    }
    if let Some(key) = &req.prompt_cache_key {
        body.insert("prompt_cache_key".into(), key.clone().into());
    }
    body.insert("store".into(), false.into());
    if req.stream {
        body.insert("stream".into(), true.into());
    }
    let tools: Vec<ToolOut> = req
        .tools
        .iter()
        .map(|t| match t {
            Tool::Function(f) => ToolOut::Function {
                kind: "function",
                name: &f.name,
                description: f.description.as_deref(),
                parameters: &f.parameters,
                strict: f.strict,
            },
            Tool::WebSearch => ToolOut::Builtin(json!({"type": "web_search"})),
        })
        .collect();
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
                    ToolChoice::Function(n) if n == "web_search" => json!({"type": "web_search"}),
                    ToolChoice::Function(n) => json!({"type": "function", "name": n}),
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

/// The Responses API's usage object.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UsageObject {
    input_tokens: Count,
    output_tokens: Count,
    input_tokens_details: Lenient<InputDetails>,
    output_tokens_details: Lenient<OutputDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InputDetails {
    cached_tokens: Count,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputDetails {
    reasoning_tokens: Count,
}

impl WireUsage for UsageObject {
    fn counts(&self) -> Usage {
        let cached = self.input_tokens_details.0.cached_tokens.or_zero();
        Usage {
            input: self.input_tokens.or_zero().saturating_sub(cached),
            cache_read: cached,
            cache_write: 0,
            output: self.output_tokens.or_zero(),
            reasoning: self.output_tokens_details.0.reasoning_tokens.or_zero(),
        }
    }
}

pub(crate) fn usage_from(u: &Value) -> Usage {
    usage_of::<UsageObject>(u)
}

fn usage_json(u: &Usage) -> Value {
    json!({
        "input_tokens": u.prompt_total(),
        "input_tokens_details": {"cached_tokens": u.cache_read},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt_total() + u.output,
    })
}

fn decode_output_item(item: &Value, out: &mut Vec<Part>) {
    match str_of(item, "type").unwrap_or_default() {
        "message" => {
            for c in item
                .get("content")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(t) = str_of(c, "text").or_else(|| str_of(c, "refusal")) {
                    out.push(Part::text(t));
                }
            }
        }
        "reasoning" => out.push(Part::Thinking(Thinking {
            text: item.get("summary").map(plain_text).unwrap_or_default(),
            signature: str_of(item, "encrypted_content").map(str::to_owned),
        })),
        "function_call" => out.push(Part::ToolCall(ToolCall {
            id: str_of(item, "call_id").unwrap_or_default().to_owned(),
            name: flat_name(item),
            arguments: arguments_text(item.get("arguments")),
            signature: None,
        })),
        _ => {}
    }
}

fn finish_of(response: &Value, parts: &[Part]) -> Finish {
    if str_of(response, "status") == Some("incomplete") {
        return match response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
        {
            Some("content_filter") => Finish::ContentFilter,
            _ => Finish::Length,
        };
    }
    if parts.iter().any(|p| matches!(p, Part::ToolCall(_))) {
        Finish::ToolUse
    } else {
        Finish::Stop
    }
}

pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let output = v
        .get("output")
        .and_then(Value::as_array)
        .ok_or("the answer has no output")?;
    let mut parts = Vec::new();
    for item in output {
        decode_output_item(item, &mut parts);
    }
    Ok(Response {
        id: str_of(&v, "id").unwrap_or_default().to_owned(),
        model: str_of(&v, "model").unwrap_or_default().to_owned(),
        finish: finish_of(&v, &parts),
        parts,
        usage: v.get("usage").map(usage_from).unwrap_or_default(),
    })
}

/// An output item as the Responses API shows it once complete.
fn output_item(part: &Part, id: &str, ctx: &ClientContext) -> Option<Value> {
    Some(match part {
        Part::Text { text, .. } => json!({
            "type": "message", "id": id, "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }),
        Part::Thinking(t) => {
            let mut v = json!({"type": "reasoning", "id": id,
                "summary": if t.text.is_empty() { json!([]) } else { json!([{"type": "summary_text", "text": t.text}]) }});
            if let Some(s) = &t.signature {
                v["encrypted_content"] = s.clone().into();
            }
            v
        }
        Part::ToolCall(c) => {
            let mut v = json!({"type": "function_call", "id": id, "call_id": c.id,
                "name": c.name, "arguments": c.arguments, "status": "completed"});
            if let Some((ns, name)) = ctx.namespaces.get(&c.name) {
                v["name"] = name.clone().into();
                v["namespace"] = ns.clone().into();
            }
            v
        }
        _ => return None,
    })
}

fn item_id(part: &Part) -> String {
    new_id(match part {
        Part::Thinking(_) => "rs_",
        Part::ToolCall(_) => "fc_",
        _ => "msg_",
    })
}

fn response_object(
    id: &str,
    created: u64,
    ctx: &ClientContext,
    output: Vec<Value>,
    finish: Option<&Finish>,
    usage: Option<&Usage>,
) -> Value {
    let (status, incomplete) = match finish {
        None => ("in_progress", Value::Null),
        Some(Finish::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(Finish::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        Some(_) => ("completed", Value::Null),
    };
    json!({
        "id": id, "object": "response", "created_at": created, "status": status,
        "error": null, "incomplete_details": incomplete, "model": ctx.model,
        "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "usage": usage.map(usage_json),
    })
}

pub fn encode_response(r: &Response, ctx: &ClientContext) -> Vec<u8> {
    let output: Vec<Value> = r
        .parts
        .iter()
        .filter_map(|p| output_item(p, &item_id(p), ctx))
        .collect();
    let body = response_object(
        &new_id("resp_"),
        unix_now(),
        ctx,
        output,
        Some(&r.finish),
        Some(&r.usage),
    );
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Reads Responses SSE events.
#[derive(Default)]
pub struct Decoder {
    /// Item id → canonical block index.
    items: HashMap<String, usize>,
    next: usize,
    calls: bool,
    completed: bool,
}

impl Decoder {
    fn open(&mut self, item_id: &str, block: Block, out: &mut Vec<Event>) -> usize {
        let index = self.next;
        self.next += 1;
        self.items.insert(item_id.to_owned(), index);
        out.push(Event::BlockStart { index, block });
        index
    }
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        let v: Value = event_json(data)?;
        let item_id = str_of(&v, "item_id").unwrap_or_default();
        let delta_text = || str_of(&v, "delta").unwrap_or_default().to_owned();
        match str_of(&v, "type").unwrap_or_default() {
            "response.created" => out.push(Event::Start {
                id: v
                    .pointer("/response/id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                model: v
                    .pointer("/response/model")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            "response.output_item.added" => {
                let item = v.get("item").cloned().unwrap_or(Value::Null);
                let id = str_of(&item, "id").unwrap_or_default().to_owned();
                match str_of(&item, "type").unwrap_or_default() {
                    "message" => {
                        self.open(&id, Block::Text, out);
                    }
                    "reasoning" => {
                        self.open(&id, Block::Thinking, out);
                    }
                    "function_call" => {
                        self.calls = true;
                        let block = Block::ToolCall {
                            id: str_of(&item, "call_id").unwrap_or_default().to_owned(),
                            name: flat_name(&item),
                        };
                        self.open(&id, block, out);
                    }
                    _ => {}
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if let Some(&index) = self.items.get(item_id) {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Text(delta_text()),
                    });
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                if let Some(&index) = self.items.get(item_id) {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Thinking(delta_text()),
                    });
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(&index) = self.items.get(item_id) {
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Arguments(delta_text()),
                    });
                }
            }
            "response.output_item.done" => {
                let item = v.get("item").cloned().unwrap_or(Value::Null);
                let id = str_of(&item, "id").unwrap_or_default();
                if let Some(index) = self.items.remove(id) {
                    if let Some(sig) = str_of(&item, "encrypted_content") {
                        out.push(Event::Delta {
                            index,
                            delta: Delta::Signature(sig.to_owned()),
                        });
                    }
                    out.push(Event::BlockStop { index });
                }
            }
            kind @ ("response.completed" | "response.incomplete") => {
                self.completed = true;
                let response = v.get("response").cloned().unwrap_or(Value::Null);
                if let Some(u) = response.get("usage").filter(|u| u.is_object()) {
                    out.push(Event::Usage(usage_from(u)));
                }
                let finish = if kind == "response.incomplete" {
                    finish_of(&response, &[])
                } else if self.calls {
                    Finish::ToolUse
                } else {
                    Finish::Stop
                };
                out.push(Event::Finish(finish));
            }
            "response.failed" | "error" => {
                return Err(reported_error(
                    v.pointer("/response/error/message")
                        .or_else(|| v.get("message"))
                        .and_then(Value::as_str),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.completed
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        stop_open(self.items.drain().map(|(_, i)| i), out);
    }
}

/// One output item being streamed.
struct Item {
    id: String,
    output_index: usize,
    part: Part,
}

/// Writes Responses SSE events.
pub struct Encoder {
    ctx: ClientContext,
    id: String,
    created: u64,
    seq: u64,
    started: bool,
    open: HashMap<usize, Item>,
    done: Vec<(usize, Value)>,
    next_output: usize,
    tally: Tally,
}

impl Encoder {
    pub fn new(ctx: &ClientContext) -> Self {
        Self {
            ctx: ctx.clone(),
            id: new_id("resp_"),
            created: unix_now(),
            seq: 0,
            started: false,
            open: HashMap::new(),
            done: Vec::new(),
            next_output: 0,
            tally: Tally::default(),
        }
    }

    fn emit(&mut self, kind: &str, mut body: Value, out: &mut Vec<u8>) {
        body["type"] = kind.into();
        body["sequence_number"] = self.seq.into();
        self.seq += 1;
        sse(out, Some(kind), &body);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let r = response_object(&self.id, self.created, &self.ctx, vec![], None, None);
        self.emit("response.created", json!({"response": r}), out);
        let r = response_object(&self.id, self.created, &self.ctx, vec![], None, None);
        self.emit("response.in_progress", json!({"response": r}), out);
    }

    fn close(&mut self, item: Item, out: &mut Vec<u8>) {
        let Item {
            id,
            output_index,
            part,
        } = item;
        match &part {
            Part::Text { text, .. } => {
                self.emit(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": output_index, "content_index": 0, "text": text}),
                    out,
                );
                self.emit(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": output_index, "content_index": 0,
                        "part": {"type": "output_text", "text": text, "annotations": []}}),
                    out,
                );
            }
            Part::Thinking(t) => {
                self.emit(
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": output_index, "summary_index": 0, "text": t.text}),
                    out,
                );
                self.emit(
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": output_index, "summary_index": 0,
                        "part": {"type": "summary_text", "text": t.text}}),
                    out,
                );
            }
            Part::ToolCall(c) => {
                let arguments = if c.arguments.is_empty() {
                    "{}".to_owned()
                } else {
                    c.arguments.clone()
                };
                self.emit(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": output_index, "arguments": arguments}),
                    out,
                );
            }
            _ => {}
        }
        let mut part = part;
        if let Part::ToolCall(c) = &mut part
            && c.arguments.is_empty()
        {
            c.arguments = "{}".into();
        }
        if let Some(item) = output_item(&part, &id, &self.ctx) {
            self.emit(
                "response.output_item.done",
                json!({"output_index": output_index, "item": item.clone()}),
                out,
            );
            self.done.push((output_index, item));
        }
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.tally.note(event);
        match event {
            Event::Start { .. } => self.start(out),
            Event::BlockStart { index, block } => {
                self.start(out);
                let output_index = self.next_output;
                let (part, added) = match block {
                    Block::Text => {
                        let id = new_id("msg_");
                        let added = json!({"type": "message", "id": id, "status": "in_progress",
                            "role": "assistant", "content": []});
                        (Part::text(""), (id, added))
                    }
                    Block::Thinking => {
                        let id = new_id("rs_");
                        let added = json!({"type": "reasoning", "id": id, "summary": []});
                        (
                            Part::Thinking(Thinking {
                                text: String::new(),
                                signature: None,
                            }),
                            (id, added),
                        )
                    }
                    Block::ToolCall { id: call_id, name } => {
                        let id = new_id("fc_");
                        let mut added = json!({"type": "function_call", "id": id, "call_id": call_id,
                            "name": name, "arguments": "", "status": "in_progress"});
                        if let Some((ns, short)) = self.ctx.namespaces.get(name) {
                            added["name"] = short.clone().into();
                            added["namespace"] = ns.clone().into();
                        }
                        (
                            Part::ToolCall(ToolCall {
                                id: call_id.clone(),
                                name: name.clone(),
                                arguments: String::new(),
                                signature: None,
                            }),
                            (id, added),
                        )
                    }
                    Block::RedactedThinking { .. } => return,
                };
                self.next_output += 1;
                let (id, added) = added;
                self.emit(
                    "response.output_item.added",
                    json!({"output_index": output_index, "item": added}),
                    out,
                );
                match &part {
                    Part::Text { .. } => self.emit(
                        "response.content_part.added",
                        json!({"item_id": id, "output_index": output_index, "content_index": 0,
                            "part": {"type": "output_text", "text": "", "annotations": []}}),
                        out,
                    ),
                    Part::Thinking(_) => self.emit(
                        "response.reasoning_summary_part.added",
                        json!({"item_id": id, "output_index": output_index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}}),
                        out,
                    ),
                    _ => {}
                }
                self.open.insert(
                    *index,
                    Item {
                        id,
                        output_index,
                        part,
                    },
                );
            }
            Event::Delta { index, delta } => {
                let Some(item) = self.open.get_mut(index) else {
                    return;
                };
                let (id, output_index) = (item.id.clone(), item.output_index);
                let emitted = match (&mut item.part, delta) {
                    (Part::Text { text, .. }, Delta::Text(t)) => {
                        text.push_str(t);
                        Some((
                            "response.output_text.delta",
                            json!({"item_id": id,
                            "output_index": output_index, "content_index": 0, "delta": t}),
                        ))
                    }
                    (Part::Thinking(th), Delta::Thinking(t)) => {
                        th.text.push_str(t);
                        Some((
                            "response.reasoning_summary_text.delta",
                            json!({"item_id": id,
                            "output_index": output_index, "summary_index": 0, "delta": t}),
                        ))
                    }
                    (Part::Thinking(th), Delta::Signature(s)) => {
                        th.signature.get_or_insert_with(String::new).push_str(s);
                        None
                    }
                    (Part::ToolCall(c), Delta::Arguments(a)) => {
                        c.arguments.push_str(a);
                        Some((
                            "response.function_call_arguments.delta",
                            json!({"item_id": id, "output_index": output_index, "delta": a}),
                        ))
                    }
                    _ => None,
                };
                if let Some((kind, body)) = emitted {
                    self.emit(kind, body, out);
                }
            }
            Event::BlockStop { index } => {
                if let Some(item) = self.open.remove(index) {
                    self.close(item, out);
                }
            }
            Event::Usage(_) | Event::Finish(_) => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        let mut open: Vec<usize> = self.open.keys().copied().collect();
        open.sort_unstable();
        for index in open {
            if let Some(item) = self.open.remove(&index) {
                self.close(item, out);
            }
        }
        self.done.sort_by_key(|(i, _)| *i);
        let output: Vec<Value> = self.done.drain(..).map(|(_, v)| v).collect();
        let has_calls = output.iter().any(|o| o["type"] == "function_call");
        let finish = match self.tally.finish.clone() {
            Some(Finish::Stop) | None if has_calls => Finish::ToolUse,
            Some(f) => f,
            None => Finish::Stop,
        };
        let usage = self.tally.usage;
        let r = response_object(
            &self.id,
            self.created,
            &self.ctx,
            output,
            Some(&finish),
            Some(&usage),
        );
        self.emit("response.completed", json!({"response": r}), out);
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        self.start(out);
        let mut r = response_object(&self.id, self.created, &self.ctx, vec![], None, None);
        r["status"] = "failed".into();
        r["error"] = json!({"code": "server_error", "message": message});
        self.emit("response.failed", json!({"response": r}), out);
    }
}

/// The `response.failed` event that ends a forwarded stream, numbered after the upstream's
/// last event.
pub fn failed_event(message: &str, last_sequence: Option<u64>) -> Vec<u8> {
    let body = json!({
        "type": "response.failed",
        "sequence_number": last_sequence.map_or(0, |s| s + 1),
        "response": {"object": "response", "status": "failed",
            "error": {"code": "server_error", "message": message}, "output": []},
    });
    let mut out = Vec::new();
    super::codec::sse(&mut out, Some("response.failed"), &body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Aggregator;

    #[test]
    fn codex_style_input_decodes_with_namespaces_and_web_search() {
        let body = br#"{"model":"gpt-5-codex","stream":true,"input":[
            {"type":"message","id":"m1","role":"developer","content":[{"type":"input_text","text":"rules"}]},
            {"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},
            {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"think"}],"encrypted_content":"ENC"},
            {"type":"function_call","call_id":"call_1","name":"spawn_agent","namespace":"multi_agent_v1","arguments":"{}"},
            {"type":"function_call_output","call_id":"call_1","output":"done"}],
            "tools":[{"type":"function","name":"exec","parameters":{"type":"object"}},
              {"type":"namespace","name":"multi_agent_v1","tools":[{"type":"function","name":"spawn_agent","parameters":{"type":"object"}}]},
              {"type":"web_search","external_web_access":true}],
            "reasoning":{"summary":"auto"},"include":["reasoning.encrypted_content"],"store":false}"#;
        let d = decode_request(body).unwrap();
        let r = d.request;
        assert_eq!(r.system[0].text, "rules");
        assert_eq!(r.messages.len(), 3);
        let Part::Thinking(t) = &r.messages[1].parts[0] else {
            panic!()
        };
        assert_eq!(t.signature.as_deref(), Some("ENC"));
        assert!(
            matches!(&r.messages[1].parts[1], Part::ToolCall(c) if c.name == "multi_agent_v1__spawn_agent")
        );
        assert_eq!(r.tools.len(), 3);
        assert_eq!(
            d.context.namespaces.get("multi_agent_v1__spawn_agent"),
            Some(&("multi_agent_v1".to_owned(), "spawn_agent".to_owned()))
        );
    }

    #[test]
    fn encode_then_decode_is_stable() {
        let body = br#"{"model":"m","instructions":"sys","input":[
            {"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]},
            {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"a\":1}"},
            {"type":"function_call_output","call_id":"c1","output":"ok"}],
            "tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],
            "tool_choice":"required","max_output_tokens":100,"reasoning":{"effort":"low","summary":"auto"}}"#;
        let first = decode_request(body).unwrap().request;
        let encoded = encode_request(&first, "m").unwrap();
        let second = decode_request(&encoded.body).unwrap().request;
        assert_eq!(first, second);
    }

    #[test]
    fn the_stream_decodes_items_and_usage() {
        let events = [
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","model":"gpt-5","status":"in_progress","output":[]}}"#,
            r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}"#,
            r#"{"type":"response.reasoning_summary_text.delta","sequence_number":2,"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"think"}"#,
            r#"{"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"ENC"}}"#,
            r#"{"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","sequence_number":5,"item_id":"fc_1","output_index":1,"delta":"{}"}"#,
            r#"{"type":"response.output_item.done","sequence_number":6,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{}"}}"#,
            r#"{"type":"response.completed","sequence_number":7,"response":{"id":"resp_1","status":"completed","usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":10},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4}}}}"#,
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
        assert!(matches!(&r.parts[0], Part::Thinking(t) if t.signature.as_deref() == Some("ENC")));
        assert_eq!(r.finish, Finish::ToolUse);
        assert_eq!(r.usage.input, 20);
        assert_eq!(r.usage.reasoning, 4);
    }
}
