//! The update installer: the window program run by the tray (which has no Tauri of its own)
//! with `--update check` or `--update install`. tauri-plugin-updater reads the manifest,
//! downloads the update and checks its signature; each step is told to the tray as a line on
//! stdout (`FromUpdater`). `install` then waits for the tray's word (its router has finished
//! its requests) before replacing the app.
//!
//! The manifest URL and public key are in `tauri.conf.json`. `NINEROUTER_UPDATE_URL`
//! overrides the URL, for self-hosted builds and tests; `NINEROUTER_UPDATE_PUBKEY` the signing
//! key, in debug builds only: in a release, the environment must never decide which
//! signatures an installed update needs.

use std::io::{BufRead as _, Write as _};
use std::time::Duration;

use tauri::{AppHandle, RunEvent};
use tauri_plugin_updater::{Update, Updater, UpdaterExt};

use crate::window_link::{FromUpdater, ToUpdater, UPDATE_CHECK, UPDATE_INSTALL, line, parse};

/// A check is one small request.
const CHECK_WITHIN: Duration = Duration::from_secs(30);
/// A download is the whole app, on whatever line the user has.
const DOWNLOAD_WITHIN: Duration = Duration::from_secs(15 * 60);

/// Runs one update step and exits.
pub fn run(step: Option<&str>) -> anyhow::Result<()> {
    let install = match step {
        Some(UPDATE_CHECK) => false,
        Some(UPDATE_INSTALL) => true,
        other => anyhow::bail!("unknown update step {other:?}"),
    };
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .setup(move |app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let code = if install {
                    install_step(&handle).await
                } else {
                    check_step(&handle).await
                };
                handle.exit(code);
            });
            Ok(())
        })
        .build(crate::window::context())?;
    // No Dock icon and no focus taken for a check in the background.
    #[cfg(target_os = "macos")]
    let mut app = app;
    #[cfg(target_os = "macos")]
    app.set_activation_policy(tauri::ActivationPolicy::Prohibited);
    app.run(|_, _: RunEvent| {});
    Ok(())
}

fn tell_tray(message: &FromUpdater) {
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(line(message).as_bytes())
        .and_then(|()| out.flush());
}

fn failed(reason: impl ToString) -> i32 {
    tell_tray(&FromUpdater::Failed {
        reason: reason.to_string(),
    });
    1
}

fn updater(app: &AppHandle, within: Duration) -> Result<Updater, tauri_plugin_updater::Error> {
    let mut builder = app.updater_builder().timeout(within);
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

/// The update the manifest offers, told to the tray; `Err` with the exit code when there is
/// none or the check failed (both told too).
async fn find(app: &AppHandle, within: Duration) -> Result<Update, i32> {
    let found = match updater(app, within) {
        Ok(updater) => updater.check().await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(update)) => {
            tell_tray(&FromUpdater::Found {
                version: update.version.clone(),
            });
            Ok(update)
        }
        Ok(None) => {
            tell_tray(&FromUpdater::UpToDate);
            Err(0)
        }
        Err(e) => Err(failed(e)),
    }
}

async fn check_step(app: &AppHandle) -> i32 {
    match find(app, CHECK_WITHIN).await {
        Ok(_) => 0,
        Err(code) => code,
    }
}

async fn install_step(app: &AppHandle) -> i32 {
    let update = match find(app, DOWNLOAD_WITHIN).await {
        Ok(update) => update,
        Err(code) => return code,
    };
    let mut received = 0usize;
    let mut last = None;
    // `download` checks the signature against the public key before returning the bytes.
    let bytes = update
        .download(
            |chunk, total| {
                received += chunk;
                let percent = total
                    .filter(|&t| t > 0)
                    .map(|t| ((received as u64 * 100) / t).min(100) as u8);
                if percent != last && percent.is_some_and(|p| p % 5 == 0) {
                    last = percent;
                    tell_tray(&FromUpdater::Progress { percent });
                }
            },
            || {},
        )
        .await;
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(e) => return failed(e),
    };
    tell_tray(&FromUpdater::Downloaded);
    let go = tauri::async_runtime::spawn_blocking(|| {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .any(|l| parse::<ToUpdater>(&l) == Some(ToUpdater::Install))
    })
    .await
    .unwrap_or(false);
    if !go {
        // The tray went away or changed its mind: nothing is replaced.
        return 0;
    }
    // On Windows the plugin hands over to the installer and this process ends here.
    match update.install(bytes) {
        Ok(()) => {
            tell_tray(&FromUpdater::Installed);
            0
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_debug_build_takes_its_signing_key_from_the_environment() {
        let key = pubkey_override(Some("key".into()));
        assert_eq!(key.is_some(), cfg!(debug_assertions));
        assert_eq!(pubkey_override(None), None);
    }
}
