//! The shell's state and behaviour: what each tray action does, and the loop that keeps the
//! tray menu and notifications in step with the engine. Runs on the tray process's tokio
//! runtime; what must happen on the event loop's thread (the tray icon and its menu, ending
//! the app) is sent there as a `MainEvent`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::tz::TimeZone;
use ninerouter::events::EngineEvent;
use ninerouter::store::now_ms;
use tao::event_loop::EventLoopProxy;
use tokio::sync::{Notify, broadcast};

use crate::menu::{self, Action, MenuInput, MenuModel, Router};
use crate::notify::{ComboWatch, Notice, Throttle, for_event};
use crate::prefs::{Prefs, PrefsFile};
use crate::router::{RouterHost, Status};
use crate::single_instance::Hold;
use crate::updates::Updates;
use crate::window_process::{self, WindowProcess};

/// Events arriving within this window become one menu update.
const COALESCE: Duration = Duration::from_millis(150);

/// The tray app, shared by its tasks and threads.
pub type App = Arc<Shell>;

/// What the event loop's thread is asked to do.
#[derive(Debug)]
pub enum MainEvent {
    /// Show this menu (and badge and tooltip).
    Menu(MenuModel),
    /// A menu item was clicked.
    Clicked(String),
    /// Another launch handed over its arguments.
    Launched(Vec<String>),
    /// End the app with this code.
    Exit(i32),
}

pub struct Shell {
    pub router: RouterHost,
    pub updates: Updates,
    /// Whether a StatusNotifier host (or the macOS menu bar / Windows tray) shows the icon.
    tray_host: AtomicBool,
    /// The dashboard window's process, while it runs.
    pub window: WindowProcess,
    quitting: AtomicBool,
    prefs_file: PrefsFile,
    prefs: Mutex<Prefs>,
    kick: Notify,
    main: Mutex<EventLoopProxy<MainEvent>>,
    /// Made at the first copy and kept: on X11 the copied text is served by its owner.
    clipboard: Mutex<Option<arboard::Clipboard>>,
    /// The data folder, held while this app runs.
    hold: Mutex<Hold>,
    /// The runtime the shell's tasks run on; threads of the shell's own enter it.
    pub runtime: tokio::runtime::Handle,
}

impl Shell {
    pub fn new(
        main: EventLoopProxy<MainEvent>,
        router: RouterHost,
        prefs_file: PrefsFile,
        tray_host: bool,
        hold: Hold,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        let prefs = prefs_file.load();
        Self {
            router,
            updates: Updates::default(),
            tray_host: AtomicBool::new(tray_host),
            window: WindowProcess::default(),
            quitting: AtomicBool::new(false),
            prefs_file,
            prefs: Mutex::new(prefs),
            kick: Notify::new(),
            main: Mutex::new(main),
            clipboard: Mutex::new(None),
            hold: Mutex::new(hold),
            runtime,
        }
    }

    /// Asks the event loop's thread to do something.
    fn to_main(&self, event: MainEvent) {
        let main = self.main.lock().unwrap_or_else(|p| p.into_inner());
        if main.send_event(event).is_err() {
            tracing::debug!("the event loop has ended");
        }
    }

    /// Whether the tray icon shows (else the window is the only way in).
    pub fn tray_host(&self) -> bool {
        self.tray_host.load(Ordering::Relaxed)
    }

    /// The tray icon could not be made after all.
    pub fn lost_tray_host(&self) {
        self.tray_host.store(false, Ordering::Relaxed);
    }

    /// Whether Quit has begun.
    pub fn quitting(&self) -> bool {
        self.quitting.load(Ordering::Relaxed)
    }

