//! Signed updates, from the tray's side. The work (the manifest, the download, the signature,
//! replacing the app) is done by the window program as the update installer
//! (`update_helper.rs`), so that the tray never loads Tauri or WebKit: it starts the installer
//! when there is something to do and reads what it says. A found update is announced and waits
//! for the user; installing downloads and verifies it, stops the router only after its
//! in-flight requests are done, and only then replaces and restarts the app.

use std::ffi::OsString;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::Instant;

use crate::binaries;
use crate::menu::UpdateState;
use crate::shell::App;
use crate::window_link::{
    FromUpdater, ToUpdater, UPDATE_CHECK, UPDATE_FLAG, UPDATE_INSTALL, line, parse,
};

/// First automatic check this long after start, then once a day.
const FIRST_CHECK: Duration = Duration::from_secs(60);
const CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The installer's own limits (30 s for a check, 15 min for a download) with room to start.
const CHECK_WITHIN: Duration = Duration::from_secs(60);
const DOWNLOAD_WITHIN: Duration = Duration::from_secs(16 * 60);
/// Replacing the app's files, once downloaded (a `.deb` asks for a password first). An
/// installer that takes longer is left to finish; the tray starts its router again.
const INSTALL_WITHIN: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
pub struct Updates {
    state: Mutex<UpdateState>,
}

