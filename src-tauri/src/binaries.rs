//! The app's two programs: the tray (`ninerouter-desktop`, what users start) and the window
//! (`ninerouter-window`, which the tray starts for the dashboard and for installing updates).
//! They are installed side by side; each finds the other beside itself.

use std::path::PathBuf;

pub const TRAY: &str = "ninerouter-desktop";
pub const WINDOW: &str = "ninerouter-window";

/// This process's binary. After a package upgrade replaced the file, Linux names the running
/// one "… (deleted)": the path is the new one's.
pub fn own() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let replaced = exe
        .to_str()
        .and_then(|path| path.strip_suffix(" (deleted)"))
        .map(PathBuf::from);
    Ok(replaced.unwrap_or(exe))
}

/// The app's program `name`, beside this one.
pub fn beside(name: &str) -> std::io::Result<PathBuf> {
    let own = own()?;
    let dir = own
        .parent()
        .ok_or_else(|| std::io::Error::other("the app's binary has no folder"))?;
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// What starts the tray: the AppImage when the app runs from one (its programs live in a mount
/// that goes away with it), else the tray program. For start at login and for the restart
/// after an update.
pub fn tray_launcher() -> std::io::Result<PathBuf> {
    if cfg!(target_os = "linux")
        && let Some(appimage) = std::env::var_os("APPIMAGE")
    {
        return Ok(PathBuf::from(appimage));
    }
    beside(TRAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_programs_are_found_beside_each_other() {
        let window = beside(WINDOW).expect("a path");
        let own = own().expect("own path");
        assert_eq!(window.parent(), own.parent());
        assert_eq!(
            window.file_name().and_then(|n| n.to_str()),
            Some(format!("{WINDOW}{}", std::env::consts::EXE_SUFFIX).as_str())
        );
    }
}
