//! The declarative config file (TOML) that seeds providers, combos, aliases and proxy keys for
//! headless use. Entries from the file are read-only through the management API.

mod interpolate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use crate::auth::AuthEndpoints;
use crate::catalog::{KeyLimits, ObservabilitySettings, RoutingSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {field}: {message}")]
    Invalid {
        path: PathBuf,
        field: String,
        message: String,
    },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub routing: Option<RoutingSettings>,
    #[serde(default)]
    pub observability: Option<ObservabilitySettings>,
    #[serde(default, rename = "provider")]
    pub providers: Vec<ProviderEntry>,
    #[serde(default, rename = "combo")]
    pub combos: Vec<ComboEntry>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Where each subscription provider's login and account servers are (`[auth.github]`),
    /// for self-hosted gateways and tests; the registry's public URLs otherwise.
    #[serde(default)]
    pub auth: BTreeMap<String, AuthEndpoints>,
    /// Where it was read from, for messages and for the API's read-only marker.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// Where the router keeps its state: SQLite in the data directory unless `url` names a
/// PostgreSQL database shared by several hosts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://user:password@host/db`; the `--store` option and `NINEROUTER_STORE` win.
    pub url: Option<String>,
    /// A file holding the master key that seals secrets in a shared store (when
    /// `NINEROUTER_MASTER_KEY` is not set).
    pub master_key_file: Option<PathBuf>,
    /// A PEM certificate to trust for the database's TLS besides the system's (a private CA).
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub require_api_key: Option<bool>,
    /// Proxy keys: plain strings, or tables with a `key`, a `name` and limits.
    #[serde(default)]
    pub api_keys: Vec<FileKey>,
    /// Extra host names the management API accepts (e.g. a server's LAN name).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Client addresses (CIDR blocks or single addresses) allowed to connect at all; empty:
    /// any. Loopback is always allowed.
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Connections served at once (default 1024); more wait to be accepted.
    pub max_connections: Option<usize>,
    /// How long a client may take to send a request's headers (default 10 000 ms).
    pub header_timeout_ms: Option<u64>,
    /// The longest pause within a request body (default 30 000 ms).
    pub body_idle_timeout_ms: Option<u64>,
    /// The longest a whole request body may take (default 300 000 ms).
    pub body_timeout_ms: Option<u64>,
}

/// A proxy key declared in the file: `"sk-…"`, or `{ key = "sk-…", name = "ci", rpm = 3,
/// tpm = 50000, daily_cost_limit_usd = 5, models = ["rb/*"], expires_at = "2027-01-01T00:00:00Z" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "WrittenKey")]
pub struct FileKey {
    pub key: String,
    pub name: Option<String>,
    pub limits: KeyLimits,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WrittenKey {
    Plain(String),
    Table(toml::Table),
}

impl TryFrom<WrittenKey> for FileKey {
    type Error = String;

