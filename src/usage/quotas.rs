//! The quota snapshots in memory (read by the API, the tray and routing) and their writer.

use std::collections::HashMap;
use std::sync::RwLock;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::watch;

use crate::events::{EngineEvent, EventBus};
use crate::quota::{QuotaSnapshot, QuotaSource, QuotaWindow, Window};
use crate::store::sql::args;
use crate::store::{self, Sql, SqlExt, Store, StoreError};

pub struct Quotas {
    snapshots: RwLock<HashMap<String, QuotaSnapshot>>,
    saves: UnboundedSender<QuotaSnapshot>,
    events: EventBus,
    /// Percent used at which a window warns (the settings' `quotaWarnPct`).
    warn_at: RwLock<Vec<u8>>,
}

impl Quotas {
    pub fn new(events: EventBus) -> (Self, UnboundedReceiver<QuotaSnapshot>) {
        let (saves, rx) = tokio::sync::mpsc::unbounded_channel();
        let me = Self {
            snapshots: RwLock::default(),
            saves,
            events,
            warn_at: RwLock::new(vec![80, 95]),
        };
        (me, rx)
    }

    /// The thresholds new snapshots are compared against.
    pub fn warn_at(&self, thresholds: &[u8]) {
        *self.warn_at.write().unwrap_or_else(|p| p.into_inner()) = thresholds.to_vec();
    }

    /// Takes in saved snapshots (at start, or another host's); a newer one held here stays.
    pub fn restore(&self, saved: Vec<QuotaSnapshot>) {
        let mut map = self.snapshots.write().unwrap_or_else(|p| p.into_inner());
        for s in saved {
            if map
                .get(&s.account_id)
                .is_none_or(|held| held.fetched_ms <= s.fetched_ms)
            {
                map.insert(s.account_id.clone(), s);
            }
        }
    }

