//! The quota shapes stored and served.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Window {
    Minute,
    FiveHour,
    Daily,
    Weekly,
    Monthly,
    /// A limit that never resets (a credit balance).
    Total,
}

/// One limit: what it counts, how much is used, and when it starts over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct QuotaWindow {
    pub window: Window,
    /// `requests`, `tokens`, `input-tokens`, `output-tokens`, `credits`…
    pub metric: String,
    /// The models the limit counts, when not all of them: a model name contains this
    /// (Claude's weekly `opus`, Antigravity's per-model quotas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub model: Option<String>,
    pub used: Option<f64>,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    /// 0–100, when the provider gives a percentage or it follows from used/limit.
    pub percent_used: Option<f64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub resets_at_ms: Option<i64>,
}

impl QuotaWindow {
    /// How much of it is used, in percent, when that is known.
    pub fn percent(&self) -> Option<f64> {
        self.percent_used.or_else(|| {
            let limit = self.limit.filter(|l| *l > 0.0)?;
            let used = self.used.or_else(|| Some(limit - self.remaining?))?;
            Some((used / limit * 100.0).clamp(0.0, 100.0))
        })
    }

    /// The highest of `thresholds` (percent used) this window has reached. A minute's
    /// rate-limit bucket warns of nothing: it is full and empty again within the minute.
    pub fn warning(&self, thresholds: &[u8]) -> Option<u8> {
        if self.window == Window::Minute {
            return None;
        }
        let percent = self.percent()?;
        thresholds
            .iter()
            .copied()
            .filter(|t| percent >= f64::from(*t))
            .max()
    }

    /// Fills in what follows from the other fields (used from limit − remaining, percent).
    pub fn completed(mut self) -> Self {
        if self.used.is_none()
            && let (Some(l), Some(r)) = (self.limit, self.remaining)
        {
            self.used = Some((l - r).max(0.0));
        }
        if self.remaining.is_none()
            && let (Some(l), Some(u)) = (self.limit, self.used)
        {
            self.remaining = Some((l - u).max(0.0));
        }
        if self.percent_used.is_none()
            && let (Some(l), Some(u)) = (self.limit, self.used)
            && l > 0.0
        {
            self.percent_used = Some((u / l * 100.0).clamp(0.0, 100.0));
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum QuotaSource {
    /// Rate-limit headers on the provider's answers.
    Headers,
    /// The provider's usage endpoint.
    Api,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaSnapshot {
    pub account_id: String,
    pub windows: Vec<QuotaWindow>,
    pub source: QuotaSource,
    pub fetched_ms: i64,
    /// Why the last fetch failed; the windows are then the last good ones.
    pub error: Option<String>,
}

/// A window as the API shows it: with a countdown to its reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct WindowView {
    #[serde(flatten)]
    pub window: QuotaWindow,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub resets_in_secs: Option<i64>,
    /// The highest warning threshold (percent used) it has reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub warning: Option<u8>,
}

/// A snapshot as the API shows it: with its age and a countdown to each reset (all absent
/// for an account never measured).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SnapshotView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub source: Option<QuotaSource>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub fetched_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub age_secs: Option<i64>,
    /// Why the last fetch failed; the windows are then the last good ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub error: Option<String>,
    pub windows: Vec<WindowView>,
}

impl SnapshotView {
    pub fn never_measured() -> Self {
        Self {
            source: None,
            fetched_at: None,
            age_secs: None,
            error: None,
            windows: Vec::new(),
        }
    }
}

pub fn view(s: &QuotaSnapshot, now_ms: i64, thresholds: &[u8]) -> SnapshotView {
    let secs = |ms: i64| (ms.max(0) + 999) / 1000;
    SnapshotView {
        source: Some(s.source),
        fetched_at: Some(s.fetched_ms),
        age_secs: Some((now_ms - s.fetched_ms).max(0) / 1000),
        error: s.error.clone(),
        windows: s
            .windows
            .iter()
            .map(|w| WindowView {
                window: w.clone(),
                resets_in_secs: w.resets_at_ms.map(|at| secs(at - now_ms)),
                warning: w.warning(thresholds),
            })
            .collect(),
    }
}
