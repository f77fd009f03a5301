//! What guards the management API, and what it was used for: the dashboard password's hash,
//! admin tokens (hashed) and the audit log.

use super::sql::{Sql, SqlExt, args};
use serde::Serialize;

use super::StoreError;

/// One value of the settings table besides the settings themselves.
pub fn load_value(c: &mut dyn Sql, key: &str) -> Result<Option<String>, StoreError> {
    c.row(
        "SELECT value FROM settings WHERE key = ?1",
        args![key],
        |mut r| r.get(0),
    )
}

/// Sets (or with `None` removes) one value of the settings table.
pub fn save_value(c: &mut dyn Sql, key: &str, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            args![key, v],
        )?,
        None => c.execute("DELETE FROM settings WHERE key = ?1", args![key])?,
    };
    Ok(())
}

/// The Argon2 hash (PHC string) of the dashboard password, if one is set.
pub fn load_admin_password(c: &mut dyn Sql) -> Result<Option<String>, StoreError> {
    load_value(c, "admin_password")
}

pub fn save_admin_password(c: &mut dyn Sql, hash: Option<&str>) -> Result<(), StoreError> {
    save_value(c, "admin_password", hash)
}

/// The secret store this install keeps its secrets in (`keychain` or `file`), once known.
pub fn load_secret_store(c: &mut dyn Sql) -> Result<Option<String>, StoreError> {
    load_value(c, "secret_store")
}

pub fn save_secret_store(c: &mut dyn Sql, kind: &str) -> Result<(), StoreError> {
    save_value(c, "secret_store", Some(kind))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AdminTokenRecord {
    pub id: String,
    pub name: String,
    pub hint: String,
    #[serde(skip)]
    pub hash: [u8; 32],
    #[cfg_attr(test, ts(type = "number"))]
    pub created_at: i64,
}

pub fn list_admin_tokens(c: &mut dyn Sql) -> Result<Vec<AdminTokenRecord>, StoreError> {
    Ok(super::catalog_tables::hashed_rows(c, "admin_tokens")?
        .into_iter()
        .map(|r| AdminTokenRecord {
            id: r.id,
            name: r.name,
            hint: r.hint,
            hash: r.hash,
            created_at: r.created_at,
        })
        .collect())
}

/// The name of the admin token with this hash, if there is one.
pub fn admin_token_named(c: &mut dyn Sql, hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
    c.row(
        "SELECT name FROM admin_tokens WHERE hash = ?1",
        args![hash.as_slice()],
        |mut r| r.get(0),
    )
}

pub fn insert_admin_token(c: &mut dyn Sql, t: &AdminTokenRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO admin_tokens (id, name, hash, hint, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![t.id, t.name, t.hash.as_slice(), t.hint, t.created_at],
    )?;
    Ok(())
}

pub fn delete_admin_token(c: &mut dyn Sql, id: &str) -> Result<bool, StoreError> {
    Ok(c.execute("DELETE FROM admin_tokens WHERE id = ?1", args![id])? > 0)
}

/// A dashboard session as a shared store keeps it (only the token's hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub hash: [u8; 32],
    /// `session` or `desktop`.
    pub actor: String,
    pub fingerprint: u64,
    pub expires_ms: i64,
}

pub fn save_session(c: &mut dyn Sql, s: &StoredSession) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO admin_sessions (hash, actor, fingerprint, expires_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (hash) DO NOTHING",
        args![
            s.hash.as_slice(),
            s.actor,
            i64::from_le_bytes(s.fingerprint.to_le_bytes()),
            s.expires_ms
        ],
    )?;
    // Sessions past their time go on the way.
    c.execute(
        "DELETE FROM admin_sessions WHERE expires_ms <= ?1",
        args![super::now_ms()],
    )?;
    Ok(())
}

pub fn load_session(c: &mut dyn Sql, hash: &[u8; 32]) -> Result<Option<StoredSession>, StoreError> {
    c.row(
        "SELECT actor, fingerprint, expires_ms FROM admin_sessions WHERE hash = ?1",
        args![hash.as_slice()],
        |mut r| {
            Ok(StoredSession {
                hash: *hash,
                actor: r.get(0)?,
                fingerprint: u64::from_le_bytes(r.get::<i64>(1)?.to_le_bytes()),
                expires_ms: r.get(2)?,
            })
        },
    )
}

/// Ends one session (`Some`), or all of them.
pub fn delete_sessions(c: &mut dyn Sql, hash: Option<&[u8; 32]>) -> Result<(), StoreError> {
    match hash {
        Some(h) => c.execute(
            "DELETE FROM admin_sessions WHERE hash = ?1",
            args![h.as_slice()],
        )?,
        None => c.execute("DELETE FROM admin_sessions", args![])?,
    };
    Ok(())
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AuditEntry {
    #[cfg_attr(test, ts(type = "number"))]
    pub seq: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub at_ms: i64,
    /// The client's address (or `desktop`, `cli`).
    pub client: String,
    /// Who acted: `local` (open dashboard on loopback), `session`, `token:<name>`, `desktop`.
    pub actor: String,
    /// What was done (`POST /api/keys`, `set active combo`).
    pub action: String,
    /// The change, with secret values removed.
    pub detail: String,
    pub status: u16,
}

/// Keeps the newest this many entries.
const AUDIT_KEEP: i64 = 10_000;

pub fn insert_audit(c: &mut dyn Sql, e: &AuditEntry) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_log (at_ms, client, actor, action, detail, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        args![e.at_ms, e.client, e.actor, e.action, e.detail, e.status],
    )?;
    c.execute(
        "DELETE FROM audit_log WHERE seq <= (SELECT MAX(seq) FROM audit_log) - ?1",
        args![AUDIT_KEEP],
    )?;
    Ok(())
}

/// The newest entries first, before `before` (a `seq`) when given.
pub fn list_audit(
    c: &mut dyn Sql,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, StoreError> {
    c.rows(
        "SELECT seq, at_ms, client, actor, action, detail, status FROM audit_log
         WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        args![before.unwrap_or(i64::MAX), limit],
        |mut r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at_ms: r.get(1)?,
                client: r.get(2)?,
                actor: r.get(3)?,
                action: r.get(4)?,
                detail: r.get(5)?,
                status: r.get(6)?,
            })
        },
    )
}
