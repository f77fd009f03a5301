//! API formats. Each API is one module that decodes and encodes requests, responses and
//! streams through the canonical representation in `ir`; the dispatch below picks the module.
//! Same format on both sides never comes here: the proxy forwards those bytes untouched.

pub mod anthropic;
pub mod caching;
pub mod cloudcode;
pub mod codec;
mod counts;
pub mod eventstream;
pub mod gemini;
pub mod ir;
mod json;
pub mod kiro;
pub mod ollama;
pub mod openai_chat;
pub mod responses;
pub mod sse;
pub mod tokens;
pub mod validate;
mod wire;

pub use wire::WireFormat;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod golden;

use std::collections::HashMap;

pub use codec::{Aggregator, StreamDecoder, StreamEncoder};
pub use ir::{Event, Finish, Part, Request, Response, Usage};

/// A client-facing API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    OpenaiChat,
    Responses,
    Anthropic,
    Gemini,
    Ollama,
}

impl Api {
    /// The provider format that is this API, when there is one (passthrough is possible).
    pub fn wire(self) -> Option<WireFormat> {
        match self {
            Api::OpenaiChat => Some(WireFormat::OpenaiChat),
            Api::Responses => Some(WireFormat::OpenaiResponses),
            Api::Anthropic => Some(WireFormat::Anthropic),
            Api::Gemini => Some(WireFormat::Gemini),
            Api::Ollama => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            Api::OpenaiChat,
            Api::Responses,
            Api::Anthropic,
            Api::Gemini,
            Api::Ollama,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::OpenaiChat => "openai-chat",
            Api::Responses => "openai-responses",
            Api::Anthropic => "anthropic",
            Api::Gemini => "gemini",
            Api::Ollama => "ollama",
        }
    }
}

/// A request this format cannot accept, or a translation the target cannot express: the
/// client gets a 400 in its own API's shape naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormatError {
    pub message: String,
    pub param: Option<String>,
}

impl FormatError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: None,
        }
    }

    pub fn at(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            param: Some(param.into()),
        }
    }

    /// Something only a provider of the client's own format could take.
    pub fn untranslatable(param: impl Into<String>, what: impl std::fmt::Display) -> Self {
        Self::at(
            param,
            format!("{what} cannot be translated for this model's provider"),
        )
    }
}

/// What the answer's encoder needs to know about the client's request.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    /// The model string the client asked for; answers name it.
    pub model: String,
    /// Responses namespaced tools, flattened for other APIs: flat name → (namespace, name).
    pub namespaces: HashMap<String, (String, String)>,
    /// OpenAI Chat `stream_options.include_usage`.
    pub include_usage: bool,
    /// Fields this request carried that the target cannot express, omitted by a documented
    /// rule; reported to the client in `x-ninerouter-dropped`.
    pub dropped: Vec<String>,
}

pub struct Decoded {
    pub request: Request,
    pub context: ClientContext,
}

/// The upstream's side of a request: its encoded body and what was dropped on the way.
pub struct Encoded {
    pub body: Vec<u8>,
    pub dropped: Vec<String>,
}

pub fn decode_request(api: Api, body: &[u8]) -> Result<Decoded, FormatError> {
    match api {
        Api::OpenaiChat => openai_chat::decode_request(body),
        Api::Responses => responses::decode_request(body),
        Api::Anthropic => anthropic::decode_request(body),
        Api::Gemini => gemini::decode_request(body),
        Api::Ollama => ollama::decode_request(body),
    }
}

/// The body for a provider speaking `wire`, asking for `model`.
pub fn encode_request(
    wire: WireFormat,
    request: &Request,
    model: &str,
) -> Result<Encoded, FormatError> {
    match wire {
        WireFormat::OpenaiChat => openai_chat::encode_request(request, model),
        WireFormat::OpenaiResponses => responses::encode_request(request, model),
        WireFormat::Anthropic => anthropic::encode_request(request, model),
        // Cloud Code's envelope names the account's project, so the proxy adds it.
        WireFormat::Gemini | WireFormat::GeminiCloudcode => gemini::encode_request(request, model),
        WireFormat::Kiro => kiro::encode_request(request, model),
        other => Err(FormatError::new(format!(
            "the {other:?} provider format cannot be routed to yet"
        ))),
    }
}

