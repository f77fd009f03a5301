//! Whether this host reaches its shared store (see `engine::follow`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Whether this host's connection to the shared store is up, for `/api/status`.
#[derive(Debug, Default)]
pub struct StoreLink {
    down: AtomicBool,
    /// Usage and inspector records waiting for the store to come back.
    backlog: AtomicUsize,
}

impl StoreLink {
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    pub fn set_backlog(&self, n: usize) {
        self.backlog.store(n, Ordering::Relaxed);
    }

    /// Records whether the store is out of reach; whether that changed.
    pub fn set_down(&self, down: bool) -> bool {
        let changed = self.down.swap(down, Ordering::Relaxed) != down;
        if changed {
            if down {
                tracing::warn!(
                    "the shared store is out of reach; routing with the last configuration"
                );
            } else {
                tracing::info!("the shared store is reachable");
            }
        }
        changed
    }
}
