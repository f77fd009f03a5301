//! A fake AWS for Kiro on loopback: SSO OIDC (client registration, device authorization, the
//! token endpoint in camelCase JSON with `authorization_pending` until the user approves) and
//! CodeWhisperer (`generateAssistantResponse` answering in AWS event-stream frames, with a
//! tool call when tools are offered; `getUsageLimits`), and Kiro's own auth service for social
//! logins (`/login` redirecting back with a code, `/oauth/token`, `/refreshToken`, whose token
//! sets name a CodeWhisperer profile that requests must carry).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::response::Redirect;
use base64::Engine as _;
use sha2::Digest as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use ninerouter::format::eventstream::{exception, frame};
use serde_json::{Value, json};

pub const USER_CODE: &str = "KRDV-QXLM";
/// The CodeWhisperer profile social logins are given.
pub const PROFILE_ARN: &str = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK";

#[derive(Default)]
pub struct Inner {
    approved: bool,
    revoked: bool,
    /// The start URL of each device authorization (Builder ID's or an organization's).
    start_urls: Vec<String>,
    issued: usize,
    refreshes: usize,
    refuse_next: bool,
    /// Break the next answer off with an exception frame after some text.
    throttle_next: bool,
    seen: Vec<Value>,
    /// Social login codes handed out: code → (challenge, redirect URI, identity provider).
    codes: HashMap<String, (String, String, String)>,
    /// The identity providers social logins went through.
    idps: Vec<String>,
    /// The query string of each usage-limits request.
    usage_queries: Vec<String>,
}

pub type FakeKiro = super::fake::Fake<Inner>;

impl FakeKiro {
    pub async fn start() -> FakeKiro {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/client/register", post(register))
            .route("/device_authorization", post(device_authorization))
            .route("/token", post(token))
            .route("/generateAssistantResponse", post(generate))
            .route("/getUsageLimits", get(usage))
            .route("/login", get(social_login))
            .route("/oauth/token", post(social_token))
            .route("/refreshToken", post(social_refresh));
        super::fake::Fake::serve(inner, app).await
    }

    pub fn config(&self) -> String {
        format!(
            "[auth.kiro]\nlogin_url = \"{0}\"\napi_url = \"{0}\"\n",
            self.base
        )
    }

    /// The user enters the code on AWS's page and allows access.
    pub fn approve(&self) {
        self.lock().approved = true;
    }

    pub fn start_urls(&self) -> Vec<String> {
        self.lock().start_urls.clone()
    }

    pub fn revoke(&self) {
        self.lock().revoked = true;
    }

    pub fn refuse_next_request(&self) {
        self.lock().refuse_next = true;
    }

    pub fn throttle_next_request(&self) {
        self.lock().throttle_next = true;
    }

    pub fn refreshes(&self) -> usize {
        self.lock().refreshes
    }

    pub fn last_request(&self) -> Option<Value> {
        self.lock().seen.last().cloned()
    }

    pub fn idps(&self) -> Vec<String> {
        self.lock().idps.clone()
    }

    pub fn usage_queries(&self) -> Vec<String> {
        self.lock().usage_queries.clone()
    }
}

type Shared = super::fake::Shared<Inner>;

fn aws_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": format!("{error} (fake)")})),
    )
        .into_response()
}

