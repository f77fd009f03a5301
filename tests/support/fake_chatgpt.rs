//! A fake OpenAI for Codex logins on loopback, in OpenAI's shapes: the authorize page (which
//! "approves" at once and redirects the browser to the login's redirect URI, or denies), the
//! token endpoint (form-encoded, PKCE and redirect URI checked, ID tokens naming the ChatGPT
//! account), the ChatGPT backend's streamed Responses endpoint (with a tool call, or a
//! `usage_limit_reached` refusal) and its usage endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

pub const EMAIL: &str = "coder@example.com";
pub const ACCOUNT: &str = "acct-chatgpt-1";
const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

#[derive(Default)]
pub struct Inner {
    /// code → (challenge, redirect_uri) for codes handed out by the authorize page.
    codes: HashMap<String, (String, String)>,
    issued: usize,
    refreshes: usize,
    revoked: bool,
    deny: bool,
    /// The next Responses request is refused: 401, or the plan's usage limit until this time.
    refuse_next: bool,
    limit_until_s: Option<i64>,
    /// Responses requests: headers of note and body.
    seen: Vec<(HashMap<String, String>, Value)>,
}

pub type FakeChatgpt = super::fake::Fake<Inner>;

impl FakeChatgpt {
    pub async fn start() -> FakeChatgpt {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/oauth/authorize", get(authorize))
            .route("/oauth/token", post(token))
            .route("/backend-api/codex/responses", post(responses))
            .route("/backend-api/wham/usage", get(usage));
        super::fake::Fake::serve(inner, app).await
    }

    /// The config pointing Codex logins here, listening on `ports` for the redirect.
    pub fn config(&self, ports: &[u16]) -> String {
        format!(
            "[auth.codex]\nlogin_url = \"{0}\"\napi_url = \"{0}/backend-api\"\ncallback_ports = {1:?}\n",
            self.base, ports
        )
    }

    pub fn deny_next_login(&self) {
        self.lock().deny = true;
    }

    pub fn refuse_next_request(&self) {
        self.lock().refuse_next = true;
    }

    pub fn limit_usage_until(&self, unix_s: i64) {
        self.lock().limit_until_s = Some(unix_s);
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn requests(&self) -> usize {
        self.lock().seen.len()
    }

    pub fn last_request(&self) -> Option<(HashMap<String, String>, Value)> {
        self.lock().seen.last().cloned()
    }
}

type Shared = super::fake::Shared<Inner>;

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": format!("{error} (fake)")})),
    )
        .into_response()
}

/// What the user's approval looks like to the browser: a redirect to the login's redirect URI.
async fn authorize(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect = get("redirect_uri");
    if get("client_id") != CLIENT_ID || get("code_challenge_method") != "S256" {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let state = get("state");
    if std::mem::take(&mut inner.deny) {
        return Redirect::to(&format!("{redirect}?error=access_denied&state={state}"))
            .into_response();
    }
    let code = format!("ac_{}", inner.codes.len() + 1);
    inner
        .codes
        .insert(code.clone(), (get("code_challenge"), redirect.clone()));
    Redirect::to(&format!(
        "{redirect}?code={code}&scope=openid&state={state}"
    ))
    .into_response()
}

/// An ID token as OpenAI's token endpoint issues it (signature not checked by clients).
pub fn id_token(email: &str, account: &str, plan: &str) -> String {
    let claims = json!({
        "email": email,
        "https://api.openai.com/auth": {"chatgpt_account_id": account, "chatgpt_plan_type": plan}
    });
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.fake-signature",
        encode(&json!({"alg": "RS256", "typ": "JWT"})),
        encode(&claims)
    )
}

fn issue(inner: &mut Inner) -> Response {
    inner.issued += 1;
    Json(json!({
        "id_token": id_token(EMAIL, ACCOUNT, "plus"),
        "access_token": format!("codex-access-{}", inner.issued),
        "refresh_token": format!("codex-refresh-{}", inner.issued),
        "expires_in": 864000,
        "token_type": "Bearer",
        "scope": "openid profile email offline_access"
    }))
    .into_response()
}

