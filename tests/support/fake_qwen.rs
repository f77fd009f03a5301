//! A fake Qwen login server on loopback: chat.qwen.ai's device-code endpoint (with PKCE: the
//! token endpoint checks the verifier against the challenge) and its token endpoint for both
//! grants, in Qwen's shapes. Issued tokens are numbered: `qwen-access-N`, `qwen-refresh-N`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use serde_json::json;
use sha2::Digest as _;

pub const USER_CODE: &str = "QWEN-7F2K";

#[derive(Default)]
pub struct Inner {
    challenge: Option<String>,
    polls: VecDeque<&'static str>,
    issued: usize,
    refreshes: usize,
    expires_in: i64,
    /// Refresh tokens are refused (`invalid_grant`).
    revoked: bool,
    resource_url: String,
}

pub type FakeQwen = super::fake::Fake<Inner>;

impl FakeQwen {
    /// `api_host`: what token answers give as `resource_url` (the fake upstream's origin).
    pub async fn start(api_host: &str) -> FakeQwen {
        let inner = Arc::new(Mutex::new(Inner {
            expires_in: 3600,
            resource_url: api_host.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/v1/oauth2/device/code", post(device_code))
            .route("/api/v1/oauth2/token", post(token));
        super::fake::Fake::serve(inner, app).await
    }

    pub fn answer_polls_with(&self, answers: &[&'static str]) {
        self.lock().polls = answers.iter().copied().collect();
    }

    pub fn set_expires_in(&self, secs: i64) {
        self.lock().expires_in = secs;
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn config(&self) -> String {
        format!("[auth.qwen]\nlogin_url = \"{}\"\n", self.base)
    }
}

type Shared = super::fake::Shared<Inner>;
type Fields = Form<Vec<(String, String)>>;

fn field(form: &[(String, String)], k: &str) -> Option<String> {
    form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone())
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": format!("{error} (fake)")})),
    )
        .into_response()
}

async fn device_code(State(inner): Shared, Form(form): Fields) -> Response {
    if field(&form, "client_id").as_deref() != Some("f0304373b74a44d2b584a3fb70ca9e56")
        || field(&form, "code_challenge_method").as_deref() != Some("S256")
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    inner.lock().expect("lock").challenge = field(&form, "code_challenge");
    Json(json!({
        "device_code": "qwen-dc",
        "user_code": USER_CODE,
        "verification_uri": "https://chat.qwen.ai/authorize",
        "verification_uri_complete": format!("https://chat.qwen.ai/authorize?user_code={USER_CODE}&client=qwen-code"),
        "expires_in": 600,
        "interval": 0
    }))
    .into_response()
}

fn issue(inner: &mut Inner) -> Response {
    inner.issued += 1;
    Json(json!({
        "access_token": format!("qwen-access-{}", inner.issued),
        "refresh_token": format!("qwen-refresh-{}", inner.issued),
        "token_type": "Bearer",
        "expires_in": inner.expires_in,
        "resource_url": inner.resource_url,
    }))
    .into_response()
}

async fn token(State(inner): Shared, Form(form): Fields) -> Response {
    let mut inner = inner.lock().expect("lock");
    match field(&form, "grant_type").as_deref() {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let verifier = field(&form, "code_verifier").unwrap_or_default();
            let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(verifier.as_bytes()));
            if inner.challenge.as_deref() != Some(expected.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            match inner.polls.pop_front().unwrap_or("ok") {
                "ok" => issue(&mut inner),
                other => oauth_error(StatusCode::BAD_REQUEST, other),
            }
        }
        Some("refresh_token") => {
            let current = format!("qwen-refresh-{}", inner.issued);
            if inner.revoked || field(&form, "refresh_token").as_deref() != Some(current.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            inner.refreshes += 1;
            issue(&mut inner)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}
