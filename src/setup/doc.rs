//! A whole setup as it moves between routers: what an export holds, and what another
//! router's files are read into before anything is created. Secrets travel as the secret
//! store keeps them (an API key, a login's token set as JSON, a bare grant).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::KeyLimits;

/// The format this version writes; a newer one is refused.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetupDoc {
    pub format: u32,
    /// Who wrote it: `NineRouter 0.1.0`, `9Router`, `CLIProxyAPI`.
    pub made_by: String,
    /// A settings patch (an export carries every setting).
    pub settings: Option<Value>,
    pub nodes: Vec<NodeDoc>,
    pub accounts: Vec<AccountDoc>,
    pub combos: Vec<ComboDoc>,
    pub aliases: BTreeMap<String, String>,
    pub keys: Vec<KeyDoc>,
    pub prices: Vec<Value>,
    /// Usage rows, when the export was asked to carry them.
    pub usage: Option<Vec<Value>>,
    /// What was found and will not be brought over, and why.
    #[serde(skip)]
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Skipped {
    pub kind: String,
    pub name: String,
    pub reason: String,
}

impl SetupDoc {
    pub fn skip(&mut self, kind: &str, name: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            kind: kind.to_owned(),
            name: name.into(),
            reason: reason.into(),
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDoc {
    pub name: String,
    pub prefix: String,
    /// `openai-compatible`, `openai-responses`, `anthropic-compatible`, `gemini-compatible`.
    pub kind: String,
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDoc {
    /// A registry id or alias, or a node's prefix.
    pub provider: String,
    pub name: String,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
    /// What the secret store keeps for it.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub quota_reserve_pct: Option<u8>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComboDoc {
    pub name: String,
    pub models: Vec<String>,
    #[serde(default)]
    pub strategy: Option<String>,
}

/// A proxy key travels as its hash: the key itself is the client's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyDoc {
    pub name: String,
    /// SHA-256 of the key, hex.
    pub hash: String,
    pub hint: String,
    #[serde(default)]
    pub limits: KeyLimits,
}

impl KeyDoc {
    /// From a key in the clear (another router's file).
    pub fn from_plain(name: &str, key: &str) -> Self {
        Self {
            name: name.to_owned(),
            hash: hex::encode(crate::catalog::hash_key(key)),
            hint: crate::catalog::hint(key),
            limits: KeyLimits::default(),
        }
    }
}
