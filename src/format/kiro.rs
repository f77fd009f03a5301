//! Kiro (AWS CodeWhisperer's `generateAssistantResponse`): the conversation goes as
//! `conversationState` — alternating `userInputMessage` / `assistantResponseMessage` in
//! `history`, the last user turn as `currentMessage` with the tools and tool results in its
//! `userInputMessageContext` — and the answer comes back as AWS event-stream frames
//! (`assistantResponseEvent` text, `toolUseEvent` pieces of a tool call until `stop`), which
//! end without a terminal event: the stream's end is the answer's end.

use serde_json::{Map, Value, json};

use super::codec::{Aggregator, Blocks, Key, StreamDecoder};
use super::ir::*;
use super::json::new_id;
use super::{Encoded, FormatError};

/// What a turn says in text: its text parts (and, for the first user turn, the system prompt).
fn text_of(parts: &[Part]) -> String {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn images_of(parts: &[Part], dropped: &mut Vec<String>) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Image(Media::Base64 { media_type, data }) => Some(json!({
                "format": media_type.rsplit('/').next().unwrap_or("png"),
                "source": {"bytes": data},
            })),
            Part::Image(Media::Url { .. }) => {
                dropped.push("image_url (Kiro takes inline images only)".into());
                None
            }
            Part::Document(_) => {
                dropped.push("document".into());
                None
            }
            _ => None,
        })
        .collect()
}

fn tool_results_of(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolResult(r) => Some(json!({
                "toolUseId": r.call_id,
                "status": if r.is_error { "error" } else { "success" },
                "content": [{"text": text_of(&r.content)}],
            })),
            _ => None,
        })
        .collect()
}

fn tool_specs(tools: &[Tool], dropped: &mut Vec<String>) -> Vec<Value> {
    tools
        .iter()
        .filter_map(|t| match t {
            Tool::Function(f) => {
                let schema: Value = serde_json::from_str(f.parameters.get())
                    .unwrap_or_else(|_| json!({"type": "object", "properties": {}}));
                Some(json!({"toolSpecification": {
                    "name": f.name,
                    "description": f.description.clone().filter(|d| !d.trim().is_empty())
                        .unwrap_or_else(|| format!("Tool: {}", f.name)),
                    "inputSchema": {"json": schema},
                }}))
            }
            _ => {
                dropped.push("tools (built-in tools)".into());
                None
            }
        })
        .collect()
}

/// One user turn: text (never empty: Kiro refuses that), images and tool results.
fn user_turn(text: String, images: Vec<Value>, results: Vec<Value>, model: &str) -> Value {
    let mut message = Map::new();
    let text = if text.trim().is_empty() {
        if results.is_empty() {
            "continue"
        } else {
            "Tool results."
        }
        .to_owned()
    } else {
        text
    };
    message.insert("content".into(), text.into());
    message.insert("modelId".into(), model.into());
    message.insert("origin".into(), "AI_EDITOR".into());
    if !images.is_empty() {
        message.insert("images".into(), images.into());
    }
    if !results.is_empty() {
        message.insert(
            "userInputMessageContext".into(),
            json!({ "toolResults": results }),
        );
    }
    json!({ "userInputMessage": message })
}

fn assistant_turn(parts: &[Part]) -> Value {
    let text = text_of(parts);
    let mut message = Map::new();
    message.insert(
        "content".into(),
        if text.trim().is_empty() { "..." } else { &text }.into(),
    );
    let uses: Vec<Value> = parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(c) => Some(json!({
                "toolUseId": c.id,
                "name": c.name,
                "input": serde_json::from_str::<Value>(&c.arguments).unwrap_or_else(|_| json!({})),
            })),
            _ => None,
        })
        .collect();
    if !uses.is_empty() {
        message.insert("toolUses".into(), uses.into());
    }
    json!({ "assistantResponseMessage": message })
}

