//! A fake Google for Gemini CLI logins on loopback, in Google's shapes: the consent page
//! (redirecting the browser back with a code), the token endpoint (form-encoded, client
//! secret, PKCE and redirect URI checked; refresh answers without a new refresh token),
//! userinfo, and Cloud Code's `v1internal` methods: loadCodeAssist, onboardUser with its
//! long-running operation, generateContent / streamGenerateContent in the envelope, and
//! fetchAvailableModels (Antigravity's per-model quota). It knows Gemini CLI's and
//! Antigravity's OAuth clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

pub const EMAIL: &str = "gemini-user@example.com";
pub const PROJECT: &str = "managed-proj-4711";
const CLIENTS: [(&str, &str); 2] = [
    (
        "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
        "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",
    ),
    (
        "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com",
        "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",
    ),
];

fn known_client(id: &str) -> bool {
    CLIENTS.iter().any(|(c, _)| *c == id)
}

#[derive(Default)]
pub struct Inner {
    codes: HashMap<String, (String, String)>,
    issued: usize,
    refreshes: usize,
    revoked: bool,
    onboarded: bool,
    onboard_calls: usize,
    refuse_next: bool,
    /// Answer the next request with 429 RESOURCE_EXHAUSTED and this RetryInfo delay.
    exhaust_next: Option<String>,
    /// Cloud Code requests: the User-Agent and the envelope as sent.
    seen: Vec<(String, Value)>,
}

pub type FakeGoogle = super::fake::Fake<Inner>;

impl FakeGoogle {
    pub async fn start() -> FakeGoogle {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/o/oauth2/v2/auth", get(consent))
            .route("/token", post(token))
            .route("/oauth2/v1/userinfo", get(userinfo))
            .route("/v1internal:loadCodeAssist", post(load))
            .route("/v1internal:onboardUser", post(onboard))
            .route("/v1internal/operations/{id}", get(operation))
            .route("/v1internal:generateContent", post(generate))
            .route("/v1internal:streamGenerateContent", post(stream))
            .route("/v1internal:fetchAvailableModels", post(models));
        super::fake::Fake::serve(inner, app).await
    }

    /// The config pointing `provider`'s login and Cloud Code here.
    pub fn config(&self, provider: &str) -> String {
        format!(
            "[auth.{provider}]\nlogin_url = \"{0}\"\napi_url = \"{0}\"\n",
            self.base
        )
    }

    /// The account already has its project (no onboarding).
    pub fn onboarded(&self) {
        self.lock().onboarded = true;
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn refuse_next_request(&self) {
        self.lock().refuse_next = true;
    }

    pub fn exhaust_next_request(&self, retry_delay: &str) {
        self.lock().exhaust_next = Some(retry_delay.to_owned());
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn onboard_calls(&self) -> usize {
        self.lock().onboard_calls
    }

    pub fn last_request(&self) -> Option<Value> {
        self.lock().seen.last().map(|s| s.1.clone())
    }

    pub fn last_user_agent(&self) -> Option<String> {
        self.lock().seen.last().map(|s| s.0.clone())
    }

    pub fn requests(&self) -> usize {
        self.lock().seen.len()
    }
}

type Shared = super::fake::Shared<Inner>;

fn google_error(status: StatusCode, code: u16, message: &str, state: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "status": state}})),
    )
        .into_response()
}

async fn consent(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if !known_client(&get("client_id"))
        || get("access_type") != "offline"
        || get("code_challenge_method") != "S256"
    {
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    }
    let mut inner = inner.lock().expect("lock");
    let code = format!("4/0Ab-code-{}", inner.codes.len() + 1);
    let redirect = get("redirect_uri");
    inner
        .codes
        .insert(code.clone(), (get("code_challenge"), redirect.clone()));
    let state = get("state");
    Redirect::to(&format!(
        "{redirect}?state={state}&code={code}&scope=email%20profile"
    ))
    .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(inner): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if !CLIENTS.contains(&(get("client_id").as_str(), get("client_secret").as_str())) {
        return oauth_error("invalid_client", "The OAuth client was not found.");
    }
    let mut inner = inner.lock().expect("lock");
    let access = |n: usize| format!("ya29.fake-access-{n}");
    match get("grant_type").as_str() {
        "authorization_code" => {
            let Some((challenge, redirect)) = inner.codes.remove(&get("code")) else {
                return oauth_error("invalid_grant", "Malformed auth code.");
            };
            let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(get("code_verifier").as_bytes()));
            if expected != challenge || redirect != get("redirect_uri") {
                return oauth_error("invalid_grant", "Invalid code verifier.");
            }
            inner.issued += 1;
            Json(json!({
                "access_token": access(inner.issued),
                "expires_in": 3599,
                "refresh_token": "1//fake-refresh",
                "scope": "https://www.googleapis.com/auth/cloud-platform openid",
                "token_type": "Bearer",
                "id_token": "eyJ.fake.jwt"
            }))
            .into_response()
        }
        "refresh_token" => {
            if inner.revoked || get("refresh_token") != "1//fake-refresh" {
                return oauth_error("invalid_grant", "Token has been expired or revoked.");
            }
            inner.issued += 1;
            inner.refreshes += 1;
            Json(json!({
                "access_token": access(inner.issued),
                "expires_in": 3599,
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "token_type": "Bearer"
            }))
            .into_response()
        }
        _ => oauth_error("unsupported_grant_type", "Invalid grant_type."),
    }
}

