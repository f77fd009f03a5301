//! The engine's shared state: the catalog in force, the stores, the proxy's context, the
//! recording queues, logins in progress and admin sessions (`Core`), and the snapshot the
//! tray and the status API read. The engine (`engine/`) builds it, starts the server and the
//! background jobs around it, and stops them; everything that serves requests takes `&Core`.

mod core;
mod health;
mod snapshot;

pub use self::core::{ACTIVE_COMBO_ALIAS, Core, CoreError, CoreParts, Listen, Places, file_key_id};
pub use health::{ModelHealth, ModelHealthBook};
pub use snapshot::{
    AccountState, AccountStatus, ComboState, ProviderState, Snapshot, account_state,
    secret_backend_text,
};
