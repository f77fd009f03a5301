//! The dashboard window, in a process of its own (the window program): the tray process starts it when the dashboard is opened and it ends
//! when the window closes, taking WebKit's web and network processes and the GL stack with
//! it, so a closed dashboard costs nothing. It shows what the tray tells it (the engine's
//! dashboard through a one-time ticket, or a bundled page while the router is not running)
//! and keeps its size and position with the window-state plugin.

use std::io::{BufRead as _, Write as _};
use std::sync::{Mutex, OnceLock};

use tauri::ipc::CapabilityBuilder;
use tauri::{
    AppHandle, Context, Manager, RunEvent, Runtime, WebviewUrl, WebviewWindowBuilder, Window,
    WindowEvent,
};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

use crate::window_link::{FromWindow, Place, ToWindow, line, parse};

pub const LABEL: &str = "dashboard";

/// Size, position and maximized state are kept; visibility is not (the window is saved hidden
/// when the app quits from the tray, and must not come back invisible).
pub const KEPT_STATE: StateFlags = StateFlags::all().difference(StateFlags::VISIBLE);

/// The origin of the dashboard the window was last sent to: the only one it may show.
#[derive(Default)]
struct Home(Mutex<Option<String>>);

/// The pipe to the tray: the process's stdout when it started.
static TO_TRAY: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// The two pipes to the tray (from it, to it), taken for this process alone: WebKit's helper
/// processes inherit stdin and stdout, and must neither read the tray's messages (tickets),
/// nor write to it, nor keep the pipes open after the window has gone. Their stdin becomes
/// /dev/null and their stdout stderr.
#[cfg(unix)]
fn take_pipes() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::{AsFd as _, AsRawFd as _};
    // Duplicates closed on exec (std's try_clone asks for that), so no helper gets them.
    let from_tray = std::io::stdin().as_fd().try_clone_to_owned()?;
    let to_tray = std::io::stdout().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::open("/dev/null")?;
    // SAFETY: dup2 on descriptors this process holds open, before any other thread.
    let moved = unsafe {
        libc::dup2(null.as_raw_fd(), libc::STDIN_FILENO) >= 0
            && libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) >= 0
    };
    if !moved {
        return Err(std::io::Error::last_os_error());
    }
    Ok((from_tray.into(), to_tray.into()))
}

/// On Windows a duplicated handle is not inherited (std asks for that).
#[cfg(windows)]
fn take_pipes() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::windows::io::AsHandle as _;
    let from_tray = std::io::stdin().as_handle().try_clone_to_owned()?;
    let to_tray = std::io::stdout().as_handle().try_clone_to_owned()?;
    Ok((from_tray.into(), to_tray.into()))
}

/// Runs the window process until its window closes or the tray goes away.
pub fn run() -> anyhow::Result<()> {
    let (from_tray, to_tray) = take_pipes()?;
    let _ = TO_TRAY.set(Mutex::new(to_tray));
    let app = tauri::Builder::default()
        .plugin(autostart_commands())
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(KEPT_STATE)
                .build(),
        )
        .invoke_handler(tauri::generate_handler![crate::login_window::open_login])
        .on_window_event(on_event)
        .setup(|app| {
            app.manage(Home::default());
            let handle = app.handle().clone();
            // The tray's messages, read off the event loop; the end of the pipe is the tray's
            // end (it quit or died), and the window's.
            std::thread::spawn(move || {
                for text in std::io::BufReader::new(from_tray).lines() {
                    let Ok(text) = text else { break };
                    if let Some(message) = parse::<ToWindow>(&text) {
                        let app = handle.clone();
                        let _ = handle.run_on_main_thread(move || obey(&app, message));
                    }
                }
                // The window-state plugin saves the window's place as the app exits (on the
                // main thread: saving from here would hold its lock while waiting for it).
                handle.exit(0);
            });
            Ok(())
        })
        .build(context())?;
    app.run(|_, _: RunEvent| {});
    Ok(())
}

/// The app's Tauri configuration and bundled pages.
pub fn context() -> Context {
    tauri::generate_context!()
}

/// `plugin:autostart|enable`, `disable` and `is_enabled`, for the dashboard's Settings (build.rs
/// declares their permissions).
fn autostart_commands<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    #[tauri::command]
    fn enable() -> Result<(), String> {
        crate::autostart::set(true).map_err(|e| e.to_string())
    }
    #[tauri::command]
    fn disable() -> Result<(), String> {
        crate::autostart::set(false).map_err(|e| e.to_string())
    }
    #[tauri::command]
    fn is_enabled() -> Result<bool, String> {
        crate::autostart::is_enabled().map_err(|e| e.to_string())
    }
    tauri::plugin::Builder::new("autostart")
        .invoke_handler(tauri::generate_handler![enable, disable, is_enabled])
        .build()
}

