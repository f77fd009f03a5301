//! Gemini (AI Studio): `models/{model}:generateContent` and `:streamGenerateContent?alt=sse`,
//! where every SSE event is a whole `GenerateContentResponse` carrying new parts. The model
//! comes from the URL, not the body.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::codec::{
    Blocks, Key, StreamDecoder, StreamEncoder, Tally, event_json, reported_error, sse,
};
use super::counts::{Count, WireUsage, usage_of};
use super::ir::*;
use super::json::{arguments_object, new_id, parse_object, str_of, to_raw, with_raw_fields};
use super::{ClientContext, Decoded, Encoded, FormatError};

/// Where Gemini's API reads its key.
pub static KEY_HEADER: http::HeaderName = http::HeaderName::from_static("x-goog-api-key");

/// Gemini 3 refuses function calls without a thought signature; this documented value tells
/// it the history came from elsewhere (another model, another format).
const FOREIGN_SIGNATURE: &str = "skip_thought_signature_validator";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateRequest {
    #[serde(default)]
    contents: Vec<Value>,
    #[serde(alias = "system_instruction")]
    system_instruction: Option<Value>,
    #[serde(default)]
    tools: Vec<ToolIn>,
    #[serde(alias = "tool_config")]
    tool_config: Option<Value>,
    #[serde(alias = "generation_config")]
    generation_config: Option<Value>,
    #[serde(alias = "safety_settings")]
    safety_settings: Option<Value>,
    #[serde(alias = "cached_content")]
    cached_content: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolIn {
    #[serde(default, alias = "function_declarations")]
    function_declarations: Vec<DeclarationIn>,
    #[serde(alias = "google_search")]
    google_search: Option<Value>,
    #[serde(alias = "google_search_retrieval")]
    google_search_retrieval: Option<Value>,
    #[serde(alias = "code_execution")]
    code_execution: Option<Value>,
    #[serde(alias = "url_context")]
    url_context: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeclarationIn {
    name: String,
    description: Option<String>,
    parameters: Option<Box<RawValue>>,
    #[serde(alias = "parameters_json_schema")]
    parameters_json_schema: Option<Box<RawValue>>,
}

fn get<'a>(v: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    v.get(camel).or_else(|| v.get(snake))
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, FormatError> {
    let r: GenerateRequest = parse_object(body)?;
    let mut dropped = Vec::new();
    if r.safety_settings.is_some() {
        dropped.push("safetySettings".to_owned());
    }
    if r.cached_content.is_some() {
        return Err(FormatError::at(
            "cachedContent",
            "cached content lives at Google and cannot be used with this model's provider",
        ));
    }
    let mut req = Request::default();
    if let Some(si) = &r.system_instruction {
        for p in si
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = str_of(p, "text") {
                req.system.push(TextBlock {
                    text: t.to_owned(),
                    cache: false,
                });
            }
        }
    }
    // Older Gemini histories carry calls without ids: answers match calls by name, in order.
    let mut pending: HashMap<String, VecDeque<String>> = HashMap::new();
    for (i, c) in r.contents.iter().enumerate() {
        let role = match str_of(c, "role") {
            Some("model") => Role::Assistant,
            _ => Role::User,
        };
        let mut parts = Vec::new();
        for (j, p) in c
            .get("parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let signature = get(p, "thoughtSignature", "thought_signature")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(t) = str_of(p, "text") {
                if p.get("thought").and_then(Value::as_bool) == Some(true) {
                    parts.push(Part::Thinking(Thinking {
                        text: t.to_owned(),
                        signature,
                    }));
                } else {
                    parts.push(Part::text(t));
                }
            } else if let Some(d) = get(p, "inlineData", "inline_data") {
                let media = Media::Base64 {
                    media_type: get(d, "mimeType", "mime_type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    data: str_of(d, "data").unwrap_or_default().to_owned(),
                };
                parts.push(media_part(media));
            } else if let Some(d) = get(p, "fileData", "file_data") {
                let mime = get(d, "mimeType", "mime_type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let url = get(d, "fileUri", "file_uri")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let media = Media::Url { url };
                parts.push(if mime.starts_with("image/") {
                    Part::Image(media)
                } else {
                    Part::Document(media)
                });
            } else if let Some(f) = get(p, "functionCall", "function_call") {
                let name = str_of(f, "name").unwrap_or_default().to_owned();
                let id = str_of(f, "id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("call_{name}_{i}_{j}"));
                pending
                    .entry(name.clone())
                    .or_default()
                    .push_back(id.clone());
                parts.push(Part::ToolCall(ToolCall {
                    id,
                    name,
                    arguments: f.get("args").map_or_else(|| "{}".into(), Value::to_string),
                    signature,
                }));
            } else if let Some(f) = get(p, "functionResponse", "function_response") {
                let name = str_of(f, "name").unwrap_or_default().to_owned();
                let queued = pending.get_mut(&name).and_then(VecDeque::pop_front);
                let id = str_of(f, "id").map(str::to_owned).or(queued);
                let response = f.get("response").cloned().unwrap_or(Value::Null);
                let (text, is_error) = response_text(&response);
                parts.push(Part::ToolResult(ToolResult {
                    call_id: id.unwrap_or_else(|| format!("call_{name}")),
                    name: Some(name),
                    content: vec![Part::text(text)],
                    is_error,
                }));
            } else if p.get("executableCode").is_some() || p.get("codeExecutionResult").is_some() {
                return Err(FormatError::untranslatable(
                    format!("contents[{i}].parts[{j}]"),
                    "code execution parts",
                ));
            }
        }
        req.messages.push(Message { role, parts });
    }
    for (i, t) in r.tools.into_iter().enumerate() {
        for d in t.function_declarations {
            req.tools.push(Tool::Function(FunctionTool {
                name: d.name,
                description: d.description,
                parameters: d
                    .parameters_json_schema
                    .or(d.parameters)
                    .unwrap_or_else(empty_schema),
                strict: None,
                cache: false,
            }));
        }
        if t.google_search.is_some() || t.google_search_retrieval.is_some() {
            req.tools.push(Tool::WebSearch);
        }
        if t.code_execution.is_some() || t.url_context.is_some() {
            let which = if t.code_execution.is_some() {
                "codeExecution"
            } else {
                "urlContext"
            };
            return Err(FormatError::at(
                format!("tools[{i}].{which}"),
                format!("the {which} tool has no equivalent at this model's provider"),
            ));
        }
    }
    if let Some(fc) = r
        .tool_config
        .as_ref()
        .and_then(|t| get(t, "functionCallingConfig", "function_calling_config"))
    {
        let allowed: Vec<&str> = get(fc, "allowedFunctionNames", "allowed_function_names")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        req.tool_choice = match str_of(fc, "mode") {
            Some("ANY") | Some("VALIDATED") if allowed.len() == 1 => {
                Some(ToolChoice::Function(allowed[0].to_owned()))
            }
            Some("ANY") | Some("VALIDATED") => Some(ToolChoice::Required),
            Some("NONE") => Some(ToolChoice::None),
            Some("AUTO") => Some(ToolChoice::Auto),
            _ => None,
        };
    }
    if let Some(g) = &r.generation_config {
        decode_generation_config(g, &mut req, &mut dropped)?;
    }
    Ok(Decoded {
        request: req,
        context: ClientContext {
            dropped,
            ..Default::default()
        },
    })
}

fn media_part(media: Media) -> Part {
    match &media {
        Media::Base64 { media_type, .. } if media_type.starts_with("image/") => Part::Image(media),
        _ => Part::Document(media),
    }
}

/// A function response's text: its `output`/`result`/`content`, else the whole object.
fn response_text(response: &Value) -> (String, bool) {
    if let Some(e) = response.get("error") {
        return (
            e.as_str().map_or_else(|| e.to_string(), str::to_owned),
            true,
        );
    }
    for key in ["output", "result", "content"] {
        if let Some(Value::String(s)) = response.get(key) {
            return (s.clone(), false);
        }
    }
    (response.to_string(), false)
}

fn decode_generation_config(
    g: &Value,
    req: &mut Request,
    dropped: &mut Vec<String>,
) -> Result<(), FormatError> {
    req.temperature = g.get("temperature").and_then(Value::as_f64);
    req.top_p = get(g, "topP", "top_p").and_then(Value::as_f64);
    req.top_k = get(g, "topK", "top_k")
        .and_then(Value::as_f64)
        .map(|k| k as u64);
    req.max_tokens = get(g, "maxOutputTokens", "max_output_tokens").and_then(Value::as_u64);
    req.seed = g.get("seed").and_then(Value::as_i64);
    if let Some(stops) = get(g, "stopSequences", "stop_sequences").and_then(Value::as_array) {
        req.stop = stops
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect();
    }
    if get(g, "candidateCount", "candidate_count")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 1)
    {
        return Err(FormatError::at(
            "generationConfig.candidateCount",
            "more than one candidate can only be served by a Gemini provider",
        ));
    }
    for (camel, snake) in [
        ("presencePenalty", "presence_penalty"),
        ("frequencyPenalty", "frequency_penalty"),
        ("responseLogprobs", "response_logprobs"),
    ] {
        if get(g, camel, snake).is_some() {
            dropped.push(format!("generationConfig.{camel}"));
        }
    }
    let mime = get(g, "responseMimeType", "response_mime_type").and_then(Value::as_str);
    let schema = get(g, "responseJsonSchema", "response_json_schema")
        .or_else(|| get(g, "responseSchema", "response_schema"));
    if mime == Some("application/json") || schema.is_some() {
        req.response_format = Some(match schema {
            Some(s) => ResponseFormat::JsonSchema {
                name: "response".into(),
                schema: serde_json::value::to_raw_value(s).unwrap_or_else(|_| empty_schema()),
                strict: None,
            },
            None => ResponseFormat::JsonObject,
        });
    }
    if let Some(t) = get(g, "thinkingConfig", "thinking_config") {
        let budget = get(t, "thinkingBudget", "thinking_budget").and_then(Value::as_i64);
        let level = get(t, "thinkingLevel", "thinking_level")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        req.reasoning = Some(Reasoning {
            disabled: budget == Some(0),
            adaptive: budget == Some(-1),
            budget_tokens: budget.filter(|b| *b > 0).map(|b| b as u64),
            effort: level,
            ..Default::default()
        });
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeclarationOut<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters_json_schema: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolsOut<'a> {
    function_declarations: Vec<DeclarationOut<'a>>,
}

pub fn encode_request(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    let mut dropped = Vec::new();
    let mut system: Vec<Value> = req.system.iter().map(|b| json!({"text": b.text})).collect();
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut contents = Vec::new();
    for m in &req.messages {
        if m.role == Role::System {
            for p in &m.parts {
                if let Part::Text { text, .. } = p {
                    system.push(json!({"text": text}));
                }
            }
            continue;
        }
        let mut parts = Vec::new();
        for p in &m.parts {
            match p {
                Part::Text { text, .. } => {
                    if !text.is_empty() {
                        parts.push(json!({"text": text}));
                    }
                }
                Part::Image(media) | Part::Document(media) => parts.push(match media {
                    Media::Base64 { media_type, data } => {
                        json!({"inlineData": {"mimeType": media_type, "data": data}})
                    }
                    Media::Url { url } => {
                        json!({"fileData": {"mimeType": guess_mime(url), "fileUri": url}})
                    }
                }),
                // Earlier turns' thinking is not replayed to another format's provider.
                Part::Thinking(_) | Part::RedactedThinking { .. } => {}
                Part::ToolCall(c) => {
                    names.insert(&c.id, &c.name);
                    parts.push(json!({
                        "functionCall": {"id": c.id, "name": c.name, "args": arguments_object(&c.arguments)},
                        "thoughtSignature": c.signature.as_deref().unwrap_or(FOREIGN_SIGNATURE),
                    }));
                }
                Part::ToolResult(r) => {
                    let name = r
                        .name
                        .as_deref()
                        .or_else(|| names.get(r.call_id.as_str()).copied())
                        .unwrap_or("tool");
                    let key = if r.is_error { "error" } else { "output" };
                    parts.push(json!({
                        "functionResponse": {"id": r.call_id, "name": name, "response": {key: r.text()}},
                    }));
                    if r.content.iter().any(|p| !matches!(p, Part::Text { .. })) {
                        dropped.push("tool_result.images".into());
                    }
                }
            }
        }
        if parts.is_empty() {
            continue;
        }
        let role = if m.role == Role::Assistant {
            "model"
        } else {
            "user"
        };
        contents.push(json!({"role": role, "parts": parts}));
    }
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": system}));
    }
    let mut config = Map::new();
    if let Some(t) = req.temperature {
        config.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        config.insert("topP".into(), p.into());
    }
    if let Some(k) = req.top_k {
        config.insert("topK".into(), k.into());
    }
    if let Some(n) = req.max_tokens {
        config.insert("maxOutputTokens".into(), n.into());
    }
    if let Some(s) = req.seed {
        config.insert("seed".into(), s.into());
    }
    if !req.stop.is_empty() {
        config.insert("stopSequences".into(), json!(req.stop));
    }
    if let Some(r) = &req.reasoning {
        let thinking = if r.disabled {
            json!({"thinkingBudget": 0})
        } else if r.adaptive && r.effort.is_none() {
            json!({"thinkingBudget": -1, "includeThoughts": true})
        } else if model_takes_levels(model) && r.budget_tokens.is_none() {
            let level = match r.effort_or_default() {
                "minimal" | "low" => "low",
                _ => "high",
            };
            json!({"thinkingLevel": level, "includeThoughts": true})
        } else {
            json!({"thinkingBudget": r.budget_or_default(), "includeThoughts": true})
        };
        config.insert("thinkingConfig".into(), thinking);
    }
    let mut raws = Vec::new();
    match &req.response_format {
        None => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            config.insert("responseMimeType".into(), "application/json".into());
            let schema: Value = serde_json::from_str(schema.get()).unwrap_or(json!({}));
            config.insert("responseJsonSchema".into(), schema);
        }
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    let declarations: Vec<DeclarationOut> = req
        .tools
        .iter()
        .filter_map(|t| match t {
            Tool::Function(f) => Some(DeclarationOut {
                name: &f.name,
                description: f.description.as_deref(),
                parameters_json_schema: &f.parameters,
            }),
            Tool::WebSearch => None,
        })
        .collect();
    let wants_search = req.tools.contains(&Tool::WebSearch);
    if !declarations.is_empty() {
        raws.push((
            "tools",
            to_raw(&[ToolsOut {
                function_declarations: declarations,
            }]),
        ));
        // Gemini does not combine search grounding with function calling in one request.
        if wants_search {
            dropped.push("tools.web_search".into());
        }
    } else if wants_search {
        body.insert("tools".into(), json!([{"googleSearch": {}}]));
    }
    if let Some(choice) = &req.tool_choice
        && !raws.is_empty()
    {
        let fc = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Function(n) => json!({"mode": "ANY", "allowedFunctionNames": [n]}),
        };
        body.insert("toolConfig".into(), json!({"functionCallingConfig": fc}));
    }
    Ok(Encoded {
        body: with_raw_fields(&body, &raws),
        dropped,
    })
}

/// Gemini 3 models take `thinkingLevel`; earlier ones a token budget.
fn model_takes_levels(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    m.starts_with("gemini-3")
}

fn guess_mime(url: &str) -> &'static str {
    let lower = url.to_ascii_lowercase();
    match lower.rsplit('.').next().unwrap_or_default() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

fn finish_from(reason: &str) -> Finish {
    match reason {
        "MAX_TOKENS" => Finish::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
            Finish::ContentFilter
        }
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" => Finish::Error,
        _ => Finish::Stop,
    }
}

