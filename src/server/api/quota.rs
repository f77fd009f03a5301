//! `GET /api/quota`, `GET /api/quota/{account}` and `POST /api/quota/{account}/refresh`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::ApiError;
use crate::catalog::Account;
use crate::clock::now_ms;
use crate::providers::QuotaApi;
use crate::quota::SnapshotView;
use crate::state::Core;

/// One account's quota with countdowns; accounts never measured show no windows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AccountQuota {
    pub account_id: String,
    pub account_name: String,
    pub provider: String,
    /// The provider's (a node's) own name.
    pub provider_name: String,
    /// Whether the provider publishes a usage endpoint to fetch from.
    pub refreshable: bool,
    #[serde(flatten)]
    pub snapshot: SnapshotView,
    /// After a refresh: whether the usage endpoint was asked (else `note` says why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub refreshed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub note: Option<&'static str>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct QuotaList {
    pub accounts: Vec<AccountQuota>,
}

fn account_view(core: &Core, account: &Account) -> AccountQuota {
    let snapshot =
        core.proxy
            .quotas
            .get(&account.id)
            .map_or_else(SnapshotView::never_measured, |s| {
                crate::quota::view(
                    &s,
                    now_ms(),
                    &core.catalog().settings.observability.quota_warn_pct,
                )
            });
    let provider_name = core
        .catalog()
        .provider_by_id(&account.provider)
        .map_or_else(|| account.provider.clone(), |p| p.name.clone());
    AccountQuota {
        account_id: account.id.clone(),
        account_name: account.name.clone(),
        provider: account.provider.clone(),
        provider_name,
        refreshable: crate::manage::quota_api_of(account) != QuotaApi::Headers,
        snapshot,
        refreshed: None,
        note: None,
    }
}

fn find_account(core: &Core, id: &str) -> Result<Account, ApiError> {
    core.catalog()
        .account(id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no account '{id}'")))
}

pub async fn list(State(core): State<Arc<Core>>) -> Json<QuotaList> {
    let catalog = core.catalog();
    let accounts = catalog
        .accounts()
        .iter()
        .map(|a| account_view(&core, a))
        .collect();
    Json(QuotaList { accounts })
}

pub async fn one(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<AccountQuota>, ApiError> {
    let account = find_account(&core, &id)?;
    Ok(Json(account_view(&core, &account)))
}

/// Fetches now from providers with a usage endpoint; for the others the answer says that
/// their quota arrives with their next answer's headers.
pub async fn refresh(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Json<AccountQuota>, ApiError> {
    let account = find_account(&core, &id)?;
    let refreshed = crate::manage::refresh_quota(&core, &account)
        .await
        .is_some();
    let mut view = account_view(&core, &account);
    view.refreshed = Some(refreshed);
    if !refreshed {
        view.note = Some(
            "this provider publishes no usage endpoint; its quota is read from the \
             rate-limit headers of its answers and updates with the next request",
        );
    }
    Ok(Json(view))
}
