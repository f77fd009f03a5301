//! What each limited proxy key has spent: requests and tokens over the last minute, dollars
//! over the current UTC day. The request path asks before dispatching; the recording thread
//! charges tokens and cost once an answer's counts are known, so concurrent requests may pass
//! a limit by what they spend together (as every gateway that counts after the fact does).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use crate::catalog::KeyLimits;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Which limit refused a request, and when it will pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    Model,
    Rpm(Duration),
    Tpm(Duration),
    DailyCost(Duration),
}

impl Refusal {
    /// The name usage records it under.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::Model => "model",
            Refusal::Rpm(_) => "rpm",
            Refusal::Tpm(_) => "tpm",
            Refusal::DailyCost(_) => "daily-cost",
        }
    }

    pub fn retry_after(self) -> Option<Duration> {
        match self {
            Refusal::Rpm(d) | Refusal::Tpm(d) | Refusal::DailyCost(d) => Some(d),
            Refusal::Expired | Refusal::Model => None,
        }
    }
}

#[derive(Debug, Default)]
struct Spend {
    /// Admitted requests in the last minute.
    requests: VecDeque<i64>,
    /// Tokens charged in the last minute, and their sum.
    tokens: VecDeque<(i64, u64)>,
    token_sum: u64,
    /// Billed dollars on `day` (days since the epoch, UTC).
    day: i64,
    cost: f64,
}

impl Spend {
    fn forget_before(&mut self, now_ms: i64) {
        let since = now_ms - MINUTE_MS;
        while self.requests.front().is_some_and(|&t| t <= since) {
            self.requests.pop_front();
        }
        while let Some(&(t, n)) = self.tokens.front() {
            if t > since {
                break;
            }
            self.token_sum -= n;
            self.tokens.pop_front();
        }
        let today = now_ms.div_euclid(DAY_MS);
        if self.day != today {
            self.day = today;
            self.cost = 0.0;
        }
    }
}

fn wait(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1))
}

#[derive(Debug, Default)]
pub struct KeyBudgets {
    spent: Mutex<HashMap<String, Spend>>,
}

impl KeyBudgets {
    /// Admits a request of key `id` under `limits` now, counting it, or says which limit
    /// refuses it and for how long.
    pub fn admit(&self, id: &str, limits: &KeyLimits, now_ms: i64) -> Result<(), Refusal> {
        if limits.rpm.is_none() && limits.tpm.is_none() && limits.daily_cost_limit_usd.is_none() {
            return Ok(());
        }
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let spend = spent.entry(id.to_owned()).or_default();
        spend.forget_before(now_ms);
        if let Some(usd) = limits.daily_cost_limit_usd
            && spend.cost >= usd
        {
            let next_day = (spend.day + 1) * DAY_MS;
            return Err(Refusal::DailyCost(wait(next_day - now_ms)));
        }
        if let Some(tpm) = limits.tpm
            && spend.token_sum >= tpm
        {
            // Passes once enough of the minute's tokens have aged out.
            let mut left = spend.token_sum;
            let at = spend
                .tokens
                .iter()
                .find(|&&(_, n)| {
                    left -= n;
                    left < tpm
                })
                .map_or(now_ms, |&(t, _)| t + MINUTE_MS);
            return Err(Refusal::Tpm(wait(at - now_ms)));
        }
        if let Some(rpm) = limits.rpm
            && spend.requests.len() >= usize::try_from(rpm).unwrap_or(usize::MAX)
        {
            let oldest = spend.requests.front().copied().unwrap_or(now_ms);
            return Err(Refusal::Rpm(wait(oldest + MINUTE_MS - now_ms)));
        }
        spend.requests.push_back(now_ms);
        Ok(())
    }

    /// Raises what key `id` has spent today to `billed_usd` if the record says more: the
    /// requests other hosts of a shared store billed to the same key.
    pub fn spent_today_at_least(&self, id: &str, billed_usd: f64, now_ms: i64) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let spend = spent.entry(id.to_owned()).or_default();
        spend.forget_before(now_ms);
        if billed_usd.is_finite() && billed_usd > spend.cost {
            spend.cost = billed_usd;
        }
    }

    /// Charges what a request of key `id` used, once known.
    pub fn charge(&self, id: &str, tokens: u64, billed_usd: f64, at_ms: i64) {
        let mut spent = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let spend = spent.entry(id.to_owned()).or_default();
        spend.forget_before(at_ms);
        if tokens > 0 {
            spend.tokens.push_back((at_ms, tokens));
            spend.token_sum += tokens;
        }
        if billed_usd.is_finite() && billed_usd > 0.0 && at_ms.div_euclid(DAY_MS) == spend.day {
            spend.cost += billed_usd;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rpm: Option<u32>, tpm: Option<u64>, usd: Option<f64>) -> KeyLimits {
        KeyLimits {
            rpm,
            tpm,
            daily_cost_limit_usd: usd,
            ..KeyLimits::default()
        }
    }

    #[test]
    fn what_other_hosts_billed_today_counts_against_the_daily_limit() {
        let b = KeyBudgets::default();
        let l = limits(None, None, Some(1.0));
        b.charge("k", 10, 0.25, 1_000);
        b.spent_today_at_least("k", 0.1, 1_000);
        assert_eq!(
            b.admit("k", &l, 1_000),
            Ok(()),
            "less than what is known here"
        );
        b.spent_today_at_least("k", 1.5, 2_000);
        assert!(matches!(
            b.admit("k", &l, 2_000),
            Err(Refusal::DailyCost(_))
        ));
        assert_eq!(
            b.admit("k", &l, DAY_MS + 1),
            Ok(()),
            "a new day starts at zero"
        );
    }

    #[test]
    fn requests_per_minute_slide() {
        let b = KeyBudgets::default();
        let l = limits(Some(2), None, None);
        assert_eq!(b.admit("k", &l, 1_000), Ok(()));
        assert_eq!(b.admit("k", &l, 2_000), Ok(()));
        assert_eq!(
            b.admit("k", &l, 3_000),
            Err(Refusal::Rpm(Duration::from_secs(58)))
        );
        assert_eq!(b.admit("k", &l, 61_001), Ok(()));
        // Another key has its own count.
        assert_eq!(b.admit("other", &l, 3_000), Ok(()));
    }

    #[test]
    fn tokens_per_minute_count_what_was_charged() {
        let b = KeyBudgets::default();
        let l = limits(None, Some(1_000), None);
        assert_eq!(b.admit("k", &l, 0), Ok(()));
        b.charge("k", 600, 0.0, 1_000);
        b.charge("k", 600, 0.0, 5_000);
        // Passes when the first 600 age out.
        assert_eq!(
            b.admit("k", &l, 10_000),
            Err(Refusal::Tpm(Duration::from_secs(51)))
        );
        assert_eq!(b.admit("k", &l, 61_001), Ok(()));
    }

    #[test]
    fn the_daily_cost_resets_at_utc_midnight() {
        let b = KeyBudgets::default();
        let l = limits(None, None, Some(1.0));
        let noon = 20_000 * DAY_MS + DAY_MS / 2;
        assert_eq!(b.admit("k", &l, noon), Ok(()));
        b.charge("k", 10, 0.6, noon);
        assert_eq!(b.admit("k", &l, noon + 1), Ok(()));
        b.charge("k", 10, 0.6, noon + 2);
        assert_eq!(
            b.admit("k", &l, noon + 3),
            Err(Refusal::DailyCost(wait(DAY_MS / 2 - 3)))
        );
        assert_eq!(b.admit("k", &l, 20_001 * DAY_MS), Ok(()));
    }
}
