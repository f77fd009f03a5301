//! The recording thread: writes usage records and inspector detail on a connection of its
//! own. The first item opens a transaction; what queues after it is taken in every drain tick
//! and written at once; the transaction is committed one flush interval after it opened. A
//! commit rewrites whole pages of the tables and their indexes, so a busy router makes few,
//! large commits, while the work between them stays spread out instead of arriving in one
//! burst. Finished requests are announced once they are committed.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, LazyLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::engine::Core;
use crate::events::EngineEvent;
use crate::format::{self, Api, Usage};
use crate::inspector::{self, DetailMessage, Limits, Redactor, Retention};
use crate::providers::{self, Tier};
use crate::store::sql::ToArg;
use crate::store::{Db, Sql, StoreError};
use crate::usage::{Recording, Tokens, UsageRecord};

/// At most this many items per transaction, so one commit never holds the database long.
const MAX_BATCH: usize = 4096;

/// How long a transaction stays open before it is committed: what a crash can lose at most.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);

/// How often an open transaction takes in what has queued. Each tick wakes this thread, and
/// on two busy cores a wake-up costs more than the records a few milliseconds bring.
const DRAIN_TICK: Duration = Duration::from_millis(10);

/// Starts the recording thread on its own connection; it ends after `Recorder::stop`.
pub fn spawn(
    core: Arc<Core>,
    queue: Receiver<Recording>,
    at_rest: Option<fn()>,
) -> Result<JoinHandle<()>, StoreError> {
    // SQLite opens here, so that a database that cannot be written stops the start. A shared
    // store connects on the thread (a PostgreSQL connection blocks, which an async caller may
    // not), and its records wait while it is out of reach.
    let opened = match core.store.kind() {
        "postgres" => None,
        _ => Some(core.store.connect_writer()?),
    };
    std::thread::Builder::new()
        .name("ninerouter-recorder".into())
        .spawn(move || {
            let conn = opened.or_else(|| match core.store.connect_writer() {
                Ok(conn) => Some(conn),
                Err(e) => {
                    tracing::warn!("the shared store is out of reach: {e}");
                    core.store_reachable(false);
                    None
                }
            });
            run(&core, conn, &queue, at_rest);
        })
        .map_err(|e| StoreError::Worker(format!("cannot start the recording thread: {e}")))
}

/// What one transaction writes with.
struct Context {
    catalog: Arc<Catalog>,
    redactor: Redactor,
    /// Someone listens for finished requests (the dashboard, the tray).
    announcing: bool,
}

impl Context {
    fn new(core: &Core) -> Self {
        Self {
            catalog: core.catalog(),
            redactor: Redactor::new(core.known_secrets()),
            announcing: core.events().has_subscribers(),
        }
    }
}

/// A record taken off the queue: settled once (its key's budget charged, the inspector's
/// queue budget given back), then written, and written again if a shared store went away
/// before the commit.
enum Pending {
    Usage(Priced),
    Detail(DetailMessage),
}

/// A usage record with its counts and price settled.
struct Priced {
    record: Box<UsageRecord>,
    usage: Usage,
    cost: f64,
    billed: bool,
    priced: bool,
}

impl Pending {
    fn is_detail(&self) -> bool {
        matches!(self, Pending::Detail(_))
    }
}

/// Settles what was taken off the queue; `None` for the stop.
fn accept(core: &Core, catalog: &Catalog, item: Recording) -> Option<Pending> {
    match item {
        Recording::Usage(mut record) => {
            let (usage, cost, billed, priced) = price(catalog, &record);
            // The answer's body was kept only to count its tokens.
            record.tokens = Tokens::Counted(usage);
            if let Some(key) = &record.key_id
                && catalog.key_limits(key).is_some()
            {
                let used = usage.prompt_total() + usage.output;
                let usd = if billed { cost } else { 0.0 };
                core.key_budgets.charge(key, used, usd, now_ms());
            }
            Some(Pending::Usage(Priced {
                record,
                usage,
                cost,
                billed,
                priced,
            }))
        }
        Recording::Detail(message) => {
            core.inspector.taken(&message);
            Some(Pending::Detail(message))
        }
        Recording::Stop => None,
    }
}

