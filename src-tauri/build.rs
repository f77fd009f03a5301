fn main() {
    // The app's own commands, which capabilities must name to let a window call them.
    let manifest = tauri_build::AppManifest::new().commands(&["open_login"]);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step failed: {e:#}");
    }
}
