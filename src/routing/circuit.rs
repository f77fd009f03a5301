//! A circuit breaker per provider endpoint (provider and base URL: a subscription login and
//! an API key may share a host, not a fate), on top of the account cooldowns: when
//! an endpoint fails several times in a row whatever the account (it is down, not an account
//! refused), requests stop going there for a while; then a single request probes it, and
//! its answer closes the circuit or opens it again for longer.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use tokio::sync::mpsc::UnboundedSender;

use serde::Serialize;

use super::FailureClass;
use crate::catalog::RoutingSettings;
use crate::store::StoredCircuit;

/// Failures in a row, from any account, that open the circuit.
pub const TRIP_AFTER: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum CircuitState {
    Closed,
    /// Nothing is sent until `openUntilMs`.
    Open,
    /// One request is probing the endpoint.
    HalfOpen,
}

/// An endpoint's circuit, as the API, the dashboard and the tray show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CircuitInfo {
    pub endpoint: String,
    pub provider: String,
    pub state: CircuitState,
    pub failures: u32,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub open_until_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// Whether a request may go to an endpoint now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Go,
    /// Go, as the probe of a half-open circuit.
    Probe,
    /// Not before this time.
    Wait(i64),
}

/// A change worth telling: the endpoint went down, or came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Down { until_ms: i64 },
    Up,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    trips: u32,
    open_until_ms: Option<i64>,
    probing: bool,
    /// When the probe went out: a probe whose request was dropped (the client went away)
    /// never reports, so another may go after `PROBE_LOST_MS`.
    probe_since_ms: i64,
    last_error: Option<String>,
    /// Opened by another host (see `Circuits::adopt`), so that host's close closes it here.
    shared: bool,
}

/// How long a probe may stay out before it is taken as lost.
const PROBE_LOST_MS: i64 = 60_000;

impl Breaker {
    fn state(&self, now_ms: i64) -> CircuitState {
        match self.open_until_ms {
            None => CircuitState::Closed,
            Some(until) if now_ms < until && !self.probing => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }
}

/// Provider id and base URL.
type Key = (String, String);

/// What this host learned about an endpoint, for the other hosts.
#[derive(Debug, Clone)]
pub enum CircuitChange {
    Opened(StoredCircuit),
    Closed { provider: String, endpoint: String },
}

#[derive(Default)]
pub struct Circuits {
    breakers: Mutex<HashMap<Key, Breaker>>,
    /// Set on a shared store: where circuits opened and closed here are sent.
    shared: OnceLock<UnboundedSender<CircuitChange>>,
}

impl FailureClass {
    /// Whether the failure says the endpoint itself is unwell (down, overloaded, broken),
    /// rather than that it refused an account or a request.
    pub fn endpoint_unwell(self) -> bool {
        matches!(
            self,
            Self::Network | Self::Timeout | Self::Overloaded | Self::BadResponse
        )
    }
}

impl Circuits {
    /// Sends every circuit opened or closed here to `changes` (once, at start).
    pub fn share_with(&self, changes: UnboundedSender<CircuitChange>) {
        let _ = self.shared.set(changes);
    }

    fn tell(&self, change: CircuitChange) {
        if let Some(tx) = self.shared.get() {
            // The receiver only goes away at shutdown.
            let _ = tx.send(change);
        }
    }

