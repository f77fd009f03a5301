//! Pointing the user's coding tools at the router: what each tool says now, a preview of the
//! change as a diff, the change (with a proxy key named after the tool), and the undo.

use serde::{Deserialize, Serialize};

use super::{KeyInput, ManageError, create_key, invalid};
use crate::setup::tools::{self, Target, Tool, ToolStatus};
use crate::setup::{Home, SetupError};
use crate::state::Core;

/// `POST /api/tools/{id}/preview` and `…/apply`: each defaults to this router, a new proxy key
/// named after the tool (or the router's key the tool already holds), and the active combo.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct ToolInput {
    pub url: Option<String>,
    pub key: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FilePreview {
    pub path: String,
    /// The file does not exist yet.
    pub created: bool,
    pub changed: bool,
    /// A unified diff; a key that would be created shows as `<new key>`.
    pub diff: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolPreview {
    pub tool: ToolStatus,
    pub url: String,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Which key the tool would hold: the one given, the router's key it already has, or a new
    /// one named after it.
    pub key: KeyChoice,
    pub files: Vec<FilePreview>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum KeyChoice {
    Given,
    Kept,
    New { name: String },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolApplied {
    pub tool: ToolStatus,
    pub files: Vec<String>,
    /// The proxy key made for the tool, if one was.
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_key: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ToolRestored {
    pub tool: ToolStatus,
    pub files: Vec<String>,
    /// The proxy key the setup had made for the tool, revoked.
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_key: Option<String>,
    /// Files changed since the setup, copied here before being put back.
    pub kept_aside: Vec<String>,
}

const NEW_KEY: &str = "<new key>";

/// Settings whose values are keys in the tools' files.
const SECRET_FIELDS: &[&str] = &[
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
    "experimental_bearer_token",
    "apiKey",
    "api_key",
];

/// A diff with every key's value cut to its last four characters: a preview shows which key,
/// never the key.
fn masked(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let Some(at) = SECRET_FIELDS
                .iter()
                .find_map(|f| line.find(f).map(|i| i + f.len()))
            else {
                return line.to_owned();
            };
            let rest = &line[at..];
            let Some(sep) = rest.find([':', '=']) else {
                return line.to_owned();
            };
            let value_at = at + sep + 1;
            let value = &line[value_at..];
            let start = value
                .find(|c: char| !matches!(c, ' ' | '"' | '\''))
                .unwrap_or(value.len());
            let token = &value[start..];
            let len = token.find(['"', '\'', ',', ' ']).unwrap_or(token.len());
            let secret = &token[..len];
            if secret.is_empty() || secret == NEW_KEY {
                return line.to_owned();
            }
            let tail = crate::catalog::tail(secret);
            format!(
                "{}{}…{tail}{}",
                &line[..value_at + start],
                "",
                &token[len..]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if diff.ends_with('\n') { "\n" } else { "" }
}

impl From<SetupError> for ManageError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::NothingToRestore(_) => Self::NotFound(e.to_string()),
            SetupError::Io { .. } => Self::Upstream(e.to_string()),
            other => invalid("files", other.to_string()),
        }
    }
}

fn home(core: &Core) -> Result<&Home, ManageError> {
    core.places.home.as_ref().ok_or_else(|| {
        invalid(
            "home",
            "the router knows no home directory to find tools in",
        )
    })
}

fn tool(id: &str) -> Result<&'static dyn Tool, ManageError> {
    tools::find(id).ok_or_else(|| ManageError::NotFound(format!("no tool '{id}'")))
}

fn status_of(core: &Core, tool: &dyn Tool) -> Result<ToolStatus, ManageError> {
    Ok(tools::status(
        tool,
        home(core)?,
        &core.places.tool_backups(),
        &core.listen.origin(),
    ))
}

pub fn list_tools(core: &Core) -> Result<Vec<ToolStatus>, ManageError> {
    tools::TOOLS.iter().map(|t| status_of(core, *t)).collect()
}

/// The URL a tool is given: an origin, without the `/v1` each tool adds its own way.
fn base_url(core: &Core, given: Option<&str>) -> Result<String, ManageError> {
    let Some(given) = given.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(core.listen.origin());
    };
    let url = url::Url::parse(given).map_err(|e| invalid("url", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("url", "must be an http:// or https:// URL"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "url",
            "must be a plain origin, like http://127.0.0.1:20128",
        ));
    }
    let text = url.as_str().trim_end_matches('/');
    Ok(text.strip_suffix("/v1").unwrap_or(text).to_owned())
}

/// The model a tool asks for: the one given, else the active combo, else the only combo.
fn model(core: &Core, given: Option<&str>) -> Option<String> {
    if let Some(m) = given.map(str::trim).filter(|m| !m.is_empty()) {
        return Some(m.to_owned());
    }
    core.active_combo().or_else(|| {
        let catalog = core.catalog();
        let mut names = catalog.combos.keys();
        match (names.next(), names.next()) {
            (Some(only), None) => Some(only.clone()),
            _ => None,
        }
    })
}

