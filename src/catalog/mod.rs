//! The routable configuration: providers (registry rows and custom nodes), their accounts,
//! combos, aliases, proxy keys and settings, merged from the database and the config file into
//! one immutable `Catalog`. The request path reads a snapshot; every change builds a new one.

mod combos;
mod keys;
mod nodes;
pub(crate) mod prices;
mod settings;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::auth::tokens::SavedLogin;
use crate::providers::{self, WireFormat};
use crate::secrets::SecretString;

pub use combos::{Combo, validate_combo};
pub use keys::{KEY_PREFIX, KeyHash, KeyLimits, generate_key, hash_key, hint, tail};
pub use nodes::{NodeKind, masked_url, validate_base_url, validate_prefix, validate_proxy_url};
pub use prices::{Price, PriceOverride};
pub use settings::{
    AccountStrategy, ComboStrategy, ObservabilitySettings, ProviderStrategy, RoutingSettings,
    Settings,
};

/// Where an entry comes from. File entries are read-only through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Source {
    Api,
    File,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct NodeRecord {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub kind: NodeKind,
    pub base_url: String,
    pub source: Source,
}

/// One account of one provider, as stored. `provider` is a registry id or a node id.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    pub id: String,
    pub provider: String,
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    pub base_url: Option<String>,
    pub models: Vec<String>,
    #[serde(skip)]
    pub secret_ref: Option<String>,
    /// Where the account's outbound proxy URL is kept (it may carry a password).
    #[serde(skip)]
    pub proxy_ref: Option<String>,
    /// The account's own quota reserve (percent), over the routing setting.
    pub quota_reserve_pct: Option<u8>,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub hint: String,
    #[serde(skip)]
    pub hash: KeyHash,
    #[cfg_attr(test, ts(type = "number"))]
    pub created_at: i64,
    pub source: Source,
    #[serde(flatten)]
    pub limits: KeyLimits,
}

/// A provider as routing sees it: a registry row or a custom node.
#[derive(Debug, Clone)]
pub struct Provider {
    pub id: String,
    /// The prefix shown in model ids (`prefix/model`).
    pub prefix: String,
    pub name: String,
    pub format: WireFormat,
    pub base_url: String,
    pub models: Vec<String>,
    pub families: &'static [&'static str],
    /// Models it serves only through its Responses endpoint (see `ProviderDef`).
    pub responses_models: &'static [&'static str],
    /// Its accounts are subscription logins, not API keys.
    pub login: bool,
}

impl Provider {
    /// The format a request for `model` goes out in.
    pub fn wire_for(&self, model: &str) -> WireFormat {
        providers::wire_for(self.format, self.responses_models, model)
    }
}

/// One account ready to serve: effective base URL and its secret resolved.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub provider: String,
    pub name: String,
    pub priority: i64,
    pub enabled: bool,
    pub base_url: String,
    pub credential: Credential,
    pub models: Vec<String>,
    pub source: Source,
    /// The proxy every call made for this account goes through (requests, renewals, quota);
    /// `None`: the environment's `HTTP(S)_PROXY`/`NO_PROXY`, if any.
    pub proxy: Option<SecretString>,
    /// See `AccountRecord::quota_reserve_pct`.
    pub quota_reserve_pct: Option<u8>,
}

impl Account {
    /// This account's secrets: its key, or each token inside its saved login, and its proxy
    /// URL's password.
    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.credential.secrets();
        if let Some(password) = self
            .proxy
            .as_ref()
            .and_then(|p| url::Url::parse(p.expose()).ok())
            .and_then(|u| u.password().map(str::to_owned))
        {
            all.push(password);
        }
        all
    }
}

