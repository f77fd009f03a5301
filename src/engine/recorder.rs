//! The recording thread: writes usage records and inspector detail on a connection of its
//! own. The first item opens a transaction; what queues after it is taken in every drain tick
//! and written at once; the transaction is committed one flush interval after it opened. A
//! commit rewrites whole pages of the tables and their indexes, so a busy router makes few,
//! large commits, while the work between them stays spread out instead of arriving in one
//! burst. Finished requests are announced once they are committed.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::engine::Core;
use crate::events::EngineEvent;
use crate::format::{self, Api, Usage};
use crate::inspector::{self, Limits, Redactor, Retention};
use crate::providers::{self, Tier};
use crate::store::sql::args;
use crate::store::{Db, Sql, StoreError};
use crate::usage::{Recording, Tokens, UsageRecord};

/// At most this many items per transaction, so one commit never holds the database long.
const MAX_BATCH: usize = 4096;

/// How long a transaction stays open before it is committed: what a crash can lose at most.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// How often an open transaction takes in what has queued.
const DRAIN_TICK: Duration = Duration::from_millis(2);

/// Starts the recording thread on its own connection; it ends after `Recorder::stop`.
pub fn spawn(core: Arc<Core>, queue: Receiver<Recording>) -> Result<JoinHandle<()>, StoreError> {
    // Connected on the thread: a PostgreSQL connection blocks, which an async caller may not.
    std::thread::Builder::new()
        .name("ninerouter-recorder".into())
        .spawn(move || match core.store.connect_writer() {
            Ok(conn) => run(&core, conn, &queue),
            Err(e) => {
                tracing::error!("usage and the inspector are not recorded: {e}");
                // Taken and dropped, so the queue does not grow.
                while let Ok(item) = queue.recv() {
                    if matches!(item, Recording::Stop) {
                        break;
                    }
                }
            }
        })
        .map_err(|e| StoreError::Worker(format!("cannot start the recording thread: {e}")))
}

/// What one transaction writes with.
struct Context<'a> {
    core: &'a Core,
    catalog: Arc<Catalog>,
    redactor: Redactor,
}

impl<'a> Context<'a> {
    fn new(core: &'a Core) -> Self {
        let catalog = core.catalog();
        let redactor = Redactor::new(core.known_secrets());
        Self {
            core,
            catalog,
            redactor,
        }
    }
}

/// What one open transaction has gathered.
#[derive(Default)]
struct Batch {
    items: usize,
    /// Counts read for usage records, reused for the same requests' inspector entries.
    counted: HashMap<String, Usage>,
    finished: Vec<EngineEvent>,
    details: bool,
}

fn run(core: &Core, mut conn: Box<dyn Db>, queue: &Receiver<Recording>) {
    let mut retention = Retention::default();
    let mut stopping = false;
    while !stopping {
        let first = match queue.recv() {
            Ok(Recording::Stop) | Err(_) => break,
            Ok(item) => item,
        };
        let flush_at = Instant::now() + FLUSH_INTERVAL;
        let cx = Context::new(core);
        let mut batch = Batch::default();
        let result = (|| -> Result<(), StoreError> {
            let mut tx = conn.transaction()?;
            let mut next = Some(first);
            'gather: loop {
                for item in next.take().into_iter().chain(queue.try_iter()) {
                    if matches!(item, Recording::Stop) {
                        stopping = true;
                        break 'gather;
                    }
                    write(&mut *tx, &cx, &mut retention, &mut batch, item)?;
                    if batch.items >= MAX_BATCH {
                        break 'gather;
                    }
                }
                let left = flush_at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                // Polled, not woken per item: a wake-up per request would cost the request
                // path a context switch each time.
                std::thread::sleep(left.min(DRAIN_TICK));
            }
            tx.commit()?;
            if batch.details {
                retention.enforce(&mut *conn, Limits::from(&cx.catalog.settings.observability))?;
            }
            Ok(())
        })();
        match result {
            Ok(()) if core.events().has_subscribers() => batch
                .finished
                .into_iter()
                .for_each(|e| core.events().publish(e)),
            Ok(()) => {}
            Err(e) => {
                tracing::error!(
                    items = batch.items,
                    "could not save usage and inspector records: {e}"
                );
                // The counters may no longer match the table: read them again next time.
                retention = Retention::default();
            }
        }
    }
    // Anything still queued behind the stop.
    let rest: Vec<Recording> = queue.try_iter().collect();
    if !rest.is_empty() {
        let cx = Context::new(core);
        let mut batch = Batch::default();
        let result = conn.transaction().and_then(|mut tx| {
            for item in rest {
                write(&mut *tx, &cx, &mut retention, &mut batch, item)?;
            }
            tx.commit()
        });
        if let Err(e) = result {
            tracing::error!("could not save the last usage records: {e}");
        }
    }
}

/// Writes one item into the open transaction.
fn write(
    tx: &mut dyn Sql,
    cx: &Context<'_>,
    retention: &mut Retention,
    batch: &mut Batch,
    item: Recording,
) -> Result<(), StoreError> {
    batch.items += 1;
    match item {
        Recording::Usage(record) => {
            let (usage, cost, billed) = insert(tx, &cx.catalog, &record)?;
            if let Some(key) = &record.key_id
                && cx.catalog.key_limits(key).is_some()
            {
                let used = usage.prompt_total() + usage.output;
                let usd = if billed { cost } else { 0.0 };
                cx.core.key_budgets.charge(key, used, usd, now_ms());
            }
            if cx.catalog.settings.observability.inspector {
                batch.counted.insert(record.request_id.clone(), usage);
            }
            // Built always (it only moves the record's fields); published at the commit if
            // anyone listens by then.
            batch.finished.push(finished_event(*record, usage, cost));
        }
        Recording::Detail(message) => {
            cx.core.inspector.taken(&message);
            batch.details = true;
            let counted = &batch.counted;
            inspector::apply(
                tx,
                std::slice::from_ref(&message),
                &cx.redactor,
                |e| {
                    counted
                        .get(&e.id)
                        .copied()
                        .unwrap_or_else(|| tokens(e.api, e.status, &e.tokens))
                },
                retention,
            )?;
        }
        Recording::Stop => {}
    }
    Ok(())
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
    tx: &mut dyn Sql,
    catalog: &Catalog,
    r: &UsageRecord,
) -> Result<(Usage, f64, bool), StoreError> {
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
    tx.execute(
        "INSERT INTO usage_events (started_ms, api, endpoint, requested_model, provider, model,
            account_id, attempts, status, input_tokens, cached_tokens, cache_write_tokens,
            output_tokens, reasoning_tokens, cost, priced, billed, streamed, ttft_ms, latency_ms,
            request_id, key_id, combo, limited)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24)",
        args![
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
            r.limited,
        ],
    )?;
    Ok((u, cost, billed))
}