fn finish_name(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "MAX_TOKENS",
        Finish::ContentFilter | Finish::Refusal => "SAFETY",
        Finish::Error => "MALFORMED_FUNCTION_CALL",
        _ => "STOP",
    }
}

/// Gemini's `usageMetadata`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct UsageObject {
    prompt_token_count: Count,
    cached_content_token_count: Count,
    thoughts_token_count: Count,
    candidates_token_count: Count,
}

impl WireUsage for UsageObject {
    fn counts(&self) -> Usage {
        let cached = self.cached_content_token_count.or_zero();
        let thoughts = self.thoughts_token_count.or_zero();
        Usage {
            input: self.prompt_token_count.or_zero().saturating_sub(cached),
            cache_read: cached,
            cache_write: 0,
            output: self
                .candidates_token_count
                .or_zero()
                .saturating_add(thoughts),
            reasoning: thoughts,
        }
    }
}

pub(crate) fn usage_from(u: &Value) -> Usage {
    usage_of::<UsageObject>(u)
}

fn usage_json(u: &Usage) -> Value {
    let mut v = json!({
        "promptTokenCount": u.prompt_total(),
        "candidatesTokenCount": u.output - u.reasoning.min(u.output),
        "totalTokenCount": u.prompt_total() + u.output,
    });
    if u.cache_read > 0 {
        v["cachedContentTokenCount"] = u.cache_read.into();
    }
    if u.reasoning > 0 {
        v["thoughtsTokenCount"] = u.reasoning.into();
    }
    v
}

