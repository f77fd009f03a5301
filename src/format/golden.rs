//! Golden files for every format module, and round trips through each.
//!
//! One canonical tool turn (system prompt, image, signed thinking, a tool call and its result)
//! and one canonical answer go through every encoder; the bytes must match the files under
//! `tests/fixtures/golden/`. A change to what any API puts on the wire shows up there as a
//! reviewable diff: `cargo insta review` (or `INSTA_UPDATE=always`) accepts it.
//!
//! Encoders mint ids and timestamps for what the canonical form does not carry; those are
//! redacted to `[id]` and `[time]` before comparison.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::value::RawValue;

use super::ir::{
    Finish, FunctionTool, Media, Message, Part, Reasoning, Request, Response, Role, TextBlock,
    Thinking, Tool, ToolCall, ToolChoice, ToolResult, Usage, text_of,
};
use super::{Aggregator, Api, ClientContext, ErrorCategory, codec};
use crate::format::WireFormat;

const PROVIDER_FORMATS: [WireFormat; 4] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
];
const CLIENT_APIS: [Api; 5] = [
    Api::OpenaiChat,
    Api::Responses,
    Api::Anthropic,
    Api::Gemini,
    Api::Ollama,
];

/// A base64 signature: Gemini clients only ever see base64 ones.
const SIGNATURE: &str = "c2lnbmVkLXRoaW5raW5n";
const TOOL_ARGUMENTS: &str = r#"{"city":"Paris","unit":"celsius"}"#;

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).unwrap()
}

fn tool_turn() -> Request {
    Request {
        model: "golden-model".into(),
        system: vec![TextBlock {
            text: "You are a terse assistant.".into(),
            cache: true,
        }],
        messages: vec![
            Message {
                role: Role::User,
                parts: vec![
                    Part::text("What is in this picture, and what is the weather in Paris?"),
                    Part::Image(Media::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    }),
                ],
            },
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::Thinking(Thinking {
                        text: "The user wants two things.".into(),
                        signature: Some(SIGNATURE.into()),
                    }),
                    Part::text("A blank square. Checking the weather."),
                    Part::ToolCall(ToolCall {
                        id: "call_weather_1".into(),
                        name: "get_weather".into(),
                        arguments: TOOL_ARGUMENTS.into(),
                        signature: None,
                    }),
                ],
            },
            Message {
                role: Role::User,
                parts: vec![Part::ToolResult(ToolResult {
                    call_id: "call_weather_1".into(),
                    name: Some("get_weather".into()),
                    content: vec![Part::text("18°C, sunny")],
                    is_error: false,
                })],
            },
        ],
        tools: vec![Tool::Function(FunctionTool {
            name: "get_weather".into(),
            description: Some("Current weather for a city".into()),
            parameters: raw(
                r#"{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]}},"required":["city"]}"#,
            ),
            strict: None,
            cache: false,
        })],
        tool_choice: Some(ToolChoice::Auto),
        max_tokens: Some(4096),
        temperature: Some(0.2),
        stop: vec!["END".into()],
        reasoning: Some(Reasoning {
            budget_tokens: Some(2048),
            ..Default::default()
        }),
        stream: true,
        ..Default::default()
    }
}

fn answer() -> Response {
    Response {
        id: "golden-answer".into(),
        model: "upstream-model".into(),
        parts: vec![
            Part::Thinking(Thinking {
                text: "Paris, so celsius.".into(),
                signature: Some(SIGNATURE.into()),
            }),
            Part::text("Let me look that up."),
            Part::ToolCall(ToolCall {
                id: "call_weather_2".into(),
                name: "get_weather".into(),
                arguments: TOOL_ARGUMENTS.into(),
                signature: None,
            }),
        ],
        finish: Finish::ToolUse,
        usage: Usage {
            input: 120,
            cache_read: 20,
            cache_write: 0,
            output: 40,
            reasoning: 8,
        },
    }
}

fn client_context() -> ClientContext {
    ClientContext {
        model: "golden-model".into(),
        include_usage: true,
        ..Default::default()
    }
}

