//! The app's two programs: the tray (`ninerouter-desktop`, what users start) and the window
//! (`ninerouter-window`, which the tray starts for the dashboard and for installing updates).
//! They are installed side by side; each finds the other beside itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
        && running_from(std::env::var_os("APPDIR"))
    {
        return Ok(PathBuf::from(appimage));
    }
    beside(TRAY)
}

/// Whether this program runs from the AppImage mounted at `appdir` (the variables may be left
/// over from another AppImage that started this app).
fn running_from(appdir: Option<OsString>) -> bool {
    appdir.is_some_and(|dir| own().is_ok_and(|own| own.starts_with(dir)))
}

/// Starts the tray program anew with `args` (the restart after an update). On macOS through
/// LaunchServices (`open -n` on the app bundle), so that the new app does not inherit this
/// one's standard streams and session.
pub fn start_tray(args: &[OsString]) -> std::io::Result<()> {
    #[cfg(target_os = "macos")]
    if let Some(bundle) = own()?.as_path().ancestors().find(|p| is_bundle_of(p)) {
        let status = std::process::Command::new("/usr/bin/open")
            .arg("-n")
            .arg(bundle)
            .arg("--args")
            .args(args)
            .stdin(std::process::Stdio::null())
            .status()?;
        return if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "open -n ended with {status}"
            )))
        };
    }
    std::process::Command::new(tray_launcher()?)
        .args(args)
        .spawn()
        .map(drop)
}

/// Whether `dir` is an app bundle (`X.app`) holding its programs in `Contents/MacOS`.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
fn is_bundle_of(dir: &Path) -> bool {
    dir.extension().is_some_and(|e| e == "app") && dir.join("Contents/MacOS").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appimage_counts_only_when_this_program_runs_from_it() {
        let own = own().expect("own path");
        let dir = own.parent().map(|d| d.as_os_str().to_owned());
        assert!(running_from(dir));
        assert!(!running_from(Some("/tmp/.mount_Other".into())));
        assert!(!running_from(None));
    }

    #[test]
    fn an_app_bundle_is_a_dot_app_folder_with_its_programs_inside() {
        let dir = tempfile::tempdir().expect("dir");
        let bundle = dir.path().join("NineRouter.app");
        std::fs::create_dir_all(bundle.join("Contents/MacOS")).expect("bundle");
        assert!(is_bundle_of(&bundle));
        assert!(!is_bundle_of(&bundle.join("Contents")));
        let plain = dir.path().join("NotAnApp.app");
        std::fs::create_dir_all(&plain).expect("dir");
        assert!(!is_bundle_of(&plain));
    }

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
