//! Ollama's chat API (`POST /v1/api/chat`), client side only: JSON in, NDJSON out (streaming
//! unless the client says `"stream": false`).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::codec::{StreamEncoder, Tally};
use super::ir::*;
use super::json::{arguments_object, arguments_text, new_id, parse_object, str_of};
use super::{ClientContext, Decoded, FormatError};

#[derive(Deserialize)]
struct ChatRequest {
    model: Option<String>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    tools: Vec<ToolIn>,
    stream: Option<bool>,
    format: Option<Value>,
    options: Option<Value>,
    think: Option<Value>,
}

#[derive(Deserialize)]
struct ToolIn {
    function: Option<FunctionIn>,
}

#[derive(Deserialize)]
struct FunctionIn {
    name: String,
    description: Option<String>,
    parameters: Option<Box<RawValue>>,
}

pub fn decode_request(body: &[u8]) -> Result<Decoded, FormatError> {
    let r: ChatRequest = parse_object(body)?;
    let model = r
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| FormatError::at("model", "model is required"))?;
    let mut req = Request {
        model: model.clone(),
        stream: r.stream.unwrap_or(true),
        ..Default::default()
    };
    let mut leading = true;
    let mut call_ids: Vec<(String, String)> = Vec::new();
    for (i, m) in r.messages.iter().enumerate() {
        let content = str_of(m, "content").unwrap_or_default().to_owned();
        match str_of(m, "role").unwrap_or("user") {
            "system" => {
                if leading {
                    req.system.push(TextBlock {
                        text: content,
                        cache: false,
                    });
                } else {
                    req.messages.push(Message {
                        role: Role::System,
                        parts: vec![Part::text(content)],
                    });
                }
            }
            "assistant" => {
                leading = false;
                let mut parts = Vec::new();
                if let Some(t) = str_of(m, "thinking").filter(|t| !t.is_empty()) {
                    parts.push(Part::Thinking(Thinking {
                        text: t.to_owned(),
                        signature: None,
                    }));
                }
                if !content.is_empty() {
                    parts.push(Part::text(content));
                }
                for (j, c) in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let name = c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let id = str_of(c, "id")
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("call_{i}_{j}"));
                    call_ids.push((name.clone(), id.clone()));
                    parts.push(Part::ToolCall(ToolCall {
                        id,
                        name,
                        arguments: arguments_text(c.pointer("/function/arguments")),
                        signature: None,
                    }));
                }
                req.messages.push(Message {
                    role: Role::Assistant,
                    parts,
                });
            }
            "tool" => {
                leading = false;
                // Ollama answers tools by name; match the earliest unanswered call of that name.
                let name = str_of(m, "tool_name").or_else(|| str_of(m, "name"));
                let pos = call_ids
                    .iter()
                    .position(|(n, _)| name.is_none_or(|name| n == name));
                let (name, id) = match pos {
                    Some(p) => call_ids.remove(p),
                    None => (name.unwrap_or("tool").to_owned(), format!("call_{i}")),
                };
                req.messages.push(Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(ToolResult {
                        call_id: id,
                        name: Some(name),
                        content: vec![Part::text(content)],
                        is_error: false,
                    })],
                });
            }
            _ => {
                leading = false;
                let mut parts = vec![Part::text(content)];
                for img in m
                    .get("images")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    parts.push(Part::Image(Media::Base64 {
                        media_type: sniff_image(img).into(),
                        data: img.to_owned(),
                    }));
                }
                req.messages.push(Message {
                    role: Role::User,
                    parts,
                });
            }
        }
    }
    for t in r.tools {
        if let Some(f) = t.function {
            req.tools.push(Tool::Function(FunctionTool {
                name: f.name,
                description: f.description,
                parameters: f.parameters.unwrap_or_else(empty_schema),
                strict: None,
                cache: false,
            }));
        }
    }
    if let Some(o) = &r.options {
        req.temperature = o.get("temperature").and_then(Value::as_f64);
        req.top_p = o.get("top_p").and_then(Value::as_f64);
        req.top_k = o.get("top_k").and_then(Value::as_u64);
        req.seed = o.get("seed").and_then(Value::as_i64);
        req.max_tokens = o
            .get("num_predict")
            .and_then(Value::as_i64)
            .filter(|n| *n > 0)
            .map(|n| n as u64);
        if let Some(stop) = o.get("stop").and_then(Value::as_array) {
            req.stop = stop
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
        }
    }
    req.response_format = match &r.format {
        Some(Value::String(s)) if s == "json" => Some(ResponseFormat::JsonObject),
        Some(schema @ Value::Object(_)) => Some(ResponseFormat::JsonSchema {
            name: "response".into(),
            schema: serde_json::value::to_raw_value(schema).unwrap_or_else(|_| empty_schema()),
            strict: None,
        }),
        _ => None,
    };
    req.reasoning = match &r.think {
        Some(Value::Bool(true)) => Some(Reasoning::default()),
        Some(Value::Bool(false)) => Some(Reasoning {
            disabled: true,
            ..Default::default()
        }),
        Some(Value::String(level)) => Some(Reasoning {
            effort: Some(level.clone()),
            ..Default::default()
        }),
        _ => None,
    };
    Ok(Decoded {
        request: req,
        context: ClientContext {
            model,
            ..Default::default()
        },
    })
}

