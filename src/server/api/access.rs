//! The management API's door: who the caller is (a dashboard session cookie or an admin
//! token, never a proxy key), whether that is enough, and the audit entry for every change.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::admin::{Actor, SESSION_COOKIE, SESSION_TTL_MS};
use crate::manage;
use crate::state::Core;

/// A management body larger than this is refused (the largest real one is a combo list)...
const MAX_MANAGEMENT_BODY: usize = 1 << 20;
/// ...but a setup file being brought in, which may carry months of usage.
use super::setup::MAX_SETUP_BODY;

/// Who is calling, for the handlers and the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` before a login on an API that needs one (only `/api/auth/…` sees that).
    pub actor: Option<Actor>,
    pub client: Option<SocketAddr>,
    pub session: Option<String>,
}

/// The session tokens in the request's cookies: every one, since browsers share cookies
/// across a host's ports and another local page may have planted a decoy of the same name.
pub fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

/// The cookie that holds a new session (or, with `None`, ends it in the browser).
pub fn session_set_cookie(token: Option<&str>) -> HeaderValue {
    let value = match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            SESSION_TTL_MS / 1000
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// Lets a request through when its caller may manage the router, and records every change.
pub async fn require_admin(
    State(core): State<Arc<Core>>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let sessions: Vec<&str> = session_cookies(headers).take(8).collect();
    // An admin token comes where clients put keys (never a proxy key: see `identify`).
    let bearer = super::super::client_auth::presented_key(headers, None);
    let (identified, session) = match manage::admin::identify(&core, &sessions, bearer).await {
        Ok(Some((actor, session))) => (Some(actor), session),
        Ok(None) => (None, None),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let public = request.uri().path().starts_with("/api/auth/");
    let actor = match identified {
        Some(actor) => Some(actor),
        None => match manage::admin::admin_required(&core).await {
            Ok(false) => Some(Actor::Local),
            Ok(true) if public => None,
            Ok(true) => return ApiError::AdminRequired.into_response(),
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let caller = Caller {
        actor,
        client,
        session,
    };
    request.extensions_mut().insert(caller.clone());
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !changes_state {
        return next.run(request).await;
    }
    // The body is read here once, for the log, and handed on.
    let action = format!("{} {}", request.method(), request.uri().path());
    let (parts, body) = request.into_parts();
    let limit = if parts.uri.path().starts_with("/api/setup/") {
        MAX_SETUP_BODY
    } else {
        MAX_MANAGEMENT_BODY
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(e) if super::super::client_api::is_too_slow(&e) => {
            return ApiError::refused(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time",
            )
            .into_response();
        }
        Err(_) => {
            return ApiError::BadBody {
                field: "body".into(),
                message: format!("the body is larger than {limit} bytes"),
            }
            .into_response();
        }
    };
    let detail = manage::audit_detail(&core, &bytes);
    let response = next
        .run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await;
    // A caller nobody knows changes nothing but by logging in: failed attempts go to the log
    // file (tracing), not here, where a flood of them would push out the real changes.
    let who = match caller.actor {
        Some(actor) => actor,
        None if response.status().is_success() && action == "POST /api/auth/login" => {
            Actor::Session
        }
        None => return response,
    };
    let client = caller
        .client
        .map_or("unknown".into(), |c| c.ip().to_string());
    manage::record_change(
        &core,
        client,
        &who,
        action,
        detail,
        response.status().as_u16(),
    )
    .await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_session_is_found_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; nr_session=nrs-decoy; x=y; nr_session=nrs-abc"),
        );
        let found: Vec<&str> = session_cookies(&h).collect();
        assert_eq!(found, ["nrs-decoy", "nrs-abc"]);
        h.insert(header::COOKIE, HeaderValue::from_static("nr_sessionx=1"));
        assert_eq!(session_cookies(&h).count(), 0);
    }

    #[test]
    fn session_cookies_are_http_only_and_same_site_strict() {
        let set = session_set_cookie(Some("nrs-abc"));
        let set = set.to_str().unwrap();
        assert!(set.starts_with("nr_session=nrs-abc;"));
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(
            session_set_cookie(None)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}
