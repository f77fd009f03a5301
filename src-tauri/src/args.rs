//! The desktop app's command line: the headless router's options (same flags and variables)
//! plus `--hidden`.

use std::path::PathBuf;

use clap::Parser;
use ninerouter::engine::{EngineOptions, default_data_dir};
use ninerouter::secrets::BackendChoice;

#[derive(Parser, Debug, Default)]
#[command(name = "ninerouter-desktop", version, about = "NineRouter in the tray")]
pub struct Args {
    /// Start in the tray only, without opening the dashboard (used for launch at login)
    #[arg(long)]
    pub hidden: bool,
    /// Port to listen on [default: 20128, or the config file's server.port]
    #[arg(long, env = "NINEROUTER_PORT")]
    pub port: Option<u16>,
    /// Where the database, preferences and (without a keychain) secrets live
    #[arg(long, env = "NINEROUTER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML file declaring providers, combos, aliases and proxy keys
    #[arg(long, env = "NINEROUTER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where secrets are kept: auto (keychain, else a 0600 file), keychain, file, memory
    #[arg(long, env = "NINEROUTER_SECRETS", default_value = "auto")]
    pub secrets: BackendChoice,
    /// Ignored: Windows' installer restarts the tray with the update installer's arguments,
    /// which begin with this (see `updates.rs`).
    #[arg(long, hide = true, value_name = "STEP")]
    pub update: Option<String>,
}

impl Args {
    /// Unknown arguments (macOS adds some when launched from Finder) are logged and ignored
    /// rather than refusing to start a tray app nobody sees the error of; the environment's
    /// settings still count.
    pub fn from_env() -> Self {
        Args::try_parse().unwrap_or_else(|e| {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                e.exit();
            }
            tracing::warn!("ignoring the command line: {e}");
            Args::try_parse_from(["ninerouter-desktop"]).unwrap_or_default()
        })
    }

    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            port: self.port,
            data_dir: self.data_dir.clone().unwrap_or_else(default_data_dir),
            config_file: self.config.clone(),
            secrets: self.secrets,
            ..EngineOptions::default()
        }
    }
}

/// Whether a (second) launch's arguments ask to stay in the tray.
pub fn wants_hidden(argv: &[String]) -> bool {
    argv.iter().any(|a| a == "--hidden")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tray_restarted_with_the_update_installers_arguments_keeps_its_own() {
        let args = Args::try_parse_from([
            "ninerouter-desktop",
            "--update",
            "install",
            "--hidden",
            "--port",
            "20130",
        ])
        .expect("parses");
        assert!(args.hidden);
        assert_eq!(args.port, Some(20130));
        assert!(wants_hidden(&["app".into(), "--hidden".into()]));
    }
}
