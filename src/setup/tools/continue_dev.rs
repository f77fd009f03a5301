//! Continue: a model in `config.yaml` under `$CONTINUE_GLOBAL_DIR` (`~/.continue`), or in
//! the legacy `config.json` when that is the only file there. Models that pointed here
//! before are replaced; the user's others stay. YAML comments are not kept (the backup has
//! them).

use std::path::PathBuf;

use serde_json::json;
use serde_yaml_ng::{Mapping, Value};

use super::{Pointing, Target, Tool, same_origin};
use crate::setup::edit::{FileChange, SetupError, json_text, read_json_object, read_text};
use crate::setup::home::Home;

pub struct Continue;

fn dir(home: &Home) -> PathBuf {
    home.dir_from("CONTINUE_GLOBAL_DIR", ".continue")
}

/// `config.json` is used only where it is the only file, as Continue itself does.
fn legacy(home: &Home) -> Option<PathBuf> {
    let json = dir(home).join("config.json");
    (json.is_file() && !dir(home).join("config.yaml").exists()).then_some(json)
}

fn read_yaml(path: &std::path::Path) -> Result<(Option<String>, Mapping), SetupError> {
    let text = read_text(path)?;
    let map = match text.as_deref().map(str::trim) {
        None | Some("") => Mapping::new(),
        Some(t) => match serde_yaml_ng::from_str(t) {
            Ok(Value::Mapping(m)) => m,
            Ok(_) => return Err(SetupError::unreadable(path, "it is not a YAML mapping")),
            Err(e) => return Err(SetupError::unreadable(path, e)),
        },
    };
    Ok((text, map))
}

fn str_of<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

impl Tool for Continue {
    fn id(&self) -> &'static str {
        "continue"
    }

    fn name(&self) -> &'static str {
        "Continue"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["cn"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        vec![dir(home)]
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        // Both files list models with the same keys for what is read here.
        let models: Vec<serde_json::Value> = match legacy(home) {
            Some(path) => read_json_object(&path)?
                .1
                .get("models")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default(),
            None => {
                let (_, map) = read_yaml(&dir(home).join("config.yaml"))?;
                let models = map.get("models").cloned().unwrap_or(Value::Null);
                serde_json::to_value(models)
                    .ok()
                    .and_then(|v| v.as_array().cloned())
                    .unwrap_or_default()
            }
        };
        let ours = models
            .iter()
            .find(|m| {
                m.get("title")
                    .or_else(|| m.get("name"))
                    .and_then(|n| n.as_str())
                    == Some("NineRouter")
            })
            .or_else(|| models.iter().find(|m| m.get("apiBase").is_some()));
        let get = |k: &str| ours?.get(k)?.as_str().map(str::to_owned);
        Ok(Pointing {
            base_url: get("apiBase"),
            model: get("model"),
            key: get("apiKey"),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let model = target.model.clone().unwrap_or_default();
        let api_base = format!("{}/v1", target.base);
        if let Some(path) = legacy(home) {
            let (before, mut object) = read_json_object(&path)?;
            let mut list: Vec<serde_json::Value> = object
                .get("models")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default();
            list.retain(|m| {
                !m.get("apiBase")
                    .and_then(|b| b.as_str())
                    .is_some_and(|b| same_origin(b, &target.base))
            });
            list.insert(0, json!({ "title": "NineRouter", "provider": "openai", "model": model, "apiBase": api_base, "apiKey": target.key }));
            object.insert("models".into(), serde_json::Value::Array(list));
            return Ok(vec![FileChange {
                path,
                before,
                after: json_text(&object),
                private: true,
            }]);
        }
        let path = dir(home).join("config.yaml");
        let (before, mut map) = read_yaml(&path)?;
        for (k, v) in [
            ("name", "Local Config"),
            ("version", "1.0.0"),
            ("schema", "v1"),
        ] {
            map.entry(Value::from(k)).or_insert_with(|| Value::from(v));
        }
        let mut list = match map.get("models") {
            Some(Value::Sequence(s)) => s.clone(),
            _ => Vec::new(),
        };
        list.retain(|m| !str_of(m, "apiBase").is_some_and(|b| same_origin(b, &target.base)));
        let mut entry = Mapping::new();
        for (k, v) in [
            ("name", "NineRouter"),
            ("provider", "openai"),
            ("model", model.as_str()),
            ("apiBase", api_base.as_str()),
            ("apiKey", target.key.as_str()),
        ] {
            entry.insert(Value::from(k), Value::from(v));
        }
        entry.insert(
            Value::from("roles"),
            Value::Sequence(
                ["chat", "edit", "apply"]
                    .into_iter()
                    .map(Value::from)
                    .collect(),
            ),
        );
        list.insert(0, Value::Mapping(entry));
        map.insert(Value::from("models"), Value::Sequence(list));
        let after = serde_yaml_ng::to_string(&Value::Mapping(map))
            .map_err(|e| SetupError::Invalid(e.to_string()))?;
        Ok(vec![FileChange {
            path,
            before,
            after,
            private: true,
        }])
    }
}