/// What each provider format has no place for in the sample turn: the Responses API has no
/// stop sequences, and Anthropic takes no temperature while thinking.
fn unexpressible(wire: WireFormat) -> &'static [&'static str] {
    match wire {
        WireFormat::OpenaiResponses => &["stop"],
        WireFormat::Anthropic => &["temperature"],
        _ => &[],
    }
}

/// The client API that is the same format as `wire`.
fn same_api(wire: WireFormat) -> Api {
    match wire {
        WireFormat::OpenaiChat => Api::OpenaiChat,
        WireFormat::OpenaiResponses => Api::Responses,
        WireFormat::Anthropic => Api::Anthropic,
        WireFormat::Gemini => Api::Gemini,
        other => panic!("{other:?} has no client API"),
    }
}

fn wire_name(wire: WireFormat) -> &'static str {
    match wire {
        WireFormat::OpenaiChat => "openai-chat",
        WireFormat::OpenaiResponses => "openai-responses",
        WireFormat::Anthropic => "anthropic",
        WireFormat::Gemini => "gemini",
        other => panic!("{other:?} has no encoder"),
    }
}

/// Compares against `tests/fixtures/golden/<name>.snap` with minted ids and clocks redacted.
fn golden(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/golden"
    ));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(
        r"\b(resp_|msg_|rs_|fc_|chatcmpl-|call_|toolu_)[0-9a-f]{24}\b",
        "${1}[id]",
    );
    settings.add_filter(r#""(created|created_at)":( ?)\d+"#, r#""$1":$2"[time]""#);
    settings.add_filter(
        r#""created_at":( ?)"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z""#,
        r#""created_at":$1"[time]""#,
    );
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// A JSON body, pretty for review. The body must be exactly serde's compact form of that
/// value, so the pretty golden pins the wire bytes too.
fn golden_json(name: &str, body: &[u8]) {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        serde_json::to_vec(&value).unwrap(),
        body,
        "{name}: body is not compact JSON"
    );
    golden(name, &serde_json::to_string_pretty(&value).unwrap());
}

