//! Cursor's chat protocol: a request is one Connect envelope around a protobuf message; the
//! answer is a stream of envelopes, each a protobuf frame (a piece of text or thinking, or a
//! tool call's fragment), closed by an end-of-stream envelope whose JSON carries any error.
//!
//! Cursor takes no system role and no earlier tool calls: the system prompt goes first as a
//! user message, and each tool result as a `<tool_result>` block that names its call, the way
//! Cursor's own agent reads them.

use std::io::Read as _;

use bytes::{Buf as _, Bytes, BytesMut};
use prost::Message as _;
use serde_json::{Value, json};

use super::proto;
use crate::format::codec::{Blocks, Framer, Key, StreamDecoder};
use crate::format::ir::{Block, Delta, Event, Finish, Part, Request, Role, Tool, Usage};

/// Cursor's frames are small; a length beyond this is not Cursor's stream.
const MAX_FRAME: usize = 16 << 20;
/// Envelope flags (Connect): the payload is gzip-compressed; the envelope ends the stream.
const COMPRESSED: u8 = 0x01;
const END_STREAM: u8 = 0x02;

const USER: i32 = 1;
const ASSISTANT: i32 = 2;

/// The request body: one uncompressed envelope, and what Cursor cannot carry.
pub fn encode(request: &Request, model: &str) -> Result<(Bytes, Vec<String>), String> {
    let mut dropped = unsupported_fields(request);
    let has_tools = !request.tools.is_empty();
    let mut texts: Vec<(i32, String)> = Vec::new();
    let system: Vec<&str> = request.system.iter().map(|b| b.text.as_str()).collect();
    if !system.is_empty() {
        texts.push((
            USER,
            format!("[System Instructions]\n{}", system.join("\n")),
        ));
    }
    // Earlier calls' names, for results that do not repeat them.
    let mut call_names: Vec<(&str, &str)> = Vec::new();
    for message in &request.messages {
        let mut pieces = Vec::new();
        for part in &message.parts {
            match part {
                Part::Text { text, .. } if !text.is_empty() => pieces.push(text.clone()),
                Part::ToolCall(call) => call_names.push((&call.id, &call.name)),
                Part::ToolResult(result) => {
                    let name = result.name.as_deref().or_else(|| {
                        call_names
                            .iter()
                            .find(|(id, _)| *id == result.call_id)
                            .map(|(_, name)| *name)
                    });
                    pieces.push(tool_result_block(
                        name.unwrap_or("tool"),
                        &result.call_id,
                        &result.text(),
                    ));
                }
                Part::Image(_) => note(&mut dropped, "images"),
                Part::Document(_) => note(&mut dropped, "documents"),
                _ => {}
            }
        }
        let text = pieces.join("\n");
        match message.role {
            Role::System if !text.is_empty() => {
                texts.push((USER, format!("[System Instructions]\n{text}")));
            }
            Role::User if !text.is_empty() => texts.push((USER, text)),
            // A turn that only called tools stays, so that the turns keep alternating.
            Role::Assistant => texts.push((ASSISTANT, text)),
            _ => {}
        }
    }
    let mut mcp_tools = Vec::new();
    for tool in &request.tools {
        match tool {
            Tool::Function(f) => mcp_tools.push(proto::McpTool {
                name: f.name.clone(),
                description: f.description.clone().unwrap_or_default(),
                parameters: f.parameters.get().to_owned(),
                server_name: "custom".into(),
            }),
            Tool::WebSearch => note(&mut dropped, "web_search"),
        }
    }
    let tools_kind = if has_tools {
        vec![proto::CLIENT_SIDE_TOOL_MCP]
    } else {
        Vec::new()
    };
    let mode = if has_tools { 2 } else { 1 };
    let count = texts.len();
    let mut conversation = Vec::with_capacity(count);
    let mut headers = Vec::with_capacity(count);
    for (i, (kind, text)) in texts.into_iter().enumerate() {
        let bubble_id = uuid::Uuid::new_v4().to_string();
        headers.push(proto::MessageHeader {
            bubble_id: bubble_id.clone(),
            r#type: kind,
        });
        conversation.push(proto::ConversationMessage {
            text,
            r#type: kind,
            bubble_id,
            is_agentic: has_tools,
            unified_mode: mode,
            supported_tools: if i + 1 == count {
                tools_kind.clone()
            } else {
                Vec::new()
            },
        });
    }
    let message = proto::ChatRequestWithTools {
        request: Some(proto::ChatRequest {
            conversation,
            unknown2: 1,
            explicit_context: Some(proto::ExplicitContext::default()),
            unknown4: 1,
            model: Some(proto::ModelDetails {
                model_name: model.to_owned(),
                azure_state: Vec::new(),
            }),
            should_cache: true,
            use_new_compression_scheme: true,
            conversation_id: uuid::Uuid::new_v4().to_string(),
            environment: Some(proto::EnvironmentInfo {
                platform: std::env::consts::OS.to_owned(),
                arch: std::env::consts::ARCH.to_owned(),
                local_timestamp: jiff::Timestamp::now().to_string(),
            }),
            is_agentic: has_tools,
            supported_tools: tools_kind,
            headers,
            mcp_tools,
            unified_mode: mode,
            should_disable_tools: !has_tools,
            thinking_level: thinking_level(request),
            mode_uses_auto_apply: true,
            unified_mode_name: if has_tools { "Agent" } else { "Ask" }.into(),
        }),
    };
    Ok((envelope(0, &message.encode_to_vec()), dropped))
}

