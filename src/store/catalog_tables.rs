//! Reading and writing the catalog tables. Plain functions over a connection, called through
//! `Store::call`.

use std::collections::HashMap;

use super::sql::{Db, Row, Sql, SqlExt, args};
use super::{StoreError, now_ms};
use crate::catalog::{
    AccountRecord, ApiKeyRecord, Combo, ComboStrategy, KeyHash, KeyLimits, NodeKind, NodeRecord,
    Price, PriceOverride, Settings, Source,
};

pub use super::cooldowns::{delete_cooldown, load_cooldowns, upsert_cooldown};

fn json_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("model list: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

// ---- settings -------------------------------------------------------------------------------

pub fn load_settings(c: &mut dyn Sql) -> Result<Settings, StoreError> {
    let text: Option<String> = c.row(
        "SELECT value FROM settings WHERE key = 'settings'",
        args![],
        |mut r| r.get(0),
    )?;
    match text {
        None => Ok(Settings::default()),
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("settings: {e}")))
        }
    }
}

pub fn save_settings(c: &mut dyn Sql, settings: &Settings) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES ('settings', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        args![to_json(settings)?],
    )?;
    Ok(())
}

/// Every row the catalog is made of, read in one transaction's view.
pub struct CatalogRows {
    pub settings: Settings,
    pub nodes: Vec<NodeRecord>,
    pub accounts: Vec<AccountRecord>,
    pub combos: Vec<Combo>,
    pub aliases: Vec<(String, String)>,
    pub keys: Vec<ApiKeyRecord>,
    pub prices: Vec<PriceOverride>,
}

pub fn load_catalog_rows(c: &mut dyn Sql) -> Result<CatalogRows, StoreError> {
    Ok(CatalogRows {
        settings: load_settings(c)?,
        nodes: list_nodes(c)?,
        accounts: list_accounts(c)?,
        combos: list_combos(c)?,
        aliases: list_aliases(c)?,
        keys: list_api_keys(c)?,
        prices: list_price_overrides(c)?,
    })
}

// ---- nodes ----------------------------------------------------------------------------------

pub fn list_nodes(c: &mut dyn Sql) -> Result<Vec<NodeRecord>, StoreError> {
    c.rows(
        "SELECT id, name, prefix, kind, base_url FROM nodes ORDER BY created_at, id",
        args![],
        node_of,
    )
}

fn node_of(mut r: Row) -> Result<NodeRecord, StoreError> {
    let (id, name, prefix, kind, base_url): (String, String, String, String, String) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    {
        let kind = NodeKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("node {id} has kind '{kind}'")))?;
        Ok(NodeRecord {
            id,
            name,
            prefix,
            kind,
            base_url,
            source: Source::Api,
        })
    }
}

pub fn insert_node(c: &mut dyn Sql, n: &NodeRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO nodes (id, name, prefix, kind, base_url, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![n.id, n.name, n.prefix, n.kind.as_str(), n.base_url, now_ms()],
    )?;
    Ok(())
}

pub fn update_node(c: &mut dyn Sql, n: &NodeRecord) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE nodes SET name = ?2, prefix = ?3, kind = ?4, base_url = ?5 WHERE id = ?1",
        args![n.id, n.name, n.prefix, n.kind.as_str(), n.base_url],
    )?;
    Ok(changed > 0)
}

/// Deletes a node and returns the secret references of its connections, which go with it.
pub fn delete_node(c: &mut dyn Db, id: &str) -> Result<Option<Vec<String>>, StoreError> {
    let mut tx = c.transaction()?;
    let refs: Vec<String> = tx.rows(
        "SELECT secret_ref FROM connections WHERE provider = ?1 AND secret_ref IS NOT NULL",
        args![id],
        |mut r| r.get(0),
    )?;
    tx.execute("DELETE FROM connections WHERE provider = ?1", args![id])?;
    let deleted = tx.execute("DELETE FROM nodes WHERE id = ?1", args![id])?;
    tx.commit()?;
    Ok((deleted > 0).then_some(refs))
}

// ---- connections ----------------------------------------------------------------------------

