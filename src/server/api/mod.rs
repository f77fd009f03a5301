//! The JSON management API under `/api`, for the dashboard and scripts. Thin: each handler
//! decodes, calls a `manage` use-case, and encodes.

mod access;
mod admin;
mod answers;
#[cfg(test)]
mod contract;
mod handlers;
mod oauth;
mod quota;
mod setup;
mod tools;
mod usage;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::manage::{ManageError, field_in_message};
use crate::state::Core;

pub fn routes(core: Arc<Core>) -> Router<Arc<Core>> {
    use handlers::*;
    Router::new()
        .route("/api/status", get(status))
        .route("/api/auth/state", get(admin::state))
        .route("/api/auth/login", post(admin::login))
        .route("/api/auth/logout", post(admin::logout))
        .route("/api/auth/desktop", get(admin::desktop))
        .route(
            "/api/admin/password",
            axum::routing::put(admin::put_password).delete(admin::delete_password),
        )
        .route(
            "/api/admin/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route(
            "/api/admin/tokens/{id}",
            axum::routing::delete(admin::delete_token),
        )
        .route("/api/audit", get(admin::audit))
        .route("/api/secrets/move", post(handlers::move_secrets))
        .route("/api/models", get(admin::models))
        .route("/api/models/catalog", get(admin::model_catalog))
        .route("/api/models/test", post(test_models))
        .route("/api/providers", get(providers))
        .route("/api/connections", get(list_accounts).post(create_account))
        .route(
            "/api/connections/{id}",
            get(get_account)
                .patch(update_account)
                .delete(delete_account),
        )
        .route("/api/connections/{id}/reset", post(reset_account))
        .route("/api/connections/{id}/test", post(test_account))
        .route("/api/nodes", get(list_nodes).post(create_node))
        .route(
            "/api/nodes/{id}",
            axum::routing::patch(update_node).delete(delete_node),
        )
        .route("/api/combos", get(list_combos).post(create_combo))
        .route(
            "/api/combos/{name}",
            get(get_combo)
                .put(update_combo)
                .patch(update_combo)
                .delete(delete_combo),
        )
        .route("/api/routing/pause", post(pause_routing))
        .route("/api/routing/resume", post(resume_routing))
        .route(
            "/api/active-combo",
            get(get_active_combo).put(put_active_combo),
        )
        .route("/api/aliases", get(list_aliases))
        .route(
            "/api/aliases/{alias}",
            axum::routing::put(put_alias).delete(delete_alias),
        )
        .route("/api/keys", get(list_keys).post(create_key))
        .route(
            "/api/keys/{id}",
            axum::routing::patch(update_key).delete(delete_key),
        )
        .route("/api/settings", get(get_settings).patch(patch_settings))
        .route("/api/prices", get(list_prices))
        .route(
            "/api/prices/{provider}/{*model}",
            axum::routing::put(put_price).delete(delete_price),
        )
        .route("/api/events", get(events))
        .route("/api/oauth/{provider}/start", post(oauth::start))
        .route(
            "/api/oauth/{provider}/import",
            get(oauth::import_preview).post(oauth::import),
        )
        .route(
            "/api/oauth/{provider}/{login}",
            get(oauth::status).delete(oauth::cancel),
        )
        .route(
            "/api/oauth/{provider}/{login}/complete",
            post(oauth::complete),
        )
        .route("/api/import/preview", post(setup::preview_peer))
        .route("/api/import/apply", post(setup::apply_peer))
        .route("/api/setup/export", post(setup::export))
        .route(
            "/api/sync",
            get(setup::sync_status)
                .put(setup::set_sync)
                .delete(setup::stop_sync),
        )
        .route("/api/sync/merge", post(setup::merge_sync))
        .route(
            "/api/setup/first-run",
            get(setup::first_run).post(setup::complete_first_run),
        )
        .route(
            "/api/setup/preview",
            post(setup::preview_file)
                .layer(axum::extract::DefaultBodyLimit::max(setup::MAX_SETUP_BODY)),
        )
        .route(
            "/api/setup/import",
            post(setup::import_file)
                .layer(axum::extract::DefaultBodyLimit::max(setup::MAX_SETUP_BODY)),
        )
        .route("/api/tools", get(tools::list))
        .route("/api/tools/{tool}/preview", post(tools::preview))
        .route("/api/tools/{tool}/apply", post(tools::apply))
        .route("/api/tools/{tool}/restore", post(tools::restore))
        .route("/api/quota", get(quota::list))
        .route("/api/quota/{account}", get(quota::one))
        .route("/api/quota/{account}/refresh", post(quota::refresh))
        .route("/api/usage/summary", get(usage::summary))
        .route("/api/usage/timeseries", get(usage::timeseries))
        .route("/api/usage/request-details", get(usage::request_details))
        .route(
            "/api/usage/request-details/export",
            get(usage::export_details),
        )
        .route(
            "/api/usage/request-details/{id}",
            get(usage::request_detail),
        )
        .layer(axum::middleware::from_fn_with_state(
            core,
            access::require_admin,
        ))
}