fn decode_parts(parts: &[Value], out: &mut Vec<Part>) {
    for p in parts {
        let signature = str_of(p, "thoughtSignature").map(str::to_owned);
        if let Some(t) = str_of(p, "text") {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                out.push(Part::Thinking(Thinking {
                    text: t.to_owned(),
                    signature,
                }));
            } else if !t.is_empty() {
                out.push(Part::text(t));
            }
        } else if let Some(f) = p.get("functionCall") {
            out.push(Part::ToolCall(ToolCall {
                id: str_of(f, "id")
                    .map(str::to_owned)
                    .unwrap_or_else(|| new_id("call_")),
                name: str_of(f, "name").unwrap_or_default().to_owned(),
                arguments: f.get("args").map_or_else(|| "{}".into(), Value::to_string),
                signature,
            }));
        }
    }
}

pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let candidate = v
        .pointer("/candidates/0")
        .ok_or("the answer has no candidates")?;
    let mut parts = Vec::new();
    if let Some(ps) = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
    {
        decode_parts(ps, &mut parts);
    }
    let mut finish = finish_from(str_of(candidate, "finishReason").unwrap_or("STOP"));
    if finish == Finish::Stop && parts.iter().any(|p| matches!(p, Part::ToolCall(_))) {
        finish = Finish::ToolUse;
    }
    Ok(Response {
        id: str_of(&v, "responseId").unwrap_or_default().to_owned(),
        model: str_of(&v, "modelVersion").unwrap_or_default().to_owned(),
        parts,
        finish,
        usage: v.get("usageMetadata").map(usage_from).unwrap_or_default(),
    })
}

