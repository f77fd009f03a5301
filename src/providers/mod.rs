//! What NineRouter can route to: the built-in provider table and user-defined nodes.

mod registry;

pub use registry::{
    AuthKind, FreeOffer, ProviderDef, QuotaApi, Tier, WireFormat, find, registry, wire_for,
};
