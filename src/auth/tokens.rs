//! Token sets of logins that refresh: kept as the account's secret and saved again after
//! every refresh.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AuthError;
use crate::secrets::SecretString;

/// What an account with a refresh-token login keeps (as JSON, in the secret store): what
/// every login has, and the provider's own part (`extra`), which only its module reads, typed
/// (`extras`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: String,
    /// Unknown (0) means due now.
    #[serde(default)]
    pub expires_at_ms: i64,
    /// When this set was obtained: of two sets, the later one is current.
    #[serde(default)]
    pub obtained_at_ms: i64,
    /// Who logged in, when the server says (Claude's account e-mail, the e-mail in an ID
    /// token).
    #[serde(default)]
    pub email: Option<String>,
    /// The subscription plan, when the server says (ChatGPT's `plus`, Claude's `max`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The provider's own part of the login (Qwen's API host, ChatGPT's account, Google's
    /// project, iFlow's API key, Kiro's client, Cursor's machine id), under its own names.
    #[serde(default, flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl TokenSet {
    /// From a token endpoint answer; a refresh answer may leave out what did not change (the
    /// provider's part is carried over; its module adds what the answer says of it).
    pub fn from_answer(
        answer: &Value,
        previous: Option<&TokenSet>,
        now_ms: i64,
    ) -> Result<Self, AuthError> {
        // OAuth writes snake_case; AWS SSO OIDC (Kiro) writes the same fields in camelCase.
        let field = |snake: &str, camel: &str| answer.get(snake).or_else(|| answer.get(camel));
        let access_token = field("access_token", "accessToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| AuthError::Malformed("no access_token".into()))?;
        let refresh_token = field("refresh_token", "refreshToken")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| previous.map(|p| p.refresh_token.clone()))
            .ok_or_else(|| AuthError::Malformed("no refresh_token".into()))?;
        let expires_in = field("expires_in", "expiresIn")
            .and_then(Value::as_i64)
            .unwrap_or(3600);
        let id_token_email = answer
            .get("id_token")
            .and_then(Value::as_str)
            .and_then(|t| claims(t).email);
        Ok(Self {
            access_token,
            refresh_token,
            expires_at_ms: crate::clock::ms_after(now_ms, expires_in),
            obtained_at_ms: now_ms,
            email: answer
                .pointer("/account/email_address")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(id_token_email)
                .or_else(|| previous.and_then(|p| p.email.clone())),
            plan: previous.and_then(|p| p.plan.clone()),
            extra: previous.map(|p| p.extra.clone()).unwrap_or_default(),
        })
    }

    /// The provider's part of the set, as its module types it (its defaults where absent).
    pub fn extras<T: serde::de::DeserializeOwned + Default>(&self) -> T {
        serde_json::from_value(Value::Object(self.extra.clone())).unwrap_or_default()
    }

    /// Writes the provider's part (fields left `None` keep what is there).
    pub fn put_extras<T: Serialize>(&mut self, extras: &T) {
        if let Ok(Value::Object(fields)) = serde_json::to_value(extras) {
            for (name, value) in fields.into_iter().filter(|(_, v)| !v.is_null()) {
                self.extra.insert(name, value);
            }
        }
    }

    /// Every secret in the set: its tokens, and the provider's fields whose names say they
    /// are secret (an API key, a client secret).
    pub fn secrets(&self) -> Vec<String> {
        let mut out = vec![self.access_token.clone(), self.refresh_token.clone()];
        out.extend(self.extra.iter().filter_map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let secret = ["token", "key", "secret"].iter().any(|s| name.contains(s));
            value.as_str().filter(|_| secret).map(str::to_owned)
        }));
        out.retain(|s| !s.is_empty());
        out
    }

    /// The set as an account's saved secret.
    pub fn to_secret(&self) -> Result<SecretString, AuthError> {
        serde_json::to_string(self)
            .map(SecretString::new)
            .map_err(|e| AuthError::Malformed(e.to_string()))
    }

    /// A saved secret read back as a set.
    pub fn from_secret(secret: &SecretString) -> Result<Self, AuthError> {
        serde_json::from_str(secret.expose()).map_err(|e| AuthError::Malformed(e.to_string()))
    }

    /// When to refresh: `lead_ms` before expiry, or halfway for tokens that live shorter.
    pub fn renew_at_ms(&self, now_ms: i64, lead_ms: i64) -> i64 {
        renew_at(self.expires_at_ms, now_ms, lead_ms)
    }
}

/// What a login account keeps, typed: the token set of a login that refreshes, or the grant
/// request tokens are minted from (Copilot's GitHub token). Its `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub enum SavedLogin {
    Tokens(Box<TokenSet>),
    Grant(SecretString),
}

impl SavedLogin {
    /// A saved secret as it was stored: a token set's JSON, or a grant's bare token.
    pub fn parse(secret: SecretString) -> Self {
        match TokenSet::from_secret(&secret) {
            Ok(set) => Self::Tokens(Box::new(set)),
            Err(_) => Self::Grant(secret),
        }
    }

