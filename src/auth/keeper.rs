//! Upstream tokens for subscription accounts, kept fresh for any provider: minted from the
//! saved grant (Copilot, in memory only) or renewed with the saved refresh token (and saved
//! again), as the provider's login says. Renewal happens ahead of expiry, and once more when a
//! provider refuses a token; one renewal per account at a time, so concurrent requests wait
//! for the same one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::tokens::{SavedLogin, TokenSet};
use super::{AuthEndpoints, AuthError, LoginProvider, Minted, Renewal};
use crate::secrets::Secrets;

/// An account as the keeper sees it (the catalog's accounts are ones).
pub trait LoginAccount: Send + Sync {
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    /// The provider's registry id.
    fn provider(&self) -> &str;
    /// The saved login (a token set, or the grant tokens are minted from), when it can be read.
    fn saved_login(&self) -> Option<&SavedLogin>;
    /// The account's own API address (for providers whose host is the account's).
    fn base_url(&self) -> &str;
}

type Slot = Arc<tokio::sync::Mutex<Option<Minted>>>;

/// Hosts sharing one store take turns refreshing a login: a provider that rotates refresh
/// tokens refuses the second host to spend the same one, and the login would be lost.
#[async_trait::async_trait]
pub trait RefreshTurns: Send + Sync {
    /// Takes the turn to refresh `account_id` for `for_ms`; false while another host has it.
    async fn take(&self, account_id: &str, for_ms: i64) -> bool;
    /// Gives the turn back.
    async fn give_back(&self, account_id: &str);
}

/// How long a host may take to refresh before another may try.
const TURN_MS: i64 = 60_000;
/// How far hosts' clocks may differ.
const CLOCK_SKEW_MS: i64 = 300_000;
/// How often a host waiting for another's refresh looks for its result.
const TURN_POLL: std::time::Duration = std::time::Duration::from_millis(100);

