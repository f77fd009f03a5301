//! Reading and writing the catalog tables. Plain functions over a connection, called through
//! `Store::call`.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

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

pub fn load_settings(c: &Connection) -> Result<Settings, StoreError> {
    let text: Option<String> = c
        .query_row(
            "SELECT value FROM settings WHERE key = 'settings'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match text {
        None => Ok(Settings::default()),
        Some(t) => {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("settings: {e}")))
        }
    }
}

pub fn save_settings(c: &Connection, settings: &Settings) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES ('settings', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![to_json(settings)?],
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

pub fn load_catalog_rows(c: &Connection) -> Result<CatalogRows, StoreError> {
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

pub fn list_nodes(c: &Connection) -> Result<Vec<NodeRecord>, StoreError> {
    let mut stmt =
        c.prepare("SELECT id, name, prefix, kind, base_url FROM nodes ORDER BY created_at, id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, name, prefix, kind, base_url) = row?;
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
    })
    .collect()
}

pub fn insert_node(c: &Connection, n: &NodeRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO nodes (id, name, prefix, kind, base_url, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![n.id, n.name, n.prefix, n.kind.as_str(), n.base_url, now_ms()],
    )?;
    Ok(())
}

pub fn update_node(c: &Connection, n: &NodeRecord) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE nodes SET name = ?2, prefix = ?3, kind = ?4, base_url = ?5 WHERE id = ?1",
        params![n.id, n.name, n.prefix, n.kind.as_str(), n.base_url],
    )?;
    Ok(changed > 0)
}

/// Deletes a node and returns the secret references of its connections, which go with it.
pub fn delete_node(c: &mut Connection, id: &str) -> Result<Option<Vec<String>>, StoreError> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let refs: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT secret_ref FROM connections WHERE provider = ?1 AND secret_ref IS NOT NULL",
        )?;
        stmt.query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    tx.execute("DELETE FROM connections WHERE provider = ?1", params![id])?;
    let deleted = tx.execute("DELETE FROM nodes WHERE id = ?1", params![id])?;
    tx.commit()?;
    Ok((deleted > 0).then_some(refs))
}

// ---- connections ----------------------------------------------------------------------------

pub fn list_accounts(c: &Connection) -> Result<Vec<AccountRecord>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT id, provider, name, priority, enabled, base_url, models, secret_ref, proxy_ref,
           quota_reserve_pct
         FROM connections ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            AccountRecord {
                id: r.get(0)?,
                provider: r.get(1)?,
                name: r.get(2)?,
                priority: r.get(3)?,
                enabled: r.get(4)?,
                base_url: r.get(5)?,
                models: Vec::new(),
                secret_ref: r.get(7)?,
                proxy_ref: r.get(8)?,
                quota_reserve_pct: r.get(9)?,
                source: Source::Api,
            },
            r.get::<_, String>(6)?,
        ))
    })?;
    rows.map(|row| {
        let (mut rec, models) = row?;
        rec.models = json_list(&models)?;
        Ok(rec)
    })
    .collect()
}

