//! Which engine happenings become desktop notifications, and how many: a fallback taken, an
//! account cooled down, a combo with every account cooling. Each kind of notice is shown at
//! most once per `PER_KEY` for the same subject, and no more than `BURST` in `BURST_WINDOW`
//! overall; what is held back is counted into the next notice that gets through.

use std::collections::{HashMap, HashSet, VecDeque};

use jiff::tz::TimeZone;
use ninerouter::engine::{ACTIVE_COMBO_ALIAS, Snapshot};
use ninerouter::events::EngineEvent;
use ninerouter::routing::{ALL_MODELS, FailureClass};

use crate::clock::at_time;

const PER_KEY_MS: i64 = 10 * 60_000;
const BURST: usize = 3;
const BURST_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What the notice is about, for throttling: the same key is not repeated soon.
    pub key: String,
    pub title: String,
    pub body: String,
}

/// The notice an engine event calls for, if any.
pub fn for_event(
    event: &EngineEvent,
    snapshot: &Snapshot,
    tz: &TimeZone,
    now_ms: i64,
) -> Option<Notice> {
    match event {
        EngineEvent::AccountCooledDown {
            account_id,
            model,
            until_ms,
            reason,
            needs_login,
        } => {
            let (provider, account) = names(snapshot, account_id);
            if *needs_login {
                return Some(Notice {
                    key: format!("cooldown:{account_id}"),
                    title: format!("{provider} account needs a new login"),
                    body: format!(
                        "“{account}” is set aside: {reason}. Log in again from the dashboard's Providers page."
                    ),
                });
            }
            let what = if model == ALL_MODELS {
                String::new()
            } else {
                format!(" for {model}")
            };
            Some(Notice {
                key: format!("cooldown:{account_id}"),
                title: format!("{provider} account cooling down"),
                body: format!(
                    "“{account}” rests{what} until {}: {reason}.",
                    at_time(*until_ms, tz, now_ms)
                ),
            })
        }
        EngineEvent::RequestRouted {
            requested_model,
            served_by: Some(served),
            attempts,
            ..
        } if !attempts.is_empty() => {
            let first = &attempts[0];
            // Clients asking for `default` get the active combo: name the combo.
            let asked = match snapshot.active_combo.as_deref() {
                Some(combo) if requested_model == ACTIVE_COMBO_ALIAS => combo,
                _ => requested_model.as_str(),
            };
            Some(Notice {
                key: format!("fallback:{asked}"),
                title: "Fallback taken".into(),
                body: format!(
                    "{asked}: {} {}, so {}/{} answered.",
                    first.target,
                    failure(first.class),
                    prefix_of(snapshot, &served.provider),
                    served.model
                ),
            })
        }
        EngineEvent::ProviderDown {
            provider,
            until_ms,
            reason,
            ..
        } => Some(Notice {
            key: format!("provider:{provider}"),
            title: format!("{} is down", provider_name(snapshot, provider)),
            body: format!(
                "It failed several times in a row ({reason}); other providers take its requests, and it is tried again at {}.",
                at_time(*until_ms, tz, now_ms)
            ),
        }),
        EngineEvent::ProviderUp { provider, .. } => Some(Notice {
            key: format!("provider-up:{provider}"),
            title: format!("{} is back", provider_name(snapshot, provider)),
            body: "It answers again and takes requests as before.".into(),
        }),
        EngineEvent::QuotaLow {
            account_id,
            window,
            metric,
            model,
            percent_used,
            threshold,
            resets_at_ms,
        } => {
            let (provider, account) = names(snapshot, account_id);
            let which = model
                .as_deref()
                .map(|m| format!(" for {m}"))
                .unwrap_or_default();
            let reset = resets_at_ms
                .map(|at| format!("; it resets {}", at_time(at, tz, now_ms)))
                .unwrap_or_default();
            Some(Notice {
                key: format!("quota:{account_id}:{window:?}:{metric}:{threshold}"),
                title: format!("{provider} quota low"),
                body: format!(
                    "“{account}” has used {}% of its {} {metric}{which}{reset}.",
                    percent_used.round(),
                    window_name(*window)
                ),
            })
        }
        _ => None,
    }
}

