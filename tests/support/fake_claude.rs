//! A fake Anthropic for Claude subscription logins on loopback: the token endpoint (both
//! grants, JSON, PKCE checked against what the "user" approved), the Messages API (recording
//! what the engine sends) and the subscription usage endpoint, in Anthropic's shapes.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

pub const EMAIL: &str = "dev@example.com";

#[derive(Default)]
pub struct Inner {
    /// The challenge the user approved on the authorize page, and the code handed back.
    approved: Option<(String, String)>,
    codes: usize,
    issued: usize,
    refreshes: usize,
    revoked: bool,
    /// Messages requests: authorization, anthropic-beta, whether x-api-key was sent, body.
    seen: Vec<(String, String, bool, Value)>,
    /// Answer the next Messages request with 401.
    refuse_next: bool,
    /// The access token expired: every Messages request is refused until a refresh.
    expired: bool,
    /// Token refreshes never answer (a stalled login server).
    stall_refresh: bool,
    /// Refreshes are carried out at once but answered this much later (a slow login server:
    /// the old refresh token is spent whether or not the answer is read).
    slow_refresh_ms: u64,
    /// Every request: path and headers (to find a secret where it must not be).
    requests: Vec<(String, HeaderMap)>,
    /// count_tokens requests: authorization, anthropic-beta, whether x-api-key was sent.
    counts: Vec<(String, String, bool)>,
}

pub type FakeClaude = super::fake::Fake<Inner>;

impl FakeClaude {
    pub async fn start() -> FakeClaude {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/v1/oauth/token", post(token))
            .route("/v1/messages", post(messages))
            .route("/api/oauth/usage", get(usage))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .layer(axum::middleware::from_fn_with_state(
                inner.clone(),
                log_request,
            ));
        super::fake::Fake::serve(inner, app).await
    }

    /// What claude.ai does when the user approves: remembers the challenge, shows a code.
    pub fn approve(&self, challenge: &str) -> String {
        let mut inner = self.lock();
        inner.codes += 1;
        let code = format!("auth-code-{}", inner.codes);
        inner.approved = Some((challenge.to_owned(), code.clone()));
        code
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn slow_refreshes(&self, ms: u64) {
        self.lock().slow_refresh_ms = ms;
    }

    pub fn stall_refreshes(&self) {
        self.lock().stall_refresh = true;
    }

    /// The access token expires now (the refresh token stays good, once).
    pub fn expire_access(&self) {
        self.lock().expired = true;
    }

    pub fn refuse_next_message(&self) {
        self.lock().refuse_next = true;
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn last_message(&self) -> Option<(String, String, bool, Value)> {
        self.lock().seen.last().cloned()
    }

    /// Every request the fake received, as (path, headers).
    pub fn requests(&self) -> Vec<(String, HeaderMap)> {
        self.lock().requests.clone()
    }

    /// count_tokens requests: (authorization, anthropic-beta, x-api-key sent).
    pub fn counts(&self) -> Vec<(String, String, bool)> {
        self.lock().counts.clone()
    }

    pub fn config(&self) -> String {
        format!(
            "[auth.claude]\nlogin_url = \"{0}\"\napi_url = \"{0}\"\n",
            self.base
        )
    }
}

type Shared = super::fake::Shared<Inner>;

fn oauth_error(error: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": format!("{error} (fake)")})),
    )
        .into_response()
}

fn issue(inner: &mut Inner) -> Response {
    inner.issued += 1;
    inner.expired = false;
    Json(json!({
        "token_type": "Bearer",
        "access_token": format!("claude-access-{}", inner.issued),
        "refresh_token": format!("claude-refresh-{}", inner.issued),
        "expires_in": 28800,
        "scope": "user:inference user:profile",
        "organization": {"uuid": "org-1", "name": "Personal"},
        "account": {"uuid": "acc-1", "email_address": EMAIL}
    }))
    .into_response()
}

async fn token(State(shared): Shared, Json(body): Json<Value>) -> Response {
    let (stall, delay) = {
        let inner = shared.lock().expect("lock");
        (inner.stall_refresh, inner.slow_refresh_ms)
    };
    let refresh = body.get("grant_type").and_then(Value::as_str) == Some("refresh_token");
    if stall && refresh {
        std::future::pending::<()>().await;
    }
    let answer = token_answer(&shared, &body);
    if refresh && delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    answer
}

/// The token endpoint's answer, carried out at once (a refresh spends the old token).
fn token_answer(shared: &Arc<Mutex<Inner>>, body: &Value) -> Response {
    let mut inner = shared.lock().expect("lock");
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if text("client_id") != "9d1c250a-e61b-44d9-88ed-5944d1962f5e" {
        return oauth_error("invalid_client");
    }
    match text("grant_type").as_str() {
        "authorization_code" => {
            let Some((challenge, code)) = inner.approved.take() else {
                return oauth_error("invalid_grant");
            };
            let verifier = text("code_verifier");
            let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if text("code") != code
                || expected != challenge
                || text("redirect_uri") != "https://console.anthropic.com/oauth/code/callback"
                || text("state").is_empty()
            {
                return oauth_error("invalid_grant");
            }
            issue(&mut inner)
        }
        "refresh_token" => {
            let current = format!("claude-refresh-{}", inner.issued);
            if inner.revoked || text("refresh_token") != current {
                return oauth_error("invalid_grant");
            }
            inner.refreshes += 1;
            issue(&mut inner)
        }
        _ => oauth_error("unsupported_grant_type"),
    }
}

async fn messages(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut inner = inner.lock().expect("lock");
    let auth = header("authorization");
    inner.seen.push((
        auth.clone(),
        header("anthropic-beta"),
        headers.contains_key("x-api-key"),
        body.clone(),
    ));
    let current = format!("Bearer claude-access-{}", inner.issued);
    if std::mem::take(&mut inner.refuse_next) || inner.expired || auth != current {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"type": "error", "error": {"type": "authentication_error", "message": "OAuth token has expired."}})),
        )
            .into_response();
    }
    Json(json!({
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model").cloned().unwrap_or(Value::Null),
        "content": [{"type": "text", "text": "Hello from Claude."}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 4}
    }))
    .into_response()
}

