//! NineRouter's desktop shell, two programs. The tray (`ninerouter-desktop`, `run_tray`) hosts
//! the router and shows the tray menu, start at login, notifications, single instance and
//! updates; it does not use Tauri, so it never links or loads WebKit. The window program
//! (`ninerouter-window`, `run_window`) is the dashboard window, and the update installer; the
//! tray starts it when it is needed and it ends when its work is done.

mod args;
mod autostart;
mod binaries;
mod clock;
mod control;
mod gl;
mod login_window;
mod menu;
mod notify;
mod prefs;
mod router;
mod shell;
mod single_instance;
mod tray;
mod tray_app;
mod tray_host;
mod update_helper;
mod updates;
mod window;
mod window_link;
mod window_process;

/// The tray program.
pub fn run_tray() -> anyhow::Result<()> {
    tray_app::run()
}

/// The window program: the dashboard window, or with `--update <step>` the update installer.
pub fn run_window() -> anyhow::Result<()> {
    ninerouter::logging::init();
    let mut args = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    if args.next().as_deref() == Some(window_link::UPDATE_FLAG) {
        return update_helper::run(args.next().as_deref());
    }
    window::run()
}
