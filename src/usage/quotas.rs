//! The quota snapshots in memory (read by the API, the tray and routing) and their writer.

use std::collections::HashMap;
use std::sync::RwLock;

use rusqlite::{Connection, params};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;

use crate::events::{EngineEvent, EventBus};
use crate::quota::{QuotaSnapshot, QuotaSource};
use crate::store::{self, Store, StoreError};

pub struct Quotas {
    snapshots: RwLock<HashMap<String, QuotaSnapshot>>,
    saves: UnboundedSender<QuotaSnapshot>,
    events: EventBus,
}

impl Quotas {
    pub fn new(events: EventBus) -> (Self, UnboundedReceiver<QuotaSnapshot>) {
        let (saves, rx) = tokio::sync::mpsc::unbounded_channel();
        let me = Self {
            snapshots: RwLock::default(),
            saves,
            events,
        };
        (me, rx)
    }

    pub fn restore(&self, saved: Vec<QuotaSnapshot>) {
        let mut map = self.snapshots.write().unwrap_or_else(|p| p.into_inner());
        for s in saved {
            map.insert(s.account_id.clone(), s);
        }
    }

    /// Replaces an account's snapshot, saves it and tells subscribers.
    pub fn put(&self, snapshot: QuotaSnapshot) {
        let account_id = snapshot.account_id.clone();
        self.snapshots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id.clone(), snapshot.clone());
        let _ = self.saves.send(snapshot);
        self.events
            .publish(EngineEvent::QuotaUpdated { account_id });
    }

    /// Records a failed fetch: the last good windows stay, with the error beside them.
    pub fn put_error(&self, account_id: &str, error: String, now_ms: i64) {
        let previous = self.get(account_id);
        self.put(QuotaSnapshot {
            account_id: account_id.to_owned(),
            windows: previous.map(|p| p.windows).unwrap_or_default(),
            source: QuotaSource::Api,
            fetched_ms: now_ms,
            error: Some(error),
        });
    }

    pub fn get(&self, account_id: &str) -> Option<QuotaSnapshot> {
        self.snapshots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(account_id)
            .cloned()
    }

    /// When an account may be used again, if one of its windows is used up and resets later:
    /// routing skips it until then instead of finding out by a refused request. Windows that
    /// never reset (credit balances) are left to the provider's answer, since a top-up does
    /// not show here.
    pub fn exhausted_until(&self, account_id: &str, model: &str, now_ms: i64) -> Option<i64> {
        let map = self.snapshots.read().unwrap_or_else(|p| p.into_inner());
        map.get(account_id)?
            .windows
            .iter()
            .filter(|w| w.model.as_deref().is_none_or(|m| model.contains(m)))
            .filter(|w| {
                w.remaining.is_some_and(|r| r <= 0.0) || w.percent_used.is_some_and(|p| p >= 100.0)
            })
            .filter_map(|w| w.resets_at_ms)
            .filter(|&reset| reset > now_ms)
            .max()
    }

    pub fn all(&self) -> Vec<QuotaSnapshot> {
        let mut all: Vec<QuotaSnapshot> = self
            .snapshots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        all
    }
}

pub fn load_snapshots(c: &Connection) -> Result<Vec<QuotaSnapshot>, StoreError> {
    let mut stmt =
        c.prepare("SELECT account_id, windows, source, fetched_ms, error FROM quota_snapshots")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (account_id, windows, source, fetched_ms, error) = row?;
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("quota snapshot: {e}"));
        out.push(QuotaSnapshot {
            account_id,
            windows: serde_json::from_str(&windows).map_err(corrupt)?,
            source: serde_json::from_value(serde_json::Value::String(source)).map_err(corrupt)?,
            fetched_ms,
            error,
        });
    }
    Ok(out)
}

/// Saves snapshots in batches; an account's latest snapshot in a batch is the one kept.
pub async fn run_writer(
    store: Store,
    saves: UnboundedReceiver<QuotaSnapshot>,
    stop: watch::Receiver<bool>,
) {
    store::in_batches(saves, stop, 1024, |batch| {
        let store = store.clone();
        async move {
            let mut latest: HashMap<String, QuotaSnapshot> = HashMap::new();
            for s in batch {
                latest.insert(s.account_id.clone(), s);
            }
            let result = store
                .call(move |c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    for s in latest.values() {
                        let source = match s.source {
                            QuotaSource::Headers => "headers",
                            QuotaSource::Api => "api",
                        };
                        tx.prepare_cached(
                            "INSERT INTO quota_snapshots (account_id, windows, source, fetched_ms,
                                error) VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT(account_id) DO UPDATE SET windows = excluded.windows,
                                source = excluded.source, fetched_ms = excluded.fetched_ms,
                                error = excluded.error",
                        )?
                        .execute(params![
                            s.account_id,
                            serde_json::to_string(&s.windows).unwrap_or_else(|_| "[]".into()),
                            source,
                            s.fetched_ms,
                            s.error,
                        ])?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await;
            if let Err(e) = result {
                tracing::error!("could not save quota snapshots: {e}");
            }
        }
    })
    .await;
}
