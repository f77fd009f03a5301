//! Per-account, per-model cooldowns with exponential backoff. Auth failures cool the whole
//! account (model `*`). Every change is also sent out as a `CooldownChange`, which the engine
//! persists and publishes, so the state survives a restart and the UI sees it live.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::FailureClass;
use crate::catalog::RoutingSettings;
use crate::store::StoredCooldown;

/// The model key that stands for every model of an account.
pub const ALL_MODELS: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    until_ms: i64,
    failures: u32,
    reason: String,
    needs_login: bool,
    /// When this host learned it (0: read from the store).
    noted_ms: i64,
}

/// Puts stored cooldowns into `map` (account id → model → entry).
fn put_stored(map: &mut HashMap<String, HashMap<String, Entry>>, stored: Vec<StoredCooldown>) {
    for s in stored {
        map.entry(s.account_id).or_default().insert(
            s.model,
            Entry {
                until_ms: s.until_ms,
                failures: s.failures,
                reason: s.reason,
                needs_login: s.needs_login,
                noted_ms: 0,
            },
        );
    }
}

/// A cooldown learned here this recently may not be in the shared store yet.
const UNWRITTEN_MS: i64 = 5_000;

#[derive(Debug, Clone)]
pub enum CooldownChange {
    Set(StoredCooldown),
    Cleared { account_id: String, model: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CooldownInfo {
    pub model: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub until_ms: i64,
    pub failures: u32,
    pub reason: String,
    /// The account's login was refused: it waits for a new login, not for time to pass.
    pub needs_login: bool,
}

/// What went wrong, as far as a cooldown cares.
#[derive(Debug, Clone, Copy)]
pub struct FailureNote<'a> {
    pub class: FailureClass,
    /// The provider's own "retry after".
    pub hint: Option<Duration>,
    pub reason: &'a str,
}

pub struct Cooldowns {
    /// account id → model → entry.
    entries: Mutex<HashMap<String, HashMap<String, Entry>>>,
    changes: Option<UnboundedSender<CooldownChange>>,
}

impl Cooldowns {
    pub fn new(changes: Option<UnboundedSender<CooldownChange>>) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            changes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Entry>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, change: CooldownChange) {
        if let Some(tx) = &self.changes {
            // The receiver only goes away at shutdown, when losing this change is harmless.
            let _ = tx.send(change);
        }
    }

    /// Restores stored state at start.
    pub fn restore(&self, stored: Vec<StoredCooldown>) {
        put_stored(&mut self.lock(), stored);
    }

    /// Takes the shared store's state as this host's: what another host learned holds here,
    /// and what another host cleared is cleared here. What this host learned in the last
    /// moments (perhaps not written yet) stays, and so does a later end of the same cooldown.
    pub fn replace_with(&self, stored: Vec<StoredCooldown>, now_ms: i64) {
        let mut map = self.lock();
        let mut fresh: HashMap<String, HashMap<String, Entry>> = HashMap::new();
        put_stored(&mut fresh, stored);
        for (account, models) in map.drain() {
            for (model, local) in models {
                if now_ms - local.noted_ms >= UNWRITTEN_MS {
                    continue;
                }
                let slot = fresh.entry(account.clone()).or_default();
                match slot.get(&model) {
                    Some(shared) if shared.until_ms >= local.until_ms => {}
                    _ => {
                        slot.insert(model, local);
                    }
                }
            }
        }
        *map = fresh;
    }

    /// When the account may serve `model` again, if it is cooling down now.
    pub fn blocked_until(&self, account_id: &str, model: &str, now_ms: i64) -> Option<i64> {
        let map = self.lock();
        let models = map.get(account_id)?;
        [model, ALL_MODELS]
            .iter()
            .filter_map(|m| models.get(*m))
            .map(|e| e.until_ms)
            .filter(|&until| until > now_ms)
            .max()
    }