/// Tells the tray something.
pub fn tell_tray(message: &FromWindow) {
    let Some(pipe) = TO_TRAY.get() else {
        return;
    };
    let mut pipe = pipe.lock().unwrap_or_else(|p| p.into_inner());
    if pipe.write_all(line(message).as_bytes()).is_err() {
        tracing::warn!("the tray is gone");
    }
}

/// Ends the process when it has no window to show: the tray is told first, so that its next
/// Open Dashboard starts a new one.
fn give_up(app: &AppHandle) {
    tell_tray(&FromWindow::Closed);
    app.exit(0);
}

fn obey(app: &AppHandle, message: ToWindow) {
    let result = match (app.get_webview_window(LABEL), message) {
        (None, ToWindow::Show(place)) => create(app, &place),
        (Some(window), ToWindow::Show(place)) => {
            let url = match &place {
                Place::Dashboard { entry } => entry_url(app, entry),
                Place::Offline { page } => {
                    leave_home(app);
                    bundled_url(page)
                }
            };
            match url {
                Some(url) => window.navigate(url),
                None => Ok(()),
            }
        }
        (Some(window), ToWindow::Focus) => window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus()),
        // The window is closing: the click is for a new one.
        (None, ToWindow::Focus) => {
            give_up(app);
            Ok(())
        }
    };
    if let Err(e) = result {
        tracing::error!("the dashboard window cannot show its page: {e}");
    }
}

/// A bundled page's address in the webview (Tauri serves them from its own scheme, which on
/// Windows is an http host).
fn bundled_url(page: &str) -> Option<tauri::Url> {
    let base = if cfg!(windows) {
        "http://tauri.localhost/"
    } else {
        "tauri://localhost/"
    };
    tauri::Url::parse(base).ok()?.join(page).ok()
}

/// The dashboard's entry: from now on its origin is the window's home, with the desktop
/// commands granted to it.
fn entry_url(app: &AppHandle, entry: &str) -> Option<tauri::Url> {
    let url = tauri::Url::parse(entry).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    grant_desktop_commands(app, &url);
    let home = app.state::<Home>();
    *home.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.origin().ascii_serialization());
    Some(url)
}

/// The desktop commands the dashboard may call (start at login, opening https pages in the
/// system browser, login windows), granted to the engine's own origin only: another local
/// port is not the dashboard. Granted once per origin (a router restarted on another port
/// gets its own); Tauri cannot take a runtime capability back.
fn grant_desktop_commands(app: &AppHandle, url: &tauri::Url) {
    static GRANTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
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

/// The window stays on the engine's own origin (and the bundled pages); anything else a page
/// tries to open in it is refused (provider pages open in the system browser).
fn stays_home(app: &AppHandle, url: &tauri::Url) -> bool {
    let home = app.state::<Home>();
    let home = home.0.lock().unwrap_or_else(|p| p.into_inner());
    let own = home
        .as_deref()
        .is_some_and(|h| h == url.origin().ascii_serialization());
    own || matches!(url.scheme(), "tauri" | "about") || url.host_str() == Some("tauri.localhost")
}

/// While a bundled page shows, no dashboard origin is trusted: going Back to a port the router
/// no longer holds is refused.
fn leave_home(app: &AppHandle) {
    let home = app.state::<Home>();
    *home.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// Makes the window; a process that cannot has nothing to show, and ends.
fn create(app: &AppHandle, place: &Place) -> tauri::Result<()> {
    let url = match place {
        Place::Dashboard { entry } => entry_url(app, entry).map(WebviewUrl::External),
        Place::Offline { page } => Some(WebviewUrl::App(page.into())),
    };
    let Some(url) = url else {
        tracing::error!("the tray sent the window an address it cannot show");
        give_up(app);
        return Ok(());
    };
    let handle = app.clone();
    let built = WebviewWindowBuilder::new(app, LABEL, url)
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
        .build();
    if let Err(e) = built {
        give_up(app);
        return Err(e);
    }
    tracing::info!("dashboard window opened");
    Ok(())
}

/// Closing the dashboard ends the process (its login windows with it): the tray is told
/// first, so that the next Open Dashboard starts a new one at once.
fn on_event(window: &Window, event: &WindowEvent) {
    if window.label() != LABEL {
        return;
    }
    match event {
        WindowEvent::CloseRequested { .. } => {
            if let Err(e) = window.app_handle().save_window_state(KEPT_STATE) {
                tracing::warn!("cannot save the window's size and position: {e}");
            }
            tell_tray(&FromWindow::Closed);
        }
        WindowEvent::Destroyed => {
            tracing::info!("dashboard window closed");
            window.app_handle().exit(0);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_pages_are_on_the_app_scheme() {
        let url = bundled_url("starting.html").map(|u| u.to_string());
        let expected = if cfg!(windows) {
            "http://tauri.localhost/starting.html"
        } else {
            "tauri://localhost/starting.html"
        };
        assert_eq!(url.as_deref(), Some(expected));
    }
}
