//! Per-key limits end to end: a proxy key's requests and tokens per minute, daily cost,
//! allowed models and expiry, set through the API or the config file, answered in each
//! client's own error format and counted in usage under the key.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{FakeOpenAi, Router, node_config};

async fn create_key(router: &Router, body: Value) -> (String, String) {
    let (status, created) = router.api(Method::POST, "/api/keys", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_str().unwrap_or_default().to_owned(),
        created["key"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn chat(router: &Router, key: &str, model: &str) -> reqwest::Response {
    router
        .http
        .post(router.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("chat")
}

async fn messages(router: &Router, key: &str, model: &str) -> reqwest::Response {
    router
        .http
        .post(router.url("/v1/messages"))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": model, "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("messages")
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_key_over_its_requests_per_minute_waits_with_retry_after() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("rb", &fake, &["key-r"])], "")).await;
    let (id, key) = create_key(&router, json!({"name": "ci", "rpm": 3, "models": ["rb/*"]})).await;
    let listed = router.api(Method::GET, "/api/keys", None).await.1;
    assert_eq!(listed[0]["rpm"], 3);
    assert_eq!(listed[0]["models"], json!(["rb/*"]));

    for _ in 0..3 {
        assert_eq!(chat(&router, &key, "rb/m").await.status(), 200);
    }
    let r = chat(&router, &key, "rb/m").await;
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers());
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("3 requests per minute"),
        "{body}"
    );
    let r = messages(&router, &key, "rb/m").await;
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(
        (body["type"].as_str(), body["error"]["type"].as_str()),
        (Some("error"), Some("rate_limit_error"))
    );
    assert_eq!(
        fake.seen().len(),
        3,
        "refused requests never reach a provider"
    );

    // Lifting the limit takes effect at once; the model list stays.
    let (status, updated) = router
        .api(
            Method::PATCH,
            &format!("/api/keys/{id}"),
            Some(json!({"rpm": null})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert!(updated.get("rpm").is_none());
    assert_eq!(updated["models"], json!(["rb/*"]));
    assert_eq!(chat(&router, &key, "rb/m").await.status(), 200);

    // Usage counts the refusals under the key.
    let summary = router
        .wait_for("/api/usage/summary?by=key", |v| {
            v["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["key"] == id.as_str() && g["requests"] == 6)
        })
        .await;
    let row = summary["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["key"] == id.as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["limited"], 2, "{row}");
}

#[tokio::test]
async fn a_key_may_use_only_the_models_its_patterns_name() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    let extra =
        "\n[[combo]]\nname = \"stack\"\nmodels = [\"rb/m\"]\n[aliases]\nfast = \"rb/small\"\n";
    let router = Router::start(&node_config(
        &[("rb", &fa, &["key-r"]), ("ob", &fb, &["key-o"])],
        extra,
    ))
    .await;
    let (_, key) = create_key(
        &router,
        json!({"name": "scoped", "models": ["rb/*", "stack"]}),
    )
    .await;
    assert_eq!(chat(&router, &key, "rb/anything").await.status(), 200);
    assert_eq!(chat(&router, &key, "stack").await.status(), 200);
    assert_eq!(
        chat(&router, &key, "fast").await.status(),
        200,
        "an alias to an allowed model"
    );

    let r = chat(&router, &key, "ob/m").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["type"], "permission_error");
    let r = messages(&router, &key, "ob/m").await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["type"], "permission_error");
    assert!(fb.seen().is_empty());
    // Counting tokens for a model it may not use is refused too.
    let r = router
        .http
        .post(router.url("/v1/messages/count_tokens"))
        .header("x-api-key", &key)
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "ob/m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("count_tokens");
    assert_eq!(r.status(), 403);

    // Bad limits are refused with the field named.
    let (status, body) = router
        .api(
            Method::POST,
            "/api/keys",
            Some(json!({"name": "x", "rpm": 0})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("rpm"), "{body}");
}

#[tokio::test]
async fn an_expired_key_is_refused_everywhere_in_its_clients_format() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("rb", &fake, &["key-r"])], "")).await;
    let (id, key) = create_key(&router, json!({"name": "temp"})).await;
    assert_eq!(chat(&router, &key, "rb/m").await.status(), 200);
    let past = ninerouter::clock::now_ms() - 1_000;
    let (status, _) = router
        .api(
            Method::PATCH,
            &format!("/api/keys/{id}"),
            Some(json!({"expiresAt": past})),
        )
        .await;
    assert_eq!(status, 200);

    let r = chat(&router, &key, "rb/m").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap_or_default();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );
    let r = router
        .http
        .post(router.url("/v1beta/models/rb%2Fm:generateContent"))
        .header("x-goog-api-key", &key)
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .expect("gemini");
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    let r = router
        .http
        .get(router.url("/v1/models"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("models");
    assert_eq!(r.status(), 401);
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn a_daily_cost_limit_stops_a_key_once_it_is_spent() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("rb", &fake, &["key-r"])], "")).await;
    // gpt-4o's list price; the fake reports 5 prompt and 7 completion tokens: $0.0000825.
    let (id, key) = create_key(
        &router,
        json!({"name": "budget", "dailyCostLimitUsd": 0.0001}),
    )
    .await;
    let spent = |n: i64| {
        let id = id.clone();
        move |v: &Value| {
            v["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g["key"] == id.as_str() && g["requests"] == n)
        }
    };
    assert_eq!(chat(&router, &key, "rb/gpt-4o").await.status(), 200);
    router.wait_for("/api/usage/summary?by=key", spent(1)).await;
    assert_eq!(chat(&router, &key, "rb/gpt-4o").await.status(), 200);
    router.wait_for("/api/usage/summary?by=key", spent(2)).await;
    let r = chat(&router, &key, "rb/gpt-4o").await;
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);

    // The day's spend survives a restart.
    let router = router.restart().await;
    assert_eq!(chat(&router, &key, "rb/gpt-4o").await.status(), 429);

    // Lifted under the config file's spelling too.
    let (status, updated) = router
        .api(
            Method::PATCH,
            &format!("/api/keys/{id}"),
            Some(json!({"daily_cost_limit_usd": null})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert!(updated.get("dailyCostLimitUsd").is_none(), "{updated}");
    assert_eq!(chat(&router, &key, "rb/gpt-4o").await.status(), 200);
}

#[tokio::test]
async fn a_key_declared_in_the_config_file_carries_its_limits() {
    let fake = FakeOpenAi::start().await;
    let extra = r#"
[server]
api_keys = [{ key = "sk-file-limited", name = "ci", rpm = 100, tpm = 10 }]
"#;
    let router = Router::start(&node_config(&[("rb", &fake, &["key-r"])], extra)).await;
    let listed = router.api(Method::GET, "/api/keys", None).await.1;
    assert_eq!(listed[0]["name"], "ci");
    assert_eq!(listed[0]["tpm"], 10);
    // The fake's answer uses 12 tokens: once they are counted, the minute is spent.
    assert_eq!(chat(&router, "sk-file-limited", "rb/m").await.status(), 200);
    router
        .wait_for("/api/usage/summary?by=key", |v| v["total"]["requests"] == 1)
        .await;
    let r = chat(&router, "sk-file-limited", "rb/m").await;
    assert_eq!(r.status(), 429);
    assert!((1..=60).contains(&retry_after(&r)));
    let body: Value = r.json().await.unwrap_or_default();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("10 tokens per minute"),
        "{body}"
    );
    let (status, _) = router
        .api(
            Method::PATCH,
            "/api/keys/file-key-0",
            Some(json!({"rpm": 100})),
        )
        .await;
    assert_eq!(status, 409, "file keys are read-only");
}
