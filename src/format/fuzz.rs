//! Every decoder a client or a provider can reach, under generated input: request decoders of
//! each client API (and the encoders they feed), provider answers and stream events of each
//! wire format (and the client encoders they feed), the Cloud Code envelope and the AWS
//! event-stream reader. The property is the same everywhere: no panic, whatever arrives.
//! `make test` runs a short pass; `make fuzz` runs each for minutes (PROPTEST_CASES).

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::format::WireFormat;
use crate::format::codec::Framer as _;

const APIS: [Api; 5] = [
    Api::OpenaiChat,
    Api::Responses,
    Api::Anthropic,
    Api::Gemini,
    Api::Ollama,
];

const WIRES: [WireFormat; 6] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
    WireFormat::GeminiCloudcode,
    WireFormat::Kiro,
];

/// Field names the formats read, so that generated objects reach deep into the decoders.
const NAMES: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "input",
    "instructions",
    "system",
    "tools",
    "tool_choice",
    "function",
    "name",
    "arguments",
    "parameters",
    "tool_calls",
    "id",
    "call_id",
    "tool_use_id",
    "tool_call_id",
    "output",
    "image_url",
    "url",
    "source",
    "data",
    "media_type",
    "mime_type",
    "inlineData",
    "fileData",
    "contents",
    "parts",
    "functionCall",
    "functionResponse",
    "args",
    "response",
    "thought",
    "thinking",
    "signature",
    "reasoning",
    "reasoning_effort",
    "effort",
    "budget_tokens",
    "thinkingConfig",
    "generationConfig",
    "max_tokens",
    "max_output_tokens",
    "maxOutputTokens",
    "temperature",
    "top_p",
    "stop",
    "stream",
    "stream_options",
    "include_usage",
    "response_format",
    "json_schema",
    "schema",
    "choices",
    "index",
    "delta",
    "finish_reason",
    "stop_reason",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "usageMetadata",
    "candidates",
    "finishReason",
    "message",
    "content_block",
    "index",
    "item",
    "output_index",
    "item_id",
    "summary",
    "error",
    "namespace",
    "cache_control",
    "metadata",
    "user",
    "n",
    "seed",
    "format",
    "options",
    "images",
    "done",
    "done_reason",
    "assistantResponseEvent",
    "toolUseEvent",
    "toolUseId",
    "stop",
    "request",
    "project",
    "candidates",
    "modelVersion",
    "responseId",
];

const TYPES: &[&str] = &[
    "text",
    "image",
    "image_url",
    "input_text",
    "output_text",
    "input_image",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "function",
    "function_call",
    "function_call_output",
    "message",
    "reasoning",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "signature_delta",
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "response.completed",
    "response.function_call_arguments.delta",
    "response.reasoning_summary_text.delta",
    "error",
    "ping",
    "base64",
    "url",
    "json_schema",
    "auto",
    "required",
    "none",
    "web_search",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(TYPES).prop_map(Value::from),
        prop::sample::select(NAMES).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ]
}

/// JSON a little like what the formats carry: objects keyed by their field names.
fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..7).prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn bytes_or_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

proptest! {
    #[test]
    fn client_requests_decode_and_encode_for_every_provider_without_panicking(
        body in bytes_or_json(),
    ) {
        for api in APIS {
            if let Ok(decoded) = decode_request(api, &body) {
                for wire in WIRES {
                    let _ = encode_request(wire, &decoded.request, "m");
                }
            }
        }
    }

    #[test]
    fn provider_answers_decode_and_encode_for_every_client_without_panicking(
        body in bytes_or_json(),
    ) {
        for wire in WIRES {
            if let Ok(response) = decode_response(wire, &body) {
                for api in APIS {
                    let _ = encode_response(api, &response, &ClientContext::default());
                }
            }
        }
        let _ = cloudcode::decode_response(&body);
        let _ = error_message(&body);
        for api in APIS {
            let _ = usage_in_body(api, &body);
        }
    }

    #[test]
    fn provider_streams_decode_and_reencode_for_every_client_without_panicking(
        events in prop::collection::vec(json(), 0..12),
    ) {
        for wire in WIRES {
            let mut decoder = stream_decoder(wire);
            let mut canonical = Vec::new();
            for e in &events {
                if decoder.feed(&e.to_string(), &mut canonical).is_err() {
                    break;
                }
            }
            decoder.end(&mut canonical);
            for api in APIS {
                let mut encoder = stream_encoder(api, &ClientContext::default());
                let mut out = Vec::new();
                for e in &canonical {
                    encoder.encode(e, &mut out);
                }
                encoder.finish(&mut out);
            }
            let mut aggregate = Aggregator::default();
            canonical.into_iter().for_each(|e| aggregate.push(e));
            let _ = aggregate.finish();
        }
    }

    #[test]
    fn the_cloud_code_envelope_wraps_any_request_without_panicking(
        body in bytes_or_json(),
        model in "[ -~]{0,20}",
    ) {
        let agent = Some(cloudcode::Agent { request_id: "r".into() });
        let _ = cloudcode::wrap_request(&body, &model, Some("p"), agent);
        let _ = cloudcode::wrap_request(&body, &model, None, None);
    }

    #[test]
    fn the_event_stream_reader_takes_any_bytes_without_panicking(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        valid in prop::collection::vec(("[a-zA-Z]{1,20}", "[ -~]{0,40}"), 0..4),
    ) {
        let mut framer = eventstream::Framer::default();
        for (kind, payload) in &valid {
            framer.push(&eventstream::frame(kind, payload));
        }
        for chunk in &chunks {
            framer.push(chunk);
            while let Ok(Some(_)) = framer.next_event() {}
        }
        let all: Vec<u8> = chunks.concat();
        let _ = eventstream::events(&all);
    }
}
