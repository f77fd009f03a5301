//! Logins in progress, as steps any front end can drive over `/api/oauth/{provider}/…`:
//! start (which gives the device code to show), then the status, polled until it is done,
//! failed or cancelled. Nothing is stored until a login succeeds; a failed or cancelled one
//! leaves nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::LoginProvider;
use crate::clock::now_ms;

/// Finished logins are forgotten after this long.
const KEEP_FINISHED_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum LoginStatus {
    #[serde(rename_all = "camelCase")]
    Waiting {
        user_code: String,
        verification_uri: String,
        #[cfg_attr(test, ts(type = "number"))]
        expires_at_ms: i64,
    },
    /// The user approves on `authorize_url`; the redirect comes back to a listener
    /// (`listening`), or the user pastes the code or address the browser shows.
    #[serde(rename_all = "camelCase")]
    AwaitingCode {
        authorize_url: String,
        #[cfg_attr(test, ts(type = "number"))]
        expires_at_ms: i64,
        listening: bool,
        /// Whether the page may open in an embedded window (Google refuses those).
        webview: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        notice: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Done {
        account_id: String,
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    Failed {
        message: String,
    },
    Cancelled,
}

impl LoginStatus {
    fn is_open(&self) -> bool {
        matches!(self, Self::Waiting { .. } | Self::AwaitingCode { .. })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LoginStart {
    pub login_id: String,
    pub provider: String,
    #[serde(flatten)]
    pub step: LoginStep,
}

/// How the user approves a login.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum LoginStep {
    /// Enter `user_code` at `verification_uri`; the engine polls.
    #[serde(rename_all = "camelCase")]
    Device {
        user_code: String,
        verification_uri: String,
        #[cfg_attr(test, ts(type = "number"))]
        expires_in_secs: u64,
        #[cfg_attr(test, ts(type = "number"))]
        interval_secs: u64,
    },
    /// Approve at `authorize_url`. With `listening`, the engine catches the redirect itself;
    /// either way the code (or the address the browser lands on) can be pasted (`…/complete`).
    /// `notice` says why the redirect cannot be caught, when it cannot.
    #[serde(rename_all = "camelCase")]
    Authorize {
        authorize_url: String,
        redirect_uri: String,
        #[cfg_attr(test, ts(type = "number"))]
        expires_in_secs: u64,
        listening: bool,
        /// Whether the page may open in an embedded window that catches the redirect itself
        /// (the desktop app's login window); Google logins need the system browser.
        webview: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        notice: Option<String>,
    },
}

/// An authorization-code login between its start and the code's return.
pub struct Pending {
    pub login: Arc<dyn LoginProvider>,
    pub verifier: String,
    pub state: String,
    pub redirect_uri: String,
    pub replace: Option<String>,
}

struct Entry {
    provider: String,
    status: LoginStatus,
    task: Option<tokio::task::AbortHandle>,
    pending: Option<Pending>,
    updated_ms: i64,
}

pub enum Claim {
    Taken(Pending),
    WrongState,
    NotWaiting,
}

#[derive(Default)]
pub struct Logins {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Logins {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The login's provider and status.
    pub fn get(&self, id: &str) -> Option<(String, LoginStatus)> {
        let mut entries = self.lock();
        let entry = entries.get_mut(id)?;
        if let LoginStatus::AwaitingCode { expires_at_ms, .. } = entry.status
            && now_ms() > expires_at_ms
        {
            entry.status = LoginStatus::Failed {
                message: "the login expired before its code was pasted; start again".into(),
            };
            entry.pending = None;
        }
        Some((entry.provider.clone(), entry.status.clone()))
    }

    /// Takes the PKCE verifier, state and target account of an open authorization-code login,
    /// for the holder of its `state` only: a forged callback or paste with another state
    /// leaves the login waiting for the real one.
    pub fn claim(&self, id: &str, state: &str) -> Claim {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(id) else {
            return Claim::NotWaiting;
        };
        let open = matches!(entry.status,
            LoginStatus::AwaitingCode { expires_at_ms, .. } if now_ms() <= expires_at_ms);
        match &entry.pending {
            Some(p) if open && crate::secrets::same_token(&p.state, state) => {
                entry.pending.take().map_or(Claim::NotWaiting, Claim::Taken)
            }
            Some(_) if open => Claim::WrongState,
            _ => Claim::NotWaiting,
        }
    }

    /// Stops a login that is still waiting; `false` if there is no such login.
    pub fn cancel(&self, id: &str) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(id) else {
            return false;
        };
        if entry.status.is_open() {
            if let Some(task) = entry.task.take() {
                task.abort();
            }
            entry.pending = None;
            entry.status = LoginStatus::Cancelled;
            entry.updated_ms = now_ms();
        }
        true
    }

    /// Ends an open login; its task (polling, or the redirect listener) is stopped.
    pub fn finish(&self, id: &str, status: LoginStatus) {
        if let Some(entry) = self.lock().get_mut(id)
            && entry.status.is_open()
        {
            entry.status = status;
            if let Some(task) = entry.task.take() {
                task.abort();
            }
            entry.pending = None;
            entry.updated_ms = now_ms();
        }
    }

    pub fn insert(
        &self,
        id: String,
        provider: &str,
        status: LoginStatus,
        pending: Option<Pending>,
    ) {
        let now = now_ms();
        let mut entries = self.lock();
        entries.retain(|_, e| e.status.is_open() || now - e.updated_ms < KEEP_FINISHED_MS);
        entries.insert(
            id,
            Entry {
                provider: provider.to_owned(),
                status,
                task: None,
                pending,
                updated_ms: now,
            },
        );
    }

    pub fn attach(&self, id: &str, task: tokio::task::AbortHandle) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.task = Some(task);
        }
    }
}
