//! Cooldown state survives a restart: an account cooling down for an hour stays skipped.

use super::sql::{Sql, SqlExt, args};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCooldown {
    pub account_id: String,
    pub model: String,
    pub until_ms: i64,
    pub failures: u32,
    pub reason: String,
    pub needs_login: bool,
}

pub fn upsert_cooldown(c: &mut dyn Sql, cd: &StoredCooldown) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO cooldowns (account_id, model, until_ms, failures, reason, needs_login)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(account_id, model) DO UPDATE SET
           until_ms = excluded.until_ms, failures = excluded.failures, reason = excluded.reason,
           needs_login = excluded.needs_login",
        args![
            cd.account_id,
            cd.model,
            cd.until_ms,
            cd.failures,
            cd.reason,
            cd.needs_login
        ],
    )?;
    Ok(())
}

pub fn delete_cooldown(c: &mut dyn Sql, account_id: &str, model: &str) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM cooldowns WHERE account_id = ?1 AND model = ?2",
        args![account_id, model],
    )?;
    Ok(())
}

/// Cooldowns still in force at `now_ms`; expired rows are removed on the way.
pub fn load_cooldowns(c: &mut dyn Sql, now_ms: i64) -> Result<Vec<StoredCooldown>, StoreError> {
    c.execute("DELETE FROM cooldowns WHERE until_ms <= ?1", args![now_ms])?;
    c.rows(
        "SELECT account_id, model, until_ms, failures, reason, needs_login FROM cooldowns",
        args![],
        |mut r| {
            Ok(StoredCooldown {
                account_id: r.get(0)?,
                model: r.get(1)?,
                until_ms: r.get(2)?,
                failures: r.get(3)?,
                reason: r.get(4)?,
                needs_login: r.get(5)?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldowns_saved_before_the_needs_login_column_keep_their_state() {
        let mut c = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let migrations = super::super::schema::migrations();
        let before = super::super::schema::version_before("ADD COLUMN needs_login");
        migrations
            .to_version(&mut c, before)
            .unwrap_or_else(|e| panic!("{e}"));
        c.execute_batch(
            "INSERT INTO cooldowns VALUES ('a', '*', 9000, 1, 'needs login: the saved login was refused');
             INSERT INTO cooldowns VALUES ('b', '*', 9000, 1, 'rate limit');",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        migrations
            .to_latest(&mut c)
            .unwrap_or_else(|e| panic!("{e}"));
        let loaded = load_cooldowns(&mut c, 0).unwrap_or_else(|e| panic!("{e}"));
        let state = |id: &str| {
            loaded
                .iter()
                .find(|s| s.account_id == id)
                .map(|s| s.needs_login)
        };
        assert_eq!(state("a"), Some(true));
        assert_eq!(state("b"), Some(false));
    }
}
