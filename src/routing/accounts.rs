//! Which accounts of a provider to try for one request, and in what order.

use std::collections::HashMap;
use std::sync::Mutex;

use super::Cooldowns;
use crate::catalog::{Account, AccountStrategy, Catalog};

#[derive(Default)]
struct Sticky {
    current: Option<String>,
    served: u32,
}

#[derive(Default)]
struct Usage {
    /// Provider id → the sticky account and how many requests it took.
    sticky: HashMap<String, Sticky>,
    /// Account id → tick of its last successful request (least-recently-used ordering).
    last_used: HashMap<String, u64>,
    tick: u64,
    /// Combo name → next starting member, for round-robin combos.
    combo_turns: HashMap<String, usize>,
}

/// The live routing state next to the catalog: cooldowns and who served last.
pub struct RoutingState {
    pub cooldowns: Cooldowns,
    pub affinity: super::Affinity,
    pub circuits: super::Circuits,
    usage: Mutex<Usage>,
}

/// The accounts to try in order, and the soonest time a skipped (cooling) one is free again.
pub struct AccountPlan<'c> {
    pub accounts: Vec<&'c Account>,
    pub earliest_reset_ms: Option<i64>,
    pub skipped: usize,
}

impl RoutingState {
    pub fn new(cooldowns: Cooldowns) -> Self {
        Self {
            cooldowns,
            affinity: super::Affinity::default(),
            circuits: super::Circuits::default(),
            usage: Mutex::new(Usage::default()),
        }
    }

