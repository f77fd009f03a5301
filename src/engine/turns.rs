//! Turns at refreshing a login, taken in the shared store: a row per login being refreshed,
//! held until given back or until its time runs out (a host that died mid-refresh). Times are
//! the database's clock, so hosts whose clocks differ still take turns.

use crate::auth::RefreshTurns;
use crate::clock::new_id;
use crate::store::sql::args;
use crate::store::{SqlExt, Store};

pub struct StoreTurns {
    store: Store,
    /// This host, as the holder of a turn.
    holder: String,
}

impl StoreTurns {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            holder: new_id(),
        }
    }
}

#[async_trait::async_trait]
impl RefreshTurns for StoreTurns {
    async fn take(&self, account_id: &str, for_ms: i64) -> bool {
        let (id, holder) = (account_id.to_owned(), self.holder.clone());
        let taken = self
            .store
            .call(move |c| {
                c.row(
                    "INSERT INTO refresh_turns (account_id, holder, until_ms)
                       VALUES (?1, ?2, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) + ?3)
                     ON CONFLICT (account_id) DO UPDATE
                       SET holder = excluded.holder, until_ms = excluded.until_ms
                       WHERE refresh_turns.until_ms
                         < CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)
                     RETURNING holder",
                    args![id, holder, for_ms],
                    |_| Ok(()),
                )
            })
            .await;
        match taken {
            Ok(row) => row.is_some(),
            // Alone without the store, this host refreshes rather than stop serving.
            Err(e) => {
                tracing::warn!("cannot take a turn to refresh a login in the shared store: {e}");
                true
            }
        }
    }

    async fn give_back(&self, account_id: &str) {
        let (id, holder) = (account_id.to_owned(), self.holder.clone());
        let given = self
            .store
            .call(move |c| {
                c.execute(
                    "DELETE FROM refresh_turns WHERE account_id = ?1 AND holder = ?2",
                    args![id, holder],
                )
            })
            .await;
        if let Err(e) = given {
            tracing::warn!("cannot give back a turn to refresh a login: {e}");
        }
    }
}