fn authorized(inner: &Inner, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer ya29.fake-access-{}", inner.issued);
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn unauthenticated() -> Response {
    google_error(
        StatusCode::UNAUTHORIZED,
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        "UNAUTHENTICATED",
    )
}

async fn userinfo(State(inner): Shared, headers: HeaderMap) -> Response {
    if !authorized(&inner.lock().expect("lock"), &headers) {
        return unauthenticated();
    }
    Json(
        json!({"id": "1098", "email": EMAIL, "verified_email": true, "picture": "https://x/p.png"}),
    )
    .into_response()
}

async fn load(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let inner = inner.lock().expect("lock");
    if !authorized(&inner, &headers) {
        return unauthenticated();
    }
    if body["metadata"]["pluginType"] != "GEMINI" {
        return google_error(
            StatusCode::BAD_REQUEST,
            400,
            "metadata missing",
            "INVALID_ARGUMENT",
        );
    }
    let tiers = json!([
        {"id": "free-tier", "name": "Gemini Code Assist for individuals", "isDefault": true, "userDefinedCloudaicompanionProject": false},
        {"id": "standard-tier", "name": "Gemini Code Assist", "userDefinedCloudaicompanionProject": true}
    ]);
    if inner.onboarded {
        Json(
            json!({"currentTier": {"id": "free-tier", "name": "Gemini Code Assist for individuals"},
                    "allowedTiers": tiers, "cloudaicompanionProject": PROJECT}),
        )
        .into_response()
    } else {
        Json(json!({"allowedTiers": tiers})).into_response()
    }
}

async fn onboard(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    if !authorized(&inner, &headers) {
        return unauthenticated();
    }
    if body["tierId"] != "free-tier"
        || body
            .get("cloudaicompanionProject")
            .is_some_and(|p| !p.is_null())
    {
        return google_error(
            StatusCode::PRECONDITION_FAILED,
            412,
            "Precondition Failed",
            "FAILED_PRECONDITION",
        );
    }
    inner.onboard_calls += 1;
    Json(json!({"name": "operations/onboard-1", "done": false})).into_response()
}

async fn operation(State(inner): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut inner = inner.lock().expect("lock");
    if !authorized(&inner, &headers) || id != "onboard-1" {
        return unauthenticated();
    }
    inner.onboarded = true;
    Json(json!({"name": "operations/onboard-1", "done": true,
                "response": {"@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
                             "cloudaicompanionProject": {"id": PROJECT, "name": PROJECT}}}))
    .into_response()
}

/// Checks a Cloud Code request; `Some` is the answer to give instead.
fn admit(inner: &mut Inner, headers: &HeaderMap, body: &Value) -> Option<Response> {
    let agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    inner.seen.push((agent.to_owned(), body.clone()));
    if std::mem::take(&mut inner.refuse_next) || !authorized(inner, headers) {
        return Some(unauthenticated());
    }
    if let Some(delay) = inner.exhaust_next.take() {
        return Some((
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"code": 429, "message": "You have exhausted your capacity on this model. Your quota will reset after 45s.",
                "status": "RESOURCE_EXHAUSTED", "details": [
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "cloudcode-pa.googleapis.com"},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}})),
        )
            .into_response());
    }
    if body["project"] != PROJECT
        || !body["model"].is_string()
        || !body["request"]["contents"].is_array()
    {
        return Some(google_error(
            StatusCode::BAD_REQUEST,
            400,
            "Invalid JSON payload received.",
            "INVALID_ARGUMENT",
        ));
    }
    None
}

fn usage() -> Value {
    json!({"promptTokenCount": 14, "candidatesTokenCount": 6, "totalTokenCount": 20})
}

async fn generate(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = admit(&mut inner.lock().expect("lock"), &headers, &body) {
        return r;
    }
    Json(json!({"response": {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hello from Gemini."}]}, "finishReason": "STOP"}],
        "usageMetadata": usage(), "modelVersion": body["model"]}, "traceId": "trace-1"}))
    .into_response()
}

async fn stream(
    State(inner): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&mut inner.lock().expect("lock"), &headers, &body) {
        return r;
    }
    if q.get("alt").map(String::as_str) != Some("sse") {
        return google_error(
            StatusCode::BAD_REQUEST,
            400,
            "alt=sse expected",
            "INVALID_ARGUMENT",
        );
    }
    let tools = body["request"]["tools"]
        .as_array()
        .is_some_and(|t| !t.is_empty());
    let parts = if tools {
        vec![
            json!([{"text": "Checking."}]),
            json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]),
        ]
    } else {
        vec![
            json!([{"text": "Hello "}]),
            json!([{"text": "from Gemini."}]),
        ]
    };
    let last = parts.len() - 1;
    let events: String = parts
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut candidate = json!({"content": {"role": "model", "parts": parts}});
            let mut response = json!({"candidates": [], "modelVersion": body["model"]});
            if i == last {
                candidate["finishReason"] = json!("STOP");
                response["usageMetadata"] = usage();
            }
            response["candidates"] = json!([candidate]);
            format!(
                "data: {}\r\n\r\n",
                json!({"response": response, "traceId": "trace-2"})
            )
        })
        .collect();
    ([("content-type", "text/event-stream")], events).into_response()
}

async fn models(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&inner.lock().expect("lock"), &headers) {
        return unauthenticated();
    }
    if body["project"] != PROJECT {
        return google_error(
            StatusCode::FORBIDDEN,
            403,
            "The caller does not have permission",
            "PERMISSION_DENIED",
        );
    }
    // The recorded shape, with resets moved to the near future.
    let mut value: Value =
        serde_json::from_str(include_str!("../fixtures/quota/antigravity_models.json"))
            .expect("fixture");
    let now = jiff::Timestamp::now();
    for (model, hours) in [("gemini-3-pro-high", 3), ("claude-sonnet-4-5", 100)] {
        let reset = now + jiff::SignedDuration::from_hours(hours);
        value["models"][model]["quotaInfo"]["resetTime"] = json!(reset.to_string());
    }
    Json(value).into_response()
}
