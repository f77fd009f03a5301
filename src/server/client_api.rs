//! What every client endpoint shares: reading the body, dispatching, and answering in the
//! client's own API: its stream framing, its error shape and status, and our routing headers.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;

use crate::engine::Core;
use crate::events::ServedBy;
use crate::format::{self, Api, ErrorCategory, FormatError};
use crate::proxy::{self, Answer, ErrorKind, Inbound, ProxyError};
use crate::store::now_ms;
use crate::usage::{self, Tokens, UsageRecord};

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
        .map_err(|_| {
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

/// The request headers a same-format upstream must see, taken before the body is read
/// (copying the whole map costs more than the rest of a passthrough's bookkeeping).
pub fn anthropic_headers(request: &axum::extract::Request) -> HeaderMap {
    let mut kept = HeaderMap::new();
    for name in ["anthropic-beta", "anthropic-version"] {
        if let Some(v) = request.headers().get(name) {
            kept.insert(name, v.clone());
        }
    }
    kept
}

/// The path each API is served at, for usage records (aliases such as `/chat/completions`
/// count as their API's main endpoint).
fn endpoint_of(api: Api) -> &'static str {
    match api {
        Api::OpenaiChat => "/v1/chat/completions",
        Api::Responses => "/v1/responses",
        Api::Anthropic => "/v1/messages",
        Api::Gemini => "/v1beta/models",
        Api::Ollama => "/api/chat",
    }
}

/// Routes `inbound` and answers in its API; every outcome is recorded for usage.
pub async fn serve(core: Arc<Core>, inbound: Inbound) -> Response {
    let started = Instant::now();
    let catalog = core.catalog();
    let api = inbound.api;
    let mut record = UsageRecord {
        started_ms: now_ms(),
        api,
        endpoint: endpoint_of(api),
        requested_model: inbound.model.clone(),
        provider: None,
        model: None,
        account_id: None,
        attempts: Vec::new(),
        status: 0,
        tokens: Tokens::None,
        streamed: inbound.stream,
        ttft_ms: None,
        latency_ms: 0,
    };
    let elapsed_ms = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match proxy::dispatch(&core.proxy, &catalog, &inbound).await {
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
            record.provider = Some(served.by.provider.clone());
            record.model = Some(served.by.model.clone());
            record.account_id = Some(served.by.account_id.clone());
            record.attempts = served.attempts;
            record.status = status.as_u16();
            let mut response = match served.answer {
                Answer::Full {
                    status,
                    content_type,
                    body,
                } => {
                    record.tokens = Tokens::InBody(body.clone());
                    record.latency_ms = elapsed_ms();
                    record.ttft_ms = Some(record.latency_ms);
                    core.usage.record(record);
                    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
                }
                Answer::Stream { events, meter } => {
                    let events =
                        usage::tap_stream(events, meter, record, core.usage.clone(), started);
                    let body = Body::from_stream(events.map(Ok::<_, Infallible>));
                    let mut r = Response::new(body);
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
                &served.by,
                failed_attempts,
                &served.dropped,
            );
            response
        }
        Err(mut e) => {
            proxy::publish_routed(core.events(), &inbound.model, None, &e.attempts, e.status);
            record.attempts = std::mem::take(&mut e.attempts);
            record.status = e.status.as_u16();
            record.latency_ms = elapsed_ms();
            core.usage.record(record);
            proxy_error(api, e)
        }
    }
}

/// A routing failure in the client's API. The provider's own error body is relayed when the
/// client's request was at fault and the provider speaks the client's API.
pub fn proxy_error(api: Api, e: ProxyError) -> Response {
    if let Some((body, content_type)) = &e.upstream_body
        && e.kind == ErrorKind::InvalidRequest
        && e.upstream_wire.is_some()
        && e.upstream_wire == api.wire()
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    {
        return (
            e.status,
            [(header::CONTENT_TYPE, content_type.clone())],
            body.clone(),
        )
            .into_response();
    }
    let category = match e.kind {
        ErrorKind::InvalidRequest => ErrorCategory::InvalidRequest,
        ErrorKind::ModelNotFound => ErrorCategory::ModelNotFound,
        ErrorKind::RateLimited => ErrorCategory::RateLimited,
        ErrorKind::Authentication => ErrorCategory::Authentication,
        ErrorKind::Upstream if e.status == StatusCode::SERVICE_UNAVAILABLE => {
            ErrorCategory::Overloaded
        }
        ErrorKind::Upstream => ErrorCategory::Upstream,
    };
    let mut response = error_response(api, e.status, category, &e.message);
    // Whole seconds, rounded up, at least 1: a client retrying at 0 would just fail again.
    if let Some(d) = e.retry_after {
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero()));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Who served the request, for debugging from the client side (no secrets).
fn add_routing_headers(
    h: &mut HeaderMap,
    by: &ServedBy,
    failed_attempts: usize,
    dropped: &[String],
) {
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put("x-ninerouter-provider", &by.provider);
    put("x-ninerouter-model", &by.model);
    put("x-ninerouter-account", &by.account_id);
    put("x-ninerouter-fallbacks", &failed_attempts.to_string());
    if !dropped.is_empty() {
        put("x-ninerouter-dropped", &dropped.join(","));
    }
}
