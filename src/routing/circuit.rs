//! A circuit breaker per provider endpoint (base URL), on top of the account cooldowns: when
//! an endpoint fails several times in a row whatever the account (it is down, not an account
//! refused), requests stop going there for a while; then a single request probes it, and
//! its answer closes the circuit or opens it again for longer.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::FailureClass;
use crate::catalog::RoutingSettings;

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

#[derive(Debug)]
struct Breaker {
    provider: String,
    failures: u32,
    trips: u32,
    open_until_ms: Option<i64>,
    probing: bool,
    last_error: Option<String>,
}

impl Breaker {
    fn state(&self, now_ms: i64) -> CircuitState {
        match self.open_until_ms {
            None => CircuitState::Closed,
            Some(until) if now_ms < until && !self.probing => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }
}

#[derive(Default)]
pub struct Circuits {
    breakers: Mutex<HashMap<String, Breaker>>,
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
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Breaker>> {
        self.breakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn admit(&self, endpoint: &str, now_ms: i64) -> Admission {
        let mut breakers = self.lock();
        let Some(b) = breakers.get_mut(endpoint) else {
            return Admission::Go;
        };
        match (b.open_until_ms, b.probing) {
            (None, _) => Admission::Go,
            (Some(until), false) if now_ms < until => Admission::Wait(until),
            (Some(_), false) => {
                b.probing = true;
                Admission::Probe
            }
            // A probe is out: wait for its answer a moment.
            (Some(until), true) => Admission::Wait(until.max(now_ms) + 1_000),
        }
    }

    /// The endpoint answered (whatever it said about the account or the request).
    pub fn answered(&self, endpoint: &str) -> Option<Change> {
        let mut breakers = self.lock();
        let b = breakers.get_mut(endpoint)?;
        let was_open = b.open_until_ms.is_some();
        b.failures = 0;
        b.trips = 0;
        b.probing = false;
        b.open_until_ms = None;
        was_open.then_some(Change::Up)
    }

    /// The endpoint failed (`class` is one that `endpoint_unwell`).
    pub fn failed(
        &self,
        endpoint: &str,
        provider: &str,
        reason: &str,
        settings: &RoutingSettings,
        now_ms: i64,
    ) -> Option<Change> {
        let mut breakers = self.lock();
        let b = breakers
            .entry(endpoint.to_owned())
            .or_insert_with(|| Breaker {
                provider: provider.to_owned(),
                failures: 0,
                trips: 0,
                open_until_ms: None,
                probing: false,
                last_error: None,
            });
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
        was_closed.then_some(Change::Down { until_ms: until })
    }

    /// Every endpoint that failed since it last answered.
    pub fn all(&self, now_ms: i64) -> Vec<CircuitInfo> {
        let mut out: Vec<CircuitInfo> = self
            .lock()
            .iter()
            .filter(|(_, b)| b.failures > 0 || b.open_until_ms.is_some())
            .map(|(endpoint, b)| CircuitInfo {
                endpoint: endpoint.clone(),
                provider: b.provider.clone(),
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
    fn opens_after_failures_in_a_row_probes_once_and_closes_on_an_answer() {
        let c = Circuits::default();
        let s = RoutingSettings::default(); // 1 s base, 300 s cap
        assert_eq!(c.failed(E, "p", "503", &s, 0), None);
        assert_eq!(c.answered(E), None, "an answer resets the count");
        assert_eq!(c.failed(E, "p", "503", &s, 0), None);
        assert_eq!(c.failed(E, "p", "503", &s, 0), None);
        assert_eq!(
            c.failed(E, "p", "503", &s, 10),
            Some(Change::Down { until_ms: 1_010 })
        );
        assert_eq!(c.admit(E, 500), Admission::Wait(1_010));
        assert_eq!(c.all(500)[0].state, CircuitState::Open);
        // After the wait, one probe; others wait for its answer.
        assert_eq!(c.admit(E, 1_010), Admission::Probe);
        assert_eq!(c.all(1_010)[0].state, CircuitState::HalfOpen);
        assert!(matches!(c.admit(E, 1_011), Admission::Wait(_)));
        // The probe fails: open again, for twice as long, without a second "down".
        assert_eq!(c.failed(E, "p", "timeout", &s, 1_100), None);
        assert_eq!(c.admit(E, 2_000), Admission::Wait(3_100));
        assert_eq!(c.admit(E, 3_100), Admission::Probe);
        assert_eq!(c.answered(E), Some(Change::Up));
        assert_eq!(c.admit(E, 3_101), Admission::Go);
        assert_eq!(c.all(3_101), Vec::new());
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
