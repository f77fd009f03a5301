//! Whether a model string (a combo, usually) can be served right now, and if not, when it can
//! again: what the tray shows next to a combo and what the "all accounts cooling" notice says.

use super::{Cooldowns, resolve::members};
use crate::catalog::Catalog;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlook {
    /// At least one target has an enabled account that is not cooling down.
    Ready,
    /// Every account of every target is cooling down; the earliest is back at this time.
    CoolingUntil(i64),
    /// No target has an enabled account at all (or the name resolves to nothing).
    Unservable,
}

pub fn outlook(catalog: &Catalog, cooldowns: &Cooldowns, model: &str, now_ms: i64) -> Outlook {
    let Ok(targets) = members(catalog, model) else {
        return Outlook::Unservable;
    };
    let mut earliest: Option<i64> = None;
    for target in &targets {
        for account in catalog.enabled_accounts_of(&target.provider) {
            match cooldowns.blocked_until(&account.id, &target.model, now_ms) {
                None => return Outlook::Ready,
                Some(until) => earliest = Some(earliest.map_or(until, |e| e.min(until))),
            }
        }
    }
    earliest.map_or(Outlook::Unservable, Outlook::CoolingUntil)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{
        AccountRecord, CatalogParts, Combo, ComboStrategy, RoutingSettings, Source,
    };
    use crate::routing::{FailureClass, FailureNote};

    fn account(
        id: &str,
        provider: &str,
        enabled: bool,
    ) -> (AccountRecord, Option<crate::secrets::SecretString>) {
        (
            AccountRecord {
                id: id.into(),
                provider: provider.into(),
                name: id.into(),
                priority: 1,
                enabled,
                base_url: None,
                models: vec![],
                secret_ref: None,
                proxy_ref: None,
                quota_reserve_pct: None,
                source: Source::Api,
            },
            None,
        )
    }

    fn catalog() -> Catalog {
        Catalog::build(CatalogParts {
            accounts: vec![
                account("o1", "openai", true),
                account("o2", "openai", false),
                account("g1", "groq", true),
            ],
            combos: vec![(
                Combo {
                    name: "rr".into(),
                    models: vec!["oa/gpt-4o".into(), "groq/llama".into()],
                    strategy: ComboStrategy::RoundRobin,
                },
                Source::Api,
            )],
            ..CatalogParts::default()
        })
    }

    fn cool(c: &Cooldowns, account: &str, model: &str, secs: u64) -> i64 {
        let note = FailureNote {
            class: FailureClass::RateLimit,
            hint: Some(std::time::Duration::from_secs(secs)),
            reason: "429",
        };
        c.record_failure(account, model, &note, &RoutingSettings::default(), 0)
    }

    #[test]
    fn ready_until_every_enabled_account_of_every_member_cools_down() {
        let (cat, cooldowns) = (catalog(), Cooldowns::new(None));
        assert_eq!(outlook(&cat, &cooldowns, "rr", 0), Outlook::Ready);
        let first = cool(&cooldowns, "o1", "gpt-4o", 60);
        assert_eq!(outlook(&cat, &cooldowns, "rr", 0), Outlook::Ready);
        let second = cool(&cooldowns, "g1", "llama", 600);
        // The disabled account o2 does not count as a way out.
        assert_eq!(
            outlook(&cat, &cooldowns, "rr", 0),
            Outlook::CoolingUntil(first.min(second))
        );
        assert_eq!(outlook(&cat, &cooldowns, "rr", first), Outlook::Ready);
        assert_eq!(outlook(&cat, &cooldowns, "nothing", 0), Outlook::Unservable);
    }
}
