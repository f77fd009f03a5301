//! Paces password attempts per client address (IPv6 by /64, what one client usually holds):
//! a few are free, then each further one doubles the wait before the next (up to 15
//! minutes). An attempt counts when it starts, so guesses sent in parallel are paced like
//! serial ones; a success clears the record.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

const FREE_ATTEMPTS: u32 = 5;
const MAX_WAIT_MS: i64 = 15 * 60 * 1000;
/// A record is forgotten after this long without attempts.
const FORGET_MS: i64 = 3600 * 1000;
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, i64)>>,
}

/// The address a record is kept under: IPv6 clients by their /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

impl Throttle {
    /// Starts an attempt: how long `ip` must still wait instead, or `None` when it may go on
    /// (the attempt is then counted).
    pub fn attempt(&self, ip: IpAddr, now_ms: i64) -> Option<Duration> {
        if let Some(wait) = self.wait(ip, now_ms) {
            return Some(wait);
        }
        self.failed(ip, now_ms);
        None
    }

    /// How long `ip` must still wait before its next attempt, if at all.
    pub fn wait(&self, ip: IpAddr, now_ms: i64) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, last) = *failures.get(&client_key(ip))?;
        let until = last.saturating_add(delay_ms(count));
        (until > now_ms).then(|| Duration::from_millis(u64::try_from(until - now_ms).unwrap_or(0)))
    }

    pub fn failed(&self, ip: IpAddr, now_ms: i64) {
        let ip = client_key(ip);
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_ADDRESSES {
            failures.retain(|_, (_, last)| now_ms - *last < FORGET_MS);
        }
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&ip) {
            // Under a flood of addresses, the oldest record makes room.
            if let Some(oldest) = failures
                .iter()
                .min_by_key(|(_, (_, l))| *l)
                .map(|(k, _)| *k)
            {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(ip).or_insert((0, now_ms));
        if now_ms - entry.1 >= FORGET_MS {
            *entry = (0, now_ms);
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now_ms;
    }

    pub fn succeeded(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&client_key(ip));
    }
}

/// The wait after `count` failures: none for the free ones, then 1 s, 2 s, 4 s, …
fn delay_ms(count: u32) -> i64 {
    match count.checked_sub(FREE_ATTEMPTS) {
        None => 0,
        Some(extra) => 1000i64
            .checked_shl(extra)
            .filter(|d| *d > 0)
            .map_or(MAX_WAIT_MS, |d| d.min(MAX_WAIT_MS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_attempts_and_a_success_clears_them() {
        let t = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..FREE_ATTEMPTS - 1 {
            t.failed(ip, 0);
        }
        assert_eq!(t.wait(ip, 0), None);
        t.failed(ip, 0);
        assert_eq!(t.wait(ip, 0), Some(Duration::from_secs(1)));
        t.failed(ip, 0);
        assert_eq!(t.wait(ip, 500), Some(Duration::from_millis(1500)));
        assert_eq!(t.wait(other, 0), None, "per address");
        for _ in 0..100 {
            t.failed(ip, 0);
        }
        assert_eq!(
            t.wait(ip, 0),
            Some(Duration::from_millis(MAX_WAIT_MS as u64))
        );
        t.succeeded(ip);
        assert_eq!(t.wait(ip, 0), None);
    }

    #[test]
    fn attempts_count_when_they_start_and_ipv6_clients_by_their_block() {
        let t = Throttle::default();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(t.attempt(a, 0), None);
        }
        assert!(t.attempt(b, 0).is_some(), "the same /64 waits");
        assert!(t.attempt("2001:db8:1:3::1".parse().unwrap(), 0).is_none());
    }
}