pub fn decode_response(wire: WireFormat, body: &[u8]) -> Result<Response, String> {
    match wire {
        WireFormat::OpenaiChat => openai_chat::decode_response(body),
        WireFormat::OpenaiResponses => responses::decode_response(body),
        WireFormat::Anthropic => anthropic::decode_response(body),
        WireFormat::Gemini => gemini::decode_response(body),
        WireFormat::GeminiCloudcode => cloudcode::decode_response(body),
        WireFormat::Kiro => kiro::decode_response(body),
        other => Err(format!("the {other:?} format has no decoder yet")),
    }
}

/// The token counts in a whole answer written in `api`'s format (`None` without any), or an
/// error when the answer is not JSON.
pub fn checked_usage_in_body(api: Api, body: &[u8]) -> Result<Option<Usage>, serde_json::Error> {
    match api {
        Api::OpenaiChat => counts::checked_usage_in_bytes::<openai_chat::UsageObject>(body),
        Api::Responses => counts::checked_usage_in_bytes::<responses::UsageObject>(body),
        Api::Anthropic => counts::checked_usage_in_bytes::<anthropic::UsageObject>(body),
        Api::Gemini => counts::checked_usage_in_bytes::<gemini::UsageObject>(body),
        Api::Ollama => serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map(|_| ollama::usage_in_body(body)),
    }
}

/// The token counts in a whole answer written in `api`'s format; `None` when it is not JSON
/// or has none.
pub fn usage_in_body(api: Api, body: &[u8]) -> Option<Usage> {
    checked_usage_in_body(api, body).ok().flatten()
}

pub fn encode_response(api: Api, response: &Response, ctx: &ClientContext) -> Vec<u8> {
    match api {
        Api::OpenaiChat => openai_chat::encode_response(response, ctx),
        Api::Responses => responses::encode_response(response, ctx),
        Api::Anthropic => anthropic::encode_response(response, ctx),
        Api::Gemini => gemini::encode_response(response, ctx),
        Api::Ollama => ollama::encode_response(response, ctx),
    }
}

pub fn stream_decoder(wire: WireFormat) -> Box<dyn StreamDecoder> {
    match wire {
        WireFormat::OpenaiResponses => Box::new(responses::Decoder::default()),
        WireFormat::Anthropic => Box::new(anthropic::Decoder::default()),
        WireFormat::Gemini => Box::new(gemini::Decoder::default()),
        WireFormat::GeminiCloudcode => Box::new(cloudcode::Decoder::default()),
        WireFormat::Kiro => Box::new(kiro::Decoder::default()),
        _ => Box::new(openai_chat::Decoder::default()),
    }
}

/// The error event that ends a stream forwarded as the upstream sent it, in the client's
/// (= the upstream's) API; a Responses stream's continues the upstream's numbering.
pub fn stream_error(api: Api, message: &str, last_sequence: Option<u64>) -> Vec<u8> {
    match api {
        Api::OpenaiChat => openai_chat::error_event(message),
        Api::Responses => responses::failed_event(message, last_sequence),
        Api::Anthropic => anthropic::error_event(message),
        Api::Gemini => gemini::error_event(message),
        Api::Ollama => ollama::error_line(message),
    }
}

pub fn stream_encoder(api: Api, ctx: &ClientContext) -> Box<dyn StreamEncoder> {
    match api {
        Api::OpenaiChat => Box::new(openai_chat::Encoder::new(ctx)),
        Api::Responses => Box::new(responses::Encoder::new(ctx)),
        Api::Anthropic => Box::new(anthropic::Encoder::new(ctx)),
        Api::Gemini => Box::new(gemini::Encoder::new(ctx)),
        Api::Ollama => Box::new(ollama::Encoder::new(ctx)),
    }
}

