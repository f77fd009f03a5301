//! Persists cooldown changes and publishes them as events, off the request path. Changes that
//! arrive together are written in one transaction.

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

use crate::events::{EngineEvent, EventBus};
use crate::routing::CooldownChange;
use crate::store::{self, Store};

pub async fn run(
    store: Store,
    events: EventBus,
    changes: UnboundedReceiver<CooldownChange>,
    shutdown: watch::Receiver<bool>,
) {
    store::in_batches(changes, shutdown, usize::MAX, |batch| {
        write(&store, &events, batch)
    })
    .await;
}

async fn write(store: &Store, events: &EventBus, batch: Vec<CooldownChange>) {
    for change in &batch {
        events.publish(match change {
            CooldownChange::Set(c) => EngineEvent::AccountCooledDown {
                account_id: c.account_id.clone(),
                model: c.model.clone(),
                until_ms: c.until_ms,
                reason: c.reason.clone(),
                needs_login: c.needs_login,
            },
            CooldownChange::Cleared { account_id, model } => EngineEvent::AccountRecovered {
                account_id: account_id.clone(),
                model: model.clone(),
            },
        });
    }
    let result = store
        .call(move |c| {
            let mut tx = c.transaction()?;
            for change in &batch {
                match change {
                    CooldownChange::Set(cd) => store::upsert_cooldown(&mut *tx, cd)?,
                    CooldownChange::Cleared { account_id, model } => {
                        store::delete_cooldown(&mut *tx, account_id, model)?
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!("could not save cooldown state: {e}");
    }
}
