//! Cooldown state survives a restart: an account cooling down for an hour stays skipped.

use rusqlite::{Connection, params};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCooldown {
    pub account_id: String,
    pub model: String,
    pub until_ms: i64,
    pub failures: u32,
    pub reason: String,
}

pub fn upsert_cooldown(c: &Connection, cd: &StoredCooldown) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO cooldowns (account_id, model, until_ms, failures, reason)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(account_id, model) DO UPDATE SET
           until_ms = excluded.until_ms, failures = excluded.failures, reason = excluded.reason",
        params![cd.account_id, cd.model, cd.until_ms, cd.failures, cd.reason],
    )?;
    Ok(())
}

pub fn delete_cooldown(c: &Connection, account_id: &str, model: &str) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM cooldowns WHERE account_id = ?1 AND model = ?2",
        params![account_id, model],
    )?;
    Ok(())
}

/// Cooldowns still in force at `now_ms`; expired rows are removed on the way.
pub fn load_cooldowns(c: &Connection, now_ms: i64) -> Result<Vec<StoredCooldown>, StoreError> {
    c.execute(
        "DELETE FROM cooldowns WHERE until_ms <= ?1",
        params![now_ms],
    )?;
    let mut stmt =
        c.prepare("SELECT account_id, model, until_ms, failures, reason FROM cooldowns")?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredCooldown {
            account_id: r.get(0)?,
            model: r.get(1)?,
            until_ms: r.get(2)?,
            failures: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
