//! Start at login: one entry, named after the app, that starts the tray hidden. Both programs
//! change it (the tray menu and the dashboard's Settings), and both name the tray program, so
//! the entry is the same whichever wrote it.

use auto_launch::{AutoLaunch, AutoLaunchBuilder};

use crate::binaries;

const APP_NAME: &str = "NineRouter";

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("cannot find the app's program: {0}")]
    Program(#[from] std::io::Error),
    #[error("{0}")]
    Entry(#[from] auto_launch::Error),
}

/// The start-at-login entry for this install.
fn entry() -> Result<AutoLaunch, AutostartError> {
    let tray = binaries::tray_launcher()?;
    let mut builder = AutoLaunchBuilder::new();
    builder
        .set_app_name(APP_NAME)
        .set_app_path(&tray.display().to_string())
        .set_args(&["--hidden"]);
    #[cfg(target_os = "macos")]
    builder.set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
    Ok(builder.build()?)
}

pub fn is_enabled() -> Result<bool, AutostartError> {
    Ok(entry()?.is_enabled()?)
}

pub fn set(enabled: bool) -> Result<(), AutostartError> {
    let entry = entry()?;
    if enabled {
        entry.enable()?;
    } else {
        entry.disable()?;
    }
    Ok(())
}
