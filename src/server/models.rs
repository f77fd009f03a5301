//! `GET /v1/models`: combos first, then every routable model, in OpenAI's list shape.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::engine::Core;

pub async fn list_models(State(core): State<Arc<Core>>) -> Json<Value> {
    let created = crate::store::now_ms() / 1000;
    let data: Vec<Value> = core
        .catalog()
        .routable_models()
        .into_iter()
        .map(|(id, owned_by)| {
            json!({ "id": id, "object": "model", "created": created, "owned_by": owned_by })
        })
        .collect();
    Json(json!({ "object": "list", "data": data }))
}
