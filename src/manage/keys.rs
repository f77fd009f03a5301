//! Proxy API keys. The plain key is returned once, at creation; only its hash is kept.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ManageError, invalid, validate_name};
use crate::catalog::{ApiKeyRecord, KeyLimits, Source, generate_key, hash_key, hint};
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
            name: k
                .name
                .clone()
                .unwrap_or_else(|| format!("config file key {}", i + 1)),
            hint: hint(&k.key),
            hash: hash_key(&k.key),
            created_at: 0,
            source: Source::File,
            limits: k.limits.clone(),
        });
    }
    Ok(keys)
}

/// `POST /api/keys`: a name and, optionally, limits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct KeyInput {
    pub name: String,
    #[serde(flatten)]
    pub limits: KeyLimits,
}

fn checked(limits: &KeyLimits) -> Result<(), ManageError> {
    limits
        .validate()
        .map_err(|(field, why)| invalid(field, why))
}

pub async fn create_key(core: &Core, input: KeyInput) -> Result<CreatedKey, ManageError> {
    let KeyInput { name, limits } = input;
    let name = name.as_str();
    validate_name("name", name)?;
    checked(&limits)?;
    let key = generate_key();
    let record = ApiKeyRecord {
        id: new_id(),
        name: name.trim().to_owned(),
        hint: hint(&key),
        hash: hash_key(&key),
        created_at: now_ms(),
        source: Source::Api,
        limits,
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

/// `PATCH /api/keys/{id}`: any of `name` and the limit fields; a limit set to `null` is
/// lifted, one left out stays as it is.
pub async fn update_key(
    core: &Core,
    id: &str,
    patch: Map<String, Value>,
) -> Result<ApiKeyRecord, ManageError> {
    let current = list_keys(core)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| not_found(id))?;
    if current.source == Source::File {
        return Err(not_found(id));
    }
    let mut merged = match serde_json::to_value(&current.limits) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut name = current.name.clone();
    for (field, value) in patch {
        // The limits are stored under their API names; the file's spellings are accepted too.
        let field = match field.as_str() {
            "daily_cost_limit_usd" => "dailyCostLimitUsd".to_owned(),
            "expires_at" => "expiresAt".to_owned(),
            _ => field,
        };
        match (field.as_str(), value) {
            ("name", Value::String(n)) => name = n,
            ("name", _) => return Err(invalid("name", "must be a string")),
            (_, Value::Null) => {
                merged.remove(&field);
            }
            (_, value) => {
                merged.insert(field, value);
            }
        }
    }
    validate_name("name", &name)?;
    let limits: KeyLimits = serde_json::from_value(Value::Object(merged))
        .map_err(|e| invalid("limits", e.to_string()))?;
    checked(&limits)?;
    let (i, n, l) = (id.to_owned(), name.trim().to_owned(), limits.clone());
    if !core
        .store
        .call(move |c| store::update_api_key(c, &i, &n, &l))
        .await?
    {
        return Err(not_found(id));
    }
    core.reload("keys").await?;
    Ok(ApiKeyRecord {
        name: name.trim().to_owned(),
        limits,
        ..current
    })
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
