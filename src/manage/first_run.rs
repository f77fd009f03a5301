//! The first run: a router with no accounts offers, in one step, to import the CLI logins it
//! finds on this machine, make a combo of them, and point the coding tools it finds at it.
//! Nothing is written before the user asks.

use serde::{Deserialize, Serialize};

use super::{
    ComboInput, ManageError, ToolInput, apply_tool, create_combo, import_login, list_tools,
    preview_import,
};
use crate::auth::Found;
use crate::setup::tools::{ToolState, ToolStatus};
use crate::state::Core;

/// The combo the first run makes of the logins it imported.
pub const FIRST_COMBO: &str = "main";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FoundLogin {
    pub provider: String,
    pub provider_name: String,
    /// The app the login comes from ("Codex CLI").
    pub app: String,
    pub found: Found,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FirstRun {
    /// No account yet: the dashboard offers the first-run step.
    pub empty: bool,
    pub logins: Vec<FoundLogin>,
    /// Tools installed here and not yet pointed at the router.
    pub tools: Vec<ToolStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FirstRunInput {
    /// Providers whose app login to import.
    #[serde(default)]
    pub logins: Vec<String>,
    /// Tools to point at the router.
    #[serde(default)]
    pub tools: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FirstRunDone {
    /// The accounts made, `provider · name`.
    pub imported: Vec<String>,
    #[cfg_attr(test, ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combo: Option<String>,
    pub tools: Vec<String>,
    /// What could not be done, one sentence each.
    pub problems: Vec<String>,
}

pub fn first_run(core: &Core) -> FirstRun {
    let empty = core.catalog().accounts().is_empty();
    let mut logins = Vec::new();
    if empty {
        for p in crate::providers::registry() {
            let Some(source) = core
                .proxy
                .tokens
                .login(p.id)
                .and_then(|l| l.import_source())
            else {
                continue;
            };
            if let Ok(found) = preview_import(core, p.id) {
                logins.push(FoundLogin {
                    provider: p.id.to_owned(),
                    provider_name: p.name.to_owned(),
                    app: source.app.to_owned(),
                    found,
                });
            }
        }
    }
    let tools = list_tools(core)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| {
            t.installed && matches!(t.state, ToolState::NotConfigured | ToolState::Elsewhere)
        })
        .collect();
    FirstRun {
        empty,
        logins,
        tools,
    }
}

/// The model a combo made of a fresh login starts with: the provider's first listed model,
/// or, for Claude (whose models are not listed), its everyday one.
fn everyday_model(provider: &str) -> Option<String> {
    let def = crate::providers::find(provider)?;
    let model = def.models.first().copied().or(match provider {
        "claude" => Some("claude-sonnet-4-5"),
        _ => None,
    })?;
    Some(format!("{}/{model}", def.display_prefix()))
}

pub async fn complete_first_run(
    core: &Core,
    input: FirstRunInput,
) -> Result<FirstRunDone, ManageError> {
    let mut done = FirstRunDone::default();
    let mut members = Vec::new();
    for provider in &input.logins {
        match import_login(core, provider, None).await {
            Ok((_, name)) => {
                done.imported.push(format!("{provider} · {name}"));
                members.extend(everyday_model(provider));
            }
            Err(e) => done.problems.push(format!("{provider}: {e}")),
        }
    }
    if !members.is_empty() && !core.catalog().combos.contains_key(FIRST_COMBO) {
        let input = ComboInput {
            name: FIRST_COMBO.to_owned(),
            models: members,
            strategy: Default::default(),
        };
        match create_combo(core, input).await {
            Ok(_) => {
                super::set_active_combo(core, FIRST_COMBO).await?;
                done.combo = Some(FIRST_COMBO.to_owned());
            }
            Err(e) => done.problems.push(format!("the combo: {e}")),
        }
    }
    for tool in &input.tools {
        match apply_tool(core, tool, ToolInput::default()).await {
            Ok(applied) => done.tools.push(applied.tool.name),
            Err(e) => done.problems.push(format!("{tool}: {e}")),
        }
    }
    tracing::info!(
        imported = done.imported.len(),
        tools = done.tools.len(),
        "first run done"
    );
    Ok(done)
}