/// Ollama sends images as bare base64; the magic bytes say which kind.
fn sniff_image(b64: &str) -> &'static str {
    if b64.starts_with("iVBOR") {
        "image/png"
    } else if b64.starts_with("R0lG") {
        "image/gif"
    } else if b64.starts_with("UklG") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

fn done_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "length",
        _ => "stop",
    }
}

/// RFC 3339 in UTC with up to nanoseconds, as Ollama writes it (Go's `time.RFC3339Nano`).
fn created_at() -> String {
    jiff::Timestamp::now().to_string()
}

fn final_fields(v: &mut Value, finish: &Finish, usage: &Usage) {
    v["done"] = true.into();
    v["done_reason"] = done_reason(finish).into();
    v["prompt_eval_count"] = usage.prompt_total().into();
    v["eval_count"] = usage.output.into();
}

/// The counts in an Ollama answer (it reports prompt and output tokens only).
pub fn usage_in_body(body: &[u8]) -> Option<Usage> {
    #[derive(serde::Deserialize)]
    struct Counts {
        prompt_eval_count: Option<u64>,
        eval_count: Option<u64>,
    }
    let c: Counts = serde_json::from_slice(body).ok()?;
    Some(Usage {
        input: c.prompt_eval_count?,
        output: c.eval_count.unwrap_or(0),
        ..Default::default()
    })
}

pub fn encode_response(r: &Response, ctx: &ClientContext) -> Vec<u8> {
    let mut msg = json!({"role": "assistant", "content": ""});
    let mut text = String::new();
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for p in &r.parts {
        match p {
            Part::Text { text: t, .. } => text.push_str(t),
            Part::Thinking(t) => thinking.push_str(&t.text),
            Part::ToolCall(c) => calls.push(json!({"id": c.id, "function": {"name": c.name,
                "arguments": arguments_object(&c.arguments)}})),
            _ => {}
        }
    }
    msg["content"] = text.into();
    if !thinking.is_empty() {
        msg["thinking"] = thinking.into();
    }
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    }
    let mut v = json!({"model": ctx.model, "created_at": created_at(), "message": msg});
    final_fields(&mut v, &r.finish, &r.usage);
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Writes Ollama's NDJSON lines.
pub struct Encoder {
    model: String,
    tally: Tally,
    calls: Vec<(usize, String, String, String)>,
}

impl Encoder {
    pub fn new(ctx: &ClientContext) -> Self {
        Self {
            model: ctx.model.clone(),
            tally: Tally::default(),
            calls: Vec::new(),
        }
    }

    fn line(&self, message: Value, out: &mut Vec<u8>) {
        let v = json!({"model": self.model, "created_at": created_at(), "message": message, "done": false});
        let _ = serde_json::to_writer(&mut *out, &v);
        out.push(b'\n');
    }
}

