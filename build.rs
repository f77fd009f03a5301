//! The dashboard is embedded from `ui/dist`; a checkout where the UI has not been built yet
//! still compiles (the server then says how to build it). Release binaries linked by
//! `.cargo/link-hot-first` get their hot functions laid out first.

include!(".cargo/hot_layout.rs");

fn main() {
    let dist = std::path::Path::new("ui/dist");
    if !dist.exists()
        && let Err(e) = std::fs::create_dir_all(dist)
    {
        println!("cargo:warning=cannot create ui/dist: {e}");
    }
    println!("cargo:rerun-if-changed=ui/dist");
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    hot_functions_first(&root.join(".cargo/hot-functions.txt"));
}