async fn token(State(inner): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some((challenge, redirect)) = inner.codes.remove(&get("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
            if expected != challenge || get("redirect_uri") != redirect {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            issue(&mut inner)
        }
        "refresh_token" => {
            if inner.revoked || get("refresh_token") != format!("codex-refresh-{}", inner.issued) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            inner.refreshes += 1;
            issue(&mut inner)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

async fn responses(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let noted: HashMap<String, String> = [
        "authorization",
        "chatgpt-account-id",
        "originator",
        "openai-beta",
        "accept",
    ]
    .iter()
    .filter_map(|k| {
        headers
            .get(*k)
            .and_then(|v| v.to_str().ok())
            .map(|v| ((*k).to_owned(), v.to_owned()))
    })
    .collect();
    inner.seen.push((noted.clone(), body.clone()));
    let current = format!("Bearer codex-access-{}", inner.issued);
    if std::mem::take(&mut inner.refuse_next)
        || noted.get("authorization") != Some(&current)
        || noted.get("chatgpt-account-id").map(String::as_str) != Some(ACCOUNT)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": "Your authentication token has expired. Please try signing in again.", "type": "invalid_request_error", "code": "token_expired", "param": null}})),
        )
            .into_response();
    }
    if let Some(until) = inner.limit_until_s.take() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached", "plan_type": "plus", "resets_at": until, "eligible_promo": null}})),
        )
            .into_response();
    }
    if body["stream"] != true || body["store"] != false || !body["instructions"].is_string() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"detail": "Stream must be set to true; store must be false; instructions are required"})),
        )
            .into_response();
    }
    let model = body["model"].clone();
    let wants_tool = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": "resp_fake", "object": "response", "created_at": 1_795_000_000, "status": status,
               "model": model, "output": output, "usage": usage})
    };
    let usage = json!({"input_tokens": 21, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": 9, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 30});
    let mut events = vec![(
        "response.created",
        json!({"type": "response.created", "sequence_number": 0, "response": response("in_progress", json!([]), Value::Null)}),
    )];
    let item = if wants_tool {
        let done = json!({"id": "fc_1", "type": "function_call", "status": "completed", "arguments": "{\"city\":\"Paris\"}", "call_id": "call_1", "name": "get_weather"});
        events.extend([
            ("response.output_item.added", json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
              "item": {"id": "fc_1", "type": "function_call", "status": "in_progress", "arguments": "", "call_id": "call_1", "name": "get_weather"}})),
            ("response.function_call_arguments.delta", json!({"type": "response.function_call_arguments.delta", "sequence_number": 2, "item_id": "fc_1", "output_index": 0, "delta": "{\"city\":"})),
            ("response.function_call_arguments.delta", json!({"type": "response.function_call_arguments.delta", "sequence_number": 3, "item_id": "fc_1", "output_index": 0, "delta": "\"Paris\"}"})),
            ("response.function_call_arguments.done", json!({"type": "response.function_call_arguments.done", "sequence_number": 4, "item_id": "fc_1", "output_index": 0, "arguments": "{\"city\":\"Paris\"}"})),
            ("response.output_item.done", json!({"type": "response.output_item.done", "sequence_number": 5, "output_index": 0, "item": done.clone()})),
        ]);
        done
    } else {
        let text = "Hello from Codex.";
        let done = json!({"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                          "content": [{"type": "output_text", "annotations": [], "text": text}]});
        events.extend([
            ("response.output_item.added", json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
              "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}})),
            ("response.content_part.added", json!({"type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": ""}})),
            ("response.output_text.delta", json!({"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": text})),
            ("response.output_text.done", json!({"type": "response.output_text.done", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0, "text": text})),
            ("response.content_part.done", json!({"type": "response.content_part.done", "sequence_number": 5, "item_id": "msg_1", "output_index": 0, "content_index": 0, "part": {"type": "output_text", "annotations": [], "text": text}})),
            ("response.output_item.done", json!({"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": done.clone()})),
        ]);
        done
    };
    events.push((
        "response.completed",
        json!({"type": "response.completed", "sequence_number": 9, "response": response("completed", json!([item]), usage)}),
    ));
    (
        [("content-type", "text/event-stream; charset=utf-8")],
        sse(&events),
    )
        .into_response()
}

async fn usage(State(inner): Shared, headers: HeaderMap) -> Response {
    let current = format!("Bearer codex-access-{}", inner.lock().expect("lock").issued);
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    if header("authorization") != Some(current.as_str())
        || header("chatgpt-account-id") != Some(ACCOUNT)
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Could not parse your authentication token. Please try signing in again."})),
        )
            .into_response();
    }
    (
        [("content-type", "application/json")],
        include_str!("../fixtures/quota/codex_usage.json"),
    )
        .into_response()
}
