//! The recording thread: writes usage records and inspector detail on a connection of its
//! own. The first item opens a transaction; what queues after it is taken in every drain tick
//! and written at once; the transaction is committed one flush interval after it opened. A
//! commit rewrites whole pages of the tables and their indexes, so a busy router makes few,
//! large commits, while the work between them stays spread out instead of arriving in one
//! burst. Finished requests are announced once they are committed.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
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
            Ok(conn) => run(&core, Some(conn), &queue),
            // A shared store may come back: its records wait for it.
            Err(e) if core.store.kind() == "postgres" => {
                tracing::warn!("the shared store is out of reach: {e}");
                core.store_reachable(false);
                run(&core, None, &queue);
            }
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
    /// Every item written, kept until the commit: announced once it holds, or written again
    /// if a shared store went away before it did.
    kept: Vec<Recording>,
    /// The counts and cost of each usage record in `kept`, in order.
    priced: Vec<(Usage, f64)>,
    details: bool,
}

/// Items waiting for a shared store to come back, oldest first.
#[derive(Default)]
struct Backlog {
    items: VecDeque<Recording>,
    dropped: u64,
}

impl Backlog {
    fn push(&mut self, item: Recording) {
        self.items.push_back(item);
        if self.items.len() > MAX_BACKLOG {
            // Inspector detail goes first: usage is what people are billed by.
            let at = self
                .items
                .iter()
                .position(|i| matches!(i, Recording::Detail(_)))
                .unwrap_or(0);
            self.items.remove(at);
            self.dropped += 1;
        }
    }
}

/// At most this many records wait for a shared store that went away.
const MAX_BACKLOG: usize = 50_000;

/// How often a lost shared store is tried again.
const RECONNECT: Duration = Duration::from_secs(1);

/// Whether `e` says the shared store went away (and the batch may be written again later),
/// rather than that the batch itself was refused.
fn store_lost(e: &StoreError) -> bool {
    match e {
        // Connection exceptions (08), an operator's shutdown or termination (57) and a
        // server out of resources (53) pass; anything else is about the batch.
        StoreError::Postgres(pg) => {
            pg.is_closed()
                || pg
                    .code()
                    .is_none_or(|c| ["08", "57", "53"].iter().any(|k| c.code().starts_with(k)))
        }
        _ => false,
    }
}