fn window_name(window: ninerouter::quota::Window) -> &'static str {
    use ninerouter::quota::Window;
    match window {
        Window::Minute => "per-minute",
        Window::FiveHour => "5-hour",
        Window::Daily => "daily",
        Window::Weekly => "weekly",
        Window::Monthly => "monthly",
        Window::Total => "total",
    }
}

fn provider_name<'a>(snapshot: &'a Snapshot, provider_id: &'a str) -> &'a str {
    snapshot
        .providers
        .iter()
        .find(|p| p.id == provider_id)
        .map_or(provider_id, |p| p.name.as_str())
}

fn names<'a>(snapshot: &'a Snapshot, account_id: &'a str) -> (&'a str, &'a str) {
    snapshot
        .providers
        .iter()
        .find_map(|p| {
            p.accounts
                .iter()
                .find(|a| a.id == account_id)
                .map(|a| (p.name.as_str(), a.name.as_str()))
        })
        .unwrap_or(("Provider", account_id))
}

fn prefix_of<'a>(snapshot: &'a Snapshot, provider_id: &'a str) -> &'a str {
    snapshot
        .providers
        .iter()
        .find(|p| p.id == provider_id)
        .map_or(provider_id, |p| p.prefix.as_str())
}

fn failure(class: FailureClass) -> &'static str {
    match class {
        FailureClass::Auth => "refused the account's credentials",
        FailureClass::LoginRefused => "refused the account's login",
        FailureClass::RateLimit => "was rate limited",
        FailureClass::Quota => "is out of quota",
        FailureClass::Overloaded => "was overloaded",
        FailureClass::BadRequest => "rejected the request",
        FailureClass::ContextLength => "could not take a request that long",
        FailureClass::NotFound => "does not know the model",
        FailureClass::Network => "could not be reached",
        FailureClass::Timeout => "timed out",
        FailureClass::BadResponse => "answered with something malformed",
        FailureClass::Unsupported => "is not supported yet",
    }
}

/// Notices for combos that have just run out of accounts: a combo is reported when it goes
/// from servable to all-cooling, not again while it stays so.
#[derive(Default)]
pub struct ComboWatch {
    cooling: HashSet<String>,
}

impl ComboWatch {
    pub fn update(&mut self, snapshot: &Snapshot, tz: &TimeZone, now_ms: i64) -> Vec<Notice> {
        let mut notices = Vec::new();
        let mut now_cooling = HashSet::new();
        for combo in &snapshot.combos {
            let Some(until) = combo.cooling_until_ms else {
                continue;
            };
            now_cooling.insert(combo.name.clone());
            if !self.cooling.contains(&combo.name) {
                notices.push(Notice {
                    key: format!("combo:{}", combo.name),
                    title: format!("Every account of “{}” is cooling down", combo.name),
                    body: format!(
                        "Requests to {} fail until {}, when the first account is back.",
                        combo.name,
                        at_time(until, tz, now_ms)
                    ),
                });
            }
        }
        self.cooling = now_cooling;
        notices
    }
}

pub struct Throttle {
    last_by_key: HashMap<String, i64>,
    recent: VecDeque<i64>,
    held_back: usize,
}

impl Throttle {
    pub fn new() -> Self {
        Self {
            last_by_key: HashMap::new(),
            recent: VecDeque::new(),
            held_back: 0,
        }
    }

