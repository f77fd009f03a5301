//! What the tray process and the window program it starts tell each other, as the dashboard
//! window or as the update installer: one JSON object a line, over the child's stdin (to it)
//! and stdout (from it). The pipes are the two processes' own; a ticket passes through them
//! and is never logged.

use serde::{Deserialize, Serialize};

/// Starts the window program as the update installer, followed by the step
/// (`UPDATE_CHECK` or `UPDATE_INSTALL`); without it, the program is the dashboard window.
pub const UPDATE_FLAG: &str = "--update";
pub const UPDATE_CHECK: &str = "check";
pub const UPDATE_INSTALL: &str = "install";

/// From the tray to the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToWindow {
    /// Show this page (the window is made by the first one).
    Show(Place),
    /// Bring the window forward.
    Focus,
}

/// What the window shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The engine's dashboard, entered through a one-time ticket URL.
    Dashboard { entry: String },
    /// A page bundled with the app: the router is starting, or not running.
    Offline { page: String },
}

/// From the window to the tray.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWindow {
    /// A login window was sent on to its redirect URI: the engine finishes the login with
    /// that address, as a paste would.
    LoginLanded { login_id: String, landed: String },
    /// The dashboard was closed; the process ends next.
    Closed,
}

/// From the update installer to the tray, in the order they come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromUpdater {
    /// The manifest offers this version (newer than the running one).
    Found { version: String },
    /// Nothing newer; the installer ends.
    UpToDate,
    /// Downloading: how much of it is here, when the size is known.
    Progress { percent: Option<u8> },
    /// Downloaded and its signature checked: the installer waits for `ToUpdater::Install`.
    Downloaded,
    /// The app's files are replaced: the tray starts the new one.
    Installed,
    /// The step failed; the installer ends.
    Failed { reason: String },
}

/// From the tray to the update installer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToUpdater {
    /// The router has stopped: replace the app now.
    Install,
}

/// One message as its line (with the newline).
pub fn line<T: Serialize>(message: &T) -> String {
    let mut text = serde_json::to_string(message).unwrap_or_default();
    text.push('\n');
    text
}

/// A line read back; `None` for anything else (a stray line is ignored, not obeyed).
pub fn parse<T: for<'de> Deserialize<'de>>(line: &str) -> Option<T> {
    serde_json::from_str(line.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_as_lines_and_strays_are_ignored() {
        let show = ToWindow::Show(Place::Dashboard {
            entry: "http://127.0.0.1:20128/api/auth/desktop?ticket=t".into(),
        });
        let text = line(&show);
        assert!(text.ends_with('\n') && !text.trim_end().contains('\n'));
        assert_eq!(parse::<ToWindow>(&text), Some(show));
        assert_eq!(
            parse::<ToWindow>(&line(&ToWindow::Focus)),
            Some(ToWindow::Focus)
        );
        let landed = FromWindow::LoginLanded {
            login_id: "l1".into(),
            landed: "https://x/cb?code=c".into(),
        };
        assert_eq!(parse::<FromWindow>(&line(&landed)), Some(landed));
        assert_eq!(parse::<FromWindow>("Gtk-WARNING: something"), None);
        let progress = FromUpdater::Progress { percent: Some(45) };
        assert_eq!(parse::<FromUpdater>(&line(&progress)), Some(progress));
        assert_eq!(
            parse::<ToUpdater>(&line(&ToUpdater::Install)),
            Some(ToUpdater::Install)
        );
    }
}
