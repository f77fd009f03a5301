//! Google logins (Gemini CLI, Antigravity): an authorization code with PKCE for an installed
//! app, its redirect caught on a loopback IP literal at any free port (Google refuses
//! embedded webviews, so the approval page opens in the system browser). After the exchange,
//! the account's Cloud Code project is found, or the account is onboarded onto its default
//! tier (a long-running operation polled like Gemini CLI does).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use serde_json::{Value, json};

mod quota;

use crate::auth::AuthEndpoints;
use crate::auth::pkce::Pkce;
use crate::auth::tokens::SavedLogin;
use crate::auth::tokens::TokenSet;
use crate::auth::{
    Adapted, Approval, AuthError, CodeGrant, Found, ImportError, ImportSource, LoginProvider,
    Minted, Redirect, Renewal, TokenSource,
};
use crate::format::{WireFormat, cloudcode};
use crate::quota::QuotaWindow;

/// An installed-app OAuth client: its id and secret are public by Google's design.
pub struct Client {
    pub id: &'static str,
    pub secret: &'static str,
    pub scopes: &'static str,
    /// Who the Cloud Code API is told it is talking to.
    pub plugin: &'static str,
}

pub const GEMINI_CLI: Client = Client {
    id: "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
    secret: "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",
    scopes: "https://www.googleapis.com/auth/cloud-platform \
             https://www.googleapis.com/auth/userinfo.email \
             https://www.googleapis.com/auth/userinfo.profile",
    plugin: "GEMINI",
};

/// Antigravity's client; its requests are agent requests in the envelope.
pub const ANTIGRAVITY: Client = Client {
    id: "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com",
    secret: "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",
    scopes: "https://www.googleapis.com/auth/cloud-platform \
             https://www.googleapis.com/auth/userinfo.email \
             https://www.googleapis.com/auth/userinfo.profile \
             https://www.googleapis.com/auth/cclog \
             https://www.googleapis.com/auth/experimentsandconfigs",
    plugin: "GEMINI",
};

pub const CALLBACK_PATH: &str = "/oauth2callback";
/// How Antigravity introduces itself to Cloud Code.
pub const ANTIGRAVITY_USER_AGENT: &str = "antigravity/1.107.0 linux/amd64";
/// Google access tokens live an hour; they are refreshed this long before.
pub const REFRESH_LEAD_MS: i64 = 5 * 60_000;
const AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
const USERINFO_URL: &str = "https://www.googleapis.com/oauth2/v1/userinfo";
const CODE_ASSIST_URL: &str = "https://cloudcode-pa.googleapis.com";
/// Antigravity's requests go to the daily channel; its setup calls to the production host.
const ANTIGRAVITY_URL: &str = "https://daily-cloudcode-pa.googleapis.com";
/// How often, and how many times, an onboarding operation is asked whether it is done.
const ONBOARD_POLL: Duration = Duration::from_secs(5);
const ONBOARD_POLLS: u32 = 24;

/// Google's login servers and the Cloud Code API (`[auth.<provider>]`: `login_url` stands for
/// all three login endpoints, `api_url` for Cloud Code).
#[derive(Debug, Clone)]
pub struct Servers {
    pub authorize: String,
    pub token: String,
    pub userinfo: String,
    /// Where requests (and quota) go.
    pub code_assist: String,
    /// Where the account's project is found or set up.
    pub setup: String,
    pub callback_ports: Vec<u16>,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>, code_assist: &str) -> Self {
        let api = config.and_then(|c| c.api_url.as_deref());
        let host = |default: &str| api.unwrap_or(default).trim_end_matches('/').to_owned();
        let login = config
            .and_then(|c| c.login_url.as_deref())
            .map(|u| u.trim_end_matches('/'));
        let at = |path: &str, default: &str| {
            login.map_or_else(|| default.to_owned(), |l| format!("{l}{path}"))
        };
        Self {
            authorize: at("/o/oauth2/v2/auth", AUTHORIZE_URL),
            token: at("/token", TOKEN_URL),
            userinfo: at("/oauth2/v1/userinfo", USERINFO_URL),
            code_assist: host(code_assist),
            setup: host(CODE_ASSIST_URL),
            callback_ports: config
                .and_then(|c| c.callback_ports.clone())
                .unwrap_or_default(),
        }
    }

    pub fn gemini_cli(config: Option<&AuthEndpoints>) -> Self {
        Self::from_config(config, CODE_ASSIST_URL)
    }

    pub fn antigravity(config: Option<&AuthEndpoints>) -> Self {
        Self::from_config(config, ANTIGRAVITY_URL)
    }

    fn method(&self, name: &str) -> String {
        format!("{}/v1internal:{name}", self.setup)
    }
}

pub fn authorize_url(
    servers: &Servers,
    client: &Client,
    pkce: &Pkce,
    state: &str,
    redirect_uri: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client.id)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", client.scopes)
        .append_pair("access_type", "offline")
        .append_pair("prompt", "consent")
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .finish();
    format!("{}?{query}", servers.authorize)
}