pub fn list_accounts(c: &mut dyn Sql) -> Result<Vec<AccountRecord>, StoreError> {
    c.rows(
        "SELECT id, provider, name, priority, enabled, base_url, models, secret_ref, proxy_ref,
           quota_reserve_pct
         FROM connections ORDER BY seq",
        args![],
        |mut r| {
            Ok(AccountRecord {
                id: r.get(0)?,
                provider: r.get(1)?,
                name: r.get(2)?,
                priority: r.get(3)?,
                enabled: r.get(4)?,
                base_url: r.get(5)?,
                models: json_list(&r.get::<String>(6)?)?,
                secret_ref: r.get(7)?,
                proxy_ref: r.get(8)?,
                quota_reserve_pct: r.get(9)?,
                source: Source::Api,
            })
        },
    )
}

pub fn insert_account(c: &mut dyn Sql, rec: &AccountRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO connections (id, provider, name, priority, enabled, base_url, models, secret_ref,
           created_at, proxy_ref, quota_reserve_pct)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        args![
            rec.id,
            rec.provider,
            rec.name,
            rec.priority,
            rec.enabled,
            rec.base_url,
            to_json(&rec.models)?,
            rec.secret_ref,
            now_ms(),
            rec.proxy_ref,
            rec.quota_reserve_pct
        ],
    )?;
    Ok(())
}

pub fn update_account(c: &mut dyn Sql, rec: &AccountRecord) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE connections SET name = ?2, priority = ?3, enabled = ?4, base_url = ?5, models = ?6,
           secret_ref = ?7, proxy_ref = ?8, quota_reserve_pct = ?9 WHERE id = ?1",
        args![
            rec.id,
            rec.name,
            rec.priority,
            rec.enabled,
            rec.base_url,
            to_json(&rec.models)?,
            rec.secret_ref,
            rec.proxy_ref,
            rec.quota_reserve_pct
        ],
    )?;
    Ok(changed > 0)
}

pub fn delete_account(c: &mut dyn Sql, id: &str) -> Result<bool, StoreError> {
    c.execute("DELETE FROM cooldowns WHERE account_id = ?1", args![id])?;
    Ok(c.execute("DELETE FROM connections WHERE id = ?1", args![id])? > 0)
}

// ---- combos ---------------------------------------------------------------------------------

fn strategy_str(s: ComboStrategy) -> &'static str {
    match s {
        ComboStrategy::Fallback => "fallback",
        ComboStrategy::RoundRobin => "round-robin",
    }
}

pub fn list_combos(c: &mut dyn Sql) -> Result<Vec<Combo>, StoreError> {
    c.rows(
        "SELECT name, models, strategy FROM combos ORDER BY seq",
        args![],
        |mut r| {
            let strategy = match r.get::<String>(2)?.as_str() {
                "round-robin" => ComboStrategy::RoundRobin,
                _ => ComboStrategy::Fallback,
            };
            Ok(Combo {
                name: r.get(0)?,
                models: json_list(&r.get::<String>(1)?)?,
                strategy,
            })
        },
    )
}

/// Inserts or replaces a combo; `previous_name` renames in place, keeping its position.
pub fn save_combo(
    c: &mut dyn Sql,
    combo: &Combo,
    previous_name: Option<&str>,
) -> Result<(), StoreError> {
    let models = to_json(&combo.models)?;
    let strategy = strategy_str(combo.strategy);
    match previous_name {
        Some(old) => {
            c.execute(
                "UPDATE combos SET name = ?2, models = ?3, strategy = ?4 WHERE name = ?1",
                args![old, combo.name, models, strategy],
            )?;
        }
        None => {
            c.execute(
                "INSERT INTO combos (name, models, strategy, created_at) VALUES (?1, ?2, ?3, ?4)",
                args![combo.name, models, strategy, now_ms()],
            )?;
        }
    }
    Ok(())
}

pub fn delete_combo(c: &mut dyn Sql, name: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM combos WHERE name = ?1", args![name])? > 0)
}

// ---- aliases --------------------------------------------------------------------------------

pub fn list_aliases(c: &mut dyn Sql) -> Result<Vec<(String, String)>, StoreError> {
    c.rows(
        "SELECT alias, target FROM aliases ORDER BY alias",
        args![],
        |mut r| Ok((r.get(0)?, r.get(1)?)),
    )
}

pub fn save_alias(c: &mut dyn Sql, alias: &str, target: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO aliases (alias, target) VALUES (?1, ?2)
         ON CONFLICT(alias) DO UPDATE SET target = excluded.target",
        args![alias, target],
    )?;
    Ok(())
}

