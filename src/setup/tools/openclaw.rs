//! OpenClaw: a provider in `openclaw.json` (`models.providers`, JSON5) under
//! `$OPENCLAW_STATE_DIR` (`~/.openclaw`), or the file `$OPENCLAW_CONFIG_PATH` names, and the
//! agents' default model set to it (added to their allowlist when they keep one).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Pointing, Target, Tool};
use crate::setup::edit::{FileChange, SetupError, json_text, object_at, read_json5_object};
use crate::setup::home::Home;

pub struct OpenClaw;

const PROVIDER: &str = "ninerouter";

fn dir(home: &Home) -> PathBuf {
    match home.var("OPENCLAW_STATE_DIR") {
        Some(d) => PathBuf::from(d),
        None => home
            .var("OPENCLAW_HOME")
            .map_or_else(|| home.dir.clone(), PathBuf::from)
            .join(".openclaw"),
    }
}

fn config(home: &Home) -> PathBuf {
    home.var("OPENCLAW_CONFIG_PATH")
        .map_or_else(|| dir(home).join("openclaw.json"), PathBuf::from)
}

impl Tool for OpenClaw {
    fn id(&self) -> &'static str {
        "openclaw"
    }

    fn name(&self) -> &'static str {
        "OpenClaw"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["openclaw"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        let mut roots = vec![dir(home)];
        roots.extend(home.var("OPENCLAW_CONFIG_PATH").map(PathBuf::from));
        roots
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let (_, object) = read_json5_object(&config(home))?;
        let object = Value::Object(object);
        let primary = object
            .pointer("/agents/defaults/model/primary")
            .and_then(Value::as_str);
        let provider = primary
            .and_then(|m| m.split_once('/'))
            .map_or(PROVIDER, |(p, _)| p);
        let entry = object
            .get("models")
            .and_then(|m| m.get("providers"))
            .and_then(|p| p.get(provider));
        let get = |k: &str| entry?.get(k)?.as_str().map(str::to_owned);
        Ok(Pointing {
            base_url: get("baseUrl"),
            model: primary
                .and_then(|m| m.strip_prefix(&format!("{PROVIDER}/")))
                .map(str::to_owned),
            key: get("apiKey"),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let path = config(home);
        let (before, mut object) = read_json5_object(&path)?;
        let model = target.model.clone().unwrap_or_default();
        let providers = object_at(object_at(&mut object, "models"), "providers");
        providers.insert(
            PROVIDER.into(),
            json!({
                "baseUrl": format!("{}/v1", target.base),
                "apiKey": target.key,
                "api": "openai-completions",
                "models": [{ "id": model, "name": model }],
            }),
        );
        let reference = format!("{PROVIDER}/{model}");
        let defaults = object_at(object_at(&mut object, "agents"), "defaults");
        object_at(defaults, "model").insert("primary".into(), Value::String(reference.clone()));
        // A list of models there is an allowlist: the new default must be on it.
        if let Some(Value::Object(allowed)) = defaults.get_mut("models") {
            allowed.retain(|k, _| !k.starts_with(&format!("{PROVIDER}/")));
            allowed.insert(reference, json!({}));
        }
        Ok(vec![FileChange {
            path,
            before,
            after: json_text(&object),
            private: true,
        }])
    }
}
