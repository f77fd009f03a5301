//! The management API end to end: CRUD, validation, secrets never returned or stored in
//! SQLite, file entries read-only, changes applied to routing at once.
use crate::support::{FakeOpenAi, Router, node_config};
use reqwest::Method;
use serde_json::{Value, json};

fn db_bytes(router: &Router) -> Vec<u8> {
    router.db_bytes()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn connection_lifecycle_routes_with_the_stored_key_and_never_returns_it() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start("").await;
    let (status, created) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({"provider": "oa", "name": "main", "apiKey": "sk-test-secret-1", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["provider"], "openai");
    assert_eq!(created["hasApiKey"], true);
    assert_eq!(created["state"], "active");
    let id = created["id"].as_str().unwrap().to_owned();
    let listing = router
        .api(Method::GET, "/api/connections", None)
        .await
        .1
        .to_string();
    assert!(!listing.contains("sk-test-secret-1"), "{listing}");
    assert!(
        !contains(&db_bytes(&router), "sk-test-secret-1"),
        "the key is not in SQLite"
    );

    let (status, _, body) = router.ask("openai/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.keys_seen(), ["sk-test-secret-1"]);

    let (status, patched) = router
        .api(
            Method::PATCH,
            &format!("/api/connections/{id}"),
            Some(json!({"apiKey": "sk-test-secret-2", "priority": 5})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["priority"], 5);
    router.ask("openai/gpt-4o").await;
    assert_eq!(
        fake.keys_seen().last().map(String::as_str),
        Some("sk-test-secret-2")
    );

    let (status, _) = router
        .api(
            Method::PATCH,
            &format!("/api/connections/{id}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        router.ask("openai/gpt-4o").await.0,
        400,
        "disabled accounts do not serve"
    );

    assert_eq!(
        router
            .api(Method::DELETE, &format!("/api/connections/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        router
            .api(Method::GET, &format!("/api/connections/{id}"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let router = Router::start("").await;
    let cases = [
        (
            json!({"provider": "openai", "name": "", "apiKey": "k"}),
            "name",
        ),
        (
            json!({"provider": "nope", "name": "x", "apiKey": "k"}),
            "provider",
        ),
        (json!({"provider": "openai", "name": "x"}), "apiKey"),
        (
            json!({"provider": "openai", "name": "x", "apiKey": "k", "baseUrl": "ftp://x"}),
            "baseUrl",
        ),
        (
            json!({"provider": "openai", "name": "x", "apiKey": "k", "priority": -1}),
            "priority",
        ),
        (
            json!({"provider": "openai", "name": "x", "apiKey": "k", "colour": "red"}),
            "colour",
        ),
        (json!({"name": "x"}), "provider"),
        (
            json!({"provider": "cc", "name": "x", "apiKey": "k"}),
            "provider",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = router
            .api(Method::POST, "/api/connections", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} → {err}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
        assert_eq!(err["error"]["code"], "validation_error");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, err) = router
        .api(
            Method::PATCH,
            "/api/settings",
            Some(json!({"routing": {"stickyLimit": 0}})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("routing.stickyLimit"))
    );
    let (status, err) = router
        .api(
            Method::PATCH,
            "/api/settings",
            Some(json!({"routing": {"bogus": 1}})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("bogus"))
    );
}

#[tokio::test]
async fn nodes_combos_and_aliases_are_managed_and_routed_at_once() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start("").await;
    let (status, node) = router
        .api(
            Method::POST,
            "/api/nodes",
            Some(json!({"name": "LM box", "prefix": "lm", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(status, 201, "{node}");
    let (status, err) = router
        .api(
            Method::POST,
            "/api/nodes",
            Some(json!({"name": "dup", "prefix": "lm", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (409, Some("prefix"))
    );
    let (status, err) = router
        .api(
            Method::POST,
            "/api/nodes",
            Some(json!({"name": "x", "prefix": "oa", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("prefix"))
    );

    let (status, _) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({"provider": "lm", "name": "local", "apiKey": "lm-key"})),
        )
        .await;
    assert_eq!(status, 201);

    let (status, combo) = router
        .api(
            Method::POST,
            "/api/combos",
            Some(json!({"name": "daily", "models": ["lm/big", "lm/small"]})),
        )
        .await;
    assert_eq!(status, 201, "{combo}");
    assert_eq!(combo["strategy"], "fallback");
    let (_, _, body) = router.ask("daily").await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by lm-key as big"
    );

    let (status, err) = router
        .api(
            Method::POST,
            "/api/combos",
            Some(json!({"name": "bad", "models": ["lm/x", "zz/y"]})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("models[1]"))
    );

    // Reorder, rename; a change that would close a cycle is refused.
    let (status, _) = router
        .api(
            Method::POST,
            "/api/combos",
            Some(json!({"name": "outer", "models": ["daily"]})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = router
        .api(
            Method::PATCH,
            "/api/combos/daily",
            Some(json!({"models": ["lm/big", "outer"]})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("cycle"));
    let (status, renamed) = router
        .api(
            Method::PATCH,
            "/api/combos/daily",
            Some(json!({"name": "everyday", "models": ["lm/small", "lm/big"]})),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    let (_, _, body) = router.ask("everyday").await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by lm-key as small"
    );

    let (status, _) = router
        .api(
            Method::PUT,
            "/api/aliases/quick",
            Some(json!({"target": "lm/tiny"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, body) = router.ask("quick").await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by lm-key as tiny"
    );
    assert_eq!(
        router
            .api(Method::DELETE, "/api/aliases/quick", None)
            .await
            .0,
        204
    );
    assert_eq!(router.ask("quick").await.0, 404);

    // Deleting the node takes its accounts with it.
    let node_id = node["id"].as_str().unwrap();
    assert_eq!(
        router
            .api(Method::DELETE, &format!("/api/nodes/{node_id}"), None)
            .await
            .0,
        204
    );
    let (_, conns) = router.api(Method::GET, "/api/connections", None).await;
    assert_eq!(conns.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn proxy_keys_are_shown_once_stored_hashed_and_enforced() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let (status, created) = router
        .api(Method::POST, "/api/keys", Some(json!({"name": "laptop"})))
        .await;
    assert_eq!(status, 201);
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk-nr-"));
    let listing = router.api(Method::GET, "/api/keys", None).await.1;
    assert!(!listing.to_string().contains(&key));
    assert_eq!(listing[0]["name"], "laptop");
    assert!(
        !contains(&db_bytes(&router), &key),
        "only the hash is stored"
    );

    // Keys required: managing the router needs its password from then on.
    router.set_admin_password("management-pw").await;
    let (status, settings) = router
        .api(
            Method::PATCH,
            "/api/settings",
            Some(json!({"requireApiKey": true})),
        )
        .await;
    assert_eq!(
        (status, settings["requireApiKey"].as_bool()),
        (200, Some(true))
    );
    let body = json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]});
    let send = |auth: Option<&str>| {
        let mut r = router
            .http
            .post(router.url("/v1/chat/completions"))
            .json(&body);
        if let Some(a) = auth {
            r = r.header("x-api-key", a);
        }
        r.send()
    };
    let missing = send(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["error"]["code"],
        "missing_api_key"
    );
    assert_eq!(send(Some("sk-nr-wrong")).await.unwrap().status(), 401);
    assert_eq!(send(Some(&key)).await.unwrap().status(), 200);

    let id = created["id"].as_str().unwrap();
    assert_eq!(
        router
            .api(
                Method::PATCH,
                &format!("/api/keys/{id}"),
                Some(json!({"name": "desk"}))
            )
            .await
            .0,
        200
    );
    assert_eq!(
        router
            .api(Method::DELETE, &format!("/api/keys/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(send(Some(&key)).await.unwrap().status(), 401, "revoked");
}

#[tokio::test]
async fn file_entries_are_listed_read_only() {
    let fake = FakeOpenAi::start().await;
    let extra =
        "\n[[combo]]\nname = \"from-file\"\nmodels = [\"ma/x\"]\n[aliases]\nfa = \"ma/y\"\n";
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], extra)).await;
    let (_, conns) = router.api(Method::GET, "/api/connections", None).await;
    assert_eq!(conns[0]["readOnly"], true);
    assert_eq!(conns[0]["source"], "file");
    assert_eq!(conns[0]["hasApiKey"], true);
    assert!(conns[0].get("apiKey").is_none(), "{conns}");
    let (status, err) = router
        .api(
            Method::PATCH,
            "/api/connections/file-key-a",
            Some(json!({"priority": 3})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("read_only"))
    );
    assert_eq!(
        router
            .api(Method::DELETE, "/api/combos/from-file", None)
            .await
            .0,
        409
    );
    assert_eq!(
        router.api(Method::DELETE, "/api/aliases/fa", None).await.0,
        409
    );
    let (_, combos) = router.api(Method::GET, "/api/combos", None).await;
    assert_eq!(combos[0]["readOnly"], true);
    let (status, err) = router
        .api(
            Method::POST,
            "/api/combos",
            Some(json!({"name": "from-file", "models": ["ma/z"]})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (409, Some("name"))
    );
}

#[tokio::test]
async fn status_reports_the_secret_backend_and_events_stream_changes() {
    let router = Router::start("").await;
    let (_, status) = router.api(Method::GET, "/api/status", None).await;
    assert_eq!(status["secretBackend"]["kind"], "memory");
    assert_eq!(status["loopbackOnly"], true);

    let mut events = router
        .http
        .get(router.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    router
        .api(
            Method::PUT,
            "/api/aliases/x",
            Some(json!({"target": "oa/gpt-4o"})),
        )
        .await;
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk())
        .await
        .expect("an event arrives")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("config-changed") && text.contains("aliases"),
        "{text}"
    );
}

#[tokio::test]
async fn a_connection_test_lists_the_providers_models_with_the_accounts_key() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    for (id, model, key_header, key) in [
        ("file-chat", "gpt-4o", "authorization", "Bearer k-chat"),
        (
            "file-anth",
            "claude-sonnet-4-5",
            "x-api-key",
            "k-anth-secret",
        ),
        ("file-gem", "gemini-2.5-flash", "x-goog-api-key", "k-gem"),
    ] {
        let (status, probe) = router
            .api(Method::POST, &format!("/api/connections/{id}/test"), None)
            .await;
        assert_eq!(status, 200, "{probe}");
        assert_eq!(probe["ok"], true, "{id}: {probe}");
        assert!(
            probe["models"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == model),
            "{id}: {probe}"
        );
        assert_eq!(fake.last().headers[key_header], key, "{id}");
    }
    fake.set(Script {
        error: Some((401, "invalid x-api-key k-anth-secret".into())),
        ..Script::default()
    });
    let (_, probe) = router
        .api(Method::POST, "/api/connections/file-anth/test", None)
        .await;
    assert_eq!(probe["ok"], false);
    assert_eq!(probe["status"], 401);
    let message = probe["message"].as_str().unwrap();
    assert!(
        message.contains("401") && !message.contains("k-anth-secret"),
        "{message}"
    );
    let (status, _) = router
        .api(Method::POST, "/api/connections/nobody/test", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pausing_refuses_requests_in_each_clients_format_until_resumed() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let mut events = router.engine.subscribe();
    let (status, body) = router.api(Method::POST, "/api/routing/pause", None).await;
    assert_eq!((status, body["paused"].as_bool()), (200, Some(true)));
    assert!(router.engine.snapshot().paused);
    let heard = serde_json::to_value(events.recv().await.unwrap()).unwrap();
    assert_eq!(heard["type"], "routing-paused");

    let (status, _, body) = router.ask("fchat/gpt-4o").await;
    assert_eq!(status, 503);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("paused"),
        "{body}"
    );
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .json(
            &json!({"model": "fanth/claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["type"], "error", "Anthropic's error shape: {body}");
    assert_eq!(
        fake.seen().len(),
        0,
        "nothing reached a provider while paused"
    );

    let (_, status_body) = router.api(Method::GET, "/api/status", None).await;
    assert_eq!(status_body["paused"], true);
    router.api(Method::POST, "/api/routing/resume", None).await;
    assert_eq!(router.ask("fchat/gpt-4o").await.0, 200);
}

#[tokio::test]
async fn the_active_combo_is_what_the_default_model_routes_to() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let fake = FakeUpstream::start(Script::default()).await;
    let head = format!(
        "{}\n[[combo]]\nname = \"cheap\"\nmodels = [\"fchat/gpt-4o\"]\n\n[[combo]]\nname = \"smart\"\nmodels = [\"fanth/claude-sonnet-4-5\"]\n",
        crate::support::FAST_ROUTING
    );
    let router = Router::start(&fake.four_formats_config(&head)).await;
    let (_, none) = router.api(Method::GET, "/api/active-combo", None).await;
    assert_eq!(none["name"], Value::Null);
    assert_eq!(none["model"], "default");

    for (combo, account) in [
        ("cheap", "file-chat"),
        ("smart", "file-anth"),
        ("cheap", "file-chat"),
    ] {
        let (status, body) = router
            .api(
                Method::PUT,
                "/api/active-combo",
                Some(json!({"name": combo})),
            )
            .await;
        assert_eq!((status, body["name"].as_str()), (200, Some(combo)));
        assert_eq!(
            router.engine.snapshot().active_combo.as_deref(),
            Some(combo)
        );
        let (status, served_by, _) = router.ask("default").await;
        assert_eq!(
            (status, served_by.as_deref()),
            (200, Some(account)),
            "{combo}"
        );
    }
    let (status, e) = router
        .api(
            Method::PUT,
            "/api/active-combo",
            Some(json!({"name": "nope"})),
        )
        .await;
    assert_eq!(status, 404, "{e}");
    // The choice is the `default` alias: it survives a restart.
    let router = router.restart().await;
    assert_eq!(
        router.engine.snapshot().active_combo.as_deref(),
        Some("cheap")
    );
}

#[tokio::test]
async fn an_open_event_stream_ends_at_stop_instead_of_holding_it_for_the_drain() {
    let router = Router::start("").await;
    let mut events = router
        .http
        .get(router.url("/api/events"))
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), 200);
    let Router { engine, .. } = router;
    // The drain waits up to 30 s for requests in flight; an event stream is not one.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), engine.stop()).await;
    assert!(stopped.is_ok(), "stop waited for the open event stream");
    let mut seen = String::new();
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: stopping"), "{seen}");
}
