//! Gemini CLI: the key and base URL in `.gemini/.env`, the API-key sign-in chosen in
//! `.gemini/settings.json` (`security.auth.selectedType`), both under `$GEMINI_CLI_HOME`
//! (else the home). Gemini CLI reads that `.env` in folders the user trusts only, and a
//! project's own `.env` hides it: the status says so.

use std::path::PathBuf;

use serde_json::Value;

use super::{Pointing, Target, Tool};
use crate::setup::edit::{
    FileChange, SetupError, json_text, object_at, read_json_object, read_text,
};
use crate::setup::home::Home;

pub struct GeminiCli;

const BASE: &str = "GOOGLE_GEMINI_BASE_URL";
const KEY: &str = "GEMINI_API_KEY";

fn dir(home: &Home) -> PathBuf {
    home.var("GEMINI_CLI_HOME")
        .map_or_else(|| home.dir.clone(), PathBuf::from)
        .join(".gemini")
}

/// `KEY=value` lines of a dotenv file (quotes taken off; comments and `export` understood).
fn env_value(text: &str, key: &str) -> Option<String> {
    text.lines().rev().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v)
                .to_owned()
        })
    })
}

/// The dotenv text with `values` set: a line already setting one is replaced in place, the
/// others are appended; every other line is kept as it is.
fn with_env(text: &str, values: &[(&str, &str)]) -> String {
    let mut done = vec![false; values.len()];
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let bare = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        let key = bare.split_once('=').map(|(k, _)| k.trim());
        match values.iter().position(|(k, _)| Some(*k) == key) {
            Some(i) if !done[i] => {
                out.push(format!("{}={}", values[i].0, values[i].1));
                done[i] = true;
            }
            Some(_) => {}
            None => out.push(line.to_owned()),
        }
    }
    for (i, (k, v)) in values.iter().enumerate() {
        if !done[i] {
            out.push(format!("{k}={v}"));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

impl Tool for GeminiCli {
    fn id(&self) -> &'static str {
        "gemini-cli"
    }

    fn name(&self) -> &'static str {
        "Gemini CLI"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["gemini"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        vec![dir(home)]
    }

    fn needs_model(&self) -> bool {
        false
    }

    fn note(&self) -> Option<&'static str> {
        Some(
            "Gemini CLI reads ~/.gemini/.env only in folders you trust, and a project's own .env hides it.",
        )
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let env = read_text(&dir(home).join(".env"))?.unwrap_or_default();
        let (_, settings) = read_json_object(&dir(home).join("settings.json"))?;
        Ok(Pointing {
            base_url: env_value(&env, BASE),
            model: settings
                .get("model")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            key: env_value(&env, KEY),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let env_path = dir(home).join(".env");
        let env_before = read_text(&env_path)?;
        let env_after = with_env(
            env_before.as_deref().unwrap_or(""),
            &[(BASE, target.base.as_str()), (KEY, target.key.as_str())],
        );
        let settings_path = dir(home).join("settings.json");
        let (before, mut settings) = read_json_object(&settings_path)?;
        let auth = object_at(object_at(&mut settings, "security"), "auth");
        auth.insert(
            "selectedType".into(),
            Value::String("gemini-api-key".into()),
        );
        if let Some(model) = &target.model {
            object_at(&mut settings, "model").insert("name".into(), Value::String(model.clone()));
        }
        Ok(vec![
            FileChange {
                path: env_path,
                before: env_before,
                after: env_after,
                private: true,
            },
            FileChange {
                path: settings_path,
                before,
                after: json_text(&settings),
                private: false,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_lines_are_replaced_in_place_and_the_rest_kept() {
        let text = "# mine\nexport GEMINI_API_KEY=\"old\"\nOTHER=1\n";
        let out = with_env(text, &[(BASE, "http://x"), (KEY, "sk-new")]);
        assert_eq!(
            out,
            "# mine\nGEMINI_API_KEY=sk-new\nOTHER=1\nGOOGLE_GEMINI_BASE_URL=http://x\n"
        );
        assert_eq!(env_value(&out, KEY).as_deref(), Some("sk-new"));
        assert_eq!(env_value(text, KEY).as_deref(), Some("old"));
    }
}