fn note(dropped: &mut Vec<String>, what: &str) {
    if !dropped.iter().any(|d| d == what) {
        dropped.push(what.to_owned());
    }
}

/// Parameters Cursor's chat request has no field for.
fn unsupported_fields(request: &Request) -> Vec<String> {
    let set = [
        ("max_tokens", request.max_tokens.is_some()),
        ("temperature", request.temperature.is_some()),
        ("top_p", request.top_p.is_some()),
        ("top_k", request.top_k.is_some()),
        ("stop", !request.stop.is_empty()),
        ("seed", request.seed.is_some()),
        ("tool_choice", request.tool_choice.is_some()),
        ("response_format", request.response_format.is_some()),
    ];
    set.iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

/// Cursor's thinking levels: none, medium, high.
fn thinking_level(request: &Request) -> i32 {
    match request.reasoning.as_ref() {
        Some(r) if r.disabled => 0,
        Some(r) => match r.effort_or_default() {
            "high" | "xhigh" | "max" => 2,
            "medium" => 1,
            _ => 0,
        },
        None => 0,
    }
}

/// Only `&`, `<` and `>` would break the block's structure.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn tool_result_block(name: &str, call_id: &str, result: &str) -> String {
    let result: String = result
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect();
    format!(
        "<tool_result>\n<tool_name>{}</tool_name>\n<tool_call_id>{}</tool_call_id>\n<result>{}</result>\n</tool_result>",
        escape(name),
        escape(call_id),
        escape(&result)
    )
}

