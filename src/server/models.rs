//! `GET /v1/models` and `GET /v1beta/models`: combos first, then every routable model, in
//! the shape the caller's API uses (OpenAI by default, Anthropic when `anthropic-version` is
//! sent, Gemini when `x-goog-api-key` or `?key=` is).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use serde_json::{Value, json};

use crate::state::Core;

pub async fn list_models(State(core): State<Arc<Core>>, request: Request) -> Json<Value> {
    let models = core.catalog().routable_models();
    let h = request.headers();
    let gemini = h.contains_key("x-goog-api-key")
        || request
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
    if h.contains_key("anthropic-version") {
        Json(anthropic_shape(&models))
    } else if gemini {
        Json(gemini_shape(&models))
    } else {
        Json(openai_shape(&models))
    }
}

pub async fn list_gemini_models(State(core): State<Arc<Core>>) -> Json<Value> {
    Json(gemini_shape(&core.catalog().routable_models()))
}

fn openai_shape(models: &[(String, String)]) -> Value {
    let created = crate::clock::now_ms() / 1000;
    let data: Vec<Value> = models
        .iter()
        .map(|(id, owned_by)| {
            json!({ "id": id, "object": "model", "created": created, "owned_by": owned_by })
        })
        .collect();
    json!({ "object": "list", "data": data })
}

fn anthropic_shape(models: &[(String, String)]) -> Value {
    let created = httpdate::fmt_http_date(std::time::SystemTime::now());
    let data: Vec<Value> = models
        .iter()
        .map(
            |(id, _)| json!({"type": "model", "id": id, "display_name": id, "created_at": created}),
        )
        .collect();
    json!({
        "data": data,
        "has_more": false,
        "first_id": models.first().map(|m| m.0.clone()),
        "last_id": models.last().map(|m| m.0.clone()),
    })
}

fn gemini_shape(models: &[(String, String)]) -> Value {
    let list: Vec<Value> = models
        .iter()
        .map(|(id, _)| {
            json!({
                "name": format!("models/{id}"),
                "displayName": id,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            })
        })
        .collect();
    json!({ "models": list })
}
