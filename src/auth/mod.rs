//! The generic machinery of subscription logins: the device authorization grant, PKCE, the
//! loopback listener, imports, and keeping upstream tokens fresh for any provider (ahead of expiry, and once more
//! after a 401) with one refresh per account at a time.

pub mod device;
pub mod import;
mod keeper;
mod logins;
pub mod loopback;
pub mod pkce;
mod provider;
pub mod tokens;

pub use keeper::{LoginAccount, RefreshTurns, TokenKeeper};
pub use logins::{Claim, LoginStart, LoginStatus, LoginStep, Logins, Pending};
pub use provider::{
    Adapted, Approval, CodeGrant, DeviceLogin, Found, ImportError, ImportSource, LoginCtor,
    LoginMethod, LoginProvider, Minted, NativeCodec, Redirect, Renewal, StartOptions, TokenSource,
};

/// How the reason of a refused login reads (the account's state says `needs-login`).
pub const NEEDS_LOGIN: &str = "needs login";

/// How long an account whose login was refused stays out of rotation (a new login clears it).
pub const NEEDS_LOGIN_COOLDOWN: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the login server could not be reached: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the login was denied")]
    Denied,
    #[error("the login code expired before it was approved; start again")]
    Expired,
    #[error("the saved login was refused ({0}); log in again")]
    Revoked(String),
    #[error("{0}")]
    NoSubscription(String),
    #[error("the provider answered {status}: {message}")]
    Provider { status: u16, message: String },
    #[error("the provider's answer was not understood: {0}")]
    Malformed(String),
    /// The login cannot start as asked (an organisation's address that is not one).
    #[error("{0}")]
    Invalid(String),
}

impl AuthError {
    /// For a refused login (revoked, or no subscription): the cooldown reason that puts the
    /// account in the needs-login state.
    pub fn needs_login(&self) -> Option<String> {
        matches!(self, Self::Revoked(_) | Self::NoSubscription(_))
            .then(|| format!("{NEEDS_LOGIN}: {self}"))
    }

    /// An error status with the provider's own message (its `error_description`, `message` or
    /// `error` field, or Google's `error.message`), never its whole body.
    pub fn provider(status: u16, body: &[u8]) -> Self {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        let message = ["error_description", "message", "error"]
            .iter()
            .find_map(|k| value.get(k).and_then(|v| v.as_str()))
            .map(str::to_owned)
            .or_else(|| crate::format::error_message(body))
            .unwrap_or_else(|| "no details".into());
        AuthError::Provider { status, message }
    }
}

/// A query parameter of a URL (a redirect's `code` and `state`, an authorize URL's fields).
pub fn query_param(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
}

/// Sends a request to a login or account server and reads its JSON answer; an error status
/// becomes the provider's own message.
pub async fn json_answer<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, AuthError> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = answer_body(response).await?;
    if !(200..300).contains(&status) {
        return Err(AuthError::provider(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| AuthError::Malformed(e.to_string()))
}

/// A login or account server's answer, read up to `net::SMALL_ANSWER`.
pub async fn answer_body(response: reqwest::Response) -> Result<bytes::Bytes, AuthError> {
    crate::net::read_capped(response, crate::net::SMALL_ANSWER)
        .await
        .map_err(|e| match e {
            crate::net::ReadError::Http(e) => AuthError::Http(e),
            too_large => AuthError::Malformed(too_large.to_string()),
        })
}

/// A subscription provider's servers, overriding the built-in ones.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthEndpoints {
    /// The login server (GitHub: `https://github.com`).
    pub login_url: Option<String>,
    /// The account API (GitHub: `https://api.github.com`).
    pub api_url: Option<String>,
    /// The local ports a loopback login listens on, for providers that register fixed ones
    /// (Codex: 1455, then 1457). Only tests and port clashes need this.
    pub callback_ports: Option<Vec<u16>>,
    /// The CLI login file an import reads, instead of the CLI's own (Codex:
    /// `~/.codex/auth.json`).
    pub import_file: Option<std::path::PathBuf>,
}
