//! Logins in progress, as steps any front end can drive over `/api/oauth/{provider}/…`:
//! start (which gives the device code to show), then the status, polled until it is done,
//! failed or cancelled. Nothing is stored until a login succeeds; a failed or cancelled one
//! leaves nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::{Approval, AuthError, DeviceLogin, LoginProvider, StartOptions};
use crate::clock::{new_id, now_ms};
use crate::engine::Core;
use crate::manage::ManageError;

/// Finished logins are forgotten after this long.
const KEEP_FINISHED_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum LoginStatus {
    #[serde(rename_all = "camelCase")]
    Waiting {
        user_code: String,
        verification_uri: String,
        expires_at_ms: i64,
    },
    /// The user approves on `authorize_url`; the redirect comes back to a listener
    /// (`listening`), or the user pastes the code or address the browser shows.
    #[serde(rename_all = "camelCase")]
    AwaitingCode {
        authorize_url: String,
        expires_at_ms: i64,
        listening: bool,
        /// Whether the page may open in an embedded window (Google refuses those).
        webview: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
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
pub struct LoginStart {
    pub login_id: String,
    pub provider: String,
    #[serde(flatten)]
    pub step: LoginStep,
}

/// How the user approves a login.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LoginStep {
    /// Enter `user_code` at `verification_uri`; the engine polls.
    #[serde(rename_all = "camelCase")]
    Device {
        user_code: String,
        verification_uri: String,
        expires_in_secs: u64,
        interval_secs: u64,
    },
    /// Approve at `authorize_url`. With `listening`, the engine catches the redirect itself;
    /// either way the code (or the address the browser lands on) can be pasted (`…/complete`).
    /// `notice` says why the redirect cannot be caught, when it cannot.
    #[serde(rename_all = "camelCase")]
    Authorize {
        authorize_url: String,
        redirect_uri: String,
        expires_in_secs: u64,
        listening: bool,
        /// Whether the page may open in an embedded window that catches the redirect itself
        /// (the desktop app's login window); Google logins need the system browser.
        webview: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
}

/// An authorization-code login between its start and the code's return.
pub(super) struct Pending {
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

pub(super) enum Claim {
    Taken(Pending),
    WrongState,
    NotWaiting,
}

/// Compares in time independent of where the strings differ.
fn states_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
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
    pub(super) fn claim(&self, id: &str, state: &str) -> Claim {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(id) else {
            return Claim::NotWaiting;
        };
        let open = matches!(entry.status,
            LoginStatus::AwaitingCode { expires_at_ms, .. } if now_ms() <= expires_at_ms);
        match &entry.pending {
            Some(p) if open && states_match(&p.state, state) => {
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
    pub(super) fn finish(&self, id: &str, status: LoginStatus) {
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

    pub(super) fn insert(
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

    pub(super) fn attach(&self, id: &str, task: tokio::task::AbortHandle) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.task = Some(task);
        }
    }
}

/// Starts a login for `provider` (registry id or alias). With `replace`, the login renews that
/// account's credentials instead of adding an account.
/// What a login may be told at its start besides the provider.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginOptions {
    /// Renew this account's login instead of adding an account.
    pub account_id: Option<String>,
    /// Kiro with AWS IAM Identity Center: the organization's start URL and its region
    /// (AWS Builder ID when absent).
    pub start_url: Option<String>,
    pub region: Option<String>,
}

pub async fn start_login(
    core: &Arc<Core>,
    provider: &str,
    options: LoginOptions,
) -> Result<LoginStart, ManageError> {
    let LoginOptions {
        account_id: replace,
        start_url,
        region,
    } = options;
    let catalog = core.catalog();
    let id = catalog
        .provider_by_prefix(provider)
        .map(|p| p.id.clone())
        .ok_or_else(|| ManageError::NotFound(format!("no provider '{provider}'")))?;
    let Some(login) = core.proxy.tokens.login(&id).cloned() else {
        return Err(ManageError::Invalid {
            field: "provider".into(),
            message: format!("logging in to {id} is not supported yet"),
        });
    };
    if let Some(account) = &replace
        && catalog.account(account).is_none_or(|a| a.provider != id)
    {
        return Err(ManageError::NotFound(format!(
            "no {id} account '{account}'"
        )));
    }
    if !login.takes_start_url() && (start_url.is_some() || region.is_some()) {
        return Err(ManageError::Invalid {
            field: "startUrl".into(),
            message: "only Kiro logins take a start URL and region".into(),
        });
    }
    if matches!(login.approval(), Approval::AuthorizationCode { .. }) {
        return super::code_login::start(core, login, &id, replace).await;
    }
    let options = StartOptions {
        start_url: start_url.as_deref(),
        region: region.as_deref(),
    };
    let flow = login
        .device_login(&core.proxy.control, &options)
        .await
        .map_err(|e| match e {
            AuthError::Invalid(message) => ManageError::Invalid {
                field: "startUrl".into(),
                message,
            },
            e => ManageError::Upstream(e.to_string()),
        })?;
    let code = flow.code().clone();
    let verification = code
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| code.verification_uri.clone());
    let login_id = new_id();
    core.logins.insert(
        login_id.clone(),
        &id,
        LoginStatus::Waiting {
            user_code: code.user_code.clone(),
            verification_uri: verification.clone(),
            expires_at_ms: crate::clock::ms_after(
                now_ms(),
                i64::try_from(code.expires_in).unwrap_or(i64::MAX),
            ),
        },
        None,
    );
    let start = LoginStart {
        login_id: login_id.clone(),
        provider: id.clone(),
        step: LoginStep::Device {
            user_code: code.user_code.clone(),
            verification_uri: verification,
            expires_in_secs: code.expires_in,
            interval_secs: code.interval,
        },
    };
    let task = tokio::spawn({
        let core = core.clone();
        let login_id = login_id.clone();
        async move {
            let status = match complete(&core, flow.as_ref(), &id, replace.as_deref()).await {
                Ok((account_id, name)) => {
                    tracing::info!(provider = %id, account = %name, "login completed");
                    LoginStatus::Done { account_id, name }
                }
                Err(message) => {
                    tracing::info!(provider = %id, "login failed: {message}");
                    LoginStatus::Failed { message }
                }
            };
            core.logins.finish(&login_id, status);
        }
    });
    core.logins.attach(&login_id, task.abort_handle());
    Ok(start)
}

/// Waits for approval and stores the account.
async fn complete(
    core: &Core,
    flow: &dyn DeviceLogin,
    provider: &str,
    replace: Option<&str>,
) -> Result<(String, String), String> {
    let (user, secret) = flow
        .finish(&core.proxy.control)
        .await
        .map_err(|e| e.to_string())?;
    crate::manage::save_login(core, provider, &user, secret, replace)
        .await
        .map_err(|e| e.to_string())
}
