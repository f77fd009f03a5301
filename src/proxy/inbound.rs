//! A client's request as the proxy carries it: which API it speaks, the model and streaming
//! flags routing needs, the body kept raw for passthrough, and the canonical form decoded
//! only when a target speaks another format.

use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::body::{BodyError, JsonBody};
use crate::format::{self, Api, ClientContext, Decoded, FormatError};

/// A system prompt this long (about 1,000 tokens) makes even a first turn worth pinning:
/// it is what a prompt cache would hold.
const LONG_SYSTEM_BYTES: usize = 4_096;

pub struct Inbound {
    pub api: Api,
    pub model: String,
    pub stream: bool,
    raw: Bytes,
    /// Top-level fields for APIs whose body names the model (passthrough replaces it).
    json: Option<JsonBody>,
    decoded: OnceLock<Result<Decoded, FormatError>>,
    /// The o200k estimate of what the model reads, made at most once.
    tokens: OnceLock<Option<usize>>,
    /// Which conversation the request continues (see `conversation`), worked out at most once.
    conversation: OnceLock<Option<u64>>,
    /// Anthropic headers a same-format upstream must see (betas change the API's behaviour).
    pub anthropic_beta: Option<HeaderValue>,
    pub anthropic_version: Option<HeaderValue>,
}

impl From<BodyError> for FormatError {
    fn from(e: BodyError) -> Self {
        FormatError {
            message: e.to_string(),
            param: e.param().map(str::to_owned),
        }
    }
}

impl Inbound {
    /// A body that names its model (OpenAI Chat, Responses, Anthropic).
    pub fn with_model_in_body(
        api: Api,
        raw: Bytes,
        headers: &HeaderMap,
    ) -> Result<Self, FormatError> {
        let json = JsonBody::parse(&raw)?;
        Ok(Self {
            api,
            model: json.model.clone(),
            stream: json.stream,
            raw,
            json: Some(json),
            decoded: OnceLock::new(),
            tokens: OnceLock::new(),
            conversation: OnceLock::new(),
            anthropic_beta: headers.get(&format::anthropic::BETA_HEADER).cloned(),
            anthropic_version: headers.get(&format::anthropic::VERSION_HEADER).cloned(),
        })
    }

