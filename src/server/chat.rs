//! `POST /v1/chat/completions` (OpenAI Chat Completions).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;

use super::client_api::{anthropic_headers, bad_request, read_body, serve};
use crate::engine::Core;
use crate::format::Api;
use crate::proxy::Inbound;

pub async fn chat_completions(State(core): State<Arc<Core>>, request: Request) -> Response {
    let headers = anthropic_headers(&request);
    let bytes = match read_body(Api::OpenaiChat, request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match Inbound::with_model_in_body(Api::OpenaiChat, bytes, &headers) {
        Ok(inbound) => serve(core, inbound).await,
        Err(e) => bad_request(Api::OpenaiChat, &e),
    }
}