#[derive(Debug)]
pub enum ApiError {
    Manage(ManageError),
    BadBody {
        field: String,
        message: String,
    },
    NotFound(String),
    /// The management API needs an admin session or token, and none was presented.
    AdminRequired,
    /// Refused with its own status and code (a wrong password, a throttled login).
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
        retry_after: Option<std::time::Duration>,
    },
}

impl ApiError {
    pub fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Refused {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> Self {
        Self::Manage(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut retry = None;
        let (status, code, message, field) = match self {
            ApiError::Manage(ManageError::Invalid { field, message }) => (
                StatusCode::BAD_REQUEST,
                "validation_error",
                message,
                Some(field),
            ),
            ApiError::Manage(ManageError::Conflict { field, message }) => {
                (StatusCode::CONFLICT, "conflict", message, Some(field))
            }
            ApiError::Manage(ManageError::ReadOnly(m)) => {
                (StatusCode::CONFLICT, "read_only", m, None)
            }
            ApiError::Manage(ManageError::NotFound(m)) | ApiError::NotFound(m) => {
                (StatusCode::NOT_FOUND, "not_found", m, None)
            }
            ApiError::Manage(ManageError::Upstream(m)) => {
                (StatusCode::BAD_GATEWAY, "upstream_error", m, None)
            }
            ApiError::Manage(ManageError::Core(e)) => {
                tracing::error!("management request failed: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    e.to_string(),
                    None,
                )
            }
            ApiError::BadBody { field, message } => (
                StatusCode::BAD_REQUEST,
                "validation_error",
                message,
                Some(field),
            ),
            ApiError::AdminRequired => (
                StatusCode::UNAUTHORIZED,
                "admin_login_required",
                "managing NineRouter needs the dashboard password (or an admin token); \
                 proxy keys open the client APIs only"
                    .to_owned(),
                None,
            ),
            ApiError::Refused {
                status,
                code,
                message,
                retry_after,
            } => {
                retry = retry_after;
                (status, code, message, None)
            }
        };
        let body = answers::ErrorBody {
            error: answers::ErrorDetail {
                message,
                code,
                field,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(wait) = retry
            && let Ok(v) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

/// A JSON body whose problems come back as `validation_error`s naming the field.
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out (an empty body is the type's default).
pub fn json_or_default<T: DeserializeOwned + Default>(raw: &[u8]) -> Result<T, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(raw).map_err(|e| {
        let message = e.to_string();
        ApiError::BadBody {
            field: field_in_message(&message).unwrap_or("body").to_owned(),
            message,
        }
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadBody {
                field: "body".into(),
                message: e.body_text(),
            })?;
        serde_json::from_slice(&bytes).map(ApiJson).map_err(|e| {
            let message = e.to_string();
            ApiError::BadBody {
                field: field_in_message(&message).unwrap_or("body").to_owned(),
                message,
            }
        })
    }
}
