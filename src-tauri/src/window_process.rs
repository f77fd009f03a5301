//! The tray's side of the dashboard window: the window lives in a process of its own (the
//! window program, see `window.rs`), started by Open Dashboard and ended by closing the
//! window, so that a closed dashboard leaves nothing behind (the tray program does not even
//! link WebKit). The tray tells it where to point (following the router)
//! and finishes the logins its login windows catch.

use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::binaries;
use crate::router::Status;
use crate::shell::App;
use crate::window_link::{FromWindow, Place, ToWindow, line, parse};

/// How long Quit waits for the window to save its place and go.
const END_WAIT: Duration = Duration::from_secs(3);

/// The running window process, if any.
#[derive(Default)]
pub struct WindowProcess(Mutex<Option<Running>>);

struct Running {
    /// Tells one process from the next, so that the end of an old one clears nothing newer.
    id: u64,
    child: Child,
    stdin: ChildStdin,
    /// What it was last told to show.
    shown: Place,
}

impl WindowProcess {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the window process (it saves its size and position first) and waits for it.
    pub fn end(&self) {
        let Some(mut running) = self.lock().take() else {
            return;
        };
        drop(running.stdin);
        let deadline = Instant::now() + END_WAIT;
        while Instant::now() < deadline {
            if !matches!(running.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tracing::warn!("the dashboard window did not close: ending it");
        let _ = running.child.kill();
        let _ = running.child.wait();
    }
}

/// The bundled page for a router that is not running: starting, or stopped with a reason.
pub fn offline_page(status: &Status) -> &'static str {
    match status {
        Status::Starting => "starting.html",
        _ => "index.html",
    }
}

/// Where the window should be: the dashboard, entered through a one-time ticket the engine
/// trades for a session (the window is logged in without typing, whatever password the router
/// has), or the bundled page that says the router is starting or not running.
fn place(app: &App) -> Place {
    let router = &app.router;
    match router.core() {
        Some(core) => Place::Dashboard {
            entry: format!(
                "http://{}/api/auth/desktop?ticket={}",
                core.listen.addr,
                ninerouter::manage::admin::desktop_ticket(&core)
            ),
        },
        None => Place::Offline {
            page: offline_page(&router.status()).to_owned(),
        },
    }
}

/// Where a window showing `shown` must go: the dashboard when the router listens at
/// `listening` and the window is not on that origin already (its path changes as it is used,
/// and a ticket is spent only for a move), else the bundled page for `status` unless shown.
fn must_move(listening: Option<SocketAddr>, status: &Status, shown: &Place) -> Option<Move> {
    if let Some(addr) = listening {
        let home = format!("http://{addr}/");
        let there = matches!(shown, Place::Dashboard { entry } if entry.starts_with(&home));
        return (!there).then_some(Move::ToDashboard);
    }
    let page = offline_page(status);
    let there = matches!(shown, Place::Offline { page: p } if p == page);
    (!there).then_some(Move::ToPage(page))
}

#[derive(Debug, PartialEq, Eq)]
enum Move {
    ToDashboard,
    ToPage(&'static str),
}

/// Opens the dashboard: brings the window forward, or starts its process. Checked and started
/// under one lock, so that two opens at once (a tray click and a second launch) make one
/// window, and the router's state read for its first page is the one the next follow sees.
pub fn open(app: &App) {
    let mut running = app.window.lock();
    if let Some(window) = running.as_mut() {
        if send(&mut window.stdin, &ToWindow::Focus) {
            return;
        }
        // Its pipe is closed: it is ending; a new one is started.
        if let Some(old) = running.take() {
            reap(old);
        }
    }
    match start(app) {
        Ok((started, stdout)) => {
            let (app, id) = (app.clone(), started.id);
            *running = Some(started);
            std::thread::spawn(move || listen(&app, id, BufReader::new(stdout)));
        }
        Err(e) => tracing::error!("cannot open the dashboard window: {e}"),
    }
}

/// An open window follows the router: from "starting" to the dashboard once it listens, to
/// another port after a restart, to "not running" when it stops.
pub fn follow_router(app: &App) {
    let mut running = app.window.lock();
    let Some(window) = running.as_mut() else {
        return;
    };
    let router = &app.router;
    let listening = router.core().map(|core| core.listen.addr);
    let target = match must_move(listening, &router.status(), &window.shown) {
        None => return,
        Some(Move::ToDashboard) => place(app),
        Some(Move::ToPage(page)) => Place::Offline {
            page: page.to_owned(),
        },
    };
    if send(&mut window.stdin, &ToWindow::Show(target.clone())) {
        window.shown = target;
    }
}

fn send(stdin: &mut ChildStdin, message: &ToWindow) -> bool {
    stdin
        .write_all(line(message).as_bytes())
        .and_then(|()| stdin.flush())
        .is_ok()
}

/// Starts a window process showing where the router is; its stdout, for `listen`.
fn start(app: &App) -> std::io::Result<(Running, ChildStdout)> {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut command = Command::new(binaries::beside(binaries::WINDOW)?);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // The tray turned GL off for itself only; the window's webview draws with it.
    crate::gl::keep_from(&mut command);
    let mut child = command.spawn()?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other("the window process has no pipes"));
    };
    let shown = place(app);
    if !send(&mut stdin, &ToWindow::Show(shown.clone())) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other("the window process ended at once"));
    }
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let running = Running {
        id,
        child,
        stdin,
        shown,
    };
    Ok((running, stdout))
}

