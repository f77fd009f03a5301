//! Logging in to subscription providers, as use-cases of the engine: starting a login (a
//! device code, or an authorization code through `code_login`), storing the account it
//! yields, and keeping saved logins fresh in the background.

use std::sync::Arc;

use crate::auth::{
    Approval, AuthError, DeviceLogin, LoginStart, LoginStatus, LoginStep, StartOptions,
};
use crate::clock::{new_id, now_ms};
use crate::manage::ManageError;
use crate::state::Core;

/// Keeps the refresh-token logins of enabled accounts fresh: those due within `every` (the
/// next round) are renewed now. A refused one puts its account in the needs-login state.
pub async fn upkeep(core: &Core, every: std::time::Duration) {
    let catalog = core.catalog();
    let ahead = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    for account in catalog
        .accounts()
        .iter()
        // A secret that cannot be read now (a keychain waited for) is no refused login.
        .filter(|a| a.enabled && a.credential.usable() && core.proxy.tokens.refreshes(*a))
    {
        let now = crate::clock::now_ms();
        let http = match core
            .proxy
            .client_for(account, crate::proxy::Purpose::Control)
        {
            Ok(http) => http,
            Err(f) => {
                tracing::warn!(account = %account.name, "cannot renew the login: {}", f.message);
                continue;
            }
        };
        match core
            .proxy
            .tokens
            .keep_fresh(&http, account, now, ahead)
            .await
        {
            Ok(()) => {}
            Err(e) if e.needs_login().is_some() => {
                let reason = e.needs_login().unwrap_or_default();
                tracing::info!(account = %account.name, "{reason}");
                core.proxy.routing.cooldowns.record_failure(
                    &account.id,
                    crate::routing::ALL_MODELS,
                    &crate::routing::FailureNote {
                        class: crate::routing::FailureClass::LoginRefused,
                        hint: Some(crate::auth::NEEDS_LOGIN_COOLDOWN),
                        reason: &reason,
                    },
                    &catalog.settings.routing,
                    now,
                );
            }
            Err(e) => tracing::info!(account = %account.name, "cannot renew the login now: {e}"),
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
    /// One of the provider's login methods (Kiro: `builder-id`, `google`, `github`).
    pub method: Option<String>,
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
        method,
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
    if let Some(method) = &method
        && !login.methods().iter().any(|m| m.id == method)
    {
        let offered: Vec<&str> = login.methods().iter().map(|m| m.id).collect();
        return Err(ManageError::Invalid {
            field: "method".into(),
            message: match offered.is_empty() {
                true => format!("{id} has one way to log in; leave the method out"),
                false => format!("{id} logs in by {}", offered.join(", ")),
            },
        });
    }
    let method = method.as_deref();
    if matches!(login.approval(method), Approval::AuthorizationCode { .. }) {
        return super::code_login::start(core, login, &id, replace, method).await;
    }
    let options = StartOptions {
        method,
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
