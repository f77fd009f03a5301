//! The engine's integration tests in one binary: the real server on loopback against fake
//! upstreams (`support/`), linked once instead of once per file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod affinity;
mod circuit;
mod cli;
mod context_windows;
mod cursor;
mod dashboard;
mod inspector;
mod key_limits;
mod link_order;
mod management;
mod models_view;
mod move_in;
mod oauth;
mod outbound_proxy;
mod prompt_cache;
mod quota;
mod routing;
mod sdk_clients;
mod secret_backends;
mod security;
mod team;
mod tools;
mod translation;
mod usage;
