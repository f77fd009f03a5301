//! HTTP clients that go out through an account's own proxy. One pair per proxy URL (for
//! clients' requests and for the router's own calls), built on first use and kept: a client
//! holds its connection pool, which is the point of keeping it.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Failure, ProxyContext};
use crate::catalog::Account;
use crate::routing::FailureClass;

#[derive(Default)]
pub struct ViaProxy {
    clients: Mutex<HashMap<String, (reqwest::Client, reqwest::Client)>>,
}

/// Which of the pair.
#[derive(Clone, Copy)]
pub enum Purpose {
    /// Clients' requests (`ProxyContext::http`).
    Requests,
    /// The router's own calls (`ProxyContext::control`).
    Control,
}

impl ViaProxy {
    fn get(&self, url: &str, purpose: Purpose) -> Result<reqwest::Client, String> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if !clients.contains_key(url) {
            // The error of a bad URL would quote it, password included: say it in our words.
            let proxy = reqwest::Proxy::all(url)
                .map_err(|_| "the account's proxy URL is not valid".to_owned())?;
            let build = |b: reqwest::ClientBuilder| {
                b.proxy(proxy.clone())
                    .build()
                    .map_err(|_| "the account's proxy cannot be used".to_owned())
            };
            let pair = (
                build(ProxyContext::client_builder())?,
                build(ProxyContext::client_builder().timeout(super::CONTROL_TIMEOUT))?,
            );
            clients.insert(url.to_owned(), pair);
        }
        let (requests, control) = clients
            .get(url)
            .ok_or_else(|| "the account's proxy cannot be used".to_owned())?;
        Ok(match purpose {
            Purpose::Requests => requests.clone(),
            Purpose::Control => control.clone(),
        })
    }
}

/// What sends a client's request: hyper's client directly, or reqwest (through a proxy).
pub enum Sender<'a> {
    Direct(&'a super::Direct),
    Reqwest(reqwest::Client),
}

impl ProxyContext {
    /// What sends clients' requests for `account`: the direct client when neither the account
    /// nor the environment names a proxy.
    pub fn sender_for(&self, account: &Account) -> Result<Sender<'_>, Failure> {
        match (&self.direct, &account.proxy) {
            (Some(direct), None) => Ok(Sender::Direct(direct)),
            _ => self
                .client_for(account, Purpose::Requests)
                .map(Sender::Reqwest),
        }
    }

    /// The client `account`'s calls of `purpose` go through: its own proxy's, else the
    /// shared one (which follows `HTTP(S)_PROXY`/`NO_PROXY`).
    pub fn client_for(
        &self,
        account: &Account,
        purpose: Purpose,
    ) -> Result<reqwest::Client, Failure> {
        match &account.proxy {
            None => Ok(match purpose {
                Purpose::Requests => self.http.clone(),
                Purpose::Control => self.control.clone(),
            }),
            Some(url) => self
                .via
                .get(url.expose(), purpose)
                .map_err(|why| Failure::new(FailureClass::Network, why)),
        }
    }
}
