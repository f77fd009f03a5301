//! `/api/oauth/{provider}/…`: logins as steps (start → show the code → poll the status).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiError;
use super::answers::{FoundAnswer, ImportedAnswer, LoginAnswer};
use crate::auth;
use crate::state::Core;

type ApiResult<T> = Result<T, ApiError>;

/// The body is optional: an empty one starts a login for a new account.
pub async fn start(
    State(core): State<Arc<Core>>,
    Path(provider): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = start_body(&raw)?;
    let started = crate::manage::start_login(&core, &provider, body).await?;
    Ok((StatusCode::ACCEPTED, Json(started)).into_response())
}

fn start_body(raw: &[u8]) -> Result<crate::manage::LoginOptions, ApiError> {
    super::json_or_default(raw)
}

fn found(core: &Core, provider: &str, id: &str) -> Result<auth::LoginStatus, ApiError> {
    match core.logins.get(id) {
        Some((p, status))
            if core
                .catalog()
                .provider_by_prefix(provider)
                .is_some_and(|x| x.id == p) =>
        {
            Ok(status)
        }
        _ => Err(ApiError::NotFound(format!("no {provider} login '{id}'"))),
    }
}

pub async fn status(
    State(core): State<Arc<Core>>,
    Path((provider, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let login = found(&core, &provider, &id)?;
    Ok(Json(LoginAnswer {
        login_id: id,
        login,
    })
    .into_response())
}

pub async fn cancel(
    State(core): State<Arc<Core>>,
    Path((provider, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    found(&core, &provider, &id)?;
    core.logins.cancel(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteBody {
    /// What the provider showed after approval (`code#state`), or its callback URL.
    pub code: String,
}

pub async fn complete(
    State(core): State<Arc<Core>>,
    Path((provider, id)): Path<(String, String)>,
    body: super::ApiJson<CompleteBody>,
) -> ApiResult<Response> {
    found(&core, &provider, &id)?;
    let login = crate::manage::complete_login(&core, &id, &body.0.code).await?;
    Ok(Json(LoginAnswer {
        login_id: id,
        login,
    })
    .into_response())
}

/// What importing the provider's CLI login would bring in; nothing is stored.
pub async fn import_preview(
    State(core): State<Arc<Core>>,
    Path(provider): Path<String>,
) -> ApiResult<Response> {
    let found = crate::manage::preview_import(&core, &provider)?;
    Ok(Json(FoundAnswer { found }).into_response())
}

/// Imports the provider's CLI login (the user agreed to the preview).
pub async fn import(
    State(core): State<Arc<Core>>,
    Path(provider): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = start_body(&raw)?;
    let (account_id, name) =
        crate::manage::import_login(&core, &provider, body.account_id.as_deref()).await?;
    let login = auth::LoginStatus::Done { account_id, name };
    Ok((StatusCode::CREATED, Json(ImportedAnswer { login })).into_response())
}
