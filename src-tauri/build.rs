// The router runs inside the tray program: its hot functions go first there too.
include!("../.cargo/hot_layout.rs");

fn main() {
    // The app's own commands, which capabilities must name to let a window call them.
    let manifest = tauri_build::AppManifest::new().commands(&["open_login"]);
    // Start at login for the dashboard, under the name the dashboard calls
    // (`plugin:autostart|…`), done by the app's own `autostart` module: the entry it writes
    // starts the tray program, whichever program writes it.
    let autostart =
        tauri_build::InlinedPlugin::new().commands(&["enable", "disable", "is_enabled"]);
    let attributes = tauri_build::Attributes::new()
        .app_manifest(manifest)
        .plugin("autostart", autostart);
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
    // The tray program calls no Tauri: GNU ld's --as-needed (rustc's default on Linux) drops
    // WebKit from it; Apple's linker keeps every framework it is given unless told.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-link-arg-bin=ninerouter-desktop=-Wl,-dead_strip_dylibs");
    }
    let shell = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    hot_functions_first(&shell.join("../.cargo/hot-functions.txt"));
}