async fn log_request(
    State(inner): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let seen = (request.uri().to_string(), request.headers().clone());
    inner.lock().expect("lock").requests.push(seen);
    next.run(request).await
}

async fn count_tokens(State(inner): Shared, headers: HeaderMap) -> Response {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut inner = inner.lock().expect("lock");
    let auth = header("authorization");
    let sent = (
        auth.clone(),
        header("anthropic-beta"),
        headers.contains_key("x-api-key"),
    );
    inner.counts.push(sent);
    if auth != format!("Bearer claude-access-{}", inner.issued) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})),
        )
            .into_response();
    }
    Json(json!({"input_tokens": 1234})).into_response()
}

async fn usage(State(inner): Shared, headers: HeaderMap) -> Response {
    let current = format!(
        "Bearer claude-access-{}",
        inner.lock().expect("lock").issued
    );
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let beta = headers.get("anthropic-beta").and_then(|v| v.to_str().ok());
    if auth != Some(current.as_str()) || beta != Some("oauth-2025-04-20") {
        return (StatusCode::UNAUTHORIZED, Json(json!({"type": "error", "error": {"type": "authentication_error", "message": "bad token"}}))).into_response();
    }
    (
        [("content-type", "application/json")],
        include_str!("../fixtures/quota/claude_usage.json"),
    )
        .into_response()
}

/// Logs in to the fake through the router's pasted-code flow; returns the new account's id.
pub async fn log_in(router: &super::Router, claude: &FakeClaude) -> String {
    let (status, started) = router
        .api(reqwest::Method::POST, "/api/oauth/cc/start", None)
        .await;
    assert_eq!(status, 202, "{started}");
    let url = reqwest::Url::parse(started["authorizeUrl"].as_str().expect("url")).expect("url");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let code = claude.approve(&param("code_challenge"));
    let id = started["loginId"].as_str().expect("id");
    let (status, done) = router
        .api(
            reqwest::Method::POST,
            &format!("/api/oauth/cc/{id}/complete"),
            Some(json!({ "code": format!("{code}#{}", param("state")) })),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned()
}
