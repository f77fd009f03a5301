//! The engine's shared state, and the one place a new `Catalog` is assembled.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::catalog::{
    AccountRecord, Catalog, CatalogParts, Combo, NodeKind, NodeRecord, Source, hash_key,
};
use crate::config::FileConfig;
use crate::events::{EngineEvent, EventBus};
use crate::proxy::ProxyContext;
use crate::secrets::{SecretError, SecretString, Secrets};
use crate::store::{self, Store, StoreError};
use crate::usage::Inspector;
use crate::usage::Recorder;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Where the server listens, and which names the management API accepts in `Host`.
#[derive(Debug, Clone)]
pub struct Listen {
    pub addr: SocketAddr,
    pub allowed_hosts: Vec<String>,
}

impl Listen {
    pub fn is_loopback(&self) -> bool {
        self.addr.ip().is_loopback()
    }

    /// The origin clients on this machine reach the router at (`0.0.0.0` is reached at
    /// `127.0.0.1`).
    pub fn origin(&self) -> String {
        let ip = match self.addr.ip() {
            ip if !ip.is_unspecified() => ip,
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }
}

/// Where the router keeps its files, and whose tools it sets up.
#[derive(Debug, Clone)]
pub struct Places {
    pub data_dir: std::path::PathBuf,
    /// The user whose coding tools the Tools page points here (`None`: no home known).
    pub home: Option<crate::setup::Home>,
}

impl Places {
    /// Where the tools' backups are kept.
    pub fn tool_backups(&self) -> std::path::PathBuf {
        self.data_dir.join("tool-backups")
    }
}

pub struct Core {
    pub store: Store,
    pub secrets: Secrets,
    pub file: Arc<FileConfig>,
    pub proxy: ProxyContext,
    pub listen: Listen,
    pub places: Places,
    pub usage: Recorder,
    pub inspector: Inspector,
    /// What limited proxy keys have spent.
    pub key_budgets: crate::usage::KeyBudgets,
    /// How each model's last test went.
    pub model_health: super::ModelHealthBook,
    /// Subscription logins in progress.
    pub logins: crate::auth::Logins,
    /// Dashboard sessions, desktop tickets and password pacing.
    pub admin: crate::admin::AdminState,
    /// Whether a shared store is within reach (always up for SQLite).
    pub store_link: crate::store::StoreLink,
    /// Routing paused from the tray or the dashboard: client requests are refused meanwhile.
    paused: AtomicBool,
    catalog: RwLock<Arc<Catalog>>,
    reload_lock: tokio::sync::Mutex<()>,
    /// Counts catalog rebuilds: background jobs that follow the setup wait on it without
    /// subscribing to the event bus (a subscriber makes every request build its events).
    changes: tokio::sync::watch::Sender<u64>,
}

/// What a `Core` is made of; the rest starts empty.
pub struct CoreParts {
    pub store: Store,
    pub secrets: Secrets,
    pub file: Arc<FileConfig>,
    pub proxy: ProxyContext,
    pub listen: Listen,
    pub places: Places,
    pub usage: Recorder,
    pub inspector: Inspector,
}

impl Core {
    pub fn new(parts: CoreParts) -> Self {
        let CoreParts {
            store,
            secrets,
            file,
            proxy,
            listen,
            places,
            usage,
            inspector,
        } = parts;
        Self {
            places,
            store,
            secrets,
            file,
            proxy,
            listen,
            usage,
            inspector,
            key_budgets: crate::usage::KeyBudgets::default(),
            model_health: super::ModelHealthBook::default(),
            logins: crate::auth::Logins::default(),
            admin: crate::admin::AdminState::default(),
            store_link: crate::store::StoreLink::default(),
            paused: AtomicBool::new(false),
            catalog: RwLock::new(Arc::new(Catalog::default())),
            reload_lock: tokio::sync::Mutex::new(()),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Changes each time the setup does (a new catalog).
    pub fn setup_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Pauses or resumes routing; tells subscribers when it changes.
    pub fn set_paused(&self, paused: bool) {
        if self.paused.swap(paused, Ordering::Relaxed) != paused {
            tracing::info!(
                paused,
                "routing {}",
                if paused { "paused" } else { "resumed" }
            );
            self.events().publish(EngineEvent::RoutingPaused { paused });
        }
    }

    /// The combo clients get when they ask for the `default` model (see `ACTIVE_COMBO_ALIAS`).
    pub fn active_combo(&self) -> Option<String> {
        let catalog = self.catalog();
        let (target, _) = catalog.aliases.get(ACTIVE_COMBO_ALIAS)?;
        catalog.combos.contains_key(target).then(|| target.clone())
    }

    /// Every secret the router holds now (account secrets, the tokens inside saved logins,
    /// tokens minted or renewed since), for blanking wherever they might appear.
    pub fn known_secrets(&self) -> Vec<String> {
        let mut all = self.catalog().account_secrets();
        all.extend(self.proxy.tokens.held_secrets());
        all
    }

    /// Records whether the shared store is within reach, and tells subscribers when that
    /// changes.
    pub fn store_reachable(&self, reachable: bool) {
        if self.store_link.set_down(!reachable) {
            self.events().publish(EngineEvent::StoreLink { reachable });
        }
    }

    /// The engine's event bus (the one the proxy publishes routed requests on).
    pub fn events(&self) -> &EventBus {
        &self.proxy.events
    }

    /// The catalog in force now; requests keep the snapshot they started with.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rebuilds the catalog from the database, the config file and the secret store, and
    /// tells subscribers what changed.
    pub async fn reload(&self, what: &str) -> Result<(), CoreError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let store::CatalogRows {
            settings,
            nodes,
            accounts: connections,
            combos,
            aliases,
            keys,
            prices,
        } = self.store.call(|c| store::load_catalog_rows(c)).await?;

        let mut parts = CatalogParts {
            settings,
            nodes,
            prices,
            ..CatalogParts::default()
        };
        // A shared store that fails mid-read is out of reach, not missing secrets: the
        // configuration in force stays (its keys work) rather than every account set aside.
        let shared = self.store.kind() == "postgres";
        for record in connections {
            // An account whose secret cannot be read now is set aside, never routed without it.
            let key = match &record.secret_ref {
                Some(r) => match self.secrets.get(r).await {
                    Err(e) if shared && e.is_unreachable() => return Err(e.into()),
                    Ok(Some(secret)) => Some(secret),
                    Ok(None) => {
                        let why = format!(
                            "its secret is missing from the {}",
                            self.secrets.kind().describe()
                        );
                        parts.unreadable.insert(record.id.clone(), why);
                        None
                    }
                    Err(e) => {
                        parts.unreadable.insert(record.id.clone(), e.to_string());
                        None
                    }
                },
                None => None,
            };
            if let Some(r) = &record.proxy_ref {
                match self.secrets.get(r).await {
                    Err(e) if shared && e.is_unreachable() => return Err(e.into()),
                    Ok(Some(url)) => {
                        parts.proxies.insert(record.id.clone(), url);
                    }
                    Ok(None) => {
                        let why = format!(
                            "its proxy URL is missing from the {}",
                            self.secrets.kind().describe()
                        );
                        parts.unreadable.insert(record.id.clone(), why);
                    }
                    Err(e) => {
                        parts.unreadable.insert(record.id.clone(), e.to_string());
                    }
                }
            }
            parts.accounts.push((record, key));
        }
        parts.combos = combos.into_iter().map(|c| (c, Source::Api)).collect();
        parts.aliases = aliases
            .into_iter()
            .map(|(a, t)| (a, t, Source::Api))
            .collect();
        parts.key_limits = keys
            .iter()
            .map(|k| (k.id.clone(), k.limits.clone()))
            .collect();
        parts.key_hashes = keys.into_iter().map(|k| (k.hash, k.id)).collect();
        merge_file(&self.file, &mut parts);

        let catalog = Arc::new(Catalog::build(parts));
        self.proxy
            .quotas
            .warn_at(&catalog.settings.observability.quota_warn_pct);
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = catalog;
        self.proxy.routing.reset_rotation();
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        self.events().publish(EngineEvent::ConfigChanged {
            what: what.to_owned(),
        });
        Ok(())
    }
}

/// The model name that means "the active combo": picking a combo in the tray points this alias
/// at it, so every client configured with model `default` follows the switch.
pub const ACTIVE_COMBO_ALIAS: &str = "default";

/// The id a file-declared node or account gets: stable across restarts, so cooldowns stick.
pub fn file_node_id(prefix: &str) -> String {
    format!("file-node-{prefix}")
}

/// The id a config-file proxy key is listed and recorded under.
pub fn file_key_id(index: usize) -> String {
    format!("file-key-{index}")
}

pub fn file_account_id(name: &str) -> String {
    format!("file-{name}")
}

/// Adds the config file's entries (read-only) to what the database holds. File entries win
/// over database entries of the same name, which the API refuses to create anyway.
fn merge_file(file: &FileConfig, parts: &mut CatalogParts) {
    for entry in &file.providers {
        let provider = match NodeKind::parse(&entry.provider) {
            Some(kind) => {
                let prefix = entry.prefix.clone().unwrap_or_default();
                let id = file_node_id(&prefix);
                if !parts.nodes.iter().any(|n| n.id == id) {
                    parts.nodes.retain(|n| n.prefix != prefix);
                    parts.nodes.push(NodeRecord {
                        id: id.clone(),
                        name: prefix.clone(),
                        prefix,
                        kind,
                        base_url: entry.base_url.clone().unwrap_or_default(),
                        source: Source::File,
                    });
                }
                id
            }
            None => entry.provider.clone(),
        };
        parts.accounts.push((
            AccountRecord {
                id: file_account_id(&entry.name),
                provider,
                name: entry.name.clone(),
                priority: entry.priority,
                enabled: entry.enabled,
                base_url: entry.base_url.clone(),
                models: entry.models.clone(),
                secret_ref: None,
                proxy_ref: None,
                quota_reserve_pct: entry.quota_reserve_pct,
                source: Source::File,
            },
            entry.api_key.clone().map(SecretString::new),
        ));
        if let Some(proxy) = &entry.proxy {
            parts
                .proxies
                .insert(file_account_id(&entry.name), SecretString::new(proxy));
        }
    }
    for c in &file.combos {
        parts.combos.retain(|(existing, _)| existing.name != c.name);
        parts.combos.push((
            Combo {
                name: c.name.clone(),
                models: c.models.clone(),
                strategy: c.strategy,
            },
            Source::File,
        ));
    }
    for (alias, target) in &file.aliases {
        parts.aliases.retain(|(a, _, _)| a != alias);
        parts
            .aliases
            .push((alias.clone(), target.clone(), Source::File));
    }
    parts.key_hashes.extend(
        file.server
            .api_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (hash_key(&k.key), file_key_id(i))),
    );
    parts.key_limits.extend(
        file.server
            .api_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (file_key_id(i), k.limits.clone())),
    );
}
