//! Turns captured bytes into what the inspector shows: bodies as JSON where they are JSON,
//! streams as their list of events, secrets redacted; the request's settings at a glance;
//! the answer's text, thinking and tool calls apart.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Captured;
use super::redact::Redactor;
use crate::format::{self, Aggregator, Api, Finish, Part, Request, Response};
use crate::providers::WireFormat;

/// What is stored of a layer beside its body: URL or status, headers (redacted), size, and
/// whether the body was cut at the size cap.
pub fn meta(c: &Captured, r: &Redactor) -> String {
    let mut out = Map::new();
    if let Some(url) = &c.url {
        out.insert("url".into(), Value::String(r.text(url)));
    }
    if let Some(status) = c.status {
        out.insert("status".into(), status.into());
    }
    out.insert("headers".into(), r.headers(&c.headers));
    out.insert("bytes".into(), c.body.len().into());
    out.insert("truncated".into(), c.body.truncated.into());
    if c.body.skipped {
        out.insert("skipped".into(), true.into());
    }
    Value::Object(out).to_string()
}

/// One layer of a request as the inspector shows it: URL or status, headers (redacted), the
/// body as JSON where it is JSON (or text), or a stream as its events.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Layer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub events: Option<Vec<Value>>,
    #[serde(default)]
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
    #[serde(default)]
    pub truncated: bool,
    /// The body was not kept: more requests came that second than the inspector keeps
    /// bodies of (`inspector_bodies_per_second`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub skipped: bool,
}

/// A stored layer as the inspector shows it: its meta with the body rendered.
pub fn layer(meta: Option<&str>, body: &[u8], r: &Redactor) -> Option<Layer> {
    let mut out: Layer = serde_json::from_str(meta?).ok()?;
    match self::body(body, r) {
        ("events", Value::Array(events)) => out.events = Some(events),
        (_, Value::Null) => {}
        (_, body) => out.body = Some(body),
    }
    Some(out)
}

