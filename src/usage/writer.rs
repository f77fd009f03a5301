//! Writes usage records in batches, off the request path: whatever has queued up since the
//! last write goes in one transaction, so under a burst the database sees few, large commits.

use rusqlite::{Transaction, params};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use super::prices::price_of;
use super::record::{Tokens, UsageRecord};
use crate::format::{self, Usage};
use crate::providers::{self, Tier};
use crate::store::{self, Store, StoreError};

/// At most this many records per transaction, so one write never holds the database long.
const MAX_BATCH: usize = 2048;

pub async fn run(
    store: Store,
    records: UnboundedReceiver<UsageRecord>,
    stop: watch::Receiver<bool>,
) {
    store::in_batches(records, stop, MAX_BATCH, |batch| write(&store, batch)).await;
}

async fn write(store: &Store, batch: Vec<UsageRecord>) {
    let count = batch.len();
    let result = store
        .call(move |c| {
            let tx = c.transaction()?;
            for record in &batch {
                insert(&tx, record)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(count, "could not save usage records: {e}");
    }
}

fn tokens(record: &UsageRecord) -> Usage {
    match &record.tokens {
        Tokens::Counted(u) => *u,
        Tokens::InBody(body) if record.status < 300 => {
            format::usage_in_body(record.api, body).unwrap_or_default()
        }
        _ => Usage::default(),
    }
}

fn insert(tx: &Transaction, r: &UsageRecord) -> Result<(), StoreError> {
    let u = tokens(r);
    let price = r.model.as_deref().and_then(price_of);
    let cost = price.map_or(0.0, |p| p.cost(&u));
    // Subscription and free tokens are not billed: their API-price cost is what was saved.
    let billed = r
        .provider
        .as_deref()
        .and_then(providers::find)
        .is_none_or(|p| matches!(p.tier, Tier::ApiKey | Tier::Cheap));
    let attempts = serde_json::to_string(&r.attempts).unwrap_or_else(|_| "[]".into());
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO usage_events (started_ms, api, endpoint, requested_model, provider, model,
            account_id, attempts, status, input_tokens, cached_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, cost, priced, billed, streamed, ttft_ms, latency_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20)",
    )?
    .execute(params![
        r.started_ms,
        r.api.name(),
        r.endpoint,
        r.requested_model,
        r.provider,
        r.model,
        r.account_id,
        attempts,
        r.status,
        as_i64(u.input),
        as_i64(u.cache_read),
        as_i64(u.cache_write),
        as_i64(u.output),
        as_i64(u.reasoning),
        cost,
        price.is_some(),
        billed,
        r.streamed,
        r.ttft_ms,
        r.latency_ms,
    ])?;
    Ok(())
}
