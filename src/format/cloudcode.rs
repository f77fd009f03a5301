//! Google's Cloud Code `v1internal` envelope (Gemini CLI, Antigravity): a Gemini request goes
//! in `request`, next to the model and the account's Cloud project; each answer (and each
//! streamed event) is a Gemini response in `response`. Antigravity's requests are agent
//! requests: they also say so, name themselves and carry a request id.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::codec::StreamDecoder;
use super::ir::{Event, Response};

/// An Antigravity agent request's own fields.
pub struct Agent {
    pub request_id: String,
}

/// The envelope around a Gemini request body.
pub fn wrap_request(
    gemini: &[u8],
    model: &str,
    project: Option<&str>,
    agent: Option<Agent>,
) -> Result<Vec<u8>, String> {
    let request: &RawValue = serde_json::from_slice(gemini).map_err(|e| e.to_string())?;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Envelope<'a> {
        model: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        project: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_agent: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_type: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        request: &'a RawValue,
    }
    let agent_field = |v: &'static str| agent.as_ref().map(|_| v);
    serde_json::to_vec(&Envelope {
        model,
        project,
        user_agent: agent_field("antigravity"),
        request_type: agent_field("agent"),
        request_id: agent.as_ref().map(|a| a.request_id.clone()),
        request,
    })
    .map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct Enveloped<'a> {
    #[serde(borrow)]
    response: Option<&'a RawValue>,
}

/// The Gemini response inside an answer (an answer without the envelope is taken as is).
fn unwrap(body: &str) -> Result<&str, String> {
    let enveloped: Enveloped<'_> = serde_json::from_str(body).map_err(|e| e.to_string())?;
    Ok(enveloped.response.map_or(body, RawValue::get))
}

pub fn decode_response(body: &[u8]) -> Result<Response, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    super::gemini::decode_response(unwrap(text)?.as_bytes())
}

/// Gemini's stream decoder, fed what each event's envelope holds.
#[derive(Default)]
pub struct Decoder(super::gemini::Decoder);

impl StreamDecoder for Decoder {
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String> {
        self.0.feed(unwrap(data)?, out)
    }

    fn is_complete(&self) -> bool {
        self.0.is_complete()
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        self.0.end(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn requests_are_wrapped_with_model_and_project() {
        let inner = br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#;
        let out = wrap_request(inner, "gemini-2.5-pro", Some("proj-1"), None).unwrap_or_default();
        let out: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(
            out,
            json!({"model": "gemini-2.5-pro", "project": "proj-1",
                   "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}})
        );
        assert!(wrap_request(b"not json", "m", None, None).is_err());
        let agent = Agent {
            request_id: "agent-1".into(),
        };
        let out = wrap_request(inner, "gemini-3-pro", Some("p"), Some(agent)).unwrap_or_default();
        let out: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(out["requestType"], "agent");
        assert_eq!(out["userAgent"], "antigravity");
        assert_eq!(out["requestId"], "agent-1");
    }

    #[test]
    fn answers_and_stream_events_are_unwrapped() {
        let answer = br#"{"response":{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}},"traceId":"t1"}"#;
        let r = decode_response(answer).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.usage.input, 3);
        let mut decoder = Decoder::default();
        let mut events = Vec::new();
        let event = r#"{"response":{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi."}]},"finishReason":"STOP"}]},"traceId":"t1"}"#;
        decoder
            .feed(event, &mut events)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(decoder.is_complete());
        assert!(!events.is_empty());
    }
}