    fn try_from(written: WrittenKey) -> Result<Self, String> {
        let mut table = match written {
            WrittenKey::Plain(key) => {
                return Ok(Self {
                    key,
                    name: None,
                    limits: KeyLimits::default(),
                });
            }
            WrittenKey::Table(table) => table,
        };
        let text = |v: toml::Value, field: &str| match v {
            toml::Value::String(s) => Ok(s),
            _ => Err(format!("a key's `{field}` must be a string")),
        };
        let key = text(
            table
                .remove("key")
                .ok_or("a key written as a table needs `key`")?,
            "key",
        )?;
        let name = table.remove("name").map(|v| text(v, "name")).transpose()?;
        let limits = KeyLimits::deserialize(toml::Value::Table(table))
            .map_err(|e| format!("key limits: {}", e.message()))?;
        limits
            .validate()
            .map_err(|(field, why)| format!("{field} {why}"))?;
        Ok(Self { key, name, limits })
    }
}

/// One account of one provider.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// A registry id or alias, or `openai-compatible` for a custom node.
    pub provider: String,
    pub name: String,
    /// The node's prefix, for `*-compatible` providers.
    pub prefix: Option<String>,
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    #[serde(default = "default_priority")]
    pub priority: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Models this account serves, shown in `/v1/models` (for nodes, whose models are unknown).
    #[serde(default)]
    pub models: Vec<String>,
    /// The proxy this account's calls go through: `http://`, `https://` or `socks5://`.
    pub proxy: Option<String>,
    /// Stop routing to the account when a quota window has less than this many percent left.
    pub quota_reserve_pct: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboEntry {
    pub name: String,
    pub models: Vec<String>,
    #[serde(default)]
    pub strategy: crate::catalog::ComboStrategy,
}

fn default_priority() -> i64 {
    100
}

fn yes() -> bool {
    true
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, |name| std::env::var(name).ok())
    }

    /// Parses `text`; `${NAME}` in any string value is replaced through `env`.
    pub fn parse(
        text: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        interpolate::expand(&mut value, &env).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            field: e.field,
            message: e.message,
        })?;
        let mut config: FileConfig =
            value
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
        config.path = Some(path.to_path_buf());
        config.validate()?;
        Ok(config)
    }

    fn invalid(&self, field: String, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone().unwrap_or_default(),
            field,
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for (i, p) in self.providers.iter().enumerate() {
            let field = |f: &str| format!("provider[{i}].{f}");
            if p.name.trim().is_empty() {
                return Err(self.invalid(field("name"), "must not be empty"));
            }
            if !names.insert(p.name.as_str()) {
                return Err(self.invalid(field("name"), format!("'{}' is used twice", p.name)));
            }
            if crate::catalog::NodeKind::parse(&p.provider).is_some() {
                let prefix = p.prefix.as_deref().unwrap_or_default();
                crate::catalog::validate_prefix(prefix)
                    .map_err(|m| self.invalid(field("prefix"), m))?;
                if p.base_url.is_none() {
                    return Err(self.invalid(field("base_url"), "a custom node needs a base_url"));
                }
            } else if crate::providers::find(&p.provider).is_none() {
                return Err(self.invalid(
                    field("provider"),
                    format!("unknown provider '{}'", p.provider),
                ));
            }
            if let Some(url) = &p.base_url {
                crate::catalog::validate_base_url(url)
                    .map_err(|m| self.invalid(field("base_url"), m))?;
            }
            if p.quota_reserve_pct.is_some_and(|r| r > 99) {
                return Err(self.invalid(field("quota_reserve_pct"), "must be between 0 and 99"));
            }
            if let Some(url) = &p.proxy {
                crate::catalog::validate_proxy_url(url)
                    .map_err(|m| self.invalid(field("proxy"), m))?;
            }
        }
        for (i, c) in self.combos.iter().enumerate() {
            crate::catalog::validate_combo(&c.name, &c.models)
                .map_err(|(f, m)| self.invalid(format!("combo[{i}].{f}"), m))?;
        }
        if let Some(r) = &self.routing {
            r.validate()
                .map_err(|(f, m)| self.invalid(format!("routing.{f}"), m))?;
        }
        if let Some(o) = &self.observability {
            o.validate()
                .map_err(|(f, m)| self.invalid(format!("observability.{f}"), m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        FileConfig::parse(text, Path::new("test.toml"), |name| {
            (name == "MOCK_A_KEY").then(|| "sk-from-env".to_string())
        })
    }

    #[test]
    fn reads_the_documented_shape_with_env_interpolation() {
        let cfg = parse(
            r#"
            [server]
            port = 20128
            require_api_key = true
            api_keys = ["sk-local-1", { key = "sk-ci", name = "ci", rpm = 3, models = ["rb/*"], expires_at = "2027-01-01T00:00:00Z" }]

            [[provider]]
            provider = "openai-compatible"
            name = "mock-a"
            prefix = "ma"
            base_url = "http://127.0.0.1:9001/v1"
            api_key = "${MOCK_A_KEY}"
            priority = 1

            [[combo]]
            name = "my-stack"
            models = ["ma/gpt-4o", "mb/gpt-4o", "other-combo"]
            strategy = "fallback"

            [aliases]
            fast = "ma/gpt-4o-mini"
            "#,
        )
        .expect("valid config");
        assert_eq!(cfg.server.port, Some(20128));
        assert_eq!(cfg.providers[0].api_key.as_deref(), Some("sk-from-env"));
        assert_eq!(cfg.providers[0].priority, 1);
        assert_eq!(cfg.combos[0].models.len(), 3);
        assert_eq!(cfg.aliases["fast"], "ma/gpt-4o-mini");
        let ci = &cfg.server.api_keys[1];
        assert_eq!((ci.key.as_str(), ci.name.as_deref()), ("sk-ci", Some("ci")));
        assert_eq!(ci.limits.rpm, Some(3));
        assert_eq!(ci.limits.expires_at, Some(1_798_761_600_000));
        assert!(cfg.server.api_keys[0].limits.is_empty());

        let bad = parse("[server]\napi_keys = [{ key = \"k\", rpm = 0 }]\n");
        let msg = bad.map(|_| ()).unwrap_err().to_string();
        assert!(msg.contains("rpm must be greater than 0"), "{msg}");
        let bad = parse("[server]\napi_keys = [{ key = \"k\", rpmm = 1 }]\n");
        let msg = bad.map(|_| ()).unwrap_err().to_string();
        assert!(msg.contains("rpmm"), "{msg}");
    }

    #[test]
    fn a_missing_env_variable_names_the_field_and_variable() {
        let err = parse(
            r#"
            [[provider]]
            provider = "openai"
            name = "main"
            api_key = "${NOT_SET_ANYWHERE}"
            "#,
        )
        .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("provider[0].api_key"), "{msg}");
        assert!(msg.contains("NOT_SET_ANYWHERE"), "{msg}");
    }

    #[test]
    fn rejects_unknown_providers_and_duplicate_names() {
        let unknown = parse("[[provider]]\nprovider = \"nope\"\nname = \"x\"\n");
        assert!(
            unknown
                .expect_err("unknown")
                .to_string()
                .contains("unknown provider")
        );
        let dup = parse(
            "[[provider]]\nprovider = \"openai\"\nname = \"x\"\n[[provider]]\nprovider = \"groq\"\nname = \"x\"\n",
        );
        assert!(dup.expect_err("dup").to_string().contains("used twice"));
    }

    #[test]
    fn a_node_needs_a_prefix_and_base_url() {
        let err = parse(
            "[[provider]]\nprovider = \"openai-compatible\"\nname = \"n\"\nprefix = \"nn\"\n",
        )
        .expect_err("no base url");
        assert!(err.to_string().contains("base_url"));
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = parse("[server]\nprot = 1\n").expect_err("typo");
        assert!(err.to_string().contains("prot"), "{err}");
    }
}
