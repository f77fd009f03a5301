//! NineRouter's engine: a local AI API router. Everything that is not desktop UI lives here;
//! the headless binary and the desktop shell are thin users of [`engine::Engine`].

pub mod admin;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod engine;
pub mod events;
pub mod format;
pub mod inspector;
#[cfg(test)]
mod layers;
pub mod logging;
pub mod manage;
pub mod net;
pub mod providers;
pub mod proxy;
pub mod quota;
pub mod routing;
pub mod secrets;
pub mod server;
pub mod setup;
pub mod state;
pub mod store;
pub mod usage;
