//! GL in the tray process. On X11, GTK loads the GL driver when it opens the display, to pick
//! visuals (Mesa's with LLVM is 50 MiB resident); the tray draws nothing with GL, so it turns
//! GTK's GL off for itself. The dashboard's window process draws with it and does not inherit
//! the setting.

use std::sync::atomic::{AtomicBool, Ordering};

static TURNED_OFF: AtomicBool = AtomicBool::new(false);

/// Turns GTK's GL off for this process unless the user set `GDK_GL` themselves. Called first
/// thing in `main`, before any other thread exists: it changes the environment.
pub fn turn_off_for_the_tray() {
    if cfg!(target_os = "linux") && std::env::var_os("GDK_GL").is_none() {
        // SAFETY: no other thread runs yet, so none reads the environment meanwhile.
        unsafe { std::env::set_var("GDK_GL", "disable") };
        TURNED_OFF.store(true, Ordering::Relaxed);
    }
}

/// Whether `GDK_GL` is this process's own setting (and not to be passed on).
pub fn turned_off_here() -> bool {
    TURNED_OFF.load(Ordering::Relaxed)
}
