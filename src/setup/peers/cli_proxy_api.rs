//! CLIProxyAPI's setup: `config.yaml` (provider keys of each kind, OpenAI-compatible
//! endpoints with their models and aliases, client keys, the routing strategy) and the login
//! token files in its `auth-dir` (`~/.cli-proxy-api`), one JSON file per login, its provider
//! in `type`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Login, expiry_ms, key_name, kiro_token_url, put, qwen_host, read_bounded, text};
use crate::setup::doc::{AccountDoc, KeyDoc, NodeDoc, SetupDoc};
use crate::setup::edit::SetupError;
use crate::setup::home::Home;

/// The token files read, at most (a login is one file; nobody has thousands).
const MAX_AUTH_FILES: usize = 500;
const MAX_DEPTH: usize = 4;

/// `path` is `config.yaml`, or a directory holding one.
pub fn read(path: &Path, home: &Home) -> Result<SetupDoc, SetupError> {
    let file = if path.is_dir() {
        path.join("config.yaml")
    } else {
        path.to_path_buf()
    };
    let bytes = read_bounded(&file)?;
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_slice(&bytes).map_err(|e| SetupError::unreadable(&file, e))?;
    let config = serde_json::to_value(yaml).map_err(|e| SetupError::unreadable(&file, e))?;
    if !config.is_object() {
        return Err(SetupError::unreadable(
            &file,
            "it is not CLIProxyAPI's config (not a mapping)",
        ));
    }
    let mut doc = SetupDoc::default();
    let list = |k: &str| {
        config
            .get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };

    for (i, key) in list("api-keys").iter().enumerate() {
        if let Some(k) = key.as_str().filter(|k| !k.is_empty()) {
            doc.keys
                .push(KeyDoc::from_plain(&format!("CLIProxyAPI key {}", i + 1), k));
        }
    }
    for entry in list("gemini-api-key") {
        provider_key(&mut doc, "gemini", &entry);
    }
    // Older configs list Gemini keys bare.
    for key in list("generative-language-api-key") {
        if let Some(k) = key.as_str() {
            provider_key(&mut doc, "gemini", &serde_json::json!({ "api-key": k }));
        }
    }
    for entry in list("claude-api-key") {
        provider_key(&mut doc, "anthropic", &entry);
    }
    for entry in list("codex-api-key") {
        // CLIProxyAPI itself drops an entry without its base URL.
        if text(&entry, "base-url").is_some() {
            provider_key(&mut doc, "openai", &entry);
        }
    }
    for entry in list("openai-compatibility") {
        compatible(&mut doc, &entry);
    }
    for kind in ["vertex-api-key", "xai-api-key", "interactions-api-key"] {
        for entry in list(kind) {
            let key = text(&entry, "api-key").unwrap_or("");
            doc.skip(
                "account",
                key_name(kind, key),
                format!("NineRouter has no provider for '{kind}'"),
            );
        }
    }
    if let Some(strategy) = config.pointer("/routing/strategy").and_then(Value::as_str) {
        let ours = match strategy {
            "fill-first" | "ff" | "fillfirst" => "fill-first",
            _ => "sticky-round-robin",
        };
        doc.settings = Some(serde_json::json!({ "routing": { "accountStrategy": ours } }));
    }
    let auth_dir = text(&config, "auth-dir").unwrap_or("~/.cli-proxy-api");
    let auth_dir = match auth_dir.strip_prefix("~/") {
        Some(rest) => home.dir.join(rest),
        None if auth_dir == "~" => home.dir.clone(),
        None => PathBuf::from(auth_dir),
    };
    for path in token_files(&auth_dir) {
        token_file(&mut doc, &path);
    }
    Ok(doc)
}

/// A provider key entry (`api-key`, `base-url`, `proxy-url`, `models` with aliases).
fn provider_key(doc: &mut SetupDoc, provider: &str, entry: &Value) {
    let Some(key) = text(entry, "api-key") else {
        return;
    };
    let default_host = crate::providers::find(provider).map_or("", |p| p.base_url);
    let base_url = text(entry, "base-url")
        .filter(|u| !default_host.starts_with(u.trim_end_matches('/')))
        .map(str::to_owned);
    let prefix = crate::providers::find(provider).map_or(provider, |p| p.display_prefix());
    aliases(doc, prefix, entry);
    doc.accounts.push(AccountDoc {
        provider: provider.to_owned(),
        name: key_name(provider, key),
        priority: entry
            .get("priority")
            .and_then(Value::as_i64)
            .map(|p| 100 - p.clamp(-100, 100)),
        enabled: true,
        base_url,
        models: Vec::new(),
        secret: Some(key.to_owned()),
        proxy: proxy_of(entry),
        quota_reserve_pct: None,
    });
}

fn proxy_of(entry: &Value) -> Option<String> {
    text(entry, "proxy-url")
        .filter(|u| !matches!(*u, "direct" | "none"))
        .map(str::to_owned)
}

/// `models: [{name, alias}]`: each alias becomes a NineRouter alias of `prefix/name`.
fn aliases(doc: &mut SetupDoc, prefix: &str, entry: &Value) {
    for m in entry
        .get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(alias)) = (text(m, "name"), text(m, "alias"))
            && alias != name
        {
            doc.aliases
                .insert(alias.to_owned(), format!("{prefix}/{name}"));
        }
    }
}

