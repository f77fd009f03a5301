//! Stream validators, one per client API: they accept only sequences the API's own servers
//! could send (every block opened is closed, `[DONE]` once, `message_stop` last, increasing
//! `sequence_number`, `response.completed` last) and return what the stream said, so tests can
//! check a translated stream both for form and for content.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::Api;

/// What a valid stream carried.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub text: String,
    pub thinking: String,
    /// (name, arguments JSON text) in order.
    pub tool_calls: Vec<(String, String)>,
    pub finish: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The stream ended with the API's error event.
    pub error: Option<String>,
}

pub fn stream(api: Api, bytes: &[u8]) -> Result<Summary, String> {
    match api {
        Api::OpenaiChat => openai_chat(&sse_data(bytes)?),
        Api::Anthropic => anthropic(&sse_data(bytes)?),
        Api::Responses => responses(&sse_data(bytes)?),
        Api::Gemini => gemini(&sse_data(bytes)?),
        Api::Ollama => ollama(bytes),
    }
}

/// (event name, data) of each SSE event; fails on bytes after the last blank line.
fn sse_data(bytes: &[u8]) -> Result<Vec<(Option<String>, String)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the stream is not UTF-8")?;
    let text = text.replace("\r\n", "\n");
    if !text.is_empty() && !text.ends_with("\n\n") {
        return Err("the stream ends in the middle of an event".into());
    }
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut name = None;
        let mut data: Option<String> = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                let v = v.strip_prefix(' ').unwrap_or(v);
                match &mut data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(v);
                    }
                    None => data = Some(v.to_owned()),
                }
            }
        }
        if let Some(d) = data {
            out.push((name, d));
        }
    }
    Ok(out)
}

fn json(data: &str) -> Result<Value, String> {
    serde_json::from_str(data).map_err(|_| format!("event data is not JSON: {data:.80}"))
}

fn check_args(args: &str) -> Result<(), String> {
    match serde_json::from_str::<Value>(if args.is_empty() { "{}" } else { args }) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(format!("tool arguments are not a JSON object: {args:.80}")),
    }
}

fn openai_chat(events: &[(Option<String>, String)]) -> Result<Summary, String> {
    let mut s = Summary::default();
    let mut calls: HashMap<u64, usize> = HashMap::new();
    let mut done = false;
    for (i, (_, data)) in events.iter().enumerate() {
        if done {
            return Err("events after [DONE]".into());
        }
        if data == "[DONE]" {
            done = true;
            continue;
        }
        let v = json(data)?;
        if let Some(e) = v.get("error") {
            if i + 1 != events.len() {
                return Err("an error event that is not last".into());
            }
            s.error = Some(e["message"].as_str().unwrap_or_default().to_owned());
            return Ok(s);
        }
        if v["object"] != "chat.completion.chunk" {
            return Err(format!(
                "a chunk without object chat.completion.chunk: {data:.80}"
            ));
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            s.input_tokens = u["prompt_tokens"].as_u64().unwrap_or(0);
            s.output_tokens = u["completion_tokens"].as_u64().unwrap_or(0);
        }
        let Some(choice) = v.pointer("/choices/0") else {
            continue;
        };
        if !s.finish.is_empty() {
            return Err("content after the finish_reason chunk".into());
        }
        let d = &choice["delta"];
        if let Some(t) = d["content"].as_str() {
            s.text.push_str(t);
        }
        if let Some(t) = d["reasoning_content"].as_str() {
            s.thinking.push_str(t);
        }
        for c in d["tool_calls"].as_array().into_iter().flatten() {
            let n = c["index"]
                .as_u64()
                .ok_or("a tool call delta without index")?;
            let slot = match calls.get(&n) {
                Some(slot) => *slot,
                None => {
                    let name = c.pointer("/function/name").and_then(Value::as_str);
                    if c["id"].as_str().is_none() || name.is_none() {
                        return Err("a tool call's first delta lacks id or name".into());
                    }
                    s.tool_calls
                        .push((name.unwrap_or_default().to_owned(), String::new()));
                    calls.insert(n, s.tool_calls.len() - 1);
                    s.tool_calls.len() - 1
                }
            };
            if let Some(a) = c.pointer("/function/arguments").and_then(Value::as_str) {
                s.tool_calls[slot].1.push_str(a);
            }
        }
        if let Some(f) = choice["finish_reason"].as_str() {
            s.finish = f.to_owned();
        }
    }
    if !done {
        return Err("the stream did not end with [DONE]".into());
    }
    if s.finish.is_empty() {
        return Err("no chunk carried a finish_reason".into());
    }
    for (_, args) in &s.tool_calls {
        check_args(args)?;
    }
    Ok(s)
}

