//! What every client endpoint shares: reading the body, dispatching, and answering in the
//! client's own API: its stream framing, its error shape and status, and our routing headers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use axum::extract::Request;

use super::observed::Observed;
use crate::clock::new_id;
use crate::events::{EngineEvent, ServedBy};
use crate::format::{self, Api, ErrorCategory, FormatError};
use crate::inspector::{Captured, ProviderSide, RawLog};
use crate::proxy::{self, Answer, ErrorKind, Inbound, ProxyError};
use crate::state::Core;

/// Coding agents send long histories with images; this bounds one request body.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// The API a path belongs to, for answers given before a handler runs (auth, 404).
pub fn api_of_path(path: &str) -> Api {
    if path.starts_with("/v1/messages") {
        Api::Anthropic
    } else if path.starts_with("/v1beta")
        || path.contains(":generateContent")
        || path.contains(":streamGenerateContent")
    {
        Api::Gemini
    } else if path.ends_with("/api/chat") || path == "/api/tags" {
        Api::Ollama
    } else if path.ends_with("/responses") {
        Api::Responses
    } else {
        Api::OpenaiChat
    }
}

/// An error in `api`'s shape.
pub fn error_response(
    api: Api,
    status: StatusCode,
    category: ErrorCategory,
    message: &str,
) -> Response {
    json_response(
        status,
        format::error_body(api, status.as_u16(), category, message, None),
    )
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A request body this API cannot accept: 400, naming the field where the API does.
pub fn bad_request(api: Api, e: &FormatError) -> Response {
    let body = format::error_body(
        api,
        400,
        ErrorCategory::InvalidRequest,
        &e.message,
        e.param.as_deref(),
    );
    json_response(StatusCode::BAD_REQUEST, body)
}

pub async fn read_body(api: Api, request: axum::extract::Request) -> Result<Bytes, Response> {
    axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|e| {
            if is_too_slow(&e) {
                return error_response(
                    api,
                    StatusCode::REQUEST_TIMEOUT,
                    ErrorCategory::InvalidRequest,
                    "The request body did not arrive in time.",
                );
            }
            error_response(
                api,
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCategory::InvalidRequest,
                &format!(
                    "The request body is larger than {} MB or was cut off.",
                    MAX_BODY >> 20
                ),
            )
        })
}

/// Whether reading a body failed on the server's body deadline (or pause limit).
pub fn is_too_slow(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<super::slow_body::BodyTooSlow>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The request headers a same-format upstream must see, taken before the body is read
/// (copying the whole map costs more than the rest of a passthrough's bookkeeping).
pub fn anthropic_headers(request: &axum::extract::Request) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in [
        &format::anthropic::BETA_HEADER,
        &format::anthropic::VERSION_HEADER,
    ] {
        if let Some(v) = request.headers().get(name) {
            kept.insert(name.clone(), v.clone());
        }
    }
    kept
}

/// The proxy key a request presented, put in its extensions by the client-key middleware.
#[derive(Debug, Clone)]
pub struct ClientKey(pub Option<String>);

/// Who sent a request, learned at the edge before its body is read.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub key_id: Option<String>,
    /// The request's headers while the inspector is on, for `serve` to list the request with
    /// (or drop, past the inspector's requests a second).
    pub headers: Option<HeaderMap>,
}

impl Caller {
    /// Who sent `request`; with the inspector on its headers move here, so the handler must
    /// read what it needs of them first.
    pub fn of(core: &Core, request: &mut Request) -> Self {
        let key_id = request
            .extensions()
            .get::<ClientKey>()
            .and_then(|k| k.0.clone());
        let headers = core
            .catalog()
            .settings
            .observability
            .inspector
            .then(|| std::mem::take(request.headers_mut()));
        Self { key_id, headers }
    }
}