    pub fn tokens(&self) -> Option<&TokenSet> {
        match self {
            Self::Tokens(set) => Some(set),
            Self::Grant(_) => None,
        }
    }

    pub fn grant(&self) -> Option<&SecretString> {
        match self {
            Self::Grant(grant) => Some(grant),
            Self::Tokens(_) => None,
        }
    }

    /// Every secret inside, for blanking wherever it might appear: the tokens, keys and
    /// client secrets of a set (its provider extras whose names say they are secret too).
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Grant(grant) => vec![grant.expose().to_owned()],
            Self::Tokens(set) => set.secrets(),
        }
    }
}

impl std::fmt::Debug for SavedLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tokens(_) => f.write_str("SavedLogin::Tokens(***)"),
            Self::Grant(_) => f.write_str("SavedLogin::Grant(***)"),
        }
    }
}

/// When a token that expires at `expires_at_ms` is renewed: `lead_ms` before, or halfway
/// through its life for tokens that live shorter than twice that (so a short-lived token is
/// still shared by many requests).
pub fn renew_at(expires_at_ms: i64, now_ms: i64, lead_ms: i64) -> i64 {
    let life = expires_at_ms.saturating_sub(now_ms).max(0);
    expires_at_ms.saturating_sub(lead_ms.min(life / 2))
}

/// Sends a token-endpoint request (a code exchange when there is no `previous` set, a refresh
/// otherwise) and reads the new set. A refused refresh (`invalid_grant`, `invalid_token`,
/// `expired_token`, `invalid_client`, or 401) means the login was revoked; `who` names the
/// provider in that message.
pub async fn token_request(
    request: reqwest::RequestBuilder,
    previous: Option<&TokenSet>,
    who: &str,
    now_ms: i64,
) -> Result<TokenSet, AuthError> {
    token_answer(request, previous, who, now_ms)
        .await
        .map(|(set, _)| set)
}

/// `token_request`, with the answer too, for a module that reads its own fields from it.
pub async fn token_answer(
    request: reqwest::RequestBuilder,
    previous: Option<&TokenSet>,
    who: &str,
    now_ms: i64,
) -> Result<(TokenSet, Value), AuthError> {
    let response = request.header("accept", "application/json").send().await?;
    let status = response.status().as_u16();
    let body = crate::auth::answer_body(response).await?;
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        // An expired refresh token, or a refused client (Kiro's per-login client expires),
        // cannot renew either.
        let refused = matches!(
            answer.get("error").and_then(Value::as_str),
            Some("invalid_grant" | "invalid_token" | "expired_token" | "invalid_client")
        ) || status == 401;
        return Err(if refused && previous.is_some() {
            AuthError::Revoked(format!("{who} refused the saved refresh token"))
        } else {
            AuthError::provider(status, &body)
        });
    }
    let set = TokenSet::from_answer(&answer, previous, now_ms)?;
    Ok((set, answer))
}

/// What an OpenAI ID token says about the login: e-mail, ChatGPT account id and plan. The
/// token comes straight from the token endpoint over TLS, so its claims are read, not verified.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub email: Option<String>,
    pub account_id: Option<String>,
    pub plan: Option<String>,
}

pub fn claims(id_token: &str) -> Claims {
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or_default();
    let auth = &payload["https://api.openai.com/auth"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Claims {
        email: text(&payload["email"]),
        account_id: text(&auth["chatgpt_account_id"]),
        plan: text(&auth["chatgpt_plan_type"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_login_is_typed_and_never_printed() {
        let json = r#"{"accessToken":"at-1","refreshToken":"rt-1","expiresAtMs":5,"machineId":"m","sessionKey":"sk-9"}"#;
        let saved = SavedLogin::parse(SecretString::new(json.to_owned()));
        let set = saved.tokens().expect("a token set");
        assert_eq!(set.refresh_token, "rt-1");
        assert_eq!(
            set.extra.get("machineId").and_then(Value::as_str),
            Some("m")
        );
        let secrets = saved.secrets();
        assert!(secrets.contains(&"sk-9".to_owned()) && !secrets.contains(&"m".to_owned()));
        let grant = SavedLogin::parse(SecretString::new("gho_abc".to_owned()));
        assert_eq!(grant.grant().map(SecretString::expose), Some("gho_abc"));
        for shown in [format!("{saved:?}"), format!("{grant:?}")] {
            assert!(
                !shown.contains("at-1") && !shown.contains("gho_abc"),
                "{shown}"
            );
        }
    }

    #[test]
    fn hostile_lifetimes_saturate_instead_of_wrapping() {
        for expires_in in [i64::MAX, i64::MIN, -1] {
            let answer = serde_json::json!({"access_token": "a", "refresh_token": "r",
                "expires_in": expires_in});
            let set = TokenSet::from_answer(&answer, None, 1_000).unwrap();
            let renew = set.renew_at_ms(1_000, 300_000);
            assert!(renew <= set.expires_at_ms, "{expires_in}: {renew}");
        }
        assert_eq!(renew_at(i64::MIN, i64::MAX, i64::MAX), i64::MIN);
    }
}
