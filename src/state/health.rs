//! The last test of each model (the dashboard's Models view), kept while the router runs.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

/// How a model's last test went.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ModelHealth {
    pub ok: bool,
    #[cfg_attr(test, ts(type = "number"))]
    pub at_ms: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub latency_ms: u64,
    /// The HTTP status the client would have got.
    pub status: u16,
    /// What went wrong, or which account answered.
    pub message: String,
}

/// The last test of each model, kept while the router runs.
#[derive(Default)]
pub struct ModelHealthBook {
    last: Mutex<HashMap<String, ModelHealth>>,
}

impl ModelHealthBook {
    pub fn put(&self, model: &str, health: ModelHealth) {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(model.to_owned(), health);
    }

    pub fn get(&self, model: &str) -> Option<ModelHealth> {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(model)
            .cloned()
    }
}
