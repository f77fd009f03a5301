//! OpenAI Responses: `POST /v1/responses` and `POST /codex/responses` (Codex CLI).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::client_api::serve_model_in_body;
use crate::format::{self, Api, ErrorCategory};
use crate::state::Core;

pub async fn create(State(core): State<Arc<Core>>, request: Request) -> Response {
    serve_model_in_body(Api::Responses, core, request).await
}

/// Codex tries a WebSocket on `GET /v1/responses` first. Only a 426 makes it switch to HTTP
/// POST at once; anything else costs retries with backoff before it falls back.
pub async fn refuse_websocket() -> Response {
    let body = format::error_body(
        Api::Responses,
        426,
        ErrorCategory::InvalidRequest,
        "NineRouter serves the Responses API over HTTP POST with SSE, not WebSocket; use POST /v1/responses.",
        None,
    );
    (
        StatusCode::UPGRADE_REQUIRED,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONNECTION, HeaderValue::from_static("close")),
        ],
        body,
    )
        .into_response()
}