/// Reads what the window says until it ends, then lets it go (and quits the app if the window
/// was its only way in).
fn listen(app: &App, id: u64, stdout: impl BufRead) {
    let _runtime = app.runtime.enter();
    let mut was_current = false;
    for text in stdout.lines() {
        let Ok(text) = text else { break };
        match parse::<FromWindow>(&text) {
            Some(FromWindow::LoginLanded { login_id, landed }) => {
                let app = app.clone();
                tokio::spawn(async move {
                    finish_login(&app, &login_id, &landed).await;
                });
            }
            Some(FromWindow::Closed) => was_current |= forget(app, id),
            None => {}
        }
    }
    // Only the current window's end quits: an older one's (replaced by a later open) does not.
    was_current |= forget(app, id);
    if was_current && !app.tray_host() && !app.quitting() {
        // Without a tray host the window was the only way in: closing it quits.
        crate::shell::quit(app.clone());
    }
}

/// Forgets the window process `id` and reaps it, if it is still the current one; whether it
/// was.
fn forget(app: &App, id: u64) -> bool {
    let taken = {
        let mut running = app.window.lock();
        match running.as_ref() {
            Some(r) if r.id == id => running.take(),
            _ => None,
        }
    };
    taken.map(reap).is_some()
}

/// Lets a window process go: its pipe closed, waited for off this thread (it is ending by
/// itself; a slow exit holds nothing up), so that none is left a zombie.
fn reap(window: Running) {
    let Running {
        mut child, stdin, ..
    } = window;
    drop(stdin);
    std::thread::spawn(move || {
        let _ = child.wait();
    });
}

/// Hands the address a login window was sent to to the engine, as a paste would.
async fn finish_login(app: &App, login_id: &str, landed: &str) {
    let Some(core) = app.router.core() else {
        tracing::warn!("the login came back while the router was not running");
        return;
    };
    match ninerouter::manage::complete_login(&core, login_id, landed).await {
        Ok(status) => tracing::info!(?status, "login window finished its login"),
        Err(e) => tracing::info!("the login window's login failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_moves_with_the_router_and_stays_when_it_already_shows_the_right_page() {
        let starting = Status::Starting;
        let taken = Status::PortTaken {
            port: 20128,
            free: Some(20129),
        };
        let page = |p: &str| Place::Offline { page: p.into() };
        let dashboard = |entry: &str| Place::Dashboard {
            entry: entry.into(),
        };
        let addr = |port: u16| Some(SocketAddr::from(([127, 0, 0, 1], port)));
        // Opened while starting: the starting page; then "not running" if the port is taken.
        assert_eq!(offline_page(&starting), "starting.html");
        let on_starting = page("starting.html");
        assert_eq!(must_move(None, &starting, &on_starting), None);
        assert_eq!(
            must_move(None, &taken, &on_starting),
            Some(Move::ToPage("index.html"))
        );
        // Once the router listens: the dashboard, by origin (a new ticket is no move).
        assert_eq!(
            must_move(addr(20128), &starting, &on_starting),
            Some(Move::ToDashboard)
        );
        let on_dashboard = dashboard("http://127.0.0.1:20128/api/auth/desktop?ticket=t");
        assert_eq!(must_move(addr(20128), &starting, &on_dashboard), None);
        assert_eq!(
            must_move(addr(20129), &starting, &on_dashboard),
            Some(Move::ToDashboard)
        );
        // Port 2012 is not port 20128 (the entry is matched with its slash).
        assert_eq!(
            must_move(addr(2012), &starting, &on_dashboard),
            Some(Move::ToDashboard)
        );
        // Stopped: back to the bundled page.
        assert_eq!(
            must_move(None, &taken, &on_dashboard),
            Some(Move::ToPage("index.html"))
        );
    }
}
