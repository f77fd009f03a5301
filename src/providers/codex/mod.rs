//! OpenAI Codex (ChatGPT Plus/Pro): an authorization-code login with PKCE at auth.openai.com.
//! OpenAI registered only `http://localhost:1455/auth/callback` (and 1457) for Codex's public
//! client, so the redirect is caught by a listener on that port, or pasted back from the
//! browser's address bar when the port is held by something else. The ID token names the
//! ChatGPT account every backend request must carry.

use serde_json::{Value, json};

use crate::auth::tokens::claims;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

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

pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
const SCOPE: &str = "openid profile email offline_access";
const LOGIN_URL: &str = "https://auth.openai.com";
/// The ChatGPT backend; the Responses endpoint is `{api}/codex/responses`.
const API_URL: &str = "https://chatgpt.com/backend-api";
/// The redirect URIs registered for the public client, in the order Codex tries them.
pub const CALLBACK_PORTS: [u16; 2] = [1455, 1457];
pub const CALLBACK_PATH: &str = "/auth/callback";
/// Codex tokens are refreshed this long before they expire (the peers use the same).
pub const REFRESH_LEAD_MS: i64 = 5 * 24 * 3_600_000;
/// How requests introduce themselves (the backend serves the Codex CLI).
pub const ORIGINATOR: &str = "codex_cli_rs";
/// Used when a request brings no instructions of its own: the backend requires the field.
const DEFAULT_INSTRUCTIONS: &str = "You are a coding agent. Follow the user's instructions.";

#[derive(Debug, Clone)]
pub struct Servers {
    pub auth: String,
    pub api: String,
    pub callback_ports: Vec<u16>,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        Self {
            auth: trim(
                config
                    .and_then(|c| c.login_url.as_deref())
                    .unwrap_or(LOGIN_URL),
            ),
            api: trim(config.and_then(|c| c.api_url.as_deref()).unwrap_or(API_URL)),
            callback_ports: config
                .and_then(|c| c.callback_ports.clone())
                .unwrap_or_else(|| CALLBACK_PORTS.to_vec()),
        }
    }

    /// The Responses API base of the ChatGPT backend.
    pub fn responses_base(&self) -> String {
        format!("{}/codex", self.api)
    }
}

pub fn authorize_url(servers: &Servers, pkce: &Pkce, state: &str, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true")
        .append_pair("originator", ORIGINATOR)
        .append_pair("state", state)
        .finish();
    format!("{}/oauth/authorize?{query}", servers.auth)
}

pub async fn exchange(
    http: &reqwest::Client,
    servers: &Servers,
    grant: &CodeGrant<'_>,
) -> Result<TokenSet, AuthError> {
    let request = http.post(format!("{}/oauth/token", servers.auth)).form(&[
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("code", grant.code),
        ("redirect_uri", grant.redirect_uri),
        ("code_verifier", grant.verifier),
    ]);
    let (mut set, answer) =
        crate::auth::tokens::token_answer(request, None, "OpenAI", grant.now_ms).await?;
    with_claims(&mut set, &answer);
    if set.extras::<Extras>().account_id.is_none() {
        return Err(AuthError::NoSubscription(
            "this OpenAI login has no ChatGPT account (Codex needs a ChatGPT plan)".into(),
        ));
    }
    Ok(set)
}

pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let request = http.post(format!("{}/oauth/token", servers.auth)).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("refresh_token", set.refresh_token.as_str()),
        ("scope", SCOPE),
    ]);
    let (mut fresh, answer) =
        crate::auth::tokens::token_answer(request, Some(set), "OpenAI", now_ms).await?;
    with_claims(&mut fresh, &answer);
    Ok(fresh)
}

/// What a Codex login keeps besides its tokens.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    /// The ChatGPT account requests are made for.
    account_id: Option<String>,
}

/// The ChatGPT account and plan an answer's ID token names.
fn with_claims(set: &mut TokenSet, answer: &Value) {
    let Some(claims) = answer.get("id_token").and_then(Value::as_str).map(claims) else {
        return;
    };
    set.put_extras(&Extras {
        account_id: claims.account_id,
    });
    set.plan = claims.plan.or(set.plan.take());
}

/// The ChatGPT account a token acts for.
fn account_of(minted: &Minted) -> Option<String> {
    minted.set.as_ref()?.extras::<Extras>().account_id
}

/// Parameters the ChatGPT backend refuses; they are dropped (and reported as dropped).
const UNSUPPORTED: &[&str] = &[
    "max_output_tokens",
    "max_tokens",
    "temperature",
    "top_p",
    "frequency_penalty",
    "presence_penalty",
    "logprobs",
    "top_logprobs",
    "n",
    "seed",
    "user",
    "metadata",
    "stream_options",
    "safety_identifier",
    "prompt_cache_retention",
    "service_tier",
    "truncation",
    "previous_response_id",
];