/// Exchanges the code, then finds who logged in and their Cloud Code project.
pub async fn exchange(
    http: &reqwest::Client,
    servers: &Servers,
    client: &Client,
    grant: &CodeGrant<'_>,
) -> Result<TokenSet, AuthError> {
    let request = http.post(&servers.token).form(&[
        ("grant_type", "authorization_code"),
        ("client_id", client.id),
        ("client_secret", client.secret),
        ("code", grant.code),
        ("code_verifier", grant.verifier),
        ("redirect_uri", grant.redirect_uri),
    ]);
    let mut set = crate::auth::tokens::token_request(request, None, "Google", grant.now_ms).await?;
    set.email = email(http, servers, &set.access_token).await;
    let project = project(http, servers, client, &set.access_token).await?;
    set.put_extras(&Extras {
        project_id: Some(project),
    });
    Ok(set)
}

/// What a Google login keeps besides its tokens.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    /// The Google Cloud project Cloud Code requests are billed to.
    project_id: Option<String>,
}

/// The Cloud project a token's requests are made in.
fn project_of(minted: &Minted) -> Option<String> {
    minted.set.as_ref()?.extras::<Extras>().project_id
}

pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    client: &Client,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let request = http.post(&servers.token).form(&[
        ("grant_type", "refresh_token"),
        ("client_id", client.id),
        ("client_secret", client.secret),
        ("refresh_token", set.refresh_token.as_str()),
    ]);
    // The set's own part (its project) is carried over.
    crate::auth::tokens::token_request(request, Some(set), "Google", now_ms).await
}

/// The account's e-mail (the account is named after it); `None` if Google does not say.
async fn email(http: &reqwest::Client, servers: &Servers, token: &str) -> Option<String> {
    let answer: Value = http
        .get(format!("{}?alt=json", servers.userinfo))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    answer.get("email")?.as_str().map(str::to_owned)
}

