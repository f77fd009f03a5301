//! A plain-data picture of the engine for the desktop tray and the status API.

use serde::Serialize;

use super::core::Core;
use crate::catalog::{ComboStrategy, Source};
use crate::clock::now_ms;
use crate::quota::QuotaSnapshot;
use crate::routing::{CircuitState, CooldownInfo, Outlook};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub address: String,
    pub secret_backend: String,
    /// The keychain did not answer at start and is waited for.
    pub secrets_waiting: bool,
    pub paused: bool,
    /// The combo the `default` model names, if it names one.
    pub active_combo: Option<String>,
    pub providers: Vec<ProviderState>,
    pub combos: Vec<ComboState>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderState {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub accounts: Vec<AccountState>,
    /// Its endpoint's circuit, when it is not closed (the worst of its endpoints').
    pub circuit: Option<crate::routing::CircuitInfo>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    pub id: String,
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    pub state: AccountStatus,
    pub cooldowns: Vec<CooldownInfo>,
    /// The last quota snapshot (from headers or the provider's usage endpoint), if any.
    pub quota: Option<QuotaSnapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum AccountStatus {
    Active,
    /// Some models (or all, after an auth failure) are cooling down.
    CoolingDown,
    /// The provider refused the account's login; it waits for a new one.
    NeedsLogin,
    /// Its secret cannot be read now (a locked keychain, a lost entry): it is not routed.
    SecretUnavailable,
    Disabled,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComboState {
    pub name: String,
    /// When every account behind the combo is cooling down: the earliest time one is back.
    pub cooling_until_ms: Option<i64>,
    pub models: Vec<String>,
    pub strategy: ComboStrategy,
    pub source: Source,
}

pub fn account_state(
    core: &Core,
    id: &str,
    enabled: bool,
    now: i64,
) -> (AccountStatus, Vec<CooldownInfo>) {
    let cooldowns = core.proxy.routing.cooldowns.active_for(id, now);
    let unreadable = core
        .catalog()
        .account(id)
        .is_some_and(|a| !a.credential.usable());
    let status = if !enabled {
        AccountStatus::Disabled
    } else if unreadable {
        AccountStatus::SecretUnavailable
    } else if cooldowns.is_empty() {
        AccountStatus::Active
    } else if cooldowns.iter().any(|c| c.needs_login) {
        AccountStatus::NeedsLogin
    } else {
        AccountStatus::CoolingDown
    };
    (status, cooldowns)
}

/// The secret store, as the tray and the status API say it.
pub fn secret_backend_text(core: &Core) -> String {
    let opened = core.secrets.opened();
    let name = opened.kind.describe();
    if opened.waiting {
        format!("waiting for the keychain: {name} (unlock it)")
    } else {
        name.to_owned()
    }
}

impl Core {
    /// A plain-data picture of the engine now (what the tray menu is built from).
    pub fn snapshot(&self) -> Snapshot {
        take(self)
    }
}

pub fn take(core: &Core) -> Snapshot {
    let catalog = core.catalog();
    let now = now_ms();
    let circuits = core.proxy.routing.circuits.all(now);
    let providers = catalog
        .providers()
        .iter()
        .filter_map(|p| {
            let accounts: Vec<AccountState> = catalog
                .accounts()
                .iter()
                .filter(|a| a.provider == p.id)
                .map(|a| {
                    let (state, cooldowns) = account_state(core, &a.id, a.enabled, now);
                    AccountState {
                        id: a.id.clone(),
                        name: a.name.clone(),
                        priority: a.priority,
                        enabled: a.enabled,
                        state,
                        cooldowns,
                        quota: core.proxy.quotas.get(&a.id),
                    }
                })
                .collect();
            let circuit = circuits
                .iter()
                .filter(|c| c.provider == p.id && c.state != CircuitState::Closed)
                .min_by_key(|c| c.state == CircuitState::HalfOpen)
                .cloned();
            (!accounts.is_empty()).then(|| ProviderState {
                id: p.id.clone(),
                prefix: p.prefix.clone(),
                name: p.name.clone(),
                accounts,
                circuit,
            })
        })
        .collect();
    let combos = catalog
        .combos
        .values()
        .map(|(c, source)| ComboState {
            name: c.name.clone(),
            cooling_until_ms: match crate::routing::outlook(
                &catalog,
                &core.proxy.routing.cooldowns,
                &c.name,
                now,
            ) {
                Outlook::CoolingUntil(t) => Some(t),
                Outlook::Ready | Outlook::Unservable => None,
            },
            models: c.models.clone(),
            strategy: c.strategy,
            source: *source,
        })
        .collect();
    Snapshot {
        address: core.listen.addr.to_string(),
        secret_backend: secret_backend_text(core),
        secrets_waiting: core.secrets.is_waiting(),
        paused: core.is_paused(),
        active_combo: core.active_combo(),
        providers,
        combos,
    }
}