pub fn delete_alias(c: &mut dyn Sql, alias: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM aliases WHERE alias = ?1", args![alias])? > 0)
}

// ---- proxy keys -----------------------------------------------------------------------------

/// A stored key or token: only its SHA-256, with the name and hint people see.
pub(super) struct HashedRow {
    pub id: String,
    pub name: String,
    pub hint: String,
    pub hash: KeyHash,
    pub created_at: i64,
}

/// Every row of a table of hashed keys (`api_keys`, `admin_tokens`), oldest first.
pub(super) fn hashed_rows(
    c: &mut dyn Sql,
    table: &'static str,
) -> Result<Vec<HashedRow>, StoreError> {
    c.rows(
        &format!("SELECT id, name, hint, hash, created_at FROM {table} ORDER BY created_at, id"),
        args![],
        |mut r| {
            let id: String = r.get(0)?;
            let hash: KeyHash = r
                .get::<Vec<u8>>(3)?
                .try_into()
                .map_err(|_| StoreError::Corrupt(format!("{table} {id} has a malformed hash")))?;
            Ok(HashedRow {
                name: r.get(1)?,
                hint: r.get(2)?,
                hash,
                created_at: r.get(4)?,
                id,
            })
        },
    )
}

pub fn list_api_keys(c: &mut dyn Sql) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let rows: Vec<(String, String)> =
        c.rows("SELECT id, limits FROM api_keys", args![], |mut r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let mut limits: HashMap<String, KeyLimits> = HashMap::new();
    for (id, text) in rows {
        let parsed = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("api key {id} has malformed limits: {e}")))?;
        limits.insert(id, parsed);
    }
    Ok(hashed_rows(c, "api_keys")?
        .into_iter()
        .map(|r| ApiKeyRecord {
            limits: limits.remove(&r.id).unwrap_or_default(),
            id: r.id,
            name: r.name,
            hint: r.hint,
            hash: r.hash,
            created_at: r.created_at,
            source: Source::Api,
        })
        .collect())
}

pub fn insert_api_key(c: &mut dyn Sql, k: &ApiKeyRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO api_keys (id, name, hash, hint, created_at, limits)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![
            k.id,
            k.name,
            k.hash.as_slice(),
            k.hint,
            k.created_at,
            to_json(&k.limits)?
        ],
    )?;
    Ok(())
}

/// Sets a key's name and limits; false when there is no such key.
pub fn update_api_key(
    c: &mut dyn Sql,
    id: &str,
    name: &str,
    limits: &KeyLimits,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE api_keys SET name = ?2, limits = ?3 WHERE id = ?1",
        args![id, name, to_json(limits)?],
    )? > 0)
}

pub fn delete_api_key(c: &mut dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM api_keys WHERE id = ?1", args![id])? > 0)
}

// ---- price overrides ------------------------------------------------------------------------

pub fn list_price_overrides(c: &mut dyn Sql) -> Result<Vec<PriceOverride>, StoreError> {
    c.rows(
        "SELECT provider, model, input, cached_input, cache_write, output, reasoning
         FROM price_overrides ORDER BY provider, model",
        args![],
        |mut r| {
            Ok(PriceOverride {
                provider: r.get(0)?,
                model: r.get(1)?,
                price: Price {
                    input: r.get(2)?,
                    cached_input: r.get(3)?,
                    cache_write: r.get(4)?,
                    output: r.get(5)?,
                    reasoning: r.get(6)?,
                },
            })
        },
    )
}

pub fn put_price_override(c: &mut dyn Sql, o: &PriceOverride) -> Result<(), StoreError> {
    let p = &o.price;
    c.execute(
        "INSERT INTO price_overrides (provider, model, input, cached_input, cache_write, output,
            reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(provider, model) DO UPDATE SET input = excluded.input,
            cached_input = excluded.cached_input, cache_write = excluded.cache_write,
            output = excluded.output, reasoning = excluded.reasoning",
        args![
            o.provider,
            o.model,
            p.input,
            p.cached_input,
            p.cache_write,
            p.output,
            p.reasoning
        ],
    )?;
    Ok(())
}

/// Whether there was an override to delete.
pub fn delete_price_override(
    c: &mut dyn Sql,
    provider: &str,
    model: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "DELETE FROM price_overrides WHERE provider = ?1 AND model = ?2",
        args![provider, model],
    )?;
    Ok(n > 0)
}
