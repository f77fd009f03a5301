//! The OAuth 2.0 device authorization grant (RFC 8628) as a client: ask for a code, then poll
//! the token endpoint at the server's pace — `authorization_pending` waits, `slow_down` adds
//! five seconds to the interval, `expired_token` and `access_denied` end the login.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::AuthError;

/// A device code as RFC 8628 writes it (AWS SSO OIDC writes the same in camelCase).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceCode {
    #[serde(alias = "deviceCode")]
    pub device_code: String,
    #[serde(alias = "userCode")]
    pub user_code: String,
    #[serde(alias = "verificationUri")]
    pub verification_uri: String,
    /// The page with the code filled in, when the server offers one.
    #[serde(default, alias = "verificationUriComplete")]
    pub verification_uri_complete: Option<String>,
    #[serde(alias = "expiresIn")]
    pub expires_in: u64,
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_interval() -> u64 {
    5
}

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Asks for a device code; `form` carries the client id, scope and any PKCE challenge.
pub async fn request_code(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<DeviceCode, AuthError> {
    let request = http
        .post(url)
        .header("accept", "application/json")
        .form(form);
    super::json_answer(request).await
}

/// Polls until the user has approved (the token response, as JSON), denied, or let the code
/// expire. `form` carries the client id and any PKCE verifier; `min_interval` is the floor
/// between polls.
pub async fn poll(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    code: &DeviceCode,
    min_interval: Duration,
) -> Result<Value, AuthError> {
    let fields: Vec<(&str, &str)> = [
        ("device_code", code.device_code.as_str()),
        ("grant_type", GRANT),
    ]
    .into_iter()
    .chain(form.iter().copied())
    .collect();
    poll_with(code, min_interval, || {
        http.post(url)
            .header("accept", "application/json")
            .form(&fields)
    })
    .await
}

/// Polls with the request `next` builds each time (servers that take the grant as JSON, such
/// as AWS SSO OIDC, whose answer says `accessToken`).
pub async fn poll_with(
    code: &DeviceCode,
    min_interval: Duration,
    next: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Value, AuthError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(code.expires_in);
    let mut interval = Duration::from_secs(code.interval).max(min_interval);
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() >= deadline {
            return Err(AuthError::Expired);
        }
        let response = next().send().await?;
        let status = response.status();
        let body = crate::auth::answer_body(response).await?;
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if ["access_token", "accessToken"]
            .iter()
            .any(|k| value.get(*k).and_then(Value::as_str).is_some())
        {
            return Ok(value);
        }
        match value.get("error").and_then(Value::as_str) {
            Some("authorization_pending") => {}
            Some("slow_down") => {
                interval += Duration::from_secs(5);
                if let Some(server) = value.get("interval").and_then(Value::as_u64) {
                    interval = interval.max(Duration::from_secs(server));
                }
            }
            Some("expired_token") => return Err(AuthError::Expired),
            Some("access_denied") => return Err(AuthError::Denied),
            _ => return Err(AuthError::provider(status.as_u16(), &body)),
        }
    }
}
