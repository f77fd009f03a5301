//! Authorization-code logins, for any provider whose login is one: PKCE and `state`, the page
//! the user approves on, and the code's way back — a redirect caught by a loopback listener where the provider
//! redirects to localhost, or pasted by the user (always possible, and the only way for
//! Claude, whose redirect is a page of Anthropic's that shows the code).

use std::sync::Arc;

use crate::auth::loopback::{self, Callback};
use crate::auth::pkce::Pkce;
use crate::auth::tokens::TokenSet;
use crate::auth::{
    Approval, AuthError, Claim, CodeGrant, LoginProvider, LoginStart, LoginStatus, LoginStep,
    Pending, Redirect,
};
use crate::clock::{new_id, now_ms};
use crate::manage::ManageError;
use crate::state::Core;

/// How long the user has to approve and the code to come back.
const AUTHORIZE_WINDOW_MS: i64 = 10 * 60_000;

async fn exchange(
    core: &Core,
    pending: &Pending,
    code: &str,
    state: &str,
) -> Result<TokenSet, AuthError> {
    let grant = CodeGrant {
        code,
        state,
        verifier: &pending.verifier,
        redirect_uri: &pending.redirect_uri,
        now_ms: now_ms(),
    };
    pending.login.exchange(&core.proxy.control, &grant).await
}

/// Starts the login: the page to approve on, and (for loopback providers) a listener for the
/// redirect that lives as long as the login is open.
pub async fn start(
    core: &Arc<Core>,
    login: Arc<dyn LoginProvider>,
    provider: &str,
    replace: Option<String>,
    method: Option<&str>,
) -> Result<LoginStart, ManageError> {
    let Approval::AuthorizationCode { redirect, webview } = login.approval(method) else {
        return Err(ManageError::Invalid {
            field: "provider".into(),
            message: format!("{provider} has no authorization-code login"),
        });
    };
    let pkce = Pkce::new();
    let state = new_id() + &new_id();
    let login_id = new_id();
    let (redirect_uri, listener, notice) = match redirect {
        Redirect::Hosted(uri) => (uri.to_owned(), None, None),
        Redirect::Loopback { host, ports, path } => match loopback::bind(&ports).await {
            Ok((listener, port)) => (
                format!("http://{host}:{port}{path}"),
                Some((listener, path)),
                None,
            ),
            Err(busy) => {
                let first = ports.first().copied().unwrap_or_default();
                let notice = format!(
                    "NineRouter cannot catch the redirect: {busy}. Close that program and start \
                     again, or approve anyway and paste the address the browser then shows \
                     (it starts with http://{host}:{first}{path})."
                );
                (format!("http://{host}:{first}{path}"), None, Some(notice))
            }
        },
    };
    let authorize_url = login.authorize_url(&pkce, &state, &redirect_uri, method);
    let listening = listener.is_some();
    core.logins.insert(
        login_id.clone(),
        provider,
        LoginStatus::AwaitingCode {
            authorize_url: authorize_url.clone(),
            expires_at_ms: now_ms() + AUTHORIZE_WINDOW_MS,
            listening,
            webview,
            notice: notice.clone(),
        },
        Some(Pending {
            login,
            verifier: pkce.verifier,
            state,
            redirect_uri: redirect_uri.clone(),
            replace,
        }),
    );
    if let Some((listener, path)) = listener {
        let on_callback = {
            let (core, login_id) = (core.clone(), login_id.clone());
            move |callback: Callback| {
                let (core, login_id) = (core.clone(), login_id.clone());
                async move { caught(&core, &login_id, callback).await }
            }
        };
        let window = std::time::Duration::from_millis(AUTHORIZE_WINDOW_MS.unsigned_abs());
        let task = tokio::spawn(async move {
            // The port is given back when the login ends or its window closes.
            let _ =
                tokio::time::timeout(window, loopback::serve(listener, path, on_callback)).await;
        });
        core.logins.attach(&login_id, task.abort_handle());
    }
    Ok(LoginStart {
        login_id,
        provider: provider.to_owned(),
        step: LoginStep::Authorize {
            authorize_url,
            redirect_uri,
            expires_in_secs: u64::try_from(AUTHORIZE_WINDOW_MS / 1000).unwrap_or(600),
            listening,
            webview,
            notice,
        },
    })
}