    fn prefs(&self) -> Prefs {
        self.prefs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Asks the refresh loop for a new menu soon.
    pub fn refresh_menu(&self) {
        self.kick.notify_one();
    }

    /// Shows a notification if the user has not turned them off (no throttling: for answers
    /// to the user's own actions).
    pub fn notify_now(&self, title: &str, body: &str) {
        if !self.prefs().notifications {
            return;
        }
        tracing::info!(%title, "notification");
        let notification = native_notification(title, body);
        // A call on the session bus (or the system's notification centre): off the runtime.
        self.runtime.spawn_blocking(move || {
            if let Err(e) = notification.show() {
                tracing::warn!("cannot show a notification: {e}");
            }
        });
    }

    fn autostart(&self) -> bool {
        crate::autostart::is_enabled().unwrap_or_else(|e| {
            tracing::warn!("cannot read the start-at-login entry: {e}");
            false
        })
    }

    fn copy(&self, text: String) -> Result<(), arboard::Error> {
        let mut clipboard = self.clipboard.lock().unwrap_or_else(|p| p.into_inner());
        let clipboard = match clipboard.as_mut() {
            Some(clipboard) => clipboard,
            None => clipboard.insert(arboard::Clipboard::new()?),
        };
        clipboard.set_text(text)
    }

    fn menu_model(
        &self,
        snapshot: Option<&ninerouter::engine::Snapshot>,
        status: &Status,
        tools: &[ninerouter::setup::tools::ToolStatus],
    ) -> MenuModel {
        let router = match (status, snapshot) {
            (Status::Running(_), Some(s)) => Router::Running(s),
            (Status::PortTaken { port, free }, _) => Router::PortTaken {
                port: *port,
                free: *free,
            },
            (Status::Failed(why), _) => Router::Failed(why),
            _ => Router::Starting,
        };
        let update = self.updates.state();
        menu::build(
            &MenuInput {
                router,
                autostart: self.autostart(),
                notifications: self.prefs().notifications,
                update: &update,
                tools,
            },
            &TimeZone::system(),
            now_ms(),
        )
    }
}

/// The app's identifier (`tauri.conf.json`), which macOS and Windows file notifications under.
#[cfg(any(target_os = "macos", target_os = "windows"))]
const IDENTIFIER: &str = "dev.ninerouter.desktop";

/// A notification from the app, as each system wants it said who it is from.
fn native_notification(title: &str, body: &str) -> notify_rust::Notification {
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("NineRouter")
        .summary(title)
        .body(body)
        .auto_icon();
    #[cfg(target_os = "macos")]
    {
        static NAMED: std::sync::Once = std::sync::Once::new();
        NAMED.call_once(|| {
            let _ = notify_rust::set_application(IDENTIFIER);
        });
    }
    // Windows shows notifications only for an app id the installer registered: a build run
    // from cargo's target folder has none.
    #[cfg(target_os = "windows")]
    if !crate::binaries::own()
        .ok()
        .and_then(|own| {
            own.parent()
                .map(|dir| dir.ends_with("target/debug") || dir.ends_with("target/release"))
        })
        .unwrap_or(true)
    {
        notification.app_id(IDENTIFIER);
    }
    notification
}

/// What a tray click does (called on the event loop's thread, inside the runtime).
pub fn on_menu_click(app: &App, id: &str) {
    let Some(action) = Action::parse(id) else {
        return;
    };
    tracing::debug!(?action, "tray action");
    match action {
        Action::SelectCombo(name) => {
            if let Some(core) = app.router.core() {
                let app = app.clone();
                tokio::spawn(async move {
                    if let Err(e) = crate::control::select_combo(&core, &name).await {
                        tracing::warn!(combo = %name, "cannot switch the active combo: {e}");
                        app.notify_now("Cannot switch combo", &e.to_string());
                    }
                });
            }
        }
        Action::PointTool(id) => {
            if let Some(core) = app.router.core() {
                let app = app.clone();
                tokio::spawn(async move {
                    match crate::control::point_tool(&core, &id).await {
                        Ok(told) => app.notify_now("Tool set up", &told),
                        Err(e) => {
                            tracing::warn!(tool = %id, "cannot set up the tool: {e}");
                            app.notify_now("Cannot set up the tool", &e.to_string());
                        }
                    }
                    app.refresh_menu();
                });
            }
        }
        Action::OpenDashboard => window_process::open(app),
        Action::CopyEndpoint => {
            if let Some(url) = app.router.endpoint()
                && let Err(e) = app.copy(format!("{url}/v1"))
            {
                tracing::warn!("cannot copy to the clipboard: {e}");
            }
        }
        Action::TogglePause => {
            if let Some(core) = app.router.core() {
                tokio::spawn(async move {
                    crate::control::toggle_pause(&core).await;
                });
            }
        }
        Action::ToggleAutostart => {
            if let Err(e) = crate::autostart::set(!app.autostart()) {
                tracing::warn!("cannot change start at login: {e}");
                app.notify_now("Cannot change Start at Login", &e.to_string());
            }
        }
        Action::ToggleNotifications => {
            let prefs = {
                let mut prefs = app.prefs.lock().unwrap_or_else(|p| p.into_inner());
                prefs.notifications = !prefs.notifications;
                prefs.clone()
            };
            if let Err(e) = app.prefs_file.save(&prefs) {
                tracing::warn!("cannot save preferences: {e}");
            }
        }
        Action::Updates => crate::updates::clicked(app),
        Action::Retry => restart_router(app, None),
        Action::UsePort(port) => restart_router(app, Some(port)),
        Action::Quit => quit(app.clone()),
    }
    app.refresh_menu();
}

fn restart_router(app: &App, port: Option<u16>) {
    let app = app.clone();
    tokio::spawn(async move {
        app.router.start(port).await;
        window_process::follow_router(&app);
    });
}

/// Quits after the dashboard window has saved its place and the router has finished its
/// in-flight requests.
pub fn quit(app: App) {
    app.quitting.store(true, Ordering::Relaxed);
    tokio::spawn(async move {
        tracing::info!("quitting: finishing in-flight requests");
        let window = app.clone();
        let closed = tokio::task::spawn_blocking(move || window.window.end());
        app.router.stop().await;
        let _ = closed.await;
        exit(&app, 0);
    });
}

/// Ends the app now (its router stopped already).
pub fn exit(app: &App, code: i32) {
    app.to_main(MainEvent::Exit(code));
}

/// Starts the app again, as the same program with the same arguments (after an update
/// replaced it), and ends this one. The data folder is let go first, so that the new app is
/// the first launch and not one that hands over to this one.
pub fn restart(app: &App) {
    app.hold.lock().unwrap_or_else(|p| p.into_inner()).release();
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Err(e) = crate::binaries::start_tray(&args) {
        tracing::error!("cannot start the updated app: {e}");
    }
    exit(app, 0);
}

/// Keeps the tray menu and the notifications in step with the engine. Runs for the app's life.
pub async fn refresh_loop(app: App) {
    let shell = &*app;
    let mut status_rx = shell.router.watch();
    let mut events: Option<broadcast::Receiver<EngineEvent>> = None;
    let mut throttle = Throttle::new();
    let mut combos = ComboWatch::default();
    let mut pending: Vec<EngineEvent> = Vec::new();
    // What the window was last pointed at: it follows every change of the router, whichever
    // wake-up this pass came from (a change seen here is not reported again by `changed`).
    let mut followed: Option<Option<String>> = None;
    let mut tools: Option<Vec<ninerouter::setup::tools::ToolStatus>> = None;
    let mut kicked = false;
    loop {
        let status = status_rx.borrow_and_update().clone();
        let endpoint = match &status {
            Status::Running(core) => Some(format!("{}", core.listen.addr)),
            Status::Starting => Some("starting".to_owned()),
            _ => None,
        };
        if followed.as_ref() != Some(&endpoint) {
            window_process::follow_router(&app);
            followed = Some(endpoint);
        }
        if events.is_none()
            && let Status::Running(core) = &status
        {
            events = Some(core.events().subscribe());
        }
        let mut batch = std::mem::take(&mut pending);
        // Coalesce: whatever else arrives shortly after is handled in the same pass.
        tokio::time::sleep(COALESCE).await;
        if let Some(rx) = events.as_mut() {
            loop {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        }
        let snapshot = match &status {
            Status::Running(core) => Some(core.snapshot()),
            _ => None,
        };
        // The tools' files are read again only when something may have changed them (the
        // router's start, a change of setup, a tray action), never on the tick.
        let setup_changed = batch
            .iter()
            .any(|e| matches!(e, EngineEvent::ConfigChanged { .. }));
        if tools.is_none() || kicked || setup_changed {
            tools = match &status {
                Status::Running(core) => {
                    let core = core.clone();
                    tokio::task::spawn_blocking(move || {
                        ninerouter::manage::list_tools(&core).unwrap_or_default()
                    })
                    .await
                    .ok()
                }
                _ => None,
            };
        }
        // Cooldowns and quota windows end without an event: the next wake-up is when a time
        // the menu shows passes, not a tick.
        let redraw_at = snapshot
            .as_ref()
            .and_then(|s| menu::next_change(s, now_ms()));
        let model = shell.menu_model(
            snapshot.as_ref(),
            &status,
            tools.as_deref().unwrap_or_default(),
        );
        shell.to_main(MainEvent::Menu(model));
        if let Some(snapshot) = &snapshot {
            let (tz, now) = (TimeZone::system(), now_ms());
            let notices: Vec<Notice> = batch
                .iter()
                .filter_map(|e| for_event(e, snapshot, &tz, now))
                .chain(combos.update(snapshot, &tz, now))
                .collect();
            for notice in notices {
                if let Some(n) = throttle.admit(notice, now) {
                    shell.notify_now(&n.title, &n.body);
                }
            }
        }

        // Wait for something that can change the menu.
        kicked = false;
        let router_changed = tokio::select! {
            changed = status_rx.changed() => {
                if changed.is_err() {
                    return;
                }
                true
            }
            () = shell.kick.notified() => {
                kicked = true;
                false
            }
            () = sleep_until_ms(redraw_at) => false,
            () = next_relevant(&mut events, &mut pending) => false,
        };
        if router_changed {
            events = None;
            tools = None;
        }
    }
}

/// Sleeps until `at_ms` on the wall clock (a little past it, so that the snapshot taken then
/// no longer shows what ended); forever when there is nothing to wait for. A wait longer than
/// a quarter of an hour is taken again from the wall clock then, because the timer's clock
/// stops while the machine is suspended.
async fn sleep_until_ms(at_ms: Option<i64>) {
    const LONGEST: Duration = Duration::from_secs(15 * 60);
    match at_ms {
        Some(at) => {
            let wait = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
            let wait = Duration::from_millis(wait) + Duration::from_millis(50);
            tokio::time::sleep(wait.min(LONGEST)).await;
        }
        None => std::future::pending().await,
    }
}

/// Waits for an event that can change the menu or call for a notice. Request start and finish
/// events (many per second under load) are skipped without waking the loop.
async fn next_relevant(
    events: &mut Option<broadcast::Receiver<EngineEvent>>,
    seen: &mut Vec<EngineEvent>,
) {
    let Some(rx) = events.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(EngineEvent::RequestStarted { .. } | EngineEvent::RequestFinished { .. }) => {}
            Ok(event) => {
                seen.push(event);
                return;
            }
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => {
                *events = None;
                return;
            }
        }
    }
}
