//! Kiro (AWS): an AWS Builder ID (or IAM Identity Center) login by device code through AWS
//! SSO OIDC, as Kiro does — register a public client, ask for a device authorization, poll the
//! token endpoint (JSON, camelCase); the registered client's id and secret stay with the token
//! set, refreshing needs them. Or a social login (Google, GitHub) through Kiro's own auth
//! service (`social`). Either can be imported from the Kiro IDE's login file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use serde::{Deserialize, Serialize};
use serde_json::json;

mod quota;
mod social;

use std::path::Path;

use bytes::Bytes;

use crate::auth::AuthEndpoints;
use crate::auth::device::{self, DeviceCode};
use crate::auth::pkce::Pkce;
use crate::auth::tokens::SavedLogin;
use crate::auth::tokens::TokenSet;
use crate::auth::{
    Adapted, Approval, AuthError, CodeGrant, DeviceLogin, Found, ImportError, ImportSource,
    LoginMethod, LoginProvider, Minted, Redirect, Renewal, StartOptions, TokenSource,
};
use crate::format::WireFormat;
use crate::quota::QuotaWindow;
use crate::secrets::SecretString;

const OIDC_URL: &str = "https://oidc.us-east-1.amazonaws.com";
/// Kiro's own auth service, for social logins.
const SOCIAL_URL: &str = "https://prod.us-east-1.auth.desktop.kiro.dev";
const API_URL: &str = "https://codewhisperer.us-east-1.amazonaws.com";
/// AWS Builder ID's start URL.
const START_URL: &str = "https://view.awsapps.com/start";
const SCOPES: [&str; 3] = [
    "codewhisperer:completions",
    "codewhisperer:analysis",
    "codewhisperer:conversations",
];
/// How Kiro's requests introduce themselves.
pub const USER_AGENT: &str = "aws-sdk-js/1.0.0 KiroIDE";
/// Kiro's access tokens live an hour; they are refreshed this long before.
pub const REFRESH_LEAD_MS: i64 = 5 * 60_000;

#[derive(Debug, Clone)]
pub struct Servers {
    pub oidc: String,
    pub api: String,
    /// Builder ID's start URL, or an IAM Identity Center organization's.
    pub start_url: String,
    /// Whether `oidc` came from the config (a test or gateway), not from a region.
    configured: bool,
    /// Kiro's auth service (social logins).
    pub social: String,
    pub callback_ports: Vec<u16>,
}

impl Servers {
    pub fn from_config(config: Option<&AuthEndpoints>) -> Self {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        let login = config.and_then(|c| c.login_url.as_deref());
        Self {
            oidc: trim(login.unwrap_or(OIDC_URL)),
            api: trim(config.and_then(|c| c.api_url.as_deref()).unwrap_or(API_URL)),
            start_url: START_URL.to_owned(),
            configured: login.is_some(),
            social: trim(login.unwrap_or(SOCIAL_URL)),
            callback_ports: config
                .and_then(|c| c.callback_ports.clone())
                .unwrap_or_default(),
        }
    }

    /// The servers for an IAM Identity Center organization: its start URL, and the OIDC
    /// endpoint of its region. Without either, AWS Builder ID.
    pub fn identity_center(
        &self,
        start_url: Option<&str>,
        region: Option<&str>,
    ) -> Result<Self, String> {
        let Some(start_url) = start_url else {
            return match region {
                None => Ok(self.clone()),
                Some(_) => Err("a region goes with an IAM Identity Center start URL".into()),
            };
        };
        let parsed =
            url::Url::parse(start_url).map_err(|_| format!("'{start_url}' is not a start URL"))?;
        if parsed.scheme() != "https" {
            return Err("the start URL must be an https address".into());
        }
        let region = region.unwrap_or("us-east-1");
        let valid = region.split('-').count() >= 3
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(format!("'{region}' is not an AWS region (like eu-west-1)"));
        }
        Ok(Self {
            oidc: if self.configured {
                self.oidc.clone()
            } else {
                format!("https://oidc.{region}.amazonaws.com")
            },
            api: self.api.clone(),
            start_url: start_url.to_owned(),
            configured: self.configured,
            social: self.social.clone(),
            callback_ports: self.callback_ports.clone(),
        })
    }
}

/// A client registered with AWS SSO OIDC for this login.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub client_id: String,
    pub client_secret: String,
}

