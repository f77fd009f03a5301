//! What the tray process and its dashboard window process tell each other: one JSON object a
//! line, over the window process's stdin (to it) and stdout (from it). The pipes are the two
//! processes' own; a ticket passes through them and is never logged.

use serde::{Deserialize, Serialize};

/// The flag that starts the binary as the dashboard window process.
pub const WINDOW_FLAG: &str = "--dashboard-window";

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
    }
}
