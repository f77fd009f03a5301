//! GL in the tray process. On X11, GTK loads the GL driver when it opens the display, to pick
//! visuals (Mesa's with LLVM is 50 MiB resident); the tray draws nothing with GL, so it turns
//! GTK's GL off for itself. The dashboard's window process draws with it and does not inherit
//! the setting.

use std::process::Command;

/// Set beside `GDK_GL` when the tray set it, so that a tray restarted with this environment
/// (after an update) still knows the setting for its own and not the user's.
const MARK: &str = "NINEROUTER_TRAY_GDK_GL";

/// Turns GTK's GL off for this process unless the user set `GDK_GL` themselves. Called first
/// thing in `main`, before any other thread exists: it changes the environment.
pub fn turn_off_for_the_tray() {
    if cfg!(target_os = "linux") && std::env::var_os("GDK_GL").is_none() {
        // SAFETY: no other thread runs yet, so none reads the environment meanwhile.
        unsafe {
            std::env::set_var("GDK_GL", "disable");
            std::env::set_var(MARK, "1");
        }
    }
}

/// Keeps the tray's own `GDK_GL` from a process it starts (the user's passes on).
pub fn keep_from(command: &mut Command) {
    if std::env::var_os(MARK).is_some() {
        command.env_remove("GDK_GL").env_remove(MARK);
    }
}