    /// The notice to show now, or `None` when it is held back.
    pub fn admit(&mut self, mut notice: Notice, now_ms: i64) -> Option<Notice> {
        if self
            .last_by_key
            .get(&notice.key)
            .is_some_and(|&t| now_ms - t < PER_KEY_MS)
        {
            self.held_back += 1;
            return None;
        }
        while self
            .recent
            .front()
            .is_some_and(|&t| now_ms - t >= BURST_WINDOW_MS)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= BURST {
            self.held_back += 1;
            return None;
        }
        self.recent.push_back(now_ms);
        self.last_by_key.insert(notice.key.clone(), now_ms);
        self.last_by_key.retain(|_, &mut t| now_ms - t < PER_KEY_MS);
        if self.held_back > 0 {
            let n = std::mem::take(&mut self.held_back);
            notice.body.push_str(&format!(
                " ({n} similar notice{} held back; see the dashboard.)",
                if n == 1 { "" } else { "s" }
            ));
        }
        Some(notice)
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ninerouter::catalog::{ComboStrategy, Source};
    use ninerouter::engine::{AccountState, AccountStatus, ComboState, ProviderState};
    use ninerouter::events::{Attempt, ServedBy};

    const NOW: i64 = 1_763_712_000_000;

    fn notice(key: &str) -> Notice {
        Notice {
            key: key.into(),
            title: "t".into(),
            body: "b".into(),
        }
    }

    fn snapshot(cooling: Option<i64>) -> Snapshot {
        Snapshot {
            address: "127.0.0.1:20128".into(),
            secret_backend: "file".into(),
            secrets_waiting: false,
            paused: false,
            active_combo: None,
            providers: vec![ProviderState {
                id: "openrouter".into(),
                prefix: "or".into(),
                name: "OpenRouter".into(),
                accounts: vec![AccountState {
                    id: "acc-1".into(),
                    name: "work".into(),
                    priority: 1,
                    enabled: true,
                    state: AccountStatus::Active,
                    cooldowns: vec![],
                    quota: None,
                }],
                circuit: None,
            }],
            combos: vec![ComboState {
                name: "cheap".into(),
                cooling_until_ms: cooling,
                models: vec![],
                strategy: ComboStrategy::Fallback,
                source: Source::Api,
            }],
        }
    }

    #[test]
    fn the_same_subject_waits_ten_minutes() {
        let mut t = Throttle::new();
        assert!(t.admit(notice("cooldown:a"), NOW).is_some());
        assert!(t.admit(notice("cooldown:a"), NOW + 60_000).is_none());
        // What was held back is counted into the next notice shown.
        assert_eq!(
            t.admit(notice("cooldown:b"), NOW + 60_000).map(|n| n.body),
            Some("b (1 similar notice held back; see the dashboard.)".to_owned())
        );
        assert_eq!(
            t.admit(notice("cooldown:a"), NOW + PER_KEY_MS)
                .map(|n| n.body),
            Some("b".to_owned())
        );
    }

    #[test]
    fn bursts_are_capped_and_counted() {
        let mut t = Throttle::new();
        let shown: Vec<bool> = (0..6)
            .map(|i| t.admit(notice(&format!("k{i}")), NOW + i * 1000).is_some())
            .collect();
        assert_eq!(shown, [true, true, true, false, false, false]);
        let next = t.admit(notice("k9"), NOW + BURST_WINDOW_MS);
        assert_eq!(
            next.map(|n| n.body),
            Some("b (3 similar notices held back; see the dashboard.)".to_owned())
        );
    }

    #[test]
    fn cooldowns_and_fallbacks_read_as_sentences() {
        let s = snapshot(None);
        let cooled = EngineEvent::AccountCooledDown {
            account_id: "acc-1".into(),
            model: ALL_MODELS.into(),
            until_ms: NOW + 5 * 60_000,
            reason: "rate limit".into(),
            needs_login: false,
        };
        assert_eq!(
            for_event(&cooled, &s, &TimeZone::UTC, NOW),
            Some(Notice {
                key: "cooldown:acc-1".into(),
                title: "OpenRouter account cooling down".into(),
                body: "“work” rests until 08:05: rate limit.".into(),
            })
        );
        let refused = EngineEvent::AccountCooledDown {
            account_id: "acc-1".into(),
            model: ALL_MODELS.into(),
            until_ms: NOW + 30 * 86_400_000,
            reason: "needs login: the saved login was refused (GitHub refused the saved token); log in again".into(),
            needs_login: true,
        };
        assert_eq!(
            for_event(&refused, &s, &TimeZone::UTC, NOW).map(|n| n.title),
            Some("OpenRouter account needs a new login".to_owned())
        );
        let routed = EngineEvent::RequestRouted {
            requested_model: "smart".into(),
            served_by: Some(ServedBy {
                provider: "openrouter".into(),
                model: "deepseek/deepseek-chat".into(),
                account_id: "acc-1".into(),
            }),
            attempts: vec![Attempt {
                target: "cc/claude-sonnet-4-5".into(),
                account_id: "c1".into(),
                class: FailureClass::Quota,
                status: Some(429),
            }],
            status: 200,
        };
        assert_eq!(
            for_event(&routed, &s, &TimeZone::UTC, NOW).map(|n| n.body),
            Some("smart: cc/claude-sonnet-4-5 is out of quota, so or/deepseek/deepseek-chat answered.".into())
        );
        let mut with_active = s.clone();
        with_active.active_combo = Some("smart".into());
        let via_default = EngineEvent::RequestRouted {
            requested_model: ACTIVE_COMBO_ALIAS.into(),
            served_by: None,
            attempts: vec![],
            status: 200,
        };
        assert_eq!(
            for_event(&via_default, &with_active, &TimeZone::UTC, NOW),
            None
        );
        let EngineEvent::RequestRouted {
            served_by,
            attempts,
            status,
            ..
        } = routed
        else {
            unreachable!()
        };
        let via_default = EngineEvent::RequestRouted {
            requested_model: ACTIVE_COMBO_ALIAS.into(),
            served_by,
            attempts,
            status,
        };
        assert_eq!(
            for_event(&via_default, &with_active, &TimeZone::UTC, NOW).map(|n| n.key),
            Some("fallback:smart".into())
        );
        let direct = EngineEvent::RequestRouted {
            requested_model: "smart".into(),
            served_by: None,
            attempts: vec![],
            status: 200,
        };
        assert_eq!(for_event(&direct, &s, &TimeZone::UTC, NOW), None);
    }

    #[test]
    fn a_quota_passing_a_threshold_reads_as_a_sentence() {
        let low = EngineEvent::QuotaLow {
            account_id: "acc-1".into(),
            window: ninerouter::quota::Window::Weekly,
            metric: "requests".into(),
            model: Some("opus".into()),
            percent_used: 95.4,
            threshold: 95,
            resets_at_ms: Some(NOW + 2 * 3_600_000),
        };
        assert_eq!(
            for_event(&low, &snapshot(None), &TimeZone::UTC, NOW),
            Some(Notice {
                key: "quota:acc-1:Weekly:requests:95".into(),
                title: "OpenRouter quota low".into(),
                body: "“work” has used 95% of its weekly requests for opus; it resets 10:00."
                    .into(),
            })
        );
    }

    #[test]
    fn a_provider_going_down_and_coming_back_is_told() {
        let s = snapshot(None);
        let down = EngineEvent::ProviderDown {
            provider: "openrouter".into(),
            endpoint: "https://openrouter.ai/api/v1".into(),
            until_ms: NOW + 60_000,
            reason: "the provider answered 503".into(),
        };
        assert_eq!(
            for_event(&down, &s, &TimeZone::UTC, NOW).map(|n| (n.title, n.body)),
            Some((
                "OpenRouter is down".to_owned(),
                "It failed several times in a row (the provider answered 503); other providers take its requests, and it is tried again at 08:01.".to_owned()
            ))
        );
        let up = EngineEvent::ProviderUp {
            provider: "openrouter".into(),
            endpoint: "https://openrouter.ai/api/v1".into(),
        };
        assert_eq!(
            for_event(&up, &s, &TimeZone::UTC, NOW).map(|n| n.title),
            Some("OpenRouter is back".to_owned())
        );
    }

    #[test]
    fn a_combo_is_reported_once_when_it_runs_out() {
        let mut watch = ComboWatch::default();
        assert!(
            watch
                .update(&snapshot(None), &TimeZone::UTC, NOW)
                .is_empty()
        );
        let out = watch.update(&snapshot(Some(NOW + 3_600_000)), &TimeZone::UTC, NOW);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].body,
            "Requests to cheap fail until 09:00, when the first account is back."
        );
        assert!(
            watch
                .update(&snapshot(Some(NOW + 3_600_000)), &TimeZone::UTC, NOW)
                .is_empty()
        );
        assert!(
            watch
                .update(&snapshot(None), &TimeZone::UTC, NOW)
                .is_empty()
        );
        assert_eq!(
            watch
                .update(&snapshot(Some(NOW)), &TimeZone::UTC, NOW)
                .len(),
            1
        );
    }
}