/// What one open transaction has gathered.
#[derive(Default)]
struct Batch {
    items: usize,
    /// Counts read for usage records, reused for the same requests' inspector entries.
    counted: HashMap<String, Usage>,
    /// What was written, kept until the commit: usage records to announce, and on a shared
    /// store everything, to write again if the store went away before the commit.
    kept: Vec<Pending>,
    /// Usage records not yet inserted: they go in `ROWS_PER_INSERT` at a time.
    rows: Vec<Priced>,
    details: bool,
}

/// Usage records inserted by one statement: a statement's own cost (finding it in the cache,
/// binding, running and resetting it) was a third of a single row's insert (issue 19).
const ROWS_PER_INSERT: usize = 32;

/// Records waiting for a shared store that went away, oldest first.
#[derive(Default)]
struct Backlog {
    items: VecDeque<Pending>,
    details: usize,
    dropped: u64,
}

impl Backlog {
    fn push(&mut self, item: Pending) {
        self.details += usize::from(item.is_detail());
        self.items.push_back(item);
        // Inspector detail goes first (it can be large): usage is what people are billed by.
        while self.items.len() > MAX_BACKLOG || self.details > MAX_BACKLOG_DETAILS {
            let at = self.items.iter().position(Pending::is_detail).unwrap_or(0);
            if let Some(gone) = self.items.remove(at) {
                self.details -= usize::from(gone.is_detail());
            }
            self.dropped += 1;
        }
    }

    fn pop(&mut self) -> Option<Pending> {
        let item = self.items.pop_front()?;
        self.details -= usize::from(item.is_detail());
        Some(item)
    }
}

/// At most this many records wait for a shared store that went away,
const MAX_BACKLOG: usize = 50_000;
/// of which this many inspector details (each up to four bodies).
const MAX_BACKLOG_DETAILS: usize = 1_000;

/// How often a lost shared store is tried again.
const RECONNECT: Duration = Duration::from_secs(1);

/// Whether `e` says the shared store went away (and the batch may be written again later),
/// rather than that the batch itself was refused: the connection closed or failed, a
/// connection exception (08), the server shutting down or ending the session (57P01-57P03),
/// or out of resources (53). A statement timeout or a refused value is about the batch.
fn store_lost(e: &StoreError) -> bool {
    let StoreError::Postgres(pg) = e else {
        return false;
    };
    let io = std::error::Error::source(pg).is_some_and(|s| s.is::<std::io::Error>());
    pg.is_closed()
        || io
        || pg.code().is_some_and(|c| {
            let c = c.code();
            c.starts_with("08") || c.starts_with("53") || ["57P01", "57P02", "57P03"].contains(&c)
        })
}

/// How long the queue stays empty after some work before the router counts as at rest.
const AT_REST_AFTER: Duration = Duration::from_secs(1);

/// The next item to record. Once the queue has stayed empty for `AT_REST_AFTER` after some
/// work, `at_rest` runs (once per quiet spell; an idle router is not woken for it).
fn next_item(
    queue: &Receiver<Recording>,
    rested: &mut bool,
    quiet: Duration,
    at_rest: Option<fn()>,
) -> Result<Recording, std::sync::mpsc::RecvError> {
    if !*rested {
        match queue.recv_timeout(quiet) {
            Ok(item) => return Ok(item),
            Err(RecvTimeoutError::Disconnected) => return Err(std::sync::mpsc::RecvError),
            Err(RecvTimeoutError::Timeout) => {
                *rested = true;
                if let Some(at_rest) = at_rest {
                    at_rest();
                }
            }
        }
    }
    let item = queue.recv();
    *rested = false;
    item
}