/// The handler of the APIs whose body names the model (OpenAI Chat, Responses, Anthropic).
pub async fn serve_model_in_body(api: Api, core: Arc<Core>, mut request: Request) -> Response {
    let headers = anthropic_headers(&request);
    let caller = Caller::of(&core, &mut request);
    let bytes = match read_body(api, request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match Inbound::with_model_in_body(api, bytes, &headers) {
        Ok(inbound) => serve(core, inbound, caller).await,
        Err(e) => bad_request(api, &e),
    }
}

/// Routes `inbound` and answers in its API; every outcome is recorded for usage and, when the
/// inspector lists the request, with its four layers.
pub async fn serve(core: Arc<Core>, inbound: Inbound, mut caller: Caller) -> Response {
    if core.is_paused() {
        return error_response(
            inbound.api,
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCategory::Overloaded,
            "Routing is paused in NineRouter; resume it from the tray menu or the dashboard.",
        );
    }
    let started = Instant::now();
    let catalog = core.catalog();
    let api = inbound.api;
    if let Some(key_id) = &caller.key_id
        && let Some(refused) =
            super::key_limits::admit(&core, &catalog, api, key_id, &inbound.model)
    {
        return refused;
    }
    let request_id = new_id();
    if core.events().has_subscribers() {
        core.events().publish(EngineEvent::RequestStarted {
            id: request_id.clone(),
            api: api.name(),
            requested_model: inbound.model.clone(),
            streamed: inbound.stream,
        });
    }
    let observe = &catalog.settings.observability;
    // Decided only for a request that will be served, so refusals, bad requests and token
    // counts do not take the inspector's places.
    let listed = caller.headers.is_some()
        && core.inspector.list(
            observe.inspector_requests_per_second,
            crate::clock::now_ms(),
        );
    if !listed {
        caller.headers = None;
    }
    let mut side = listed.then(|| {
        let keep = core
            .inspector
            .keep_bodies(observe.inspector_bodies_per_second, crate::clock::now_ms());
        ProviderSide {
            body_cap: if keep {
                usize::try_from(observe.inspector_max_field_bytes).unwrap_or(usize::MAX)
            } else {
                0
            },
            ..ProviderSide::default()
        }
    });
    let dispatched = proxy::dispatch(&core.proxy, &catalog, &inbound, side.as_mut()).await;
    let mut observed = Observed::new(&core, &catalog, &inbound, caller, request_id, started, side);
    match dispatched {
        Ok(served) => {
            let status = match &served.answer {
                Answer::Full { status, .. } => *status,
                Answer::Stream { .. } => StatusCode::OK,
            };
            proxy::publish_routed(
                core.events(),
                &inbound.model,
                Some(&served.by),
                &served.attempts,
                status,
            );
            let failed_attempts = served.attempts.len();
            observed.served(&served.by, served.attempts, status.as_u16());
            let mut response = match &served.answer {
                Answer::Full {
                    status,
                    content_type,
                    body,
                    ..
                } => (
                    *status,
                    [(header::CONTENT_TYPE, content_type.clone())],
                    body.clone(),
                )
                    .into_response(),
                Answer::Stream { .. } => {
                    let mut r = Response::new(Body::empty());
                    let h = r.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(format::stream_content_type(api)),
                    );
                    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    r
                }
            };
            add_routing_headers(
                response.headers_mut(),
                observed.request_id(),
                &served.by,
                failed_attempts,
                &served.dropped,
            );
            // A Responses answer's id is how the client continues the conversation: kept for
            // every request of a chain, even one routing had no choice for.
            let chained = (api == Api::Responses)
                .then(|| {
                    inbound.known_conversation().or_else(|| {
                        memchr::memmem::find(inbound.raw(), b"previous_response_id")?;
                        inbound.conversation(|p| core.proxy.routing.affinity.conversation_of(p))
                    })
                })
                .flatten();
            match served.answer {
                Answer::Full { body, counted, .. } => {
                    if let Some(conversation) = chained
                        && let Some(id) = whole_response_id(&body)
                    {
                        core.proxy.routing.affinity.answered(
                            &id,
                            conversation,
                            crate::clock::now_ms(),
                        );
                    }
                    observed.whole(served.wire, response.headers(), body, counted);
                }
                Answer::Stream { events, meter } => {
                    let events = match chained {
                        Some(conversation) => {
                            remember_response_id(events, core.clone(), conversation)
                        }
                        None => events,
                    };
                    let events = observed.stream(served.wire, response.headers(), events, meter);
                    *response.body_mut() = Body::from_stream(events.map(Ok::<_, Infallible>));
                }
            }
            response
        }
        Err(mut e) => {
            proxy::publish_routed(core.events(), &inbound.model, None, &e.attempts, e.status);
            let attempts = std::mem::take(&mut e.attempts);
            let (status, wire) = (e.status.as_u16(), e.upstream_wire);
            let answer = proxy_error_answer(api, e);
            let client_answer = answer.captured(observed.cap());
            observed.failed(attempts, status, wire, client_answer);
            answer.into_response()
        }
    }
}

/// A whole Responses answer's own id (its top-level `id`).
fn whole_response_id(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }
    let id = serde_json::from_slice::<Id>(body).ok()?.id;
    (!id.is_empty() && id.len() <= 200).then_some(id)
}

/// The first `"id": "…"` of a stream: the response's own, in the `response.created` event
/// that opens it. Spaces around the colon are allowed; a cut-off id is not taken.
fn response_id(bytes: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""id""#;
    let at = memchr::memmem::find(bytes, KEY)? + KEY.len();
    let rest = &bytes[at..];
    let skip = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let mut i = skip(rest);
    if rest.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    i += skip(&rest[i..]);
    if rest.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    let len = memchr::memchr(b'"', &rest[i..])?;
    let id = std::str::from_utf8(&rest[i..i + len]).ok()?;
    (!id.is_empty() && id.len() <= 200).then(|| id.to_owned())
}

