//! User settings that steer routing. Stored in the database; the config file's `[routing]`
//! section, when present, is applied over them at start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum AccountStrategy {
    /// Always the highest-priority available account.
    #[default]
    FillFirst,
    /// Stay on one account for `sticky_limit` requests, then move to the least recently used.
    StickyRoundRobin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum ComboStrategy {
    #[default]
    Fallback,
    RoundRobin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProviderStrategy {
    pub strategy: AccountStrategy,
    #[serde(alias = "sticky_limit")]
    pub sticky_limit: Option<u32>,
}

/// Field names are camelCase in the API and accepted in snake_case from TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RoutingSettings {
    #[serde(alias = "account_strategy")]
    pub account_strategy: AccountStrategy,
    #[serde(alias = "sticky_limit")]
    pub sticky_limit: u32,
    /// Per-provider overrides of the account strategy, keyed by provider id.
    #[serde(alias = "provider_strategies")]
    pub provider_strategies: BTreeMap<String, ProviderStrategy>,
    /// How long to wait for an upstream's headers and first stream event before failing over.
    #[serde(alias = "first_byte_timeout_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub first_byte_timeout_ms: u64,
    /// How long a started stream may stay silent before the client gets an error event.
    #[serde(alias = "stream_idle_timeout_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub stream_idle_timeout_ms: u64,
    /// Backoff base for rate limits and transient failures: base·2^(n−1), capped.
    #[serde(alias = "cooldown_base_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub cooldown_base_ms: u64,
    #[serde(alias = "cooldown_max_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub cooldown_max_ms: u64,
    /// Cooldown after an authentication failure (the whole account, every model).
    #[serde(alias = "auth_cooldown_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub auth_cooldown_ms: u64,
    /// Cooldown of an account/model pair after the provider said the model does not exist.
    #[serde(alias = "not_found_cooldown_ms")]
    #[cfg_attr(test, ts(type = "number"))]
    pub not_found_cooldown_ms: u64,
    /// Context windows, in tokens, over the built-in table: keyed by `prefix/model`, or
    /// `prefix/*` for every model of a provider or node.
    #[serde(alias = "context_windows")]
    #[cfg_attr(test, ts(type = "Record<string, number>"))]
    pub context_windows: BTreeMap<String, u64>,
    /// Stop routing to an account when a quota window that resets has less than this many
    /// percent left, so a subscription is not locked out for days; 0: off. An account's own
    /// `quotaReservePct` overrides it.
    #[serde(alias = "quota_reserve_pct")]
    pub quota_reserve_pct: u8,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        Self {
            account_strategy: AccountStrategy::FillFirst,
            sticky_limit: 3,
            provider_strategies: BTreeMap::new(),
            first_byte_timeout_ms: 120_000,
            stream_idle_timeout_ms: 300_000,
            cooldown_base_ms: 1_000,
            cooldown_max_ms: 300_000,
            auth_cooldown_ms: 120_000,
            not_found_cooldown_ms: 600_000,
            context_windows: BTreeMap::new(),
            quota_reserve_pct: 0,
        }
    }
}

impl RoutingSettings {
    /// The strategy and sticky limit in force for one provider.
    pub fn for_provider(&self, provider_id: &str) -> (AccountStrategy, u32) {
        match self.provider_strategies.get(provider_id) {
            Some(p) => (p.strategy, p.sticky_limit.unwrap_or(self.sticky_limit)),
            None => (self.account_strategy, self.sticky_limit),
        }
    }

    /// Checks ranges; returns the offending field and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let positive = [
            ("stickyLimit", u64::from(self.sticky_limit)),
            ("firstByteTimeoutMs", self.first_byte_timeout_ms),
            ("streamIdleTimeoutMs", self.stream_idle_timeout_ms),
            ("cooldownBaseMs", self.cooldown_base_ms),
            ("cooldownMaxMs", self.cooldown_max_ms),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err((field.into(), "must be greater than 0".into()));
            }
        }
        if self.cooldown_max_ms < self.cooldown_base_ms {
            return Err((
                "cooldownMaxMs".into(),
                "must not be smaller than cooldownBaseMs".into(),
            ));
        }
        if self.quota_reserve_pct > 99 {
            return Err(("quotaReservePct".into(), "must be between 0 and 99".into()));
        }
        for (model, window) in &self.context_windows {
            let field = format!("contextWindows.{model}");
            match model.split_once('/') {
                Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() => {}
                _ => return Err((field, "name a `prefix/model` or `prefix/*`".into())),
            }
            if *window == 0 {
                return Err((field, "must be greater than 0".into()));
            }
        }
        for (provider, p) in &self.provider_strategies {
            if p.sticky_limit == Some(0) {
                return Err((
                    format!("providerStrategies.{provider}.stickyLimit"),
                    "must be greater than 0".into(),
                ));
            }
        }
        Ok(())
    }
}

