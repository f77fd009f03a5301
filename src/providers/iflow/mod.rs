//! iFlow: an authorization code at iflow.cn (the token endpoint takes the client's Basic
//! auth), after which the account's user info names the API key requests are made with.
//! Requests carry iFlow CLI's headers: a session id, a timestamp and an HMAC-SHA256 signature
//! of them keyed with the API key.

use hmac::{Hmac, Mac};
use serde_json::Value;

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::AuthEndpoints;
use crate::auth::pkce::Pkce;
use crate::auth::tokens::TokenSet;
use crate::auth::{Approval, AuthError, CodeGrant, LoginProvider, Minted, Redirect, Renewal};
use crate::secrets::SecretString;

pub const CLIENT_ID: &str = "10009311001";
const CLIENT_SECRET: &str = "4Z3YjXycVsQvyGF1etiNlIBB4RsqSDtW";
const LOGIN_URL: &str = "https://iflow.cn";
pub const CALLBACK_PATH: &str = "/oauth2callback";
/// iFlow tokens are refreshed this long before they expire (the peers use the same).
pub const REFRESH_LEAD_MS: i64 = 24 * 3_600_000;
pub const USER_AGENT: &str = "iFlow-Cli";

#[derive(Debug, Clone)]
pub struct Servers {
    pub login: String,
    /// The OpenAI-compatible API, when not the account's (`[auth.iflow] api_url`).
    pub api: Option<String>,
    pub callback_ports: Vec<u16>,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        Self {
            login: config
                .and_then(|c| c.login_url.as_deref())
                .unwrap_or(LOGIN_URL)
                .trim_end_matches('/')
                .to_owned(),
            api: config
                .and_then(|c| c.api_url.as_deref())
                .map(|u| u.trim_end_matches('/').to_owned()),
            callback_ports: config
                .and_then(|c| c.callback_ports.clone())
                .unwrap_or_default(),
        }
    }
}

pub fn authorize_url(servers: &Servers, pkce: &Pkce, state: &str, redirect_uri: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("loginMethod", "phone")
        .append_pair("type", "phone")
        .append_pair("redirect", redirect_uri)
        .append_pair("state", state)
        .append_pair("client_id", CLIENT_ID)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{}/oauth?{query}", servers.login)
}

async fn token_call(
    http: &reqwest::Client,
    servers: &Servers,
    form: &[(&str, &str)],
    previous: Option<&TokenSet>,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let mut fields = vec![("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)];
    fields.extend_from_slice(form);
    let request = http
        .post(format!("{}/oauth/token", servers.login))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&fields);
    let mut set = crate::auth::tokens::token_request(request, previous, "iFlow", now_ms).await?;
    let (api_key, who) = user_info(http, servers, &set.access_token).await?;
    set.put_extras(&Extras {
        api_key: Some(api_key),
    });
    set.email = who.or(set.email);
    Ok(set)
}

/// What an iFlow login keeps besides its tokens.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    /// The API key the login yields, which requests carry instead of the access token.
    api_key: Option<String>,
}

pub async fn exchange(
    http: &reqwest::Client,
    servers: &Servers,
    grant: &CodeGrant<'_>,
) -> Result<TokenSet, AuthError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", grant.code),
        ("redirect_uri", grant.redirect_uri),
        ("code_verifier", grant.verifier),
    ];
    token_call(http, servers, &form, None, grant.now_ms).await
}

/// Refreshes the tokens and reads the API key again (iFlow may rotate it).
pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", set.refresh_token.as_str()),
    ];
    token_call(http, servers, &form, Some(set), now_ms).await
}

/// The account's API key and who it is (e-mail, else phone number).
async fn user_info(
    http: &reqwest::Client,
    servers: &Servers,
    access_token: &str,
) -> Result<(String, Option<String>), AuthError> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("accessToken", access_token)
        .finish();
    let response = http
        .get(format!("{}/api/oauth/getUserInfo?{query}", servers.login))
        .header("accept", "application/json")
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = crate::auth::answer_body(response).await?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
    if !(200..300).contains(&status) || answer["success"] != true {
        return Err(AuthError::provider(status, &body));
    }
    let data = &answer["data"];
    let text = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let api_key = text("apiKey")
        .ok_or_else(|| AuthError::NoSubscription("iFlow gave this account no API key".into()))?;
    Ok((api_key, text("email").or_else(|| text("phone"))))
}

/// iFlow CLI's request headers: `session-id`, `x-iflow-timestamp` (ms) and
/// `x-iflow-signature`, the hex HMAC-SHA256 of `user-agent:session:timestamp` keyed with the
/// API key.
pub fn signed_headers(
    api_key: &str,
    session: &str,
    timestamp_ms: i64,
) -> [(&'static str, String); 3] {
    let signature = Hmac::<sha2::Sha256>::new_from_slice(api_key.as_bytes())
        .map(|mut mac| {
            mac.update(format!("{USER_AGENT}:{session}:{timestamp_ms}").as_bytes());
            hex::encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default();
    [
        ("session-id", session.to_owned()),
        ("x-iflow-timestamp", timestamp_ms.to_string()),
        ("x-iflow-signature", signature),
    ]
}

/// iFlow's login; requests carry the API key it yields, signed.
pub struct Iflow {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Iflow {
        servers: Servers::from_config(config),
    })
}

#[async_trait]
impl LoginProvider for Iflow {
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

    /// Requests carry the API key the login yields, not the access token.
    fn minted(&self, set: TokenSet, account_base: &str, renew_at_ms: i64) -> Minted {
        Minted {
            token: SecretString::new(
                set.extras::<Extras>()
                    .api_key
                    .unwrap_or_else(|| set.access_token.clone()),
            ),
            base_url: self
                .servers
                .api
                .clone()
                .unwrap_or_else(|| account_base.to_owned()),
            renew_at_ms,
            set: Some(Arc::new(set)),
        }
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        let key = minted.token.expose();
        let session = format!("session-{}", crate::clock::new_id());
        signed_headers(key, &session, crate::clock::now_ms())
            .into_iter()
            .fold(request.bearer_auth(key), |r, (name, value)| {
                r.header(name, value)
            })
            .header(http::header::USER_AGENT, USER_AGENT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_an_hmac_of_agent_session_and_time() {
        let [session, time, signature] = signed_headers("key", "session-1", 1_700_000_000_000);
        assert_eq!(session.1, "session-1");
        assert_eq!(time.1, "1700000000000");
        // Python: hmac.new(b"key", b"iFlow-Cli:session-1:1700000000000", sha256).hexdigest()
        assert_eq!(
            signature.1,
            "5968520f04e7cf2e52ef2b9cf74f7bcf9c20008ad22c09f4ff2e5e10abc31025"
        );
    }

    #[test]
    fn the_authorize_url_names_the_redirect_and_state() {
        let servers = Servers::from_config(None);
        let url = authorize_url(
            &servers,
            &Pkce::new(),
            "st",
            "http://localhost:5/oauth2callback",
        );
        assert!(
            url.starts_with("https://iflow.cn/oauth?loginMethod=phone"),
            "{url}"
        );
        assert!(
            url.contains("redirect=http%3A%2F%2Flocalhost%3A5%2Foauth2callback"),
            "{url}"
        );
        assert!(url.contains("state=st"), "{url}");
    }
}
