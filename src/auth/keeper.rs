//! Upstream tokens minted from an account's saved login, kept in memory and minted again ahead
//! of expiry. One mint per account at a time: concurrent requests wait for the same one
//! instead of stampeding the token endpoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::AuthError;
use super::copilot::{self, CopilotToken, Servers};
use crate::catalog::Account;
use crate::config::AuthEndpoints;
use crate::secrets::SecretString;

/// What a request to the provider carries instead of the saved secret.
pub struct Minted {
    pub token: SecretString,
    pub base_url: String,
}

struct Held {
    token: CopilotToken,
    renew_at_ms: i64,
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

pub struct TokenKeeper {
    copilot: Servers,
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenKeeper {
    pub fn new(auth: &BTreeMap<String, AuthEndpoints>) -> Self {
        Self {
            copilot: Servers::from_config(auth.get("github")),
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn copilot_servers(&self) -> &Servers {
        &self.copilot
    }

    /// Whether requests for this account need a minted token.
    pub fn mints_for(account: &Account) -> bool {
        account.provider == "github"
    }

    /// The token for a request, minted now if there is none, it is due for renewal (ahead of
    /// its expiry, see `CopilotToken::renew_at_ms`), or it is `refused` (the one a provider just answered 401 to; if another request has
    /// already replaced it, the replacement is used).
    pub async fn upstream(
        &self,
        http: &reqwest::Client,
        account: &Account,
        refused: Option<&str>,
        now_ms: i64,
    ) -> Result<Minted, AuthError> {
        let github = account
            .api_key
            .as_ref()
            .ok_or_else(|| AuthError::Revoked("no saved login".into()))?;
        let slot = self.slot(&account.id);
        let mut cached = slot.lock().await;
        if let Some(held) = cached.as_ref()
            && now_ms < held.renew_at_ms
            && refused != Some(held.token.token.expose())
        {
            return Ok(minted(&held.token));
        }
        tracing::debug!(account = %account.name, "minting a Copilot token");
        let fresh = copilot::mint(http, &self.copilot, github.expose()).await?;
        let out = minted(&fresh);
        *cached = Some(Held {
            renew_at_ms: fresh.renew_at_ms(now_ms),
            token: fresh,
        });
        Ok(out)
    }

    /// Drops what was minted for an account (after a new login replaced its secret).
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

fn minted(t: &CopilotToken) -> Minted {
    Minted {
        token: t.token.clone(),
        base_url: t.api_base.clone(),
    }
}
