//! The engine as a library: what the headless binary and the desktop shell both use.
//!
//! ```no_run
//! # async fn run() -> Result<(), ninerouter::engine::EngineError> {
//! let engine = ninerouter::engine::Engine::start(ninerouter::engine::EngineOptions::default()).await?;
//! println!("listening on {}", engine.address());
//! engine.stop().await;
//! # Ok(()) }
//! ```

mod cooldown_writer;
mod follow;
mod opening;
mod private;
mod recorder;
mod turns;
use opening::{open_secrets, open_store};
pub use private::make_private;
pub use recorder::FLUSH_INTERVAL;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use crate::state::{
    ACTIVE_COMBO_ALIAS, AccountState, AccountStatus, ComboState, Core, CoreError, Listen,
    ProviderState, Snapshot, account_state, file_key_id, secret_backend_text,
};

use crate::config::{ConfigError, FileConfig};
use crate::events::{EngineEvent, EventBus};
use crate::proxy::ProxyContext;
use crate::routing::{Cooldowns, RoutingState};
use crate::secrets::{BackendChoice, SecretError, SecretString};
use crate::server::{AllowList, Limits};
use crate::store::{self, Store, StoreError};
use crate::usage::Inspector;
use crate::usage::Recorder;
use crate::usage::{self, Quotas};

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 20128;
/// How long `stop` waits for in-flight requests (long streams included) before cutting them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("secret store: {0}")]
    Secrets(#[from] SecretError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{0}' is not an IP address to listen on")]
    BadHost(String),
    #[error(transparent)]
    AllowList(#[from] crate::server::BadCidr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Tls(#[from] crate::proxy::TlsSetupError),
    #[error(
        "the store must be a postgres:// address (or left out for SQLite in the data directory)"
    )]
    StoreAddress,
    #[error(
        "a PostgreSQL store keeps secrets sealed with a master key: set NINEROUTER_MASTER_KEY, \
         or name a file holding it with --master-key-file or [store] master_key_file"
    )]
    NoMasterKey,
    #[error("cannot read the master key file {path}: {source}")]
    MasterKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    MasterKey(#[from] store::MasterKeyError),
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Overrides the config file's `server.host`; default 127.0.0.1.
    pub host: Option<String>,
    /// Overrides the config file's `server.port`; default 20128; 0 picks a free port.
    pub port: Option<u16>,
    pub data_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    pub secrets: BackendChoice,
    /// The keychain service name entries are stored under.
    pub keychain_service: String,
    /// The home whose coding tools are set up and whose CLI logins are imported; `None`:
    /// this process's `$HOME` and environment.
    pub home: Option<PathBuf>,
    /// A PostgreSQL store shared with other hosts (`postgres://…`); the config file's
    /// `[store] url` otherwise; SQLite in `data_dir` when neither says.
    pub store: Option<String>,
    /// The master key sealing a shared store's secrets (from `NINEROUTER_MASTER_KEY`).
    pub master_key: Option<SecretString>,
    /// A file holding it; the config file's `[store] master_key_file` otherwise.
    pub master_key_file: Option<PathBuf>,
    /// A PEM certificate to trust for the shared store's TLS (a private CA); the config
    /// file's `[store] ca_file` otherwise.
    pub store_ca_file: Option<PathBuf>,
    /// Run on the recording thread once the router has been quiet for a moment after some
    /// work: the binary gives its allocator's free memory back to the system then.
    pub at_rest: Option<fn()>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            data_dir: default_data_dir(),
            config_file: None,
            secrets: BackendChoice::Auto,
            keychain_service: crate::secrets::KEYCHAIN_SERVICE.to_owned(),
            home: None,
            store: None,
            master_key: None,
            master_key_file: None,
            store_ca_file: None,
            at_rest: None,
        }
    }
}

/// The platform's application-data directory (`~/.local/share/ninerouter` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "ninerouter")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ninerouter"))
}

pub struct Engine {
    core: Arc<Core>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    writer: JoinHandle<()>,
    recorder: std::thread::JoinHandle<()>,
    late_stop: watch::Sender<bool>,
    quota_writer: JoinHandle<()>,
    quota_refresh: JoinHandle<()>,
    /// Keeps this machine's copy in the sync folder current.
    sync: JoinHandle<()>,
    secrets_wait: JoinHandle<()>,
}

