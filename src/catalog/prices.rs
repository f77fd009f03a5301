//! API prices per million tokens. Subscription and free providers are priced at the API price
//! of the same model, so the dashboard can show what their tokens would have cost ("saved").

use serde::{Deserialize, Serialize};

use crate::format::Usage;

/// USD per 1M tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Price {
    pub input: f64,
    pub cached_input: f64,
    pub cache_write: f64,
    pub output: f64,
    /// Reasoning tokens are billed as output unless the model prices them apart.
    #[serde(default)]
    pub reasoning: Option<f64>,
}

/// A user's price for one provider's models whose names start with `model`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceOverride {
    pub provider: String,
    pub model: String,
    #[serde(flatten)]
    pub price: Price,
}

impl Price {
    const fn new(input: f64, cached_input: f64, cache_write: f64, output: f64) -> Self {
        Self {
            input,
            cached_input,
            cache_write,
            output,
            reasoning: None,
        }
    }

    /// Checks that every price is a finite, non-negative number; returns the field and why.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fields = [
            ("input", Some(self.input)),
            ("cachedInput", Some(self.cached_input)),
            ("cacheWrite", Some(self.cache_write)),
            ("output", Some(self.output)),
            ("reasoning", self.reasoning),
        ];
        for (name, value) in fields {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err((name.into(), "must be a number of dollars, 0 or more".into()));
            }
        }
        Ok(())
    }

    /// US dollars for `usage`. Output counts include reasoning tokens in every format.
    pub fn cost(&self, u: &Usage) -> f64 {
        let reasoning = u.reasoning.min(u.output);
        let per_million = u.input as f64 * self.input
            + u.cache_read as f64 * self.cached_input
            + u.cache_write as f64 * self.cache_write
            + (u.output - reasoning) as f64 * self.output
            + reasoning as f64 * self.reasoning.unwrap_or(self.output);
        per_million / 1_000_000.0
    }
}

/// Model-name prefix → price; the longest matching prefix wins. Public list prices
/// (USD per 1M tokens) as published by each vendor.
const TABLE: &[(&str, Price)] = &[
    ("claude-opus-4", Price::new(15.0, 1.5, 18.75, 75.0)),
    ("claude-opus-4-5", Price::new(5.0, 0.5, 6.25, 25.0)),
    ("claude-sonnet-4", Price::new(3.0, 0.3, 3.75, 15.0)),
    ("claude-haiku-4", Price::new(1.0, 0.1, 1.25, 5.0)),
    ("claude-3-5-haiku", Price::new(0.8, 0.08, 1.0, 4.0)),
    ("gpt-5", Price::new(1.25, 0.125, 0.0, 10.0)),
    ("gpt-5-mini", Price::new(0.25, 0.025, 0.0, 2.0)),
    ("gpt-5-nano", Price::new(0.05, 0.005, 0.0, 0.4)),
    ("gpt-4.1", Price::new(2.0, 0.5, 0.0, 8.0)),
    ("gpt-4.1-mini", Price::new(0.4, 0.1, 0.0, 1.6)),
    ("gpt-4o", Price::new(2.5, 1.25, 0.0, 10.0)),
    ("gpt-4o-mini", Price::new(0.15, 0.075, 0.0, 0.6)),
    ("o3", Price::new(2.0, 0.5, 0.0, 8.0)),
    ("o4-mini", Price::new(1.1, 0.275, 0.0, 4.4)),
    ("gemini-2.5-pro", Price::new(1.25, 0.31, 0.0, 10.0)),
    ("gemini-2.5-flash", Price::new(0.3, 0.075, 0.0, 2.5)),
    ("gemini-2.5-flash-lite", Price::new(0.1, 0.025, 0.0, 0.4)),
    ("deepseek-chat", Price::new(0.28, 0.028, 0.0, 0.42)),
    ("deepseek-reasoner", Price::new(0.28, 0.028, 0.0, 0.42)),
    ("glm-4.6", Price::new(0.6, 0.11, 0.0, 2.2)),
    ("kimi-k2", Price::new(0.6, 0.15, 0.0, 2.5)),
    ("minimax-m2", Price::new(0.3, 0.03, 0.375, 1.2)),
];

/// The built-in table's rows, for the prices page.
pub fn table() -> impl Iterator<Item = (&'static str, Price)> {
    TABLE.iter().copied()
}

/// The price for an upstream model name (a provider prefix such as `openai/` is ignored).
pub fn price_of(model: &str) -> Option<Price> {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    TABLE
        .iter()
        .filter(|(prefix, _)| name.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins() {
        assert_eq!(price_of("gpt-4o-mini-2024-07-18"), Some(TABLE[11].1));
        assert_eq!(price_of("gpt-4o"), Some(TABLE[10].1));
        assert_eq!(
            price_of("openrouter/anthropic/claude-sonnet-4.5"),
            Some(TABLE[2].1)
        );
        assert_eq!(price_of("llama-3-local"), None);
    }

    #[test]
    fn every_token_kind_is_priced() {
        let p = Price::new(3.0, 0.3, 3.75, 15.0);
        let u = Usage {
            input: 1_000_000,
            cache_read: 1_000_000,
            cache_write: 1_000_000,
            output: 1_000_000,
            reasoning: 0,
        };
        assert!((p.cost(&u) - 22.05).abs() < 1e-9);
        let reasoning_apart = Price {
            reasoning: Some(1.0),
            ..p
        };
        let u = Usage {
            output: 2_000_000,
            reasoning: 1_000_000,
            ..Default::default()
        };
        assert!((reasoning_apart.cost(&u) - 16.0).abs() < 1e-9);
    }
}
