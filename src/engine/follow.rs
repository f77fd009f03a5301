//! On a shared store, what another host changes reaches this one. Triggers in the database
//! send a notice on every committed change (see `postgres_schema.rs`): `ninerouter_catalog`
//! for the configuration (settings, nodes, accounts, secrets, combos, aliases, keys, prices),
//! `ninerouter_cooldowns`, `ninerouter_circuits` and `ninerouter_quotas` for what hosts learn
//! about accounts and endpoints (this host's own circuit changes are written here too). A
//! thread listens (a blocking connection of its own) and this host reloads what changed;
//! every `RESYNC` it reloads all of it anyway, for notices missed while the connection was
//! down. A host that cannot reach the database keeps routing with what it has.

use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use tokio::sync::{mpsc, watch};

use crate::clock::now_ms;
use crate::routing::CircuitChange;
use crate::state::Core;
use crate::store;
use crate::usage;

/// How often everything is read again, notices or not.
const RESYNC: Duration = Duration::from_secs(30);
/// How long the listener waits for a notice before checking whether it should stop.
const POLL: Duration = Duration::from_millis(500);
/// The longest wait between attempts to reach a database that went away.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Catalog,
    Cooldowns,
    Circuits,
    Quotas,
    /// Sessions ended on another host: this host's cache of them is dropped.
    Sessions,
    /// The listener (re)connected: notices may have been missed.
    All,
}

impl Change {
    fn of_channel(channel: &str) -> Option<Self> {
        match channel {
            "ninerouter_catalog" => Some(Self::Catalog),
            "ninerouter_cooldowns" => Some(Self::Cooldowns),
            "ninerouter_circuits" => Some(Self::Circuits),
            "ninerouter_sessions" => Some(Self::Sessions),
            "ninerouter_quotas" => Some(Self::Quotas),
            _ => None,
        }
    }
}

/// Starts following the shared store; returns `None` for SQLite, which no one else writes.
pub fn spawn(core: Arc<Core>, stop: watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
    if core.store.kind() != "postgres" {
        return None;
    }
    let (circuits_tx, circuits_rx) = mpsc::unbounded_channel();
    core.proxy.routing.circuits.share_with(circuits_tx);
    tokio::spawn(write_circuits(
        core.store.clone(),
        circuits_rx,
        stop.clone(),
    ));
    let (tx, rx) = mpsc::unbounded_channel();
    let listener_core = core.clone();
    let started = std::thread::Builder::new()
        .name("ninerouter-listen".into())
        .spawn(move || listen(&listener_core, &tx));
    if let Err(e) = started {
        tracing::error!("cannot follow the shared store: {e}");
        return None;
    }
    Some(tokio::spawn(apply(core, rx, stop)))
}

