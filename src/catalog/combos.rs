//! Combos: named, ordered fallback chains of model strings (which may name other combos).

use serde::{Deserialize, Serialize};

use super::ComboStrategy;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Combo {
    pub name: String,
    pub models: Vec<String>,
    pub strategy: ComboStrategy,
}

/// Checks a combo's fields; returns the offending field and why.
pub fn validate_combo(name: &str, models: &[String]) -> Result<(), (String, String)> {
    if name.is_empty() || name.len() > 64 {
        return Err(("name".into(), "must be 1–64 characters".into()));
    }
    if name.contains('/') || name.chars().any(char::is_whitespace) {
        return Err((
            "name".into(),
            "must not contain '/' or spaces (it is used as a model name)".into(),
        ));
    }
    if models.is_empty() {
        return Err(("models".into(), "needs at least one model".into()));
    }
    for (i, m) in models.iter().enumerate() {
        if m.trim().is_empty() {
            return Err((format!("models[{i}]"), "must not be empty".into()));
        }
        if m == name {
            return Err((
                format!("models[{i}]"),
                "a combo cannot contain itself".into(),
            ));
        }
    }
    Ok(())
}
