//! The one SQLite database: settings, nodes, connections, combos, aliases, proxy keys (hashed)
//! and cooldown state. Secrets are never stored here, only references to the `SecretStore`.
//!
//! rusqlite is synchronous; `Store::call` runs each unit of work on the blocking pool so the
//! async request path never waits on disk.

mod admin_tables;
mod batches;
mod catalog_tables;
mod circuits;
mod cooldowns;
mod link;
mod postgres_schema;
mod schema;
mod sealed;
pub mod sql;
mod usage_rows;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

pub use batches::in_batches;
pub use circuits::{StoredCircuit, close_circuit, load_circuits, open_circuit};
pub use cooldowns::StoredCooldown;
pub use link::StoreLink;
pub use sealed::{MasterKey, MasterKeyError, SealedStore};
pub use sql::{Db, Sql, SqlExt};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("the store address is not usable: {0}")]
    Address(String),
    #[error("the store's TLS settings are not usable: {0}")]
    Tls(String),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("database worker failed: {0}")]
    Worker(String),
}

/// Where the store lives.
#[derive(Clone)]
enum Place {
    Sqlite(PathBuf),
    /// The parsed connection settings (the address itself, password included, is not kept)
    /// and the TLS connector, used when the server offers TLS (`sslmode=prefer`, the default)
    /// or must (`sslmode=require`); the server's certificate is always verified.
    Postgres(Box<postgres::Config>, postgres_native_tls::MakeTlsConnector),
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Box<dyn Db>>>,
    place: Place,
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// A writer connection's page cache, in KiB (negative, as SQLite's `cache_size` takes it).
const WRITER_CACHE_KIB: i64 = -512;

/// How long connecting to PostgreSQL may take, and how long one statement may run.
const PG_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const PG_STATEMENT_TIMEOUT: &str = "30s";

fn connect_postgres(
    config: &postgres::Config,
    tls: &postgres_native_tls::MakeTlsConnector,
) -> Result<postgres::Client, StoreError> {
    let mut client = config.connect(tls.clone())?;
    client.batch_execute(&format!(
        "SET statement_timeout = '{PG_STATEMENT_TIMEOUT}'; SET client_min_messages = warning"
    ))?;
    Ok(client)
}

fn tls_connector(
    ca_file: Option<&Path>,
) -> Result<postgres_native_tls::MakeTlsConnector, StoreError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| StoreError::Tls(format!("cannot read {}: {e}", path.display())))?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            StoreError::Tls(format!("{} is not a PEM certificate: {e}", path.display()))
        })?;
        builder.add_root_certificate(cert);
    }
    let connector = builder
        .build()
        .map_err(|e| StoreError::Tls(e.to_string()))?;
    Ok(postgres_native_tls::MakeTlsConnector::new(connector))
}

/// Whether every host of `config` is this machine (loopback or a Unix socket).
fn only_local(config: &postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        postgres::config::Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => true,
    })
}