/// A redirect the listener caught: a denial ends the login; a code finishes it.
async fn caught(core: &Core, login_id: &str, callback: Callback) -> loopback::Outcome {
    if let Some(error) = callback.error {
        let message = match error.as_str() {
            "access_denied" => "the login was denied at the provider; start again".to_owned(),
            _ => format!(
                "the provider ended the login: {}",
                callback.error_description.unwrap_or(error)
            ),
        };
        // Only the login's own redirect (with its state) may end it.
        let state = callback.state.as_deref().unwrap_or_default();
        if matches!(core.logins.claim(login_id, state), Claim::Taken(_)) {
            core.logins.finish(
                login_id,
                LoginStatus::Failed {
                    message: message.clone(),
                },
            );
        }
        return Err(message);
    }
    let (Some(code), Some(state)) = (callback.code, callback.state) else {
        return Err("the redirect carried no code and state".into());
    };
    match finish(core, login_id, &code, &state).await {
        Ok(LoginStatus::Done { name, .. }) => Ok(format!("NineRouter added the account {name}.")),
        Ok(LoginStatus::Failed { message }) => Err(message),
        Ok(_) => Err("the login did not finish".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Finishes a login with what the user pasted: `code#state` as Claude's page shows it, or the
/// address the browser landed on (the redirect, with `code` and `state` in its query).
pub async fn complete_login(
    core: &Core,
    login_id: &str,
    pasted: &str,
) -> Result<LoginStatus, ManageError> {
    let Some((code, state)) = parse_pasted(pasted) else {
        return Err(invalid(
            "paste the code shown after approving (it looks like code#state) or the address the browser landed on",
        ));
    };
    finish(core, login_id, &code, &state).await
}

fn invalid(message: &str) -> ManageError {
    ManageError::Invalid {
        field: "code".into(),
        message: message.into(),
    }
}

/// What the user pasted: `code#state`, or an address with `code` and `state` in its query.
pub fn parse_pasted(input: &str) -> Option<(String, String)> {
    let input = input.trim();
    if let Ok(url) = url::Url::parse(input) {
        let get = |k: &str| crate::auth::query_param(&url, k);
        return Some((get("code")?, get("state")?));
    }
    let (code, state) = input.split_once('#')?;
    (!code.is_empty() && !state.is_empty()).then(|| (code.to_owned(), state.to_owned()))
}

/// Checks the state, exchanges the code and stores the account (once: the first of the
/// listener and a paste to arrive takes the login).
async fn finish(
    core: &Core,
    login_id: &str,
    code: &str,
    state: &str,
) -> Result<LoginStatus, ManageError> {
    let pending = match core.logins.claim(login_id, state) {
        Claim::Taken(p) => p,
        Claim::WrongState => {
            tracing::warn!(login = %login_id, "refused a code for another login (state mismatch)");
            return Err(invalid(
                "the code belongs to another login (state mismatch); this login still waits for its own",
            ));
        }
        Claim::NotWaiting => {
            return Err(invalid(
                "this login is not waiting for a code (it finished, expired or was cancelled); start again",
            ));
        }
    };
    let failed = |message: String| {
        core.logins.finish(
            login_id,
            LoginStatus::Failed {
                message: message.clone(),
            },
        );
        message
    };
    let set = exchange(core, &pending, code, state)
        .await
        .map_err(|e| ManageError::Upstream(failed(e.to_string())))?;
    let user = set.email.clone().unwrap_or_default();
    let secret = set
        .to_secret()
        .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let provider = core
        .logins
        .get(login_id)
        .map(|(p, _)| p)
        .unwrap_or_default();
    let status =
        match crate::manage::save_login(core, &provider, &user, secret, pending.replace.as_deref())
            .await
        {
            Ok((account_id, name)) => {
                tracing::info!(provider, account = %name, "login completed");
                LoginStatus::Done { account_id, name }
            }
            Err(e) => LoginStatus::Failed {
                message: e.to_string(),
            },
        };
    core.logins.finish(login_id, status.clone());
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_codes_and_callback_urls_both_work() {
        assert_eq!(
            parse_pasted(" abc#st-1 \n"),
            Some(("abc".into(), "st-1".into()))
        );
        assert_eq!(
            parse_pasted("https://console.anthropic.com/oauth/code/callback?code=abc&state=st-1"),
            Some(("abc".into(), "st-1".into()))
        );
        assert_eq!(
            parse_pasted("http://localhost:1455/auth/callback?code=c&scope=x&state=s"),
            Some(("c".into(), "s".into()))
        );
        assert_eq!(parse_pasted("abc"), None);
        assert_eq!(parse_pasted("#st"), None);
    }
}