fn anthropic(events: &[(Option<String>, String)]) -> Result<Summary, String> {
    let mut s = Summary::default();
    let mut open: Option<(u64, String)> = None;
    let mut next_index = 0;
    let mut stopped = false;
    let mut delta_seen = false;
    for (i, (name, data)) in events.iter().enumerate() {
        if stopped {
            return Err("events after message_stop".into());
        }
        let v = json(data)?;
        let kind = v["type"].as_str().unwrap_or_default();
        if name.as_deref().is_some_and(|n| n != kind) {
            return Err(format!("event name {name:?} differs from its type {kind}"));
        }
        if i == 0 && kind != "message_start" && kind != "error" {
            return Err(format!("the first event is {kind}, not message_start"));
        }
        match kind {
            "message_start" => {
                if i != 0 {
                    return Err("message_start twice".into());
                }
                s.input_tokens = v
                    .pointer("/message/usage/input_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            "content_block_start" => {
                if open.is_some() {
                    return Err("a block started while another is open".into());
                }
                if delta_seen {
                    return Err("a block started after message_delta".into());
                }
                let index = v["index"].as_u64().ok_or("block without index")?;
                if index != next_index {
                    return Err(format!("block index {index}, expected {next_index}"));
                }
                next_index += 1;
                let b = &v["content_block"];
                let bt = b["type"].as_str().unwrap_or_default().to_owned();
                if bt == "tool_use" {
                    if b["id"].as_str().is_none_or(str::is_empty) {
                        return Err("tool_use block without id".into());
                    }
                    s.tool_calls.push((
                        b["name"].as_str().unwrap_or_default().to_owned(),
                        String::new(),
                    ));
                }
                open = Some((index, bt));
            }
            "content_block_delta" => {
                let index = v["index"].as_u64();
                let Some((open_index, bt)) = &open else {
                    return Err("a delta outside any block".into());
                };
                if index != Some(*open_index) {
                    return Err("a delta for a block that is not open".into());
                }
                let d = &v["delta"];
                match (bt.as_str(), d["type"].as_str().unwrap_or_default()) {
                    ("text", "text_delta") => s.text.push_str(d["text"].as_str().unwrap_or("")),
                    ("thinking", "thinking_delta") => {
                        s.thinking.push_str(d["thinking"].as_str().unwrap_or(""))
                    }
                    ("thinking", "signature_delta") => {}
                    ("tool_use", "input_json_delta") => {
                        if let Some(last) = s.tool_calls.last_mut() {
                            last.1.push_str(d["partial_json"].as_str().unwrap_or(""));
                        }
                    }
                    (b, d) => return Err(format!("a {d} inside a {b} block")),
                }
            }
            "content_block_stop" => {
                let index = v["index"].as_u64();
                match &open {
                    Some((o, _)) if Some(*o) == index => open = None,
                    _ => return Err("content_block_stop for a block that is not open".into()),
                }
            }
            "message_delta" => {
                if open.is_some() {
                    return Err("message_delta while a block is open".into());
                }
                delta_seen = true;
                s.finish = v
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                s.output_tokens = v
                    .pointer("/usage/output_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            "message_stop" => {
                if !delta_seen {
                    return Err("message_stop without message_delta".into());
                }
                stopped = true;
            }
            "ping" => {}
            "error" => {
                if i + 1 != events.len() {
                    return Err("an error event that is not last".into());
                }
                s.error = Some(
                    v.pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
                return Ok(s);
            }
            other => return Err(format!("unknown event type {other}")),
        }
    }
    if !stopped {
        return Err("the stream did not end with message_stop".into());
    }
    for (_, args) in &s.tool_calls {
        check_args(args)?;
    }
    Ok(s)
}

fn responses(events: &[(Option<String>, String)]) -> Result<Summary, String> {
    let mut s = Summary::default();
    let mut last_seq: Option<u64> = None;
    let mut open: HashSet<String> = HashSet::new();
    let mut ended = false;
    for (i, (name, data)) in events.iter().enumerate() {
        if ended {
            return Err("events after response.completed".into());
        }
        let v = json(data)?;
        let kind = v["type"].as_str().unwrap_or_default();
        if name.as_deref().is_some_and(|n| n != kind) {
            return Err(format!("event name {name:?} differs from its type {kind}"));
        }
        let seq = v["sequence_number"]
            .as_u64()
            .ok_or_else(|| format!("{kind} without sequence_number"))?;
        if last_seq.is_some_and(|l| seq <= l) {
            return Err(format!("sequence_number {seq} does not increase"));
        }
        last_seq = Some(seq);
        if i == 0 && kind != "response.created" {
            return Err(format!("the first event is {kind}, not response.created"));
        }
        let item_id = v["item_id"].as_str().unwrap_or_default();
        let need_open = |open: &HashSet<String>| {
            if open.contains(item_id) {
                Ok(())
            } else {
                Err(format!("{kind} for item {item_id} that is not open"))
            }
        };
        match kind {
            "response.created" | "response.in_progress" => {}
            "response.output_item.added" => {
                let item = &v["item"];
                let id = item["id"].as_str().ok_or("an item without id")?;
                if !open.insert(id.to_owned()) {
                    return Err("an item added twice".into());
                }
            }
            "response.output_item.done" => {
                let item = &v["item"];
                let id = item["id"].as_str().unwrap_or_default();
                if !open.remove(id) {
                    return Err(format!("item {id} done but never added"));
                }
                if item["type"] == "function_call" {
                    let args = item["arguments"].as_str().unwrap_or_default().to_owned();
                    check_args(&args)?;
                    let name = match item["namespace"].as_str() {
                        Some(ns) => format!("{ns}.{}", item["name"].as_str().unwrap_or("")),
                        None => item["name"].as_str().unwrap_or_default().to_owned(),
                    };
                    if item["call_id"].as_str().is_none_or(str::is_empty) {
                        return Err("a function_call without call_id".into());
                    }
                    s.tool_calls.push((name, args));
                }
            }
            "response.output_text.delta" => {
                need_open(&open)?;
                s.text.push_str(v["delta"].as_str().unwrap_or(""));
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                need_open(&open)?;
                s.thinking.push_str(v["delta"].as_str().unwrap_or(""));
            }
            "response.content_part.added"
            | "response.content_part.done"
            | "response.output_text.done"
            | "response.function_call_arguments.delta"
            | "response.function_call_arguments.done"
            | "response.reasoning_summary_part.added"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_summary_text.done" => need_open(&open)?,
            "response.completed" | "response.incomplete" => {
                if !open.is_empty() {
                    return Err("the response completed with items still open".into());
                }
                ended = true;
                s.finish = v
                    .pointer("/response/status")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                s.input_tokens = v
                    .pointer("/response/usage/input_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                s.output_tokens = v
                    .pointer("/response/usage/output_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            "response.failed" | "error" => {
                if i + 1 != events.len() {
                    return Err("a failure event that is not last".into());
                }
                s.error = Some(
                    v.pointer("/response/error/message")
                        .or_else(|| v.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                );
                return Ok(s);
            }
            other => return Err(format!("unknown event type {other}")),
        }
    }
    if !ended {
        return Err("the stream did not end with response.completed".into());
    }
    Ok(s)
}

fn gemini(events: &[(Option<String>, String)]) -> Result<Summary, String> {
    let mut s = Summary::default();
    for (i, (_, data)) in events.iter().enumerate() {
        if !s.finish.is_empty() {
            return Err("chunks after the one with finishReason".into());
        }
        let v = json(data)?;
        if let Some(e) = v.get("error") {
            if i + 1 != events.len() {
                return Err("an error chunk that is not last".into());
            }
            s.error = Some(e["message"].as_str().unwrap_or_default().to_owned());
            return Ok(s);
        }
        let c = v
            .pointer("/candidates/0")
            .ok_or("a chunk without candidates")?;
        for p in c
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = p["text"].as_str() {
                if p["thought"] == true {
                    s.thinking.push_str(t);
                } else {
                    s.text.push_str(t);
                }
            } else if let Some(f) = p.get("functionCall") {
                if !f["args"].is_object() && !f["args"].is_null() {
                    return Err("functionCall args are not an object".into());
                }
                s.tool_calls.push((
                    f["name"].as_str().unwrap_or_default().to_owned(),
                    f["args"].to_string(),
                ));
            }
        }
        if let Some(f) = c["finishReason"].as_str() {
            s.finish = f.to_owned();
            let u = &v["usageMetadata"];
            s.input_tokens = u["promptTokenCount"].as_u64().unwrap_or(0);
            s.output_tokens = u["candidatesTokenCount"].as_u64().unwrap_or(0)
                + u["thoughtsTokenCount"].as_u64().unwrap_or(0);
        }
    }
    if s.finish.is_empty() {
        return Err("no chunk carried a finishReason".into());
    }
    Ok(s)
}

fn ollama(bytes: &[u8]) -> Result<Summary, String> {
    let mut s = Summary::default();
    let text = std::str::from_utf8(bytes).map_err(|_| "the stream is not UTF-8")?;
    if !text.ends_with('\n') {
        return Err("the last line is not terminated".into());
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let mut done = false;
    for (i, line) in lines.iter().enumerate() {
        if done {
            return Err("lines after done:true".into());
        }
        let v = json(line)?;
        if let Some(e) = v.get("error") {
            if i + 1 != lines.len() {
                return Err("an error line that is not last".into());
            }
            s.error = Some(e.as_str().unwrap_or_default().to_owned());
            return Ok(s);
        }
        let m = &v["message"];
        s.text.push_str(m["content"].as_str().unwrap_or(""));
        s.thinking.push_str(m["thinking"].as_str().unwrap_or(""));
        for c in m["tool_calls"].as_array().into_iter().flatten() {
            s.tool_calls.push((
                c.pointer("/function/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                c.pointer("/function/arguments")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            ));
        }
        if v["done"] == true {
            done = true;
            s.finish = v["done_reason"].as_str().unwrap_or_default().to_owned();
            s.input_tokens = v["prompt_eval_count"].as_u64().unwrap_or(0);
            s.output_tokens = v["eval_count"].as_u64().unwrap_or(0);
        }
    }
    if !done {
        return Err("the stream did not end with done:true".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ir::{Finish, Part, Response, Thinking, ToolCall, Usage};
    use crate::format::{ClientContext, codec::replay, stream_encoder};

    fn sample() -> Response {
        Response {
            id: "x".into(),
            model: "m".into(),
            parts: vec![
                Part::Thinking(Thinking {
                    text: "plan".into(),
                    signature: Some("S".into()),
                }),
                Part::text("Hello"),
                Part::ToolCall(ToolCall {
                    id: "call_1".into(),
                    name: "ls".into(),
                    arguments: r#"{"d":"."}"#.into(),
                    signature: None,
                }),
            ],
            finish: Finish::ToolUse,
            usage: Usage {
                input: 10,
                output: 5,
                ..Default::default()
            },
        }
    }

    #[test]
    fn every_encoder_produces_a_stream_its_validator_accepts() {
        for api in [
            Api::OpenaiChat,
            Api::Anthropic,
            Api::Responses,
            Api::Gemini,
            Api::Ollama,
        ] {
            let ctx = ClientContext {
                model: "m".into(),
                ..Default::default()
            };
            let mut enc = stream_encoder(api, &ctx);
            let mut out = Vec::new();
            for e in replay(&sample()) {
                enc.encode(&e, &mut out);
            }
            enc.finish(&mut out);
            let s = stream(api, &out).unwrap_or_else(|e| panic!("{api:?}: {e}"));
            assert_eq!(s.text, "Hello", "{api:?}");
            assert_eq!(s.thinking, "plan", "{api:?}");
            assert_eq!(s.tool_calls.len(), 1, "{api:?}");
            assert!(s.tool_calls[0].0.ends_with("ls"), "{api:?}");
        }
    }

    #[test]
    fn every_encoder_fails_with_a_valid_terminal_error() {
        for api in [
            Api::OpenaiChat,
            Api::Anthropic,
            Api::Responses,
            Api::Gemini,
            Api::Ollama,
        ] {
            let mut enc = stream_encoder(api, &ClientContext::default());
            let mut out = Vec::new();
            let events = replay(&sample());
            for e in &events[..4] {
                enc.encode(e, &mut out);
            }
            enc.fail("upstream broke", &mut out);
            let s = stream(api, &out).unwrap_or_else(|e| panic!("{api:?}: {e}"));
            assert_eq!(s.error.as_deref(), Some("upstream broke"), "{api:?}");
        }
    }

    #[test]
    fn validators_reject_broken_sequences() {
        assert!(stream(Api::OpenaiChat, b"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n").is_err());
        assert!(stream(Api::Anthropic, b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n").is_err());
        assert!(stream(Api::Responses, b"event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":1}\n\nevent: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1}\n\n").is_err());
    }
}