/// An OpenAI-compatible endpoint: a node, an account per key, its model aliases.
fn compatible(doc: &mut SetupDoc, entry: &Value) {
    let (Some(name), Some(base)) = (text(entry, "name"), text(entry, "base-url")) else {
        return;
    };
    if entry.get("disabled") == Some(&Value::Bool(true)) {
        return doc.skip("node", name, "it is turned off in CLIProxyAPI");
    }
    let prefix: String = text(entry, "prefix")
        .unwrap_or(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    doc.nodes.push(NodeDoc {
        name: name.to_owned(),
        prefix: prefix.clone(),
        kind: "openai-compatible".into(),
        base_url: base.to_owned(),
    });
    let models: Vec<String> = entry
        .get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| text(m, "name").map(str::to_owned))
        .collect();
    aliases(doc, &prefix, entry);
    let mut keys: Vec<(String, Option<String>)> = entry
        .get("api-key-entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| Some((text(k, "api-key")?.to_owned(), proxy_of(k))))
        .collect();
    // Older configs list the keys bare.
    keys.extend(
        entry
            .get("api-keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| Some((k.as_str()?.to_owned(), None))),
    );
    for (key, proxy) in keys {
        doc.accounts.push(AccountDoc {
            provider: prefix.clone(),
            name: key_name(name, &key),
            priority: None,
            enabled: true,
            base_url: None,
            models: models.clone(),
            secret: Some(key),
            proxy,
            quota_reserve_pct: None,
        });
    }
}

/// Every `*.json` under the auth dir, not following links, bounded in depth and number.
fn token_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let Ok(kind) = e.file_type() else { continue };
            let path = e.path();
            if kind.is_dir() && depth < MAX_DEPTH {
                stack.push((path, depth + 1));
            } else if kind.is_file() && path.extension().is_some_and(|x| x == "json") {
                found.push(path);
                if found.len() >= MAX_AUTH_FILES {
                    return found;
                }
            }
        }
    }
    found
}

fn token_file(doc: &mut SetupDoc, path: &Path) {
    let shown = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let value: Value = match read_bounded(path)
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| SetupError::unreadable(path, e)))
    {
        Ok(v) => v,
        Err(e) => return doc.skip("login", shown, e.to_string()),
    };
    let Some(kind) = text(&value, "type") else {
        return doc.skip("login", shown, "not a CLIProxyAPI login file (no type)");
    };
    let provider = match kind {
        "claude" => "claude",
        "codex" => "codex",
        "gemini" => "gemini-cli",
        "antigravity" => "antigravity",
        "qwen" => "qwen",
        "iflow" => "iflow",
        "kiro" => "kiro",
        "github-copilot" => "github",
        other => return doc.skip("login", shown, format!("NineRouter has no '{other}' login")),
    };
    let email = text(&value, "email")
        .or_else(|| text(&value, "username"))
        .map(str::to_owned);
    let name = email
        .clone()
        .unwrap_or_else(|| shown.trim_end_matches(".json").to_owned());
    let secret = if provider == "github" {
        match text(&value, "access_token") {
            Some(t) => Ok(t.to_owned()),
            None => Err("it holds no GitHub token".to_owned()),
        }
    } else {
        login(provider, &value, email)
    };
    match secret {
        Ok(secret) => doc.accounts.push(AccountDoc {
            provider: provider.to_owned(),
            name,
            priority: value
                .get("priority")
                .and_then(Value::as_i64)
                .map(|p| 100 - p.clamp(-100, 100)),
            enabled: value.get("disabled") != Some(&Value::Bool(true)),
            base_url: None,
            models: Vec::new(),
            secret: Some(secret),
            proxy: text(&value, "proxy_url").map(str::to_owned),
            quota_reserve_pct: None,
        }),
        Err(why) => doc.skip("login", name, why),
    }
}

fn login(provider: &str, v: &Value, email: Option<String>) -> Result<String, String> {
    // Gemini's file nests an oauth2 token; the others keep theirs at the top.
    let token = if provider == "gemini-cli" {
        v.get("token").unwrap_or(v)
    } else {
        v
    };
    let mut extra = Map::new();
    match provider {
        "codex" => put(&mut extra, "accountId", text(v, "account_id")),
        "gemini-cli" | "antigravity" => {
            // A comma list (several projects) starts with the one to use.
            let project = text(v, "project_id")
                .and_then(|p| p.split(',').next())
                .map(str::trim);
            put(
                &mut extra,
                "projectId",
                project.filter(|p| !p.eq_ignore_ascii_case("all")),
            );
        }
        "qwen" => put(
            &mut extra,
            "resourceUrl",
            qwen_host(text(v, "resource_url")),
        ),
        "iflow" => put(&mut extra, "apiKey", text(v, "api_key")),
        "kiro" => {
            put(&mut extra, "profileArn", text(v, "profile_arn"));
            if let (Some(id), Some(secret)) = (text(v, "client_id"), text(v, "client_secret")) {
                put(&mut extra, "clientId", Some(id));
                put(&mut extra, "clientSecret", Some(secret));
                put(
                    &mut extra,
                    "tokenUrl",
                    kiro_token_url(text(v, "region").unwrap_or("us-east-1")).as_deref(),
                );
            } else {
                put(&mut extra, "authMethod", Some("social"));
                put(&mut extra, "provider", text(v, "provider"));
            }
        }
        _ => {}
    }
    let expiry = token
        .get("expiry")
        .or_else(|| v.get("expired"))
        .or_else(|| v.get("expires_at"));
    Login {
        access: text(token, "access_token").unwrap_or_default().to_owned(),
        refresh: text(token, "refresh_token").unwrap_or_default().to_owned(),
        expires_at_ms: expiry_ms(expiry),
        email,
        plan: None,
        extra,
    }
    .secret()
}
