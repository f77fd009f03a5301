//! Kiro's social login (Google or GitHub) through Kiro's own auth service, as the Kiro IDE
//! does: an authorization code with PKCE whose redirect comes back to a local address (or is
//! pasted), traded at `/oauth/token` for a token set that names the CodeWhisperer profile
//! (`profileArn`) requests must carry; renewed at `/refreshToken` with the refresh token alone.

use std::path::Path;

use serde_json::{Value, json};

use crate::auth::import::{jwt_expiry_ms, read_json, unreadable};
use crate::auth::pkce::Pkce;
use crate::auth::tokens::TokenSet;
use crate::auth::{AuthError, CodeGrant, Found, ImportError};

/// Where a set keeps its profile and how it was obtained (`social`, or `IdC` for AWS).
pub const PROFILE_ARN: &str = "profileArn";
pub const AUTH_METHOD: &str = "authMethod";
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// Kiro's identity providers, by the method ids the login offers.
pub fn idp(method: Option<&str>) -> Option<&'static str> {
    match method {
        Some("google") => Some("Google"),
        Some("github") => Some("Github"),
        _ => None,
    }
}

pub fn authorize_url(
    social: &str,
    idp: &str,
    pkce: &Pkce,
    state: &str,
    redirect_uri: &str,
) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("idp", idp)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state)
        .append_pair("prompt", "select_account")
        .finish();
    format!("{social}/login?{query}")
}

/// The set a token answer yields, with the profile it names (or the earlier one).
fn with_profile(
    answer: &Value,
    previous: Option<&TokenSet>,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let mut set = TokenSet::from_answer(answer, previous, now_ms)?;
    if let Some(arn) = answer.get(PROFILE_ARN).and_then(Value::as_str) {
        set.extra
            .insert(PROFILE_ARN.into(), Value::String(arn.to_owned()));
    }
    set.extra
        .insert(AUTH_METHOD.into(), Value::String("social".into()));
    Ok(set)
}

async fn call(request: reqwest::RequestBuilder) -> Result<(u16, Value, bytes::Bytes), AuthError> {
    let response = request.header("accept", "application/json").send().await?;
    let status = response.status().as_u16();
    let body = crate::auth::answer_body(response).await?;
    Ok((
        status,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
        body,
    ))
}

pub async fn exchange(
    http: &reqwest::Client,
    social: &str,
    grant: &CodeGrant<'_>,
) -> Result<TokenSet, AuthError> {
    let request = http.post(format!("{social}/oauth/token")).json(&json!({
        "code": grant.code,
        "code_verifier": grant.verifier,
        "redirect_uri": grant.redirect_uri,
    }));
    let (status, answer, body) = call(request).await?;
    if !(200..300).contains(&status) {
        return Err(AuthError::provider(status, &body));
    }
    with_profile(&answer, None, grant.now_ms)
}

/// Renews a social login. Kiro's service answers a revoked refresh token with a 400 (`Invalid
/// refresh token provided`) and one it does not know with a 401 (`Bad credentials`).
pub async fn refresh(
    http: &reqwest::Client,
    social: &str,
    set: &TokenSet,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    let request = http
        .post(format!("{social}/refreshToken"))
        .json(&json!({ "refreshToken": set.refresh_token }));
    let (status, answer, body) = call(request).await?;
    match status {
        200..=299 => with_profile(&answer, Some(set), now_ms),
        400 | 401 => Err(AuthError::Revoked(
            "Kiro refused the saved refresh token".into(),
        )),
        _ => Err(AuthError::provider(status, &body)),
    }
}

/// The Kiro IDE's own login file (`~/.aws/sso/cache/kiro-auth-token.json`): a social login's
/// set as it is; an AWS (Builder ID or Identity Center) login's client comes from the file its
/// `clientIdHash` names beside it.
pub fn read_ide_file(path: &Path) -> Result<(TokenSet, Found), ImportError> {
    let (value, mut set) = read_json(path)?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    set.access_token = text(&value, "accessToken").unwrap_or_default();
    set.refresh_token = text(&value, "refreshToken").unwrap_or_default();
    set.expires_at_ms = text(&value, "expiresAt")
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
        .or_else(|| jwt_expiry_ms(&set.access_token))
        .unwrap_or(0);
    let method = text(&value, AUTH_METHOD).unwrap_or_else(|| "social".into());
    if let Some(arn) = text(&value, PROFILE_ARN) {
        set.extra.insert(PROFILE_ARN.into(), Value::String(arn));
    }
    set.extra
        .insert(AUTH_METHOD.into(), Value::String(method.clone()));
    if method != "social" {
        let hash = text(&value, "clientIdHash")
            .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric()))
            .ok_or_else(|| unreadable(path, "an AWS login without its client"))?;
        let client_file = path.with_file_name(format!("{hash}.json"));
        let (client, _) = read_json(&client_file)?;
        let (client_id, client_secret) = (text(&client, "clientId"), text(&client, "clientSecret"));
        if client_id.is_none() || client_secret.is_none() {
            return Err(unreadable(&client_file, "no clientId and clientSecret"));
        }
        let region = text(&value, "region").unwrap_or_else(|| "us-east-1".into());
        if !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(unreadable(path, "its region is not an AWS region"));
        }
        set.put_extras(&super::Extras {
            client_id,
            client_secret,
            token_url: Some(format!("https://oidc.{region}.amazonaws.com/token")),
            profile_arn: None,
        });
    }
    if let Some(provider) = text(&value, "provider") {
        set.extra.insert("provider".into(), Value::String(provider));
    }
    crate::auth::import::found(path, set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ides_aws_login_brings_its_client_from_the_file_beside_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("kiro-auth-token.json");
        let token = json!({"accessToken": "aoa-1", "refreshToken": "aor-1",
            "expiresAt": "2026-12-31T00:00:00Z", "authMethod": "IdC", "provider": "BuilderId",
            "clientIdHash": "abc123", "region": "eu-central-1"});
        std::fs::write(&path, token.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(read_ide_file(&path), Err(ImportError::Missing(_))));
        std::fs::write(
            dir.path().join("abc123.json"),
            json!({"clientId": "cid", "clientSecret": "csec"}).to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (set, _) = read_ide_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let extras: super::super::Extras = set.extras();
        assert_eq!(extras.client_secret.as_deref(), Some("csec"));
        assert_eq!(
            extras.token_url.as_deref(),
            Some("https://oidc.eu-central-1.amazonaws.com/token")
        );
        let hostile = json!({"accessToken": "a", "refreshToken": "r", "authMethod": "IdC",
            "clientIdHash": "../../etc/passwd"});
        std::fs::write(&path, hostile.to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            read_ide_file(&path),
            Err(ImportError::Unreadable { .. })
        ));
    }
}