/// Whether `url` names a PostgreSQL store (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = connect(path)?;
        schema::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(Box::new(conn))),
            place: Place::Sqlite(path.to_path_buf()),
        })
    }

    /// Connects to a PostgreSQL store and brings its schema up to date; several hosts may do
    /// this at once. `ca_file`: a PEM certificate to trust for the server's TLS besides the
    /// system's. Blocks: call it off the async runtime.
    pub fn open_postgres(url: &str, ca_file: Option<&Path>) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Address(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(PG_CONNECT_TIMEOUT);
        }
        // A server that stops answering (a dropped network path) fails the connection instead
        // of holding it, and every caller behind it, for good.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(45));
        // `prefer` (the default) would go on in plain text if someone on the way answered
        // "no TLS"; off this machine TLS is required unless the address says otherwise.
        if !url.contains("sslmode=") && !only_local(&config) {
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        // Names this host's connections, so that notices of its own changes can be told apart.
        let host = format!("ninerouter-{}", new_id());
        config.application_name(&host);
        let tls = tls_connector(ca_file)?;
        let mut client = connect_postgres(&config, &tls)?;
        postgres_schema::migrate(&mut client)?;
        let conn = sql::PgConn::new(client);
        Ok(Self {
            conn: Arc::new(Mutex::new(Box::new(conn))),
            place: Place::Postgres(Box::new(config), tls),
        })
    }

    /// The database file, for an SQLite store.
    pub fn path(&self) -> Option<&Path> {
        match &self.place {
            Place::Sqlite(p) => Some(p),
            Place::Postgres(..) => None,
        }
    }

    /// On a shared store, the name this host's connections carry (what the change notices
    /// say); `None` for SQLite.
    pub fn host_name(&self) -> Option<&str> {
        match &self.place {
            Place::Sqlite(_) => None,
            Place::Postgres(config, _) => config.get_application_name(),
        }
    }

    /// Which kind of store this is, for people: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match &self.place {
            Place::Sqlite(_) => "sqlite",
            Place::Postgres(..) => "postgres",
        }
    }

    /// A connection of its own, for a writer that holds a transaction open for a while
    /// (the shared connection keeps reading meanwhile). Blocks for PostgreSQL.
    pub fn connect_writer(&self) -> Result<Box<dyn Db>, StoreError> {
        Ok(match &self.place {
            Place::Sqlite(path) => {
                let conn = connect(path)?;
                // A writer appends at the tables' ends and prunes at their starts: a few pages
                // are ever read again. SQLite's default 2 MiB cache fills with the bodies it
                // wrote once and keeps them (issue 19: memory after load).
                conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)
                    .map_err(|source| StoreError::Open {
                        path: path.clone(),
                        source,
                    })?;
                Box::new(conn)
            }
            Place::Postgres(config, tls) => {
                Box::new(sql::PgConn::new(connect_postgres(config, tls)?))
            }
        })
    }

    /// A PostgreSQL client of its own (for `LISTEN`), when the store is PostgreSQL.
    pub fn connect_postgres(&self) -> Option<Result<postgres::Client, StoreError>> {
        match &self.place {
            Place::Sqlite(_) => None,
            Place::Postgres(config, tls) => Some(connect_postgres(config, tls)),
        }
    }

    /// Runs `work` with the connection on this thread, for callers already off the runtime.
    pub fn call_blocking<T>(
        &self,
        work: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.mend(&mut guard);
        work(&mut **guard)
    }

    /// Replaces a connection the server dropped; if no new one can be made, the old one stays
    /// and the work fails with the reason.
    fn mend(&self, conn: &mut Box<dyn Db>) {
        if conn.is_broken()
            && let Ok(fresh) = self.connect_writer()
        {
            *conn = fresh;
        }
    }

    /// Runs `work` with the connection on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.call_blocking(work))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

pub use admin_tables::*;
pub use catalog_tables::*;
pub use usage_rows::{count_new_usage, export_usage, import_usage};

pub use crate::clock::{ms_after, new_id, now_ms, secs_ms};

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_twice_and_keeps_schema_version() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db.sqlite");
        Store::open(&path)?;
        let store = Store::open(&path)?;
        let (version, mode): (i64, String) = store
            .call(|c| {
                Ok((
                    c.value("PRAGMA user_version", &[])?,
                    c.value("PRAGMA journal_mode", &[])?,
                ))
            })
            .await?;
        assert_eq!(version, schema::latest_version());
        assert_eq!(mode, "wal");
        Ok(())
    }

    #[test]
    fn only_addresses_on_this_machine_go_without_tls() {
        let local = |url: &str| {
            url.parse::<postgres::Config>()
                .is_ok_and(|c| only_local(&c))
        };
        assert!(local("postgres://u@127.0.0.1/db"));
        assert!(local("postgres://u@localhost:5433/db"));
        assert!(local("host=/var/run/postgresql user=u"));
        assert!(!local("postgres://u@db.example.com/db"));
        assert!(!local("postgres://u@10.0.0.5/db"));
    }

    #[test]
    fn the_recorders_connection_keeps_a_small_page_cache() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("db.sqlite"))?;
        let mut writer = store.connect_writer()?;
        assert_eq!(
            writer.value::<i64>("PRAGMA cache_size", &[])?,
            WRITER_CACHE_KIB
        );
        // The shared connection, which serves the dashboard's reads, keeps SQLite's default.
        let shared: i64 = store.call_blocking(|c| c.value("PRAGMA cache_size", &[]))?;
        assert!(shared < WRITER_CACHE_KIB, "{shared}");
        Ok(())
    }

    /// A CA file that cannot be read or is not a PEM certificate is refused with its name (the
    /// team tests trust a real one).
    #[test]
    fn the_shared_stores_ca_file_must_hold_a_certificate() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n")?;
        let refused = tls_connector(Some(&empty)).err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("empty.pem is not a PEM certificate")),
            "{refused:?}"
        );
        let missing = dir.path().join("missing.pem");
        let refused = tls_connector(Some(&missing)).err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("cannot read")),
            "{refused:?}"
        );
        assert!(tls_connector(None).is_ok());
        Ok(())
    }

    #[test]
    fn migrations_are_valid() {
        assert!(schema::migrations().validate().is_ok());
    }
}
