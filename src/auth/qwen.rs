//! Qwen: a device-code login with PKCE at chat.qwen.ai (Qwen Code's public client). Its token
//! set (access token, refresh token, expiry, and `resource_url`, the API host of the account)
//! is the account's secret, saved again after every refresh.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AuthError;
use crate::config::AuthEndpoints;

pub const CLIENT_ID: &str = "f0304373b74a44d2b584a3fb70ca9e56";
pub const SCOPE: &str = "openid profile email model.completion";
const LOGIN_URL: &str = "https://chat.qwen.ai";
/// Tokens are refreshed this long before they expire (the peers use the same).
const REFRESH_LEAD_MS: i64 = 20 * 60_000;

#[derive(Debug, Clone)]
pub struct Servers {
    pub login: String,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        let login = config
            .and_then(|c| c.login_url.as_deref())
            .unwrap_or(LOGIN_URL)
            .trim_end_matches('/')
            .to_owned();
        Self { login }
    }

    pub fn device_code_url(&self) -> String {
        format!("{}/api/v1/oauth2/device/code", self.login)
    }

    pub fn token_url(&self) -> String {
        format!("{}/api/v1/oauth2/token", self.login)
    }
}

/// What a Qwen account keeps (as JSON, in the secret store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at_ms: i64,
    /// When this set was obtained: of two sets, the later one is current.
    #[serde(default)]
    pub obtained_at_ms: i64,
    /// The account's API host (`portal.qwen.ai`), when the server names one.
    #[serde(default)]
    pub resource_url: Option<String>,
}

impl TokenSet {
    /// From a token endpoint answer; a refresh answer may leave out what did not change.
    pub fn from_answer(
        answer: &Value,
        previous: Option<&TokenSet>,
        now_ms: i64,
    ) -> Result<Self, AuthError> {
        let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
        let access_token =
            text("access_token").ok_or_else(|| AuthError::Malformed("no access_token".into()))?;
        let refresh_token = text("refresh_token")
            .or_else(|| previous.map(|p| p.refresh_token.clone()))
            .ok_or_else(|| AuthError::Malformed("no refresh_token".into()))?;
        let expires_in = answer
            .get("expires_in")
            .and_then(Value::as_i64)
            .unwrap_or(3600);
        Ok(Self {
            access_token,
            refresh_token,
            expires_at_ms: now_ms + expires_in * 1000,
            obtained_at_ms: now_ms,
            resource_url: text("resource_url")
                .or_else(|| previous.and_then(|p| p.resource_url.clone())),
        })
    }

    /// Where to refresh: `REFRESH_LEAD_MS` before expiry, or halfway for short-lived tokens.
    pub fn renew_at_ms(&self, now_ms: i64) -> i64 {
        let life = (self.expires_at_ms - now_ms).max(0);
        self.expires_at_ms - REFRESH_LEAD_MS.min(life / 2)
    }

    /// The OpenAI-compatible base URL of the account's API host.
    pub fn base_url(&self, default: &str) -> String {
        match self
            .resource_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
        {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => format!("{u}/v1"),
            Some(u) if !u.is_empty() => format!("https://{u}/v1"),
            _ => default.to_owned(),
        }
    }
}

/// Refreshes a token set. A refused refresh token (`invalid_grant`) means the login was revoked.
pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let response = http
        .post(servers.token_url())
        .header("accept", "application/json")
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", set.refresh_token.as_str()),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        return Err(match answer.get("error").and_then(Value::as_str) {
            Some("invalid_grant") | Some("invalid_token") => {
                AuthError::Revoked("Qwen refused the saved refresh token".into())
            }
            _ if status == 401 => AuthError::Revoked("Qwen refused the saved refresh token".into()),
            _ => AuthError::provider(status, &body),
        });
    }
    TokenSet::from_answer(&answer, Some(set), now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_sets_keep_what_a_refresh_leaves_out_and_know_their_host() {
        let first = TokenSet::from_answer(
            &json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 7200, "resource_url": "portal.qwen.ai"}),
            None,
            1_000,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.expires_at_ms, 7_201_000);
        assert_eq!(first.base_url("https://x/v1"), "https://portal.qwen.ai/v1");
        assert_eq!(first.renew_at_ms(1_000), 7_201_000 - 20 * 60_000);
        let second = TokenSet::from_answer(
            &json!({"access_token": "a2", "expires_in": 4}),
            Some(&first),
            10_000,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.refresh_token, "r1");
        assert_eq!(second.resource_url.as_deref(), Some("portal.qwen.ai"));
        assert_eq!(second.renew_at_ms(10_000), 12_000, "short-lived: halfway");
        let local = TokenSet {
            resource_url: Some("http://127.0.0.1:9/".into()),
            ..second
        };
        assert_eq!(local.base_url("https://x/v1"), "http://127.0.0.1:9/v1");
        assert!(TokenSet::from_answer(&json!({"error": "x"}), None, 0).is_err());
    }
}