    /// Replaces an account's snapshot, saves it and tells subscribers.
    pub fn put(&self, snapshot: QuotaSnapshot) {
        let account_id = snapshot.account_id.clone();
        let previous = self
            .snapshots
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id.clone(), snapshot.clone());
        let passed = self.passed_thresholds(previous.as_ref(), &snapshot);
        let _ = self.saves.send(snapshot);
        self.events.publish(EngineEvent::QuotaUpdated {
            account_id: account_id.clone(),
        });
        for (w, threshold) in passed {
            tracing::info!(account = %account_id, window = ?w.window, threshold, "quota low");
            self.events.publish(EngineEvent::QuotaLow {
                account_id: account_id.clone(),
                window: w.window,
                metric: w.metric.clone(),
                model: w.model.clone(),
                percent_used: w.percent().unwrap_or_default(),
                threshold,
                resets_at_ms: w.resets_at_ms,
            });
        }
    }

    /// The windows of `new` whose warning level rose since `old` (a window that reset and
    /// fills again warns again), with the level reached. A window is known again by its kind,
    /// metric and model, or by metric and model alone when its kind changed (Antigravity's
    /// daily quota becomes a five-hour one as its reset nears); it reset when its use fell.
    /// Reset times are not compared: some providers give them relative to the fetch.
    fn passed_thresholds(
        &self,
        old: Option<&QuotaSnapshot>,
        new: &QuotaSnapshot,
    ) -> Vec<(QuotaWindow, u8)> {
        let thresholds = self.warn_at.read().unwrap_or_else(|p| p.into_inner());
        new.windows
            .iter()
            .filter_map(|w| {
                let level = w.warning(&thresholds)?;
                let same = |p: &&QuotaWindow| p.metric == w.metric && p.model == w.model;
                let before = old.and_then(|o| {
                    o.windows
                        .iter()
                        .filter(same)
                        .find(|p| p.window == w.window)
                        .or_else(|| {
                            let mut alike = o.windows.iter().filter(same);
                            match (alike.next(), alike.next()) {
                                (Some(only), None) => Some(only),
                                _ => None,
                            }
                        })
                });
                let reset = before
                    .and_then(|p| Some(p.percent()? > w.percent()? + 0.5))
                    .unwrap_or(false);
                let before = before
                    .filter(|_| !reset)
                    .and_then(|p| p.warning(&thresholds));
                (before.is_none_or(|b| b < level)).then(|| (w.clone(), level))
            })
            .collect()
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
    ///
    /// With a reserve (percent), a window that resets counts as used up once less than the
    /// reserve is left, a minute's rate-limit bucket excepted.
    pub fn exhausted_until(
        &self,
        account_id: &str,
        model: &str,
        reserve_pct: u8,
        now_ms: i64,
    ) -> Option<i64> {
        let map = self.snapshots.read().unwrap_or_else(|p| p.into_inner());
        let full = 100.0 - f64::from(reserve_pct);
        map.get(account_id)?
            .windows
            .iter()
            .filter(|w| w.model.as_deref().is_none_or(|m| model.contains(m)))
            .filter(|w| {
                w.remaining.is_some_and(|r| r <= 0.0)
                    || w.percent_used.is_some_and(|p| p >= 100.0)
                    || (reserve_pct > 0
                        && w.window != Window::Minute
                        && w.percent().is_some_and(|p| p >= full))
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

pub fn load_snapshots(c: &mut dyn Sql) -> Result<Vec<QuotaSnapshot>, StoreError> {
    c.rows(
        "SELECT account_id, windows, source, fetched_ms, error FROM quota_snapshots",
        args![],
        |mut r| {
            let corrupt =
                |e: serde_json::Error| StoreError::Corrupt(format!("quota snapshot: {e}"));
            let windows: String = r.get(1)?;
            let source: String = r.get(2)?;
            Ok(QuotaSnapshot {
                account_id: r.get(0)?,
                windows: serde_json::from_str(&windows).map_err(corrupt)?,
                source: serde_json::from_value(serde_json::Value::String(source))
                    .map_err(corrupt)?,
                fetched_ms: r.get(3)?,
                error: r.get(4)?,
            })
        },
    )
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
                    let mut tx = c.transaction()?;
                    for s in latest.values() {
                        let source = match s.source {
                            QuotaSource::Headers => "headers",
                            QuotaSource::Api => "api",
                        };
                        tx.execute(
                            "INSERT INTO quota_snapshots (account_id, windows, source, fetched_ms,
                                error) VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT(account_id) DO UPDATE SET windows = excluded.windows,
                                source = excluded.source, fetched_ms = excluded.fetched_ms,
                                error = excluded.error
                             WHERE quota_snapshots.fetched_ms <= excluded.fetched_ms",
                            args![
                                s.account_id,
                                serde_json::to_string(&s.windows).unwrap_or_else(|_| "[]".into()),
                                source,
                                s.fetched_ms,
                                s.error,
                            ],
                        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn window(window: Window, percent: f64, resets_at_ms: Option<i64>) -> QuotaWindow {
        QuotaWindow {
            window,
            metric: "requests".into(),
            model: None,
            used: None,
            limit: None,
            remaining: None,
            percent_used: Some(percent),
            resets_at_ms,
        }
    }

    fn quotas(windows: Vec<QuotaWindow>) -> Quotas {
        let (q, _saves) = Quotas::new(EventBus::new());
        q.restore(vec![QuotaSnapshot {
            account_id: "a".into(),
            windows,
            source: QuotaSource::Api,
            fetched_ms: 0,
            error: None,
        }]);
        q
    }

    #[test]
    fn a_reserve_counts_a_resetting_window_as_used_up_early_but_not_a_minute_bucket() {
        let q = quotas(vec![
            window(Window::Weekly, 92.0, Some(5_000)),
            window(Window::Minute, 99.0, Some(6_000)),
        ]);
        assert_eq!(q.exhausted_until("a", "m", 0, 0), None);
        assert_eq!(q.exhausted_until("a", "m", 5, 0), None);
        assert_eq!(q.exhausted_until("a", "m", 10, 0), Some(5_000));
        // Past its reset, a window no longer holds the account.
        assert_eq!(q.exhausted_until("a", "m", 10, 5_000), None);
    }

    #[test]
    fn a_window_warns_when_it_rises_past_a_threshold_and_again_after_its_reset() {
        let q = quotas(Vec::new());
        let snap = |percent: f64, reset: i64| QuotaSnapshot {
            account_id: "a".into(),
            windows: vec![window(Window::Weekly, percent, Some(reset))],
            source: QuotaSource::Api,
            fetched_ms: 0,
            error: None,
        };
        let levels = |old: Option<&QuotaSnapshot>, new: &QuotaSnapshot| -> Vec<u8> {
            q.passed_thresholds(old, new)
                .into_iter()
                .map(|(_, l)| l)
                .collect()
        };
        assert_eq!(levels(None, &snap(50.0, 1)), Vec::<u8>::new());
        assert_eq!(levels(Some(&snap(50.0, 1)), &snap(85.0, 1)), [80]);
        assert_eq!(
            levels(Some(&snap(85.0, 1)), &snap(90.0, 1)),
            Vec::<u8>::new()
        );
        assert_eq!(levels(Some(&snap(90.0, 1)), &snap(96.0, 1)), [95]);
        // A new period (use fell) that fills again warns again; a reset time that moves with
        // each fetch is not a new period.
        assert_eq!(levels(Some(&snap(96.0, 1)), &snap(85.0, 2)), [80]);
        assert_eq!(
            levels(Some(&snap(85.0, 1)), &snap(86.0, 2)),
            Vec::<u8>::new()
        );
    }
}
