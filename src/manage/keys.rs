//! Proxy API keys. The plain key is returned once, at creation; only its hash is kept.

use serde::Serialize;

use super::{ManageError, validate_name};
use crate::catalog::{ApiKeyRecord, Source, generate_key, hash_key, hint};
use crate::clock::{new_id, now_ms};
use crate::state::Core;
use crate::store;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CreatedKey {
    #[serde(flatten)]
    pub record: ApiKeyRecord,
    /// Shown this once.
    pub key: String,
}

pub async fn list_keys(core: &Core) -> Result<Vec<ApiKeyRecord>, ManageError> {
    let mut keys = core.store.call(|c| store::list_api_keys(c)).await?;
    for (i, k) in core.file.server.api_keys.iter().enumerate() {
        keys.push(ApiKeyRecord {
            id: crate::state::file_key_id(i),
            name: format!("config file key {}", i + 1),
            hint: hint(k),
            hash: hash_key(k),
            created_at: 0,
            source: Source::File,
        });
    }
    Ok(keys)
}

pub async fn create_key(core: &Core, name: &str) -> Result<CreatedKey, ManageError> {
    validate_name("name", name)?;
    let key = generate_key();
    let record = ApiKeyRecord {
        id: new_id(),
        name: name.trim().to_owned(),
        hint: hint(&key),
        hash: hash_key(&key),
        created_at: now_ms(),
        source: Source::Api,
    };
    let row = record.clone();
    core.store
        .call(move |c| store::insert_api_key(c, &row))
        .await?;
    core.reload("keys").await?;
    Ok(CreatedKey { record, key })
}

fn not_found(id: &str) -> ManageError {
    if id.starts_with("file-key-") {
        super::read_only(&format!("key '{id}'"))
    } else {
        ManageError::NotFound(format!("no key '{id}'"))
    }
}

pub async fn rename_key(core: &Core, id: &str, name: &str) -> Result<(), ManageError> {
    validate_name("name", name)?;
    let (i, n) = (id.to_owned(), name.trim().to_owned());
    if !core
        .store
        .call(move |c| store::rename_api_key(c, &i, &n))
        .await?
    {
        return Err(not_found(id));
    }
    core.reload("keys").await?;
    Ok(())
}

pub async fn delete_key(core: &Core, id: &str) -> Result<(), ManageError> {
    let i = id.to_owned();
    if !core
        .store
        .call(move |c| store::delete_api_key(c, &i))
        .await?
    {
        return Err(not_found(id));
    }
    core.reload("keys").await?;
    Ok(())
}