fn run(core: &Core, mut conn: Option<Box<dyn Db>>, queue: &Receiver<Recording>) {
    let shared = core.store.kind() == "postgres";
    let mut backlog = Backlog::default();
    let mut retention = Retention::default();
    let mut stopping = false;
    while !stopping {
        let Some(db) = conn.as_mut() else {
            match core.store.connect_writer() {
                Ok(c) => {
                    conn = Some(c);
                    retention = Retention::default();
                    core.store_reachable(true);
                }
                // Waits for the store, keeping what comes meanwhile.
                Err(_) => match queue.recv_timeout(RECONNECT) {
                    Ok(Recording::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                    Ok(item) => backlog.push(item),
                    Err(RecvTimeoutError::Timeout) => {}
                },
            }
            core.store_link.set_backlog(backlog.items.len());
            continue;
        };
        let replayed = backlog.items.len();
        let first = match backlog.items.pop_front() {
            Some(item) => item,
            None => match queue.recv() {
                Ok(Recording::Stop) | Err(_) => break,
                Ok(item) => item,
            },
        };
        let flush_at = Instant::now() + FLUSH_INTERVAL;
        let cx = Context::new(core);
        let mut batch = Batch::default();
        // The first item is kept with the batch before anything can fail.
        batch.kept.push(first);
        let result = (|| -> Result<(), StoreError> {
            let mut tx = db.transaction()?;
            // Replayed items were counted against key budgets and the inspector already.
            if let Some(first) = batch.kept.pop() {
                write(
                    &mut *tx,
                    &cx,
                    &mut retention,
                    &mut batch,
                    first,
                    replayed > 0,
                )?;
            }
            while batch.items < MAX_BATCH
                && let Some(item) = backlog.items.pop_front()
            {
                write(&mut *tx, &cx, &mut retention, &mut batch, item, true)?;
            }
            'gather: loop {
                for item in queue.try_iter() {
                    if matches!(item, Recording::Stop) {
                        stopping = true;
                        break 'gather;
                    }
                    write(&mut *tx, &cx, &mut retention, &mut batch, item, false)?;
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
            tx.commit()
        })();
        match result {
            Ok(()) => {
                if batch.details {
                    // Other hosts add to a shared table too: its size is read again, so the
                    // limits hold for the table, not for this host's share of it.
                    if shared {
                        retention = Retention::default();
                    }
                    let limits = Limits::from(&cx.catalog.settings.observability);
                    if let Err(e) = retention.enforce(&mut **db, limits) {
                        tracing::warn!("could not prune the inspector: {e}");
                        retention = Retention::default();
                        if shared && store_lost(&e) {
                            conn = None;
                            core.store_reachable(false);
                        }
                    }
                }
                announce(core, batch);
            }
            Err(e) if shared && store_lost(&e) => {
                // Kept for when the store is back; the connection is made anew.
                let kept = std::mem::take(&mut batch.kept);
                let waiting: Vec<Recording> = backlog.items.drain(..).collect();
                kept.into_iter()
                    .chain(waiting)
                    .for_each(|i| backlog.push(i));
                conn = None;
                core.store_reachable(false);
                tracing::warn!(
                    waiting = backlog.items.len(),
                    "the shared store went away; usage waits for it: {e}"
                );
            }
            Err(e) => {
                tracing::error!(
                    items = batch.items,
                    "could not save usage and inspector records: {e}"
                );
                // The counters may no longer match the table: read them again next time.
                retention = Retention::default();
            }
        }
        core.store_link.set_backlog(backlog.items.len());
        if backlog.dropped > 0 {
            tracing::warn!(
                dropped = backlog.dropped,
                "records were dropped while the shared store was away"
            );
            backlog.dropped = 0;
        }
    }
    // Anything still queued behind the stop, after what waited for the store.
    let rest: Vec<Recording> = backlog.items.drain(..).chain(queue.try_iter()).collect();
    let Some(db) = conn.as_mut() else {
        if !rest.is_empty() {
            tracing::error!(
                lost = rest.len(),
                "the shared store is away: the last records are lost"
            );
        }
        return;
    };
    if !rest.is_empty() {
        let cx = Context::new(core);
        let mut batch = Batch::default();
        let result = db.transaction().and_then(|mut tx| {
            for item in rest {
                write(&mut *tx, &cx, &mut retention, &mut batch, item, false)?;
            }
            tx.commit()
        });
        if let Err(e) = result {
            tracing::error!("could not save the last usage records: {e}");
        }
    }
}

/// Announces a committed batch's finished requests, if anyone listens.
fn announce(core: &Core, batch: Batch) {
    if !core.events().has_subscribers() {
        return;
    }
    let usage = batch.kept.into_iter().filter_map(|item| match item {
        Recording::Usage(record) => Some(record),
        _ => None,
    });
    for (record, (u, cost)) in usage.zip(batch.priced) {
        core.events().publish(finished_event(*record, u, cost));
    }
}

/// Writes one item into the open transaction; `replay`: it was written before, into a
/// transaction a lost store never committed.
fn write(
    tx: &mut dyn Sql,
    cx: &Context<'_>,
    retention: &mut Retention,
    batch: &mut Batch,
    item: Recording,
    replay: bool,
) -> Result<(), StoreError> {
    batch.items += 1;
    let written = write_item(tx, cx, retention, batch, &item, replay);
    // Kept whatever happened: a store that went away takes it again later.
    batch.kept.push(item);
    written
}

fn write_item(
    tx: &mut dyn Sql,
    cx: &Context<'_>,
    retention: &mut Retention,
    batch: &mut Batch,
    item: &Recording,
    replay: bool,
) -> Result<(), StoreError> {
    match item {
        Recording::Usage(record) => {
            let (usage, cost, billed) = insert(tx, &cx.catalog, record)?;
            if !replay
                && let Some(key) = &record.key_id
                && cx.catalog.key_limits(key).is_some()
            {
                let used = usage.prompt_total() + usage.output;
                let usd = if billed { cost } else { 0.0 };
                cx.core.key_budgets.charge(key, used, usd, now_ms());
            }
            if cx.catalog.settings.observability.inspector {
                batch.counted.insert(record.request_id.clone(), usage);
            }
            batch.priced.push((usage, cost));
        }
        Recording::Detail(message) => {
            if !replay {
                cx.core.inspector.taken(message);
            }
            batch.details = true;
            let counted = &batch.counted;
            inspector::apply(
                tx,
                std::slice::from_ref(message),
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
