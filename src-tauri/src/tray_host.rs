//! Whether anything will show a tray icon. Some Linux desktops (GNOME without the
//! AppIndicator extension, bare window managers) have no StatusNotifier host; the shell then
//! opens its window at start, so the app is never unreachable.

#[cfg(target_os = "linux")]
pub fn available() -> bool {
    use std::time::Duration;
    let check = || -> Result<bool, dbus::Error> {
        let conn = dbus::blocking::Connection::new_session()?;
        let bus = conn.with_proxy(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            Duration::from_secs(2),
        );
        let (owned,): (bool,) = bus.method_call(
            "org.freedesktop.DBus",
            "NameHasOwner",
            ("org.kde.StatusNotifierWatcher",),
        )?;
        Ok(owned)
    };
    check().unwrap_or_else(|e| {
        tracing::info!("no session bus to find a tray host on: {e}");
        false
    })
}

/// macOS and Windows always have a menu bar / notification area.
#[cfg(not(target_os = "linux"))]
pub fn available() -> bool {
    true
}