fn client_stream(api: Api, response: &Response) -> Vec<u8> {
    let mut encoder = super::stream_encoder(api, &client_context());
    let mut out = Vec::new();
    for event in codec::replay(response) {
        encoder.encode(&event, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// What a translation must never lose: the text, the tool calls, why it stopped, the counts.
#[derive(Debug, PartialEq)]
struct Gist {
    text: String,
    thinking: String,
    calls: Vec<(String, serde_json::Value)>,
    finish: Finish,
    input: u64,
    output: u64,
}

fn gist(r: &Response) -> Gist {
    let mut thinking = String::new();
    let mut calls = Vec::new();
    for p in &r.parts {
        match p {
            Part::Thinking(t) => thinking.push_str(&t.text),
            Part::ToolCall(c) => {
                calls.push((c.name.clone(), serde_json::from_str(&c.arguments).unwrap()))
            }
            _ => {}
        }
    }
    Gist {
        text: text_of(&r.parts),
        thinking,
        calls,
        finish: r.finish.clone(),
        input: r.usage.prompt_total(),
        output: r.usage.output,
    }
}

fn sse_data(stream: &[u8]) -> Vec<String> {
    String::from_utf8(stream.to_vec())
        .unwrap()
        .split("\n\n")
        .filter_map(|frame| {
            let data: Vec<&str> = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

#[test]
fn provider_requests_match_their_golden_files() {
    for wire in PROVIDER_FORMATS {
        let encoded = super::encode_request(wire, &tool_turn(), "upstream-model").unwrap();
        assert_eq!(encoded.dropped, unexpressible(wire), "{wire:?}");
        golden_json(&format!("request.{}", wire_name(wire)), &encoded.body);
    }
}

#[test]
fn client_answers_match_their_golden_files() {
    for api in CLIENT_APIS {
        let body = super::encode_response(api, &answer(), &client_context());
        golden_json(&format!("response.{}", api.name()), &body);
    }
}

#[test]
fn client_streams_match_their_golden_files_and_validate() {
    for api in CLIENT_APIS {
        let stream = client_stream(api, &answer());
        let summary = super::validate::stream(api, &stream)
            .unwrap_or_else(|e| panic!("{api:?} stream is not valid: {e}"));
        assert_eq!(summary.text, "Let me look that up.", "{api:?}");
        assert_eq!(summary.tool_calls.len(), 1, "{api:?}");
        golden(
            &format!("stream.{}", api.name()),
            &String::from_utf8(stream).unwrap(),
        );
    }
}

#[test]
fn error_bodies_match_their_golden_files() {
    let mut all = String::new();
    for api in CLIENT_APIS {
        for (status, kind, param) in [
            (400, ErrorCategory::InvalidRequest, Some("tools[0].name")),
            (404, ErrorCategory::ModelNotFound, None),
            (429, ErrorCategory::RateLimited, None),
            (504, ErrorCategory::Upstream, None),
        ] {
            let body = super::error_body(api, status, kind, "what went wrong", param);
            all.push_str(&format!(
                "{} {status}: {}\n",
                api.name(),
                String::from_utf8(body).unwrap()
            ));
        }
    }
    golden("errors", &all);
}

/// The request every provider gets decodes back (as that provider's own client format) to the
/// same turn: nothing the target can express is lost in the encoder.
#[test]
fn provider_requests_decode_back_to_the_same_turn() {
    for wire in PROVIDER_FORMATS {
        let api = same_api(wire);
        let encoded = super::encode_request(wire, &tool_turn(), "upstream-model").unwrap();
        let back = super::decode_request(api, &encoded.body).unwrap().request;
        let original = tool_turn();
        assert_eq!(back.tools, original.tools, "{wire:?}");
        assert_eq!(back.max_tokens, original.max_tokens, "{wire:?}");
        if !unexpressible(wire).contains(&"stop") {
            assert_eq!(back.stop, original.stop, "{wire:?}");
        }
        let texts = |r: &Request| -> Vec<String> {
            r.messages
                .iter()
                .map(|m| text_of(&m.parts))
                .filter(|t| !t.is_empty())
                .collect()
        };
        assert_eq!(texts(&back), texts(&original), "{wire:?}");
        let calls = |r: &Request| -> Vec<(String, String)> {
            r.messages
                .iter()
                .flat_map(|m| &m.parts)
                .filter_map(|p| match p {
                    Part::ToolCall(c) => Some((c.name.clone(), c.arguments.clone())),
                    Part::ToolResult(t) => Some((t.call_id.clone(), t.text())),
                    _ => None,
                })
                .collect()
        };
        // Gemini has no call ids: results are matched by name there.
        if wire != WireFormat::Gemini {
            assert_eq!(calls(&back), calls(&original), "{wire:?}");
        }
        assert_eq!(
            text_of(
                &back
                    .system
                    .iter()
                    .map(|s| Part::text(&s.text))
                    .collect::<Vec<_>>()
            ),
            "You are a terse assistant.",
            "{wire:?}"
        );
    }
}

/// Every client answer, read back by the decoder of the same format, says the same thing.
#[test]
fn answers_and_streams_round_trip_through_each_format() {
    let expected = gist(&answer());
    for wire in PROVIDER_FORMATS {
        let api = same_api(wire);
        let body = super::encode_response(api, &answer(), &client_context());
        let back = super::decode_response(wire, &body).unwrap();
        assert_eq!(gist(&back), expected, "{wire:?} JSON answer");

        let stream = client_stream(api, &answer());
        let mut decoder = super::stream_decoder(wire);
        let mut events = Vec::new();
        for data in sse_data(&stream) {
            decoder.feed(&data, &mut events).unwrap();
        }
        decoder.end(&mut events);
        assert!(decoder.is_complete(), "{wire:?} stream never completed");
        let mut aggregator = Aggregator::default();
        events.into_iter().for_each(|e| aggregator.push(e));
        assert_eq!(gist(&aggregator.finish()), expected, "{wire:?} stream");
    }
}
