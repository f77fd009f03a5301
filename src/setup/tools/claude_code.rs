//! Claude Code: the `env` block of `settings.json` in `$CLAUDE_CONFIG_DIR` (`~/.claude`),
//! which it applies to itself at start, so nothing is needed in the shell.

use std::path::PathBuf;

use serde_json::Value;

use super::{Pointing, Target, Tool};
use crate::setup::edit::{FileChange, SetupError, json_text, object_at, read_json_object};
use crate::setup::home::Home;

pub struct ClaudeCode;

const BASE: &str = "ANTHROPIC_BASE_URL";
const TOKEN: &str = "ANTHROPIC_AUTH_TOKEN";
const MODEL: &str = "ANTHROPIC_MODEL";
/// The models Claude Code picks by tier (`/model opus`, its background haiku calls): all go
/// where the main one goes, so every request it makes is routable.
const TIER_MODELS: &[&str] = &[
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
];
/// Would be sent instead of the token (`x-api-key`), so it goes while NineRouter is set.
const API_KEY: &str = "ANTHROPIC_API_KEY";

fn dir(home: &Home) -> PathBuf {
    home.dir_from("CLAUDE_CONFIG_DIR", ".claude")
}

fn settings(home: &Home) -> PathBuf {
    dir(home).join("settings.json")
}

/// Its global state, where a fresh install keeps asking to log in until onboarding is marked
/// done (anthropics/claude-code#4714): beside the config dir when one is named, else in home.
fn state(home: &Home) -> PathBuf {
    match home.var("CLAUDE_CONFIG_DIR") {
        Some(d) => PathBuf::from(d).join(".claude.json"),
        None => home.dir.join(".claude.json"),
    }
}

impl Tool for ClaudeCode {
    fn id(&self) -> &'static str {
        "claude-code"
    }

    fn name(&self) -> &'static str {
        "Claude Code"
    }

    fn binaries(&self) -> &'static [&'static str] {
        &["claude"]
    }

    fn roots(&self, home: &Home) -> Vec<PathBuf> {
        vec![dir(home), state(home)]
    }

    fn needs_model(&self) -> bool {
        false
    }

    fn read(&self, home: &Home) -> Result<Pointing, SetupError> {
        let (_, object) = read_json_object(&settings(home))?;
        let env = object.get("env").and_then(Value::as_object);
        let get = |k: &str| {
            env.and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(Pointing {
            base_url: get(BASE),
            model: get(MODEL),
            key: get(TOKEN).or_else(|| get(API_KEY)),
        })
    }

    fn plan(&self, home: &Home, target: &Target) -> Result<Vec<FileChange>, SetupError> {
        let path = settings(home);
        let (before, mut object) = read_json_object(&path)?;
        let env = object_at(&mut object, "env");
        env.insert(BASE.into(), Value::String(target.base.clone()));
        env.insert(TOKEN.into(), Value::String(target.key.clone()));
        env.remove(API_KEY);
        for k in std::iter::once(MODEL).chain(TIER_MODELS.iter().copied()) {
            match &target.model {
                Some(m) => env.insert(k.into(), Value::String(m.clone())),
                None => env.remove(k),
            };
        }
        let settings = FileChange {
            path,
            before,
            after: json_text(&object),
            private: true,
        };
        let path = state(home);
        let (before, mut object) = read_json_object(&path)?;
        if object.get("hasCompletedOnboarding") == Some(&Value::Bool(true)) {
            return Ok(vec![settings]);
        }
        object.insert("hasCompletedOnboarding".into(), Value::Bool(true));
        let onboarding = FileChange {
            path,
            before,
            after: json_text(&object),
            private: true,
        };
        Ok(vec![settings, onboarding])
    }
}