/// Gemini signatures are bytes (base64 in JSON); a signature from another API that is not
/// base64 would make Gemini clients reject the whole answer, so it is left out.
fn gemini_signature(s: &Option<String>) -> Option<&str> {
    use base64::Engine;
    let s = s.as_deref()?;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .is_ok()
        .then_some(s)
}

fn output_part(p: &Part) -> Option<Value> {
    Some(match p {
        Part::Text { text, .. } => json!({"text": text}),
        Part::Thinking(t) => {
            let mut v = json!({"text": t.text, "thought": true});
            if let Some(s) = gemini_signature(&t.signature) {
                v["thoughtSignature"] = s.into();
            }
            v
        }
        Part::ToolCall(c) => {
            let mut v = json!({"functionCall": {"id": c.id, "name": c.name, "args": arguments_object(&c.arguments)}});
            if let Some(s) = gemini_signature(&c.signature) {
                v["thoughtSignature"] = s.into();
            }
            v
        }
        _ => return None,
    })
}

pub fn encode_response(r: &Response, ctx: &ClientContext) -> Vec<u8> {
    let body = json!({
        "candidates": [{
            "content": {"role": "model", "parts": r.parts.iter().filter_map(output_part).collect::<Vec<_>>()},
            "finishReason": finish_name(&r.finish),
            "index": 0,
        }],
        "usageMetadata": usage_json(&r.usage),
        "modelVersion": ctx.model,
        "responseId": if r.id.is_empty() { new_id("") } else { r.id.clone() },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// Reads Gemini's SSE chunks.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    blocks: Blocks,
    calls: u64,
    finished: bool,
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        let v: Value = event_json(data)?;
        // Cloud Code wraps each chunk as {"response": {...}}.
        let v = match v.get("response") {
            Some(inner) if v.get("candidates").is_none() => inner.clone(),
            _ => v,
        };
        if let Some(e) = v.get("error") {
            return Err(reported_error(str_of(e, "message")));
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: str_of(&v, "responseId").unwrap_or_default().to_owned(),
                model: str_of(&v, "modelVersion").unwrap_or_default().to_owned(),
            });
        }
        if let Some(candidate) = v.pointer("/candidates/0") {
            for p in candidate
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let signature = str_of(p, "thoughtSignature");
                if let Some(t) = str_of(p, "text") {
                    if p.get("thought").and_then(Value::as_bool) == Some(true) {
                        self.blocks.thinking(t.to_owned(), out);
                        if let Some(s) = signature {
                            let index =
                                self.blocks
                                    .index_for(Key::Thinking, || Block::Thinking, out);
                            out.push(Event::Delta {
                                index,
                                delta: Delta::Signature(s.to_owned()),
                            });
                        }
                    } else {
                        self.blocks.text(t.to_owned(), out);
                    }
                } else if let Some(f) = p.get("functionCall") {
                    self.calls += 1;
                    let id = str_of(f, "id")
                        .map(str::to_owned)
                        .unwrap_or_else(|| new_id("call_"));
                    let name = str_of(f, "name").unwrap_or_default().to_owned();
                    let index = self.blocks.index_for(
                        Key::Tool(self.calls),
                        || Block::ToolCall { id, name },
                        out,
                    );
                    let args = f.get("args").map_or_else(|| "{}".into(), Value::to_string);
                    out.push(Event::Delta {
                        index,
                        delta: Delta::Arguments(args),
                    });
                    if let Some(s) = signature {
                        out.push(Event::Delta {
                            index,
                            delta: Delta::Signature(s.to_owned()),
                        });
                    }
                    self.blocks.close(out);
                }
            }
            if let Some(reason) = str_of(candidate, "finishReason") {
                self.blocks.close(out);
                self.finished = true;
                let mut finish = finish_from(reason);
                if finish == Finish::Stop && self.calls > 0 {
                    finish = Finish::ToolUse;
                }
                out.push(Event::Finish(finish));
            }
        }
        if let Some(u) = v.get("usageMetadata") {
            out.push(Event::Usage(usage_from(u)));
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.finished
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        self.blocks.close(out);
    }
}

