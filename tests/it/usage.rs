//! Usage recording over real HTTP: token counts and cost from every provider format's usage
//! fields, streamed and not, and no record lost in a burst.
use std::time::Duration;

use crate::support::Router;
use crate::support::fake_upstream::{CACHED, FakeUpstream, INPUT, OUTPUT, REASONING, Script};
use serde_json::{Value, json};

/// The four upstream formats and whether each reports reasoning tokens.
const TARGETS: [(&str, bool); 4] = [
    ("fchat/gpt-4o", true),
    ("fresp/gpt-5", true),
    ("fanth/claude-sonnet-4-5", false),
    ("gemini/gemini-2.5-flash", true),
];

async fn chat(router: &Router, model: &str, stream: bool) -> reqwest::Response {
    let body = json!({"model": model, "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]});
    let r = router
        .http
        .post(router.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{model}");
    r
}

/// The summary once the writer has caught up with `requests` records.
async fn summary_after(router: &Router, requests: i64, by: &str) -> Value {
    for _ in 0..200 {
        let s: Value = router
            .http
            .get(router.url(&format!("/api/usage/summary?by={by}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["total"]["requests"].as_i64() >= Some(requests) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the usage writer never recorded {requests} requests");
}

#[tokio::test]
async fn tokens_and_cost_come_from_every_formats_usage_fields() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    for (model, _) in TARGETS {
        chat(&router, model, false).await.bytes().await.unwrap();
        chat(&router, model, true).await.bytes().await.unwrap();
    }
    let s = summary_after(&router, 8, "model").await;
    let groups = s["groups"].as_array().unwrap();
    for (model, reports_reasoning) in TARGETS {
        let upstream = model.split('/').nth(1).unwrap();
        let g = groups
            .iter()
            .find(|g| {
                g["key"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/{upstream}"))
            })
            .unwrap_or_else(|| panic!("no usage group for {model}: {s}"));
        let n = 2;
        assert_eq!(g["requests"], n, "{model}");
        assert_eq!(g["inputTokens"], n * (INPUT - CACHED) as i64, "{model}");
        assert_eq!(g["cachedTokens"], n * CACHED as i64, "{model}");
        assert_eq!(g["outputTokens"], n * OUTPUT as i64, "{model}");
        let reasoning = if reports_reasoning { REASONING } else { 0 };
        assert_eq!(g["reasoningTokens"], n * reasoning as i64, "{model}");
        assert!(g["cost"].as_f64().unwrap() > 0.0, "{model} is priced");
    }
    let gpt4o = groups
        .iter()
        .find(|g| g["key"].as_str().unwrap().ends_with("/gpt-4o"))
        .unwrap();
    // gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens.
    let expected = 2.0 * (100.0 * 2.5 + 20.0 * 1.25 + 40.0 * 10.0) / 1e6;
    assert!((gpt4o["cost"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert!(
        s["total"]["avgTtftMs"].as_f64().unwrap() <= s["total"]["avgLatencyMs"].as_f64().unwrap()
    );

    let series: Value = router
        .http
        .get(router.url("/api/usage/timeseries?bucket=hour&by=provider"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total: i64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 8);
    let bad = router
        .http
        .get(router.url("/api/usage/timeseries?bucket=week"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn failures_are_recorded_with_their_status() {
    let fake = FakeUpstream::start(Script {
        error: Some((400, "bad request".into())),
        ..Default::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let body = json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let r = router
        .http
        .post(router.url("/v1/chat/completions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let s = summary_after(&router, 1, "provider").await;
    assert_eq!(s["total"]["errors"], 1);
    assert_eq!(s["total"]["inputTokens"], 0);
}

#[tokio::test]
async fn a_burst_of_ten_thousand_requests_loses_no_usage_record() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let total = 10_000;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (http, url, next) = (
                router.http.clone(),
                router.url("/v1/chat/completions"),
                next.clone(),
            );
            tokio::spawn(async move {
                let body = json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                    let r = http.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let s = summary_after(&router, total as i64, "provider").await;
    assert_eq!(s["total"]["requests"], total as i64);
    assert_eq!(s["total"]["outputTokens"], (total as u64 * OUTPUT) as i64);
}

#[tokio::test]
async fn usage_is_split_by_proxy_key_and_combo_and_priced_by_user_overrides() {
    let fake = FakeUpstream::start(Script::default()).await;
    let head = format!(
        "{}\n[server]\napi_keys = [\"sk-file-key-1\"]\n\n[[combo]]\nname = \"work\"\nmodels = [\"fchat/gpt-4o\"]\n\n[aliases]\nmine = \"work\"\n",
        crate::support::FAST_ROUTING
    );
    let router = Router::start(&fake.four_formats_config(&head)).await;
    let (status, created) = router
        .api(
            reqwest::Method::POST,
            "/api/keys",
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    let key_id = created["id"].as_str().unwrap().to_owned();

    // A user price for this node's gpt-4o: $1 per 1M of every token kind.
    let (status, p) = router
        .api(
            reqwest::Method::PUT,
            "/api/prices/file-node-fchat/gpt-4o",
            Some(json!({"input": 1.0, "cachedInput": 1.0, "cacheWrite": 1.0, "output": 1.0})),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    let (_, prices) = router.api(reqwest::Method::GET, "/api/prices", None).await;
    assert_eq!(prices["overrides"][0]["model"], "gpt-4o");
    assert!(prices["table"].as_array().unwrap().len() > 10);

    for (model, bearer) in [
        ("work", key.as_str()),
        ("mine", key.as_str()),
        ("fchat/gpt-4o", "sk-file-key-1"),
        ("fchat/gpt-4o", "sk-not-ours"),
    ] {
        let r = router
            .http
            .post(router.url("/v1/chat/completions"))
            .bearer_auth(bearer)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let by_key = summary_after(&router, 4, "key").await;
    let count = |s: &Value, k: &str| {
        s["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["key"] == k)
            .map_or(0, |g| g["requests"].as_i64().unwrap())
    };
    assert_eq!(count(&by_key, &key_id), 2);
    assert_eq!(count(&by_key, "file-key-0"), 1);
    assert_eq!(count(&by_key, ""), 1);
    let by_combo = summary_after(&router, 4, "combo").await;
    assert_eq!(count(&by_combo, "work"), 2, "{by_combo}");
    // 120 input + 40 output tokens at $1 per 1M each.
    let cost = by_combo["total"]["cost"].as_f64().unwrap();
    assert!((cost - 4.0 * 160.0 / 1e6).abs() < 1e-12, "{cost}");

    let (status, e) = router
        .api(
            reqwest::Method::PUT,
            "/api/prices/nobody/gpt-4o",
            Some(json!({"input": 1.0, "cachedInput": 1.0, "cacheWrite": 1.0, "output": 1.0})),
        )
        .await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("provider"))
    );
    let (status, e) = router
        .api(
            reqwest::Method::PUT,
            "/api/prices/file-node-fchat/gpt-4o",
            Some(json!({"input": -1.0, "cachedInput": 1.0, "cacheWrite": 1.0, "output": 1.0})),
        )
        .await;
    assert_eq!((status, e["error"]["field"].as_str()), (400, Some("input")));
    let (status, _) = router
        .api(
            reqwest::Method::DELETE,
            "/api/prices/file-node-fchat/gpt-4o",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = router
        .api(
            reqwest::Method::DELETE,
            "/api/prices/file-node-fchat/gpt-4o",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn records_show_the_names_people_gave_nodes_accounts_and_keys() {
    let fake = crate::support::FakeOpenAi::start().await;
    let router = Router::start(&crate::support::node_config(
        &[("wo", &fake, &["work-openai"])],
        "\n[server]\napi_keys = [\"sk-local-1\"]\n",
    ))
    .await;
    let (status, _, _) = router.ask("wo/gpt-4o").await;
    assert_eq!(status, 200);
    let summary = summary_after(&router, 1, "account").await;
    assert_eq!(summary["groups"][0]["key"], "file-work-openai");
    assert_eq!(summary["groups"][0]["name"], "work-openai");
    let page = router
        .wait_for("/api/usage/request-details", |v| {
            v["details"][0]["status"].as_u64() == Some(200)
        })
        .await;
    assert_eq!(page["details"][0]["accountName"], "work-openai");
    assert_eq!(page["details"][0]["providerName"], "wo");
    let id = page["details"][0]["id"].as_str().unwrap();
    let (_, detail) = router
        .api(
            reqwest::Method::GET,
            &format!("/api/usage/request-details/{id}"),
            None,
        )
        .await;
    assert_eq!(detail["accountName"], "work-openai");
}