pub fn encode_request(req: &Request, model: &str) -> Result<Encoded, FormatError> {
    let mut dropped = Vec::new();
    let system = req
        .system
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    // Kiro alternates user and assistant turns: same-role neighbours are merged.
    let mut turns: Vec<(Role, Vec<Part>)> = Vec::new();
    for m in &req.messages {
        let role = if m.role == Role::Assistant {
            Role::Assistant
        } else {
            Role::User
        };
        match turns.last_mut() {
            Some((r, parts)) if *r == role => parts.extend(m.parts.iter().cloned()),
            _ => turns.push((role, m.parts.clone())),
        }
    }
    if turns.last().is_none_or(|(r, _)| *r != Role::User) {
        turns.push((Role::User, Vec::new()));
    }
    let mut history = Vec::new();
    let last = turns.len() - 1;
    let mut current = Value::Null;
    for (i, (role, parts)) in turns.iter().enumerate() {
        let turn = if *role == Role::Assistant {
            assistant_turn(parts)
        } else {
            let mut text = text_of(parts);
            if i == 0 && !system.is_empty() {
                text = format!("{system}\n\n{text}");
            }
            let images = images_of(parts, &mut dropped);
            user_turn(text, images, tool_results_of(parts), model)
        };
        if i == last {
            current = turn;
        } else {
            history.push(turn);
        }
    }
    let specs = tool_specs(&req.tools, &mut dropped);
    if !specs.is_empty()
        && let Some(message) = current
            .get_mut("userInputMessage")
            .and_then(Value::as_object_mut)
    {
        let context = message
            .entry("userInputMessageContext")
            .or_insert_with(|| json!({}));
        context["tools"] = specs.into();
    }
    let mut body = json!({
        "conversationState": {
            "chatTriggerType": "MANUAL",
            "conversationId": new_id(""),
            "currentMessage": current,
            "history": history,
        }
    });
    let mut inference = Map::new();
    if let Some(m) = req.max_tokens {
        inference.insert("maxTokens".into(), m.into());
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), p.into());
    }
    if !inference.is_empty() {
        body["inferenceConfig"] = inference.into();
    }
    let body = serde_json::to_vec(&body).map_err(|e| FormatError::new(e.to_string()))?;
    Ok(Encoded { body, dropped })
}