    fn usage(&self) -> std::sync::MutexGuard<'_, Usage> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Orders the enabled, not-cooling accounts of `provider_id` for `model`. When the
    /// accounts take turns and more than one is free, a conversation (`conversation` tells
    /// which, asked only then) goes first to the account it is pinned to.
    pub fn plan<'c>(
        &self,
        catalog: &'c Catalog,
        provider_id: &str,
        model: &str,
        now_ms: i64,
        conversation: impl FnOnce() -> Option<u64>,
    ) -> AccountPlan<'c> {
        let mut available = Vec::new();
        let mut earliest_reset_ms: Option<i64> = None;
        let mut skipped = 0;
        for account in catalog.enabled_accounts_of(provider_id) {
            match self.cooldowns.blocked_until(&account.id, model, now_ms) {
                Some(until) => {
                    skipped += 1;
                    earliest_reset_ms = Some(earliest_reset_ms.map_or(until, |e| e.min(until)));
                }
                None => available.push(account),
            }
        }
        let (strategy, limit) = catalog.settings.routing.for_provider(provider_id);
        // Fill-first sends every conversation to the first account anyway, and back to it
        // after a failover: affinity matters only when accounts take turns.
        let pinned = (strategy == AccountStrategy::StickyRoundRobin && available.len() > 1)
            .then(conversation)
            .flatten()
            .and_then(|c| {
                self.affinity
                    .preferred(provider_id, c, now_ms)
                    .iter()
                    .find_map(|id| available.iter().position(|a| &a.id == id))
            });
        if let Some(pos) = pinned {
            let home = available.remove(pos);
            available.insert(0, home);
        } else if strategy == AccountStrategy::StickyRoundRobin && available.len() > 1 {
            self.order_sticky(provider_id, limit, &mut available);
        }
        AccountPlan {
            accounts: available,
            earliest_reset_ms,
            skipped,
        }
    }

    /// Keeps the current account first until it served `limit` requests, then moves to the
    /// least recently used one; the rest follow by least recent use, for failover.
    fn order_sticky(&self, provider_id: &str, limit: u32, available: &mut Vec<&Account>) {
        let mut usage = self.usage();
        let last_used = |a: &Account, u: &Usage| u.last_used.get(&a.id).copied().unwrap_or(0);
        // Stable sort: ties keep priority order.
        available.sort_by_key(|a| last_used(a, &usage));
        let sticky = usage.sticky.entry(provider_id.to_owned()).or_default();
        let keep = sticky
            .current
            .as_ref()
            .filter(|_| sticky.served < limit)
            .and_then(|id| available.iter().position(|a| &a.id == id));
        let first = match keep {
            Some(pos) => {
                sticky.served += 1;
                pos
            }
            None => {
                let pos = available
                    .iter()
                    .position(|a| Some(&a.id) != sticky.current.as_ref())
                    .unwrap_or(0);
                sticky.current = available.get(pos).map(|a| a.id.clone());
                sticky.served = 1;
                pos
            }
        };
        let chosen = available.remove(first);
        available.insert(0, chosen);
    }

    /// Notes that `account_id` served a request (for least-recently-used ordering).
    pub fn record_served(&self, account_id: &str) {
        let mut usage = self.usage();
        usage.tick += 1;
        let tick = usage.tick;
        match usage.last_used.get_mut(account_id) {
            Some(t) => *t = tick,
            None => {
                usage.last_used.insert(account_id.to_owned(), tick);
            }
        }
    }

    /// The member a round-robin combo starts with this time, advancing the turn.
    pub fn next_combo_turn(&self, combo: &str, members: usize) -> usize {
        if members == 0 {
            return 0;
        }
        let mut usage = self.usage();
        let turn = usage.combo_turns.entry(combo.to_owned()).or_insert(0);
        let start = *turn % members;
        *turn = (start + 1) % members;
        start
    }

    /// Forgets rotation state after the configuration changed.
    pub fn reset_rotation(&self) {
        let mut usage = self.usage();
        usage.sticky.clear();
        usage.combo_turns.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{AccountRecord, CatalogParts, RoutingSettings, Settings, Source};

    fn catalog(strategy: AccountStrategy, limit: u32) -> Catalog {
        catalog_with(RoutingSettings {
            account_strategy: strategy,
            sticky_limit: limit,
            ..RoutingSettings::default()
        })
    }

    fn catalog_with(routing: RoutingSettings) -> Catalog {
        let conn = |id: &str, priority| {
            (
                AccountRecord {
                    id: id.into(),
                    provider: "openai".into(),
                    name: id.into(),
                    priority,
                    enabled: true,
                    base_url: None,
                    models: vec![],
                    secret_ref: None,
                    proxy_ref: None,
                    quota_reserve_pct: None,
                    source: Source::Api,
                },
                None,
            )
        };
        Catalog::build(CatalogParts {
            settings: Settings {
                routing,
                ..Settings::default()
            },
            accounts: vec![conn("c", 3), conn("a", 1), conn("b", 2)],
            ..CatalogParts::default()
        })
    }

    fn firsts(state: &RoutingState, cat: &Catalog, n: usize) -> String {
        (0..n)
            .map(|_| {
                let plan = state.plan(cat, "openai", "m", 0, || None);
                let id = plan.accounts[0].id.clone();
                state.record_served(&id);
                id
            })
            .collect()
    }

    #[test]
    fn fill_first_always_starts_with_the_highest_priority() {
        let cat = catalog(AccountStrategy::FillFirst, 1);
        let state = RoutingState::new(Cooldowns::new(None));
        assert_eq!(firsts(&state, &cat, 4), "aaaa");
        let plan = state.plan(&cat, "openai", "m", 0, || None);
        let order: Vec<&str> = plan.accounts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn sticky_round_robin_stays_for_the_limit_then_moves_on() {
        let cat = catalog(AccountStrategy::StickyRoundRobin, 2);
        let state = RoutingState::new(Cooldowns::new(None));
        assert_eq!(firsts(&state, &cat, 8), "aabbccaa");
    }

    #[test]
    fn a_per_provider_strategy_overrides_the_global_one() {
        let mut routing = RoutingSettings::default();
        routing.provider_strategies.insert(
            "openai".into(),
            crate::catalog::ProviderStrategy {
                strategy: AccountStrategy::StickyRoundRobin,
                sticky_limit: Some(1),
            },
        );
        let cat = catalog_with(routing);
        let state = RoutingState::new(Cooldowns::new(None));
        assert_eq!(firsts(&state, &cat, 4), "abca");
    }

    #[test]
    fn round_robin_combo_turns_cycle() {
        let state = RoutingState::new(Cooldowns::new(None));
        let turns: Vec<usize> = (0..4).map(|_| state.next_combo_turn("x", 3)).collect();
        assert_eq!(turns, [0, 1, 2, 0]);
    }
}
