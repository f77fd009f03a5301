//! Claude (Pro/Max): an authorization-code login with PKCE at claude.ai. The redirect goes to
//! Anthropic's own callback page, which shows `code#state` for the user to paste back (the
//! manual mode of Claude Code's login), so no local port is needed in a browser, the desktop
//! window or on a server. The token set is the account's secret and refreshes ahead of expiry.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Value, json};

mod quota;

use crate::auth::tokens::SavedLogin;
use crate::auth::{
    Adapted, Approval, CodeGrant, Found, ImportError, ImportSource, LoginProvider, Minted,
    Redirect, Renewal, TokenSource,
};
use crate::format::WireFormat;
use crate::quota::QuotaWindow;

use crate::auth::AuthEndpoints;
use crate::auth::AuthError;
use crate::auth::pkce::Pkce;
use crate::auth::tokens::TokenSet;

pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
const SCOPES: &str = "org:create_api_key user:profile user:inference";
pub const REDIRECT_URI: &str = "https://console.anthropic.com/oauth/code/callback";
const LOGIN_URL: &str = "https://claude.ai";
const TOKEN_URL: &str = "https://console.anthropic.com";
const API_URL: &str = "https://api.anthropic.com";
/// Claude tokens are refreshed this long before they expire (the peers use the same).
pub const REFRESH_LEAD_MS: i64 = 4 * 3_600_000;
/// The subscription token is accepted with this beta on the Messages API.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";
/// Subscription tokens serve requests that present themselves as Claude Code.
pub const IDENTITY: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

/// Where claude.ai's login, the token endpoint and the API are (`[auth.claude]`: `login_url`
/// for both login servers, `api_url` for the API).
#[derive(Debug, Clone)]
pub struct Servers {
    pub authorize: String,
    pub token: String,
    pub api: String,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        let login = config.and_then(|c| c.login_url.as_deref());
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        Self {
            authorize: trim(login.unwrap_or(LOGIN_URL)),
            token: trim(login.unwrap_or(TOKEN_URL)),
            api: trim(config.and_then(|c| c.api_url.as_deref()).unwrap_or(API_URL)),
        }
    }
}

/// The page the user approves the login on.
pub fn authorize_url(servers: &Servers, pkce: &Pkce, state: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("code", "true")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", SCOPES)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .finish();
    format!("{}/oauth/authorize?{query}", servers.authorize)
}

async fn token_call(
    http: &reqwest::Client,
    servers: &Servers,
    body: Value,
    now_ms: i64,
    previous: Option<&TokenSet>,
) -> Result<TokenSet, AuthError> {
    let request = http
        .post(format!("{}/v1/oauth/token", servers.token))
        .json(&body);
    crate::auth::tokens::token_request(request, previous, "Anthropic", now_ms).await
}

pub async fn exchange(
    http: &reqwest::Client,
    servers: &Servers,
    grant: &CodeGrant<'_>,
) -> Result<TokenSet, AuthError> {
    let body = json!({
        "grant_type": "authorization_code",
        "code": grant.code,
        "state": grant.state,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": grant.verifier,
    });
    token_call(http, servers, body, grant.now_ms, None).await
}

pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let body = json!({
        "grant_type": "refresh_token",
        "refresh_token": set.refresh_token,
        "client_id": CLIENT_ID,
    });
    token_call(http, servers, body, now_ms, Some(set)).await
}

/// A Messages request body with Claude Code's identity as its first system block (added only
/// when the client did not send it).
pub fn with_identity(body: &[u8]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    let identity = json!({"type": "text", "text": IDENTITY});
    let system = match object.remove("system") {
        None | Some(Value::Null) => vec![identity],
        Some(Value::String(text)) if text.starts_with(IDENTITY) => return None,
        Some(Value::String(text)) => vec![identity, json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => {
            let first = blocks
                .first()
                .and_then(|b| b.get("text"))
                .and_then(Value::as_str);
            if first.is_some_and(|t| t.starts_with(IDENTITY)) {
                object.insert("system".into(), Value::Array(blocks));
                return serde_json::to_vec(&value).ok();
            }
            std::iter::once(identity).chain(blocks).collect()
        }
        Some(other) => vec![identity, other],
    };
    object.insert("system".into(), Value::Array(system));
    serde_json::to_vec(&value).ok()
}

/// Claude's login, its identity on requests, its OAuth beta and its usage endpoint.
pub struct Claude {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Claude {
        servers: Servers::from_config(config),
    })
}

