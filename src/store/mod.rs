//! The one SQLite database: settings, nodes, connections, combos, aliases, proxy keys (hashed)
//! and cooldown state. Secrets are never stored here, only references to the `SecretStore`.
//!
//! rusqlite is synchronous; `Store::call` runs each unit of work on the blocking pool so the
//! async request path never waits on disk.

mod admin_tables;
mod batches;
mod catalog_tables;
mod cooldowns;
mod schema;
mod usage_rows;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use batches::in_batches;
pub use cooldowns::StoredCooldown;

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
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("database worker failed: {0}")]
    Worker(String),
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
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
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = connect(path)?;
        schema::migrations().to_latest(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A connection of its own, for a writer that holds a transaction open for a while
    /// (WAL lets the shared connection keep reading meanwhile).
    pub fn connect_writer(&self) -> Result<Connection, StoreError> {
        connect(&self.path)
    }

    /// Runs `work` with the connection on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut guard)
        })
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
                let v = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                let m = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                Ok((v, m))
            })
            .await?;
        assert_eq!(version, schema::latest_version());
        assert_eq!(mode, "wal");
        Ok(())
    }

    #[test]
    fn migrations_are_valid() {
        assert!(schema::migrations().validate().is_ok());
    }
}
