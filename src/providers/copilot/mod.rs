//! GitHub Copilot: a GitHub login by device code (the Copilot editor plugins' public OAuth
//! app), then a short-lived Copilot token minted from it for each stretch of requests. The
//! GitHub token is the account's secret; Copilot tokens live in memory only.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

mod quota;

use crate::auth::AuthEndpoints;
use crate::auth::device::{self, DeviceCode};
use crate::auth::tokens::SavedLogin;
use crate::auth::{
    Approval, AuthError, DeviceLogin, LoginProvider, Minted, Renewal, StartOptions, TokenSource,
};
use crate::quota::QuotaWindow;
use crate::secrets::SecretString;

/// The OAuth app the Copilot editor plugins log in with.
pub const CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";
pub const SCOPE: &str = "read:user";
const LOGIN_URL: &str = "https://github.com";
const API_URL: &str = "https://api.github.com";
/// Copilot tokens are minted again this long before they expire.
pub const REMINT_LEAD_MS: i64 = 5 * 60_000;

/// Where GitHub's login and API servers are (overridable by `[auth.github]`).
#[derive(Debug, Clone)]
pub struct Servers {
    pub login: String,
    pub api: String,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        let pick = |v: Option<&String>, default: &str| {
            v.map_or(default, |s| s.as_str())
                .trim_end_matches('/')
                .to_owned()
        };
        Self {
            login: pick(config.and_then(|c| c.login_url.as_ref()), LOGIN_URL),
            api: pick(config.and_then(|c| c.api_url.as_ref()), API_URL),
        }
    }

    pub fn device_code_url(&self) -> String {
        format!("{}/login/device/code", self.login)
    }

    pub fn token_url(&self) -> String {
        format!("{}/login/oauth/access_token", self.login)
    }
}

/// The editor identity Copilot's API expects on every request.
pub fn editor_headers(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .header("copilot-integration-id", "vscode-chat")
        .header("editor-version", "vscode/1.99.0")
        .header("editor-plugin-version", "copilot-chat/0.26.0")
        .header("openai-intent", "conversation-panel")
}

/// A Copilot token and the API host it is valid for.
#[derive(Clone)]
pub struct CopilotToken {
    pub token: SecretString,
    pub expires_at_ms: i64,
    pub api_base: String,
}

impl CopilotToken {
    /// When to mint the next one (`REMINT_LEAD_MS` ahead, see `tokens::renew_at`).
    pub fn renew_at_ms(&self, minted_ms: i64) -> i64 {
        crate::auth::tokens::renew_at(self.expires_at_ms, minted_ms, REMINT_LEAD_MS)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
    expires_at: i64,
    #[serde(default)]
    endpoints: Option<Endpoints>,
}

#[derive(Deserialize)]
struct Endpoints {
    api: Option<String>,
}

fn github_get(http: &reqwest::Client, url: String, github_token: &str) -> reqwest::RequestBuilder {
    http.get(url)
        .header("authorization", format!("token {github_token}"))
        .header("accept", "application/json")
}

/// Mints a Copilot token. A refused GitHub token means the login was revoked; a 403/404 with a
/// valid token means the account has no Copilot subscription.
pub async fn mint(
    http: &reqwest::Client,
    servers: &Servers,
    github_token: &str,
) -> Result<CopilotToken, AuthError> {
    let response = github_get(
        http,
        format!("{}/copilot_internal/v2/token", servers.api),
        github_token,
    )
    .send()
    .await?;
    let status = response.status().as_u16();
    let body = crate::auth::answer_body(response).await?;
    match status {
        200..=299 => {}
        401 => return Err(AuthError::Revoked("GitHub refused the saved token".into())),
        403 | 404 => {
            return Err(AuthError::NoSubscription(
                "this GitHub account has no Copilot subscription".into(),
            ));
        }
        _ => return Err(AuthError::provider(status, &body)),
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|e| AuthError::Malformed(e.to_string()))?;
    Ok(CopilotToken {
        token: SecretString::new(answer.token),
        expires_at_ms: answer.expires_at.saturating_mul(1000),
        api_base: answer
            .endpoints
            .and_then(|e| e.api)
            .unwrap_or_else(|| "https://api.githubcopilot.com".into())
            .trim_end_matches('/')
            .to_owned(),
    })
}

/// The GitHub user name, to name the account.
pub async fn user_login(
    http: &reqwest::Client,
    servers: &Servers,
    github_token: &str,
) -> Option<String> {
    let response = github_get(http, format!("{}/user", servers.api), github_token)
        .send()
        .await
        .ok()?;
    let body = crate::auth::answer_body(response).await.ok()?;
    let value: Value = serde_json::from_slice(&body).ok()?;
    value.get("login")?.as_str().map(str::to_owned)
}

/// Copilot: a GitHub device login; requests carry Copilot tokens minted from it.
pub struct Copilot {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Copilot {
        servers: Servers::from_config(config),
    })
}