impl crate::auth::LoginAccount for Account {
    fn id(&self) -> &str {
        &self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn provider(&self) -> &str {
        &self.provider
    }

    fn saved_login(&self) -> Option<&SavedLogin> {
        self.credential.login()
    }

    fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// What an account holds to authenticate, by kind, so that a login's saved state can never
/// be sent as if it were a key.
#[derive(Debug, Clone, Default)]
pub enum Credential {
    #[default]
    None,
    /// A key the provider reads in its own key header.
    ApiKey(SecretString),
    /// A subscription login's saved state (a refresh-token set, or Copilot's GitHub token).
    /// It never leaves as it is: the token keeper derives the upstream token from it, and a
    /// refresh token goes only to its own token endpoint.
    Login(SavedLogin),
    /// The account has a secret, but it cannot be read now (the keychain is locked, the entry
    /// is gone); why, for the dashboard.
    Unavailable(String),
}

impl Credential {
    /// The API key, for an API-key account.
    pub fn api_key(&self) -> Option<&SecretString> {
        match self {
            Credential::ApiKey(k) => Some(k),
            _ => None,
        }
    }

    /// Whether requests may use the account: a secret it should have but cannot be read
    /// keeps it out of routing.
    pub fn usable(&self) -> bool {
        !matches!(self, Credential::Unavailable(_))
    }

    /// The saved login, for a subscription account.
    pub fn login(&self) -> Option<&SavedLogin> {
        match self {
            Credential::Login(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_some(&self) -> bool {
        !matches!(self, Credential::None)
    }

    /// Every secret it holds (for blanking them wherever they might appear).
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Credential::ApiKey(key) => vec![key.expose().to_owned()],
            Credential::Login(saved) => saved.secrets(),
            Credential::None | Credential::Unavailable(_) => Vec::new(),
        }
    }
}

/// The inputs of a catalog, already merged from store and file and with secrets resolved.
#[derive(Debug, Default)]
pub struct CatalogParts {
    pub settings: Settings,
    pub nodes: Vec<NodeRecord>,
    pub accounts: Vec<(AccountRecord, Option<SecretString>)>,
    /// Outbound proxy URLs, by account id.
    pub proxies: HashMap<String, SecretString>,
    pub combos: Vec<(Combo, Source)>,
    pub aliases: Vec<(String, String, Source)>,
    /// Proxy key hashes and the id of the key each belongs to.
    pub key_hashes: Vec<(KeyHash, String)>,
    /// The limits of the keys that have any, by key id.
    pub key_limits: Vec<(String, KeyLimits)>,
    pub prices: Vec<PriceOverride>,
    /// Connections whose secret could not be read, and why.
    pub unreadable: HashMap<String, String>,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub settings: Settings,
    providers: Vec<Provider>,
    by_prefix: HashMap<String, usize>,
    accounts: Vec<Account>,
    /// Provider id → indexes into `accounts`, in priority order (then creation order).
    accounts_by_provider: HashMap<String, Vec<usize>>,
    pub combos: BTreeMap<String, (Combo, Source)>,
    pub aliases: BTreeMap<String, (String, Source)>,
    key_hashes: HashMap<KeyHash, String>,
    key_limits: HashMap<String, KeyLimits>,
    /// The user's prices, over the built-in table.
    pub prices: Vec<PriceOverride>,
}

impl Catalog {
    pub fn build(mut parts: CatalogParts) -> Self {
        let mut providers: Vec<Provider> = providers::registry()
            .iter()
            .map(|p| Provider {
                id: p.id.to_owned(),
                prefix: p.display_prefix().to_owned(),
                name: p.name.to_owned(),
                format: p.format,
                base_url: p.base_url.to_owned(),
                models: p.models.iter().map(|m| (*m).to_owned()).collect(),
                families: p.families,
                responses_models: p.responses_models,
                login: p.auth != providers::AuthKind::ApiKey,
            })
            .collect();
        let mut by_prefix = HashMap::new();
        for (i, p) in providers::registry().iter().enumerate() {
            by_prefix.insert(p.id.to_owned(), i);
            for alias in p.aliases {
                by_prefix.insert((*alias).to_owned(), i);
            }
        }
        for node in &parts.nodes {
            by_prefix.insert(node.prefix.clone(), providers.len());
            by_prefix.insert(node.id.clone(), providers.len());
            providers.push(Provider {
                id: node.id.clone(),
                prefix: node.prefix.clone(),
                name: node.name.clone(),
                format: node.kind.format(),
                base_url: node.base_url.clone(),
                models: Vec::new(),
                families: &[],
                responses_models: &[],
                login: false,
            });
        }

        let mut accounts: Vec<Account> = parts
            .accounts
            .into_iter()
            .filter_map(|(c, key)| {
                let provider = providers.get(*by_prefix.get(&c.provider)?)?;
                // An account whose key or proxy cannot be read is not routed without it.
                let credential = match (parts.unreadable.get(&c.id), key) {
                    (Some(why), _) => Credential::Unavailable(why.clone()),
                    (None, None) => Credential::None,
                    (None, Some(k)) if provider.login => Credential::Login(SavedLogin::parse(k)),
                    (None, Some(k)) => Credential::ApiKey(k),
                };
                let proxy = parts.proxies.remove(&c.id);
                Some(Account {
                    proxy,
                    quota_reserve_pct: c.quota_reserve_pct,
                    // A login's tokens go to its provider's own hosts only: an address stored
                    // or declared for a login account is not used.
                    base_url: match &c.base_url {
                        Some(url) if !provider.login => url.clone(),
                        _ => provider.base_url.clone(),
                    },
                    provider: provider.id.clone(),
                    id: c.id,
                    name: c.name,
                    priority: c.priority,
                    enabled: c.enabled,
                    credential,
                    models: c.models,
                    source: c.source,
                })
            })
            .collect();
        // Stable: equal priorities keep creation order.
        accounts.sort_by_key(|a| a.priority);
        let mut accounts_by_provider: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in accounts.iter().enumerate() {
            accounts_by_provider
                .entry(a.provider.clone())
                .or_default()
                .push(i);
        }

        Self {
            settings: parts.settings,
            providers,
            by_prefix,
            accounts,
            accounts_by_provider,
            combos: parts
                .combos
                .into_iter()
                .map(|(c, s)| (c.name.clone(), (c, s)))
                .collect(),
            aliases: parts
                .aliases
                .into_iter()
                .map(|(a, t, s)| (a, (t, s)))
                .collect(),
            key_hashes: parts.key_hashes.into_iter().collect(),
            key_limits: parts
                .key_limits
                .into_iter()
                .filter(|(_, l)| !l.is_empty())
                .collect(),
            prices: parts.prices,
        }
    }

    /// Whether `id` names a registry provider or a custom node.
    pub fn has_provider(&self, id: &str) -> bool {
        self.provider_by_id(id).is_some()
    }

    pub fn provider_by_id(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    pub fn provider_by_prefix(&self, prefix: &str) -> Option<&Provider> {
        self.by_prefix
            .get(prefix)
            .and_then(|&i| self.providers.get(i))
    }

    /// The context window of `model` at `provider`: the user's `prefix/model` or `prefix/*`
    /// (the provider's id works as well as its prefix), else the built-in table.
    pub fn context_window(&self, provider: &Provider, model: &str) -> Option<u64> {
        let overrides = &self.settings.routing.context_windows;
        if !overrides.is_empty() {
            for name in [&provider.prefix, &provider.id] {
                let set = overrides
                    .get(&format!("{name}/{model}"))
                    .or_else(|| overrides.get(&format!("{name}/*")));
                if let Some(window) = set {
                    return Some(*window);
                }
            }
        }
        providers::context_window(&provider.id, model)
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    /// Enabled accounts of a provider whose credential can be used, highest priority first.
    pub fn enabled_accounts_of(&self, provider_id: &str) -> impl Iterator<Item = &Account> {
        self.accounts_by_provider
            .get(provider_id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.accounts.get(i))
            .filter(|a| a.enabled && a.credential.usable())
    }

    /// Every account secret, so that the inspector and the audit log can blank them wherever
    /// they appear: API keys, saved logins, and each token inside a saved token set.
    pub fn account_secrets(&self) -> Vec<String> {
        self.accounts.iter().flat_map(Account::secrets).collect()
    }

    /// The price of `model` served by `provider`: the user's override (longest model prefix)
    /// over the built-in table.
    pub fn price_of(&self, provider: &str, model: &str) -> Option<Price> {
        self.prices
            .iter()
            .filter(|o| o.provider == provider && model.starts_with(o.model.as_str()))
            .max_by_key(|o| o.model.len())
            .map(|o| o.price)
            .or_else(|| prices::price_of(model))
    }

    /// The id of the proxy key `key`, when it is one.
    pub fn key_id(&self, key: &str) -> Option<&str> {
        self.key_hashes.get(&hash_key(key)).map(String::as_str)
    }

    /// The limits of proxy key `id`, when it has any.
    pub fn key_limits(&self, id: &str) -> Option<&KeyLimits> {
        self.key_limits.get(id)
    }

    /// The combo a requested model names, directly or through an alias.
    pub fn combo_named(&self, model: &str) -> Option<&str> {
        let name = self.aliases.get(model).map_or(model, |(t, _)| t.as_str());
        self.combos.get(name).map(|(c, _)| c.name.as_str())
    }

    /// The guess for a bare model name: the first provider whose family matches and that has
    /// an enabled account, or whose accounts list the model by name.
    pub fn guess_provider(&self, model: &str) -> Option<&Provider> {
        let listed = self
            .accounts
            .iter()
            .find(|a| a.enabled && a.models.iter().any(|m| m == model))
            .and_then(|a| self.provider_by_prefix(&a.provider));
        listed.or_else(|| {
            self.providers.iter().find(|p| {
                p.families.iter().any(|f| model.starts_with(f))
                    && self.enabled_accounts_of(&p.id).next().is_some()
            })
        })
    }

    /// `/v1/models` order: combos first, then every model a connected provider can serve.
    pub fn routable_models(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .combos
            .keys()
            .map(|name| (name.clone(), "combo".to_owned()))
            .collect();
        out.extend(
            self.provider_models()
                .into_iter()
                .map(|(p, m)| (format!("{}/{m}", p.prefix), p.prefix.clone())),
        );
        out
    }

    /// Every model of a routable provider with an enabled account: the registry's list and
    /// the models its accounts name, once each.
    pub fn provider_models(&self) -> Vec<(&Provider, &str)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for p in &self.providers {
            if !p.format.is_routable() {
                continue;
            }
            let accounts: Vec<&Account> = self.enabled_accounts_of(&p.id).collect();
            if accounts.is_empty() {
                continue;
            }
            let account_models = accounts.iter().flat_map(|a| a.models.iter());
            for m in p.models.iter().chain(account_models) {
                if seen.insert((p.id.as_str(), m.as_str())) {
                    out.push((p, m.as_str()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(id: &str, provider: &str, base_url: &str) -> AccountRecord {
        AccountRecord {
            id: id.into(),
            provider: provider.into(),
            name: id.into(),
            priority: 1,
            enabled: true,
            base_url: Some(base_url.into()),
            models: Vec::new(),
            secret_ref: Some(format!("connection:{id}")),
            proxy_ref: None,
            quota_reserve_pct: None,
            source: Source::Api,
        }
    }

    #[test]
    fn credentials_are_typed_by_provider_and_a_login_keeps_its_providers_address() {
        let set = r#"{"accessToken":"at-123456789","refreshToken":"rt-123456789"}"#;
        let catalog = Catalog::build(CatalogParts {
            accounts: vec![
                (
                    connection("c", "claude", "http://127.0.0.1:9/steal"),
                    Some(SecretString::new(set)),
                ),
                (
                    connection("o", "openai", "http://127.0.0.1:9/v1"),
                    Some(SecretString::new("sk-openai-1")),
                ),
                (connection("u", "openai", "http://x/v1"), None),
            ],
            unreadable: [("u".to_owned(), "locked".to_owned())].into(),
            ..CatalogParts::default()
        });
        let login = catalog.account("c").unwrap();
        assert!(
            login.credential.api_key().is_none(),
            "a login is never a key"
        );
        assert!(login.credential.login().is_some());
        assert_ne!(login.base_url, "http://127.0.0.1:9/steal");
        let secrets = login.secrets();
        assert!(secrets.contains(&"at-123456789".to_owned()));
        assert!(secrets.contains(&"rt-123456789".to_owned()));
        let key = catalog.account("o").unwrap();
        assert_eq!(
            key.credential.api_key().map(|k| k.expose()),
            Some("sk-openai-1")
        );
        assert_eq!(key.base_url, "http://127.0.0.1:9/v1");
        let ids: Vec<&str> = catalog
            .enabled_accounts_of("openai")
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["o"],
            "an account whose secret cannot be read is not routed"
        );
    }
}
