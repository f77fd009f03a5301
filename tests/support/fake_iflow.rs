//! A fake iFlow on loopback: the login page (redirecting the browser back with a code), the
//! token endpoint (Basic client auth, form-encoded), getUserInfo (the account's API key), and
//! the OpenAI-compatible chat endpoint, which checks iFlow CLI's signature headers and
//! streams a tool call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use hmac::Mac as _;
use serde_json::{Value, json};

pub const PHONE: &str = "138****0000";
const BASIC: &str = "10009311001:4Z3YjXycVsQvyGF1etiNlIBB4RsqSDtW";

#[derive(Default)]
pub struct Inner {
    codes: HashMap<String, String>,
    issued: usize,
    refreshes: usize,
    revoked: bool,
    refuse_next: bool,
    /// Chat requests: whether the signature checked out, and the body.
    seen: Vec<(bool, Value)>,
}

pub type FakeIflow = super::fake::Fake<Inner>;

impl FakeIflow {
    pub async fn start() -> FakeIflow {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/oauth", get(login_page))
            .route("/oauth/token", post(token))
            .route("/api/oauth/getUserInfo", get(user_info))
            .route("/v1/chat/completions", post(chat));
        super::fake::Fake::serve(inner, app).await
    }

    pub fn config(&self) -> String {
        format!(
            "[auth.iflow]\nlogin_url = \"{0}\"\napi_url = \"{0}/v1\"\n",
            self.base
        )
    }

    pub fn refuse_next_request(&self) {
        self.lock().refuse_next = true;
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn last_request(&self) -> Option<(bool, Value)> {
        self.lock().seen.last().cloned()
    }
}

type Shared = super::fake::Shared<Inner>;

fn api_key(issued: usize) -> String {
    format!("sk-iflow-{issued}")
}

async fn login_page(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != "10009311001" || get("loginMethod") != "phone" {
        return (StatusCode::BAD_REQUEST, "bad client").into_response();
    }
    let mut inner = inner.lock().expect("lock");
    let code = format!("iflow-code-{}", inner.codes.len() + 1);
    let redirect = get("redirect");
    inner.codes.insert(code.clone(), redirect.clone());
    Redirect::to(&format!("{redirect}?code={code}&state={}", get("state"))).into_response()
}

fn oauth_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": error})),
    )
        .into_response()
}

async fn token(
    State(inner): Shared,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(BASIC)
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return oauth_error("invalid_client");
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let mut inner = inner.lock().expect("lock");
    match get("grant_type").as_str() {
        "authorization_code" => {
            if inner.codes.remove(&get("code")) != Some(get("redirect_uri")) {
                return oauth_error("invalid_grant");
            }
        }
        "refresh_token" => {
            if inner.revoked || get("refresh_token") != format!("iflow-refresh-{}", inner.issued) {
                return oauth_error("invalid_grant");
            }
            inner.refreshes += 1;
        }
        _ => return oauth_error("unsupported_grant_type"),
    }
    inner.issued += 1;
    Json(json!({
        "access_token": format!("iflow-access-{}", inner.issued),
        "refresh_token": format!("iflow-refresh-{}", inner.issued),
        "expires_in": 172800,
        "token_type": "bearer",
        "scope": "read"
    }))
    .into_response()
}

async fn user_info(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let issued = inner.lock().expect("lock").issued;
    if q.get("accessToken") != Some(&format!("iflow-access-{issued}")) {
        return Json(json!({"success": false, "code": "401", "message": "token invalid"}))
            .into_response();
    }
    Json(json!({"success": true, "code": "200", "message": "success",
                "data": {"apiKey": api_key(issued), "email": "", "phone": PHONE, "nickname": "dev"}}))
    .into_response()
}

fn signed(headers: &HeaderMap, key: &str) -> bool {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(
        format!(
            "{}:{}:{}",
            header("user-agent"),
            header("session-id"),
            header("x-iflow-timestamp")
        )
        .as_bytes(),
    );
    header("user-agent") == "iFlow-Cli"
        && header("session-id").starts_with("session-")
        && hex::encode(mac.finalize().into_bytes()) == header("x-iflow-signature")
}

async fn chat(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let key = api_key(inner.issued);
    let ok = signed(&headers, &key);
    inner.seen.push((ok, body.clone()));
    let bearer = format!("Bearer {key}");
    if std::mem::take(&mut inner.refuse_next)
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Invalid API key", "type": "invalid_request_error", "code": "401"}})),
        )
            .into_response();
    }
    if !ok {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": {"message": "signature mismatch"}})),
        )
            .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-if", "object": "chat.completion.chunk", "created": 1_795_000_000,
               "model": body["model"], "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let events = [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_if", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
    ];
    let mut sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    sse.push_str("data: [DONE]\n\n");
    ([("content-type", "text/event-stream")], sse).into_response()
}