/// A Connect envelope: flags, the payload's length (big-endian), the payload.
pub fn envelope(flags: u8, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(flags);
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// Cuts the answer into envelopes, each one decoder event: `text\n…`, `thinking\n…`,
/// `tool\n{json}` or `end\n{trailer json}`.
#[derive(Default)]
pub struct EnvelopeFramer {
    buf: BytesMut,
}

impl Framer for EnvelopeFramer {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    fn pending(&self) -> usize {
        self.buf.len()
    }

    fn next_event(&mut self) -> Result<Option<String>, String> {
        loop {
            let Some(header) = self.buf.get(..5) else {
                return Ok(None);
            };
            let flags = header[0];
            let len = usize::try_from(u32::from_be_bytes([
                header[1], header[2], header[3], header[4],
            ]))
            .unwrap_or(usize::MAX);
            if len > MAX_FRAME {
                return Err(format!(
                    "the provider sent a malformed Connect envelope ({len} bytes)"
                ));
            }
            if self.buf.len() < 5 + len {
                return Ok(None);
            }
            self.buf.advance(5);
            let raw = self.buf.split_to(len).freeze();
            let payload = if flags & COMPRESSED != 0 {
                gunzip(&raw)?
            } else {
                raw.to_vec()
            };
            if flags & END_STREAM != 0 {
                return Ok(Some(format!("end\n{}", String::from_utf8_lossy(&payload))));
            }
            let frame = proto::ChatResponseWithTools::decode(payload.as_slice())
                .map_err(|e| format!("the provider sent a damaged protobuf frame: {e}"))?;
            if let Some(event) = event_of(frame) {
                return Ok(Some(event));
            }
        }
    }
}

fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(raw)
        .take(MAX_FRAME as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("the provider sent a damaged compressed frame: {e}"))?;
    if out.len() > MAX_FRAME {
        return Err("the provider sent a compressed frame that is too large".into());
    }
    Ok(out)
}

/// One frame as a decoder event; `None` for frames that carry nothing (a stream start).
fn event_of(frame: proto::ChatResponseWithTools) -> Option<String> {
    if let Some(call) = frame.tool_call {
        let tool = call.mcp_params.and_then(|p| p.tools.into_iter().next());
        let name = tool
            .as_ref()
            .map(|t| t.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or(call.name);
        let args = tool
            .map(|t| t.parameters)
            .filter(|a| !a.is_empty())
            .unwrap_or(call.raw_args);
        // Cursor appends `\nmc_<model call id>` to the call's id.
        let id = call.tool_call_id.split('\n').next().unwrap_or_default();
        if id.is_empty() || name.is_empty() {
            return None;
        }
        return Some(format!(
            "tool\n{}",
            json!({"id": id, "name": name, "args": args})
        ));
    }
    let response = frame.response?;
    if let Some(thinking) = response.thinking.filter(|t| !t.text.is_empty()) {
        return Some(format!("thinking\n{}", thinking.text));
    }
    (!response.text.is_empty()).then(|| format!("text\n{}", response.text))
}

#[derive(Default)]
pub struct Decoder {
    started: bool,
    blocks: Blocks,
    /// Tool calls seen, by Cursor's id, in order.
    tools: Vec<String>,
    output_chars: u64,
    ended: bool,
    finished: bool,
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        let (kind, payload) = data.split_once('\n').unwrap_or((data, ""));
        if kind == "end" {
            if let Some(message) = trailer_error(payload) {
                return Err(message);
            }
            self.ended = true;
            return Ok(());
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: format!("cursor-{}", uuid::Uuid::new_v4().simple()),
                model: String::new(),
            });
        }
        match kind {
            "text" => {
                self.output_chars += payload.chars().count() as u64;
                self.blocks.text(payload.to_owned(), out);
            }
            "thinking" => self.blocks.thinking(payload.to_owned(), out),
            "tool" => self.tool(payload, out),
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.ended
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if !self.started {
            out.push(Event::Start {
                id: format!("cursor-{}", uuid::Uuid::new_v4().simple()),
                model: String::new(),
            });
        }
        self.blocks.close(out);
        // Cursor's chat stream counts no tokens: the reply's are estimated.
        out.push(Event::Usage(Usage {
            output: self.output_chars.div_ceil(4),
            ..Usage::default()
        }));
        out.push(Event::Finish(if self.tools.is_empty() {
            Finish::Stop
        } else {
            Finish::ToolUse
        }));
    }
}

impl Decoder {
    fn tool(&mut self, payload: &str, out: &mut Vec<Event>) {
        let value: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default();
        let (id, name, args) = (text("id"), text("name"), text("args"));
        let number = match self.tools.iter().position(|t| t == id) {
            Some(n) => n,
            None => {
                self.tools.push(id.to_owned());
                self.tools.len() - 1
            }
        };
        let index = self.blocks.index_for(
            Key::Tool(number as u64),
            || Block::ToolCall {
                id: id.to_owned(),
                name: name.to_owned(),
            },
            out,
        );
        if !args.is_empty() {
            out.push(Event::Delta {
                index,
                delta: Delta::Arguments(args.to_owned()),
            });
        }
    }
}

