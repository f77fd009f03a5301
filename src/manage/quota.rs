//! Providers' usage endpoints, fetched on a schedule and on demand. Which provider has one is
//! a column of the registry (`ProviderDef::quota`); a subscription provider's login module
//! fetches its own.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::watch;

use crate::auth::{AuthError, Minted, TokenSource};
use crate::catalog::Account;
use crate::clock::now_ms;
use crate::providers::QuotaApi;
use crate::proxy::ProxyContext;
use crate::quota::{QuotaSnapshot, QuotaSource, QuotaWindow, Window, usage_answer};
use crate::state::Core;

/// Fetches one account's quota from its provider's usage endpoint. `Ok(None)` when the
/// provider has none.
pub async fn fetch(
    ctx: &ProxyContext,
    api: QuotaApi,
    account: &Account,
) -> Result<Option<Vec<QuotaWindow>>, String> {
    let http = &ctx
        .client_for(account, crate::proxy::Purpose::Control)
        .map_err(|f| f.message)?;
    match api {
        QuotaApi::Headers => Ok(None),
        QuotaApi::OpenrouterKey => openrouter_key(http, account).await.map(Some),
        QuotaApi::Login => {
            let provider = ctx
                .tokens
                .login(&account.provider)
                .ok_or("the provider has no login")?;
            let grant = account
                .credential
                .login()
                .ok_or("the account has no saved login")?;
            let token = LoginToken {
                ctx,
                account,
                http: http.clone(),
            };
            provider.quota(http, grant, &token).await
        }
    }
}

/// The upstream token a subscription account's login yields (renewed if due), fetched only
/// when the provider's usage endpoint needs it.
struct LoginToken<'a> {
    ctx: &'a ProxyContext,
    account: &'a Account,
    http: reqwest::Client,
}

#[async_trait::async_trait]
impl TokenSource for LoginToken<'_> {
    async fn token(&self) -> Result<Minted, AuthError> {
        self.ctx
            .tokens
            .upstream(&self.http, self.account, None, now_ms())
            .await
    }
}

#[derive(Deserialize)]
struct KeyInfo {
    data: KeyData,
}

#[derive(Deserialize)]
struct KeyData {
    limit: Option<f64>,
    limit_remaining: Option<f64>,
    limit_reset: Option<String>,
    usage: Option<f64>,
    usage_daily: Option<f64>,
    usage_weekly: Option<f64>,
    usage_monthly: Option<f64>,
}

async fn openrouter_key(
    http: &reqwest::Client,
    account: &Account,
) -> Result<Vec<QuotaWindow>, String> {
    let url = format!("{}/key", account.base_url.trim_end_matches('/'));
    let mut request = http.get(url);
    if let Some(key) = account.credential.api_key() {
        request = request.bearer_auth(key.expose());
    }
    let body = usage_answer(request, "the provider").await?;
    let info: KeyInfo =
        serde_json::from_slice(&body).map_err(|e| format!("unexpected answer: {e}"))?;
    let d = info.data;
    let now = jiff::Timestamp::now();
    let credits = |window, used: Option<f64>, limit, remaining, resets_at_ms| {
        QuotaWindow {
            window,
            metric: "credits".to_owned(),
            model: None,
            used,
            limit,
            remaining,
            percent_used: None,
            resets_at_ms,
        }
        .completed()
    };
    let mut windows = Vec::new();
    let periods = [
        ("daily", Window::Daily, d.usage_daily),
        ("weekly", Window::Weekly, d.usage_weekly),
        ("monthly", Window::Monthly, d.usage_monthly),
    ];
    for (name, window, used) in periods {
        let limited = d.limit_reset.as_deref() == Some(name) && d.limit.is_some();
        if limited {
            windows.push(credits(
                window,
                used,
                d.limit,
                d.limit_remaining,
                next_utc_reset(now, window),
            ));
        } else if used.is_some() {
            windows.push(credits(
                window,
                used,
                None,
                None,
                next_utc_reset(now, window),
            ));
        }
    }
    if d.limit.is_some() && d.limit_reset.is_none() {
        windows.push(credits(
            Window::Total,
            d.usage,
            d.limit,
            d.limit_remaining,
            None,
        ));
    }
    Ok(windows)
}

/// The next UTC midnight, Monday or first of the month.
fn next_utc_reset(now: jiff::Timestamp, window: Window) -> Option<i64> {
    use jiff::ToSpan;
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let next = match window {
        Window::Daily => today.checked_add(1.day()).ok()?,
        Window::Weekly => {
            let days = 7 - i64::from(today.weekday().to_monday_zero_offset());
            today.checked_add(days.days()).ok()?
        }
        Window::Monthly => today.first_of_month().checked_add(1.month()).ok()?,
        _ => return None,
    };
    let at = next.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(at.timestamp().as_millisecond())
}

/// Where `account`'s quota comes from: its registry row says (custom nodes: headers only).
pub fn api_of(account: &Account) -> QuotaApi {
    crate::providers::find(&account.provider).map_or(QuotaApi::Headers, |p| p.quota)
}

/// Refreshes one account now. Returns its snapshot, or `None` if its provider has no usage
/// endpoint (its quota comes from answer headers).
pub async fn refresh_account(core: &Core, account: &Account) -> Option<QuotaSnapshot> {
    match fetch(&core.proxy, api_of(account), account).await {
        Ok(None) => None,
        Ok(Some(windows)) => {
            let snapshot = QuotaSnapshot {
                account_id: account.id.clone(),
                windows,
                source: QuotaSource::Api,
                fetched_ms: now_ms(),
                error: None,
            };
            core.proxy.quotas.put(snapshot.clone());
            Some(snapshot)
        }
        Err(e) => {
            tracing::info!(account = %account.name, "quota fetch failed: {e}");
            core.proxy.quotas.put_error(&account.id, e, now_ms());
            core.proxy.quotas.get(&account.id)
        }
    }
}

/// Every `quotaRefreshSecs`: keeps subscription logins fresh, then fetches every account
/// whose provider has a usage endpoint.
pub async fn refresh_loop(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    loop {
        let catalog = core.catalog();
        let every = Duration::from_secs(catalog.settings.observability.quota_refresh_secs);
        crate::manage::upkeep(&core, every).await;
        for account in catalog
            .accounts()
            .iter()
            .filter(|a| a.enabled && a.credential.usable())
        {
            if api_of(account) != QuotaApi::Headers {
                refresh_account(&core, account).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_fall_on_utc_boundaries() {
        // Saturday 2026-11-21 10:00 UTC.
        let now: jiff::Timestamp = "2026-11-21T10:00:00Z".parse().unwrap_or_default();
        let at = |s: &str| {
            s.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .ok()
        };
        assert_eq!(
            next_utc_reset(now, Window::Daily),
            at("2026-11-22T00:00:00Z")
        );
        assert_eq!(
            next_utc_reset(now, Window::Weekly),
            at("2026-11-23T00:00:00Z")
        );
        assert_eq!(
            next_utc_reset(now, Window::Monthly),
            at("2026-12-01T00:00:00Z")
        );
    }
}
