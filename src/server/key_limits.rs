//! A proxy key's limits at the door: an expired key, a model it may not use, or a rate, token
//! or daily cost limit it has reached get an answer in the client's own API (401, 403, 429
//! with `Retry-After`), recorded in usage under the key.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::client_api::error_response;
use super::observed;
use crate::catalog::{Catalog, KeyLimits};
use crate::clock::now_ms;
use crate::format::{Api, ErrorCategory};
use crate::state::Core;
use crate::usage::Refusal;

/// Whether key `key_id` may send a request for `model` now; counts it when it may.
pub fn admit(
    core: &Core,
    catalog: &Catalog,
    api: Api,
    key_id: &str,
    model: &str,
) -> Option<Response> {
    let limits = catalog.key_limits(key_id)?;
    let now = now_ms();
    let refusal = if limits.expired(now) {
        Refusal::Expired
    } else if !model_allowed(catalog, limits, model) {
        Refusal::Model
    } else {
        core.key_budgets.admit(key_id, limits, now).err()?
    };
    Some(refuse(core, catalog, api, key_id, model, limits, refusal))
}

/// Whether key `key_id` may ask about `model` at all (token counts, which reach a provider
/// but are not generations: no rate or budget is spent).
pub fn allows_model(
    core: &Core,
    catalog: &Catalog,
    api: Api,
    key_id: &str,
    model: &str,
) -> Option<Response> {
    let limits = catalog.key_limits(key_id)?;
    (!model_allowed(catalog, limits, model))
        .then(|| refuse(core, catalog, api, key_id, model, limits, Refusal::Model))
}

/// Whether `limits` let a client ask for `model`, or for what it is an alias of.
fn model_allowed(catalog: &Catalog, limits: &KeyLimits, model: &str) -> bool {
    let target = catalog.aliases.get(model).map(|(t, _)| t.as_str());
    limits.allows_model(model, target)
}

/// The answer to a refused request, recorded in usage.
pub fn refuse(
    core: &Core,
    catalog: &Catalog,
    api: Api,
    key_id: &str,
    model: &str,
    limits: &KeyLimits,
    refusal: Refusal,
) -> Response {
    let (status, category, message) = match refusal {
        Refusal::Expired => (
            StatusCode::UNAUTHORIZED,
            ErrorCategory::Authentication,
            format!(
                "This NineRouter proxy key expired at {}; ask for a new one.",
                expiry_text(limits)
            ),
        ),
        Refusal::Model => (
            StatusCode::FORBIDDEN,
            ErrorCategory::Permission,
            format!(
                "This NineRouter proxy key may not use `{model}`; it may use: {}.",
                limits.models.join(", ")
            ),
        ),
        Refusal::Rpm(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCategory::RateLimited,
            format!(
                "This NineRouter proxy key is limited to {} requests per minute.",
                limits.rpm.unwrap_or_default()
            ),
        ),
        Refusal::Tpm(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCategory::RateLimited,
            format!(
                "This NineRouter proxy key is limited to {} tokens per minute.",
                limits.tpm.unwrap_or_default()
            ),
        ),
        Refusal::DailyCost(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCategory::RateLimited,
            format!(
                "This NineRouter proxy key has used its daily budget of ${:.2}; it resets at midnight UTC.",
                limits.daily_cost_limit_usd.unwrap_or_default()
            ),
        ),
    };
    observed::refused(
        core,
        catalog,
        api,
        key_id,
        model,
        status.as_u16(),
        refusal.reason(),
    );
    let mut response = error_response(api, status, category, &message);
    if let Some(wait) = refusal.retry_after() {
        // Whole seconds, rounded up: a client retrying early would only be refused again.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    response
}

fn expiry_text(limits: &KeyLimits) -> String {
    limits
        .expires_at
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(|| "an earlier time".to_owned(), |t| t.to_string())
}
