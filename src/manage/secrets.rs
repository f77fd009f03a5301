//! Moving every secret between the keychain and the owner-only file: the one way secrets
//! change store (a keychain that is slow at start is waited for, never replaced).

use serde::Serialize;

use super::{ManageError, invalid};
use crate::secrets::{BackendKind, Secrets};
use crate::state::Core;
use crate::store::{self, Store};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SecretsMoved {
    pub kind: BackendKind,
    #[cfg_attr(test, ts(type = "number"))]
    pub moved: usize,
}

async fn references(store: &Store) -> Result<Vec<String>, ManageError> {
    let connections = store.call(|c| store::list_accounts(c)).await?;
    Ok(connections
        .into_iter()
        .flat_map(|c| [c.secret_ref, c.proxy_ref])
        .flatten()
        .collect())
}

async fn move_all(
    store: &Store,
    secrets: &Secrets,
    to: BackendKind,
) -> Result<SecretsMoved, ManageError> {
    if matches!(to, BackendKind::Memory | BackendKind::Database) {
        return Err(invalid("to", "secrets move to the keychain or the file"));
    }
    if secrets.kind() == BackendKind::Database {
        return Err(invalid(
            "to",
            "the secrets of a shared store stay encrypted in its database, for every host",
        ));
    }
    let refs = references(store).await?;
    let copied = secrets.copy_to(to, &refs).await?;
    let moved = copied.count();
    // Recorded before the old store is emptied: a failure here leaves both stores whole and
    // the database naming the old one.
    store
        .call(move |c| store::save_secret_store(c, to.as_str()))
        .await?;
    secrets.adopt(copied).await;
    tracing::info!(moved, "secrets moved to the {}", to.describe());
    Ok(SecretsMoved { kind: to, moved })
}

/// From Settings: moves every account's secret, then routes with the new store.
pub async fn move_secrets(core: &Core, to: BackendKind) -> Result<SecretsMoved, ManageError> {
    let moved = move_all(&core.store, &core.secrets, to).await?;
    core.reload("secrets").await?;
    Ok(moved)
}

/// `ninerouter secrets move --to …` with the router stopped: the same move on the database
/// and stores of `data_dir`.
pub async fn move_secrets_offline(
    store: &Store,
    data_dir: &std::path::Path,
    keychain_service: &str,
    to: BackendKind,
) -> Result<SecretsMoved, ManageError> {
    let remembered = store
        .call(|c| store::load_secret_store(c))
        .await?
        .and_then(|k| BackendKind::parse(&k));
    let secrets = Secrets::open(
        crate::secrets::BackendChoice::Auto,
        data_dir,
        keychain_service,
        remembered,
    )
    .await;
    move_all(store, &secrets, to).await
}
