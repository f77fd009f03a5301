//! Routing: which provider, model and account serve a request, in what order, and what to do
//! when one fails. Pure decisions over a `Catalog` plus the live state kept in `RoutingState`
//! (cooldowns, sticky counters, combo rotation); the HTTP work is in `proxy`.

mod accounts;
mod affinity;
mod circuit;
mod classify;
mod cooldown;
mod outlook;
mod resolve;

pub use accounts::RoutingState;
pub use affinity::Affinity;
pub use circuit::{Admission, Change, CircuitChange, CircuitInfo, CircuitState, Circuits};
pub use classify::{Action, FailureClass, reset_hint, retry_info, window_in_message};
pub use cooldown::{ALL_MODELS, CooldownChange, CooldownInfo, Cooldowns, FailureNote};
pub use outlook::{Outlook, outlook};
pub use resolve::{ResolveError, Target, members, resolve};