/// A Responses request as the ChatGPT backend takes it: always streamed, never stored,
/// with instructions, input as a list, and encrypted reasoning carried between turns (nothing
/// is stored server-side). Returns the body and the parameters it had to drop.
pub fn adapt_request(body: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let mut value: Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object_mut()?;
    let dropped = UNSUPPORTED
        .iter()
        .filter(|k| object.remove(**k).is_some_and(|v| !v.is_null()))
        .map(|k| (*k).to_owned())
        .collect();
    object.insert("stream".into(), Value::Bool(true));
    object.insert("store".into(), Value::Bool(false));
    let has_instructions = object
        .get("instructions")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    if !has_instructions {
        object.insert("instructions".into(), DEFAULT_INSTRUCTIONS.into());
    }
    if let Some(Value::String(text)) = object.get("input") {
        let message = json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        });
        object.insert("input".into(), Value::Array(vec![message]));
    }
    let reasoning = object
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str)
        .is_some_and(|e| e != "none");
    if reasoning {
        let include = object
            .entry("include")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = include
            && !items.iter().any(|i| i == "reasoning.encrypted_content")
        {
            items.push("reasoning.encrypted_content".into());
        }
    }
    Some((serde_json::to_vec(&value).ok()?, dropped))
}

/// When the ChatGPT plan's usage limit lifts, from a `usage_limit_reached` error body
/// (`resets_at` in Unix seconds, or `resets_in_seconds`).
pub fn usage_limit_reset_ms(body: &[u8], now_ms: i64) -> Option<i64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    if error.get("type").and_then(Value::as_str) != Some("usage_limit_reached") {
        return None;
    }
    let at = error
        .get("resets_at")
        .and_then(Value::as_i64)
        .map(crate::clock::secs_ms)
        .filter(|ms| *ms > now_ms);
    at.or_else(|| {
        error
            .get("resets_in_seconds")
            .and_then(Value::as_i64)
            .filter(|s| *s > 0)
            .map(|s| crate::clock::ms_after(now_ms, s))
    })
}

/// An ID token with these claims, the way OpenAI's token endpoint writes them (unsigned).
/// Codex's login, the ChatGPT backend's request conventions and its usage endpoint.
pub struct Codex {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Codex {
        servers: Servers::from_config(config),
    })
}

#[async_trait]
impl LoginProvider for Codex {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::AuthorizationCode {
            redirect: Redirect::Loopback {
                host: "localhost",
                ports: self.servers.callback_ports.clone(),
                path: CALLBACK_PATH,
            },
            webview: true,
        }
    }

    fn authorize_url(
        &self,
        pkce: &Pkce,
        state: &str,
        redirect_uri: &str,
        _method: Option<&str>,
    ) -> String {
        authorize_url(&self.servers, pkce, state, redirect_uri)
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
            app: "Codex CLI",
            file: ".codex/auth.json",
        })
    }

    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        let (value, mut set) = crate::auth::import::read_json(path)?;
        let tokens = value
            .get("tokens")
            .ok_or_else(|| crate::auth::import::unreadable(path, "no tokens"))?;
        let text = |k: &str| tokens.get(k).and_then(Value::as_str).map(str::to_owned);
        let claims = text("id_token").map(|t| claims(&t)).unwrap_or_default();
        set.access_token = text("access_token").unwrap_or_default();
        set.refresh_token = text("refresh_token").unwrap_or_default();
        set.expires_at_ms = crate::auth::import::jwt_expiry_ms(&set.access_token).unwrap_or(0);
        set.put_extras(&Extras {
            account_id: text("account_id").or(claims.account_id),
        });
        set.email = claims.email;
        set.plan = claims.plan;
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
        self.servers.responses_base()
    }

    fn adapt(
        &self,
        _wire: WireFormat,
        body: Bytes,
        _model: &str,
        _minted: &Minted,
    ) -> Result<Adapted, String> {
        Ok(match adapt_request(&body) {
            Some((adapted, dropped)) => Adapted {
                body: Bytes::from(adapted),
                dropped,
            },
            None => Adapted {
                body,
                dropped: Vec::new(),
            },
        })
    }

    fn always_streams(&self) -> bool {
        true
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        let request = request
            .bearer_auth(minted.token.expose())
            .header("originator", ORIGINATOR)
            .header("openai-beta", "responses=experimental");
        match account_of(minted) {
            Some(id) => request.header("chatgpt-account-id", id),
            None => request,
        }
    }

    fn reset_hint(&self, body: &[u8], now_ms: i64) -> Option<Duration> {
        let at = usage_limit_reset_ms(body, now_ms)?;
        Some(Duration::from_millis(
            u64::try_from(at - now_ms).unwrap_or(0),
        ))
    }

    async fn quota(
        &self,
        http: &reqwest::Client,
        _saved: &SavedLogin,
        token: &dyn TokenSource,
    ) -> Result<Option<Vec<QuotaWindow>>, String> {
        let minted = token.token().await.map_err(|e| e.to_string())?;
        let token = minted.token.expose();
        let account = account_of(&minted);
        quota::fetch(http, &self.servers.api, token, account.as_deref())
            .await
            .map(Some)
    }
}

