//! Proxy API keys: what clients present to use the router. Only their SHA-256 is stored; a
//! plain hash is enough because generated keys carry 238 bits of randomness.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wildmatch::WildMatch;

pub const KEY_PREFIX: &str = "sk-nr-";

pub type KeyHash = [u8; 32];

pub fn hash_key(key: &str) -> KeyHash {
    Sha256::digest(key.as_bytes()).into()
}

pub fn generate_key() -> String {
    let body: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("{KEY_PREFIX}{body}")
}

/// The last four characters of a secret: enough to tell keys apart, nothing to use.
pub fn tail(secret: &str) -> String {
    let start = secret.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    secret[start..].to_owned()
}

/// What the UI may show of a key after creation: its start and end.
pub fn hint(key: &str) -> String {
    let head: String = key.chars().take(KEY_PREFIX.len() + 2).collect();
    format!("{head}…{}", tail(key))
}

/// What one proxy key may do: requests and tokens per minute, dollars per day (UTC), which
/// models, and until when. Every field is optional; none set means no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct KeyLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub rpm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub tpm: Option<u64>,
    #[serde(
        default,
        alias = "daily_cost_limit_usd",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(test, ts(optional))]
    pub daily_cost_limit_usd: Option<f64>,
    /// Glob patterns (`*`, `?`) over the model strings, combo names and aliases a client
    /// may ask for; empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub models: Vec<String>,
    /// When the key stops working, in ms since the epoch (an RFC 3339 time in the config file).
    #[serde(
        default,
        alias = "expires_at",
        deserialize_with = "instant::optional",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(test, ts(optional, type = "number"))]
    pub expires_at: Option<i64>,
}

impl KeyLimits {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks ranges; returns the offending field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.rpm == Some(0) {
            return Err(("rpm", "must be greater than 0".into()));
        }
        if self.tpm == Some(0) {
            return Err(("tpm", "must be greater than 0".into()));
        }
        if let Some(usd) = self.daily_cost_limit_usd
            && !(usd.is_finite() && usd > 0.0)
        {
            return Err(("dailyCostLimitUsd", "must be a positive number".into()));
        }
        if let Some(bad) = self
            .models
            .iter()
            .find(|m| m.trim().is_empty() || m.len() > 200)
        {
            return Err(("models", format!("'{bad}' is not a model pattern")));
        }
        Ok(())
    }

    /// Whether a client holding this key may ask for `model` (or, for an alias, whose target
    /// is `target`).
    pub fn allows_model(&self, model: &str, target: Option<&str>) -> bool {
        self.models.is_empty()
            || self.models.iter().any(|pattern| {
                let pattern = WildMatch::new(pattern);
                pattern.matches(model) || target.is_some_and(|t| pattern.matches(t))
            })
    }

    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now_ms)
    }
}

/// An instant written as ms since the epoch or as an RFC 3339 time.
mod instant {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Millis(i64),
        Text(String),
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Written>::deserialize(d)? {
            None => Ok(None),
            Some(Written::Millis(ms)) => Ok(Some(ms)),
            Some(Written::Text(text)) => text
                .parse::<jiff::Timestamp>()
                .map(|t| Some(t.as_millisecond()))
                .map_err(|e| D::Error::custom(format!("'{text}' is not an RFC 3339 time: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_models_by_glob_and_expire() {
        let limits: KeyLimits = serde_json::from_str(
            r#"{"rpm":3,"models":["rb/*","stack"],"expiresAt":"2027-01-01T00:00:00Z"}"#,
        )
        .unwrap_or_default();
        assert_eq!(limits.rpm, Some(3));
        assert!(limits.allows_model("rb/gpt-4o", None));
        assert!(limits.allows_model("stack", None));
        assert!(limits.allows_model("fast", Some("rb/m")));
        assert!(!limits.allows_model("oa/gpt-4o", None));
        assert_eq!(limits.expires_at, Some(1_798_761_600_000));
        assert!(!limits.expired(1_798_761_599_999));
        assert!(limits.expired(1_798_761_600_000));
        assert!(KeyLimits::default().allows_model("anything", None));
        let zero = KeyLimits {
            rpm: Some(0),
            ..KeyLimits::default()
        };
        assert_eq!(zero.validate().map_err(|(f, _)| f), Err("rpm"));
        assert!(serde_json::from_str::<KeyLimits>(r#"{"rpmm":1}"#).is_err());
    }

    #[test]
    fn generated_keys_are_unique_prefixed_and_hash_stably() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert!(a.starts_with(KEY_PREFIX));
        assert_eq!(a.len(), KEY_PREFIX.len() + 40);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
        assert!(!hint(&a).contains(&a[10..30]));
    }
}
