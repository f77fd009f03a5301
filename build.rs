//! The dashboard is embedded from `ui/dist`; a checkout where the UI has not been built yet
//! still compiles (the server then says how to build it). Release binaries linked by
//! `.cargo/link-hot-first` get their hot functions laid out first.

use std::env;

fn main() {
    let dist = std::path::Path::new("ui/dist");
    if !dist.exists()
        && let Err(e) = std::fs::create_dir_all(dist)
    {
        println!("cargo:warning=cannot create ui/dist: {e}");
    }
    println!("cargo:rerun-if-changed=ui/dist");
    hot_functions_first();
}

/// Only with the project's linker script, which knows the flags (and drops them for a linker
/// other than LLD): a linker configured otherwise gets none.
fn hot_functions_first() {
    const ORDER: &str = ".cargo/hot-functions.txt";
    println!("cargo:rerun-if-changed={ORDER}");
    let ours = env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("link-hot-first"));
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let Ok(dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = std::path::Path::new(&dir).join(ORDER);
    if ours && release && order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
