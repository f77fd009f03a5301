//! The tray program's start and its event loop. The platform's loop (tao: GTK on Linux, AppKit
//! on macOS, Win32 on Windows) runs on the main thread and owns the tray icon; the router and
//! the shell run on a tokio runtime beside it and send the loop what it must do.

use std::sync::{Arc, Mutex};

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tray_icon::TrayIconEvent;
use tray_icon::menu::MenuEvent;

use crate::args::{self, Args};
use crate::prefs::PrefsFile;
use crate::router::RouterHost;
use crate::shell::{self, App, MainEvent, Shell};
use crate::single_instance::{self, Claim};
use crate::tray::Tray;
use crate::{gl, tray_host, updates, window_process};

pub fn run() -> anyhow::Result<()> {
    gl::turn_off_for_the_tray();
    ninerouter::logging::init();
    let args = Args::from_env();
    let options = args.engine_options();
    let data_dir = options.data_dir.clone();
    std::fs::create_dir_all(&data_dir)?;
    // First, so that a second launch hands over before anything else starts.
    let instance = match single_instance::claim(&data_dir)? {
        Claim::First(instance) => instance,
        Claim::Taken => {
            tracing::info!("NineRouter runs already: this launch is handed over to it");
            let argv = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            single_instance::hand_over(&data_dir, argv)?;
            return Ok(());
        }
    };
    let tray_host = tray_host::available();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The loop's thread spawns the shell's tasks (a click's work) on the runtime.
    let _entered = runtime.enter();

    let event_loop = EventLoopBuilder::<MainEvent>::with_user_event().build();
    let launches = Mutex::new(event_loop.create_proxy());
    let hold = instance.serve(move |argv| {
        let main = launches.lock().unwrap_or_else(|p| p.into_inner());
        let _ = main.send_event(MainEvent::Launched(argv));
    });
    let clicks = Mutex::new(event_loop.create_proxy());
    MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
        let main = clicks.lock().unwrap_or_else(|p| p.into_inner());
        let _ = main.send_event(MainEvent::Clicked(event.id.0));
    }));
    // The icon's own events (hover, clicks: the menu opens by itself) are not used; without a
    // handler they would pile up in tray-icon's channel.
    TrayIconEvent::set_event_handler(Some(|_: TrayIconEvent| {}));
    let app: App = Arc::new(Shell::new(
        event_loop.create_proxy(),
        RouterHost::new(options),
        PrefsFile::new(&data_dir),
        tray_host,
        hold,
        runtime.handle().clone(),
    ));
    let open_window = !args.hidden || !tray_host;

    let mut tray: Option<Tray> = None;
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            // The tray icon is made once the loop runs (macOS wants its app running first).
            Event::NewEvents(StartCause::Init) => {
                tray = Tray::create()
                    .inspect_err(|e| tracing::error!("cannot show the tray icon: {e}"))
                    .ok();
                if tray.is_none() {
                    // The window is the only way in: it opens, and closing it quits.
                    app.lost_tray_host();
                }
                if !app.tray_host() {
                    tracing::info!("no tray host on this desktop: opening the window instead");
                }
                start(&app, open_window || !app.tray_host());
            }
            Event::UserEvent(MainEvent::Menu(model)) => {
                if let Some(tray) = tray.as_mut()
                    && let Err(e) = tray.apply(model)
                {
                    tracing::warn!("cannot update the tray menu: {e}");
                }
            }
            Event::UserEvent(MainEvent::Clicked(id)) => {
                if let Some(tray) = tray.as_mut() {
                    tray.clicked();
                }
                shell::on_menu_click(&app, &id);
            }
            Event::UserEvent(MainEvent::Launched(argv)) => {
                tracing::info!("another launch was started; this instance answers it");
                if !args::wants_hidden(&argv) {
                    window_process::open(&app);
                }
            }
            Event::UserEvent(MainEvent::Exit(code)) => {
                *control_flow = ControlFlow::ExitWithCode(code)
            }
            _ => {}
        }
    })
}

/// Starts the router, then what follows it: the window if wanted, the menu's refresh loop,
/// update checks, and quitting on a signal.
fn start(app: &App, open_window: bool) {
    let app = app.clone();
    tokio::spawn(async move {
        app.router.start(None).await;
        if open_window {
            window_process::open(&app);
        }
        tokio::spawn(shell::refresh_loop(app.clone()));
        updates::schedule(&app);
        quit_on_signal(app).await;
    });
}

/// SIGTERM / Ctrl-C quit like the tray's Quit: in-flight requests finish first.
async fn quit_on_signal(app: App) {
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
