// Shared by the engine's and the desktop shell's build scripts (`include!`): release binaries
// linked by `.cargo/link-hot-first` get the functions in `order` laid out first.

/// Only with the project's linker script, which knows the flags (and drops them for a linker
/// other than LLD): a linker configured otherwise gets none.
fn hot_functions_first(order: &std::path::Path) {
    println!("cargo:rerun-if-changed={}", order.display());
    let ours = std::env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("link-hot-first"));
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if ours && release && order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
