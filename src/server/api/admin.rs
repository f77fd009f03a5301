//! `/api/auth/…` (the login, the desktop window's ticket) and `/api/admin/…` (password and
//! admin tokens), and the audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::{Caller, session_set_cookie};
use super::{ApiError, ApiJson};
use crate::manage::{self, admin::LoginRefusal};
use crate::state::Core;

type ApiResult<T> = Result<T, ApiError>;

pub async fn state(
    State(core): State<Arc<Core>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let state = manage::admin::access_state(&core, caller.actor.as_ref()).await?;
    Ok(Json(state).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: String,
}

pub async fn login(
    State(core): State<Arc<Core>>,
    Extension(caller): Extension<Caller>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let client = caller
        .client
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.ip());
    match manage::admin::log_in(&core, client, body.password).await {
        Ok(session) => Ok((
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, session_set_cookie(Some(&session)))],
        )
            .into_response()),
        Err(LoginRefusal::Manage(e)) => Err(e.into()),
        Err(e @ LoginRefusal::NoPassword) => Err(ApiError::refused(
            StatusCode::CONFLICT,
            "no_password",
            e.to_string(),
        )),
        Err(e @ LoginRefusal::Wrong) => Err(ApiError::refused(
            StatusCode::UNAUTHORIZED,
            "wrong_password",
            e.to_string(),
        )),
        Err(e @ LoginRefusal::Throttled(wait)) => Err(ApiError::Refused {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "throttled",
            message: e.to_string(),
            retry_after: Some(wait),
        }),
    }
}

pub async fn logout(
    State(core): State<Arc<Core>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    if let Some(session) = &caller.session {
        // A session a shared store could not end is said so: it would still open other hosts.
        manage::admin::log_out(&core, session).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_set_cookie(None))],
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct TicketQuery {
    ticket: String,
}

/// The desktop window opens this with a ticket from the shell and lands on the dashboard
/// with a session.
pub async fn desktop(State(core): State<Arc<Core>>, Query(q): Query<TicketQuery>) -> Response {
    let redeemed = match manage::admin::redeem_ticket(&core, &q.ticket).await {
        Ok(r) => r,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match redeemed {
        Some(session) => {
            tracing::info!("the desktop window signed in with its ticket");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, session_set_cookie(Some(&session))),
                    (
                        header::LOCATION,
                        axum::http::HeaderValue::from_static("/dashboard/"),
                    ),
                ],
            )
                .into_response()
        }
        None => ApiError::refused(
            StatusCode::UNAUTHORIZED,
            "bad_ticket",
            "this desktop ticket is unknown, used or expired",
        )
        .into_response(),
    }
}

pub async fn put_password(
    State(core): State<Arc<Core>>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<Response> {
    let session = manage::admin::set_password(&core, Some(body.password)).await?;
    Ok((
        [(header::SET_COOKIE, session_set_cookie(session.as_deref()))],
        Json(super::answers::PasswordSet { password_set: true }),
    )
        .into_response())
}

pub async fn delete_password(State(core): State<Arc<Core>>) -> ApiResult<Response> {
    manage::admin::set_password(&core, None).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session_set_cookie(None))],
    )
        .into_response())
}

pub async fn list_tokens(State(core): State<Arc<Core>>) -> ApiResult<Response> {
    Ok(Json(manage::admin::list_admin_tokens(&core).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    name: String,
}

pub async fn create_token(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<TokenInput>,
) -> ApiResult<Response> {
    let created = manage::admin::create_admin_token(&core, &input.name).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn delete_token(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    manage::admin::delete_admin_token(&core, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct AuditQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

pub async fn audit(
    State(core): State<Arc<Core>>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let entries = manage::list_audit(&core, q.limit.unwrap_or(100), q.before).await?;
    Ok(Json(entries).into_response())
}

/// Every model string a client can ask for (what `/v1/models` lists), for the dashboard,
/// which holds no client key.
pub async fn models(State(core): State<Arc<Core>>) -> Json<Vec<String>> {
    Json(
        core.catalog()
            .routable_models()
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    )
}

/// `GET /api/models/catalog`: every routable model with its provider, context window, price
/// and last test.
pub async fn model_catalog(State(core): State<Arc<Core>>) -> Json<Vec<crate::manage::ModelView>> {
    Json(crate::manage::list_models(&core))
}
