//! NineRouter's desktop shell: the tray app that hosts the router. The engine (the `ninerouter`
//! crate) does the routing; this crate adds the tray, the dashboard window (a process of its
//! own, the same binary with `--dashboard-window`), start at login, notifications, single
//! instance and updates.

mod args;
mod clock;
mod control;
mod gl;
mod login_window;
mod menu;
mod notify;
mod prefs;
mod router;
mod shell;
mod tray;
mod tray_host;
mod updates;
mod window;
mod window_link;
mod window_process;

use tauri::{Manager, RunEvent};
use tauri_plugin_autostart::MacosLauncher;

use crate::args::Args;
use crate::prefs::PrefsFile;
use crate::router::RouterHost;
use crate::shell::Shell;

pub fn run() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some(window_link::WINDOW_FLAG) {
        ninerouter::logging::init();
        return window::run();
    }
    gl::turn_off_for_the_tray();
    ninerouter::logging::init();
    let args = Args::from_env();
    let tray_host = tray_host::available();
    let options = args.engine_options();
    std::fs::create_dir_all(&options.data_dir)?;

    let app = tauri::Builder::default()
        // First, so that a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            tracing::info!("another launch was started; this instance answers it");
            if !args::wants_hidden(&argv) {
                window_process::open(app);
            }
        }))
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            Some(vec!["--hidden"]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .setup(move |app| {
            let handle = app.handle().clone();
            let prefs = PrefsFile::new(&options.data_dir);
            app.manage(Shell::new(
                handle.clone(),
                RouterHost::new(options),
                prefs,
                tray_host,
            ));
            let tray = tray::Tray::create(&handle, shell::on_menu_click)?;
            let _ = app.state::<Shell>().tray.set(tray);
            if !tray_host {
                tracing::info!("no tray host on this desktop: opening the window instead");
            }
            let open_window = !args.hidden || !tray_host;
            tauri::async_runtime::spawn(async move {
                handle.state::<Shell>().router.start(None).await;
                if open_window {
                    window_process::open(&handle);
                }
                tauri::async_runtime::spawn(shell::refresh_loop(handle.clone()));
                updates::schedule(&handle);
                quit_on_signal(handle).await;
            });
            Ok(())
        })
        .build(tauri::generate_context!())?;

    app.run(|_, event| {
        // The tray app has no window of its own to end it; Quit does (with a code).
        if let RunEvent::ExitRequested {
            api, code: None, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    Ok(())
}

/// SIGTERM / Ctrl-C quit like the tray's Quit: in-flight requests finish first.
async fn quit_on_signal(app: tauri::AppHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for termination signals");
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        shell::quit(app);
    }
    #[cfg(not(unix))]
    {
        let _ = app;
    }
}
