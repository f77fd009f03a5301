//! Other routers' setups, read into a `SetupDoc`: 9Router's `db.json` and CLIProxyAPI's
//! `config.yaml` with its token files. Reading never changes their files.

mod cli_proxy_api;
mod nine_router;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::doc::SetupDoc;
use super::edit::SetupError;
use super::home::Home;
use crate::auth::tokens::TokenSet;

pub use cli_proxy_api::read as read_cli_proxy_api;
pub use nine_router::read as read_nine_router;

/// A file larger than this is not a router's config (nor a token file).
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Peer {
    #[serde(rename = "9router")]
    NineRouter,
    #[serde(rename = "cliproxyapi")]
    CliProxyApi,
}

impl Peer {
    pub fn name(self) -> &'static str {
        match self {
            Self::NineRouter => "9Router",
            Self::CliProxyApi => "CLIProxyAPI",
        }
    }

    /// Where it keeps its setup by default: 9Router's data dir (`$DATA_DIR`, `~/.9router`);
    /// CLIProxyAPI's `config.yaml` (beside its binary, so only the home's copy is guessed).
    pub fn default_path(self, home: &Home) -> PathBuf {
        match self {
            Self::NineRouter => home.dir_from("DATA_DIR", ".9router"),
            Self::CliProxyApi => home.dir.join(".cli-proxy-api").join("config.yaml"),
        }
    }

    pub fn read(self, path: &Path, home: &Home) -> Result<SetupDoc, SetupError> {
        let mut doc = match self {
            Self::NineRouter => read_nine_router(path)?,
            Self::CliProxyApi => read_cli_proxy_api(path, home)?,
        };
        doc.made_by = self.name().to_owned();
        Ok(doc)
    }
}

/// A file's bytes, bounded; a missing file says where it was looked for.
fn read_bounded(path: &Path) -> Result<Vec<u8>, SetupError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            SetupError::Invalid(format!("nothing at {}", path.display()))
        }
        _ => SetupError::unreadable(path, e),
    })?;
    if meta.len() > MAX_FILE {
        return Err(SetupError::unreadable(path, "it is larger than 16 MiB"));
    }
    std::fs::read(path).map_err(|e| SetupError::unreadable(path, e))
}

/// RFC 3339 (`2026-08-22T23:39:03+08:00`, `…Z`) in milliseconds.
fn rfc3339_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

/// An expiry in whatever a file wrote: RFC 3339, or a number of seconds or milliseconds.
fn expiry_ms(value: Option<&Value>) -> i64 {
    match value {
        Some(Value::String(s)) => rfc3339_ms(s).unwrap_or(0),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v > 100_000_000_000 => v,
            Some(v) => v.saturating_mul(1000),
            None => 0,
        },
        _ => 0,
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A login's token set, with the provider's own part under the names its module reads.
struct Login {
    access: String,
    refresh: String,
    expires_at_ms: i64,
    email: Option<String>,
    plan: Option<String>,
    extra: Map<String, Value>,
}

impl Login {
    fn secret(self) -> Result<String, String> {
        if self.refresh.is_empty() {
            return Err("it holds no refresh token, so it could not be kept fresh".into());
        }
        let set = TokenSet {
            access_token: self.access,
            refresh_token: self.refresh,
            expires_at_ms: self.expires_at_ms,
            obtained_at_ms: crate::clock::now_ms(),
            email: self.email,
            plan: self.plan,
            extra: self.extra,
        };
        set.to_secret()
            .map(|s| s.expose().to_owned())
            .map_err(|e| e.to_string())
    }
}

/// Kiro's token URL for an AWS login in `region`.
fn kiro_token_url(region: &str) -> Option<String> {
    region
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
        .then(|| format!("https://oidc.{region}.amazonaws.com/token"))
}

/// Qwen's API host as a login file names it, when it is one of Qwen's own: a token is never
/// sent to a host a file made up.
fn qwen_host(value: Option<&str>) -> Option<&str> {
    let v = value?;
    let host = v
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let own = host == "qwen.ai" || host.ends_with(".qwen.ai") || host.ends_with(".aliyuncs.com");
    (own && !v.starts_with("http://")).then_some(v)
}

fn put(extra: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        extra.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

/// An account name from a key: its last four characters only, so a second import names it
/// the same and the name gives nothing away.
fn key_name(label: &str, key: &str) -> String {
    format!("{label} …{}", crate::catalog::tail(key))
}

#[cfg(test)]
mod tests;