fn run(
    core: &Core,
    mut conn: Option<Box<dyn Db>>,
    queue: &Receiver<Recording>,
    at_rest: Option<fn()>,
) {
    let shared = core.store.kind() == "postgres";
    // At start nothing has been done yet: nothing to give back.
    let mut rested = true;
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
                    Ok(item) => {
                        if let Some(p) = accept(core, &core.catalog(), item) {
                            backlog.push(p);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                },
            }
            core.store_link.set_backlog(backlog.items.len());
            continue;
        };
        // While records wait for the store, newer ones queue behind them: a stream's end is
        // never written before its beginning.
        if !backlog.items.is_empty() {
            let catalog = core.catalog();
            for item in queue.try_iter() {
                match accept(core, &catalog, item) {
                    Some(p) => backlog.push(p),
                    None => {
                        stopping = true;
                        break;
                    }
                }
            }
        }
        let (first, cx) = match backlog.pop() {
            Some(p) => (p, Context::new(core)),
            None if stopping => break,
            None => match next_item(queue, &mut rested, AT_REST_AFTER, at_rest) {
                // The catalog as it is when work arrives (prices may have changed meanwhile).
                Ok(item) => {
                    let cx = Context::new(core);
                    match accept(core, &cx.catalog, item) {
                        Some(p) => (p, cx),
                        None => break,
                    }
                }
                Err(_) => break,
            },
        };
        let replaying = !backlog.items.is_empty();
        let flush_at = Instant::now() + FLUSH_INTERVAL;
        let mut batch = Batch::default();
        let mut pending = Some(first);
        let result = (|| -> Result<(), StoreError> {
            let mut tx = db.transaction()?;
            if let Some(p) = pending.take() {
                write(&mut *tx, &cx, &mut retention, &mut batch, p, shared)?;
            }
            if replaying {
                while batch.items < MAX_BATCH
                    && let Some(p) = backlog.pop()
                {
                    write(&mut *tx, &cx, &mut retention, &mut batch, p, shared)?;
                }
                flush_rows(&mut *tx, &mut batch, shared || cx.announcing)?;
                return tx.commit();
            }
            'gather: loop {
                for item in queue.try_iter() {
                    let Some(p) = accept(core, &cx.catalog, item) else {
                        stopping = true;
                        break 'gather;
                    };
                    write(&mut *tx, &cx, &mut retention, &mut batch, p, shared)?;
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
            flush_rows(&mut *tx, &mut batch, shared || cx.announcing)?;
            tx.commit()
        })();
        match result {
            Ok(()) => {
                if batch.details {
                    // Other hosts add to and prune a shared table too: the limits hold for the
                    // table, not for this host's share of it.
                    let limits = Limits::from(&cx.catalog.settings.observability);
                    let pruned = if shared {
                        Retention::enforce_shared(&mut **db, limits)
                    } else {
                        retention.enforce(&mut **db, limits)
                    };
                    if let Err(e) = pruned {
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
                // Kept for when the store is back, in their order; the connection is made
                // anew.
                // Usage records not yet inserted go after the details that came with them:
                // a detail replayed without its usage record reads its counts again.
                let written = std::mem::take(&mut batch.kept).into_iter().chain(
                    std::mem::take(&mut batch.rows)
                        .into_iter()
                        .map(Pending::Usage),
                );
                let waiting: Vec<Pending> = std::iter::from_fn(|| backlog.pop()).collect();
                pending
                    .into_iter()
                    .chain(written)
                    .chain(waiting)
                    .for_each(|p| backlog.push(p));
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
    let catalog = core.catalog();
    let rest: Vec<Pending> = std::iter::from_fn(|| backlog.pop())
        .chain(
            queue
                .try_iter()
                .filter_map(|item| accept(core, &catalog, item)),
        )
        .collect();
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
            for p in rest {
                write(&mut *tx, &cx, &mut retention, &mut batch, p, false)?;
            }
            flush_rows(&mut *tx, &mut batch, false)?;
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
    for p in batch.kept {
        if let Pending::Usage(u) = p {
            core.events()
                .publish(finished_event(*u.record, u.usage, u.cost));
        }
    }
}

/// Writes one record into the open transaction, or queues it for the next multi-row insert,
/// and keeps it with the batch: everything when `keep_all` (a shared store, to write again),
/// else usage only while someone listens for it.
fn write(
    tx: &mut dyn Sql,
    cx: &Context,
    retention: &mut Retention,
    batch: &mut Batch,
    item: Pending,
    keep_all: bool,
) -> Result<(), StoreError> {
    batch.items += 1;
    let message = match item {
        Pending::Usage(u) => {
            if u.record.listed {
                batch.counted.insert(u.record.request_id.clone(), u.usage);
            }
            batch.rows.push(u);
            if batch.rows.len() >= ROWS_PER_INSERT {
                flush_rows(tx, batch, keep_all || cx.announcing)?;
            }
            return Ok(());
        }
        Pending::Detail(message) => message,
    };
    batch.details = true;
    let counted = &batch.counted;
    let written = inspector::apply(
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
    );
    if keep_all {
        batch.kept.push(Pending::Detail(message));
    }
    written
}

/// Inserts the usage records queued in the batch, and keeps them if `keep`: kept even when the
/// insert fails, so that a shared store that went away gets them again.
fn flush_rows(tx: &mut dyn Sql, batch: &mut Batch, keep: bool) -> Result<(), StoreError> {
    let rows = std::mem::take(&mut batch.rows);
    let written = insert(tx, &rows);
    if keep {
        batch.kept.extend(rows.into_iter().map(Pending::Usage));
    }
    written
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

/// A usage record's counts, cost, whether it is billed (subscription and free tokens are not:
/// their API-price cost is what was saved), and whether a price was known.
fn price(catalog: &Catalog, r: &UsageRecord) -> (Usage, f64, bool, bool) {
    let u = tokens(r.api, r.status, &r.tokens);
    let price = match (&r.provider, &r.model) {
        (Some(provider), Some(model)) => catalog.price_of(provider, model),
        _ => None,
    };
    let cost = price.map_or(0.0, |p| p.cost(&u));
    let billed = r
        .provider
        .as_deref()
        .and_then(providers::find)
        .is_none_or(|p| matches!(p.tier, Tier::ApiKey | Tier::Cheap));
    (u, cost, billed, price.is_some())
}

const USAGE_COLUMNS: &str = "started_ms, api, endpoint, requested_model, provider, model,
    account_id, attempts, status, input_tokens, cached_tokens, cache_write_tokens, output_tokens,
    reasoning_tokens, cost, priced, billed, streamed, ttft_ms, latency_ms, request_id, key_id,
    combo, limited";
const USAGE_WIDTH: usize = 24;

/// `INSERT INTO usage_events … VALUES (?1, …), (…)` for `rows` rows.
fn insert_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=USAGE_WIDTH)
                .map(|i| format!("?{}", row * USAGE_WIDTH + i))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO usage_events ({USAGE_COLUMNS}) VALUES {}",
        values.join(", ")
    )
}

/// A usage row's values that are not fields of its record.
struct Derived {
    api: &'static str,
    attempts: String,
    counts: [i64; 5],
}

impl Derived {
    fn of(p: &Priced) -> Self {
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let u = p.usage;
        Self {
            api: p.record.api.name(),
            attempts: serde_json::to_string(&p.record.attempts).unwrap_or_else(|_| "[]".into()),
            counts: [u.input, u.cache_read, u.cache_write, u.output, u.reasoning].map(as_i64),
        }
    }
}

/// Inserts usage records, `ROWS_PER_INSERT` to a statement and the rest one by one (one
/// statement text per size would crowd the statement cache).
fn insert(tx: &mut dyn Sql, rows: &[Priced]) -> Result<(), StoreError> {
    static MANY: LazyLock<String> = LazyLock::new(|| insert_sql(ROWS_PER_INSERT));
    static ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));
    let rows: Vec<(&Priced, Derived)> = rows.iter().map(|u| (u, Derived::of(u))).collect();
    let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
    for chunk in chunks.by_ref() {
        tx.execute(&MANY, &usage_args(chunk))?;
    }
    for row in chunks.remainder() {
        tx.execute(&ONE, &usage_args(std::slice::from_ref(row)))?;
    }
    Ok(())
}

