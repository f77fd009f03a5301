//! A fake GitHub for Copilot logins on loopback: the device-code and token endpoints of
//! github.com (RFC 8628 answers, scripted), and api.github.com's Copilot token and user
//! endpoints, in GitHub's shapes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;

pub const GITHUB_TOKEN: &str = "gho_fake_user_token";
pub const USER_CODE: &str = "WDJB-MJHT";

#[derive(Default)]
pub struct Inner {
    /// What the token endpoint answers, in turn (`ok` gives the token); empty means `ok`.
    token_answers: VecDeque<&'static str>,
    token_polls: usize,
    /// Copilot tokens minted so far (they are named `copilot-N`).
    minted: usize,
    /// How long minted tokens live, in seconds.
    lifetime_secs: i64,
    /// Set: the Copilot token endpoint answers this status instead.
    mint_status: Option<u16>,
    /// Where minted tokens say the Copilot API is.
    api_base: String,
}

pub type FakeGithub = super::fake::Fake<Inner>;

impl FakeGithub {
    pub async fn start(copilot_api: &str) -> FakeGithub {
        let inner = Arc::new(Mutex::new(Inner {
            lifetime_secs: 1800,
            api_base: copilot_api.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/login/device/code", post(device_code))
            .route("/login/oauth/access_token", post(access_token))
            .route("/copilot_internal/v2/token", get(copilot_token))
            .route("/user", get(user))
            .route("/copilot_internal/user", get(copilot_user));
        super::fake::Fake::serve(inner, app).await
    }

    pub fn answer_polls_with(&self, answers: &[&'static str]) {
        self.lock().token_answers = answers.iter().copied().collect();
    }

    pub fn minted(&self) -> usize {
        self.lock().minted
    }

    pub fn token_polls(&self) -> usize {
        self.lock().token_polls
    }

    pub fn set_lifetime_secs(&self, secs: i64) {
        self.lock().lifetime_secs = secs;
    }

    pub fn set_mint_status(&self, status: Option<u16>) {
        self.lock().mint_status = status;
    }

    /// The config section that points the engine here.
    pub fn config(&self) -> String {
        format!(
            "[auth.github]\nlogin_url = \"{0}\"\napi_url = \"{0}\"\n",
            self.base
        )
    }
}

type Shared = super::fake::Shared<Inner>;

async fn device_code(Form(form): Form<Vec<(String, String)>>) -> Response {
    let client = form
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    if client != Some("Iv1.b507a08c87ecfe98") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unauthorized_client"})),
        )
            .into_response();
    }
    Json(json!({
        "device_code": "dc-123",
        "user_code": USER_CODE,
        "verification_uri": "https://github.com/login/device",
        "expires_in": 900,
        "interval": 0
    }))
    .into_response()
}

async fn access_token(State(inner): Shared, Form(form): Form<Vec<(String, String)>>) -> Response {
    let field = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:device_code")
        || field("device_code").as_deref() != Some("dc-123")
    {
        return Json(json!({"error": "bad_verification_code", "error_description": "The device code is wrong"})).into_response();
    }
    let answer = {
        let mut inner = inner.lock().expect("lock");
        inner.token_polls += 1;
        inner.token_answers.pop_front().unwrap_or("ok")
    };
    // GitHub answers 200 with an `error` field while the user has not approved yet.
    match answer {
        "ok" => Json(
            json!({"access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": "read:user"}),
        ),
        "slow_down" => Json(
            json!({"error": "slow_down", "error_description": "Too many requests", "interval": 5}),
        ),
        other => Json(json!({"error": other, "error_description": format!("{other} (fake)")})),
    }
    .into_response()
}

fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(format!("token {GITHUB_TOKEN}").as_str())
}

async fn copilot_token(State(inner): Shared, headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return bad_credentials();
    }
    let mut inner = inner.lock().expect("lock");
    if let Some(status) = inner.mint_status {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (
            code,
            Json(json!({"message": "Resource not accessible by integration"})),
        )
            .into_response();
    }
    inner.minted += 1;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Json(json!({
        "token": format!("copilot-{}", inner.minted),
        "expires_at": now + inner.lifetime_secs,
        "refresh_in": inner.lifetime_secs - 60,
        "endpoints": {"api": inner.api_base}
    }))
    .into_response()
}

async fn user(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return bad_credentials();
    }
    Json(json!({"login": "octocat", "id": 1})).into_response()
}

/// The quota answer, in the shape GitHub sends (a recorded-shape fixture).
async fn copilot_user(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return bad_credentials();
    }
    (
        [("content-type", "application/json")],
        include_str!("../fixtures/quota/copilot_user.json"),
    )
        .into_response()
}
