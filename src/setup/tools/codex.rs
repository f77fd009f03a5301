//! Codex CLI: a model provider in `config.toml` under `$CODEX_HOME` (`~/.codex`), chosen as
//! the default, with the key in the provider entry itself so no environment variable is
//! needed. The file is edited in place: the user's other settings and comments stay.

use std::path::PathBuf;

use toml_edit::{DocumentMut, Item, Table, value};

use super::{Pointing, Target, Tool};
use crate::setup::edit::{FileChange, SetupError, read_text};
use crate::setup::home::Home;

pub struct Codex;

/// The provider entry's id in `model_providers`.
const PROVIDER: &str = "ninerouter";

fn config(home: &Home) -> PathBuf {
    home.dir_from("CODEX_HOME", ".codex").join("config.toml")
}

fn parse(path: &std::path::Path, text: Option<&str>) -> Result<DocumentMut, SetupError> {
    text.unwrap_or("")
        .parse::<DocumentMut>()
        .map_err(|e| SetupError::unreadable(path, e.message()))
}

/// Sets a top-level string, keeping the comment after the old value.
fn set_keeping_comment(doc: &mut DocumentMut, key: &str, text: &str) {
    match doc.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = toml_edit::Value::from(text);
            *old.decor_mut() = decor;
        }
        None => doc[key] = value(text),
    }
}

impl Tool for Codex {
    fn id(&self) -> &'static str {
        "codex"
    }

    fn name(&self) -> &'static str {
        "Codex CLI"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["codex"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        vec![home.dir_from("CODEX_HOME", ".codex")]
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let path = config(home);
        let text = read_text(&path)?;
        let doc = parse(&path, text.as_deref())?;
        let provider = doc.get("model_provider").and_then(Item::as_str);
        let entry = provider.and_then(|p| doc.get("model_providers")?.get(p));
        let get = |item: Option<&Item>, k: &str| item?.get(k)?.as_str().map(str::to_owned);
        Ok(Pointing {
            base_url: get(entry, "base_url"),
            model: doc.get("model").and_then(Item::as_str).map(str::to_owned),
            key: get(entry, "experimental_bearer_token"),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let path = config(home);
        let before = read_text(&path)?;
        let mut doc = parse(&path, before.as_deref())?;
        set_keeping_comment(&mut doc, "model_provider", PROVIDER);
        if let Some(model) = &target.model {
            set_keeping_comment(&mut doc, "model", model);
        }
        let providers = doc.entry("model_providers").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        let Some(providers) = providers.as_table_like_mut() else {
            return Err(SetupError::unreadable(
                &path,
                "model_providers is not a table",
            ));
        };
        let mut entry = Table::new();
        entry["name"] = value("NineRouter");
        entry["base_url"] = value(format!("{}/v1", target.base));
        entry["wire_api"] = value("responses");
        entry["experimental_bearer_token"] = value(target.key.as_str());
        providers.insert(PROVIDER, Item::Table(entry));
        Ok(vec![FileChange {
            path,
            before,
            after: doc.to_string(),
            private: true,
        }])
    }
}