    /// Gemini: the model and streaming come from the URL.
    pub fn with_model_in_path(
        api: Api,
        raw: Bytes,
        model: String,
        stream: bool,
    ) -> Result<Self, FormatError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(&raw)
            .map_err(|e| FormatError::new(format!("Invalid JSON payload received. {e}")))?;
        Ok(Self {
            api,
            model,
            stream,
            raw,
            json: None,
            decoded: OnceLock::new(),
            tokens: OnceLock::new(),
            conversation: OnceLock::new(),
            anthropic_beta: None,
            anthropic_version: None,
        })
    }

    /// APIs that are never passed through (Ollama): decoded at once.
    pub fn decoded_now(api: Api, raw: Bytes) -> Result<Self, FormatError> {
        let decoded = format::decode_request(api, &raw)?;
        let inbound = Self {
            api,
            model: decoded.request.model.clone(),
            stream: decoded.request.stream,
            raw,
            json: None,
            decoded: OnceLock::new(),
            tokens: OnceLock::new(),
            conversation: OnceLock::new(),
            anthropic_beta: None,
            anthropic_version: None,
        };
        let _ = inbound.decoded.set(Ok(decoded));
        Ok(inbound)
    }

    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The canonical request, decoded on first use.
    pub fn decoded(&self) -> Result<&Decoded, FormatError> {
        self.decoded
            .get_or_init(|| {
                let mut d = format::decode_request(self.api, &self.raw)?;
                d.request.model.clone_from(&self.model);
                d.request.stream = self.stream;
                d.context.model.clone_from(&self.model);
                Ok(d)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// What the answer's encoder needs; a request that cannot be decoded still gets answers
    /// named after its model.
    pub fn context(&self) -> ClientContext {
        match self.decoded() {
            Ok(d) => d.context.clone(),
            Err(_) => ClientContext {
                model: self.model.clone(),
                ..Default::default()
            },
        }
    }

    /// The estimated tokens of the request when they exceed `window`; `None` when it fits or
    /// cannot be told. A body no longer in bytes than the window is taken to fit without
    /// counting (no token is shorter than a byte); only media referenced by URL could make
    /// that wrong, and the provider's own context-length error still catches it.
    pub async fn tokens_over(&self, window: u64) -> Option<usize> {
        let fits = |n: usize| u64::try_from(n).is_ok_and(|n| n <= window);
        if fits(self.raw.len()) {
            return None;
        }
        let estimate = match self.tokens.get() {
            Some(known) => *known,
            None => {
                let readable = format::tokens::Readable::of(&self.decoded().ok()?.request);
                if fits(readable.at_most()) {
                    return None;
                }
                // Counting a long prompt takes milliseconds: off the async workers.
                let estimate = tokio::task::spawn_blocking(move || readable.estimate().ok())
                    .await
                    .ok()
                    .flatten();
                *self.tokens.get_or_init(|| estimate)
            }
        };
        estimate.filter(|&n| !fits(n))
    }

    /// Which conversation this request continues, as a hash: what the client names it by
    /// (Anthropic `metadata.user_id`, which Claude Code makes per session; OpenAI's
    /// `prompt_cache_key`, which Codex sets to its conversation id; else `user`), or else
    /// its system prompt and first user turn, which every later turn repeats. Unnamed, a
    /// short one-off request (no earlier turns, no long system prompt) is no conversation:
    /// identical one-offs are spread, not pinned. A Responses request continuing an earlier
    /// answer (`previous_response_id`) belongs to that answer's conversation, which `chain`
    /// knows when the router served it.
    pub fn conversation(&self, chain: impl FnOnce(&str) -> Option<u64>) -> Option<u64> {
        *self.conversation.get_or_init(|| {
            #[derive(serde::Deserialize)]
            struct Metadata {
                user_id: Option<String>,
            }
            #[derive(serde::Deserialize)]
            struct Named {
                metadata: Option<Metadata>,
                prompt_cache_key: Option<String>,
                user: Option<String>,
                previous_response_id: Option<String>,
            }
            let named = serde_json::from_slice::<Named>(&self.raw).ok();
            let previous = named.as_ref().and_then(|n| n.previous_response_id.clone());
            let named = named.and_then(|n| {
                n.metadata
                    .and_then(|m| m.user_id)
                    .or(n.prompt_cache_key)
                    .or(n.user)
            });
            let mut hasher = std::hash::DefaultHasher::new();
            match (named, previous) {
                (Some(name), _) => ("named", name).hash(&mut hasher),
                (None, Some(previous)) => match chain(&previous) {
                    Some(known) => return Some(known),
                    None => ("chain", previous).hash(&mut hasher),
                },
                (None, None) => {
                    let request = &self.decoded().ok()?.request;
                    let system_bytes: usize = request.system.iter().map(|b| b.text.len()).sum();
                    let history = request
                        .messages
                        .iter()
                        .any(|m| m.role == format::ir::Role::Assistant);
                    if !history && system_bytes < LONG_SYSTEM_BYTES {
                        return None;
                    }
                    let first = request
                        .messages
                        .iter()
                        .find(|m| m.role == format::ir::Role::User)?;
                    let system: Vec<&str> =
                        request.system.iter().map(|b| b.text.as_str()).collect();
                    ("opening", system, format::ir::text_of(&first.parts)).hash(&mut hasher);
                }
            }
            Some(hasher.finish())
        })
    }

    /// The conversation, if it was worked out (routing asks only when it has a choice).
    pub fn known_conversation(&self) -> Option<u64> {
        self.conversation.get().copied().flatten()
    }

    /// The body for a same-format upstream: byte for byte, with only the model replaced.
    pub fn passthrough_body(&self, model: &str) -> Bytes {
        match &self.json {
            Some(json) => json.with_model(&self.raw, model),
            None => self.raw.clone(),
        }
    }
}
