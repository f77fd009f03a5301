//! The dashboard window: created the first time it is asked for (not at start), showing the
//! engine's own dashboard over loopback; destroyed when closed (a closed dashboard costs
//! nothing), with its size and position kept by the window-state plugin.

use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, Window, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::router::Status;
use crate::shell::Shell;

pub const LABEL: &str = "dashboard";

/// Size, position and maximized state are kept; visibility is not (the window is saved hidden
/// when the app quits from the tray, and must not come back invisible).
pub const KEPT_STATE: StateFlags = StateFlags::all().difference(StateFlags::VISIBLE);

pub fn open(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::warn!("cannot bring the dashboard forward: {e}");
        }
        return;
    }
    if let Err(e) = create(app) {
        tracing::error!("cannot open the dashboard window: {e}");
    }
}

/// The bundled page for a router that is not running: starting, or stopped with a reason.
pub fn offline_page(status: &Status) -> &'static str {
    match status {
        Status::Starting => "starting.html",
        _ => "index.html",
    }
}

/// Whether a window showing `current` must move to show `status`: the dashboard of another
/// origin, or the bundled page of another state.
pub fn must_move(current: &tauri::Url, status: &Status, target: &WebviewUrl) -> bool {
    match target {
        WebviewUrl::External(url) => current.origin() != url.origin(),
        _ => !current.path().ends_with(offline_page(status)),
    }
}

/// The dashboard, entered through a one-time ticket the engine trades for a session: the
/// window is logged in without typing, whatever password the router has.
fn dashboard_url(app: &AppHandle) -> WebviewUrl {
    let router = &app.state::<Shell>().router;
    let status = router.status();
    let entry = router.core().and_then(|core| {
        let ticket = ninerouter::manage::admin::desktop_ticket(&core);
        format!(
            "http://{}/api/auth/desktop?ticket={ticket}",
            core.listen.addr
        )
        .parse()
        .ok()
    });
    match entry {
        Some(url) => {
            grant_desktop_commands(app, &url);
            WebviewUrl::External(url)
        }
        // The bundled page that says the router is starting, or not running and where to look.
        None => WebviewUrl::App(offline_page(&status).into()),
    }
}

/// The desktop commands the dashboard may call (start at login, opening https pages in the
/// system browser, login windows), granted to the engine's own origin only: another local
/// port is not the dashboard. Granted once per origin (a router restarted on another port
/// gets its own); Tauri cannot take a runtime capability back.
fn grant_desktop_commands(app: &AppHandle, url: &tauri::Url) {
    static GRANTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let origin = url.origin().ascii_serialization();
    let mut granted = GRANTED.lock().unwrap_or_else(|p| p.into_inner());
    if granted.contains(&origin) {
        return;
    }
    let capability = CapabilityBuilder::new(format!("dashboard-engine-{}", granted.len()))
        .remote(format!("{origin}/*"))
        .window(LABEL)
        .permission("autostart:allow-enable")
        .permission("autostart:allow-disable")
        .permission("autostart:allow-is-enabled")
        .permission_scoped(
            "opener:allow-open-url",
            vec![serde_json::json!({ "url": "https://*" })],
            Vec::<serde_json::Value>::new(),
        )
        .permission("allow-open-login");
    match app.add_capability(capability) {
        Ok(()) => granted.push(origin),
        Err(e) => tracing::error!("cannot grant the dashboard its desktop commands: {e}"),
    }
}

/// The window stays on the engine's own origin (and the bundled page); anything else a page
/// tries to open in it is refused (provider pages open in the system browser).
fn stays_home(app: &AppHandle, url: &tauri::Url) -> bool {
    let own = app
        .state::<Shell>()
        .router
        .endpoint()
        .and_then(|e| tauri::Url::parse(&e).ok());
    let home = own.is_some_and(|o| o.origin() == url.origin());
    home || matches!(url.scheme(), "tauri" | "about") || url.host_str() == Some("tauri.localhost")
}

fn create(app: &AppHandle) -> tauri::Result<()> {
    let handle = app.clone();
    WebviewWindowBuilder::new(app, LABEL, dashboard_url(app))
        .on_navigation(move |url| {
            let allowed = stays_home(&handle, url);
            if !allowed {
                tracing::warn!(%url, "the dashboard window refused to leave the router");
            }
            allowed
        })
        .title("NineRouter")
        .inner_size(1200.0, 800.0)
        .min_inner_size(800.0, 560.0)
        .build()?;
    tracing::info!("dashboard window opened");
    Ok(())
}

/// An open window follows the router: from "starting" to the dashboard once it listens,
/// to another port after a restart, to "not running" when it stops.
pub fn follow_router(app: &AppHandle) {
    let Some(window) = app.get_webview_window(LABEL) else {
        return;
    };
    let Ok(current) = window.url() else {
        return;
    };
    let status = app.state::<Shell>().router.status();
    let target = match &status {
        // Only a move to the dashboard needs a ticket: do not spend one otherwise.
        Status::Running(_) => dashboard_url(app),
        other => WebviewUrl::App(offline_page(other).into()),
    };
    if !must_move(&current, &status, &target) {
        return;
    }
    let url = match target {
        WebviewUrl::External(url) => Some(url),
        WebviewUrl::App(page) => current.join(&format!("/{}", page.display())).ok(),
        _ => None,
    };
    if let Some(url) = url
        && let Err(e) = window.navigate(url)
    {
        tracing::warn!("cannot point the dashboard at the router: {e}");
    }
}

/// Closing destroys the window and its webview, so that a closed dashboard costs no memory
/// and no CPU (WebKit's processes end with it); the app lives on in the tray, and the next
/// Open Dashboard makes a new one. Without a tray host there is no other way back in, so
/// closing quits.
pub fn on_event(window: &Window, event: &WindowEvent) {
    if window.label() != LABEL {
        return;
    }
    if let WindowEvent::CloseRequested { api, .. } = event {
        let app = window.app_handle();
        if let Err(e) = app.save_window_state(KEPT_STATE) {
            tracing::warn!("cannot save the window's size and position: {e}");
        }
        if !app.state::<Shell>().tray_host {
            api.prevent_close();
            crate::shell::quit(app.clone());
        } else {
            tracing::info!("dashboard window closed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> tauri::Url {
        tauri::Url::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_window_moves_with_the_router_and_stays_when_it_already_shows_the_right_page() {
        let starting = Status::Starting;
        let taken = Status::PortTaken {
            port: 20128,
            free: Some(20129),
        };
        let page = |s: &Status| WebviewUrl::App(offline_page(s).into());
        // Opened while starting: the starting page; then "not running" if the port is taken.
        assert_eq!(offline_page(&starting), "starting.html");
        let on_starting = url("tauri://localhost/starting.html");
        assert!(!must_move(&on_starting, &starting, &page(&starting)));
        assert!(must_move(&on_starting, &taken, &page(&taken)));
        // Once the router listens: the dashboard, by origin (its path changes as it is used).
        let dashboard =
            WebviewUrl::External(url("http://127.0.0.1:20128/api/auth/desktop?ticket=t"));
        assert!(must_move(&on_starting, &starting, &dashboard));
        let on_dashboard = url("http://127.0.0.1:20128/dashboard/#/usage");
        assert!(!must_move(&on_dashboard, &starting, &dashboard));
        let elsewhere = WebviewUrl::External(url("http://127.0.0.1:20129/api/auth/desktop"));
        assert!(must_move(&on_dashboard, &starting, &elsewhere));
        // Stopped: back to the bundled page.
        assert!(must_move(&on_dashboard, &taken, &page(&taken)));
    }
}
