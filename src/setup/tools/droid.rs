//! Droid (Factory CLI): a custom model in `~/.factory/settings.json` (`customModels`),
//! speaking Chat Completions to the router. Entries that pointed here before are replaced;
//! the user's other models stay.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Pointing, Target, Tool, same_origin};
use crate::setup::edit::{FileChange, SetupError, json_text, read_json_object};
use crate::setup::home::Home;

pub struct Droid;

fn dir(home: &Home) -> PathBuf {
    home.dir_from("FACTORY_HOME", ".factory")
}

fn settings(home: &Home) -> PathBuf {
    dir(home).join("settings.json")
}

fn models(object: &serde_json::Map<String, Value>) -> &[Value] {
    object
        .get("customModels")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn base_of(entry: &Value) -> Option<&str> {
    entry.get("baseUrl").and_then(Value::as_str)
}

impl Tool for Droid {
    fn id(&self) -> &'static str {
        "droid"
    }

    fn name(&self) -> &'static str {
        "Droid"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["droid"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        vec![dir(home)]
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let (_, object) = read_json_object(&settings(home))?;
        // NineRouter's entry (the one named for it), else the first.
        let entry = models(&object)
            .iter()
            .find(|m| {
                m.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| id.starts_with("custom:NineRouter"))
            })
            .or_else(|| models(&object).first());
        let get = |k: &str| entry?.get(k)?.as_str().map(str::to_owned);
        Ok(Pointing {
            base_url: get("baseUrl"),
            model: get("model"),
            key: get("apiKey"),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let path = settings(home);
        let (before, mut object) = read_json_object(&path)?;
        let model = target.model.clone().unwrap_or_default();
        let mut list: Vec<Value> = models(&object)
            .iter()
            .filter(|m| !base_of(m).is_some_and(|b| same_origin(b, &target.base)))
            .cloned()
            .collect();
        list.insert(
            0,
            json!({
                "id": "custom:NineRouter-0",
                "index": 0,
                "model": model,
                "displayName": format!("{model} [NineRouter]"),
                "baseUrl": format!("{}/v1", target.base),
                "apiKey": target.key,
                "provider": "generic-chat-completion-api",
                "maxOutputTokens": 32000,
            }),
        );
        object.insert("customModels".into(), Value::Array(list));
        Ok(vec![FileChange {
            path,
            before,
            after: json_text(&object),
            private: true,
        }])
    }
}
