//! Logins in progress, as steps any front end can drive over `/api/oauth/{provider}/…`:
//! start (which gives the device code to show), then the status, polled until it is done,
//! failed or cancelled. Nothing is stored until a login succeeds; a failed or cancelled one
//! leaves nothing behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::{AuthError, copilot, device};
use crate::engine::Core;
use crate::manage::ManageError;
use crate::secrets::SecretString;
use crate::store::{new_id, now_ms};

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

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStart {
    pub login_id: String,
    pub provider: String,
    /// How the user approves: `device` (enter `userCode` at `verificationUri`).
    pub kind: &'static str,
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in_secs: u64,
    pub interval_secs: u64,
}

struct Entry {
    provider: String,
    status: LoginStatus,
    task: Option<tokio::task::AbortHandle>,
    updated_ms: i64,
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
        self.lock()
            .get(id)
            .map(|e| (e.provider.clone(), e.status.clone()))
    }

    /// Stops a login that is still waiting; `false` if there is no such login.
    pub fn cancel(&self, id: &str) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(id) else {
            return false;
        };
        if matches!(entry.status, LoginStatus::Waiting { .. }) {
            if let Some(task) = entry.task.take() {
                task.abort();
            }
            entry.status = LoginStatus::Cancelled;
            entry.updated_ms = now_ms();
        }
        true
    }

    fn finish(&self, id: &str, status: LoginStatus) {
        if let Some(entry) = self.lock().get_mut(id)
            && matches!(entry.status, LoginStatus::Waiting { .. })
        {
            entry.status = status;
            entry.task = None;
            entry.updated_ms = now_ms();
        }
    }

    fn insert(&self, id: String, provider: &str, status: LoginStatus) {
        let now = now_ms();
        let mut entries = self.lock();
        entries.retain(|_, e| {
            matches!(e.status, LoginStatus::Waiting { .. }) || now - e.updated_ms < KEEP_FINISHED_MS
        });
        entries.insert(
            id,
            Entry {
                provider: provider.to_owned(),
                status,
                task: None,
                updated_ms: now,
            },
        );
    }

    fn attach(&self, id: &str, task: tokio::task::AbortHandle) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.task = Some(task);
        }
    }
}

/// Starts a login for `provider` (registry id or alias). With `replace`, the login renews that
/// account's credentials instead of adding an account.
pub async fn start_login(
    core: &Arc<Core>,
    provider: &str,
    replace: Option<String>,
) -> Result<LoginStart, ManageError> {
    let catalog = core.catalog();
    let id = catalog
        .provider_by_prefix(provider)
        .map(|p| p.id.clone())
        .ok_or_else(|| ManageError::NotFound(format!("no provider '{provider}'")))?;
    if !super::supports_login(&id) {
        return Err(ManageError::Invalid {
            field: "provider".into(),
            message: format!("logging in to {id} is not supported yet"),
        });
    }
    if let Some(account) = &replace
        && catalog.account(account).is_none_or(|a| a.provider != id)
    {
        return Err(ManageError::NotFound(format!(
            "no {id} account '{account}'"
        )));
    }
    let servers = core.proxy.tokens.copilot_servers().clone();
    let code = device::request_code(
        &core.proxy.http,
        &servers.device_code_url(),
        copilot::CLIENT_ID,
        copilot::DEVICE_SCOPE,
    )
    .await
    .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let login_id = new_id();
    core.logins.insert(
        login_id.clone(),
        &id,
        LoginStatus::Waiting {
            user_code: code.user_code.clone(),
            verification_uri: code.verification_uri.clone(),
            expires_at_ms: now_ms() + i64::try_from(code.expires_in).unwrap_or(0) * 1000,
        },
    );
    let start = LoginStart {
        login_id: login_id.clone(),
        provider: id.clone(),
        kind: "device",
        user_code: code.user_code.clone(),
        verification_uri: code.verification_uri.clone(),
        expires_in_secs: code.expires_in,
        interval_secs: code.interval,
    };
    let task = tokio::spawn({
        let core = core.clone();
        let login_id = login_id.clone();
        async move {
            let status = match complete(&core, &servers, &code, &id, replace.as_deref()).await {
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

/// Waits for approval, proves the subscription by minting a token, and stores the account.
async fn complete(
    core: &Core,
    servers: &copilot::Servers,
    code: &device::DeviceCode,
    provider: &str,
    replace: Option<&str>,
) -> Result<(String, String), String> {
    let http = &core.proxy.http;
    let token = device::poll(
        http,
        &servers.token_url(),
        copilot::CLIENT_ID,
        code,
        Duration::from_millis(200),
    )
    .await
    .map_err(|e| e.to_string())?;
    let github = token
        .get("access_token")
        .and_then(|v| v.as_str())
        .ok_or_else(|| AuthError::Malformed("no access_token".into()).to_string())?
        .to_owned();
    copilot::mint(http, servers, &github)
        .await
        .map_err(|e| e.to_string())?;
    let user = copilot::user_login(http, servers, &github)
        .await
        .unwrap_or_default();
    crate::manage::save_login(core, provider, &user, SecretString::new(github), replace)
        .await
        .map_err(|e| e.to_string())
}