async fn call(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Result<Value, AuthError> {
    let request = match body {
        Some(body) => http.post(url).json(&body),
        None => http.get(url),
    };
    crate::auth::json_answer(request.bearer_auth(token)).await
}

/// The project id in `cloudaicompanionProject`, written as a string or as `{id}`.
fn project_in(value: &Value) -> Option<String> {
    let p = value.get("cloudaicompanionProject")?;
    p.as_str()
        .or_else(|| p.get("id").and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The account's Cloud Code project: the one it already has, or the one onboarding onto its
/// default tier gives (the free tier comes with a managed project).
pub async fn project(
    http: &reqwest::Client,
    servers: &Servers,
    client: &Client,
    token: &str,
) -> Result<String, AuthError> {
    let metadata = json!({
        "ideType": "IDE_UNSPECIFIED",
        "platform": "PLATFORM_UNSPECIFIED",
        "pluginType": client.plugin,
    });
    let loaded = call(
        http,
        servers.method("loadCodeAssist"),
        token,
        Some(json!({ "metadata": metadata })),
    )
    .await?;
    if let Some(project) = project_in(&loaded) {
        return Ok(project);
    }
    let tier = loaded
        .get("allowedTiers")
        .and_then(Value::as_array)
        .and_then(|tiers| tiers.iter().find(|t| t["isDefault"] == true))
        .and_then(|t| t.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("free-tier");
    if loaded.get("currentTier").is_some() || tier != "free-tier" {
        return Err(AuthError::NoSubscription(format!(
            "this Google account's Gemini Code Assist tier ({tier}) needs a Google Cloud \
             project, and the account has none set up"
        )));
    }
    let onboard = json!({ "tierId": tier, "metadata": metadata });
    let mut operation = call(
        http,
        servers.method("onboardUser"),
        token,
        Some(onboard.clone()),
    )
    .await?;
    for _ in 0..ONBOARD_POLLS {
        if operation["done"] == true {
            break;
        }
        tokio::time::sleep(ONBOARD_POLL).await;
        operation = match operation.get("name").and_then(Value::as_str) {
            Some(name) => {
                let url = format!("{}/v1internal/{name}", servers.setup);
                call(http, url, token, None).await?
            }
            // No operation to ask after: onboarding is asked again, as Gemini CLI does.
            None => {
                call(
                    http,
                    servers.method("onboardUser"),
                    token,
                    Some(onboard.clone()),
                )
                .await?
            }
        };
    }
    operation
        .get("response")
        .and_then(project_in)
        .ok_or_else(|| {
            AuthError::Malformed(
                "Google is still setting up this account's Gemini project; try again in a minute"
                    .into(),
            )
        })
}

/// A Google login: Gemini CLI's, or Antigravity's (agent requests on the daily channel, with
/// a quota per model).
pub struct Google {
    client: &'static Client,
    servers: Servers,
    antigravity: bool,
}

pub fn gemini_cli(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Google {
        client: &GEMINI_CLI,
        servers: Servers::gemini_cli(config),
        antigravity: false,
    })
}

pub fn antigravity(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Google {
        client: &ANTIGRAVITY,
        servers: Servers::antigravity(config),
        antigravity: true,
    })
}

#[async_trait]
impl LoginProvider for Google {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::AuthorizationCode {
            // Google wants a loopback IP literal, any port.
            redirect: Redirect::Loopback {
                host: "127.0.0.1",
                ports: self.servers.callback_ports.clone(),
                path: CALLBACK_PATH,
            },
            webview: false,
        }
    }

    fn authorize_url(
        &self,
        pkce: &Pkce,
        state: &str,
        redirect_uri: &str,
        _method: Option<&str>,
    ) -> String {
        authorize_url(&self.servers, self.client, pkce, state, redirect_uri)
    }

    async fn exchange(
        &self,
        http: &reqwest::Client,
        grant: &CodeGrant<'_>,
    ) -> Result<TokenSet, AuthError> {
        exchange(http, &self.servers, self.client, grant).await
    }

    fn import_source(&self) -> Option<ImportSource> {
        (!self.antigravity).then_some(ImportSource {
            app: "Gemini CLI",
            file: ".gemini/oauth_creds.json",
        })
    }

    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        let (value, mut set) = crate::auth::import::read_json(path)?;
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        set.access_token = text("access_token").unwrap_or_default();
        set.refresh_token = text("refresh_token").unwrap_or_default();
        set.expires_at_ms = value
            .get("expiry_date")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        set.email = text("id_token").and_then(|t| crate::auth::tokens::claims(&t).email);
        crate::auth::import::found(path, set)
    }

    /// The file leaves out the Cloud project (and maybe the e-mail): Google tells them.
    async fn complete_import(
        &self,
        http: &reqwest::Client,
        set: TokenSet,
    ) -> Result<TokenSet, AuthError> {
        let now = crate::clock::now_ms();
        let fresh = refresh(http, &self.servers, self.client, &set, now).await?;
        let project = project(http, &self.servers, self.client, &fresh.access_token).await?;
        let mut completed = TokenSet {
            email: set.email.or(fresh.email.clone()),
            ..fresh
        };
        completed.put_extras(&Extras {
            project_id: Some(project),
        });
        Ok(completed)
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
        refresh(http, &self.servers, self.client, set, now_ms).await
    }

    fn api_base(&self, _set: &TokenSet, _account_base: &str) -> String {
        self.servers.code_assist.clone()
    }

    fn adapt(
        &self,
        wire: WireFormat,
        body: Bytes,
        model: &str,
        minted: &Minted,
    ) -> Result<Adapted, String> {
        if wire != WireFormat::GeminiCloudcode {
            return Ok(Adapted {
                body,
                dropped: Vec::new(),
            });
        }
        let agent = self.antigravity.then(|| cloudcode::Agent {
            request_id: format!("agent-{}", crate::clock::new_id()),
        });
        let project = project_of(minted);
        let wrapped = cloudcode::wrap_request(&body, model, project.as_deref(), agent)?;
        Ok(Adapted {
            body: Bytes::from(wrapped),
            dropped: Vec::new(),
        })
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        let request = request.bearer_auth(minted.token.expose());
        if self.antigravity {
            request.header(http::header::USER_AGENT, ANTIGRAVITY_USER_AGENT)
        } else {
            request
        }
    }

    async fn quota(
        &self,
        http: &reqwest::Client,
        _saved: &SavedLogin,
        token: &dyn TokenSource,
    ) -> Result<Option<Vec<QuotaWindow>>, String> {
        if !self.antigravity {
            return Ok(None);
        }
        let minted = token.token().await.map_err(|e| e.to_string())?;
        let token = minted.token.expose();
        let project = project_of(&minted);
        quota::fetch(http, &minted.base_url, token, project.as_deref())
            .await
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_asks_for_offline_access_with_pkce() {
        let servers = Servers::gemini_cli(None);
        let pkce = Pkce::new();
        let redirect = "http://127.0.0.1:4242/oauth2callback";
        let url = url::Url::parse(&authorize_url(&servers, &GEMINI_CLI, &pkce, "st", redirect))
            .unwrap_or_else(|e| panic!("{e}"));
        let q = |k: &str| crate::auth::query_param(&url, k);
        assert_eq!(url.host_str(), Some("accounts.google.com"));
        assert_eq!(q("access_type").as_deref(), Some("offline"));
        assert_eq!(q("code_challenge"), Some(pkce.challenge));
        assert_eq!(q("redirect_uri").as_deref(), Some(redirect));
        assert_eq!(servers.token, TOKEN_URL);
        let local = Servers::gemini_cli(Some(&AuthEndpoints {
            login_url: Some("http://127.0.0.1:9/".into()),
            ..AuthEndpoints::default()
        }));
        assert_eq!(local.token, "http://127.0.0.1:9/token");
        assert_eq!(local.code_assist, CODE_ASSIST_URL);
    }

    #[test]
    fn projects_are_read_in_both_shapes() {
        assert_eq!(
            project_in(&json!({"cloudaicompanionProject": "p-1"})).as_deref(),
            Some("p-1")
        );
        assert_eq!(
            project_in(&json!({"cloudaicompanionProject": {"id": "p-2", "name": "x"}})).as_deref(),
            Some("p-2")
        );
        assert_eq!(project_in(&json!({"cloudaicompanionProject": ""})), None);
    }
}