/// Writes Gemini's SSE chunks.
pub struct Encoder {
    model: String,
    id: String,
    tally: Tally,
    /// Tool calls are sent whole: arguments gather until the block stops.
    calls: HashMap<usize, (String, String, String, Option<String>)>,
}

impl Encoder {
    pub fn new(ctx: &ClientContext) -> Self {
        Self {
            model: ctx.model.clone(),
            id: new_id(""),
            tally: Tally::default(),
            calls: HashMap::new(),
        }
    }

    fn chunk(&self, parts: Vec<Value>, out: &mut Vec<u8>) {
        let body = json!({
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "modelVersion": self.model,
            "responseId": self.id,
        });
        sse(out, None, &body);
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.tally.note(event);
        match event {
            Event::BlockStart {
                index,
                block: Block::ToolCall { id, name },
            } => {
                self.calls
                    .insert(*index, (id.clone(), name.clone(), String::new(), None));
            }
            Event::Delta { index, delta } => match delta {
                Delta::Text(t) => self.chunk(vec![json!({"text": t})], out),
                Delta::Thinking(t) => self.chunk(vec![json!({"text": t, "thought": true})], out),
                Delta::Arguments(a) => {
                    if let Some(call) = self.calls.get_mut(index) {
                        call.2.push_str(a);
                    }
                }
                Delta::Signature(s) => {
                    let s = Some(s.clone());
                    let Some(s) = gemini_signature(&s) else {
                        return;
                    };
                    if let Some(call) = self.calls.get_mut(index) {
                        call.3 = Some(s.to_owned());
                    } else {
                        self.chunk(
                            vec![json!({"text": "", "thought": true, "thoughtSignature": s})],
                            out,
                        );
                    }
                }
            },
            // The answer keeps the upstream's id, as the whole-JSON encoder does.
            Event::Start { id, .. } if !id.is_empty() => self.id.clone_from(id),
            Event::BlockStop { index } => {
                if let Some((id, name, args, sig)) = self.calls.remove(index) {
                    let mut part = json!({"functionCall": {"id": id, "name": name, "args": arguments_object(&args)}});
                    if let Some(s) = sig {
                        part["thoughtSignature"] = s.into();
                    }
                    self.chunk(vec![part], out);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let pending: Vec<usize> = self.calls.keys().copied().collect();
        for index in pending {
            self.encode(&Event::BlockStop { index }, out);
        }
        let body = json!({
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": ""}]},
                "finishReason": finish_name(self.tally.finish.as_ref().unwrap_or(&Finish::Stop)),
                "index": 0,
            }],
            "usageMetadata": usage_json(&self.tally.usage),
            "modelVersion": self.model,
            "responseId": self.id,
        });
        sse(out, None, &body);
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&error_event(message));
    }
}

