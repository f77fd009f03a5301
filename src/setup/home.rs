//! Whose tools are set up: a home directory and the environment variables the tools read
//! to find their config (`CODEX_HOME`, `CLAUDE_CONFIG_DIR`, `XDG_CONFIG_HOME`, …).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The variables the tools' config locations depend on; only these are captured.
pub const VARS: &[&str] = &[
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "XDG_CONFIG_HOME",
    "OPENCODE_CONFIG",
    "FACTORY_HOME",
    "OPENCLAW_STATE_DIR",
    "OPENCLAW_CONFIG_PATH",
    "OPENCLAW_HOME",
    "CONTINUE_GLOBAL_DIR",
    "DATA_DIR",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub dir: PathBuf,
    vars: BTreeMap<String, String>,
    path: Vec<PathBuf>,
}

impl Home {
    /// This process's user: `$HOME` (the platform's home elsewhere), its variables and `PATH`.
    pub fn from_process() -> Option<Self> {
        let dir = directories::BaseDirs::new()?.home_dir().to_path_buf();
        let vars = VARS
            .iter()
            .filter_map(|v| Some(((*v).to_owned(), std::env::var(v).ok()?)))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        let path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        Some(Self { dir, vars, path })
    }

    /// A home of its own (tests, a sandbox): no variables, nothing on `PATH` but `bin`.
    pub fn isolated(dir: &Path, bin: Option<&Path>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            vars: BTreeMap::new(),
            path: bin.map(Path::to_path_buf).into_iter().collect(),
        }
    }

    pub fn with_var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// A variable's value, when set and not empty.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A directory a variable names, else `default` under the home.
    pub fn dir_from(&self, var: &str, default: &str) -> PathBuf {
        self.var(var)
            .map_or_else(|| self.dir.join(default), PathBuf::from)
    }

    /// `~/.config`, or `$XDG_CONFIG_HOME`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir_from("XDG_CONFIG_HOME", ".config")
    }

    /// Whether an executable of this name is on `PATH`.
    pub fn has_binary(&self, name: &str) -> bool {
        let names: Vec<String> = if cfg!(windows) {
            ["exe", "cmd", "bat"]
                .iter()
                .map(|e| format!("{name}.{e}"))
                .collect()
        } else {
            vec![name.to_owned()]
        };
        self.path
            .iter()
            .any(|d| names.iter().any(|n| d.join(n).is_file()))
    }
}
