//! `.cargo/link-hot-first`, the linker script that lays out release binaries' hot functions
//! first: what it hands the linker, run on a real object file with a stand-in `cc` that
//! records it.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/link-hot-first");

/// An object with Rust-mangled functions under this build's hashes: `hot::path`, two instances
/// of `hot::generic` (u32 and i32), a legacy-mangled `cold::fn`, and an unlisted one.
fn object(dir: &Path) -> PathBuf {
    let source = dir.join("hot.c");
    std::fs::write(
        &source,
        "void _RNvCsaBcDeFgHiJk_3hot4path(void) {}\n\
         void _RINvCsaBcDeFgHiJk_3hot7genericmE(void) {}\n\
         void _RINvCsaBcDeFgHiJk_3hot7genericlE(void) {}\n\
         void _ZN4cold2fn17h0123456789abcdefE(void) {}\n\
         void _RNvCsaBcDeFgHiJk_3hot6unlisted(void) {}\n",
    )
    .unwrap();
    let object = dir.join("hot.o");
    let built = Command::new("cc")
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .status()
        .unwrap();
    assert!(built.success());
    object
}

/// Runs the script with `args` and a `cc` that writes its arguments, one a line, and the
/// ordering file it was given; returns both.
fn link(dir: &Path, args: &[&str]) -> (Vec<String>, Option<String>) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cc = bin.join("cc");
    std::fs::write(
        &cc,
        "#!/bin/sh\nout=\"$(dirname \"$0\")/..\"\n: > \"$out/args\"\nfor a do\n  printf '%s\\n' \"$a\" >> \"$out/args\"\n  case $a in -Wl,--symbol-ordering-file=*) cp \"${a#*=}\" \"$out/given\" ;; esac\ndone\n",
    )
    .unwrap();
    std::fs::set_permissions(&cc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_file(dir.join("given"));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let status = Command::new(SCRIPT)
        .args(args)
        .env("PATH", path)
        .status()
        .unwrap();
    assert!(status.success());
    let args = std::fs::read_to_string(dir.join("args"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (args, std::fs::read_to_string(dir.join("given")).ok())
}

#[test]
fn hot_names_become_this_links_symbols_and_only_lld_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    let object = object(dir.path());
    let object = object.to_str().unwrap();
    // Names as another build wrote them: no hashes, so they outlive a new compiler.
    let order = dir.path().join("hot-functions.txt");
    std::fs::write(
        &order,
        "# comment\nhot::generic::<u32>\ncold::fn\nsqlite3Fake\nhot::path\n",
    )
    .unwrap();
    let ordering = format!("-Wl,--symbol-ordering-file={}", order.display());
    let quiet = "-Wl,--no-warn-symbol-ordering";

    let (args, given) = link(
        dir.path(),
        &["-fuse-ld=lld", object, &ordering, quiet, "-o", "out"],
    );
    assert_eq!(
        given.as_deref(),
        Some(
            "_RINvCsaBcDeFgHiJk_3hot7genericmE\n_ZN4cold2fn17h0123456789abcdefE\nsqlite3Fake\n_RNvCsaBcDeFgHiJk_3hot4path\n"
        ),
        "the u32 instance only, this build's symbols, C names as they are"
    );
    assert!(args.iter().any(|a| a == quiet), "{args:?}");
    assert!(
        !args.iter().any(|a| a == &ordering),
        "the names file itself is not LLD's: {args:?}"
    );

    // GNU ld knows neither flag: it gets the plain link.
    let (args, given) = link(dir.path(), &[object, &ordering, quiet, "-o", "out"]);
    assert_eq!(args, [object, "-o", "out"]);
    assert!(given.is_none());

    // A link that asks for no layout (every debug build) is passed through untouched.
    let (args, _) = link(dir.path(), &["-fuse-ld=lld", object, "-o", "out"]);
    assert_eq!(args, ["-fuse-ld=lld", object, "-o", "out"]);
}