pub fn insert_account(c: &Connection, rec: &AccountRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO connections (id, provider, name, priority, enabled, base_url, models, secret_ref,
           created_at, proxy_ref, quota_reserve_pct)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
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

pub fn update_account(c: &Connection, rec: &AccountRecord) -> Result<bool, StoreError> {
    let changed = c.execute(
        "UPDATE connections SET name = ?2, priority = ?3, enabled = ?4, base_url = ?5, models = ?6,
           secret_ref = ?7, proxy_ref = ?8, quota_reserve_pct = ?9 WHERE id = ?1",
        params![
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

pub fn delete_account(c: &Connection, id: &str) -> Result<bool, StoreError> {
    c.execute("DELETE FROM cooldowns WHERE account_id = ?1", params![id])?;
    Ok(c.execute("DELETE FROM connections WHERE id = ?1", params![id])? > 0)
}

// ---- combos ---------------------------------------------------------------------------------

fn strategy_str(s: ComboStrategy) -> &'static str {
    match s {
        ComboStrategy::Fallback => "fallback",
        ComboStrategy::RoundRobin => "round-robin",
    }
}

pub fn list_combos(c: &Connection) -> Result<Vec<Combo>, StoreError> {
    let mut stmt = c.prepare("SELECT name, models, strategy FROM combos ORDER BY seq")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|row| {
        let (name, models, strategy) = row?;
        let strategy = match strategy.as_str() {
            "round-robin" => ComboStrategy::RoundRobin,
            _ => ComboStrategy::Fallback,
        };
        Ok(Combo {
            name,
            models: json_list(&models)?,
            strategy,
        })
    })
    .collect()
}

/// Inserts or replaces a combo; `previous_name` renames in place, keeping its position.
pub fn save_combo(
    c: &Connection,
    combo: &Combo,
    previous_name: Option<&str>,
) -> Result<(), StoreError> {
    let models = to_json(&combo.models)?;
    let strategy = strategy_str(combo.strategy);
    match previous_name {
        Some(old) => {
            c.execute(
                "UPDATE combos SET name = ?2, models = ?3, strategy = ?4 WHERE name = ?1",
                params![old, combo.name, models, strategy],
            )?;
        }
        None => {
            c.execute(
                "INSERT INTO combos (name, models, strategy, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![combo.name, models, strategy, now_ms()],
            )?;
        }
    }
    Ok(())
}

pub fn delete_combo(c: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM combos WHERE name = ?1", params![name])? > 0)
}

// ---- aliases --------------------------------------------------------------------------------

pub fn list_aliases(c: &Connection) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = c.prepare("SELECT alias, target FROM aliases ORDER BY alias")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn save_alias(c: &Connection, alias: &str, target: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO aliases (alias, target) VALUES (?1, ?2)
         ON CONFLICT(alias) DO UPDATE SET target = excluded.target",
        params![alias, target],
    )?;
    Ok(())
}

pub fn delete_alias(c: &Connection, alias: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM aliases WHERE alias = ?1", params![alias])? > 0)
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
    c: &Connection,
    table: &'static str,
) -> Result<Vec<HashedRow>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT id, name, hint, hash, created_at FROM {table} ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (id, name, hint, hash, created_at) = row?;
        let hash: KeyHash = hash
            .try_into()
            .map_err(|_| StoreError::Corrupt(format!("{table} {id} has a malformed hash")))?;
        Ok(HashedRow {
            id,
            name,
            hint,
            hash,
            created_at,
        })
    })
    .collect()
}

pub fn list_api_keys(c: &Connection) -> Result<Vec<ApiKeyRecord>, StoreError> {
    let mut stmt = c.prepare("SELECT id, limits FROM api_keys")?;
    let mut limits: HashMap<String, KeyLimits> = HashMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, text) = row?;
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

pub fn insert_api_key(c: &Connection, k: &ApiKeyRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO api_keys (id, name, hash, hint, created_at, limits)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
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
    c: &Connection,
    id: &str,
    name: &str,
    limits: &KeyLimits,
) -> Result<bool, StoreError> {
    Ok(c.execute(
        "UPDATE api_keys SET name = ?2, limits = ?3 WHERE id = ?1",
        params![id, name, to_json(limits)?],
    )? > 0)
}

pub fn delete_api_key(c: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM api_keys WHERE id = ?1", params![id])? > 0)
}

// ---- price overrides ------------------------------------------------------------------------

pub fn list_price_overrides(c: &Connection) -> Result<Vec<PriceOverride>, StoreError> {
    let mut stmt = c.prepare(
        "SELECT provider, model, input, cached_input, cache_write, output, reasoning
         FROM price_overrides ORDER BY provider, model",
    )?;
    let rows = stmt.query_map([], |r| {
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
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub fn put_price_override(c: &Connection, o: &PriceOverride) -> Result<(), StoreError> {
    let p = &o.price;
    c.execute(
        "INSERT INTO price_overrides (provider, model, input, cached_input, cache_write, output,
            reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(provider, model) DO UPDATE SET input = excluded.input,
            cached_input = excluded.cached_input, cache_write = excluded.cache_write,
            output = excluded.output, reasoning = excluded.reasoning",
        params![
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
    c: &Connection,
    provider: &str,
    model: &str,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "DELETE FROM price_overrides WHERE provider = ?1 AND model = ?2",
        params![provider, model],
    )?;
    Ok(n > 0)
}