/// Passes a Responses stream through, noting its response id (from its opening event) as
/// an answer of `conversation`.
fn remember_response_id(
    events: proxy::ByteStream,
    core: Arc<Core>,
    conversation: u64,
) -> proxy::ByteStream {
    /// The opening event is read within this many bytes, or not at all.
    const LOOK: usize = 16 * 1024;
    let mut head: Vec<u8> = Vec::new();
    let mut done = false;
    Box::pin(events.inspect(move |chunk| {
        if done {
            return;
        }
        head.extend_from_slice(&chunk[..chunk.len().min(LOOK)]);
        if let Some(id) = response_id(&head) {
            core.proxy
                .routing
                .affinity
                .answered(&id, conversation, crate::clock::now_ms());
            done = true;
        } else if head.len() >= LOOK {
            done = true;
        }
        if done {
            head = Vec::new();
        }
    }))
}

/// A routing failure in the client's API, as bytes (the inspector keeps them too).
pub struct ErrorAnswer {
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
    retry_after_secs: Option<u64>,
}

impl ErrorAnswer {
    fn captured(&self, cap: usize) -> Captured {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        Captured {
            url: None,
            status: Some(self.status.as_u16()),
            headers,
            body: RawLog::whole(&self.body, cap),
        }
    }
}

impl IntoResponse for ErrorAnswer {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A routing failure in the client's API. The provider's own error body is relayed when the
/// client's request was at fault and the provider speaks the client's API.
fn proxy_error_answer(api: Api, e: ProxyError) -> ErrorAnswer {
    if let Some((body, content_type)) = &e.upstream_body
        && e.kind == ErrorKind::InvalidRequest
        && e.upstream_wire.is_some()
        && e.upstream_wire == api.wire()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    {
        return ErrorAnswer {
            status: e.status,
            content_type: content_type.clone(),
            body: body.clone(),
            retry_after_secs: None,
        };
    }
    let category = match e.kind {
        ErrorKind::InvalidRequest => ErrorCategory::InvalidRequest,
        ErrorKind::ContextLength => ErrorCategory::ContextLength,
        ErrorKind::ModelNotFound => ErrorCategory::ModelNotFound,
        ErrorKind::RateLimited => ErrorCategory::RateLimited,
        ErrorKind::Authentication => ErrorCategory::Authentication,
        ErrorKind::Upstream if e.status == StatusCode::SERVICE_UNAVAILABLE => {
            ErrorCategory::Overloaded
        }
        ErrorKind::Upstream => ErrorCategory::Upstream,
    };
    // Whole seconds, rounded up, at least 1: a client retrying at 0 would just fail again.
    let retry_after_secs = e
        .retry_after
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero())));
    ErrorAnswer {
        status: e.status,
        content_type: HeaderValue::from_static("application/json"),
        body: Bytes::from(format::error_body(
            api,
            e.status.as_u16(),
            category,
            &e.message,
            None,
        )),
        retry_after_secs,
    }
}

/// Who served the request, for debugging from the client side (no secrets).
/// The headers that say how a request was routed (names made once, not parsed per answer).
mod routing_header {
    use axum::http::HeaderName;

    pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-ninerouter-request-id");
    pub static PROVIDER: HeaderName = HeaderName::from_static("x-ninerouter-provider");
    pub static MODEL: HeaderName = HeaderName::from_static("x-ninerouter-model");
    pub static ACCOUNT: HeaderName = HeaderName::from_static("x-ninerouter-account");
    pub static FALLBACKS: HeaderName = HeaderName::from_static("x-ninerouter-fallbacks");
    pub static DROPPED: HeaderName = HeaderName::from_static("x-ninerouter-dropped");
}

fn add_routing_headers(
    h: &mut HeaderMap,
    request_id: &str,
    by: &ServedBy,
    failed_attempts: usize,
    dropped: &[String],
) {
    use routing_header as name;
    let mut put = |name: &HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name.clone(), v);
        }
    };
    put(&name::REQUEST_ID, request_id);
    put(&name::PROVIDER, &by.provider);
    put(&name::MODEL, &by.model);
    put(&name::ACCOUNT, &by.account_id);
    put(&name::FALLBACKS, &failed_attempts.to_string());
    if !dropped.is_empty() {
        put(&name::DROPPED, &dropped.join(","));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_ids_are_read_compact_or_spaced_and_never_cut_off() {
        let created = br#"event: response.created
data: {"type":"response.created","response":{"id":"resp_1","object":"response"}}"#;
        assert_eq!(response_id(created).as_deref(), Some("resp_1"));
        assert_eq!(
            response_id(br#"{"response": {"id" : "resp_2"}}"#).as_deref(),
            Some("resp_2")
        );
        assert_eq!(response_id(br#"{"response":{"id":"resp_cut"#), None);
        assert_eq!(
            whole_response_id(b"{\n  \"id\": \"resp_3\",\n  \"object\": \"response\"\n}")
                .as_deref(),
            Some("resp_3")
        );
    }
}
