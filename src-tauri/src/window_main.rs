// No console window behind the dashboard on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> anyhow::Result<()> {
    ninerouter_desktop::run_window()
}