/// Registers a public client and asks for a device code.
pub async fn start(
    http: &reqwest::Client,
    servers: &Servers,
) -> Result<(Client, DeviceCode), AuthError> {
    let register = http
        .post(format!("{}/client/register", servers.oidc))
        .json(&json!({
            "clientName": "NineRouter",
            "clientType": "public",
            "scopes": SCOPES,
            "grantTypes": [device::GRANT, "refresh_token"],
        }));
    let client: Client = crate::auth::json_answer(register).await?;
    let authorize = http
        .post(format!("{}/device_authorization", servers.oidc))
        .json(&json!({
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "startUrl": servers.start_url,
        }));
    let code = crate::auth::json_answer(authorize).await?;
    Ok((client, code))
}

/// What a Kiro login keeps besides its tokens.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Extras {
    /// The AWS SSO OIDC client registered for this login (AWS logins); refreshing needs it.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Where the login renews (an Identity Center login's region).
    pub token_url: Option<String>,
    /// The CodeWhisperer profile a social login's requests name.
    pub profile_arn: Option<String>,
}

fn with_client(mut set: TokenSet, client: &Client, oidc: &str) -> TokenSet {
    set.put_extras(&Extras {
        client_id: Some(client.client_id.clone()),
        client_secret: Some(client.client_secret.clone()),
        token_url: Some(format!("{oidc}/token")),
        profile_arn: None,
    });
    set
}

/// Waits for the user's approval; the token set keeps the client for refreshes.
pub async fn finish(
    http: &reqwest::Client,
    servers: &Servers,
    client: &Client,
    code: &DeviceCode,
    floor: Duration,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let url = format!("{}/token", servers.oidc);
    let body = json!({
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "deviceCode": code.device_code,
        "grantType": device::GRANT,
    });
    let answer = device::poll_with(code, floor, || http.post(&url).json(&body)).await?;
    let set = TokenSet::from_answer(&answer, None, now_ms)?;
    Ok(with_client(set, client, &servers.oidc))
}

pub async fn refresh(
    http: &reqwest::Client,
    servers: &Servers,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let extras: Extras = set.extras();
    let (Some(id), Some(secret)) = (&extras.client_id, &extras.client_secret) else {
        return Err(AuthError::Revoked(
            "the saved Kiro login has no client".into(),
        ));
    };
    // An Identity Center login renews at its region's endpoint.
    let url = extras
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/token", servers.oidc));
    let request = http.post(url).json(&json!({
        "clientId": id,
        "clientSecret": secret,
        "refreshToken": set.refresh_token,
        "grantType": "refresh_token",
    }));
    crate::auth::tokens::token_request(request, Some(set), "AWS", now_ms).await
}

/// Kiro's AWS login (Builder ID or an organisation's IAM Identity Center), CodeWhisperer's
/// request headers and its usage limits.
pub struct Kiro {
    servers: Servers,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    Arc::new(Kiro {
        servers: Servers::from_config(config),
    })
}

struct Waiting {
    servers: Servers,
    client: Client,
    code: DeviceCode,
}

#[async_trait]
impl DeviceLogin for Waiting {
    fn code(&self) -> &DeviceCode {
        &self.code
    }

    async fn finish(&self, http: &reqwest::Client) -> Result<(String, SecretString), AuthError> {
        let floor = Duration::from_millis(200);
        let now = crate::clock::now_ms();
        let set = finish(http, &self.servers, &self.client, &self.code, floor, now).await?;
        Ok((String::new(), set.to_secret()?))
    }
}

