//! Web pages must not drive the router: Host (DNS rebinding) and Origin checks, CORS, and
//! proxy keys where they are required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use ninerouter::engine::{Engine, EngineOptions};
use ninerouter::secrets::BackendChoice;
use serde_json::json;
use support::{FakeOpenAi, Router, node_config};

#[tokio::test]
async fn a_foreign_host_header_is_refused_everywhere_on_loopback() {
    let router = Router::start("").await;
    for path in [
        "/api/status",
        "/v1/models",
        "/v1beta/models",
        "/",
        "/no/such/path",
    ] {
        let r = router
            .http
            .get(router.url(path))
            .header("host", "evil.example:20128")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    for host in ["localhost:1", "127.0.0.1", "[::1]:20128"] {
        let r = router
            .http
            .get(router.url("/api/status"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn cross_site_changes_to_the_management_api_are_refused() {
    let router = Router::start("").await;
    let own = router.base.clone();
    let post = |origin: &str| {
        router
            .http
            .put(router.url("/api/aliases/x"))
            .header("origin", origin)
            .json(&json!({"target": "oa/gpt-4o"}))
            .send()
    };
    assert_eq!(post("https://evil.example").await.unwrap().status(), 403);
    assert_eq!(post("null").await.unwrap().status(), 403);
    assert_eq!(
        post("http://localhost:3000").await.unwrap().status(),
        403,
        "another local port"
    );
    assert_eq!(post(&own).await.unwrap().status(), 200);
    assert_eq!(post("tauri://localhost").await.unwrap().status(), 200);
    let no_origin_cross_site = router
        .http
        .delete(router.url("/api/aliases/x"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin_cross_site.status(), 403);
}

#[tokio::test]
async fn cors_opens_the_management_api_only_to_the_dashboard() {
    let router = Router::start("").await;
    let preflight = |origin: &str| {
        router
            .http
            .request(reqwest::Method::OPTIONS, router.url("/api/combos"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let own = preflight(&router.base).await.unwrap();
    assert_eq!(
        own.headers()["access-control-allow-origin"],
        router.base.as_str()
    );
    let foreign = preflight("https://evil.example").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let read = router
        .http
        .get(router.url("/api/status"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        read.headers().get("access-control-allow-origin").is_none(),
        "a page cannot read it"
    );
}

#[tokio::test]
async fn a_foreign_page_needs_a_key_for_the_client_api_even_when_keys_are_off() {
    let fake = FakeOpenAi::start().await;
    let config = node_config(
        &[("ma", &fake, &["key-a"])],
        "\n[server]\napi_keys = [\"sk-local-1\"]\n",
    );
    let router = Router::start(&config).await;
    let body = json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]});
    let from_page = |key: Option<&str>| {
        let mut r = router
            .http
            .post(router.url("/v1/chat/completions"))
            .header("origin", "https://evil.example")
            .json(&body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    assert_eq!(from_page(None).await.unwrap().status(), 401);
    assert_eq!(from_page(Some("sk-local-1")).await.unwrap().status(), 200);
    assert_eq!(router.ask("ma/m").await.0, 200, "local clients need no key");
}

#[tokio::test]
async fn require_api_key_from_the_config_file_accepts_every_client_style() {
    let fake = FakeOpenAi::start().await;
    let config = node_config(
        &[("ma", &fake, &["key-a"])],
        "\n[server]\nrequire_api_key = true\napi_keys = [\"sk-local-1\"]\n",
    );
    let router = Router::start(&config).await;
    let models = |header: Option<(&str, &str)>, query: &str| {
        let mut r = router.http.get(router.url(&format!("/v1/models{query}")));
        if let Some((k, v)) = header {
            r = r.header(k, v);
        }
        r.send()
    };
    assert_eq!(models(None, "").await.unwrap().status(), 401);
    assert_eq!(
        models(Some(("authorization", "Bearer sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        models(Some(("x-api-key", "sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        models(Some(("x-goog-api-key", "sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(models(None, "?key=sk-local-1").await.unwrap().status(), 200);
    assert_eq!(
        models(Some(("authorization", "Bearer sk-other")), "")
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn beyond_loopback_every_api_needs_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[server]\napi_keys = [\"sk-local-1\"]\n").unwrap();
    let engine = Engine::start(EngineOptions {
        host: Some("0.0.0.0".into()),
        port: Some(0),
        data_dir: dir.path().join("data"),
        config_file: Some(config),
        secrets: BackendChoice::Memory,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", engine.address().port());
    let http = reqwest::Client::new();
    let get = |path: &str, key: Option<&str>| {
        let mut r = http.get(format!("{base}{path}"));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    assert_eq!(get("/v1/models", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/v1/models", Some("sk-local-1"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(get("/api/status", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/api/status", Some("sk-local-1"))
            .await
            .unwrap()
            .status(),
        200
    );
    engine.stop().await;
}
