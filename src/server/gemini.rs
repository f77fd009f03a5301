//! Gemini: `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`
//! and `:countTokens` (also under `/v1/models/…`), and `GET /v1beta/models`. The model may
//! carry a provider prefix, also URL-encoded (`models/oa%2Fgpt-4o:generateContent`).

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_api::{Caller, bad_request, error_response, read_body, serve};
use crate::format::{Api, ErrorCategory, FormatError};
use crate::proxy::Inbound;
use crate::state::Core;

#[derive(serde::Deserialize, Default)]
pub struct GeminiQuery {
    alt: Option<String>,
}

pub async fn model_action(
    State(core): State<Arc<Core>>,
    Path(rest): Path<String>,
    Query(query): Query<GeminiQuery>,
    mut request: Request,
) -> Response {
    let Some((model, action)) = rest.rsplit_once(':') else {
        return error_response(
            Api::Gemini,
            StatusCode::NOT_FOUND,
            ErrorCategory::ModelNotFound,
            &format!("models/{rest} needs an action such as :generateContent"),
        );
    };
    let model = model.strip_prefix("models/").unwrap_or(model).to_owned();
    let caller = Caller::of(&core, &mut request);
    let bytes = match read_body(Api::Gemini, request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match action {
        "generateContent" => generate(core, caller, bytes, model, false, false).await,
        "streamGenerateContent" => {
            let sse = query.alt.as_deref() == Some("sse");
            generate(core, caller, bytes, model, true, !sse).await
        }
        "countTokens" => count_tokens(&bytes).await,
        other => error_response(
            Api::Gemini,
            StatusCode::NOT_FOUND,
            ErrorCategory::ModelNotFound,
            &format!("the method {other} is not served by NineRouter"),
        ),
    }
}

/// `json_array`: `streamGenerateContent` without `alt=sse` answers a JSON array of chunks;
/// we send the whole answer as a one-element array.
async fn generate(
    core: Arc<Core>,
    caller: Caller,
    bytes: bytes::Bytes,
    model: String,
    stream: bool,
    json_array: bool,
) -> Response {
    let stream = stream && !json_array;
    let inbound = match Inbound::with_model_in_path(Api::Gemini, bytes, model, stream) {
        Ok(i) => i,
        Err(e) => return bad_request(Api::Gemini, &e),
    };
    let response = serve(core, inbound, caller).await;
    if !json_array || !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => {
            let mut wrapped = Vec::with_capacity(b.len() + 2);
            wrapped.push(b'[');
            wrapped.extend_from_slice(&b);
            wrapped.push(b']');
            Response::from_parts(parts, axum::body::Body::from(wrapped))
        }
        Err(_) => error_response(
            Api::Gemini,
            StatusCode::BAD_GATEWAY,
            ErrorCategory::Upstream,
            "the answer could not be read",
        ),
    }
}

/// A local estimate with the o200k_base tokenizer over the request's text.
async fn count_tokens(bytes: &[u8]) -> Response {
    let body: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return bad_request(Api::Gemini, &FormatError::new(e.to_string())),
    };
    let contents = body
        .pointer("/generateContentRequest/contents")
        .or_else(|| body.get("contents"))
        .cloned()
        .unwrap_or(Value::Null);
    let as_messages = json!({"messages": contents.as_array().map(|cs| cs.iter().map(|c| json!({"content": c.get("parts").cloned().unwrap_or(Value::Null)})).collect::<Vec<_>>()).unwrap_or_default()});
    match tokio::task::spawn_blocking(move || super::anthropic::estimate_tokens(&as_messages)).await
    {
        Ok(Ok(n)) => (
            [("x-ninerouter-token-count", "estimate-o200k_base")],
            axum::Json(json!({"totalTokens": n})),
        )
            .into_response(),
        _ => error_response(
            Api::Gemini,
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCategory::Upstream,
            "the local tokenizer could not be loaded",
        ),
    }
}