impl Updates {
    pub fn state(&self) -> UpdateState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn set(app: &App, state: UpdateState) {
    *app.updates.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
    app.refresh_menu();
}

/// The tray's update item: install what was found, or look. The state moves at once, under
/// its lock, so that two quick clicks start one installer.
pub fn clicked(app: &App) {
    let install = {
        let mut state = app.updates.state.lock().unwrap_or_else(|p| p.into_inner());
        match &*state {
            UpdateState::Available(_) => {
                *state = UpdateState::Downloading(None);
                true
            }
            UpdateState::Checking | UpdateState::Downloading(_) | UpdateState::Installing => {
                return;
            }
            _ => {
                *state = UpdateState::Checking;
                false
            }
        }
    };
    app.refresh_menu();
    let app = app.clone();
    tokio::spawn(async move {
        if install {
            self::install(&app).await;
        } else {
            check(&app, true).await;
        }
    });
}

pub fn schedule(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            if matches!(
                app.updates.state(),
                UpdateState::Idle | UpdateState::UpToDate | UpdateState::Failed(_)
            ) {
                check(&app, false).await;
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

/// A running update installer.
struct Installer {
    child: Child,
    stdin: ChildStdin,
    said: Lines<BufReader<ChildStdout>>,
    /// Once it is replacing the app's files it is never cut off, whatever the tray gives up on.
    detached: bool,
}

/// What the installer did next.
#[derive(Debug)]
enum Heard {
    Said(FromUpdater),
    /// Its output ended (it exited).
    Ended,
    /// Nothing by the deadline.
    Silent,
}

impl Installer {
    fn start(step: &str) -> std::io::Result<Self> {
        let mut child = Command::new(binaries::beside(binaries::WINDOW)?)
            .args([UPDATE_FLAG, step])
            // Windows' installer restarts the app with these (the updater passes its own
            // command line on): the tray comes back with the options it has now.
            .args(forwarded_args(std::env::args_os().skip(1)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.start_kill();
            return Err(std::io::Error::other("the update installer has no pipes"));
        };
        Ok(Self {
            child,
            stdin,
            said: BufReader::new(stdout).lines(),
            detached: false,
        })
    }

    /// Its next message (stray lines skipped), if it says one before `until`.
    async fn next(&mut self, until: Instant) -> Heard {
        let next = async {
            while let Ok(Some(text)) = self.said.next_line().await {
                if let Some(message) = parse::<FromUpdater>(&text) {
                    return Heard::Said(message);
                }
            }
            Heard::Ended
        };
        tokio::time::timeout_at(until, next)
            .await
            .unwrap_or(Heard::Silent)
    }

    async fn tell(&mut self, message: &ToUpdater) -> std::io::Result<()> {
        self.stdin.write_all(line(message).as_bytes()).await?;
        self.stdin.flush().await
    }

    /// Whether it exited, and with success.
    async fn ended_well(&mut self) -> bool {
        let exited = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        matches!(exited, Ok(Ok(status)) if status.success())
    }
}

impl Drop for Installer {
    fn drop(&mut self) {
        if !self.detached {
            let _ = self.child.start_kill();
        }
    }
}

/// The tray's own arguments without an `--update` step of a restart by Windows' installer.
fn forwarded_args(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut kept = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        if arg == UPDATE_FLAG {
            args.next();
        } else if !arg
            .to_str()
            .is_some_and(|a| a.starts_with(&format!("{UPDATE_FLAG}=")))
        {
            kept.push(arg);
        }
    }
    kept
}

/// `manual`: the user asked, so a failure is shown; background failures only go to the log.
pub async fn check(app: &App, manual: bool) {
    set(app, UpdateState::Checking);
    let heard = match Installer::start(UPDATE_CHECK) {
        Ok(mut installer) => installer.next(Instant::now() + CHECK_WITHIN).await,
        Err(e) => Heard::Said(FromUpdater::Failed {
            reason: format!("cannot start the update installer: {e}"),
        }),
    };
    match heard {
        Heard::Said(FromUpdater::Found { version }) => {
            tracing::info!(%version, "an update is available");
            set(app, UpdateState::Available(version.clone()));
            app.notify_now(
                &format!("NineRouter {version} is available"),
                "Choose “Install Update” in the tray menu when it suits you.",
            );
        }
        Heard::Said(FromUpdater::UpToDate) => set(app, UpdateState::UpToDate),
        other => {
            let reason = failure(other);
            tracing::warn!("update check failed: {reason}");
            if manual {
                set(app, UpdateState::Failed(reason.clone()));
                app.notify_now("Update check failed", &reason);
            } else {
                set(app, UpdateState::Idle);
            }
        }
    }
}

/// What went wrong, from what the installer did last.
fn failure(heard: Heard) -> String {
    match heard {
        Heard::Said(FromUpdater::Failed { reason }) => reason,
        Heard::Said(other) => format!("the update installer said {other:?} out of turn"),
        Heard::Ended => "the update installer ended without an answer".to_owned(),
        Heard::Silent => "the update installer did not answer in time".to_owned(),
    }
}

async fn install(app: &App) {
    set(app, UpdateState::Downloading(None));
    let mut installer = match Installer::start(UPDATE_INSTALL) {
        Ok(installer) => installer,
        Err(e) => return install_failed(app, format!("cannot start the update installer: {e}")),
    };
    // Found (again), then progress, until it is downloaded and verified.
    let downloaded_by = Instant::now() + DOWNLOAD_WITHIN;
    loop {
        match installer.next(downloaded_by).await {
            Heard::Said(FromUpdater::Found { .. }) => {}
            Heard::Said(FromUpdater::Progress { percent }) => {
                set(app, UpdateState::Downloading(percent));
            }
            Heard::Said(FromUpdater::Downloaded) => break,
            Heard::Said(FromUpdater::UpToDate) => return set(app, UpdateState::UpToDate),
            other => return install_failed(app, failure(other)),
        }
    }
    set(app, UpdateState::Installing);
    // Requests being routed now finish before the app goes away. The window goes too: it
    // would show a stopped router, and on Windows its program's file is in use while it runs.
    app.router.stop().await;
    let window = app.clone();
    let _ = tokio::task::spawn_blocking(move || window.window.end()).await;
    if let Err(e) = installer.tell(&ToUpdater::Install).await {
        app.router.start(None).await;
        return install_failed(app, format!("the update installer went away: {e}"));
    }
    installer.detached = true;
    match installer.next(Instant::now() + INSTALL_WITHIN).await {
        Heard::Said(FromUpdater::Installed) => crate::shell::restart(app),
        // On Windows the installer program takes over (and starts the new app): the updater
        // ends its process cleanly once it has handed over, and this one goes too.
        Heard::Ended if cfg!(windows) && installer.ended_well().await => crate::shell::exit(app, 0),
        other => {
            app.router.start(None).await;
            install_failed(app, failure(other));
        }
    }
}

fn install_failed(app: &App, reason: String) {
    tracing::error!("the update could not be installed: {reason}");
    set(app, UpdateState::Failed(reason.clone()));
    app.notify_now("The update could not be installed", &reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_says_what_the_installer_said_or_that_it_said_nothing() {
        let said = |reason: &str| {
            Heard::Said(FromUpdater::Failed {
                reason: reason.into(),
            })
        };
        assert_eq!(failure(said("signature mismatch")), "signature mismatch");
        assert!(failure(Heard::Ended).contains("without an answer"));
        assert!(failure(Heard::Silent).contains("in time"));
        assert!(failure(Heard::Said(FromUpdater::Installed)).contains("out of turn"));
    }

    #[test]
    fn the_installer_gets_the_trays_options_without_an_old_update_step() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            forwarded_args(args(&["--update", "install", "--hidden", "--port", "1"]).into_iter()),
            args(&["--hidden", "--port", "1"])
        );
        assert_eq!(
            forwarded_args(args(&["--update=install", "--hidden"]).into_iter()),
            args(&["--hidden"])
        );
        assert_eq!(forwarded_args(args(&[]).into_iter()), args(&[]));
    }
}
