//! Open circuits in a shared store, so that an endpoint one host found down is left alone by
//! all (see `routing::circuit`). Only a shared store has the table.

use super::StoreError;
use super::sql::{Sql, SqlExt, args};

/// An open circuit as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCircuit {
    pub provider: String,
    pub endpoint: String,
    pub until_ms: i64,
    pub reason: String,
}

pub fn open_circuit(c: &mut dyn Sql, s: &StoredCircuit) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO circuits (provider, endpoint, until_ms, reason) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (provider, endpoint) DO UPDATE
           SET until_ms = excluded.until_ms, reason = excluded.reason",
        args![s.provider, s.endpoint, s.until_ms, s.reason],
    )?;
    Ok(())
}

pub fn close_circuit(c: &mut dyn Sql, provider: &str, endpoint: &str) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM circuits WHERE provider = ?1 AND endpoint = ?2",
        args![provider, endpoint],
    )?;
    Ok(())
}

/// Circuits still open at `now_ms`.
pub fn load_circuits(c: &mut dyn Sql, now_ms: i64) -> Result<Vec<StoredCircuit>, StoreError> {
    c.rows(
        "SELECT provider, endpoint, until_ms, reason FROM circuits WHERE until_ms > ?1",
        args![now_ms],
        |mut r| {
            Ok(StoredCircuit {
                provider: r.get(0)?,
                endpoint: r.get(1)?,
                until_ms: r.get(2)?,
                reason: r.get(3)?,
            })
        },
    )
}
