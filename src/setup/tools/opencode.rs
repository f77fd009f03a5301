//! OpenCode: a provider entry in `opencode.json` under `$XDG_CONFIG_HOME/opencode`
//! (`~/.config/opencode`), or the file `$OPENCODE_CONFIG` names, and the default `model`
//! set to it. The file may be JSONC; it is written back as plain JSON.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Pointing, Target, Tool};
use crate::setup::edit::{FileChange, SetupError, json_text, object_at, read_json5_object};
use crate::setup::home::Home;

pub struct OpenCode;

const PROVIDER: &str = "ninerouter";

fn dir(home: &Home) -> PathBuf {
    home.config_dir().join("opencode")
}

fn config(home: &Home) -> PathBuf {
    if let Some(file) = home.var("OPENCODE_CONFIG") {
        return PathBuf::from(file);
    }
    let dir = dir(home);
    // The file the user already has, in the order OpenCode merges them (the last one wins).
    ["opencode.jsonc", "opencode.json"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join("opencode.json"))
}

impl Tool for OpenCode {
    fn id(&self) -> &'static str {
        "opencode"
    }

    fn name(&self) -> &'static str {
        "OpenCode"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["opencode"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        let mut roots = vec![dir(home)];
        roots.extend(home.var("OPENCODE_CONFIG").map(PathBuf::from));
        roots
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let (_, object) = read_json5_object(&config(home))?;
        let model = object.get("model").and_then(Value::as_str);
        // The provider the default model names, else ours.
        let provider = model
            .and_then(|m| m.split_once('/'))
            .map_or(PROVIDER, |(p, _)| p);
        let options = object
            .get("provider")
            .and_then(|p| p.get(provider))
            .and_then(|p| p.get("options"));
        let get = |k: &str| options?.get(k)?.as_str().map(str::to_owned);
        Ok(Pointing {
            base_url: get("baseURL"),
            model: model
                .and_then(|m| m.strip_prefix(&format!("{PROVIDER}/")))
                .map(str::to_owned),
            key: get("apiKey"),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let path = config(home);
        let (before, mut object) = read_json5_object(&path)?;
        let model = target.model.clone().unwrap_or_default();
        object
            .entry("$schema")
            .or_insert_with(|| Value::String("https://opencode.ai/config.json".into()));
        object_at(&mut object, "provider").insert(
            PROVIDER.into(),
            json!({
                "npm": "@ai-sdk/openai-compatible",
                "name": "NineRouter",
                "options": { "baseURL": format!("{}/v1", target.base), "apiKey": target.key },
                "models": { model.clone(): { "name": model } },
            }),
        );
        object.insert("model".into(), Value::String(format!("{PROVIDER}/{model}")));
        Ok(vec![FileChange {
            path,
            before,
            after: json_text(&object),
            private: true,
        }])
    }
}
