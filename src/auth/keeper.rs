//! Upstream tokens for subscription accounts, kept fresh: Copilot tokens minted from the saved
//! GitHub login (in memory only), Qwen access tokens refreshed with the saved refresh token
//! (and saved again). Renewal happens ahead of expiry, and once more when a provider refuses a
//! token; one renewal per account at a time, so concurrent requests wait for the same one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::AuthError;
use super::claude;
use super::copilot::{self, CopilotToken};
use super::qwen;
use super::tokens::TokenSet;
use crate::catalog::Account;
use crate::config::AuthEndpoints;
use crate::secrets::{SecretString, Secrets};

/// What a request to the provider carries instead of the saved secret.
pub struct Minted {
    pub token: SecretString,
    /// The API host the token is for, when the provider says (Copilot, Qwen).
    pub base_url: Option<String>,
}

enum Held {
    Copilot {
        token: CopilotToken,
        renew_at_ms: i64,
    },
    /// A token set renewed with its refresh token (Qwen, Claude).
    Refresh { set: TokenSet, renew_at_ms: i64 },
}

impl Held {
    fn access(&self) -> &str {
        match self {
            Held::Copilot { token, .. } => token.token.expose(),
            Held::Refresh { set, .. } => &set.access_token,
        }
    }

    fn renew_at_ms(&self) -> i64 {
        match self {
            Held::Copilot { renew_at_ms, .. } | Held::Refresh { renew_at_ms, .. } => *renew_at_ms,
        }
    }

    fn minted(&self, default_base: &str, claude_api: &str, provider: &str) -> Minted {
        match self {
            Held::Copilot { token, .. } => Minted {
                token: token.token.clone(),
                base_url: Some(token.api_base.clone()),
            },
            Held::Refresh { set, .. } => Minted {
                token: SecretString::new(set.access_token.clone()),
                base_url: Some(if provider == "claude" {
                    claude_api.to_owned()
                } else {
                    set.base_url(default_base)
                }),
            },
        }
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

pub struct TokenKeeper {
    copilot: copilot::Servers,
    qwen: qwen::Servers,
    claude: claude::Servers,
    /// Where refreshed token sets are saved (the account's secret).
    secrets: Option<Secrets>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenKeeper {
    pub fn new(auth: &BTreeMap<String, AuthEndpoints>, secrets: Option<Secrets>) -> Self {
        Self {
            copilot: copilot::Servers::from_config(auth.get("github")),
            qwen: qwen::Servers::from_config(auth.get("qwen")),
            claude: claude::Servers::from_config(auth.get("claude")),
            secrets,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn copilot_servers(&self) -> &copilot::Servers {
        &self.copilot
    }

    pub fn qwen_servers(&self) -> &qwen::Servers {
        &self.qwen
    }

    pub fn claude_servers(&self) -> &claude::Servers {
        &self.claude
    }

    /// Whether requests for this account need a token derived from its saved login.
    pub fn mints_for(account: &Account) -> bool {
        matches!(account.provider.as_str(), "github" | "qwen" | "claude")
    }

    /// The token for a request: the held one while it is fresh, else a renewed one. `refused`
    /// is the token a provider just answered 401 to (if another request has already replaced
    /// it, the replacement is used).
    pub async fn upstream(
        &self,
        http: &reqwest::Client,
        account: &Account,
        refused: Option<&str>,
        now_ms: i64,
    ) -> Result<Minted, AuthError> {
        self.renewed(http, account, refused, now_ms, 0).await
    }

    /// Whether the account's login is a refresh-token one (kept fresh in the background, so an
    /// idle account's refresh token does not lapse).
    pub fn refreshes(account: &Account) -> bool {
        matches!(account.provider.as_str(), "qwen" | "claude")
    }

    /// Background upkeep: renews a refresh-token login that falls due within `ahead_ms`.
    pub async fn keep_fresh(
        &self,
        http: &reqwest::Client,
        account: &Account,
        now_ms: i64,
        ahead_ms: i64,
    ) -> Result<(), AuthError> {
        if !Self::refreshes(account) {
            return Ok(());
        }
        self.renewed(http, account, None, now_ms, ahead_ms)
            .await
            .map(|_| ())
    }

    async fn renewed(
        &self,
        http: &reqwest::Client,
        account: &Account,
        refused: Option<&str>,
        now_ms: i64,
        ahead_ms: i64,
    ) -> Result<Minted, AuthError> {
        let saved = account
            .api_key
            .as_ref()
            .ok_or_else(|| AuthError::Revoked("no saved login".into()))?;
        let slot = self.slot(&account.id);
        let mut held = slot.lock().await;
        let lead = match account.provider.as_str() {
            "claude" => Some(claude::REFRESH_LEAD_MS),
            "qwen" => Some(qwen::REFRESH_LEAD_MS),
            _ => None,
        };
        if let Some(lead) = lead {
            // The catalog's copy of the saved set lags behind refreshes until the next reload;
            // it replaces the held one only if it was obtained later (a new login).
            let stored: TokenSet = serde_json::from_str(saved.expose())
                .map_err(|_| AuthError::Revoked("the saved login is unreadable".into()))?;
            let newer = match held.as_ref() {
                Some(Held::Refresh { set, .. }) => stored.obtained_at_ms > set.obtained_at_ms,
                _ => true,
            };
            if newer {
                *held = Some(Held::Refresh {
                    renew_at_ms: stored.renew_at_ms(now_ms, lead),
                    set: stored,
                });
            }
        }
        if let Some(h) = held.as_ref()
            && now_ms + ahead_ms < h.renew_at_ms()
            && refused != Some(h.access())
        {
            return Ok(h.minted(&account.base_url, &self.claude.api, &account.provider));
        }
        let renewed = match (account.provider.as_str(), held.as_ref(), lead) {
            (provider, Some(Held::Refresh { set, .. }), Some(lead)) => {
                tracing::debug!(account = %account.name, "refreshing a login's token");
                let fresh = match provider {
                    "claude" => claude::refresh(http, &self.claude, set, now_ms).await?,
                    _ => qwen::refresh(http, &self.qwen, set, now_ms).await?,
                };
                self.save(&account.id, &fresh).await;
                Held::Refresh {
                    renew_at_ms: fresh.renew_at_ms(now_ms, lead),
                    set: fresh,
                }
            }
            _ => {
                tracing::debug!(account = %account.name, "minting a Copilot token");
                let token = copilot::mint(http, &self.copilot, saved.expose()).await?;
                Held::Copilot {
                    renew_at_ms: token.renew_at_ms(now_ms),
                    token,
                }
            }
        };
        let out = renewed.minted(&account.base_url, &self.claude.api, &account.provider);
        *held = Some(renewed);
        Ok(out)
    }

    /// Saves a refreshed token set as the account's secret; a failure is logged (the set in
    /// memory keeps working until a restart).
    async fn save(&self, account_id: &str, set: &TokenSet) {
        let (Some(secrets), Ok(json)) = (&self.secrets, serde_json::to_string(set)) else {
            return;
        };
        let reference = crate::manage::connection_secret_ref(account_id);
        if let Err(e) = secrets.set(&reference, SecretString::new(json)).await {
            tracing::warn!(account = %account_id, "cannot save the refreshed login: {e}");
        }
    }

    /// Drops what is held for an account (after a new login replaced its secret).
    pub fn forget(&self, account_id: &str) {
        self.lock().remove(account_id);
    }

    fn slot(&self, account_id: &str) -> Slot {
        self.lock()
            .entry(account_id.to_owned())
            .or_default()
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}