/// The stream error the Gemini SDKs raise as an API error.
pub fn error_event(message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    sse(
        &mut out,
        None,
        &json!({"error": {"code": 502, "message": message, "status": "UNAVAILABLE"}}),
    );
    out
}

/// Google's canonical status names, which the Gemini SDKs show.
pub fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        413 => "INVALID_ARGUMENT",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Aggregator;

    #[test]
    fn contents_tools_and_config_decode() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"},{"inlineData":{"mimeType":"image/png","data":"AA"}}]},
            {"role":"model","parts":[{"functionCall":{"name":"ls","args":{"d":"."}},"thoughtSignature":"SIG"}]},
            {"role":"user","parts":[{"functionResponse":{"name":"ls","response":{"output":"a b"}}}]}],
            "system_instruction":{"parts":[{"text":"sys"}]},
            "tools":[{"functionDeclarations":[{"name":"ls","parametersJsonSchema":{"type":"object"}}]}],
            "generationConfig":{"maxOutputTokens":100,"thinkingConfig":{"thinkingLevel":"HIGH"},"responseMimeType":"application/json"}}"#;
        let r = decode_request(body).unwrap().request;
        assert_eq!(r.system[0].text, "sys");
        assert!(matches!(r.messages[0].parts[1], Part::Image(_)));
        let Part::ToolCall(call) = &r.messages[1].parts[0] else {
            panic!()
        };
        assert_eq!(call.signature.as_deref(), Some("SIG"));
        assert!(
            matches!(&r.messages[2].parts[0], Part::ToolResult(t) if t.call_id == call.id && t.text() == "a b")
        );
        assert_eq!(r.reasoning.unwrap().effort.as_deref(), Some("high"));
        assert_eq!(r.response_format, Some(ResponseFormat::JsonObject));
    }

    #[test]
    fn encode_then_decode_is_stable() {
        let body = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]},
            {"role":"model","parts":[{"functionCall":{"id":"c1","name":"ls","args":{"d":"."}},"thoughtSignature":"S"}]},
            {"role":"user","parts":[{"functionResponse":{"id":"c1","name":"ls","response":{"output":"x"}}}]}],
            "systemInstruction":{"parts":[{"text":"sys"}]},
            "tools":[{"functionDeclarations":[{"name":"ls","description":"d","parametersJsonSchema":{"type":"object"}}]}],
            "toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
            "generationConfig":{"temperature":0.3,"topK":4,"stopSequences":["Z"],"thinkingConfig":{"thinkingBudget":2048}}}"#;
        let first = decode_request(body).unwrap().request;
        let encoded = encode_request(&first, "gemini-2.5-flash").unwrap();
        let second = decode_request(&encoded.body).unwrap().request;
        assert_eq!(first, second);
    }

    #[test]
    fn foreign_tool_calls_get_the_documented_signature() {
        let req = Request {
            messages: vec![Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall(ToolCall {
                    id: "toolu_1".into(),
                    name: "f".into(),
                    arguments: "{}".into(),
                    signature: None,
                })],
            }],
            ..Default::default()
        };
        let e = encode_request(&req, "gemini-3-pro").unwrap();
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(
            v["contents"][0]["parts"][0]["thoughtSignature"],
            FOREIGN_SIGNATURE
        );
    }

    #[test]
    fn the_stream_decodes_thoughts_calls_and_usage() {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for data in [
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"plan","thought":true}]}}],"modelVersion":"gemini-2.5-flash","responseId":"r1"}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]}}]}"#,
            r#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"ls","args":{"d":"."}},"thoughtSignature":"TS"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":5,"thoughtsTokenCount":7,"cachedContentTokenCount":8}}"#,
        ] {
            d.feed(data, &mut out).unwrap();
        }
        assert!(d.is_complete());
        let mut agg = Aggregator::default();
        out.into_iter().for_each(|e| agg.push(e));
        let r = agg.finish();
        assert_eq!(r.parts.len(), 3);
        assert!(matches!(&r.parts[2], Part::ToolCall(c) if c.signature.as_deref() == Some("TS")));
        assert_eq!(r.finish, Finish::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input: 12,
                cache_read: 8,
                cache_write: 0,
                output: 12,
                reasoning: 7
            }
        );
    }
}
