//! Upstream tokens for subscription accounts, kept fresh: Copilot tokens minted from the saved
//! GitHub login (in memory only), Qwen, Claude and Codex access tokens refreshed with the saved
//! refresh token (and saved again). Renewal happens ahead of expiry, and once more when a provider refuses a
//! token; one renewal per account at a time, so concurrent requests wait for the same one.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::copilot;
use super::tokens::TokenSet;
use super::{AuthError, Login, claude, codex, google, iflow, kiro, qwen};
use crate::catalog::Account;
use crate::config::AuthEndpoints;
use crate::secrets::{SecretString, Secrets};

/// What a request to the provider carries instead of the saved secret.
pub struct Minted {
    pub token: SecretString,
    /// The API host the token is for.
    pub base_url: String,
    /// The provider-side account the token acts for (ChatGPT's account id).
    pub account_id: Option<String>,
    /// The Cloud project requests are made in (Cloud Code).
    pub project_id: Option<String>,
}

/// The upstream token held for an account.
struct Held {
    access: SecretString,
    base_url: String,
    renew_at_ms: i64,
    /// The refresh-token set it came from (Qwen, Claude); Copilot tokens are minted from the
    /// saved GitHub login instead.
    set: Option<TokenSet>,
}

impl Held {
    fn minted(&self) -> Minted {
        Minted {
            token: self.access.clone(),
            base_url: self.base_url.clone(),
            account_id: self.set.as_ref().and_then(|s| s.account_id.clone()),
            project_id: self.set.as_ref().and_then(|s| s.project_id.clone()),
        }
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Held>>>;

pub struct TokenKeeper {
    copilot: copilot::Servers,
    qwen: qwen::Servers,
    claude: claude::Servers,
    codex: codex::Servers,
    gemini_cli: google::Servers,
    antigravity: google::Servers,
    iflow: iflow::Servers,
    kiro: kiro::Servers,
    /// The `[auth.*]` sections, for what is read only now and then (import files).
    endpoints: BTreeMap<String, AuthEndpoints>,
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
            codex: codex::Servers::from_config(auth.get("codex")),
            gemini_cli: google::Servers::gemini_cli(auth.get("gemini-cli")),
            antigravity: google::Servers::antigravity(auth.get("antigravity")),
            iflow: iflow::Servers::from_config(auth.get("iflow")),
            kiro: kiro::Servers::from_config(auth.get("kiro")),
            endpoints: auth.clone(),
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

    pub fn codex_servers(&self) -> &codex::Servers {
        &self.codex
    }

    pub fn gemini_cli_servers(&self) -> &google::Servers {
        &self.gemini_cli
    }

    pub fn antigravity_servers(&self) -> &google::Servers {
        &self.antigravity
    }

    /// The `[auth.<provider>]` section, if the config has one.
    pub fn endpoints(&self, provider: &str) -> Option<&AuthEndpoints> {
        self.endpoints.get(provider)
    }

    pub fn iflow_servers(&self) -> &iflow::Servers {
        &self.iflow
    }

    pub fn kiro_servers(&self) -> &kiro::Servers {
        &self.kiro
    }

    /// Whether requests for this account need a token derived from its saved login.
    pub fn mints_for(account: &Account) -> bool {
        Login::of(&account.provider).is_some()
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

    /// The subscription plan the account's saved login names, if any.
    pub fn plan(account: &Account) -> Option<String> {
        if !Self::refreshes(account) {
            return None;
        }
        let saved = account.credential.login()?;
        serde_json::from_str::<TokenSet>(saved.expose()).ok()?.plan
    }

    /// Whether the account's login is a refresh-token one (kept fresh in the background, so an
    /// idle account's refresh token does not lapse).
    pub fn refreshes(account: &Account) -> bool {
        Login::of(&account.provider)
            .and_then(Login::refresh_lead_ms)
            .is_some()
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
            .credential
            .login()
            .ok_or_else(|| AuthError::Revoked("no saved login".into()))?;
        let Some(login) = Login::of(&account.provider) else {
            return Err(AuthError::Revoked("this provider has no login".into()));
        };
        let slot = self.slot(&account.id);
        let mut held = slot.lock().await;
        let lead = login.refresh_lead_ms();
        if let Some(lead) = lead {
            // The catalog's copy of the saved set lags behind refreshes until the next reload;
            // it replaces the held one only if it was obtained later (a new login).
            let stored: TokenSet = serde_json::from_str(saved.expose())
                .map_err(|_| AuthError::Revoked("the saved login is unreadable".into()))?;
            let newer = held
                .as_ref()
                .and_then(|h| h.set.as_ref())
                .is_none_or(|set| stored.obtained_at_ms > set.obtained_at_ms);
            if newer {
                *held = Some(self.held_from(login, stored, &account.base_url, now_ms, lead));
            }
        }
        if let Some(h) = held.as_ref()
            && now_ms + ahead_ms < h.renew_at_ms
            && refused != Some(h.access.expose())
        {
            return Ok(h.minted());
        }
        let renewed = match (held.as_ref().and_then(|h| h.set.as_ref()), lead) {
            (Some(set), Some(lead)) => {
                tracing::debug!(account = %account.name, "refreshing a login's token");
                let fresh = match login {
                    Login::Claude => claude::refresh(http, &self.claude, set, now_ms).await?,
                    Login::Codex => codex::refresh(http, &self.codex, set, now_ms).await?,
                    Login::Iflow => iflow::refresh(http, &self.iflow, set, now_ms).await?,
                    Login::Kiro => kiro::refresh(http, &self.kiro, set, now_ms).await?,
                    Login::GeminiCli | Login::Antigravity => {
                        let (client, servers) = login
                            .google(self)
                            .ok_or_else(|| AuthError::Malformed("not a Google login".into()))?;
                        google::refresh(http, servers, client, set, now_ms).await?
                    }
                    _ => qwen::refresh(http, &self.qwen, set, now_ms).await?,
                };
                self.save(&account.id, &fresh).await;
                self.held_from(login, fresh, &account.base_url, now_ms, lead)
            }
            _ => {
                tracing::debug!(account = %account.name, "minting a Copilot token");
                let token = copilot::mint(http, &self.copilot, saved.expose()).await?;
                Held {
                    renew_at_ms: token.renew_at_ms(now_ms),
                    access: token.token,
                    base_url: token.api_base,
                    set: None,
                }
            }
        };
        let out = renewed.minted();
        *held = Some(renewed);
        Ok(out)
    }

    /// What a refresh-token set yields: its access token, for Claude's API host or the one the
    /// set names (Qwen's `resource_url`, else the account's).
    fn held_from(
        &self,
        login: Login,
        set: TokenSet,
        account_base: &str,
        now_ms: i64,
        lead: i64,
    ) -> Held {
        Held {
            // iFlow's requests carry the API key the login yields, not the access token.
            access: SecretString::new(
                set.api_key
                    .clone()
                    .unwrap_or_else(|| set.access_token.clone()),
            ),
            base_url: match login {
                Login::Claude => self.claude.api.clone(),
                Login::Codex => self.codex.responses_base(),
                Login::GeminiCli => self.gemini_cli.code_assist.clone(),
                Login::Antigravity => self.antigravity.code_assist.clone(),
                Login::Kiro => self.kiro.api.clone(),
                Login::Iflow => self
                    .iflow
                    .api
                    .clone()
                    .unwrap_or_else(|| account_base.to_owned()),
                _ => set.base_url(account_base),
            },
            renew_at_ms: set.renew_at_ms(now_ms, lead),
            set: Some(set),
        }
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
                out.push(h.access.expose().to_owned());
                if let Some(set) = &h.set {
                    out.push(set.access_token.clone());
                    out.push(set.refresh_token.clone());
                    out.extend(set.api_key.clone());
                    out.extend(set.client_secret.clone());
                }
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
