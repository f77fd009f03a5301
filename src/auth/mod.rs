//! Subscription logins and the tokens they yield: the device authorization grant, each
//! provider's token exchange, and keeping upstream tokens fresh (ahead of expiry, and once more
//! after a 401) with one refresh per account at a time.

pub mod claude;
mod code_login;
pub mod codex;
pub mod copilot;
pub mod device;
pub mod google;
pub mod iflow;
pub mod import;
mod keeper;
pub mod kiro;
mod logins;
pub mod loopback;
pub mod pkce;
pub mod qwen;
pub mod tokens;

pub use code_login::complete_login;
pub use keeper::{Minted, TokenKeeper};
pub use logins::{LoginOptions, LoginStart, LoginStatus, LoginStep, Logins, start_login};

/// How a cooldown's reason starts when the account's login was refused: the account is then
/// in the `needs-login` state until a new login.
pub const NEEDS_LOGIN: &str = "needs login";

/// How long an account whose login was refused stays out of rotation (a new login clears it).
pub const NEEDS_LOGIN_COOLDOWN: std::time::Duration =
    std::time::Duration::from_secs(30 * 24 * 3600);

/// Keeps the refresh-token logins of enabled accounts fresh: those due within `every` (the
/// next round) are renewed now. A refused one puts its account in the needs-login state.
pub async fn upkeep(core: &crate::engine::Core, every: std::time::Duration) {
    let catalog = core.catalog();
    let ahead = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    for account in catalog
        .accounts()
        .iter()
        // A secret that cannot be read now (a keychain waited for) is no refused login.
        .filter(|a| a.enabled && a.credential.usable() && TokenKeeper::refreshes(a))
    {
        let now = crate::store::now_ms();
        match core
            .proxy
            .tokens
            .keep_fresh(&core.proxy.control, account, now, ahead)
            .await
        {
            Ok(()) => {}
            Err(e) if e.needs_login().is_some() => {
                let reason = e.needs_login().unwrap_or_default();
                tracing::info!(account = %account.name, "{reason}");
                core.proxy.routing.cooldowns.record_failure(
                    &account.id,
                    crate::routing::ALL_MODELS,
                    &crate::routing::FailureNote {
                        class: crate::routing::FailureClass::Auth,
                        hint: Some(NEEDS_LOGIN_COOLDOWN),
                        reason: &reason,
                    },
                    &catalog.settings.routing,
                    now,
                );
            }
            Err(e) => tracing::info!(account = %account.name, "cannot renew the login now: {e}"),
        }
    }
}

/// The subscription logins the engine runs: the one place a provider id maps to its login
/// (registry rows without one are listed but not offered yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// GitHub device code; Copilot tokens minted from the GitHub token.
    Copilot,
    /// Device code with PKCE; a refresh-token set.
    Qwen,
    /// Authorization code with PKCE, pasted back; a refresh-token set.
    Claude,
    /// Authorization code with PKCE, redirected to a fixed local port (or pasted); a
    /// refresh-token set naming the ChatGPT account.
    Codex,
    /// Google authorization code with PKCE, redirected to any local port (or pasted); a
    /// refresh-token set naming the Cloud Code project.
    GeminiCli,
    /// The same with Antigravity's client; agent requests on the daily Cloud Code channel.
    Antigravity,
    /// Authorization code redirected to any local port (or pasted); a refresh-token set with
    /// the API key requests are signed with.
    Iflow,
    /// AWS Builder ID device code through AWS SSO OIDC; a refresh-token set with its client.
    Kiro,
}

impl Login {
    pub fn of(provider_id: &str) -> Option<Self> {
        match provider_id {
            "github" => Some(Self::Copilot),
            "qwen" => Some(Self::Qwen),
            "claude" => Some(Self::Claude),
            "codex" => Some(Self::Codex),
            "gemini-cli" => Some(Self::GeminiCli),
            "antigravity" => Some(Self::Antigravity),
            "iflow" => Some(Self::Iflow),
            "kiro" => Some(Self::Kiro),
            _ => None,
        }
    }

    /// For refresh-token logins: how long before expiry their tokens are renewed.
    /// Google logins: their OAuth client and servers.
    pub fn google(
        self,
        tokens: &TokenKeeper,
    ) -> Option<(&'static google::Client, &google::Servers)> {
        match self {
            Self::GeminiCli => Some((&google::GEMINI_CLI, tokens.gemini_cli_servers())),
            Self::Antigravity => Some((&google::ANTIGRAVITY, tokens.antigravity_servers())),
            _ => None,
        }
    }

    pub fn refresh_lead_ms(self) -> Option<i64> {
        match self {
            Self::Copilot => None,
            Self::Qwen => Some(qwen::REFRESH_LEAD_MS),
            Self::Claude => Some(claude::REFRESH_LEAD_MS),
            Self::Codex => Some(codex::REFRESH_LEAD_MS),
            Self::GeminiCli | Self::Antigravity => Some(google::REFRESH_LEAD_MS),
            Self::Iflow => Some(iflow::REFRESH_LEAD_MS),
            Self::Kiro => Some(kiro::REFRESH_LEAD_MS),
        }
    }
}

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
    let body = response.bytes().await?;
    if !(200..300).contains(&status) {
        return Err(AuthError::provider(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| AuthError::Malformed(e.to_string()))
}
