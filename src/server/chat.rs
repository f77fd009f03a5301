//! `POST /v1/chat/completions` (OpenAI Chat Completions).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;

use super::client_api::serve_model_in_body;
use crate::format::Api;
use crate::state::Core;

pub async fn chat_completions(State(core): State<Arc<Core>>, request: Request) -> Response {
    serve_model_in_body(Api::OpenaiChat, core, request).await
}