/// The parameters of `rows`, in `USAGE_COLUMNS` order.
fn usage_args<'a>(rows: &'a [(&'a Priced, Derived)]) -> Vec<&'a dyn ToArg> {
    let mut args: Vec<&dyn ToArg> = Vec::with_capacity(rows.len() * USAGE_WIDTH);
    for (u, d) in rows {
        let r = &u.record;
        let [input, cached, cache_write, output, reasoning] = &d.counts;
        args.extend([
            &r.started_ms as &dyn ToArg,
            &d.api,
            &r.endpoint,
            &r.requested_model,
            &r.provider,
            &r.model,
            &r.account_id,
            &d.attempts,
            &r.status,
            input,
            cached,
            cache_write,
            output,
            reasoning,
            &u.cost,
            &u.priced,
            &u.billed,
            &r.streamed,
            &r.ttft_ms,
            &r.latency_ms,
            &r.request_id,
            &r.key_id,
            &r.combo,
            &r.limited,
        ]);
    }
    debug_assert_eq!(args.len(), rows.len() * USAGE_WIDTH);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspector::Tokens;
    use crate::store::SqlExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RESTS: AtomicUsize = AtomicUsize::new(0);

    fn count_rest() {
        RESTS.fetch_add(1, Ordering::SeqCst);
    }

    /// A usage record whose every column differs from its neighbours' in its own way.
    fn record(i: i64) -> Priced {
        let n = u64::try_from(i).unwrap_or_default();
        let some_if = |yes: bool, v: String| yes.then_some(v);
        Priced {
            record: Box::new(UsageRecord {
                request_id: format!("r{i}"),
                started_ms: 1_000 + i,
                api: if i % 2 == 0 {
                    Api::OpenaiChat
                } else {
                    Api::Anthropic
                },
                endpoint: if i % 3 == 0 {
                    "/v1/chat/completions"
                } else {
                    "/v1/messages"
                },
                key_id: some_if(i % 2 == 0, format!("k{i}")),
                combo: some_if(i % 4 == 0, format!("c{i}")),
                requested_model: format!("m{i}"),
                provider: some_if(i % 3 != 0, format!("p{i}")),
                model: some_if(i % 5 != 0, format!("u{i}")),
                account_id: some_if(i % 7 != 0, format!("a{i}")),
                attempts: (0..i % 3)
                    .map(|t| crate::events::Attempt {
                        target: format!("t{i}.{t}"),
                        account_id: format!("a{t}"),
                        class: crate::routing::FailureClass::RateLimit,
                        status: Some(429),
                    })
                    .collect(),
                status: if i % 2 == 0 { 200 } else { 429 },
                tokens: Tokens::None,
                streamed: i % 3 == 1,
                ttft_ms: (i % 2 == 0).then_some(10 * i),
                latency_ms: 2 * i,
                limited: (i % 5 == 0).then_some("rpm"),
                listed: false,
            }),
            usage: Usage {
                input: n,
                cache_read: 2 * n + 1,
                cache_write: 3 * n + 2,
                output: 5 * n + 3,
                reasoning: 7 * n + 4,
            },
            cost: i as f64 / 8.0,
            billed: i % 4 == 1,
            priced: i % 5 == 2,
        }
    }

    /// Each column of `usage_events`, in the insert's order, as text (`-` for NULL).
    const EVERY_COLUMN: [&str; USAGE_WIDTH] = [
        "started_ms",
        "api",
        "endpoint",
        "requested_model",
        "coalesce(provider, '-')",
        "coalesce(model, '-')",
        "coalesce(account_id, '-')",
        "attempts",
        "status",
        "input_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cost",
        "priced",
        "billed",
        "streamed",
        "coalesce(ttft_ms, '-')",
        "latency_ms",
        "request_id",
        "coalesce(key_id, '-')",
        "coalesce(combo, '-')",
        "coalesce(limited, '-')",
    ];

    fn expected(p: &Priced) -> String {
        let Priced {
            record: r,
            usage: u,
            cost,
            billed,
            priced,
        } = p;
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        [
            r.started_ms.to_string(),
            r.api.name().into(),
            r.endpoint.into(),
            r.requested_model.clone(),
            or_dash(&r.provider),
            or_dash(&r.model),
            or_dash(&r.account_id),
            serde_json::to_string(&r.attempts).unwrap_or_default(),
            r.status.to_string(),
            u.input.to_string(),
            u.cache_read.to_string(),
            u.cache_write.to_string(),
            u.output.to_string(),
            u.reasoning.to_string(),
            format!("{cost:?}"),
            i32::from(*priced).to_string(),
            i32::from(*billed).to_string(),
            i32::from(r.streamed).to_string(),
            r.ttft_ms.map_or_else(|| "-".into(), |t| t.to_string()),
            r.latency_ms.to_string(),
            r.request_id.clone(),
            or_dash(&r.key_id),
            or_dash(&r.combo),
            r.limited.unwrap_or("-").into(),
        ]
        .join("|")
    }

    #[test]
    fn usage_rows_inserted_many_to_a_statement_keep_each_rows_values() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store =
            crate::store::Store::open(&dir.path().join("u.db")).unwrap_or_else(|e| panic!("{e}"));
        let mut db = store.connect_writer().unwrap_or_else(|e| panic!("{e}"));
        // Two full statements and a remainder, in one transaction.
        let total = 2 * ROWS_PER_INSERT as i64 + 5;
        let rows: Vec<Priced> = (0..total).map(record).collect();
        let mut tx = db.transaction().unwrap_or_else(|e| panic!("{e}"));
        insert(&mut *tx, &rows).unwrap_or_else(|e| panic!("{e}"));
        tx.commit().unwrap_or_else(|e| panic!("{e}"));
        let columns = EVERY_COLUMN.join(" || '|' || ");
        let read: Vec<String> = db
            .rows(
                &format!("SELECT {columns} FROM usage_events ORDER BY id"),
                &[],
                |mut r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let wanted: Vec<String> = rows.iter().map(expected).collect();
        assert_eq!(read.len(), wanted.len());
        for (got, want) in read.iter().zip(&wanted) {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn memory_is_given_back_once_per_quiet_spell_and_never_before_any_work() {
        let quiet = Duration::from_millis(20);
        let (tx, rx) = std::sync::mpsc::channel();
        // At start: nothing done yet, so waiting does not count as a rest.
        let mut rested = true;
        tx.send(Recording::Stop).unwrap_or_else(|e| panic!("{e}"));
        assert!(next_item(&rx, &mut rested, quiet, Some(count_rest)).is_ok());
        assert_eq!(RESTS.load(Ordering::SeqCst), 0);
        // After work, a quiet spell gives memory back, once, and the wait goes on.
        let sender = std::thread::spawn(move || {
            while RESTS.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            tx.send(Recording::Stop).unwrap_or_else(|e| panic!("{e}"));
            tx
        });
        assert!(next_item(&rx, &mut rested, quiet, Some(count_rest)).is_ok());
        assert_eq!(RESTS.load(Ordering::SeqCst), 1);
        let tx = sender.join().unwrap_or_else(|_| panic!("sender"));
        // Work that keeps coming within the quiet time does not count as a rest.
        tx.send(Recording::Stop).unwrap_or_else(|e| panic!("{e}"));
        assert!(next_item(&rx, &mut rested, quiet, Some(count_rest)).is_ok());
        assert_eq!(RESTS.load(Ordering::SeqCst), 1);
    }
}