/// Kiro's frames (as `eventstream` hands them over) into canonical events.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    blocks: Blocks,
    /// Tool calls seen, by Kiro's `toolUseId`, in order.
    tools: Vec<String>,
    output_chars: u64,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    ended: bool,
}

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        let (kind, payload) = data.split_once('\n').unwrap_or((data, ""));
        let value: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        if let Some(exception) = kind.strip_prefix('!') {
            let message = value
                .get("message")
                .or_else(|| value.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or(payload);
            return Err(format!("the provider reported {exception}: {message}"));
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: new_id("msg_"),
                model: String::new(),
            });
        }
        match kind {
            "assistantResponseEvent" => {
                let text = value.get("content").and_then(Value::as_str).unwrap_or("");
                self.output_chars += text.chars().count() as u64;
                self.blocks.text(text.to_owned(), out);
            }
            "toolUseEvent" => self.tool_use(&value, out),
            "metricsEvent" | "metadataEvent" => {
                let metrics = value.get("metrics").unwrap_or(&value);
                let count = |k: &str| metrics.get(k).and_then(Value::as_u64);
                self.input_tokens = count("inputTokens").or(self.input_tokens);
                self.output_tokens = count("outputTokens").or(self.output_tokens);
            }
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        // Kiro has no terminal event; whole frames up to the end are a whole answer.
        self.started
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        if self.ended || !self.started {
            return;
        }
        self.ended = true;
        self.blocks.close(out);
        out.push(Event::Usage(Usage {
            input: self.input_tokens.unwrap_or(0),
            output: self
                .output_tokens
                .unwrap_or_else(|| self.output_chars.div_ceil(4)),
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
    fn tool_use(&mut self, value: &Value, out: &mut Vec<Event>) {
        let id = value
            .get("toolUseId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let position = match self.tools.iter().position(|t| *t == id) {
            Some(p) => p,
            None => {
                self.tools.push(id.clone());
                self.tools.len() - 1
            }
        };
        let name = value
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let key = Key::Tool(position as u64);
        let index = self
            .blocks
            .index_for(key, || Block::ToolCall { id, name }, out);
        let arguments = match value.get("input") {
            Some(Value::String(piece)) => piece.clone(),
            Some(Value::Null) | None => String::new(),
            Some(whole) => whole.to_string(),
        };
        if !arguments.is_empty() {
            out.push(Event::Delta {
                index,
                delta: Delta::Arguments(arguments),
            });
        }
        if value.get("stop").and_then(Value::as_bool) == Some(true) {
            self.blocks.close(out);
        }
    }
}

/// A whole event-stream body (a client that asked for one answer).
pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    for frame in super::eventstream::events(body)? {
        decoder.feed(&frame, &mut events)?;
    }
    if !decoder.started {
        return Err("the provider's answer held no events".into());
    }
    decoder.end(&mut events);
    let mut aggregator = Aggregator::default();
    events.into_iter().for_each(|e| aggregator.push(e));
    Ok(aggregator.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::eventstream::frame;

    fn request() -> Request {
        Request {
            model: "claude-sonnet-4.5".into(),
            system: vec![TextBlock {
                text: "Be brief.".into(),
                cache: false,
            }],
            messages: vec![
                Message {
                    role: Role::User,
                    parts: vec![Part::Text {
                        text: "Weather?".into(),
                        cache: false,
                    }],
                },
                Message {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall(ToolCall {
                        id: "t1".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Paris\"}".into(),
                        signature: None,
                    })],
                },
                Message {
                    role: Role::User,
                    parts: vec![Part::ToolResult(ToolResult {
                        call_id: "t1".into(),
                        name: Some("get_weather".into()),
                        content: vec![Part::Text {
                            text: "Sunny".into(),
                            cache: false,
                        }],
                        is_error: false,
                    })],
                },
            ],
            tools: vec![Tool::Function(FunctionTool {
                name: "get_weather".into(),
                description: None,
                parameters: serde_json::value::RawValue::from_string(r#"{"type":"object"}"#.into())
                    .unwrap_or_else(|e| panic!("{e}")),
                strict: None,
                cache: false,
            })],
            max_tokens: Some(1000),
            ..Request::default()
        }
    }

    #[test]
    fn conversations_become_history_and_a_current_message() {
        let encoded =
            encode_request(&request(), "claude-sonnet-4.5").unwrap_or_else(|e| panic!("{e:?}"));
        let v: Value = serde_json::from_slice(&encoded.body).unwrap_or_default();
        let state = &v["conversationState"];
        assert_eq!(
            state["history"][0]["userInputMessage"]["content"],
            "Be brief.\n\nWeather?"
        );
        assert_eq!(
            state["history"][1]["assistantResponseMessage"]["toolUses"][0]["input"]["city"],
            "Paris"
        );
        let current = &state["currentMessage"]["userInputMessage"];
        assert_eq!(current["modelId"], "claude-sonnet-4.5");
        let context = &current["userInputMessageContext"];
        assert_eq!(context["toolResults"][0]["toolUseId"], "t1");
        assert_eq!(context["toolResults"][0]["content"][0]["text"], "Sunny");
        assert_eq!(
            context["tools"][0]["toolSpecification"]["name"],
            "get_weather"
        );
        assert_eq!(v["inferenceConfig"]["maxTokens"], 1000);
    }

    #[test]
    fn frames_become_text_and_tool_calls() {
        let mut body = frame("assistantResponseEvent", r#"{"content":"Let me check."}"#);
        body.extend(frame(
            "toolUseEvent",
            r#"{"name":"get_weather","toolUseId":"t9","input":"{\"city\":"}"#,
        ));
        body.extend(frame(
            "toolUseEvent",
            r#"{"name":"get_weather","toolUseId":"t9","input":"\"Paris\"}"}"#,
        ));
        body.extend(frame(
            "toolUseEvent",
            r#"{"name":"get_weather","toolUseId":"t9","stop":true}"#,
        ));
        body.extend(frame("meteringEvent", r#"{"unit":"credit","usage":0.2}"#));
        let r = decode_response(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.finish, Finish::ToolUse);
        assert!(matches!(&r.parts[0], Part::Text { text, .. } if text == "Let me check."));
        assert!(
            matches!(&r.parts[1], Part::ToolCall(c) if c.id == "t9" && c.arguments == "{\"city\":\"Paris\"}")
        );
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        let failed = decoder.feed(
            "!ThrottlingException\n{\"message\":\"Too many requests\"}",
            &mut out,
        );
        assert!(failed.is_err_and(|e| e.contains("Too many requests")));
    }
}