    /// Takes the circuits other hosts hold open as this host's: an endpoint open there is
    /// left alone here until the same time; one they closed (a probe answered) closes here.
    pub fn adopt(&self, open: &[StoredCircuit], now_ms: i64) {
        let mut breakers = self.lock();
        for b in breakers.values_mut() {
            if b.open_until_ms.is_some() && !b.probing && b.shared {
                b.open_until_ms = None;
                b.failures = 0;
                b.trips = 0;
                b.shared = false;
            }
        }
        for c in open.iter().filter(|c| c.until_ms > now_ms) {
            let b = breakers
                .entry(Self::key(&c.provider, &c.endpoint))
                .or_default();
            if b.open_until_ms.is_none_or(|until| until < c.until_ms) {
                b.open_until_ms = Some(c.until_ms);
                b.failures = b.failures.max(TRIP_AFTER);
                b.trips = b.trips.max(1);
                b.last_error = Some(c.reason.clone());
                b.shared = true;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Breaker>> {
        self.breakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(provider: &str, endpoint: &str) -> Key {
        (provider.to_owned(), endpoint.to_owned())
    }

    pub fn admit(&self, provider: &str, endpoint: &str, now_ms: i64) -> Admission {
        let mut breakers = self.lock();
        if breakers.is_empty() {
            return Admission::Go;
        }
        let Some(b) = breakers.get_mut(&Self::key(provider, endpoint)) else {
            return Admission::Go;
        };
        match (b.open_until_ms, b.probing) {
            (None, _) => Admission::Go,
            (Some(until), false) if now_ms < until => Admission::Wait(until),
            (Some(_), false) => {
                b.probing = true;
                b.probe_since_ms = now_ms;
                Admission::Probe
            }
            (Some(_), true) if now_ms - b.probe_since_ms >= PROBE_LOST_MS => {
                b.probe_since_ms = now_ms;
                Admission::Probe
            }
            // A probe is out: wait for its answer a moment.
            (Some(until), true) => Admission::Wait(until.max(now_ms) + 1_000),
        }
    }

    /// A probe that never reached the endpoint (its login failed first) frees its slot.
    pub fn not_reached(&self, provider: &str, endpoint: &str) {
        if let Some(b) = self.lock().get_mut(&Self::key(provider, endpoint)) {
            b.probing = false;
        }
    }

    /// The endpoint answered (whatever it said about the account or the request).
    pub fn answered(&self, provider: &str, endpoint: &str) -> Option<Change> {
        let mut breakers = self.lock();
        if breakers.is_empty() {
            return None;
        }
        let b = breakers.get_mut(&Self::key(provider, endpoint))?;
        let was_open = b.open_until_ms.is_some();
        b.failures = 0;
        b.trips = 0;
        b.probing = false;
        b.open_until_ms = None;
        b.shared = false;
        drop(breakers);
        if was_open {
            self.tell(CircuitChange::Closed {
                provider: provider.to_owned(),
                endpoint: endpoint.to_owned(),
            });
        }
        was_open.then_some(Change::Up)
    }

    /// The endpoint failed (`class` is one that `endpoint_unwell`).
    pub fn failed(
        &self,
        provider: &str,
        endpoint: &str,
        reason: &str,
        settings: &RoutingSettings,
        now_ms: i64,
    ) -> Option<Change> {
        let mut breakers = self.lock();
        let b = breakers.entry(Self::key(provider, endpoint)).or_default();
        b.failures += 1;
        b.last_error = Some(reason.chars().take(300).collect());
        let probe_failed = b.probing;
        let was_closed = b.open_until_ms.is_none();
        if !(probe_failed || (was_closed && b.failures >= TRIP_AFTER)) {
            return None;
        }
        b.probing = false;
        b.trips += 1;
        let wait = settings
            .cooldown_base_ms
            .saturating_mul(1 << (b.trips - 1).min(16))
            .min(settings.cooldown_max_ms);
        let until = now_ms + i64::try_from(wait).unwrap_or(i64::MAX / 2);
        b.open_until_ms = Some(until);
        b.shared = false;
        let reason = b.last_error.clone().unwrap_or_default();
        drop(breakers);
        self.tell(CircuitChange::Opened(StoredCircuit {
            provider: provider.to_owned(),
            endpoint: endpoint.to_owned(),
            until_ms: until,
            reason,
        }));
        was_closed.then_some(Change::Down { until_ms: until })
    }

    /// Every endpoint that failed since it last answered.
    pub fn all(&self, now_ms: i64) -> Vec<CircuitInfo> {
        let mut out: Vec<CircuitInfo> = self
            .lock()
            .iter()
            .filter(|(_, b)| b.failures > 0 || b.open_until_ms.is_some())
            .map(|((provider, endpoint), b)| CircuitInfo {
                endpoint: crate::catalog::masked_url(endpoint),
                provider: provider.clone(),
                state: b.state(now_ms),
                failures: b.failures,
                open_until_ms: b.open_until_ms,
                last_error: b.last_error.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "http://p/v1";

    #[test]
    fn circuits_other_hosts_hold_open_are_kept_and_their_close_closes_them_here() {
        let c = Circuits::default();
        let s = RoutingSettings::default();
        let (tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        c.share_with(tx);
        let remote = |until_ms| StoredCircuit {
            provider: "p".into(),
            endpoint: E.into(),
            until_ms,
            reason: "503 elsewhere".into(),
        };
        c.adopt(&[remote(5_000)], 0);
        assert_eq!(c.admit("p", E, 10), Admission::Wait(5_000));
        assert_eq!(c.all(10)[0].last_error.as_deref(), Some("503 elsewhere"));
        // Gone from the store (its probe answered there): closed here too.
        c.adopt(&[], 20);
        assert_eq!(c.admit("p", E, 20), Admission::Go);
        // One opened here is told, and stays open whatever the store says meanwhile.
        for _ in 0..TRIP_AFTER {
            c.failed("q", E, "503", &s, 100);
        }
        assert!(matches!(told.try_recv(), Ok(CircuitChange::Opened(o)) if o.provider == "q"));
        c.adopt(&[], 200);
        assert!(matches!(c.admit("q", E, 200), Admission::Wait(_)));
        c.answered("q", E);
        assert!(matches!(told.try_recv(), Ok(CircuitChange::Closed { .. })));
    }

    #[test]
    fn opens_after_failures_in_a_row_probes_once_and_closes_on_an_answer() {
        let c = Circuits::default();
        let s = RoutingSettings::default(); // 1 s base, 300 s cap
        assert_eq!(c.failed("p", E, "503", &s, 0), None);
        assert_eq!(c.answered("p", E), None, "an answer resets the count");
        assert_eq!(c.failed("p", E, "503", &s, 0), None);
        assert_eq!(c.failed("p", E, "503", &s, 0), None);
        assert_eq!(
            c.failed("p", E, "503", &s, 10),
            Some(Change::Down { until_ms: 1_010 })
        );
        assert_eq!(c.admit("p", E, 500), Admission::Wait(1_010));
        assert_eq!(c.all(500)[0].state, CircuitState::Open);
        // After the wait, one probe; others wait for its answer.
        assert_eq!(c.admit("p", E, 1_010), Admission::Probe);
        assert_eq!(c.all(1_010)[0].state, CircuitState::HalfOpen);
        assert!(matches!(c.admit("p", E, 1_011), Admission::Wait(_)));
        // The probe fails: open again, for twice as long, without a second "down".
        assert_eq!(c.failed("p", E, "timeout", &s, 1_100), None);
        assert_eq!(c.admit("p", E, 2_000), Admission::Wait(3_100));
        assert_eq!(c.admit("p", E, 3_100), Admission::Probe);
        assert_eq!(c.answered("p", E), Some(Change::Up));
        assert_eq!(c.admit("p", E, 3_101), Admission::Go);
        assert_eq!(c.all(3_101), Vec::new());
    }

    #[test]
    fn providers_sharing_a_host_do_not_share_a_circuit() {
        let c = Circuits::default();
        let s = RoutingSettings::default();
        for _ in 0..TRIP_AFTER {
            c.failed("claude", E, "overloaded", &s, 0);
        }
        assert!(matches!(c.admit("claude", E, 10), Admission::Wait(_)));
        assert_eq!(c.admit("anthropic", E, 10), Admission::Go);
        // A probe whose login failed before reaching the endpoint frees its slot.
        assert_eq!(c.admit("claude", E, 5_000), Admission::Probe);
        c.not_reached("claude", E);
        assert_eq!(c.admit("claude", E, 5_001), Admission::Probe);
        // A probe that never reports (its request was dropped) is taken as lost in time.
        assert!(matches!(c.admit("claude", E, 5_002), Admission::Wait(_)));
        assert_eq!(
            c.admit("claude", E, 5_001 + PROBE_LOST_MS),
            Admission::Probe
        );
    }

    #[test]
    fn only_an_unwell_endpoint_counts() {
        assert!(FailureClass::Overloaded.endpoint_unwell());
        assert!(FailureClass::Network.endpoint_unwell());
        assert!(!FailureClass::RateLimit.endpoint_unwell());
        assert!(!FailureClass::Auth.endpoint_unwell());
        assert!(!FailureClass::ContextLength.endpoint_unwell());
    }
}
