//! Anthropic's `count_tokens`, asked of the first Anthropic-format account a model routes to,
//! through the same credential path as proxying (a Claude login counts with its subscription
//! token), bounded in time and size.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use serde_json::Value;

use super::upstream::{anthropic_headers, authorize, base_url};
use super::{ProxyContext, login_token};
use crate::catalog::{Account, Catalog};
use crate::providers::WireFormat;
use crate::routing::resolve;

/// The whole attempt: a login's renewal, the request and its answer.
const COUNT_TIMEOUT: Duration = Duration::from_secs(10);
/// A count is a few bytes of JSON; anything far larger is not one.
const MAX_COUNT_BODY: usize = 64 * 1024;

/// What the client sent: its body (an object with `model`) and its Messages API headers.
pub struct CountRequest<'a> {
    pub body: &'a Value,
    pub model: &'a str,
    pub version: Option<&'a HeaderValue>,
    pub betas: Option<&'a HeaderValue>,
}

/// The provider's own count (`{"input_tokens": n}`), or `None` when no Anthropic-format
/// account could give one.
pub async fn count_tokens(
    ctx: &ProxyContext,
    catalog: &Catalog,
    request: &CountRequest<'_>,
) -> Option<Bytes> {
    let targets = resolve(catalog, &ctx.routing, request.model).unwrap_or_default();
    for target in &targets {
        let Some(provider) = catalog.provider_by_prefix(&target.provider) else {
            continue;
        };
        if provider.wire_for(&target.model) != WireFormat::Anthropic {
            continue;
        }
        let Some(account) = catalog.enabled_accounts_of(&provider.id).next() else {
            continue;
        };
        let mut body = request.body.clone();
        body["model"] = target.model.clone().into();
        match tokio::time::timeout(COUNT_TIMEOUT, ask(ctx, account, request, &body)).await {
            Ok(Ok(count)) => return Some(count),
            Ok(Err(why)) => {
                tracing::debug!(account = %account.name, "provider token count failed: {why}")
            }
            Err(_) => tracing::debug!(account = %account.name, "provider token count timed out"),
        }
    }
    None
}

async fn ask(
    ctx: &ProxyContext,
    account: &Account,
    request: &CountRequest<'_>,
    body: &Value,
) -> Result<Bytes, String> {
    let minted = login_token(ctx, account, None)
        .await
        .map_err(|f| f.message)?;
    let url = format!(
        "{}/v1/messages/count_tokens",
        base_url(account, minted.as_ref()).trim_end_matches('/')
    );
    let http_request = ctx
        .client_for(account, super::Purpose::Control)
        .map_err(|f| f.message)?
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .json(body);
    let login = minted
        .as_ref()
        .and_then(|m| Some((ctx.tokens.login(&account.provider)?, m)));
    let beta = login.and_then(|(p, _)| p.anthropic_beta());
    let http_request = anthropic_headers(http_request, request.version, request.betas, beta);
    let response = authorize(http_request, WireFormat::Anthropic, account, login)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("the provider answered {}", response.status()));
    }
    let bytes = super::upstream::read_capped(response, MAX_COUNT_BODY)
        .await
        .map_err(|e| e.message)?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v["input_tokens"].is_u64() => Ok(bytes),
        _ => Err("the provider's answer is not a token count".into()),
    }
}
