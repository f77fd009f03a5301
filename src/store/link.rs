//! Whether this host reaches its shared store (see `engine::follow`).

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this host's connection to the shared store is up, for `/api/status`.
#[derive(Debug, Default)]
pub struct StoreLink {
    down: AtomicBool,
}

impl StoreLink {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn set_down(&self, down: bool) {
        if self.down.swap(down, Ordering::Relaxed) != down {
            if down {
                tracing::warn!(
                    "the shared store is out of reach; routing with the last configuration"
                );
            } else {
                tracing::info!("the shared store is reachable");
            }
        }
    }
}
