//! The HTTP server: client APIs under `/v1` (and friends), the management API under `/api`.

mod allow;
mod anthropic;
mod api;
mod chat;
mod client_api;
mod client_auth;
mod dashboard;
mod edge;
mod for_browsers;
mod gate;
mod gemini;
mod guard;
mod key_limits;
mod listen;
mod models;
mod observed;
mod ollama;
mod openai_error;
mod responses;
mod slow_body;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::state::Core;
pub use allow::{AllowList, BadCidr};
pub use listen::Limits;
use openai_error::OpenAiError;

pub fn router(core: Arc<Core>) -> Router {
    let client = Router::new()
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/chat/completions", post(chat::chat_completions))
        .route("/v1/models", get(models::list_models))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route(
            "/v1/responses",
            post(responses::create).get(responses::refuse_websocket),
        )
        .route(
            "/codex/responses",
            post(responses::create).get(responses::refuse_websocket),
        )
        .route("/v1beta/models", get(models::list_gemini_models))
        .route("/v1beta/models/{*rest}", post(gemini::model_action))
        .route("/v1/models/{*rest}", post(gemini::model_action))
        .route("/v1/api/chat", post(ollama::chat))
        .route("/api/chat", post(ollama::chat))
        .route("/api/tags", get(ollama::tags))
        // One layer of the two: each `Router::layer` wraps every route in a boxed service.
        // CORS outermost, so a preflight and a refusal get its headers.
        .layer(tower_layer::Stack::new(
            gate::Gate::new(core.clone(), client_auth::require_client_key),
            for_browsers::ForBrowsers(guard::client_cors()),
        ));

    let management = api::routes(core.clone()).layer(guard::management_cors(core.listen.clone()));
    let dashboard = Router::new()
        .route("/dashboard", get(dashboard::redirect))
        .route("/dashboard/", get(dashboard::serve))
        .route("/dashboard/{*path}", get(dashboard::serve))
        .layer(axum::middleware::from_fn(dashboard::protect));
    let rest = Router::new()
        .route("/", get(root))
        .merge(dashboard)
        .merge(management)
        .fallback(not_found)
        .layer(gate::Gate::new(core.clone(), guard::host_and_origin));

    Router::new().merge(client).merge(rest).with_state(core)
}

/// The answer to a request whose handler panicked.
fn internal_error() -> Response {
    OpenAiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "NineRouter hit an internal error; the details are in its log.",
    )
    .into_response()
}

/// `HEAD /` and `GET /`: Claude Code probes the base URL before it starts.
async fn root() -> &'static str {
    "NineRouter is running. Point your client at /v1; the dashboard is at /dashboard.\n"
}

async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api") {
        return api::ApiError::NotFound(format!("no API endpoint {path}")).into_response();
    }
    let api = client_api::api_of_path(path);
    if api != crate::format::Api::OpenaiChat {
        return client_api::error_response(
            api,
            StatusCode::NOT_FOUND,
            crate::format::ErrorCategory::ModelNotFound,
            &format!("Unknown request URL: {path}."),
        );
    }
    OpenAiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!("Unknown request URL: {path}. Please check the URL for typos."),
    )
    .with_code("unknown_url")
    .into_response()
}

/// Serves until `shutdown` turns true, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    core: Arc<Core>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) {
    listen::serve(listener, router(core), internal_error, limits, shutdown).await;
}
