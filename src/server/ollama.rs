//! Ollama: `POST /v1/api/chat` (NDJSON streaming unless `"stream": false`) and
//! `GET /api/tags`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::Value;

use super::client_api::{Caller, bad_request, read_body, serve};
use crate::format::{Api, ollama};
use crate::proxy::Inbound;
use crate::state::Core;

pub async fn chat(State(core): State<Arc<Core>>, mut request: Request) -> Response {
    let caller = Caller::of(&core, &mut request);
    let bytes = match read_body(Api::Ollama, request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match Inbound::decoded_now(Api::Ollama, bytes) {
        Ok(inbound) => serve(core, inbound, caller).await,
        Err(e) => bad_request(Api::Ollama, &e),
    }
}

pub async fn tags(State(core): State<Arc<Core>>) -> Json<Value> {
    let models: Vec<String> = core
        .catalog()
        .routable_models()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Json(ollama::tags(&models))
}
