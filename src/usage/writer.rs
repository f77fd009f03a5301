//! Writes usage records and inspector detail in batches, off the request path: whatever has
//! queued up since the last write goes in one transaction, so under a burst the database sees
//! few, large commits. Finished requests are announced once they are on disk.

use std::sync::Arc;

use rusqlite::{Transaction, params};
use tokio::sync::mpsc::{Receiver, UnboundedReceiver};
use tokio::sync::watch;

use super::record::{Tokens, UsageRecord};
use crate::catalog::Catalog;
use crate::engine::Core;
use crate::events::EngineEvent;
use crate::format::{self, Api, Usage};
use crate::inspector::{self, DetailMessage, Limits, Redactor};
use crate::providers::{self, Tier};
use crate::store::StoreError;

/// At most this many records (and as many detail messages) per transaction, so one write
/// never holds the database long.
const MAX_BATCH: usize = 2048;

/// What the request path sends the writer.
pub struct Queues {
    pub usage: UnboundedReceiver<UsageRecord>,
    pub details: Receiver<DetailMessage>,
}

#[derive(Default)]
struct Batch {
    usage: Vec<UsageRecord>,
    details: Vec<DetailMessage>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.usage.is_empty() && self.details.is_empty()
    }

    /// Adds what is already queued, up to the batch size.
    fn fill(&mut self, q: &mut Queues) {
        while self.usage.len() < MAX_BATCH
            && let Ok(r) = q.usage.try_recv()
        {
            self.usage.push(r);
        }
        while self.details.len() < MAX_BATCH
            && let Ok(m) = q.details.try_recv()
        {
            self.details.push(m);
        }
    }
}

pub async fn run(core: Arc<Core>, mut queues: Queues, mut stop: watch::Receiver<bool>) {
    // Requests cut off by a crash or kill stay in the inspector, marked as such.
    if let Err(e) = core.store.call(|c| inspector::close_interrupted(c)).await {
        tracing::warn!("could not close interrupted inspector entries: {e}");
    }
    loop {
        let mut batch = Batch::default();
        tokio::select! {
            Some(r) = queues.usage.recv() => batch.usage.push(r),
            Some(m) = queues.details.recv() => batch.details.push(m),
            _ = stop.wait_for(|stop| *stop) => break,
            else => break,
        }
        batch.fill(&mut queues);
        write(&core, batch).await;
    }
    loop {
        let mut rest = Batch::default();
        rest.fill(&mut queues);
        if rest.is_empty() {
            break;
        }
        write(&core, rest).await;
    }
}

async fn write(core: &Core, batch: Batch) {
    let catalog = core.catalog();
    let count = batch.usage.len();
    let announce = core.events().has_subscribers();
    let limits = Limits::from(&catalog.settings.observability);
    let redactor = Redactor::new(catalog.account_secrets().map(str::to_owned));
    let result = core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let mut finished = Vec::new();
            for record in batch.usage {
                let (usage, cost) = insert(&tx, &catalog, &record)?;
                if announce {
                    finished.push(finished_event(record, usage, cost));
                }
            }
            let has_details = !batch.details.is_empty();
            inspector::apply(&tx, &batch.details, &redactor, |e| {
                tokens(e.api, e.status, &e.tokens)
            })?;
            tx.commit()?;
            if has_details {
                inspector::prune(c, limits)?;
            }
            Ok(finished)
        })
        .await;
    match result {
        Ok(finished) => finished.into_iter().for_each(|e| core.events().publish(e)),
        Err(e) => tracing::error!(count, "could not save usage records: {e}"),
    }
}

fn finished_event(r: UsageRecord, u: Usage, cost: f64) -> EngineEvent {
    EngineEvent::RequestFinished {
        id: r.request_id,
        requested_model: r.requested_model,
        provider: r.provider,
        model: r.model,
        account_id: r.account_id,
        status: r.status,
        input_tokens: u.prompt_total(),
        output_tokens: u.output,
        cost,
        latency_ms: r.latency_ms,
        ttft_ms: r.ttft_ms,
    }
}

/// The token counts of an answer: tallied while streaming, or read from its body here.
pub fn tokens(api: Api, status: u16, tokens: &Tokens) -> Usage {
    match tokens {
        Tokens::Counted(u) => *u,
        Tokens::InBody(body) if status < 300 => {
            format::usage_in_body(api, body).unwrap_or_default()
        }
        _ => Usage::default(),
    }
}

fn insert(
    tx: &Transaction,
    catalog: &Catalog,
    r: &UsageRecord,
) -> Result<(Usage, f64), StoreError> {
    let u = tokens(r.api, r.status, &r.tokens);
    let price = match (&r.provider, &r.model) {
        (Some(provider), Some(model)) => catalog.price_of(provider, model),
        _ => None,
    };
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
            output_tokens, reasoning_tokens, cost, priced, billed, streamed, ttft_ms, latency_ms,
            request_id, key_id, combo)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23)",
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
        r.request_id,
        r.key_id,
        r.combo,
    ])?;
    Ok((u, cost))
}
