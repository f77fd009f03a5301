//! The request inspector over real HTTP: four layers per request with secrets redacted,
//! streams listed at once and completed at their end, pagination and filters, retention
//! limits, export; and the live events the dashboard follows.
use std::time::Duration;

use crate::support::Router;
use crate::support::fake_upstream::{FakeUpstream, Script};
use futures_util::StreamExt;
use serde_json::{Value, json};

async fn get(router: &Router, path: &str) -> (u16, Value) {
    router.api(reqwest::Method::GET, path, None).await
}

async fn wait_for(router: &Router, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    router.wait_for(path, done).await
}

fn total(v: &Value) -> u64 {
    v["pagination"]["totalItems"].as_u64().unwrap_or(0)
}

async fn post_chat(router: &Router, body: Value, key: &str) -> reqwest::Response {
    router
        .http
        .post(router.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The id the router gave a request (its `x-ninerouter-request-id` header).
fn request_id(r: &reqwest::Response) -> String {
    r.headers()["x-ninerouter-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// A router over the four formats with `lines` under `[observability]`.
async fn router_observing(fake: &FakeUpstream, lines: &str) -> Router {
    let head = format!(
        "{}\n[observability]\n{lines}\n",
        crate::support::FAST_ROUTING
    );
    Router::start(&fake.four_formats_config(&head)).await
}

#[tokio::test]
async fn every_layer_is_kept_with_secrets_redacted_and_thinking_apart() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    // The client quotes an account key in its prompt: it must not survive anywhere.
    let body = json!({"model": "fanth/claude-sonnet-4-5", "max_tokens": 300, "temperature": 0.2,
        "reasoning_effort": "high",
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "messages": [{"role": "user", "content": "is k-anth-secret a good key?"}]});
    let r = post_chat(&router, body, "sk-client-secret").await;
    assert_eq!(r.status(), 200);
    let id = request_id(&r);
    r.bytes().await.unwrap();

    let d = wait_for(&router, &format!("/api/usage/request-details/{id}"), |v| {
        v["status"] == 200
    })
    .await;
    let text = d.to_string();
    for secret in ["k-anth-secret", "sk-client-secret"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // 1. The client's request, as sent, its Authorization hidden.
    assert_eq!(d["clientRequest"]["headers"]["authorization"], "[REDACTED]");
    assert_eq!(d["clientRequest"]["body"]["max_tokens"], 300);
    // 2. The request sent to the provider, translated to Anthropic Messages.
    let sent = &d["providerRequest"];
    assert!(sent["url"].as_str().unwrap().ends_with("/v1/messages"));
    assert_eq!(sent["headers"]["x-api-key"], "[REDACTED]");
    assert_eq!(sent["body"]["tools"][0]["name"], "get_weather");
    assert!(
        sent["body"]["messages"][0]["content"]
            .to_string()
            .contains("[REDACTED]")
    );
    // 3. The provider's raw answer; 4. the answer the client got, in its own format.
    assert_eq!(d["providerResponse"]["status"], 200);
    assert_eq!(d["providerResponse"]["body"]["type"], "message");
    assert_eq!(d["clientResponse"]["body"]["object"], "chat.completion");
    assert_eq!(
        d["clientResponse"]["headers"]["x-ninerouter-request-id"],
        id.as_str()
    );
    // The request's settings at a glance, and thinking kept apart from the answer.
    assert_eq!(d["config"]["maxTokens"], 300);
    assert_eq!(d["config"]["temperature"], 0.2);
    assert_eq!(d["config"]["tools"][0], "get_weather");
    assert_eq!(d["answer"]["thinking"], "Let me think.");
    assert_eq!(d["answer"]["content"], "Hello from the fake.");
    assert_eq!(d["tokens"]["output"], 40);
    assert_eq!(d["connectionId"], "file-anth");
}

#[tokio::test]
async fn a_stream_is_listed_at_once_and_completed_when_it_ends() {
    let fake = FakeUpstream::start(Script {
        event_delay_ms: 150,
        ..Script::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let r = post_chat(
        &router,
        json!({"model": "fresp/gpt-5", "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
        "x",
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = request_id(&r);
    let mut body = r.bytes_stream();
    body.next().await.unwrap().unwrap();
    // Mid-stream: listed, pending, its client request already there.
    let listed = wait_for(&router, "/api/usage/request-details", |v| total(v) == 1).await;
    assert_eq!(listed["details"][0]["id"], id.as_str());
    assert_eq!(listed["details"][0]["pending"], true);
    let (_, pending) = get(&router, "/api/usage/request-details?status=pending").await;
    assert_eq!(total(&pending), 1);

    while body.next().await.is_some() {}
    let d = wait_for(&router, &format!("/api/usage/request-details/{id}"), |v| {
        v["status"] == 200
    })
    .await;
    // The raw upstream events (Responses API) and the client's Chat chunks, both as lists.
    let upstream: Vec<&str> = d["providerResponse"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(upstream.first(), Some(&"response.created"));
    assert_eq!(upstream.last(), Some(&"response.completed"));
    let client = d["clientResponse"]["events"].as_array().unwrap();
    assert_eq!(client.last().unwrap()["data"], "[DONE]");
    assert_eq!(d["answer"]["content"], "Hello from the fake.");
    assert_eq!(d["answer"]["thinking"], "Let me think.");
    let (ttft, latency) = (
        d["ttftMs"].as_i64().unwrap(),
        d["latencyMs"].as_i64().unwrap(),
    );
    assert!(ttft < latency, "ttft {ttft} < latency {latency}");
}

#[tokio::test]
async fn pages_and_filters() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    for i in 0..5 {
        let model = if i % 2 == 0 {
            "fchat/gpt-4o"
        } else {
            "gemini/gemini-2.5-flash"
        };
        let body = json!({"model": model, "messages": [{"role": "user", "content": format!("needle-{i}")}]});
        assert_eq!(post_chat(&router, body, "x").await.status(), 200);
    }
    let body = json!({"model": "nowhere/x", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(post_chat(&router, body, "x").await.status(), 404);
    let all = wait_for(&router, "/api/usage/request-details?pageSize=2", |v| {
        total(v) == 6
    })
    .await;
    assert_eq!(all["details"].as_array().unwrap().len(), 2);
    assert_eq!(all["pagination"]["totalPages"], 3);
    assert_eq!(all["pagination"]["page"], 1);
    let (_, last) = get(&router, "/api/usage/request-details?pageSize=2&page=3").await;
    assert_eq!(last["details"].as_array().unwrap().len(), 2);
    // Newest first: the failed request is on top of page 1.
    assert_eq!(all["details"][0]["status"], 404);

    let count = |q: &'static str| {
        let router = &router;
        async move {
            total(
                &get(router, &format!("/api/usage/request-details?{q}"))
                    .await
                    .1,
            )
        }
    };
    assert_eq!(count("provider=gemini").await, 2);
    assert_eq!(count("model=fchat/gpt-4o").await, 3);
    assert_eq!(count("model=gpt-4o").await, 3);
    assert_eq!(count("connectionId=file-gem").await, 2);
    assert_eq!(count("status=error").await, 1);
    assert_eq!(count("status=404").await, 1);
    assert_eq!(count("status=ok").await, 5);
    assert_eq!(count("q=needle-3").await, 1);
    assert_eq!(count("from=0&to=1").await, 0);

    for bad in [
        "pageSize=0",
        "pageSize=1001",
        "page=0",
        "status=maybe",
        "from=5&to=1",
    ] {
        let (status, v) = get(&router, &format!("/api/usage/request-details?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "validation_error");
    }
    let (status, _) = get(&router, "/api/usage/request-details/nope").await;
    assert_eq!(status, 404);

    // Export of chosen requests, with every layer.
    let ids: Vec<String> = all["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let r = router
        .http
        .get(router.url(&format!(
            "/api/usage/request-details/export?ids={}",
            ids.join(",")
        )))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = r.json().await.unwrap();
    let requests = export["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert!(
        requests
            .iter()
            .all(|r| r["clientRequest"]["body"].is_object())
    );
}

/// Sends 8 requests with 5 KB prompts under `limits`; returns the router, the newest id and
/// how many requests the inspector kept.
async fn eight_big_requests(fake: &FakeUpstream, limits: &str) -> (Router, String, u64) {
    let router = router_observing(fake, limits).await;
    let mut last_id = String::new();
    for i in 0..8 {
        let big = "x".repeat(5000);
        let body = json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": format!("{i}{big}")}]});
        let r = post_chat(&router, body, "x").await;
        last_id = request_id(&r);
        r.bytes().await.unwrap();
    }
    // Usage keeps every request even when the inspector has pruned it.
    wait_for(&router, "/api/usage/summary", |v| {
        v["total"]["requests"] == 8
    })
    .await;
    let v = wait_for(&router, "/api/usage/request-details", |v| {
        v["details"][0]["id"] == last_id.as_str() && v["details"][0]["status"] == 200
    })
    .await;
    let kept = total(&v);
    (router, last_id, kept)
}

#[tokio::test]
async fn retention_keeps_the_newest_within_count_and_byte_limits() {
    let fake = FakeUpstream::start(Script::default()).await;
    let (_, _, kept) = eight_big_requests(&fake, "inspector_max_requests = 5").await;
    assert_eq!(kept, 5);

    let (router, last_id, kept) = eight_big_requests(
        &fake,
        "inspector_max_field_bytes = 2000\ninspector_max_bytes = 20000",
    )
    .await;
    let size: i64 = rusqlite::Connection::open(router.data_dir().join("ninerouter.db"))
        .unwrap()
        .query_row("SELECT sum(size) FROM request_details", [], |r| r.get(0))
        .unwrap();
    assert!(size <= 20_000, "stored {size} bytes");
    assert!(
        (1..8).contains(&kept),
        "kept {kept} of 8 under the byte budget"
    );
    let d = get(&router, &format!("/api/usage/request-details/{last_id}"))
        .await
        .1;
    // The 5 KB prompt was cut at the 2 KB field cap, and says so.
    assert_eq!(d["clientRequest"]["truncated"], true);
    assert_eq!(d["clientRequest"]["bytes"], 2000);
}

/// Thirty requests at once, every other one streamed; their ids.
async fn burst_of_30(router: &Router) -> Vec<String> {
    let burst = (0..30).map(|i| async move {
        let body = json!({"model": "fchat/gpt-4o", "stream": i % 2 == 0,
            "messages": [{"role": "user", "content": format!("burst {i}")}]});
        let r = post_chat(router, body, "sk-client-secret").await;
        assert_eq!(r.status(), 200);
        let id = request_id(&r);
        r.bytes().await.unwrap();
        id
    });
    futures_util::future::join_all(burst).await
}

#[tokio::test]
async fn past_its_bodies_per_second_the_inspector_keeps_requests_without_their_bodies() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = router_observing(&fake, "inspector_bodies_per_second = 3").await;
    let ids = burst_of_30(&router).await;
    wait_for(&router, "/api/usage/request-details?pageSize=50", |v| {
        total(v) == 30
            && v["details"]
                .as_array()
                .is_some_and(|d| d.iter().all(|d| d["status"] == 200))
    })
    .await;
    let layers = [
        "clientRequest",
        "providerRequest",
        "providerResponse",
        "clientResponse",
    ];
    let (mut kept, mut skipped) = (0, 0);
    let mut seconds = std::collections::BTreeSet::new();
    for id in &ids {
        let d = get(&router, &format!("/api/usage/request-details/{id}"))
            .await
            .1;
        seconds.insert(d["timestamp"].as_i64().unwrap_or_default() / 1000);
        if d["clientRequest"]["skipped"] == true {
            skipped += 1;
            for layer in layers {
                assert_eq!(d[layer]["skipped"], true, "{layer}: {d}");
                assert!(
                    d[layer]["body"].is_null() && d[layer]["events"].is_null(),
                    "{d}"
                );
            }
            // What it was and how it went are kept.
            assert_eq!(d["clientRequest"]["headers"]["authorization"], "[REDACTED]");
            assert_eq!(d["providerResponse"]["status"], 200);
            assert_eq!(d["status"], 200);
        } else {
            kept += 1;
            for layer in layers {
                assert!(d[layer]["skipped"].is_null(), "{layer}: {d}");
            }
            assert!(d["clientRequest"]["body"]["messages"].is_array(), "{d}");
        }
    }
    // 3 a second kept their bodies (the budget's second is read a moment before the request's
    // start is, so one more second may hold some of them).
    let most = 3 * (seconds.len() + 1);
    assert!(
        (1..=most).contains(&kept),
        "{kept} of 30 kept their bodies over {} seconds",
        seconds.len()
    );
    assert!(skipped > 0, "a burst of 30 at 3 a second skips some");
    assert_eq!(kept + skipped, 30);
    wait_for(&router, "/api/usage/summary", |v| {
        v["total"]["requests"] == 30
    })
    .await;
}

#[tokio::test]
async fn past_its_requests_per_second_the_inspector_counts_requests_it_does_not_list() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = router_observing(&fake, "inspector_requests_per_second = 3").await;
    let ids = burst_of_30(&router).await;
    // Usage counts every request, listed or not.
    wait_for(&router, "/api/usage/summary", |v| {
        v["total"]["requests"] == 30
    })
    .await;
    let page = wait_for(&router, "/api/usage/request-details?pageSize=50", |v| {
        total(v) + v["unlisted"].as_u64().unwrap_or(0) == 30
    })
    .await;
    let listed: Vec<&str> = page["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    let mut seconds = std::collections::BTreeMap::<i64, usize>::new();
    for d in page["details"].as_array().unwrap() {
        *seconds
            .entry(d["timestamp"].as_i64().unwrap_or_default() / 1000)
            .or_default() += 1;
    }
    // 3 a second were listed (the budget's second is read a moment before the request's
    // start is, so one more second may hold some of them).
    let most = 3 * (seconds.len() + 1);
    assert!(
        (1..=most).contains(&listed.len()),
        "{} of 30 listed over {seconds:?}",
        listed.len()
    );
    assert!(page["unlisted"].as_u64() > Some(0), "{page}");
    // One not listed has no detail to open; a listed one has its layers.
    let unlisted = ids
        .iter()
        .find(|id| !listed.contains(&id.as_str()))
        .expect("some request was not listed");
    let (status, _) = get(&router, &format!("/api/usage/request-details/{unlisted}")).await;
    assert_eq!(status, 404);
    let (_, d) = get(
        &router,
        &format!("/api/usage/request-details/{}", listed[0]),
    )
    .await;
    assert_eq!(d["clientRequest"]["headers"]["authorization"], "[REDACTED]");

    // The limit is a setting of at least 1.
    let (status, err) = router
        .api(
            reqwest::Method::PATCH,
            "/api/settings",
            Some(json!({"observability": {"inspectorRequestsPerSecond": 0}})),
        )
        .await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("observability.inspectorRequestsPerSecond")),
        "{err}"
    );
}

#[tokio::test]
async fn requests_the_router_does_not_serve_take_no_place_in_the_inspector() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = router_observing(&fake, "inspector_requests_per_second = 1").await;
    for _ in 0..3 {
        let r = router
            .http
            .post(router.url("/v1/messages/count_tokens"))
            .bearer_auth("sk-client-secret")
            .json(&json!({"model": "fanth/claude-sonnet-4-5",
                "messages": [{"role": "user", "content": "how many?"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = post_chat(&router, json!({"messages": []}), "sk-client-secret").await;
        assert_eq!(r.status(), 400);
    }
    // The one place of this second is the served request's.
    let r = post_chat(
        &router,
        json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        "sk-client-secret",
    )
    .await;
    assert_eq!(r.status(), 200);
    let id = request_id(&r);
    let page = wait_for(&router, "/api/usage/request-details?pageSize=50", |v| {
        total(v) == 1
    })
    .await;
    assert_eq!(page["details"][0]["id"], id.as_str(), "{page}");
    assert_eq!(page["unlisted"], 0, "{page}");
}

#[tokio::test]
async fn turning_the_inspector_off_keeps_usage_but_no_detail() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = router_observing(&fake, "inspector = false").await;
    for stream in [false, true] {
        let body = json!({"model": "fchat/gpt-4o", "stream": stream,
            "messages": [{"role": "user", "content": "hi"}]});
        post_chat(&router, body, "x").await.bytes().await.unwrap();
    }
    wait_for(&router, "/api/usage/summary", |v| {
        v["total"]["requests"] == 2
    })
    .await;
    assert_eq!(
        total(&get(&router, "/api/usage/request-details").await.1),
        0
    );
}

#[tokio::test]
async fn live_events_announce_requests_as_they_start_and_finish() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let events = router
        .http
        .get(router.url("/api/events"))
        .send()
        .await
        .unwrap();
    let mut events = events.bytes_stream();
    let r = post_chat(
        &router,
        json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        "x",
    )
    .await;
    let id = request_id(&r);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen.contains("event: request-finished") {
        let chunk = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("request-finished arrives")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let started = seen.find("event: request-started").expect("started first");
    let finished = seen.find("event: request-finished").unwrap();
    assert!(started < finished);
    let finished_data: Value = serde_json::from_str(
        seen[finished..]
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(finished_data["id"], id.as_str());
    assert_eq!(finished_data["outputTokens"], 40);
    assert!(finished_data["cost"].as_f64().unwrap() > 0.0);
}
