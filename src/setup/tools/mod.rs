//! The coding tools NineRouter can point at itself: one module per tool, each knowing where
//! the tool keeps its config, what its files say now, and how they read once pointed here.

mod claude_code;
mod codex;
mod continue_dev;
mod droid;
mod gemini_cli;
mod openclaw;
mod opencode;

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::edit::{Applied, Backups, FileChange, Restored, SetupError};
use super::home::Home;

/// What a tool is pointed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The router's origin, `http://127.0.0.1:20128` (each tool adds its own path).
    pub base: String,
    pub key: String,
    /// The model string the tool asks for (a combo, an alias, `provider/model`); `None`
    /// leaves the tool's own choice.
    pub model: Option<String>,
}

/// What a tool's files say now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointing {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub key: Option<String>,
}

pub trait Tool: Send + Sync {
    /// `claude-code`, as the CLI and the API name it.
    fn id(&self) -> &'static str;
    fn name(&self) -> &'static str;
    /// Executables whose presence on `PATH` says it is installed.
    fn binaries(&self) -> &'static [&'static str];
    /// Where it keeps its config; NineRouter writes nowhere else for it. The first is the
    /// one whose existence also says it is installed.
    fn roots(&self, home: &Home) -> Vec<PathBuf>;
    /// What its files say now.
    fn read(&self, home: &Home) -> Result<Pointing, SetupError>;
    /// Its files as they would be once pointed at `target` (everything else in them kept).
    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError>;
    /// It cannot work without a model named (a provider entry lists its models).
    fn needs_model(&self) -> bool {
        true
    }
    /// What the user should know about how the tool reads its setup.
    fn note(&self) -> Option<&'static str> {
        None
    }
}

pub static TOOLS: &[&dyn Tool] = &[
    &claude_code::ClaudeCode,
    &codex::Codex,
    &gemini_cli::GeminiCli,
    &opencode::OpenCode,
    &droid::Droid,
    &openclaw::OpenClaw,
    &continue_dev::Continue,
];

pub fn find(id: &str) -> Option<&'static dyn Tool> {
    TOOLS.iter().copied().find(|t| t.id() == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum ToolState {
    NotInstalled,
    /// Installed, its files name no router.
    NotConfigured,
    /// Pointed at this router.
    Configured,
    /// Pointed at another base URL.
    Elsewhere,
    /// NineRouter set it up, and its files have been changed since.
    Drifted,
    /// Its files cannot be read.
    Unreadable,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolStatus {
    pub id: String,
    pub name: String,
    pub installed: bool,
    pub state: ToolState,
    /// The base URL its files name.
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// NineRouter holds a backup: `restore` puts the files back.
    pub restorable: bool,
    /// Its config directory.
    pub dir: String,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where a tool stands against the router at `router_base`.
pub fn status(tool: &dyn Tool, home: &Home, backups: &Path, router_base: &str) -> ToolStatus {
    let roots = tool.roots(home);
    let installed = tool.binaries().iter().any(|b| home.has_binary(b))
        || roots.first().is_some_and(|r| r.is_dir());
    let backups = Backups::new(backups, tool.id());
    let manifest = backups.manifest();
    let mut out = ToolStatus {
        id: tool.id().into(),
        name: tool.name().into(),
        installed,
        state: ToolState::NotConfigured,
        base_url: None,
        model: None,
        restorable: matches!(manifest, Ok(Some(_))),
        dir: roots
            .first()
            .map(|r| r.display().to_string())
            .unwrap_or_default(),
        error: None,
        note: tool.note().map(str::to_owned),
    };
    let pointing = match (tool.read(home), manifest) {
        (Ok(p), Ok(m)) => (p, m),
        (Err(e), _) | (_, Err(e)) => {
            out.state = ToolState::Unreadable;
            out.error = Some(e.to_string());
            return out;
        }
    };
    let (pointing, manifest) = pointing;
    out.base_url = pointing.base_url.clone();
    out.model = pointing.model.clone();
    let here = pointing
        .base_url
        .as_deref()
        .is_some_and(|u| same_origin(u, router_base));
    // Drifted: what NineRouter wrote no longer holds (the user or the tool changed it).
    let drifted = manifest.as_ref().is_some_and(|m| {
        let still = pointing
            .base_url
            .as_deref()
            .is_some_and(|u| same_origin(u, &m.applied.base_url));
        // A model is compared only when one was written (a tool may keep its own).
        !still || (m.applied.model.is_some() && pointing.model != m.applied.model)
    });
    out.state = if drifted {
        ToolState::Drifted
    } else if here {
        ToolState::Configured
    } else if pointing.base_url.is_some() {
        ToolState::Elsewhere
    } else if installed {
        ToolState::NotConfigured
    } else {
        ToolState::NotInstalled
    };
    out
}

/// The files `tool` would have once pointed at `target`, with what they hold now.
pub fn plan(tool: &dyn Tool, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
    if tool.needs_model() && target.model.is_none() {
        return Err(SetupError::Invalid(format!(
            "{} needs a model to ask for: name a combo or provider/model",
            tool.name()
        )));
    }
    let changes = tool.plan(home, target)?;
    let roots = tool.roots(home);
    for c in &changes {
        super::edit::confined(&c.path, &roots)?;
    }
    Ok(changes)
}

/// Points `tool` at `target`, backing up what it replaces; `created_key` names the proxy key
/// made for it, for the restore to revoke.
pub fn apply(
    tool: &dyn Tool,
    home: &Home,
    backups: &Path,
    target: &Target,
    created_key: Option<String>,
) -> Result<Vec<FileChange>, SetupError> {
    let changes = plan(tool, home, target)?;
    let applied = Applied {
        base_url: target.base.clone(),
        model: target.model.clone(),
        at_ms: crate::clock::now_ms(),
        created_key,
    };
    Backups::new(backups, tool.id()).apply(&tool.roots(home), &changes, applied)?;
    Ok(changes)
}

/// The proxy key a setup of `tool` made, if one did.
pub fn created_key(tool: &dyn Tool, backups: &Path) -> Option<String> {
    Backups::new(backups, tool.id())
        .manifest()
        .ok()
        .flatten()
        .and_then(|m| m.applied.created_key)
}

/// Puts the tool's files back as they were before NineRouter first set it up.
pub fn restore(tool: &dyn Tool, home: &Home, backups: &Path) -> Result<Restored, SetupError> {
    Backups::new(backups, tool.id()).restore(&tool.roots(home))
}

/// Whether two base URLs reach the same router (`localhost` is `127.0.0.1`; a trailing
/// `/v1` or `/` does not matter).
pub fn same_origin(a: &str, b: &str) -> bool {
    fn origin(u: &str) -> Option<(String, String, u16)> {
        let url = url::Url::parse(u.trim()).ok()?;
        let host = match url.host_str()? {
            "localhost" | "[::1]" | "::1" => "127.0.0.1".to_owned(),
            h => h.to_ascii_lowercase(),
        };
        Some((url.scheme().to_owned(), host, url.port_or_known_default()?))
    }
    origin(a).is_some_and(|o| Some(o) == origin(b))
}

#[cfg(test)]
mod tests;