#[async_trait]
impl LoginProvider for Claude {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::AuthorizationCode {
            redirect: Redirect::Hosted(REDIRECT_URI),
            webview: true,
        }
    }

    fn authorize_url(
        &self,
        pkce: &Pkce,
        state: &str,
        _redirect_uri: &str,
        _method: Option<&str>,
    ) -> String {
        authorize_url(&self.servers, pkce, state)
    }

    async fn exchange(
        &self,
        http: &reqwest::Client,
        grant: &CodeGrant<'_>,
    ) -> Result<TokenSet, AuthError> {
        exchange(http, &self.servers, grant).await
    }

    fn import_source(&self) -> Option<ImportSource> {
        Some(ImportSource {
            app: "Claude Code",
            file: ".claude/.credentials.json",
        })
    }

    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        let (value, mut set) = crate::auth::import::read_json(path)?;
        let oauth = value
            .get("claudeAiOauth")
            .ok_or_else(|| crate::auth::import::unreadable(path, "no claudeAiOauth"))?;
        let text = |k: &str| oauth.get(k).and_then(Value::as_str).map(str::to_owned);
        set.access_token = text("accessToken").unwrap_or_default();
        set.refresh_token = text("refreshToken").unwrap_or_default();
        set.expires_at_ms = oauth.get("expiresAt").and_then(Value::as_i64).unwrap_or(0);
        set.plan = text("subscriptionType");
        crate::auth::import::found(path, set)
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

    fn api_base(&self, _set: &TokenSet, _account_base: &str) -> String {
        self.servers.api.clone()
    }

    fn adapt(
        &self,
        wire: WireFormat,
        body: Bytes,
        _model: &str,
        _minted: &Minted,
    ) -> Result<Adapted, String> {
        let body = match wire {
            WireFormat::Anthropic => with_identity(&body).map_or(body, Bytes::from),
            _ => body,
        };
        Ok(Adapted {
            body,
            dropped: Vec::new(),
        })
    }

    fn anthropic_beta(&self) -> Option<&'static str> {
        Some(OAUTH_BETA)
    }

    async fn quota(
        &self,
        http: &reqwest::Client,
        _saved: &SavedLogin,
        token: &dyn TokenSource,
    ) -> Result<Option<Vec<QuotaWindow>>, String> {
        let minted = token.token().await.map_err(|e| e.to_string())?;
        quota::fetch(http, &self.servers.api, minted.token.expose())
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_carries_pkce_and_state() {
        let servers = Servers::from_config(None);
        let pkce = Pkce::new();
        let url = url::Url::parse(&authorize_url(&servers, &pkce, "st-1"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.host_str(), Some("claude.ai"));
        let q = |k: &str| crate::auth::query_param(&url, k);
        assert_eq!(q("code_challenge"), Some(pkce.challenge.clone()));
        assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(q("state").as_deref(), Some("st-1"));
        assert_eq!(q("redirect_uri").as_deref(), Some(REDIRECT_URI));
        assert_eq!(servers.token, "https://console.anthropic.com");
    }

    #[test]
    fn the_identity_leads_the_system_prompt_once() {
        let out = |body: Value| {
            with_identity(&serde_json::to_vec(&body).unwrap_or_default())
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        };
        let added = out(json!({"model": "m", "system": "Be brief."})).unwrap_or_default();
        assert_eq!(added["system"][0]["text"], IDENTITY);
        assert_eq!(added["system"][1]["text"], "Be brief.");
        let none = out(json!({"model": "m"})).unwrap_or_default();
        assert_eq!(none["system"][0]["text"], IDENTITY);
        assert!(
            with_identity(&serde_json::to_vec(&json!({"system": IDENTITY})).unwrap_or_default())
                .is_none()
        );
        let blocks = out(
            json!({"system": [{"type": "text", "text": IDENTITY}, {"type": "text", "text": "x"}]}),
        )
        .unwrap_or_default();
        assert_eq!(blocks["system"].as_array().map(Vec::len), Some(2));
    }
}