/// What is recorded about requests, and for how long. camelCase in the API, snake_case
/// accepted from TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ObservabilitySettings {
    /// One usage record per request (tokens, cost, latency).
    #[serde(alias = "record_usage")]
    pub record_usage: bool,
    /// The inspector's four layers per request.
    pub inspector: bool,
    /// How many requests the inspector keeps (the oldest go first).
    #[serde(alias = "inspector_max_requests")]
    pub inspector_max_requests: u32,
    /// The inspector's total size budget, in bytes.
    #[serde(alias = "inspector_max_bytes")]
    #[cfg_attr(test, ts(type = "number"))]
    pub inspector_max_bytes: u64,
    /// Each layer's body is cut at this many bytes.
    #[serde(alias = "inspector_max_field_bytes")]
    pub inspector_max_field_bytes: u32,
    /// Requests a second the inspector lists; past it in the same second a request is counted
    /// in usage but not listed (and the inspector counts those), which keeps recording's cost
    /// flat however fast requests come.
    #[serde(alias = "inspector_requests_per_second")]
    pub inspector_requests_per_second: u32,
    /// Requests a second whose bodies the inspector keeps; past it in the same second a
    /// request is kept without its bodies (and says so), which is most of what recording
    /// costs under load.
    #[serde(alias = "inspector_bodies_per_second")]
    pub inspector_bodies_per_second: u32,
    /// How often quota is fetched from the providers that publish it (and subscription logins
    /// are looked at, to renew those due before the next round).
    #[serde(alias = "quota_refresh_secs")]
    #[cfg_attr(test, ts(type = "number"))]
    pub quota_refresh_secs: u64,
    /// Percent used at which a quota window warns (a notification and a badge).
    #[serde(alias = "quota_warn_pct")]
    pub quota_warn_pct: Vec<u8>,
}

impl Default for ObservabilitySettings {
    fn default() -> Self {
        Self {
            record_usage: true,
            inspector: true,
            inspector_max_requests: 1000,
            inspector_max_bytes: 256 << 20,
            inspector_max_field_bytes: 1 << 20,
            inspector_requests_per_second: 200,
            inspector_bodies_per_second: 50,
            quota_refresh_secs: 300,
            quota_warn_pct: vec![80, 95],
        }
    }
}

impl ObservabilitySettings {
    pub fn validate(&self) -> Result<(), (String, String)> {
        let positive = [
            (
                "inspectorMaxRequests",
                u64::from(self.inspector_max_requests),
            ),
            ("inspectorMaxBytes", self.inspector_max_bytes),
            (
                "inspectorMaxFieldBytes",
                u64::from(self.inspector_max_field_bytes),
            ),
            (
                "inspectorRequestsPerSecond",
                u64::from(self.inspector_requests_per_second),
            ),
            (
                "inspectorBodiesPerSecond",
                u64::from(self.inspector_bodies_per_second),
            ),
            ("quotaRefreshSecs", self.quota_refresh_secs),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err((field.into(), "must be greater than 0".into()));
            }
        }
        if self.quota_warn_pct.iter().any(|p| !(1..=100).contains(p)) {
            return Err((
                "quotaWarnPct".into(),
                "each threshold must be between 1 and 100".into(),
            ));
        }
        if u64::from(self.inspector_max_field_bytes) > self.inspector_max_bytes {
            return Err((
                "inspectorMaxFieldBytes".into(),
                "must not be larger than inspectorMaxBytes".into(),
            ));
        }
        Ok(())
    }
}

/// Everything the settings page edits.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Settings {
    pub require_api_key: bool,
    pub routing: RoutingSettings,
    #[serde(default)]
    pub observability: ObservabilitySettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_windows_name_a_model_or_a_provider_and_are_positive() {
        let with = |key: &str, window: u64| RoutingSettings {
            context_windows: BTreeMap::from([(key.to_owned(), window)]),
            ..RoutingSettings::default()
        };
        assert!(with("ma/*", 32_000).validate().is_ok());
        assert!(with("oa/gpt-4o", 64_000).validate().is_ok());
        assert_eq!(
            with("gpt-4o", 64_000).validate().map_err(|(f, _)| f),
            Err("contextWindows.gpt-4o".to_owned())
        );
        assert!(with("ma/*", 0).validate().is_err());
        assert!(with("/m", 10).validate().is_err());
    }
}
