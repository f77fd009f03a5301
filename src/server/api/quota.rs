//! `GET /api/quota`, `GET /api/quota/{account}` and `POST /api/quota/{account}/refresh`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::ApiError;
use crate::catalog::Account;
use crate::clock::now_ms;
use crate::providers::QuotaApi;
use crate::state::Core;

/// One account's quota with countdowns; accounts never measured show no windows.
fn account_view(core: &Core, account: &Account) -> Value {
    let now = now_ms();
    let mut v = match core.proxy.quotas.get(&account.id) {
        Some(s) => crate::quota::view(&s, now),
        None => json!({ "accountId": account.id, "windows": [], "fetchedAt": null }),
    };
    v["accountName"] = account.name.clone().into();
    v["provider"] = account.provider.clone().into();
    let catalog = core.catalog();
    let provider_name = catalog
        .provider_by_id(&account.provider)
        .map(|p| p.name.clone());
    v["providerName"] = provider_name
        .unwrap_or_else(|| account.provider.clone())
        .into();
    v["refreshable"] = (crate::manage::quota_api_of(account) != QuotaApi::Headers).into();
    v
}

fn find_account(core: &Core, id: &str) -> Result<Account, ApiError> {
    core.catalog()
        .account(id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no account '{id}'")))
}

pub async fn list(State(core): State<Arc<Core>>) -> Json<Value> {
    let catalog = core.catalog();
    let accounts: Vec<Value> = catalog
        .accounts()
        .iter()
        .map(|a| account_view(&core, a))
        .collect();
    Json(json!({ "accounts": accounts }))
}

pub async fn one(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = find_account(&core, &id)?;
    Ok(Json(account_view(&core, &account)))
}

/// Fetches now from providers with a usage endpoint; for the others the answer says that
/// their quota arrives with their next answer's headers.
pub async fn refresh(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let account = find_account(&core, &id)?;
    let refreshed = crate::manage::refresh_quota(&core, &account)
        .await
        .is_some();
    let mut v = account_view(&core, &account);
    v["refreshed"] = refreshed.into();
    if !refreshed {
        v["note"] = "this provider publishes no usage endpoint; its quota is read from the \
                     rate-limit headers of its answers and updates with the next request"
            .into();
    }
    Ok(Json(v))
}
