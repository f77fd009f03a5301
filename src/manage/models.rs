//! The Models view: every routable model with its provider, context window, price and the
//! result of its last test; and the test itself, a one-line request through the router as
//! a client would send it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ManageError, invalid};
use crate::catalog::Price;
use crate::clock::now_ms;
use crate::format::Api;
use crate::proxy::{Answer, Inbound};
use crate::state::{Core, ModelHealth};

/// At most this many models are tested in one batch, this many at a time.
const MAX_BATCH: usize = 100;
const AT_ONCE: usize = 4;
/// A streamed test answer is read for at most this long.
const STREAM_READ: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ModelView {
    /// `prefix/model`, as clients write it.
    pub model: String,
    pub provider: String,
    pub provider_name: String,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub context_window: Option<u64>,
    pub price: Option<Price>,
    pub health: Option<ModelHealth>,
}

/// `POST /api/models/test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ModelTestInput {
    pub models: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ModelTested {
    pub model: String,
    pub health: ModelHealth,
}

pub fn list_models(core: &Core) -> Vec<ModelView> {
    let catalog = core.catalog();
    catalog
        .provider_models()
        .into_iter()
        .map(|(p, m)| {
            let model = format!("{}/{m}", p.prefix);
            ModelView {
                health: core.model_health.get(&model),
                provider: p.id.clone(),
                provider_name: p.name.clone(),
                context_window: catalog.context_window(p, m),
                price: catalog.price_of(&p.id, m),
                model,
            }
        })
        .collect()
}

/// Sends each model a one-line chat request through the router (a few at a time) and keeps
/// how it went.
pub async fn test_models(
    core: &Core,
    input: ModelTestInput,
) -> Result<Vec<ModelTested>, ManageError> {
    if input.models.is_empty() || input.models.len() > MAX_BATCH {
        return Err(invalid(
            "models",
            format!("name between 1 and {MAX_BATCH} models"),
        ));
    }
    // Only models the router lists are remembered: the book stays as small as the catalog.
    let listed: std::collections::HashSet<String> = core
        .catalog()
        .provider_models()
        .into_iter()
        .map(|(p, m)| format!("{}/{m}", p.prefix))
        .collect();
    let listed = &listed;
    let tested = futures_util::stream::iter(input.models)
        .map(|model| async move {
            let health = test_one(core, &model).await;
            if listed.contains(&model) {
                core.model_health.put(&model, health.clone());
            }
            ModelTested { model, health }
        })
        .buffered(AT_ONCE)
        .collect()
        .await;
    Ok(tested)
}

async fn test_one(core: &Core, model: &str) -> ModelHealth {
    let started = Instant::now();
    let body = serde_json::json!({"model": model, "max_tokens": 16, "stream": false,
        "messages": [{"role": "user", "content": "Reply with the word OK."}]});
    let done = |ok: bool, status: u16, message: String| ModelHealth {
        ok,
        at_ms: now_ms(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        status,
        message,
    };
    let inbound = match Inbound::with_model_in_body(
        Api::OpenaiChat,
        Bytes::from(body.to_string()),
        &http::HeaderMap::new(),
    ) {
        Ok(i) => i,
        Err(e) => return done(false, 400, e.message),
    };
    let catalog = core.catalog();
    match crate::proxy::dispatch(&core.proxy, &catalog, &inbound, None).await {
        Ok(served) => {
            let account = catalog
                .account(&served.by.account_id)
                .map_or_else(|| served.by.account_id.clone(), |a| a.name.clone());
            let (status, complete) = match served.answer {
                Answer::Full { status, .. } => (status.as_u16(), true),
                Answer::Stream { mut events, .. } => {
                    let read = tokio::time::timeout(STREAM_READ, async {
                        while events.next().await.is_some() {}
                    })
                    .await;
                    (200, read.is_ok())
                }
            };
            let ok = (200..300).contains(&status) && complete;
            let message = if complete {
                format!(
                    "answered by {}/{} via account '{account}'",
                    served.by.provider, served.by.model
                )
            } else {
                "the answer did not finish in time".to_owned()
            };
            done(ok, status, message)
        }
        Err(e) => done(false, e.status.as_u16(), e.message),
    }
}