impl Engine {
    pub async fn start(options: EngineOptions) -> Result<Self, EngineError> {
        std::fs::create_dir_all(&options.data_dir).map_err(|source| EngineError::DataDir {
            path: options.data_dir.clone(),
            source,
        })?;
        let file = match &options.config_file {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };

        let store = open_store(&options, &file).await?;
        // First: a host with the wrong master key changes nothing in a shared store.
        let secrets = open_secrets(&store, &options, &file).await?;
        // Requests a crash or kill cut off stay in the inspector, marked as such (status 0).
        // Not on a shared store, where unfinished requests may be other hosts' in flight.
        if store.kind() != "postgres" {
            store
                .call(|c| crate::inspector::close_interrupted(c))
                .await?;
        }
        seed_settings(&store, &file).await?;

        let host = options
            .host
            .clone()
            .or_else(|| file.server.host.clone())
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let ip: IpAddr = host
            .parse()
            .map_err(|_| EngineError::BadHost(host.clone()))?;
        let port = options.port.or(file.server.port).unwrap_or(DEFAULT_PORT);
        let limits = server_limits(&file.server)?;
        let requested = SocketAddr::new(ip, port);
        let listener = tokio::net::TcpListener::bind(requested)
            .await
            .map_err(|source| EngineError::Bind {
                addr: requested,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| EngineError::Bind {
            addr: requested,
            source,
        })?;

        let events = EventBus::new();
        let (recording_tx, recording_rx) = std::sync::mpsc::channel();
        let inspector = Inspector::new(recording_tx.clone());
        let (changes_tx, changes_rx) = tokio::sync::mpsc::unbounded_channel();
        let cooldowns = Cooldowns::new(Some(changes_tx));
        let restored = store
            .call(|c| store::load_cooldowns(c, crate::clock::now_ms()))
            .await?;
        cooldowns.restore(restored);
        let (quotas, quota_saves) = Quotas::new(events.clone());
        quotas.restore(store.call(|c| usage::load_snapshots(c)).await?);
        let proxy = ProxyContext {
            http: ProxyContext::http_client()?,
            direct: crate::proxy::Direct::unless_proxied()?.map(Arc::new),
            control: ProxyContext::control_client()?,
            routing: Arc::new(RoutingState::new(cooldowns)),
            events: events.clone(),
            quotas: Arc::new(quotas),
            tokens: Arc::new({
                let keeper = crate::auth::TokenKeeper::new(
                    crate::providers::logins(&file.auth),
                    &file.auth,
                    Some(secrets.clone()),
                );
                if store.kind() == "postgres" {
                    keeper.with_turns(Arc::new(turns::StoreTurns::new(store.clone())))
                } else {
                    keeper
                }
            }),
            via: Arc::default(),
            endpoints: Default::default(),
        };
        let listen = Listen {
            addr,
            allowed_hosts: file.server.allowed_hosts.clone(),
        };
        let core = Arc::new(Core::new(crate::state::CoreParts {
            store: store.clone(),
            secrets,
            file: Arc::new(file),
            proxy,
            listen,
            places: crate::state::Places {
                data_dir: options.data_dir.clone(),
                home: match &options.home {
                    Some(dir) => Some(crate::setup::Home::isolated(dir, None)),
                    None => crate::setup::Home::from_process(),
                },
            },
            usage: Recorder::new(recording_tx),
            inspector,
        }));
        core.reload("start").await?;
        let now = crate::clock::now_ms();
        for (key, usd) in store
            .call(move |c| usage::billed_today_by_key(c, now))
            .await?
        {
            core.key_budgets.charge(&key, 0, usd, now);
        }

        let (shutdown, shutdown_rx) = watch::channel(false);
        let writer = tokio::spawn(cooldown_writer::run(
            store,
            events.clone(),
            changes_rx,
            shutdown_rx.clone(),
        ));
        // The recording thread and the quota writer stop after the server has drained, so
        // that requests finishing during the drain are still recorded.
        let recorder = recorder::spawn(core.clone(), recording_rx, options.at_rest)?;
        let (late_stop, late_stop_rx) = watch::channel(false);
        let quota_writer = tokio::spawn(usage::run_quota_writer(
            core.store.clone(),
            quota_saves,
            late_stop_rx,
        ));
        let quota_refresh = tokio::spawn(crate::manage::quota_refresh_loop(
            core.clone(),
            shutdown_rx.clone(),
        ));
        let secrets_wait = tokio::spawn(wait_for_secrets(core.clone(), shutdown_rx.clone()));
        let sync = tokio::spawn(crate::manage::sync_loop(core.clone(), shutdown_rx.clone()));
        // Detached: it ends with the shutdown signal and holds nothing to write out.
        drop(follow::spawn(core.clone(), shutdown_rx.clone()));
        let server = tokio::spawn(crate::server::serve(
            listener,
            core.clone(),
            limits,
            shutdown_rx,
        ));
        tracing::info!(
            %addr,
            secrets = core.secrets.kind().describe(),
            data_dir = %options.data_dir.display(),
            "NineRouter is listening"
        );
        events.publish(EngineEvent::Started {
            address: addr.to_string(),
        });
        Ok(Self {
            core,
            shutdown,
            server,
            writer,
            recorder,
            late_stop,
            quota_writer,
            quota_refresh,
            secrets_wait,
            sync,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.core.listen.addr
    }

    pub fn snapshot(&self) -> Snapshot {
        self.core.snapshot()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.core.events().subscribe()
    }

    /// Shared state for hosts that add their own front ends (the desktop shell).
    pub fn core(&self) -> Arc<Core> {
        self.core.clone()
    }

    /// Stops accepting connections, lets in-flight requests finish (up to a limit), and
    /// writes out buffered state.
    pub async fn stop(self) {
        self.core.events().publish(EngineEvent::Stopping);
        let _ = self.shutdown.send(true);
        let mut server = self.server;
        if tokio::time::timeout(DRAIN_TIMEOUT, &mut server)
            .await
            .is_err()
        {
            tracing::warn!(
                "in-flight requests did not finish within {DRAIN_TIMEOUT:?}; closing them"
            );
            server.abort();
        }
        let _ = self.writer.await;
        let _ = self.quota_refresh.await;
        let _ = self.secrets_wait.await;
        // A copy being sealed is not waited for (scrypt takes a second): the file is written
        // whole or not at all, and the next start writes it again.
        self.sync.abort();
        self.core.usage.stop();
        let recorder = self.recorder;
        if tokio::task::spawn_blocking(move || recorder.join())
            .await
            .is_err()
        {
            tracing::error!("the recording thread failed while stopping");
        }
        let _ = self.late_stop.send(true);
        let _ = self.quota_writer.await;
        tracing::info!("NineRouter stopped");
    }
}

/// How often a keychain that did not answer at start is asked again.
const SECRETS_RETRY: Duration = Duration::from_secs(1);

/// While the remembered secret store does not answer, asks it again now and then; once it
/// answers, the catalog is rebuilt with the secrets it holds (the accounts set aside as
/// 'secret unavailable' come back).
async fn wait_for_secrets(core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    while core.secrets.is_waiting() {
        tokio::select! {
            () = tokio::time::sleep(SECRETS_RETRY) => {}
            _ = shutdown.changed() => return,
        }
        if core.secrets.retry().await {
            if let Err(e) = core.reload("secrets").await {
                tracing::error!("cannot reload after the keychain answered: {e}");
            }
            return;
        }
    }
}

/// The connection bounds the config file's `[server]` section sets, over the defaults.
fn server_limits(server: &crate::config::ServerSection) -> Result<Limits, EngineError> {
    let defaults = Limits::default();
    let ms = |v: Option<u64>, d: Duration| v.map_or(d, Duration::from_millis);
    Ok(Limits {
        max_connections: server.max_connections.unwrap_or(defaults.max_connections),
        header_timeout: ms(server.header_timeout_ms, defaults.header_timeout),
        body_idle_timeout: ms(server.body_idle_timeout_ms, defaults.body_idle_timeout),
        body_timeout: ms(server.body_timeout_ms, defaults.body_timeout),
        allow: AllowList::parse(&server.allow_ips)?,
    })
}

/// The config file's `[server] require_api_key`, `[routing]` and `[observability]` are applied over the stored
/// settings at every start, so a headless deployment is steered by its file.
async fn seed_settings(store: &Store, file: &FileConfig) -> Result<(), EngineError> {
    let require = file.server.require_api_key;
    let routing = file.routing.clone();
    let observability = file.observability.clone();
    if require.is_none() && routing.is_none() && observability.is_none() {
        return Ok(());
    }
    // In one transaction: on a shared store, another host may be writing settings too.
    store
        .call(move |c| {
            let mut tx = c.transaction()?;
            let c = &mut *tx;
            let mut settings = store::load_settings(c)?;
            if let Some(r) = require {
                settings.require_api_key = r;
            }
            if let Some(r) = routing {
                settings.routing = r;
            }
            if let Some(o) = observability {
                settings.observability = o;
            }
            store::save_settings(c, &settings)?;
            tx.commit()
        })
        .await?;
    Ok(())
}