/// `("body", json-or-text)` for a whole body, `("events", [...])` for SSE or NDJSON.
fn body(bytes: &[u8], r: &Redactor) -> (&'static str, Value) {
    if bytes.is_empty() {
        return ("body", Value::Null);
    }
    if let Ok(mut v) = serde_json::from_slice::<Value>(bytes) {
        r.value(&mut v);
        return ("body", v);
    }
    let text = String::from_utf8_lossy(bytes);
    if text.starts_with("data:") || text.starts_with("event:") || text.starts_with(':') {
        let events = format::sse::split_events(bytes)
            .into_iter()
            .filter_map(|e| {
                let data = e.data?;
                let mut data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                r.value(&mut data);
                Some(match format::sse::event_name(&e.raw) {
                    Some(name) => json!({ "event": name, "data": data }),
                    None => json!({ "data": data }),
                })
            })
            .collect();
        return ("events", Value::Array(events));
    }
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map_while(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    if lines.len() > 1 || (lines.len() == 1 && text.trim_end().lines().count() == 1) {
        let mut v = Value::Array(lines);
        r.value(&mut v);
        return ("events", v);
    }
    ("body", Value::String(r.text(&text)))
}

/// The request's settings, readable at a glance.
pub fn config(api: Api, body: &[u8]) -> Value {
    let Ok(decoded) = format::decode_request(api, body) else {
        return Value::Null;
    };
    let q: &Request = &decoded.request;
    let tools: Vec<Value> = q
        .tools
        .iter()
        .map(|t| match t {
            format::ir::Tool::Function(f) => Value::String(f.name.clone()),
            format::ir::Tool::WebSearch => Value::String("web_search".into()),
        })
        .collect();
    let reasoning = q.reasoning.as_ref().map(|r| {
        json!({
            "effort": r.effort, "budgetTokens": r.budget_tokens, "adaptive": r.adaptive,
            "disabled": r.disabled, "summary": r.summary,
        })
    });
    let tool_choice = q.tool_choice.as_ref().map(|c| match c {
        format::ir::ToolChoice::Auto => "auto".to_owned(),
        format::ir::ToolChoice::None => "none".to_owned(),
        format::ir::ToolChoice::Required => "required".to_owned(),
        format::ir::ToolChoice::Function(name) => format!("function:{name}"),
    });
    let response_format = q.response_format.as_ref().map(|f| match f {
        format::ir::ResponseFormat::JsonObject => "json_object".to_owned(),
        format::ir::ResponseFormat::JsonSchema { name, .. } => format!("json_schema:{name}"),
    });
    json!({
        "model": q.model,
        "stream": q.stream,
        "maxTokens": q.max_tokens,
        "temperature": q.temperature,
        "topP": q.top_p,
        "topK": q.top_k,
        "stop": q.stop,
        "seed": q.seed,
        "reasoning": reasoning,
        "tools": tools,
        "toolChoice": tool_choice,
        "parallelToolCalls": q.parallel_tool_calls,
        "responseFormat": response_format,
        "systemPrompts": q.system.len(),
        "messages": q.messages.len(),
    })
}

/// What the model answered: text, thinking and tool calls kept apart.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AnswerView {
    pub content: String,
    pub thinking: Option<String>,
    pub tool_calls: Vec<ToolCallView>,
    pub finish: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolCallView {
    pub id: String,
    pub name: String,
    /// The arguments as JSON, or as the text the model wrote when that is not JSON.
    pub arguments: Value,
}

/// What the model answered, read from the provider's raw answer: text, thinking and tool
/// calls kept apart.
pub fn answer(
    wire: Option<WireFormat>,
    provider_body: &[u8],
    api: Api,
    client_body: &[u8],
) -> Option<AnswerView> {
    let response = wire
        .and_then(|w| read_answer(w, provider_body))
        .or_else(|| read_answer(api.wire()?, client_body))?;
    let mut content = String::new();
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for p in &response.parts {
        match p {
            Part::Text { text, .. } => content.push_str(text),
            Part::Thinking(t) => thinking.push_str(&t.text),
            Part::ToolCall(c) => calls.push(ToolCallView {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: serde_json::from_str::<Value>(&c.arguments)
                    .unwrap_or(Value::String(c.arguments.clone())),
            }),
            _ => {}
        }
    }
    Some(AnswerView {
        content,
        thinking: (!thinking.is_empty()).then_some(thinking),
        tool_calls: calls,
        finish: finish_name(&response.finish),
    })
}

fn read_answer(wire: WireFormat, body: &[u8]) -> Option<Response> {
    if body.is_empty() {
        return None;
    }
    if let Ok(r) = format::decode_response(wire, body) {
        return Some(r);
    }
    let events = format::sse::events_so_far(format::stream_decoder(wire).as_mut(), body);
    if events.is_empty() {
        return None;
    }
    let mut agg = Aggregator::default();
    events.into_iter().for_each(|e| agg.push(e));
    Some(agg.finish())
}

fn finish_name(f: &Finish) -> &'static str {
    match f {
        Finish::Stop => "stop",
        Finish::Length => "length",
        Finish::ToolUse => "tool_use",
        Finish::StopSequence(_) => "stop_sequence",
        Finish::ContentFilter => "content_filter",
        Finish::Refusal => "refusal",
        Finish::Pause => "pause",
        Finish::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspector::RawLog;

    fn shown(body: &'static [u8]) -> Value {
        let r = Redactor::new([]);
        let c = Captured {
            body: RawLog::whole(body, 1 << 20),
            ..Captured::default()
        };
        serde_json::to_value(layer(Some(&meta(&c, &r)), c.body.bytes(), &r)).unwrap_or_default()
    }

    #[test]
    fn bodies_are_json_streams_are_event_lists() {
        let v = shown(br#"{"a":1}"#);
        assert_eq!(v["body"]["a"], 1);
        assert_eq!(v["bytes"], 7);
        let v = shown(b"event: message_start\ndata: {\"x\":1}\n\ndata: [DONE]\n\n");
        assert_eq!(v["events"][0]["event"], "message_start");
        assert_eq!(v["events"][0]["data"]["x"], 1);
        assert_eq!(v["events"][1]["data"], "[DONE]");
        let v = shown(b"{\"done\":false}\n{\"done\":true}\n");
        assert_eq!(v["events"][1]["done"], true);
        let v = shown(b"<html>oops");
        assert_eq!(v["body"], "<html>oops");
    }

    #[test]
    fn thinking_is_kept_apart_from_the_answer() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"m",
            "content":[{"type":"thinking","thinking":"hmm","signature":"s"},
                       {"type":"text","text":"hi"},
                       {"type":"tool_use","id":"t1","name":"f","input":{"a":1}}],
            "stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}"#;
        let v = serde_json::to_value(answer(
            Some(WireFormat::Anthropic),
            body,
            Api::OpenaiChat,
            b"",
        ))
        .unwrap_or_default();
        assert_eq!(v["content"], "hi");
        assert_eq!(v["thinking"], "hmm");
        assert_eq!(v["toolCalls"][0]["arguments"]["a"], 1);
        assert_eq!(v["finish"], "tool_use");
    }

    #[test]
    fn the_request_configuration_is_summed_up() {
        let body = br#"{"model":"m","max_tokens":100,"temperature":0.5,
            "messages":[{"role":"user","content":"x"}],
            "tools":[{"type":"function","function":{"name":"f","parameters":{}}}],
            "reasoning_effort":"high"}"#;
        let v = config(Api::OpenaiChat, body);
        assert_eq!(v["maxTokens"], 100);
        assert_eq!(v["temperature"], 0.5);
        assert_eq!(v["tools"][0], "f");
        assert_eq!(v["reasoning"]["effort"], "high");
    }
}