impl StreamEncoder for Encoder {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>) {
        self.tally.note(event);
        match event {
            Event::BlockStart {
                index,
                block: Block::ToolCall { id, name },
            } => self
                .calls
                .push((*index, id.clone(), name.clone(), String::new())),
            Event::Delta { index, delta } => match delta {
                Delta::Text(t) => self.line(json!({"role": "assistant", "content": t}), out),
                Delta::Thinking(t) => self.line(
                    json!({"role": "assistant", "content": "", "thinking": t}),
                    out,
                ),
                Delta::Arguments(a) => {
                    if let Some(c) = self.calls.iter_mut().find(|c| c.0 == *index) {
                        c.3.push_str(a);
                    }
                }
                Delta::Signature(_) => {}
            },
            Event::BlockStop { index } => {
                if let Some(pos) = self.calls.iter().position(|c| c.0 == *index) {
                    let (_, id, name, args) = self.calls.remove(pos);
                    self.line(
                        json!({"role": "assistant", "content": "", "tool_calls": [{"id": id,
                            "function": {"name": name, "arguments": arguments_object(&args)}}]}),
                        out,
                    );
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let mut v = json!({"model": self.model, "created_at": created_at(),
            "message": {"role": "assistant", "content": ""}});
        final_fields(
            &mut v,
            self.tally.finish.as_ref().unwrap_or(&Finish::Stop),
            &self.tally.usage,
        );
        let _ = serde_json::to_writer(&mut *out, &v);
        out.push(b'\n');
    }

    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&error_line(message));
    }
}

/// The line that ends an Ollama stream with an error.
pub fn error_line(message: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(&json!({"error": message})).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `GET /api/tags`: the routable models as Ollama lists local ones.
pub fn tags(models: &[String]) -> Value {
    let now = created_at();
    let list: Vec<Value> = models
        .iter()
        .map(|m| {
            json!({"name": m, "model": m, "modified_at": now, "size": 0,
                "digest": new_id(""), "details": {"format": "remote", "family": m.split('/').next().unwrap_or(m)}})
        })
        .collect();
    json!({"models": list})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ollama_chat_decodes_with_options_images_and_tool_answers() {
        let body = br#"{"model":"oa/gpt-4o","messages":[{"role":"system","content":"s"},
            {"role":"user","content":"look","images":["iVBORw0KGgo="]},
            {"role":"assistant","content":"","tool_calls":[{"function":{"name":"ls","arguments":{"d":"."}}}]},
            {"role":"tool","tool_name":"ls","content":"a b"}],
            "options":{"temperature":0.1,"num_predict":50,"stop":["x"]},"think":true}"#;
        let d = decode_request(body).unwrap();
        let r = d.request;
        assert!(r.stream, "Ollama streams unless told not to");
        assert!(
            matches!(&r.messages[0].parts[1], Part::Image(Media::Base64 { media_type, .. }) if media_type == "image/png")
        );
        let Part::ToolCall(call) = &r.messages[1].parts[0] else {
            panic!()
        };
        assert!(matches!(&r.messages[2].parts[0], Part::ToolResult(t) if t.call_id == call.id));
        assert_eq!(r.max_tokens, Some(50));
        assert!(r.reasoning.is_some());
    }

    #[test]
    fn the_stream_is_ndjson_ending_with_done() {
        let ctx = ClientContext {
            model: "m".into(),
            ..Default::default()
        };
        let mut e = Encoder::new(&ctx);
        let mut out = Vec::new();
        for ev in super::super::codec::replay(&Response {
            parts: vec![Part::text("hi")],
            usage: Usage {
                input: 3,
                output: 2,
                ..Default::default()
            },
            ..Default::default()
        }) {
            e.encode(&ev, &mut out);
        }
        e.finish(&mut out);
        let lines: Vec<Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines[0]["message"]["content"], "hi");
        let last = lines.last().unwrap();
        assert_eq!(last["done"], true);
        assert_eq!(last["eval_count"], 2);
    }
}
