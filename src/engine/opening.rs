//! Opening the store and the secret store an engine runs on: SQLite in the data directory with
//! the keychain (or the file) by default; a shared PostgreSQL store with secrets sealed by the
//! master key when the options or the config file name one.

use std::sync::Arc;

use super::{EngineError, EngineOptions, private};
use crate::config::FileConfig;
use crate::secrets::{BackendKind, SecretString, Secrets};
use crate::store::{self, MasterKey, SealedStore, Store, StoreError};

pub async fn open_store(options: &EngineOptions, file: &FileConfig) -> Result<Store, EngineError> {
    let url = options.store.clone().or_else(|| file.store.url.clone());
    match url {
        None => {
            let store = Store::open(&options.data_dir.join("ninerouter.db"))?;
            // After opening: the database file exists, and SQLite gives its journal files its
            // mode.
            private::make_private(&options.data_dir).map_err(|source| EngineError::DataDir {
                path: options.data_dir.clone(),
                source,
            })?;
            Ok(store)
        }
        Some(url) if store::is_postgres_url(&url) => {
            let ca = options
                .store_ca_file
                .clone()
                .or_else(|| file.store.ca_file.clone());
            let store =
                tokio::task::spawn_blocking(move || Store::open_postgres(&url, ca.as_deref()))
                    .await
                    .map_err(|e| StoreError::Worker(e.to_string()))??;
            tracing::info!("using the shared PostgreSQL store");
            Ok(store)
        }
        Some(_) => Err(EngineError::StoreAddress),
    }
}

fn master_key(options: &EngineOptions, file: &FileConfig) -> Result<MasterKey, EngineError> {
    let text = match (&options.master_key, &options.master_key_file) {
        (Some(key), _) => key.clone(),
        (None, Some(path)) => read_key_file(path)?,
        (None, None) => match &file.store.master_key_file {
            Some(path) => read_key_file(path)?,
            None => return Err(EngineError::NoMasterKey),
        },
    };
    Ok(MasterKey::from_text(text.expose())?)
}

fn read_key_file(path: &std::path::Path) -> Result<SecretString, EngineError> {
    std::fs::read_to_string(path)
        .map(SecretString::new)
        .map_err(|source| EngineError::MasterKeyFile {
            path: path.to_path_buf(),
            source,
        })
}

pub async fn open_secrets(
    store: &Store,
    options: &EngineOptions,
    file: &FileConfig,
) -> Result<Secrets, EngineError> {
    if store.kind() == "postgres" {
        let key = master_key(options, file)?;
        let check = key.clone();
        let verified = store.call(move |c| Ok(check.verify(c))).await?;
        verified?;
        return Ok(Secrets::new(Arc::new(SealedStore::new(store.clone(), key))));
    }
    let remembered = store
        .call(|c| store::load_secret_store(c))
        .await?
        .and_then(|k| BackendKind::parse(&k));
    let secrets = Secrets::open(
        options.secrets,
        &options.data_dir,
        &options.keychain_service,
        remembered,
    )
    .await;
    let kind = secrets.kind();
    if kind != BackendKind::Memory && remembered != Some(kind) {
        store
            .call(move |c| store::save_secret_store(c, kind.as_str()))
            .await?;
    }
    Ok(secrets)
}
