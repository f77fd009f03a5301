//! The commands that act on a running router through its management API (the router owns
//! the database, the secret store and the catalog, so they change through it, never beside
//! it): `tools`, and moving a setup in and out.

mod remote;
mod setup;
mod tools;

pub use remote::RouterArgs;
pub use setup::{export, import_peer, import_setup};
pub use tools::{ToolsCommand, run as tools};