#[cfg(test)]
pub(crate) fn id_token_for(email: &str, account_id: &str, plan: &str) -> String {
    let payload = json!({
        "email": email,
        "https://api.openai.com/auth": {"chatgpt_account_id": account_id, "chatgpt_plan_type": plan},
    });
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        encode(&json!({"alg": "none"})),
        encode(&payload)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::Claims;

    #[test]
    fn a_set_saved_before_extras_were_the_modules_keeps_its_account() {
        let saved = r#"{"accessToken":"a","refreshToken":"r","expiresAtMs":5,"obtainedAtMs":1,"email":"e@x","accountId":"acct-7","plan":"pro"}"#;
        let set: TokenSet = serde_json::from_str(saved).unwrap_or_else(|e| panic!("{e}"));
        let minted = Minted {
            token: crate::secrets::SecretString::new("a".to_owned()),
            base_url: String::new(),
            renew_at_ms: 0,
            set: Some(std::sync::Arc::new(set.clone())),
        };
        assert_eq!(account_of(&minted).as_deref(), Some("acct-7"));
        assert_eq!(set.plan.as_deref(), Some("pro"));
        let again = serde_json::to_value(&set).unwrap_or_default();
        assert_eq!(
            again["accountId"], "acct-7",
            "saved again under the same name"
        );
    }

    #[test]
    fn the_authorize_url_is_the_one_codex_registered() {
        let servers = Servers::from_config(None);
        let pkce = Pkce::new();
        let redirect = "http://localhost:1455/auth/callback";
        let url = url::Url::parse(&authorize_url(&servers, &pkce, "st", redirect))
            .unwrap_or_else(|e| panic!("{e}"));
        let q = |k: &str| crate::auth::query_param(&url, k);
        assert_eq!(url.host_str(), Some("auth.openai.com"));
        assert_eq!(q("redirect_uri").as_deref(), Some(redirect));
        assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(q("code_challenge"), Some(pkce.challenge));
        assert_eq!(q("state").as_deref(), Some("st"));
        assert_eq!(q("scope").as_deref(), Some(SCOPE));
        assert_eq!(servers.callback_ports, vec![1455, 1457]);
    }

    #[test]
    fn id_token_claims_name_the_chatgpt_account() {
        let token = id_token_for("a@b.c", "acct-1", "plus");
        assert_eq!(
            claims(&token),
            Claims {
                email: Some("a@b.c".into()),
                account_id: Some("acct-1".into()),
                plan: Some("plus".into()),
            }
        );
        assert_eq!(claims("not-a-jwt"), Claims::default());
    }

    #[test]
    fn requests_are_streamed_unstored_and_lose_what_the_backend_refuses() {
        let body = json!({
            "model": "gpt-5-codex", "input": "hi", "temperature": 0.2,
            "max_output_tokens": 100, "reasoning": {"effort": "high"},
        });
        let (out, dropped) =
            adapt_request(&serde_json::to_vec(&body).unwrap_or_default()).unwrap_or_default();
        let out: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(out["stream"], true);
        assert_eq!(out["store"], false);
        assert_eq!(out["instructions"], DEFAULT_INSTRUCTIONS);
        assert_eq!(out["input"][0]["content"][0]["text"], "hi");
        assert_eq!(out["include"][0], "reasoning.encrypted_content");
        assert!(out.get("temperature").is_none());
        assert_eq!(dropped, vec!["max_output_tokens", "temperature"]);
        let kept = json!({"model": "m", "input": [], "instructions": "Be terse."});
        let (out, _) =
            adapt_request(&serde_json::to_vec(&kept).unwrap_or_default()).unwrap_or_default();
        let out: Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(out["instructions"], "Be terse.");
        assert!(out.get("include").is_none());
    }

    #[test]
    fn usage_limits_name_their_reset() {
        let now = 1_700_000_000_000;
        let at =
            br#"{"error":{"type":"usage_limit_reached","message":"limit","resets_at":1700003600}}"#;
        assert_eq!(usage_limit_reset_ms(at, now), Some(1_700_003_600_000));
        let within = br#"{"error":{"type":"usage_limit_reached","resets_in_seconds":60}}"#;
        assert_eq!(usage_limit_reset_ms(within, now), Some(now + 60_000));
        let other = br#"{"error":{"type":"rate_limit_exceeded","resets_in_seconds":60}}"#;
        assert_eq!(usage_limit_reset_ms(other, now), None);
    }
}
