//! Qwen: a device-code login with PKCE at chat.qwen.ai (Qwen Code's public client). Its token
//! set (access token, refresh token, expiry, and `resource_url`, the API host of the account)
//! is the account's secret, saved again after every refresh.

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::Approval;
use crate::auth::AuthEndpoints;
use crate::auth::device::{self, DeviceCode};
use crate::auth::pkce::Pkce;
use crate::auth::tokens::TokenSet;
use crate::auth::{AuthError, DeviceLogin, LoginProvider, Renewal, StartOptions};
use crate::secrets::SecretString;

pub const CLIENT_ID: &str = "f0304373b74a44d2b584a3fb70ca9e56";
pub const SCOPE: &str = "openid profile email model.completion";
const LOGIN_URL: &str = "https://chat.qwen.ai";
/// Tokens are refreshed this long before they expire (the peers use the same).
pub const REFRESH_LEAD_MS: i64 = 20 * 60_000;

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

/// Refreshes a token set (a refused refresh token means the login was revoked).
pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let request = http.post(servers.token_url()).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", set.refresh_token.as_str()),
        ("client_id", CLIENT_ID),
    ]);
    let (mut fresh, answer) =
        crate::auth::tokens::token_answer(request, Some(set), "Qwen", now_ms).await?;
    with_host(&mut fresh, &answer);
    Ok(fresh)
}

/// What a Qwen login keeps besides its tokens.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    /// The account's API host (`portal.qwen.ai`), when the token server names one.
    resource_url: Option<String>,
}

/// The API host a token answer names (`resource_url`), kept with the set.
fn with_host(set: &mut TokenSet, answer: &serde_json::Value) {
    let resource_url = answer
        .get("resource_url")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    set.put_extras(&Extras { resource_url });
}

/// The OpenAI-compatible base URL of the account's API host (else `default`).
fn base_url(set: &TokenSet, default: &str) -> String {
    let host = set.extras::<Extras>().resource_url;
    match host.as_deref().map(|u| u.trim_end_matches('/')) {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => format!("{u}/v1"),
        Some(u) if !u.is_empty() => format!("https://{u}/v1"),
        _ => default.to_owned(),
    }
}

/// Qwen's device login; requests go to the API host the login names.
pub struct Qwen {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Qwen {
        servers: Servers::from_config(config),
    })
}

struct Waiting {
    servers: Servers,
    pkce: Pkce,
    code: DeviceCode,
}

#[async_trait]
impl DeviceLogin for Waiting {
    fn code(&self) -> &DeviceCode {
        &self.code
    }

    async fn finish(&self, http: &reqwest::Client) -> Result<(String, SecretString), AuthError> {
        let form = [
            ("client_id", CLIENT_ID),
            ("code_verifier", self.pkce.verifier.as_str()),
        ];
        let floor = std::time::Duration::from_millis(200);
        let token_url = self.servers.token_url();
        let answer = device::poll(http, &token_url, &form, &self.code, floor).await?;
        let mut set = TokenSet::from_answer(&answer, None, crate::clock::now_ms())?;
        with_host(&mut set, &answer);
        Ok((String::new(), set.to_secret()?))
    }
}

#[async_trait]
impl LoginProvider for Qwen {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::DeviceCode
    }

    async fn device_login(
        &self,
        http: &reqwest::Client,
        _options: &StartOptions<'_>,
    ) -> Result<Box<dyn DeviceLogin>, AuthError> {
        let pkce = Pkce::new();
        let form = [
            ("client_id", CLIENT_ID),
            ("scope", SCOPE),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let code = device::request_code(http, &self.servers.device_code_url(), &form).await?;
        Ok(Box::new(Waiting {
            servers: self.servers.clone(),
            pkce,
            code,
        }))
    }

    fn renewal(&self) -> Renewal {
        Renewal::Refresh {
            lead_ms: REFRESH_LEAD_MS,
        }
    }

    async fn refresh(
        &self,
        http: &reqwest::Client,
        set: &TokenSet,
        now_ms: i64,
    ) -> Result<TokenSet, AuthError> {
        refresh(http, &self.servers, set, now_ms).await
    }

    fn api_base(&self, set: &TokenSet, account_base: &str) -> String {
        base_url(set, account_base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_sets_keep_what_a_refresh_leaves_out_and_know_their_host() {
        let answer = json!({"access_token": "a1", "refresh_token": "r1", "expires_in": 7200, "resource_url": "portal.qwen.ai"});
        let mut first =
            TokenSet::from_answer(&answer, None, 1_000).unwrap_or_else(|e| panic!("{e}"));
        with_host(&mut first, &answer);
        assert_eq!(first.expires_at_ms, 7_201_000);
        assert_eq!(
            base_url(&first, "https://x/v1"),
            "https://portal.qwen.ai/v1"
        );
        assert_eq!(
            first.renew_at_ms(1_000, REFRESH_LEAD_MS),
            7_201_000 - 20 * 60_000
        );
        let answer = json!({"access_token": "a2", "expires_in": 4});
        let mut second =
            TokenSet::from_answer(&answer, Some(&first), 10_000).unwrap_or_else(|e| panic!("{e}"));
        with_host(&mut second, &answer);
        assert_eq!(second.refresh_token, "r1");
        assert_eq!(
            base_url(&second, "https://x/v1"),
            "https://portal.qwen.ai/v1"
        );
        assert_eq!(
            second.renew_at_ms(10_000, REFRESH_LEAD_MS),
            12_000,
            "short-lived: halfway"
        );
        let mut local = second.clone();
        local.put_extras(&Extras {
            resource_url: Some("http://127.0.0.1:9/".into()),
        });
        assert_eq!(base_url(&local, "https://x/v1"), "http://127.0.0.1:9/v1");
        assert!(TokenSet::from_answer(&json!({"error": "x"}), None, 0).is_err());
    }
}