#[async_trait]
impl LoginProvider for Kiro {
    fn methods(&self) -> &'static [LoginMethod] {
        &[
            LoginMethod {
                id: "builder-id",
                label: "AWS Builder ID",
            },
            LoginMethod {
                id: "google",
                label: "Google",
            },
            LoginMethod {
                id: "github",
                label: "GitHub",
            },
        ]
    }

    fn approval(&self, method: Option<&str>) -> Approval {
        match social::idp(method) {
            // Google refuses embedded windows; the system browser takes both.
            Some(_) => Approval::AuthorizationCode {
                redirect: Redirect::Loopback {
                    host: "localhost",
                    ports: self.servers.callback_ports.clone(),
                    path: social::CALLBACK_PATH,
                },
                webview: false,
            },
            None => Approval::DeviceCode,
        }
    }

    fn authorize_url(
        &self,
        pkce: &Pkce,
        state: &str,
        redirect_uri: &str,
        method: Option<&str>,
    ) -> String {
        let idp = social::idp(method).unwrap_or("Google");
        social::authorize_url(&self.servers.social, idp, pkce, state, redirect_uri)
    }

    async fn exchange(
        &self,
        http: &reqwest::Client,
        grant: &CodeGrant<'_>,
    ) -> Result<TokenSet, AuthError> {
        social::exchange(http, &self.servers.social, grant).await
    }

    fn import_source(&self) -> Option<ImportSource> {
        Some(ImportSource {
            app: "Kiro",
            file: ".aws/sso/cache/kiro-auth-token.json",
        })
    }

    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        social::read_ide_file(path)
    }

    fn takes_start_url(&self) -> bool {
        true
    }

    async fn device_login(
        &self,
        http: &reqwest::Client,
        options: &StartOptions<'_>,
    ) -> Result<Box<dyn DeviceLogin>, AuthError> {
        let servers = self
            .servers
            .identity_center(options.start_url, options.region)
            .map_err(AuthError::Invalid)?;
        let (client, code) = start(http, &servers).await?;
        Ok(Box::new(Waiting {
            servers,
            client,
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
        if set.extras::<Extras>().client_id.is_none() {
            return social::refresh(http, &self.servers.social, set, now_ms).await;
        }
        refresh(http, &self.servers, set, now_ms).await
    }

    /// A social login's requests name its CodeWhisperer profile beside the conversation.
    fn adapt(
        &self,
        _wire: WireFormat,
        body: Bytes,
        _model: &str,
        minted: &Minted,
    ) -> Result<Adapted, String> {
        let Some(arn) = profile_arn(minted) else {
            return Ok(Adapted {
                body,
                dropped: Vec::new(),
            });
        };
        let mut value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        if let Some(object) = value.as_object_mut() {
            object.insert(social::PROFILE_ARN.into(), arn.into());
        }
        Ok(Adapted {
            body: Bytes::from(serde_json::to_vec(&value).map_err(|e| e.to_string())?),
            dropped: Vec::new(),
        })
    }

    fn api_base(&self, _set: &TokenSet, _account_base: &str) -> String {
        self.servers.api.clone()
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        request
            .bearer_auth(minted.token.expose())
            .header(http::header::USER_AGENT, USER_AGENT)
            .header("x-amz-user-agent", USER_AGENT)
            .header("amz-sdk-invocation-id", crate::clock::new_id())
            .header("amz-sdk-request", "attempt=1; max=1")
    }

    async fn quota(
        &self,
        http: &reqwest::Client,
        _saved: &SavedLogin,
        token: &dyn TokenSource,
    ) -> Result<Option<Vec<QuotaWindow>>, String> {
        let minted = token.token().await.map_err(|e| e.to_string())?;
        quota::fetch(
            http,
            &minted.base_url,
            minted.token.expose(),
            profile_arn(&minted).as_deref(),
        )
        .await
        .map(Some)
    }
}

/// The CodeWhisperer profile a social login's requests name (AWS logins name none).
fn profile_arn(minted: &Minted) -> Option<String> {
    let extras: Extras = minted.set.as_ref()?.extras();
    extras
        .client_id
        .is_none()
        .then_some(extras.profile_arn)
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_center_logins_use_their_start_url_and_region() {
        let builder = Servers::from_config(None);
        let same = builder
            .identity_center(None, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(same.start_url, START_URL);
        let org = builder
            .identity_center(Some("https://acme.awsapps.com/start"), Some("eu-west-1"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(org.oidc, "https://oidc.eu-west-1.amazonaws.com");
        assert_eq!(org.start_url, "https://acme.awsapps.com/start");
        assert!(
            builder
                .identity_center(Some("http://acme/start"), None)
                .is_err()
        );
        assert!(
            builder
                .identity_center(Some("https://acme.awsapps.com/start"), Some("Mars"))
                .is_err()
        );
        assert!(builder.identity_center(None, Some("eu-west-1")).is_err());
    }

    #[test]
    fn aws_token_answers_become_token_sets() {
        let answer = json!({"accessToken": "aoa", "refreshToken": "aor", "expiresIn": 3600, "tokenType": "Bearer"});
        let set = TokenSet::from_answer(&answer, None, 1_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.access_token, "aoa");
        assert_eq!(set.expires_at_ms, 3_601_000);
        let client = Client {
            client_id: "c".into(),
            client_secret: "s".into(),
        };
        let set = with_client(set, &client, "https://oidc.eu-west-1.amazonaws.com");
        let extras: Extras = set.extras();
        assert_eq!(
            extras.token_url.as_deref(),
            Some("https://oidc.eu-west-1.amazonaws.com/token")
        );
        assert_eq!(extras.client_secret.as_deref(), Some("s"));
        assert!(
            set.secrets().contains(&"s".to_owned()),
            "a client secret is a secret"
        );
        let code: DeviceCode = serde_json::from_value(json!({"deviceCode": "d", "userCode": "ABCD-EFGH",
            "verificationUri": "https://view.awsapps.com/start/#/device", "verificationUriComplete": "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH",
            "expiresIn": 600, "interval": 1}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(code.user_code, "ABCD-EFGH");
    }
}
