//! Signed updates through tauri-plugin-updater. The manifest URL and public key are in
//! `tauri.conf.json` (`NINEROUTER_UPDATE_URL` overrides the URL, for self-hosted builds and
//! tests; `NINEROUTER_UPDATE_PUBKEY` the signing key, in debug builds only: in a release, the
//! environment must never decide which signatures an installed update needs). A found update is announced and waits for the user; installing
//! downloads and verifies it, stops the router only after its in-flight requests are done, and
//! only then replaces and restarts the app.

use std::sync::Mutex;
use std::time::Duration;

use tauri::{AppHandle, Manager};
use tauri_plugin_updater::{Update, Updater, UpdaterExt};

use crate::menu::UpdateState;
use crate::shell::Shell;

/// First automatic check this long after start, then once a day.
const FIRST_CHECK: Duration = Duration::from_secs(60);
const CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);

#[derive(Default)]
pub struct Updates {
    state: Mutex<UpdateState>,
    pending: Mutex<Option<Update>>,
}

impl Updates {
    pub fn state(&self) -> UpdateState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, app: &AppHandle, state: UpdateState) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = state;
        app.state::<Shell>().refresh_menu();
    }

    fn take_pending(&self) -> Option<Update> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

fn updater(app: &AppHandle) -> Result<Updater, tauri_plugin_updater::Error> {
    let mut builder = app.updater_builder();
    if let Ok(raw) = std::env::var("NINEROUTER_UPDATE_URL") {
        match raw.parse() {
            Ok(url) => builder = builder.endpoints(vec![url])?,
            Err(e) => tracing::warn!(url = %raw, "ignoring NINEROUTER_UPDATE_URL: {e}"),
        }
    }
    if let Some(key) = pubkey_override(std::env::var("NINEROUTER_UPDATE_PUBKEY").ok()) {
        builder = builder.pubkey(key);
    }
    builder.build()
}

/// The signing key from the environment, honoured only by debug builds (tests).
fn pubkey_override(from_env: Option<String>) -> Option<String> {
    if cfg!(debug_assertions) {
        from_env
    } else {
        if from_env.is_some() {
            tracing::warn!("ignoring NINEROUTER_UPDATE_PUBKEY: a release checks its own key");
        }
        None
    }
}

/// The tray's update item: install what was found, or look.
pub fn clicked(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        match shell.updates.state() {
            UpdateState::Available(_) => install(&app).await,
            UpdateState::Checking | UpdateState::Downloading(_) | UpdateState::Installing => {}
            _ => check(&app, true).await,
        }
    });
}

pub fn schedule(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(FIRST_CHECK).await;
        loop {
            if matches!(
                app.state::<Shell>().updates.state(),
                UpdateState::Idle | UpdateState::UpToDate | UpdateState::Failed(_)
            ) {
                check(&app, false).await;
            }
            tokio::time::sleep(CHECK_EVERY).await;
        }
    });
}

/// `manual`: the user asked, so a failure is shown; background failures only go to the log.
pub async fn check(app: &AppHandle, manual: bool) {
    let shell = app.state::<Shell>();
    shell.updates.set(app, UpdateState::Checking);
    let found = match updater(app) {
        Ok(u) => u.check().await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(update)) => {
            tracing::info!(version = %update.version, "an update is available");
            let version = update.version.clone();
            *shell
                .updates
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(update);
            shell
                .updates
                .set(app, UpdateState::Available(version.clone()));
            shell.notify_now(
                &format!("NineRouter {version} is available"),
                "Choose “Install Update” in the tray menu when it suits you.",
            );
        }
        Ok(None) => shell.updates.set(app, UpdateState::UpToDate),
        Err(e) => {
            tracing::warn!("update check failed: {e}");
            if manual {
                shell.updates.set(app, UpdateState::Failed(e.to_string()));
                shell.notify_now("Update check failed", &e.to_string());
            } else {
                shell.updates.set(app, UpdateState::Idle);
            }
        }
    }
}

async fn install(app: &AppHandle) {
    let shell = app.state::<Shell>();
    let Some(update) = shell.updates.take_pending() else {
        return;
    };
    shell.updates.set(app, UpdateState::Downloading(None));
    let mut received = 0usize;
    let mut last_pct = None;
    let progress_app = app.clone();
    // `download` checks the signature against the public key before returning the bytes.
    let bytes = update
        .download(
            |chunk, total| {
                received += chunk;
                let pct = total
                    .filter(|&t| t > 0)
                    .map(|t| ((received as u64 * 100) / t).min(100) as u8);
                if pct != last_pct && pct.is_some_and(|p| p % 5 == 0) {
                    last_pct = pct;
                    progress_app
                        .state::<Shell>()
                        .updates
                        .set(&progress_app, UpdateState::Downloading(pct));
                }
            },
            || {},
        )
        .await;
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("update download failed: {e}");
            shell.updates.set(app, UpdateState::Failed(e.to_string()));
            shell.notify_now("The update could not be installed", &e.to_string());
            return;
        }
    };
    shell.updates.set(app, UpdateState::Installing);
    // Requests being routed now finish before the app goes away.
    shell.router.stop().await;
    match update.install(bytes) {
        Ok(()) => app.restart(),
        Err(e) => {
            tracing::error!("update install failed: {e}");
            shell.updates.set(app, UpdateState::Failed(e.to_string()));
            shell.notify_now("The update could not be installed", &e.to_string());
            shell.router.start(None).await;
        }
    }
}