    /// Records a failure and returns the cooldown's end (epoch ms).
    pub fn record_failure(
        &self,
        account_id: &str,
        model: &str,
        failure: &FailureNote<'_>,
        settings: &RoutingSettings,
        now_ms: i64,
    ) -> i64 {
        let FailureNote {
            class,
            hint,
            reason,
        } = *failure;
        let key = if class.whole_account() {
            ALL_MODELS
        } else {
            model
        };
        let stored = {
            let mut map = self.lock();
            let slot = map
                .entry(account_id.to_owned())
                .or_default()
                .entry(key.to_owned())
                .or_insert(Entry {
                    until_ms: 0,
                    failures: 0,
                    reason: String::new(),
                    needs_login: false,
                    noted_ms: 0,
                });
            slot.noted_ms = now_ms;
            slot.failures = slot.failures.saturating_add(1);
            let wait = cooldown_for(class, slot.failures, hint, settings);
            slot.until_ms =
                now_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
            slot.reason = reason.to_owned();
            slot.needs_login = class == FailureClass::LoginRefused;
            StoredCooldown {
                account_id: account_id.to_owned(),
                model: key.to_owned(),
                until_ms: slot.until_ms,
                failures: slot.failures,
                reason: slot.reason.clone(),
                needs_login: slot.needs_login,
            }
        };
        let until = stored.until_ms;
        self.emit(CooldownChange::Set(stored));
        until
    }

    /// A success clears the account's cooldown and backoff for this model (and account-wide).
    pub fn record_success(&self, account_id: &str, model: &str) {
        let cleared: Vec<String> = {
            let mut map = self.lock();
            let Some(models) = map.get_mut(account_id) else {
                return;
            };
            let cleared = [model, ALL_MODELS]
                .iter()
                .filter(|m| models.remove(**m).is_some())
                .map(|m| (*m).to_owned())
                .collect();
            if models.is_empty() {
                map.remove(account_id);
            }
            cleared
        };
        for model in cleared {
            self.emit(CooldownChange::Cleared {
                account_id: account_id.to_owned(),
                model,
            });
        }
    }

    /// Removes every cooldown of an account (the user reset it, or deleted it).
    pub fn clear_account(&self, account_id: &str) {
        let removed = self.lock().remove(account_id);
        for model in removed.into_iter().flat_map(|m| m.into_keys()) {
            self.emit(CooldownChange::Cleared {
                account_id: account_id.to_owned(),
                model,
            });
        }
    }

    /// Cooldowns of an account still in force, for the API and the engine snapshot.
    pub fn active_for(&self, account_id: &str, now_ms: i64) -> Vec<CooldownInfo> {
        let map = self.lock();
        let mut out: Vec<CooldownInfo> = map
            .get(account_id)
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.until_ms > now_ms)
            .map(|(model, e)| CooldownInfo {
                model: model.clone(),
                until_ms: e.until_ms,
                failures: e.failures,
                reason: e.reason.clone(),
                needs_login: e.needs_login,
            })
            .collect();
        out.sort_by(|a, b| a.model.cmp(&b.model));
        out
    }
}