/// The error an end-of-stream trailer carries, in words that classify it: the Connect code
/// (`resource_exhausted`, `unauthenticated`…), Cursor's own code (`ERROR_PRO_USER_USAGE_LIMIT`)
/// and its title.
fn trailer_error(payload: &str) -> Option<String> {
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    let value: Value = serde_json::from_str(payload).ok()?;
    let error = value.get("error")?;
    let debug = error.pointer("/details/0/debug");
    let code = text(error.get("code")).unwrap_or("unknown");
    let cursor_code = text(debug.and_then(|d| d.get("error")));
    let message = text(debug.and_then(|d| d.pointer("/details/title")))
        .or_else(|| text(debug.and_then(|d| d.pointer("/details/detail"))))
        .or_else(|| text(error.get("message")))
        .unwrap_or("no details");
    Some(match cursor_code {
        Some(c) => format!("Cursor reported {code} ({c}): {message}"),
        None => format!("Cursor reported {code}: {message}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ir::{FunctionTool, Message, ToolCall, ToolResult};

    fn frame(message: &proto::ChatResponseWithTools) -> Bytes {
        envelope(0, &message.encode_to_vec())
    }

    fn text(t: &str) -> proto::ChatResponseWithTools {
        proto::ChatResponseWithTools {
            tool_call: None,
            response: Some(proto::ChatResponse {
                text: t.into(),
                thinking: None,
            }),
        }
    }

    fn decode(body: &[u8]) -> Result<Vec<Event>, String> {
        crate::format::codec::decode_frames(
            &mut EnvelopeFramer::default(),
            &mut Decoder::default(),
            body,
        )
    }

    #[test]
    fn a_request_carries_the_conversation_tools_and_model() {
        let schema = serde_json::value::to_raw_value(&json!({"type": "object"}))
            .unwrap_or_else(|e| panic!("{e}"));
        let request = Request {
            system: vec![crate::format::ir::TextBlock {
                text: "Be brief.".into(),
                cache: false,
            }],
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![Part::text("weather?")],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall(ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: "{}".into(),
                        signature: None,
                    })],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(ToolResult {
                        call_id: "call_1".into(),
                        name: None,
                        content: vec![Part::text("sunny <20C>")],
                        is_error: false,
                    })],
                },
            ],
            tools: vec![Tool::Function(FunctionTool {
                name: "get_weather".into(),
                description: Some("Weather".into()),
                parameters: schema,
                strict: None,
                cache: false,
            })],
            max_tokens: Some(100),
            ..Request::default()
        };
        let (body, dropped) =
            encode(&request, "claude-4.5-sonnet").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dropped, ["max_tokens"]);
        assert_eq!(body[0], 0);
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        assert_eq!(len, body.len() - 5);
        let sent = proto::ChatRequestWithTools::decode(&body[5..])
            .unwrap_or_else(|e| panic!("{e}"))
            .request
            .unwrap_or_default();
        let turns: Vec<(i32, &str)> = sent
            .conversation
            .iter()
            .map(|m| (m.r#type, m.text.as_str()))
            .collect();
        assert_eq!(
            turns,
            [
                (1, "[System Instructions]\nBe brief."),
                (1, "weather?"),
                (2, ""),
                (
                    1,
                    "<tool_result>\n<tool_name>get_weather</tool_name>\n<tool_call_id>call_1</tool_call_id>\n<result>sunny &lt;20C&gt;</result>\n</tool_result>"
                ),
            ]
        );
        assert_eq!(
            sent.model.unwrap_or_default().model_name,
            "claude-4.5-sonnet"
        );
        assert_eq!(sent.mcp_tools[0].name, "get_weather");
        assert_eq!(sent.mcp_tools[0].parameters, r#"{"type":"object"}"#);
        assert!(sent.is_agentic);
        assert_eq!(sent.supported_tools, [proto::CLIENT_SIDE_TOOL_MCP]);
        assert_eq!(sent.headers.len(), 4);
        assert_eq!(sent.conversation[3].supported_tools, [19]);
        assert!(sent.conversation[0].supported_tools.is_empty());
    }

    #[test]
    fn frames_become_text_thinking_and_streamed_tool_calls() {
        let call = |args: &str| proto::ChatResponseWithTools {
            tool_call: Some(proto::ToolCall {
                tool_call_id: "toolu_1\nmc_abc".into(),
                name: "get_weather".into(),
                raw_args: args.into(),
                ..Default::default()
            }),
            response: None,
        };
        let thinking = proto::ChatResponseWithTools {
            tool_call: None,
            response: Some(proto::ChatResponse {
                text: String::new(),
                thinking: Some(proto::Thinking {
                    text: "hmm".into(),
                    signature: String::new(),
                }),
            }),
        };
        let mut body = Vec::new();
        for part in [
            frame(&thinking),
            frame(&text("Let me ")),
            frame(&text("check.")),
            frame(&call(r#"{"city":"#)),
            frame(&call(r#""Paris"}"#)),
            envelope(END_STREAM, b"{}"),
        ] {
            body.extend_from_slice(&part);
        }
        let events = decode(&body).unwrap_or_else(|e| panic!("{e}"));
        let mut agg = crate::format::Aggregator::default();
        events.into_iter().for_each(|e| agg.push(e));
        let response = agg.finish();
        assert_eq!(response.finish, Finish::ToolUse);
        assert_eq!(
            response.parts,
            [
                Part::Thinking(crate::format::ir::Thinking {
                    text: "hmm".into(),
                    signature: None
                }),
                Part::text("Let me check."),
                Part::ToolCall(ToolCall {
                    id: "toolu_1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                    signature: None,
                }),
            ]
        );
        assert_eq!(response.usage.output, 4);
    }

    #[test]
    fn compressed_frames_are_read_and_cut_streams_are_incomplete() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &text("zipped").encode_to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        let zipped = gz.finish().unwrap_or_else(|e| panic!("{e}"));
        let mut body = envelope(COMPRESSED, &zipped).to_vec();
        assert!(decode(&body).is_err(), "no end-of-stream: incomplete");
        body.extend_from_slice(&envelope(END_STREAM, b"{}"));
        assert!(decode(&body).is_ok());
        assert!(decode(&[0, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn trailer_errors_name_their_class() {
        use crate::routing::FailureClass;
        let usage = r#"{"error":{"code":"resource_exhausted","message":"Error","details":[{"type":"aiserver.v1.ErrorDetails","value":"","debug":{"error":"ERROR_PRO_USER_USAGE_LIMIT","details":{"title":"You've hit your usage limit","detail":"","isRetryable":false},"isExpected":true}}]}}"#;
        let message = trailer_error(usage).unwrap_or_default();
        assert_eq!(
            message,
            "Cursor reported resource_exhausted (ERROR_PRO_USER_USAGE_LIMIT): You've hit your usage limit"
        );
        assert_eq!(FailureClass::from_reported(&message), FailureClass::Quota);
        let auth = r#"{"error":{"code":"unauthenticated","message":"Not logged in"}}"#;
        let message = trailer_error(auth).unwrap_or_default();
        assert_eq!(FailureClass::from_reported(&message), FailureClass::Auth);
        let rate = r#"{"error":{"code":"resource_exhausted","message":"slow down"}}"#;
        let message = trailer_error(rate).unwrap_or_default();
        assert_eq!(
            FailureClass::from_reported(&message),
            FailureClass::RateLimit
        );
        assert_eq!(trailer_error("{}"), None);
        let mut body = frame(&text("hi")).to_vec();
        body.extend_from_slice(&envelope(END_STREAM, auth.as_bytes()));
        assert!(decode(&body).is_err());
    }
}
