//! Signed updates, from the tray's side. The work (the manifest, the download, the signature,
//! replacing the app) is done by the window program as the update installer
//! (`update_helper.rs`), so that the tray never loads Tauri or WebKit: it starts the installer
//! when there is something to do and reads what it says. A found update is announced and waits
//! for the user; installing downloads and verifies it, stops the router only after its
//! in-flight requests are done, and only then replaces and restarts the app.

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

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
/// Replacing the app's files, once downloaded.
const INSTALL_WITHIN: Duration = Duration::from_secs(5 * 60);

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

/// The tray's update item: install what was found, or look.
pub fn clicked(app: &App) {
    let app = app.clone();
    tokio::spawn(async move {
        match app.updates.state() {
            UpdateState::Available(_) => install(&app).await,
            UpdateState::Checking | UpdateState::Downloading(_) | UpdateState::Installing => {}
            _ => check(&app, true).await,
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
    // Dropped with the installer: a tray that gives up on it ends it.
    _child: Child,
    stdin: ChildStdin,
    said: Lines<BufReader<ChildStdout>>,
}

impl Installer {
    fn start(step: &str) -> std::io::Result<Self> {
        let mut child = Command::new(binaries::beside(binaries::WINDOW)?)
            .args([UPDATE_FLAG, step])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the update installer has no pipes"));
        };
        Ok(Self {
            _child: child,
            stdin,
            said: BufReader::new(stdout).lines(),
        })
    }

    /// Its next message, if it says one within `within` (stray lines skipped); `None` when it
    /// ended or fell silent.
    async fn next(&mut self, within: Duration) -> Option<FromUpdater> {
        let next = async {
            while let Ok(Some(text)) = self.said.next_line().await {
                if let Some(message) = parse::<FromUpdater>(&text) {
                    return Some(message);
                }
            }
            None
        };
        tokio::time::timeout(within, next).await.ok().flatten()
    }

    async fn tell(&mut self, message: &ToUpdater) -> std::io::Result<()> {
        self.stdin.write_all(line(message).as_bytes()).await?;
        self.stdin.flush().await
    }
}

/// `manual`: the user asked, so a failure is shown; background failures only go to the log.
pub async fn check(app: &App, manual: bool) {
    set(app, UpdateState::Checking);
    let said = match Installer::start(UPDATE_CHECK) {
        Ok(mut installer) => installer.next(CHECK_WITHIN).await,
        Err(e) => Some(FromUpdater::Failed {
            reason: format!("cannot start the update installer: {e}"),
        }),
    };
    match said {
        Some(FromUpdater::Found { version }) => {
            tracing::info!(%version, "an update is available");
            set(app, UpdateState::Available(version.clone()));
            app.notify_now(
                &format!("NineRouter {version} is available"),
                "Choose “Install Update” in the tray menu when it suits you.",
            );
        }
        Some(FromUpdater::UpToDate) => set(app, UpdateState::UpToDate),
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

/// What went wrong, from the installer's last word.
fn failure(said: Option<FromUpdater>) -> String {
    match said {
        Some(FromUpdater::Failed { reason }) => reason,
        Some(other) => format!("the update installer said {other:?} out of turn"),
        None => "the update installer ended without an answer".to_owned(),
    }
}

async fn install(app: &App) {
    set(app, UpdateState::Downloading(None));
    let mut installer = match Installer::start(UPDATE_INSTALL) {
        Ok(installer) => installer,
        Err(e) => return install_failed(app, format!("cannot start the update installer: {e}")),
    };
    // Found (again), then progress, until it is downloaded and verified.
    loop {
        match installer.next(DOWNLOAD_WITHIN).await {
            Some(FromUpdater::Found { .. }) => {}
            Some(FromUpdater::Progress { percent }) => {
                set(app, UpdateState::Downloading(percent));
            }
            Some(FromUpdater::Downloaded) => break,
            Some(FromUpdater::UpToDate) => return set(app, UpdateState::UpToDate),
            other => return install_failed(app, failure(other)),
        }
    }
    set(app, UpdateState::Installing);
    // Requests being routed now finish before the app goes away.
    app.router.stop().await;
    if let Err(e) = installer.tell(&ToUpdater::Install).await {
        app.router.start(None).await;
        return install_failed(app, format!("the update installer went away: {e}"));
    }
    match installer.next(INSTALL_WITHIN).await {
        Some(FromUpdater::Installed) => crate::shell::restart(app),
        // On Windows the installer program takes over (and starts the new app): this one goes.
        None if cfg!(windows) => crate::shell::exit(app, 0),
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
            Some(FromUpdater::Failed {
                reason: reason.into(),
            })
        };
        assert_eq!(failure(said("signature mismatch")), "signature mismatch");
        assert!(failure(None).contains("without an answer"));
        assert!(failure(Some(FromUpdater::Installed)).contains("out of turn"));
    }
}