/// The listening thread: ends when the applying task is gone.
fn listen(core: &Core, tx: &mpsc::UnboundedSender<Change>) {
    let mut backoff = Duration::from_millis(250);
    while !tx.is_closed() {
        let client = core.store.connect_postgres().and_then(|c| c.ok());
        let Some(mut client) = client.and_then(|mut c| {
            c.batch_execute(
                "LISTEN ninerouter_catalog; LISTEN ninerouter_cooldowns; \
                 LISTEN ninerouter_circuits; LISTEN ninerouter_quotas; LISTEN ninerouter_sessions",
            )
            .ok()
            .map(|()| c)
        }) else {
            core.store_reachable(false);
            // Waits in short steps, so that a stopping engine is not held up.
            let mut waited = Duration::ZERO;
            while waited < backoff && !tx.is_closed() {
                std::thread::sleep(POLL);
                waited += POLL;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        };
        backoff = Duration::from_millis(250);
        core.store_reachable(true);
        if tx.send(Change::All).is_err() {
            return;
        }
        loop {
            let next = client.notifications().timeout_iter(POLL).next();
            match next {
                // This host's own changes are in force here already.
                Ok(Some(n)) if Some(n.payload()) == core.store.host_name() => {}
                Ok(Some(n)) => {
                    if let Some(change) = Change::of_channel(n.channel())
                        && tx.send(change).is_err()
                    {
                        return;
                    }
                }
                Ok(None) => {
                    if tx.is_closed() {
                        return;
                    }
                    // A quiet connection may have died without a word: ask it.
                    if client.is_closed() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::debug!("the shared store's notices stopped: {e}");
                    break;
                }
            }
        }
    }
}

/// Reloads what changed, a burst of notices at a time.
async fn apply(
    core: Arc<Core>,
    mut rx: mpsc::UnboundedReceiver<Change>,
    mut stop: watch::Receiver<bool>,
) {
    let mut resync = tokio::time::interval(RESYNC);
    resync.tick().await;
    loop {
        let first = tokio::select! {
            change = rx.recv() => match change {
                Some(c) => c,
                None => return,
            },
            _ = resync.tick() => Change::All,
            _ = stop.wait_for(|s| *s) => return,
        };
        let mut changes = vec![first];
        while let Ok(more) = rx.try_recv() {
            changes.push(more);
        }
        let all = changes.contains(&Change::All);
        let wants = |c: Change| all || changes.contains(&c);
        if wants(Change::Catalog)
            && let Err(e) = core.reload("shared store").await
        {
            tracing::warn!("could not reload the configuration from the shared store: {e}");
        }
        if wants(Change::Cooldowns) {
            match core
                .store
                .call(|c| store::load_cooldowns(c, now_ms()))
                .await
            {
                Ok(stored) => core.proxy.routing.cooldowns.replace_with(stored, now_ms()),
                Err(e) => tracing::warn!("could not read the shared cooldowns: {e}"),
            }
        }
        if wants(Change::Circuits) {
            match core.store.call(|c| store::load_circuits(c, now_ms())).await {
                Ok(open) => core.proxy.routing.circuits.adopt(&open, now_ms()),
                Err(e) => tracing::warn!("could not read the shared circuits: {e}"),
            }
        }
        // Daily cost limits count every host's requests (within a resync).
        if all {
            let now = now_ms();
            match core
                .store
                .call(move |c| usage::billed_today_by_key(c, now))
                .await
            {
                Ok(billed) => {
                    for (key, usd) in billed {
                        core.key_budgets.spent_today_at_least(&key, usd, now);
                    }
                }
                Err(e) => tracing::warn!("could not read what keys spent on other hosts: {e}"),
            }
        }
        // Sessions are read again from the store on demand: dropped only while it answers, so
        // that an outage does not lock the dashboard out of saying so.
        if changes.contains(&Change::Sessions) || (all && !core.store_link.is_down()) {
            core.admin.sessions.close_all();
        }
        if wants(Change::Quotas) {
            match core.store.call(|c| usage::load_snapshots(c)).await {
                Ok(saved) => core.proxy.quotas.restore(saved),
                Err(e) => tracing::warn!("could not read the shared quota state: {e}"),
            }
        }
    }
}

/// Writes the circuits this host opens and closes, a batch at a time.
async fn write_circuits(
    store: store::Store,
    changes: mpsc::UnboundedReceiver<CircuitChange>,
    stop: watch::Receiver<bool>,
) {
    store::in_batches(changes, stop, 256, |batch| {
        let store = store.clone();
        async move {
            let written = store
                .call(move |c| {
                    let mut tx = c.transaction()?;
                    for change in &batch {
                        match change {
                            CircuitChange::Opened(s) => store::open_circuit(&mut *tx, s)?,
                            CircuitChange::Closed { provider, endpoint } => {
                                store::close_circuit(&mut *tx, provider, endpoint)?;
                            }
                        }
                    }
                    tx.commit()
                })
                .await;
            if let Err(e) = written {
                tracing::warn!("could not share circuit states: {e}");
            }
        }
    })
    .await;
}
