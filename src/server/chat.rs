//! `POST /v1/chat/completions` (OpenAI Chat Completions).

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::openai_error::{OpenAiError, proxy_error_response};
use crate::engine::Core;
use crate::events::ServedBy;
use crate::proxy::{self, Answer, JsonBody};

/// Coding agents send long histories with images; this bounds one request body.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

pub async fn chat_completions(State(core): State<Arc<Core>>, request: Request) -> Response {
    let bytes = match axum::body::to_bytes(request.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return OpenAiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                format!(
                    "The request body is larger than {} MB or was cut off.",
                    MAX_BODY >> 20
                ),
            )
            .into_response();
        }
    };
    let body = match JsonBody::parse(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return OpenAiError::invalid_request(e.to_string())
                .with_param(e.param())
                .into_response();
        }
    };
    let catalog = core.catalog();
    match proxy::dispatch(&core.proxy, &catalog, &body).await {
        Ok(served) => {
            let status = match &served.answer {
                Answer::Full { status, .. } => *status,
                Answer::Stream(_) => StatusCode::OK,
            };
            proxy::publish_routed(
                core.events(),
                &body.model,
                Some(&served.by),
                &served.attempts,
                status,
            );
            let mut response = match served.answer {
                Answer::Full {
                    status,
                    content_type,
                    body,
                } => (status, [(header::CONTENT_TYPE, content_type)], body).into_response(),
                Answer::Stream(events) => {
                    let body = Body::from_stream(events.map(Ok::<_, Infallible>));
                    let mut r = Response::new(body);
                    let h = r.headers_mut();
                    h.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/event-stream"),
                    );
                    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                    r
                }
            };
            add_routing_headers(response.headers_mut(), &served.by, served.attempts.len());
            response
        }
        Err(e) => {
            proxy::publish_routed(core.events(), &body.model, None, &e.attempts, e.status);
            proxy_error_response(e)
        }
    }
}

/// Who served the request, for debugging from the client side (no secrets).
fn add_routing_headers(h: &mut axum::http::HeaderMap, by: &ServedBy, failed_attempts: usize) {
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put("x-ninerouter-provider", &by.provider);
    put("x-ninerouter-model", &by.model);
    put("x-ninerouter-account", &by.account_id);
    put("x-ninerouter-fallbacks", &failed_attempts.to_string());
}