/// How long one failure of `class` benches the account: the provider's own hint when it gave
/// one, else base·2^(n−1) capped, with fixed waits for auth and unknown-model failures.
fn cooldown_for(
    class: FailureClass,
    failures: u32,
    hint: Option<Duration>,
    s: &RoutingSettings,
) -> Duration {
    if let Some(h) = hint {
        return h;
    }
    match class {
        FailureClass::Auth | FailureClass::LoginRefused => {
            Duration::from_millis(s.auth_cooldown_ms)
        }
        FailureClass::NotFound => Duration::from_millis(s.not_found_cooldown_ms),
        _ => {
            let exp = failures.saturating_sub(1).min(30);
            let ms = s.cooldown_base_ms.saturating_mul(1u64 << exp);
            Duration::from_millis(ms.min(s.cooldown_max_ms))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(class: FailureClass) -> FailureNote<'static> {
        FailureNote {
            class,
            hint: None,
            reason: "test",
        }
    }

    fn settings() -> RoutingSettings {
        RoutingSettings {
            cooldown_base_ms: 1000,
            cooldown_max_ms: 5000,
            ..RoutingSettings::default()
        }
    }

    #[test]
    fn the_shared_state_replaces_this_hosts_but_not_what_it_just_learned() {
        let cd = Cooldowns::new(None);
        let s = settings();
        let shared = |account: &str, until_ms| StoredCooldown {
            account_id: account.into(),
            model: "m".into(),
            until_ms,
            failures: 1,
            reason: "elsewhere".into(),
            needs_login: false,
        };
        cd.restore(vec![shared("old", 50_000)]);
        cd.record_failure("new", "m", &note(FailureClass::RateLimit), &s, 10_000);
        // The store no longer has "old" (cleared on another host) and not yet "new".
        cd.replace_with(vec![shared("other", 60_000)], 11_000);
        assert_eq!(cd.blocked_until("old", "m", 11_000), None);
        assert_eq!(cd.blocked_until("other", "m", 11_000), Some(60_000));
        assert_eq!(cd.blocked_until("new", "m", 10_500), Some(11_000));
        // Long after, only what the store says holds.
        cd.replace_with(vec![], 20_000);
        assert_eq!(cd.blocked_until("new", "m", 10_500), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_hints_win() {
        let s = settings();
        let rl = FailureClass::RateLimit;
        assert_eq!(cooldown_for(rl, 1, None, &s), Duration::from_secs(1));
        assert_eq!(cooldown_for(rl, 2, None, &s), Duration::from_secs(2));
        assert_eq!(cooldown_for(rl, 3, None, &s), Duration::from_secs(4));
        assert_eq!(cooldown_for(rl, 9, None, &s), Duration::from_secs(5));
        assert_eq!(
            cooldown_for(rl, 1, Some(Duration::from_secs(42)), &s),
            Duration::from_secs(42)
        );
    }

    #[test]
    fn per_model_cooldowns_do_not_block_other_models_but_auth_blocks_all() {
        let cd = Cooldowns::new(None);
        let s = settings();
        cd.record_failure("a", "m1", &note(FailureClass::RateLimit), &s, 0);
        assert_eq!(cd.blocked_until("a", "m1", 10), Some(1000));
        assert_eq!(cd.blocked_until("a", "m2", 10), None);
        assert_eq!(
            cd.blocked_until("a", "m1", 1000),
            None,
            "expired at its end"
        );
        cd.record_failure("a", "m1", &note(FailureClass::Auth), &s, 0);
        assert!(cd.blocked_until("a", "m2", 10).is_some());
    }

    #[test]
    fn only_a_refused_login_puts_an_account_in_needs_login_whatever_a_reason_says() {
        let cd = Cooldowns::new(None);
        let s = settings();
        let spoof = FailureNote {
            class: FailureClass::Auth,
            hint: None,
            reason: "needs login: a provider's own words",
        };
        cd.record_failure("key", "m", &spoof, &s, 0);
        assert!(cd.active_for("key", 0).iter().all(|c| !c.needs_login));
        cd.record_failure("login", "m", &note(FailureClass::LoginRefused), &s, 0);
        let active = cd.active_for("login", 0);
        assert!(
            active
                .iter()
                .all(|c| c.needs_login && c.model == ALL_MODELS)
        );
    }

    #[test]
    fn success_clears_backoff_and_reports_the_change() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cd = Cooldowns::new(Some(tx));
        let s = settings();
        cd.record_failure("a", "m", &note(FailureClass::RateLimit), &s, 0);
        cd.record_failure("a", "m", &note(FailureClass::RateLimit), &s, 0);
        assert_eq!(cd.blocked_until("a", "m", 0), Some(2000));
        cd.record_success("a", "m");
        assert_eq!(cd.blocked_until("a", "m", 0), None);
        let until = cd.record_failure("a", "m", &note(FailureClass::RateLimit), &s, 0);
        assert_eq!(until, 1000, "backoff restarted after success");
        let kinds: Vec<bool> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|c| matches!(c, CooldownChange::Set(_)))
            .collect();
        assert_eq!(kinds, vec![true, true, false, true]);
    }
}