/// The MIME type of an API's streaming answers.
pub fn stream_content_type(api: Api) -> &'static str {
    match api {
        Api::Ollama => "application/x-ndjson",
        _ => "text/event-stream",
    }
}

/// An error the client's API would send, as its JSON body. `kind` is the generic category;
/// `param` names the offending field: OpenAI's shape has a place for it (and always names
/// `model` when the model is unknown), the others get it in front of the message.
pub fn error_body(
    api: Api,
    status: u16,
    kind: ErrorCategory,
    message: &str,
    param: Option<&str>,
) -> Vec<u8> {
    let located;
    let message = match (api, param) {
        (Api::OpenaiChat | Api::Responses, _) | (_, None) => message,
        (_, Some(p)) => {
            located = format!("{p}: {message}");
            &located
        }
    };
    let value = match api {
        Api::OpenaiChat | Api::Responses => serde_json::json!({
            "error": {
                "message": message,
                "type": kind.openai_type(),
                "param": param.or((kind == ErrorCategory::ModelNotFound).then_some("model")),
                "code": kind.openai_code(),
            }
        }),
        Api::Anthropic => serde_json::json!({
            "type": "error",
            "error": { "type": kind.anthropic_type(status), "message": message },
        }),
        Api::Gemini => serde_json::json!({
            "error": { "code": status, "message": message, "status": gemini::status_name(status) }
        }),
        Api::Ollama => serde_json::json!({ "error": message }),
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The human part of any supported API's error body.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v
        .pointer("/error/message")
        .or_else(|| v.get("message"))
        .or_else(|| v.get("error").filter(|e| e.is_string()))
        .or_else(|| v.pointer("/0/error/message"))?;
    Some(m.as_str()?.chars().take(300).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    InvalidRequest,
    /// The request does not fit the model's context window.
    ContextLength,
    ModelNotFound,
    RateLimited,
    Authentication,
    Permission,
    Upstream,
    Overloaded,
}

impl ErrorCategory {
    fn openai_type(self) -> &'static str {
        match self {
            ErrorCategory::InvalidRequest
            | ErrorCategory::ContextLength
            | ErrorCategory::ModelNotFound => "invalid_request_error",
            ErrorCategory::RateLimited => "rate_limit_error",
            ErrorCategory::Authentication => "authentication_error",
            ErrorCategory::Permission => "permission_error",
            ErrorCategory::Upstream | ErrorCategory::Overloaded => "upstream_error",
        }
    }

    fn openai_code(self) -> Option<&'static str> {
        match self {
            ErrorCategory::InvalidRequest => None,
            ErrorCategory::ContextLength => Some("context_length_exceeded"),
            ErrorCategory::ModelNotFound => Some("model_not_found"),
            ErrorCategory::RateLimited => Some("rate_limit_exceeded"),
            ErrorCategory::Authentication => Some("invalid_api_key"),
            ErrorCategory::Permission => Some("permission_denied"),
            ErrorCategory::Upstream => Some("upstream_unavailable"),
            ErrorCategory::Overloaded => Some("overloaded"),
        }
    }

    /// Anthropic names errors by category; its SDKs map statuses to exception classes.
    fn anthropic_type(self, status: u16) -> &'static str {
        match self {
            ErrorCategory::InvalidRequest | ErrorCategory::ContextLength => "invalid_request_error",
            ErrorCategory::ModelNotFound => "not_found_error",
            ErrorCategory::RateLimited => "rate_limit_error",
            ErrorCategory::Authentication => "authentication_error",
            ErrorCategory::Permission => "permission_error",
            ErrorCategory::Overloaded => "overloaded_error",
            ErrorCategory::Upstream if status == 504 => "timeout_error",
            ErrorCategory::Upstream => "api_error",
        }
    }
}
