//! Logins in a window of the app's own: the provider's approval page opens in a webview, and
//! when it sends the browser on to the login's redirect URI, the navigation is stopped and
//! the tray's engine finishes the login with that address — no local port, nothing to paste.
//! (Google refuses embedded webviews; the dashboard opens those logins in the system browser.)

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

use crate::window::tell_tray;
use crate::window_link::FromWindow;

/// The window's label for a login.
fn label(login_id: &str) -> String {
    let safe: String = login_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("login-{safe}")
}

/// Only provider pages: https, or loopback (a login server on this machine).
fn allowed(url: &tauri::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    }
}

/// Whether a navigation is the login coming back (same scheme, host, port and path as the
/// redirect URI).
fn is_redirect(url: &tauri::Url, redirect: &tauri::Url) -> bool {
    url.scheme() == redirect.scheme()
        && url.host_str() == redirect.host_str()
        && url.port_or_known_default() == redirect.port_or_known_default()
        && url.path() == redirect.path()
}

#[tauri::command]
pub async fn open_login(
    app: AppHandle,
    provider: String,
    login_id: String,
    authorize_url: String,
    redirect_uri: String,
) -> Result<(), String> {
    let page = tauri::Url::parse(&authorize_url).map_err(|e| format!("authorizeUrl: {e}"))?;
    let redirect = tauri::Url::parse(&redirect_uri).map_err(|e| format!("redirectUri: {e}"))?;
    if !allowed(&page) {
        return Err("only https pages open in a login window".into());
    }
    let label = label(&login_id);
    if let Some(window) = app.get_webview_window(&label) {
        return window.set_focus().map_err(|e| e.to_string());
    }
    let handle = app.clone();
    let window_label = label.clone();
    WebviewWindowBuilder::new(&app, &label, WebviewUrl::External(page))
        .title(format!("Log in to {provider}"))
        .inner_size(520.0, 720.0)
        .on_navigation(move |url| {
            if !is_redirect(url, &redirect) {
                return true;
            }
            tell_tray(&FromWindow::LoginLanded {
                login_id: login_id.clone(),
                landed: url.to_string(),
            });
            // Closed off the navigation callback, as the previous page's own close would be.
            let (app, label) = (handle.clone(), window_label.clone());
            tauri::async_runtime::spawn(async move {
                if let Some(window) = app.get_webview_window(&label) {
                    let _ = window.close();
                }
            });
            false
        })
        .build()
        .map_err(|e| e.to_string())?;
    tracing::info!(window = %label, "login window opened");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> tauri::Url {
        tauri::Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_redirect_itself_is_caught() {
        let redirect = url("https://console.anthropic.com/oauth/code/callback");
        assert!(is_redirect(
            &url("https://console.anthropic.com/oauth/code/callback?code=c&state=s"),
            &redirect
        ));
        assert!(!is_redirect(
            &url("https://console.anthropic.com/login"),
            &redirect
        ));
        let local = url("http://localhost:1455/auth/callback");
        assert!(is_redirect(
            &url("http://localhost:1455/auth/callback?code=c"),
            &local
        ));
        assert!(!is_redirect(
            &url("http://localhost:1456/auth/callback?code=c"),
            &local
        ));
    }

    #[test]
    fn login_windows_open_provider_pages_only() {
        assert!(allowed(&url("https://claude.ai/oauth/authorize")));
        assert!(allowed(&url("http://127.0.0.1:9/oauth/authorize")));
        assert!(!allowed(&url("http://example.com/")));
        assert!(!allowed(&url("file:///etc/passwd")));
        assert_eq!(label("a-b_c1"), "login-abc1");
    }
}