struct Waiting {
    servers: Servers,
    code: DeviceCode,
}

#[async_trait]
impl DeviceLogin for Waiting {
    fn code(&self) -> &DeviceCode {
        &self.code
    }

    async fn finish(&self, http: &reqwest::Client) -> Result<(String, SecretString), AuthError> {
        let form = [("client_id", CLIENT_ID)];
        let floor = std::time::Duration::from_millis(200);
        let token_url = self.servers.token_url();
        let answer = device::poll(http, &token_url, &form, &self.code, floor).await?;
        let github = answer
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| AuthError::Malformed("no access_token".into()))?
            .to_owned();
        // Proves the subscription before anything is stored.
        mint(http, &self.servers, &github).await?;
        let user = user_login(http, &self.servers, &github)
            .await
            .unwrap_or_default();
        Ok((user, SecretString::new(github)))
    }
}

#[async_trait]
impl LoginProvider for Copilot {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::DeviceCode
    }

    async fn device_login(
        &self,
        http: &reqwest::Client,
        _options: &StartOptions<'_>,
    ) -> Result<Box<dyn DeviceLogin>, AuthError> {
        let form = [("client_id", CLIENT_ID), ("scope", SCOPE)];
        let code = device::request_code(http, &self.servers.device_code_url(), &form).await?;
        Ok(Box::new(Waiting {
            servers: self.servers.clone(),
            code,
        }))
    }

    fn renewal(&self) -> Renewal {
        Renewal::Mint
    }

    async fn mint(
        &self,
        http: &reqwest::Client,
        grant: &SecretString,
        now_ms: i64,
    ) -> Result<Minted, AuthError> {
        let token = mint(http, &self.servers, grant.expose()).await?;
        Ok(Minted {
            renew_at_ms: token.renew_at_ms(now_ms),
            token: token.token,
            base_url: token.api_base,
            set: None,
        })
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        editor_headers(request.bearer_auth(minted.token.expose()))
    }

    async fn quota(
        &self,
        http: &reqwest::Client,
        saved: &SavedLogin,
        _token: &dyn TokenSource,
    ) -> Result<Option<Vec<QuotaWindow>>, String> {
        let grant = saved
            .grant()
            .ok_or("the account has no saved GitHub login")?;
        quota::fetch(http, &self.servers, grant.expose())
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_ahead_of_expiry() {
        let token = |life_ms: i64| CopilotToken {
            token: SecretString::new("t"),
            expires_at_ms: 1_000_000 + life_ms,
            api_base: String::new(),
        };
        // A 30-minute token: five minutes before it expires.
        assert_eq!(
            token(1_800_000).renew_at_ms(1_000_000),
            1_000_000 + 1_500_000
        );
        // A 2-second token: halfway.
        assert_eq!(token(2_000).renew_at_ms(1_000_000), 1_001_000);
    }

    #[test]
    fn servers_default_to_github_and_follow_the_config() {
        let default = Servers::from_config(None);
        assert_eq!(
            default.token_url(),
            "https://github.com/login/oauth/access_token"
        );
        let local = Servers::from_config(Some(&AuthEndpoints {
            login_url: Some("http://127.0.0.1:9/".into()),
            api_url: Some("http://127.0.0.1:8".into()),
            ..AuthEndpoints::default()
        }));
        assert_eq!(
            local.device_code_url(),
            "http://127.0.0.1:9/login/device/code"
        );
        assert_eq!(local.api, "http://127.0.0.1:8");
    }
}