fn key_choice(
    core: &Core,
    tool: &dyn Tool,
    given: Option<&str>,
) -> Result<(KeyChoice, String), ManageError> {
    if let Some(k) = given.map(str::trim).filter(|k| !k.is_empty()) {
        if k.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(
                "key",
                "must not contain spaces or control characters",
            ));
        }
        return Ok((KeyChoice::Given, k.to_owned()));
    }
    let held = tool.read(home(core)?).ok().and_then(|p| p.key);
    if let Some(k) = held.filter(|k| core.catalog().key_id(k).is_some()) {
        return Ok((KeyChoice::Kept, k));
    }
    Ok((
        KeyChoice::New {
            name: tool.name().to_owned(),
        },
        NEW_KEY.to_owned(),
    ))
}

pub fn preview_tool(core: &Core, id: &str, input: ToolInput) -> Result<ToolPreview, ManageError> {
    let tool = tool(id)?;
    let url = base_url(core, input.url.as_deref())?;
    let model = model(core, input.model.as_deref());
    let (key, text) = key_choice(core, tool, input.key.as_deref())?;
    let target = Target {
        base: url.clone(),
        key: text,
        model: model.clone(),
    };
    let changes = tools::plan(tool, home(core)?, &target)?;
    Ok(ToolPreview {
        tool: status_of(core, tool)?,
        url,
        model,
        key,
        files: changes
            .iter()
            .map(|c| FilePreview {
                path: c.path.display().to_string(),
                created: c.before.is_none(),
                changed: c.changes_anything(),
                diff: masked(&c.diff()),
            })
            .collect(),
    })
}

pub async fn apply_tool(
    core: &Core,
    id: &str,
    input: ToolInput,
) -> Result<ToolApplied, ManageError> {
    let tool = tool(id)?;
    let home = home(core)?.clone();
    let url = base_url(core, input.url.as_deref())?;
    let model = model(core, input.model.as_deref());
    let (choice, mut key) = key_choice(core, tool, input.key.as_deref())?;
    // Checked before a key is made for it, so a refusal leaves nothing behind.
    let probe = Target {
        base: url.clone(),
        key: key.clone(),
        model: model.clone(),
    };
    tools::plan(tool, &home, &probe)?;
    let mut created = None;
    if let KeyChoice::New { name } = &choice {
        let made = create_key(
            core,
            KeyInput {
                name: name.clone(),
                limits: Default::default(),
            },
        )
        .await?;
        key = made.key;
        created = Some(made.record.id);
    }
    let target = Target {
        base: url,
        key,
        model,
    };
    let backups = core.places.tool_backups();
    let made = created.clone();
    let result =
        tokio::task::spawn_blocking(move || tools::apply(tool, &home, &backups, &target, made))
            .await
            .map_err(|e| ManageError::Upstream(e.to_string()))?;
    let changes = match result {
        Ok(c) => c,
        Err(e) => {
            if let Some(id) = &created {
                let _ = super::delete_key(core, id).await;
            }
            return Err(e.into());
        }
    };
    tracing::info!(
        tool = tool.id(),
        files = changes.len(),
        "pointed a tool at the router"
    );
    Ok(ToolApplied {
        tool: status_of(core, tool)?,
        files: changes
            .iter()
            .map(|c| c.path.display().to_string())
            .collect(),
        created_key: created.and(Some(tool.name().to_owned())),
    })
}

pub async fn restore_tool(core: &Core, id: &str) -> Result<ToolRestored, ManageError> {
    let tool = tool(id)?;
    let home = home(core)?.clone();
    let backups = core.places.tool_backups();
    let made = tools::created_key(tool, &backups);
    let restored = tokio::task::spawn_blocking(move || tools::restore(tool, &home, &backups))
        .await
        .map_err(|e| ManageError::Upstream(e.to_string()))??;
    tracing::info!(tool = tool.id(), "restored a tool's own setup");
    // The key made for the tool goes with its setup (gone already if the user revoked it).
    let mut revoked_key = None;
    if let Some(id) = made {
        let name = super::list_keys(core)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .map(|k| k.name);
        if let Some(name) = name {
            super::delete_key(core, &id).await?;
            revoked_key = Some(name);
        }
    }
    let shown = |p: Vec<std::path::PathBuf>| p.iter().map(|p| p.display().to_string()).collect();
    Ok(ToolRestored {
        tool: status_of(core, tool)?,
        files: shown(restored.files),
        kept_aside: shown(restored.kept_aside),
        revoked_key,
    })
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn a_preview_shows_which_key_never_the_key() {
        let diff = "-    \"ANTHROPIC_API_KEY\": \"sk-ant-secret-1234\",\n+experimental_bearer_token = \"sk-nr-abcdefgh5678\"\n+GEMINI_API_KEY=AIzaSecret9999\n+  \"apiKey\": \"<new key>\"\n context\n";
        let out = masked(diff);
        assert!(
            !out.contains("secret-1234")
                && !out.contains("abcdefgh")
                && !out.contains("AIzaSecret"),
            "{out}"
        );
        assert!(out.contains("\"ANTHROPIC_API_KEY\": \"…1234\","), "{out}");
        assert!(
            out.contains("experimental_bearer_token = \"…5678\""),
            "{out}"
        );
        assert!(out.contains("GEMINI_API_KEY=…9999"), "{out}");
        assert!(
            out.contains("<new key>") && out.ends_with(" context\n"),
            "{out}"
        );
    }
}
