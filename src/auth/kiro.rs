//! Kiro (AWS): an AWS Builder ID login by device code through AWS SSO OIDC, as Kiro does —
//! register a public client, ask for a device authorization, poll the token endpoint (JSON,
//! camelCase). The registered client's id and secret stay with the token set: refreshing
//! needs them.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::AuthError;
use super::device::{self, DeviceCode};
use super::tokens::TokenSet;
use crate::config::AuthEndpoints;

const OIDC_URL: &str = "https://oidc.us-east-1.amazonaws.com";
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
    let client: Client = super::json_answer(register).await?;
    let authorize = http
        .post(format!("{}/device_authorization", servers.oidc))
        .json(&json!({
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "startUrl": servers.start_url,
        }));
    let code = super::json_answer(authorize).await?;
    Ok((client, code))
}

fn with_client(mut set: TokenSet, client: &Client, oidc: &str) -> TokenSet {
    set.client_id = Some(client.client_id.clone());
    set.client_secret = Some(client.client_secret.clone());
    set.token_url = Some(format!("{oidc}/token"));
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
    let (Some(id), Some(secret)) = (&set.client_id, &set.client_secret) else {
        return Err(AuthError::Revoked(
            "the saved Kiro login has no client".into(),
        ));
    };
    // An Identity Center login renews at its region's endpoint.
    let url = set
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/token", servers.oidc));
    let request = http.post(url).json(&json!({
        "clientId": id,
        "clientSecret": secret,
        "refreshToken": set.refresh_token,
        "grantType": "refresh_token",
    }));
    super::tokens::token_request(request, Some(set), "AWS", now_ms).await
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
        assert_eq!(
            set.token_url.as_deref(),
            Some("https://oidc.eu-west-1.amazonaws.com/token")
        );
        assert_eq!(set.client_secret.as_deref(), Some("s"));
        let code: DeviceCode = serde_json::from_value(json!({"deviceCode": "d", "userCode": "ABCD-EFGH",
            "verificationUri": "https://view.awsapps.com/start/#/device", "verificationUriComplete": "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH",
            "expiresIn": 600, "interval": 1}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(code.user_code, "ABCD-EFGH");
    }
}
