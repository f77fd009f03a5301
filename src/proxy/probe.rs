//! Testing an account: ask the provider for its model list with the account's key. It proves
//! the URL and the key, and the list is what the dashboard offers for that account. A login
//! account proves itself by yielding a token, through the same path as its requests.

use std::time::{Duration, Instant};

use http::HeaderValue;
use serde::Serialize;
use serde_json::Value;

use super::upstream::{authorize, models_endpoint, read_capped};
use super::{ProxyContext, login_token};
use crate::catalog::Account;
use crate::providers::WireFormat;

const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// A model list is a few hundred KiB at most.
const MAX_LIST_BODY: usize = 8 << 20;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Probe {
    pub ok: bool,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
    #[cfg_attr(test, ts(type = "number"))]
    pub latency_ms: u64,
    pub models: Vec<String>,
    pub message: String,
}

/// Model ids in any of the list shapes: OpenAI and Anthropic `data[].id`, Gemini
/// `models[].name` (`models/…`).
fn model_ids(body: &Value) -> Vec<String> {
    let openai = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str());
    let gemini = body["models"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["name"].as_str())
        .map(|n| n.strip_prefix("models/").unwrap_or(n));
    openai.chain(gemini).map(str::to_owned).collect()
}

pub async fn probe(ctx: &ProxyContext, wire: WireFormat, account: &Account) -> Probe {
    let started = Instant::now();
    let done = |ok, status, models, message: String| Probe {
        ok,
        status,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        models,
        message,
    };
    if account.credential.login().is_some() {
        return match tokio::time::timeout(PROBE_TIMEOUT, login_token(ctx, account, None)).await {
            Ok(Ok(_)) => done(
                true,
                None,
                Vec::new(),
                "logged in; the login yields a working token".to_owned(),
            ),
            Ok(Err(f)) => done(false, None, Vec::new(), f.message),
            Err(_) => done(
                false,
                None,
                Vec::new(),
                "the login server did not answer in time".to_owned(),
            ),
        };
    }
    let Some(url) = models_endpoint(wire, &account.base_url) else {
        return done(
            false,
            None,
            Vec::new(),
            format!("accounts of the {wire:?} format cannot be tested yet"),
        );
    };
    let http = match ctx.client_for(account, super::Purpose::Control) {
        Ok(http) => http,
        Err(f) => return done(false, None, Vec::new(), f.message),
    };
    let mut request = http.get(url).timeout(PROBE_TIMEOUT);
    if wire == WireFormat::Anthropic {
        request = request.header("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
    let response = match authorize(request, wire, account, None).send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "it did not answer in time"
            } else {
                "it could not be reached"
            };
            return done(
                false,
                None,
                Vec::new(),
                format!("{why}: {}", e.without_url()),
            );
        }
    };
    let status = response.status();
    // The request's own timeout covers its body too.
    let body = match read_capped(response, MAX_LIST_BODY).await {
        Ok(b) => b,
        Err(f) => return done(false, Some(status.as_u16()), Vec::new(), f.message),
    };
    if !status.is_success() {
        let detail = crate::format::error_message(&body).unwrap_or_default();
        let mut message = format!("the provider answered {status} {detail}");
        message = super::blank_secrets(ctx, account, &message);
        return done(
            false,
            Some(status.as_u16()),
            Vec::new(),
            message.trim().to_owned(),
        );
    }
    let models = serde_json::from_slice::<Value>(&body)
        .map(|v| model_ids(&v))
        .unwrap_or_default();
    let message = format!("connected; {} models listed", models.len());
    done(true, Some(status.as_u16()), models, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn model_lists_of_every_shape_are_read() {
        let openai = json!({"object": "list", "data": [{"id": "gpt-4o", "object": "model"}]});
        let anthropic =
            json!({"data": [{"type": "model", "id": "claude-sonnet-4-5"}], "has_more": false});
        let gemini = json!({"models": [{"name": "models/gemini-2.5-pro"}]});
        assert_eq!(model_ids(&openai), ["gpt-4o"]);
        assert_eq!(model_ids(&anthropic), ["claude-sonnet-4-5"]);
        assert_eq!(model_ids(&gemini), ["gemini-2.5-pro"]);
    }
}