pub struct TokenKeeper {
    /// Each subscription provider's login, by provider id.
    logins: HashMap<&'static str, Arc<dyn LoginProvider>>,
    /// The `[auth.*]` sections, for what is read only now and then (import files).
    endpoints: BTreeMap<String, AuthEndpoints>,
    /// Where refreshed token sets are saved (the account's secret).
    secrets: Option<Secrets>,
    /// On a shared store: whose turn it is to refresh each login.
    turns: Option<Arc<dyn RefreshTurns>>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenKeeper {
    pub fn new(
        logins: HashMap<&'static str, Arc<dyn LoginProvider>>,
        auth: &BTreeMap<String, AuthEndpoints>,
        secrets: Option<Secrets>,
    ) -> Self {
        Self {
            logins,
            endpoints: auth.clone(),
            secrets,
            turns: None,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Refreshes take turns with other hosts (a shared store).
    #[must_use]
    pub fn with_turns(mut self, turns: Arc<dyn RefreshTurns>) -> Self {
        self.turns = Some(turns);
        self
    }

    /// The login of a provider (by registry id), if it has one.
    pub fn login(&self, provider_id: &str) -> Option<&Arc<dyn LoginProvider>> {
        self.logins.get(provider_id)
    }

    /// The `[auth.<provider>]` section, if the config has one.
    pub fn endpoints(&self, provider: &str) -> Option<&AuthEndpoints> {
        self.endpoints.get(provider)
    }

    /// Whether requests for this account need a token derived from its saved login.
    pub fn mints_for(&self, account: &dyn LoginAccount) -> bool {
        self.logins.contains_key(account.provider())
    }

    /// The token for a request: the held one while it is fresh, else a renewed one. `refused`
    /// is the token a provider just answered 401 to (if another request has already replaced
    /// it, the replacement is used).
    pub async fn upstream(
        &self,
        http: &reqwest::Client,
        account: &dyn LoginAccount,
        refused: Option<&str>,
        now_ms: i64,
    ) -> Result<Minted, AuthError> {
        self.renewed(http, account, refused, now_ms, 0).await
    }

    /// The subscription plan the account's saved login names, if any.
    pub fn plan(&self, account: &dyn LoginAccount) -> Option<String> {
        if !self.refreshes(account) {
            return None;
        }
        account.saved_login()?.tokens()?.plan.clone()
    }

    /// Whether the account's login is a refresh-token one (kept fresh in the background, so an
    /// idle account's refresh token does not lapse).
    pub fn refreshes(&self, account: &dyn LoginAccount) -> bool {
        self.logins
            .get(account.provider())
            .is_some_and(|l| matches!(l.renewal(), Renewal::Refresh { .. }))
    }

    /// Background upkeep: renews a refresh-token login that falls due within `ahead_ms`.
    pub async fn keep_fresh(
        &self,
        http: &reqwest::Client,
        account: &dyn LoginAccount,
        now_ms: i64,
        ahead_ms: i64,
    ) -> Result<(), AuthError> {
        if !self.refreshes(account) {
            return Ok(());
        }
        self.renewed(http, account, None, now_ms, ahead_ms)
            .await
            .map(|_| ())
    }

    async fn renewed(
        &self,
        http: &reqwest::Client,
        account: &dyn LoginAccount,
        refused: Option<&str>,
        now_ms: i64,
        ahead_ms: i64,
    ) -> Result<Minted, AuthError> {
        let saved = account
            .saved_login()
            .ok_or_else(|| AuthError::Revoked("no saved login".into()))?;
        let Some(login) = self.logins.get(account.provider()) else {
            return Err(AuthError::Revoked("this provider has no login".into()));
        };
        let slot = self.slot(account.id());
        let mut held = slot.lock().await;
        let renewal = login.renewal();
        if renewal != Renewal::Mint {
            // The catalog's copy of the saved set lags behind refreshes until the next reload;
            // it replaces the held one only if it was obtained later (a new login).
            let stored = saved
                .tokens()
                .cloned()
                .ok_or_else(|| AuthError::Revoked("the saved login is unreadable".into()))?;
            let newer = held
                .as_ref()
                .and_then(|h| h.set.as_ref())
                .is_none_or(|set| stored.obtained_at_ms > set.obtained_at_ms);
            if newer {
                let renew_at = match renewal {
                    Renewal::Refresh { lead_ms } => stored.renew_at_ms(now_ms, lead_ms),
                    _ => i64::MAX,
                };
                *held = Some(login.minted(stored, account.base_url(), renew_at));
            }
        }
        if let Some(h) = held.as_ref()
            && now_ms + ahead_ms < h.renew_at_ms
            && refused != Some(h.token.expose())
        {
            return Ok(h.clone());
        }
        let renewed = match (renewal, held.as_ref().and_then(|h| h.set.as_deref())) {
            (Renewal::Refresh { lead_ms }, Some(set)) => {
                tracing::debug!(account = %account.name(), "refreshing a login's token");
                let fresh = match &self.turns {
                    None => {
                        let fresh = login.refresh(http, set, now_ms).await?;
                        self.save(account.id(), &fresh).await;
                        fresh
                    }
                    Some(turns) => {
                        self.refresh_in_turn(
                            turns.as_ref(),
                            login.as_ref(),
                            http,
                            account,
                            set,
                            now_ms,
                        )
                        .await?
                    }
                };
                let renew_at = fresh.renew_at_ms(now_ms, lead_ms);
                login.minted(fresh, account.base_url(), renew_at)
            }
            (Renewal::Mint, _) => {
                tracing::debug!(account = %account.name(), "minting a request token");
                let grant = saved
                    .grant()
                    .ok_or_else(|| AuthError::Revoked("the saved login is unreadable".into()))?;
                login.mint(http, grant, now_ms).await?
            }
            _ => {
                return Err(AuthError::Revoked(
                    "the provider refused the saved login".into(),
                ));
            }
        };
        *held = Some(renewed.clone());
        Ok(renewed)
    }

    /// Refreshes when it is this host's turn; a set another host saved meanwhile (newer than
    /// `set`) is taken instead.
    async fn refresh_in_turn(
        &self,
        turns: &dyn RefreshTurns,
        login: &dyn LoginProvider,
        http: &reqwest::Client,
        account: &dyn LoginAccount,
        set: &TokenSet,
        now_ms: i64,
    ) -> Result<TokenSet, AuthError> {
        let id = account.id();
        let waited_out = std::time::Instant::now()
            + std::time::Duration::from_millis(u64::try_from(TURN_MS).unwrap_or(0));
        loop {
            if let Some(newer) = self.saved_after(id, set).await {
                return Ok(newer);
            }
            if turns.take(id, TURN_MS).await {
                // Another host may have saved its refresh between the look and the take.
                let result = match self.saved_after(id, set).await {
                    Some(newer) => Ok(newer),
                    None => match login.refresh(http, set, now_ms).await {
                        Ok(fresh) => {
                            self.save(id, &fresh).await;
                            Ok(fresh)
                        }
                        Err(e) => Err(e),
                    },
                };
                turns.give_back(id).await;
                return result;
            }
            if std::time::Instant::now() > waited_out {
                return Err(AuthError::Provider {
                    status: 503,
                    message: "another router host is refreshing this login and has not finished"
                        .into(),
                });
            }
            tokio::time::sleep(TURN_POLL).await;
        }
    }

    /// The account's saved token set, if another host saved one since `set` (a different
    /// token; hosts' clocks may differ by minutes, so the time only rules out old sets).
    async fn saved_after(&self, account_id: &str, set: &TokenSet) -> Option<TokenSet> {
        let secrets = self.secrets.as_ref()?;
        let reference = crate::secrets::account_secret_ref(account_id);
        let saved = SavedLogin::parse(secrets.get(&reference).await.ok()??);
        saved
            .tokens()
            .filter(|s| {
                s.access_token != set.access_token
                    && s.obtained_at_ms > set.obtained_at_ms - CLOCK_SKEW_MS
            })
            .cloned()
    }

    /// Saves a refreshed token set as the account's secret; a failure is logged (the set in
    /// memory keeps working until a restart).
    async fn save(&self, account_id: &str, set: &TokenSet) {
        let (Some(secrets), Ok(secret)) = (&self.secrets, set.to_secret()) else {
            return;
        };
        let reference = crate::secrets::account_secret_ref(account_id);
        if let Err(e) = secrets.set(&reference, secret).await {
            tracing::warn!(account = %account_id, "cannot save the refreshed login: {e}");
        }
    }

    /// Every token held now (minted Copilot tokens, renewed access tokens and the sets they
    /// came from), so that records can blank them; a slot busy renewing is skipped.
    pub fn held_secrets(&self) -> Vec<String> {
        let slots: Vec<Slot> = self.lock().values().cloned().collect();
        Self::secrets_in(slots)
    }

    /// The tokens held for one account (see `held_secrets`).
    pub fn held_secrets_of(&self, account_id: &str) -> Vec<String> {
        let slot = self.lock().get(account_id).cloned();
        Self::secrets_in(slot)
    }

    fn secrets_in(slots: impl IntoIterator<Item = Slot>) -> Vec<String> {
        let mut out = Vec::new();
        for slot in slots {
            let Ok(held) = slot.try_lock() else { continue };
            if let Some(h) = held.as_ref() {
                out.push(h.token.expose().to_owned());
                out.extend(h.set.iter().flat_map(|set| set.secrets()));
            }
        }
        out
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
