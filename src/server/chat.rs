//! `POST /v1/chat/completions` (OpenAI Chat Completions).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;

use super::client_api::serve_model_in_body;
use crate::engine::Core;
use crate::format::Api;

pub async fn chat_completions(State(core): State<Arc<Core>>, request: Request) -> Response {
    serve_model_in_body(Api::OpenaiChat, core, request).await
}
