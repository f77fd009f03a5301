//! Accounts of providers (the API serves them at `/api/connections`, the path 9Router's clients
//! know). API keys go to the secret store; the row keeps a reference.

use serde::{Deserialize, Serialize};

use super::{ManageError, conflict, invalid, read_only, validate_name};
use crate::catalog::{AccountRecord, Source, masked_url, validate_base_url, validate_proxy_url};
use crate::clock::{new_id, now_ms};
use crate::providers::{self, AuthKind};
use crate::routing::CooldownInfo;
use crate::secrets::SecretString;
use crate::state::{AccountStatus, Core, account_state};
use crate::store;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct AccountInput {
    /// Registry id or alias, or a custom node's id or prefix.
    pub provider: String,
    pub name: String,
    pub api_key: Option<String>,
    #[cfg_attr(test, ts(as = "Option<i32>"))]
    pub priority: Option<i64>,
    pub enabled: Option<bool>,
    pub base_url: Option<String>,
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub models: Vec<String>,
    /// The proxy this account's calls go through (`http://`, `https://`, `socks5://`); kept
    /// in the secret store, since it may carry a password.
    pub proxy: Option<String>,
    /// Stop routing to it when a quota window has less than this many percent left.
    pub quota_reserve_pct: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct AccountPatch {
    pub name: Option<String>,
    pub api_key: Option<String>,
    #[cfg_attr(test, ts(as = "Option<i32>"))]
    pub priority: Option<i64>,
    pub enabled: Option<bool>,
    /// `null` goes back to the provider's default URL.
    #[serde(default, with = "double_option")]
    #[cfg_attr(test, ts(type = "string | null", optional))]
    pub base_url: Option<Option<String>>,
    pub models: Option<Vec<String>>,
    /// `null` goes back to the environment's proxy settings.
    #[serde(default, with = "double_option")]
    #[cfg_attr(test, ts(type = "string | null", optional))]
    pub proxy: Option<Option<String>>,
    /// `null` goes back to the routing setting.
    #[serde(default, with = "double_option")]
    #[cfg_attr(test, ts(type = "number | null", optional))]
    pub quota_reserve_pct: Option<Option<u8>>,
}

/// `Option<Option<T>>` that tells "absent" from "null".
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AccountView {
    pub id: String,
    pub provider: String,
    pub provider_name: String,
    pub name: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub priority: i64,
    pub enabled: bool,
    pub base_url: String,
    pub base_url_overridden: bool,
    pub models: Vec<String>,
    /// Whether a key is stored; the key itself is never returned.
    pub has_api_key: bool,
    /// The account's proxy, its password masked.
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The account's own quota reserve, when it has one.
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_reserve_pct: Option<u8>,
    pub source: Source,
    pub read_only: bool,
    pub state: AccountStatus,
    pub cooldowns: Vec<CooldownInfo>,
    /// The subscription plan of a login account, when the provider told it (ChatGPT's `plus`,
    /// Claude Code's `max`).
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

pub use crate::secrets::account_secret_ref;

/// The canonical provider id for what the user typed (`oa` → `openai`, a node prefix → id).
fn resolve_provider(core: &Core, provider: &str) -> Result<(String, AuthKind), ManageError> {
    let catalog = core.catalog();
    let p = catalog
        .provider_by_prefix(provider)
        .ok_or_else(|| invalid("provider", format!("unknown provider or node '{provider}'")))?;
    let auth = providers::find(&p.id).map_or(AuthKind::ApiKey, |d| d.auth);
    Ok((p.id.clone(), auth))
}

fn view(core: &Core, rec: &AccountRecord, has_key: bool) -> AccountView {
    let catalog = core.catalog();
    let provider = catalog.provider_by_prefix(&rec.provider);
    let (state, cooldowns) = account_state(core, &rec.id, rec.enabled, now_ms());
    AccountView {
        id: rec.id.clone(),
        provider: rec.provider.clone(),
        provider_name: provider.map_or_else(|| rec.provider.clone(), |p| p.name.clone()),
        name: rec.name.clone(),
        priority: rec.priority,
        enabled: rec.enabled,
        base_url: rec
            .base_url
            .clone()
            .or_else(|| provider.map(|p| p.base_url.clone()))
            .unwrap_or_default(),
        base_url_overridden: rec.base_url.is_some() && rec.source == Source::Api,
        models: rec.models.clone(),
        has_api_key: has_key,
        proxy: catalog
            .account(&rec.id)
            .and_then(|a| a.proxy.as_ref())
            .map(|p| masked_url(p.expose())),
        quota_reserve_pct: rec.quota_reserve_pct,
        source: rec.source,
        read_only: rec.source == Source::File,
        state,
        cooldowns,
        plan: catalog
            .account(&rec.id)
            .and_then(|a| core.proxy.tokens.plan(a)),
    }
}

pub async fn list_accounts(core: &Core) -> Result<Vec<AccountView>, ManageError> {
    let catalog = core.catalog();
    let stored = core.store.call(|c| store::list_accounts(c)).await?;
    let mut out: Vec<AccountView> = stored
        .iter()
        .map(|r| view(core, r, r.secret_ref.is_some()))
        .collect();
    for a in catalog
        .accounts()
        .iter()
        .filter(|a| a.source == Source::File)
    {
        let rec = AccountRecord {
            id: a.id.clone(),
            provider: a.provider.clone(),
            name: a.name.clone(),
            priority: a.priority,
            enabled: a.enabled,
            base_url: Some(a.base_url.clone()),
            models: a.models.clone(),
            secret_ref: None,
            proxy_ref: None,
            quota_reserve_pct: a.quota_reserve_pct,
            source: Source::File,
        };
        out.push(view(core, &rec, a.credential.is_some()));
    }
    out.sort_by_key(|v| v.priority);
    Ok(out)
}

pub async fn get_account(core: &Core, id: &str) -> Result<AccountView, ManageError> {
    list_accounts(core)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ManageError::NotFound(format!("no connection '{id}'")))
}

pub(super) fn check_fields(
    name: Option<&str>,
    priority: Option<i64>,
    base_url: Option<&str>,
    models: Option<&[String]>,
    proxy: Option<&str>,
    reserve: Option<u8>,
) -> Result<(), ManageError> {
    if reserve.is_some_and(|r| r > 99) {
        return Err(invalid("quotaReservePct", "must be between 0 and 99"));
    }
    if let Some(p) = proxy {
        validate_proxy_url(p).map_err(|m| invalid("proxy", m))?;
    }
    if let Some(n) = name {
        validate_name("name", n)?;
    }
    if let Some(p) = priority
        && !(0..=1_000_000).contains(&p)
    {
        return Err(invalid(
            "priority",
            "must be between 0 and 1000000 (lower is tried first)",
        ));
    }
    if let Some(u) = base_url {
        validate_base_url(u).map_err(|m| invalid("baseUrl", m))?;
    }
    for (i, m) in models.unwrap_or_default().iter().enumerate() {
        if m.trim().is_empty() {
            return Err(invalid(format!("models[{i}]"), "must not be empty"));
        }
    }
    Ok(())
}

async fn stored(core: &Core, id: &str) -> Result<AccountRecord, ManageError> {
    if core
        .catalog()
        .account(id)
        .is_some_and(|a| a.source == Source::File)
    {
        return Err(read_only(&format!("connection '{id}'")));
    }
    let id_owned = id.to_owned();
    core.store
        .call(move |c| {
            Ok(store::list_accounts(c)?
                .into_iter()
                .find(|r| r.id == id_owned))
        })
        .await?
        .ok_or_else(|| ManageError::NotFound(format!("no connection '{id}'")))
}

pub async fn create_account(core: &Core, input: AccountInput) -> Result<AccountView, ManageError> {
    let (provider, auth) = resolve_provider(core, &input.provider)?;
    check_fields(
        Some(&input.name),
        input.priority,
        input.base_url.as_deref(),
        Some(&input.models),
        input.proxy.as_deref(),
        input.quota_reserve_pct,
    )?;
    if auth != AuthKind::ApiKey {
        return Err(invalid(
            "provider",
            format!("{provider} accounts are added by logging in, not with an API key"),
        ));
    }
    let is_registry = providers::find(&provider).is_some();
    let key = input
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if is_registry && key.is_none() {
        return Err(invalid("apiKey", "this provider needs an API key"));
    }
    let name = input.name.trim().to_owned();
    if core
        .catalog()
        .accounts()
        .iter()
        .any(|a| a.provider == provider && a.name == name)
    {
        return Err(conflict(
            "name",
            format!("{provider} already has an account named '{name}'"),
        ));
    }

    let rec = AccountRecord {
        id: new_id(),
        provider,
        name,
        priority: input.priority.unwrap_or(100),
        enabled: input.enabled.unwrap_or(true),
        base_url: input.base_url,
        models: input.models,
        secret_ref: None,
        proxy_ref: None,
        quota_reserve_pct: input.quota_reserve_pct,
        source: Source::Api,
    };
    let rec = insert_with_secret(core, rec, key.map(SecretString::new), input.proxy).await?;
    Ok(view(core, &rec, rec.secret_ref.is_some()))
}

/// Stores a new account: its secret first, then its row; if the row cannot be written, the
/// secret goes too, so nothing is left behind.
pub(super) async fn insert_with_secret(
    core: &Core,
    mut rec: AccountRecord,
    secret: Option<SecretString>,
    proxy: Option<String>,
) -> Result<AccountRecord, ManageError> {
    if let Some(secret) = secret {
        let r = account_secret_ref(&rec.id);
        core.secrets.set(&r, secret).await?;
        rec.secret_ref = Some(r);
    }
    if let Some(proxy) = proxy {
        let r = proxy_secret_ref(&rec.id);
        core.secrets.set(&r, SecretString::new(proxy)).await?;
        rec.proxy_ref = Some(r);
    }
    let row = rec.clone();
    if let Err(e) = core
        .store
        .call(move |c| store::insert_account(c, &row))
        .await
    {
        for r in [&rec.secret_ref, &rec.proxy_ref].into_iter().flatten() {
            let _ = core.secrets.delete(r).await;
        }
        return Err(e.into());
    }
    core.reload("connections").await?;
    Ok(rec)
}

pub async fn update_account(
    core: &Core,
    id: &str,
    patch: AccountPatch,
) -> Result<AccountView, ManageError> {
    let mut rec = stored(core, id).await?;
    let is_login = providers::find(&rec.provider).is_some_and(|p| p.auth != AuthKind::ApiKey);
    // A login's tokens may go only to its provider's own hosts, and it is replaced only by
    // logging in again.
    if is_login && patch.base_url.is_some() {
        return Err(invalid(
            "baseUrl",
            "the address of a login account is its provider's own; it cannot be changed",
        ));
    }
    if is_login && patch.api_key.is_some() {
        return Err(invalid(
            "apiKey",
            "a login account takes no API key; log in again to replace its login",
        ));
    }
    check_fields(
        patch.name.as_deref(),
        patch.priority,
        patch.base_url.as_ref().and_then(|u| u.as_deref()),
        patch.models.as_deref(),
        patch.proxy.as_ref().and_then(|u| u.as_deref()),
        patch.quota_reserve_pct.flatten(),
    )?;
    if let Some(n) = patch.name {
        rec.name = n.trim().to_owned();
    }
    if let Some(p) = patch.priority {
        rec.priority = p;
    }
    if let Some(e) = patch.enabled {
        rec.enabled = e;
    }
    if let Some(u) = patch.base_url {
        rec.base_url = u;
    }
    if let Some(m) = patch.models {
        rec.models = m;
    }
    if let Some(r) = patch.quota_reserve_pct {
        rec.quota_reserve_pct = r;
    }
    let mut dropped_proxy = None;
    match patch.proxy {
        Some(Some(url)) => {
            let r = proxy_secret_ref(id);
            core.secrets.set(&r, SecretString::new(url)).await?;
            rec.proxy_ref = Some(r);
        }
        Some(None) => dropped_proxy = rec.proxy_ref.take(),
        None => {}
    }
    if let Some(k) = patch.api_key {
        let k = k.trim();
        if k.is_empty() {
            return Err(invalid("apiKey", "must not be empty"));
        }
        let r = account_secret_ref(id);
        core.secrets.set(&r, SecretString::new(k)).await?;
        rec.secret_ref = Some(r);
        // New credentials deserve a fresh chance.
        core.proxy.routing.cooldowns.clear_account(id);
    }
    let row = rec.clone();
    core.store
        .call(move |c| store::update_account(c, &row))
        .await?;
    if let Some(r) = dropped_proxy {
        core.secrets.delete(&r).await?;
    }
    core.reload("connections").await?;
    Ok(view(core, &rec, rec.secret_ref.is_some()))
}

/// Where an account's proxy URL is kept in the secret store.
fn proxy_secret_ref(id: &str) -> String {
    format!("{}:proxy", account_secret_ref(id))
}

pub async fn delete_account(core: &Core, id: &str) -> Result<(), ManageError> {
    let rec = stored(core, id).await?;
    let id_owned = id.to_owned();
    core.store
        .call(move |c| store::delete_account(c, &id_owned))
        .await?;
    for r in [&rec.secret_ref, &rec.proxy_ref].into_iter().flatten() {
        core.secrets.delete(r).await?;
    }
    core.proxy.routing.cooldowns.clear_account(id);
    core.reload("connections").await?;
    Ok(())
}

/// Clears an account's cooldowns so it is tried again at once.
pub async fn reset_account(core: &Core, id: &str) -> Result<AccountView, ManageError> {
    if core.catalog().account(id).is_none() {
        return Err(ManageError::NotFound(format!("no connection '{id}'")));
    }
    core.proxy.routing.cooldowns.clear_account(id);
    get_account(core, id).await
}

/// Asks the provider for its model list with this account's key: proves URL and key.
pub async fn test_account(core: &Core, id: &str) -> Result<crate::proxy::Probe, ManageError> {
    let catalog = core.catalog();
    let account = catalog
        .account(id)
        .ok_or_else(|| ManageError::NotFound(format!("no connection '{id}'")))?;
    let wire = catalog
        .provider_by_id(&account.provider)
        .map(|p| p.format)
        .ok_or_else(|| ManageError::NotFound(format!("no provider '{}'", account.provider)))?;
    Ok(crate::proxy::probe(&core.proxy, wire, account).await)
}

/// Stores what a login produced. A new account is named after the provider's user name (made
/// unique); with `replace`, the same account gets the new credentials in place, keeping its
/// name, priority, history and id. Returns the account's id and name.
pub async fn save_login(
    core: &Core,
    provider: &str,
    user_name: &str,
    secret: SecretString,
    replace: Option<&str>,
) -> Result<(String, String), ManageError> {
    if let Some(id) = replace {
        let rec = stored(core, id).await?;
        if rec.provider != provider {
            return Err(invalid(
                "accountId",
                format!("account '{id}' is not a {provider} account"),
            ));
        }
        let r = account_secret_ref(id);
        core.secrets.set(&r, secret).await?;
        core.proxy.tokens.forget(id);
        core.proxy.routing.cooldowns.clear_account(id);
        if rec.secret_ref.as_deref() != Some(r.as_str()) {
            let mut row = rec.clone();
            row.secret_ref = Some(r);
            core.store
                .call(move |c| store::update_account(c, &row))
                .await?;
        }
        core.reload("connections").await?;
        return Ok((rec.id, rec.name));
    }
    let catalog = core.catalog();
    let taken = |n: &str| {
        catalog
            .accounts()
            .iter()
            .any(|a| a.provider == provider && a.name == n)
    };
    let base = if user_name.trim().is_empty() {
        provider
    } else {
        user_name.trim()
    };
    let name = (1..)
        .map(|i| {
            if i == 1 {
                base.to_owned()
            } else {
                format!("{base} ({i})")
            }
        })
        .find(|n| !taken(n))
        .unwrap_or_else(|| base.to_owned());
    let rec = AccountRecord {
        id: new_id(),
        provider: provider.to_owned(),
        name,
        priority: 100,
        enabled: true,
        base_url: None,
        models: vec![],
        secret_ref: None,
        proxy_ref: None,
        quota_reserve_pct: None,
        source: Source::Api,
    };
    let rec = insert_with_secret(core, rec, Some(secret), None).await?;
    Ok((rec.id, rec.name))
}
