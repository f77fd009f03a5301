//! `ninerouter import` (another router's setup), `ninerouter export` and
//! `ninerouter import-setup` (the encrypted setup file): each shows what it finds first.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use super::remote::{Remote, RouterArgs};

/// The passphrase: `NINEROUTER_PASSPHRASE`, else asked on the terminal (twice when making a
/// file), else the first line of standard input (scripts).
fn passphrase(confirm: bool) -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("NINEROUTER_PASSPHRASE")
        && !p.is_empty()
    {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Setup file passphrase: ")?;
        if confirm {
            let again = rpassword::prompt_password("Again: ")?;
            anyhow::ensure!(first == again, "the two passphrases differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Asks before a change unless `--yes`; without a terminal, only `--yes` goes on.
fn confirmed(yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        println!("Nothing was changed: run again with --yes to apply.");
        return Ok(false);
    }
    print!("Apply? [y/N] ");
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Prints a preview or a result, one line an item, then the counts.
fn print_report(report: &Value) {
    let items = report["items"].as_array().cloned().unwrap_or_default();
    let applied = report["applied"].as_bool().unwrap_or(false);
    if let Some(path) = report["path"].as_str() {
        println!(
            "From {} at {path}:",
            report["source"].as_str().unwrap_or("?")
        );
    } else {
        println!(
            "From a setup file made by {}:",
            report["source"].as_str().unwrap_or("?")
        );
    }
    for it in &items {
        let action = match (it["action"].as_str().unwrap_or(""), applied) {
            ("create", false) => "will create",
            ("create", true) => "created",
            ("present", _) => "already here",
            ("conflict", _) => "conflict, left alone",
            _ => "skipped",
        };
        let reason = it["reason"]
            .as_str()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!(
            "  {:<8} {:<40} {action}{reason}",
            it["kind"].as_str().unwrap_or(""),
            it["name"].as_str().unwrap_or("")
        );
    }
    let count = |a: &str| items.iter().filter(|i| i["action"] == a).count();
    println!(
        "{} to create, {} already here, {} conflicts, {} skipped.",
        count("create"),
        count("present"),
        count("conflict"),
        count("skip")
    );
}

pub async fn import_peer(
    source: &str,
    from: Option<PathBuf>,
    yes: bool,
    router: &RouterArgs,
) -> anyhow::Result<()> {
    let remote = Remote::new(router)?;
    let path = from
        .map(|p| std::path::absolute(&p).with_context(|| format!("{}", p.display())))
        .transpose()?;
    let body = json!({ "source": source, "path": path });
    let preview: Value = remote.post(&["import", "preview"], &body).await?;
    print_report(&preview);
    let creates = preview["items"]
        .as_array()
        .is_some_and(|i| i.iter().any(|x| x["action"] == "create"));
    if !creates {
        println!("Nothing to import.");
        return Ok(());
    }
    if confirmed(yes)? {
        let done: Value = remote.post(&["import", "apply"], &body).await?;
        print_report(&done);
    }
    Ok(())
}

pub async fn export(out: &Path, with_usage: bool, router: &RouterArgs) -> anyhow::Result<()> {
    let remote = Remote::new(router)?;
    let passphrase = passphrase(true)?;
    let body = json!({ "passphrase": passphrase, "includeUsage": with_usage });
    let bytes = remote.post_bytes(&["setup", "export"], &body).await?;
    // Owner-only from the start: the file holds every key and login, if encrypted.
    write_private(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "Wrote the setup to {} ({} bytes). Keep the passphrase: it cannot be recovered.",
        out.display(),
        bytes.len()
    );
    Ok(())
}

/// A new owner-only file: an existing one (or a link by that name) is replaced, never written
/// through, so the setup never lands in a file others can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub async fn import_setup(file: &Path, yes: bool, router: &RouterArgs) -> anyhow::Result<()> {
    let remote = Remote::new(router)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.is_empty() {
        bail!("{} is empty", file.display());
    }
    let passphrase = passphrase(false)?;
    let body = json!({
        "passphrase": passphrase,
        "file": base64::engine::general_purpose::STANDARD.encode(&bytes),
    });
    let preview: Value = remote.post(&["setup", "preview"], &body).await?;
    print_report(&preview);
    if confirmed(yes)? {
        let done: Value = remote.post(&["setup", "import"], &body).await?;
        print_report(&done);
    }
    Ok(())
}