async fn register(Json(body): Json<Value>) -> Response {
    if body["clientType"] != "public" || !body["scopes"].is_array() {
        return aws_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    Json(
        json!({"clientId": "fake-client-id", "clientSecret": "fake-client-secret",
                "clientIdIssuedAt": 1_795_000_000, "clientSecretExpiresAt": 1_802_776_000}),
    )
    .into_response()
}

async fn device_authorization(State(inner): Shared, Json(body): Json<Value>) -> Response {
    inner
        .lock()
        .expect("lock")
        .start_urls
        .push(body["startUrl"].as_str().unwrap_or_default().to_owned());
    if body["clientId"] != "fake-client-id" || body["clientSecret"] != "fake-client-secret" {
        return aws_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    Json(json!({"deviceCode": "fake-device-code", "userCode": USER_CODE,
                "verificationUri": "https://view.awsapps.com/start/#/device",
                "verificationUriComplete": format!("https://view.awsapps.com/start/#/device?user_code={USER_CODE}"),
                "expiresIn": 600, "interval": 1}))
    .into_response()
}

fn issue(inner: &mut Inner) -> Response {
    inner.issued += 1;
    Json(
        json!({"accessToken": format!("aoa-{}", inner.issued), "tokenType": "Bearer",
                "expiresIn": 3600, "refreshToken": format!("aor-{}", inner.issued)}),
    )
    .into_response()
}

async fn token(State(inner): Shared, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    if body["clientId"] != "fake-client-id" || body["clientSecret"] != "fake-client-secret" {
        return aws_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    match body["grantType"].as_str() {
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            if body["deviceCode"] != "fake-device-code" {
                return aws_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            // Each approval is for one device code.
            if !std::mem::take(&mut inner.approved) {
                return aws_error(StatusCode::BAD_REQUEST, "authorization_pending");
            }
            issue(&mut inner)
        }
        Some("refresh_token") => {
            if inner.revoked || body["refreshToken"] != format!("aor-{}", inner.issued).as_str() {
                return aws_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            inner.refreshes += 1;
            issue(&mut inner)
        }
        _ => aws_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn authorized(inner: &Inner, headers: &HeaderMap) -> bool {
    let expected = format!("Bearer aoa-{}", inner.issued);
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn generate(State(inner): Shared, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    inner.seen.push(body.clone());
    if std::mem::take(&mut inner.refuse_next) || !authorized(&inner, &headers) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "The bearer token included in the request is invalid.", "reason": null})),
        )
            .into_response();
    }
    let current = &body["conversationState"]["currentMessage"]["userInputMessage"];
    if !current["content"].is_string() || !current["modelId"].is_string() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Improperly formed request.", "reason": null})),
        )
            .into_response();
    }
    let mut out = frame("assistantResponseEvent", r#"{"content":"Let me "}"#);
    out.extend(frame("assistantResponseEvent", r#"{"content":"check."}"#));
    if std::mem::take(&mut inner.throttle_next) {
        out.extend(exception(
            "ThrottlingException",
            r#"{"message":"Rate exceeded"}"#,
        ));
    } else if current["userInputMessageContext"]["tools"].is_array() {
        for piece in [
            json!({"name": "get_weather", "toolUseId": "tooluse_k1", "input": ""}),
            json!({"name": "get_weather", "toolUseId": "tooluse_k1", "input": "{\"city\":"}),
            json!({"name": "get_weather", "toolUseId": "tooluse_k1", "input": "\"Paris\"}"}),
            json!({"name": "get_weather", "toolUseId": "tooluse_k1", "stop": true}),
        ] {
            out.extend(frame("toolUseEvent", &piece.to_string()));
        }
    }
    out.extend(frame(
        "meteringEvent",
        r#"{"unit":"credit","unitPlural":"credits","usage":0.31}"#,
    ));
    out.extend(frame(
        "contextUsageEvent",
        r#"{"contextUsagePercentage":1.2}"#,
    ));
    (
        [("content-type", "application/vnd.amazon.eventstream")],
        out,
    )
        .into_response()
}

async fn usage(
    State(inner): Shared,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let mut inner = inner.lock().expect("lock");
    inner.usage_queries.push(query.unwrap_or_default());
    if !authorized(&inner, &headers) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "invalid token"})),
        )
            .into_response();
    }
    (
        [("content-type", "application/json")],
        include_str!("../fixtures/quota/kiro_usage.json"),
    )
        .into_response()
}

/// The user picks an account at Google or GitHub: the browser is sent back with a code.
async fn social_login(State(inner): Shared, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let redirect = get("redirect_uri");
    if !matches!(get("idp").as_str(), "Google" | "Github") || get("code_challenge_method") != "S256"
    {
        return aws_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    if !redirect.starts_with("http://localhost:") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid redirect URI. Must be localhost or a subdomain of app.kiro.dev"})),
        )
            .into_response();
    }
    inner.idps.push(get("idp"));
    let code = format!("social-code-{}", inner.codes.len() + 1);
    inner.codes.insert(
        code.clone(),
        (get("code_challenge"), redirect.clone(), get("idp")),
    );
    Redirect::to(&format!("{redirect}?code={code}&state={}", get("state"))).into_response()
}

fn issue_social(inner: &mut Inner) -> Response {
    inner.issued += 1;
    Json(json!({"accessToken": format!("aoa-{}", inner.issued),
                "refreshToken": format!("aor-{}", inner.issued),
                "profileArn": PROFILE_ARN, "expiresIn": 3600}))
    .into_response()
}

async fn social_token(State(inner): Shared, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
    let Some((challenge, redirect, _)) = inner.codes.remove(&text("code")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid code"})),
        )
            .into_response();
    };
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(text("code_verifier").as_bytes()));
    if expected != challenge || text("redirect_uri") != redirect {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid code verifier"})),
        )
            .into_response();
    }
    issue_social(&mut inner)
}

async fn social_refresh(State(inner): Shared, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().expect("lock");
    if inner.revoked || body["refreshToken"] != format!("aor-{}", inner.issued).as_str() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid refresh token provided"})),
        )
            .into_response();
    }
    inner.refreshes += 1;
    issue_social(&mut inner)
}
