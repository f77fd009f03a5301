//! 9Router's state: one lowdb JSON file, `db.json`, in its data dir (`$DATA_DIR`, else
//! `~/.9router`). Connections hold keys and login tokens in the clear; their provider ids and
//! model prefixes are the ones NineRouter kept, so model strings carry over unchanged.

use std::path::Path;

use serde_json::{Map, Value};

use super::{Login, expiry_ms, kiro_token_url, put, qwen_host, read_bounded, text};
use crate::setup::doc::{AccountDoc, ComboDoc, KeyDoc, NodeDoc, SetupDoc};
use crate::setup::edit::SetupError;

/// `path` is the data dir or the `db.json` in it.
pub fn read(path: &Path) -> Result<SetupDoc, SetupError> {
    let file = if path.is_dir() {
        path.join("db.json")
    } else {
        path.to_path_buf()
    };
    let bytes = read_bounded(&file)?;
    let db: Value = serde_json::from_slice(&bytes).map_err(|e| SetupError::unreadable(&file, e))?;
    if !db.is_object() {
        return Err(SetupError::unreadable(
            &file,
            "it is not 9Router's database (not a JSON object)",
        ));
    }
    let mut doc = SetupDoc::default();
    let list = |k: &str| {
        db.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };

    for node in list("providerNodes") {
        nodes(&mut doc, &node);
    }
    for conn in list("providerConnections") {
        connection(&mut doc, &db, &conn);
    }
    for combo in list("combos") {
        let (Some(name), Some(models)) = (
            text(&combo, "name"),
            combo.get("models").and_then(Value::as_array),
        ) else {
            continue;
        };
        if combo.get("kind").is_some_and(|k| !k.is_null()) {
            doc.skip(
                "combo",
                name,
                "a media combo (speech, images); NineRouter routes chat models",
            );
            continue;
        }
        let models = models
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let strategy = db
            .pointer(&format!(
                "/settings/comboStrategies/{}/fallbackStrategy",
                pointer_escape(name)
            ))
            .or_else(|| db.pointer("/settings/comboStrategy"))
            .and_then(Value::as_str)
            .map(|s| {
                if s == "round-robin" {
                    "round-robin"
                } else {
                    "fallback"
                }
                .to_owned()
            });
        doc.combos.push(ComboDoc {
            name: name.to_owned(),
            models,
            strategy,
        });
    }
    if let Some(aliases) = db.get("modelAliases").and_then(Value::as_object) {
        for (alias, target) in aliases {
            let target = match target {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => match (
                    o.get("provider").and_then(Value::as_str),
                    o.get("model").and_then(Value::as_str),
                ) {
                    (Some(p), Some(m)) => Some(format!("{p}/{m}")),
                    _ => None,
                },
                _ => None,
            };
            match target {
                Some(t) => {
                    doc.aliases.insert(alias.clone(), t);
                }
                None => doc.skip("alias", alias, "its target is not a model string"),
            }
        }
    }
    for key in list("apiKeys") {
        let Some(k) = text(&key, "key") else { continue };
        let name = text(&key, "name").unwrap_or("9Router key");
        if key.get("isActive") == Some(&Value::Bool(false)) {
            doc.skip("key", name, "it is turned off in 9Router");
            continue;
        }
        doc.keys.push(KeyDoc::from_plain(name, k));
    }
    doc.settings = settings(&db);
    if let Some(pricing) = db.get("pricing").and_then(Value::as_object) {
        for (provider, models) in pricing {
            for (model, p) in models.as_object().into_iter().flatten() {
                let num = |k: &str| p.get(k).and_then(Value::as_f64);
                let (Some(input), Some(output)) = (num("input"), num("output")) else {
                    continue;
                };
                doc.prices.push(serde_json::json!({
                    "provider": provider, "model": model, "input": input, "output": output,
                    "cachedInput": num("cached").unwrap_or(input), "cacheWrite": num("cache_creation").unwrap_or(input),
                    "reasoning": num("reasoning"),
                }));
            }
        }
    }
    Ok(doc)
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn nodes(doc: &mut SetupDoc, node: &Value) {
    let (Some(name), Some(prefix), Some(base)) = (
        text(node, "name"),
        text(node, "prefix"),
        text(node, "baseUrl"),
    ) else {
        return;
    };
    let kind = match (text(node, "type"), text(node, "apiType")) {
        (Some("openai-compatible"), Some("responses")) => "openai-responses",
        (Some("openai-compatible"), _) => "openai-compatible",
        (Some("anthropic-compatible"), _) => "anthropic-compatible",
        (other, _) => {
            doc.skip(
                "node",
                name,
                format!(
                    "a {} node; NineRouter routes chat models",
                    other.unwrap_or("custom")
                ),
            );
            return;
        }
    };
    doc.nodes.push(NodeDoc {
        name: name.to_owned(),
        prefix: prefix.to_owned(),
        kind: kind.to_owned(),
        base_url: base.to_owned(),
    });
}

/// 9Router's provider ids NineRouter has (the rest are skipped, named).
fn known(provider: &str) -> bool {
    crate::providers::find(provider).is_some()
}

fn connection(doc: &mut SetupDoc, db: &Value, conn: &Value) {
    let Some(provider) = text(conn, "provider") else {
        return;
    };
    let name = text(conn, "name")
        .or_else(|| text(conn, "email"))
        .or_else(|| text(conn, "displayName"))
        .unwrap_or(provider)
        .to_owned();
    let specific = conn
        .get("providerSpecificData")
        .cloned()
        .unwrap_or(Value::Null);
    // A node's connection names the node by id; NineRouter's accounts name it by prefix.
    let node_prefix = db
        .get("providerNodes")
        .and_then(Value::as_array)
        .and_then(|nodes| nodes.iter().find(|n| text(n, "id") == Some(provider)))
        .and_then(|n| text(n, "prefix"))
        .or_else(|| text(&specific, "prefix").filter(|_| provider.contains("-compatible-")));
    let target = match node_prefix {
        Some(prefix) if doc.nodes.iter().any(|n| n.prefix == prefix) => prefix.to_owned(),
        Some(_) => return doc.skip("account", name, "its custom node is not brought over"),
        None if known(provider) => provider.to_owned(),
        None => {
            return doc.skip(
                "account",
                name,
                format!("NineRouter has no '{provider}' provider"),
            );
        }
    };
    let secret = match text(conn, "authType") {
        Some("oauth") => match login(provider, conn, &specific) {
            Ok(s) => s,
            Err(why) => return doc.skip("account", name, why),
        },
        Some("cookie") => {
            return doc.skip(
                "account",
                name,
                "a browser-cookie login; log in again in NineRouter",
            );
        }
        _ => match text(conn, "apiKey") {
            Some(k) => k.to_owned(),
            None => return doc.skip("account", name, "it holds no key"),
        },
    };
    let proxy = (specific.get("connectionProxyEnabled") == Some(&Value::Bool(true)))
        .then(|| text(&specific, "connectionProxyUrl").map(str::to_owned))
        .flatten();
    doc.accounts.push(AccountDoc {
        provider: target,
        name,
        priority: conn.get("priority").and_then(Value::as_i64),
        enabled: conn.get("isActive") != Some(&Value::Bool(false)),
        base_url: None,
        models: Vec::new(),
        secret: Some(secret),
        proxy,
        quota_reserve_pct: None,
    });
}

/// A login connection as the secret NineRouter's provider module reads.
fn login(provider: &str, conn: &Value, specific: &Value) -> Result<String, String> {
    let access = text(conn, "accessToken").unwrap_or_default().to_owned();
    let mut extra = Map::new();
    let mut plan = None;
    match provider {
        // Copilot keeps GitHub's token; the Copilot token is minted from it again.
        "github" => {
            return if access.is_empty() {
                Err("it holds no GitHub token".into())
            } else {
                Ok(access)
            };
        }
        "codex" => {
            put(&mut extra, "accountId", text(specific, "chatgptAccountId"));
            plan = text(specific, "chatgptPlanType").map(str::to_owned);
        }
        "gemini-cli" | "antigravity" => put(&mut extra, "projectId", text(conn, "projectId")),
        "qwen" => put(
            &mut extra,
            "resourceUrl",
            qwen_host(text(specific, "resourceUrl")),
        ),
        "iflow" => put(&mut extra, "apiKey", text(conn, "apiKey")),
        "cursor" => put(&mut extra, "machineId", text(specific, "machineId")),
        "kiro" => {
            put(&mut extra, "profileArn", text(specific, "profileArn"));
            if let (Some(id), Some(secret)) =
                (text(specific, "clientId"), text(specific, "clientSecret"))
            {
                put(&mut extra, "clientId", Some(id));
                put(&mut extra, "clientSecret", Some(secret));
                let region = text(specific, "region").unwrap_or("us-east-1");
                put(&mut extra, "tokenUrl", kiro_token_url(region).as_deref());
            } else {
                put(&mut extra, "authMethod", Some("social"));
                put(&mut extra, "provider", text(specific, "provider"));
            }
        }
        _ => {}
    }
    // Cursor's session token is its own refresh: it is renewed by logging in again.
    let refresh = text(conn, "refreshToken")
        .map(str::to_owned)
        .or_else(|| (provider == "cursor").then(|| access.clone()))
        .unwrap_or_default();
    Login {
        access,
        refresh,
        expires_at_ms: expiry_ms(conn.get("expiresAt")),
        email: text(conn, "email").map(str::to_owned),
        plan,
        extra,
    }
    .secret()
}

/// The settings NineRouter shares with 9Router: keys required, and how accounts take turns.
fn settings(db: &Value) -> Option<Value> {
    let s = db.get("settings")?;
    let mut patch = Map::new();
    if let Some(required) = s.get("requireApiKey").and_then(Value::as_bool) {
        patch.insert("requireApiKey".into(), Value::Bool(required));
    }
    if let Some(strategy) = text(s, "fallbackStrategy") {
        let ours = if strategy == "round-robin" {
            "sticky-round-robin"
        } else {
            "fill-first"
        };
        let mut routing = Map::new();
        routing.insert("accountStrategy".into(), Value::String(ours.into()));
        if let Some(limit) = s.get("stickyRoundRobinLimit").and_then(Value::as_u64) {
            routing.insert("stickyLimit".into(), Value::from(limit));
        }
        patch.insert("routing".into(), Value::Object(routing));
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}
