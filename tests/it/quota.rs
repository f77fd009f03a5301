//! Quota over real HTTP: windows from the rate-limit headers of answers (OpenAI and
//! Anthropic style), from OpenRouter's key endpoint on demand, with reset countdowns, saved
//! across restarts, announced live.
use std::time::Duration;

use crate::support::Router;
use crate::support::fake_upstream::{FakeUpstream, Script};
use serde_json::{Value, json};

async fn quota_of(router: &Router, account: &str) -> Value {
    for _ in 0..100 {
        let (status, v) = router
            .api(reqwest::Method::GET, &format!("/api/quota/{account}"), None)
            .await;
        assert_eq!(status, 200, "{v}");
        if !v["windows"].as_array().unwrap().is_empty() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no quota for {account}");
}

fn window<'a>(v: &'a Value, metric: &str) -> &'a Value {
    v["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} window in {v}"))
}

#[tokio::test]
async fn rate_limit_headers_become_windows_with_countdowns_and_survive_a_restart() {
    let fake = FakeUpstream::start(Script {
        headers: vec![
            ("x-ratelimit-limit-requests", "500".into()),
            ("x-ratelimit-remaining-requests", "400".into()),
            ("x-ratelimit-reset-requests", "30s".into()),
            ("x-ratelimit-limit-tokens", "30000".into()),
            ("x-ratelimit-remaining-tokens", "29000".into()),
            ("x-ratelimit-reset-tokens", "2s".into()),
        ],
        ..Script::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    let (status, _, _) = router.ask("fchat/gpt-4o").await;
    assert_eq!(status, 200);
    let q = quota_of(&router, "file-chat").await;
    assert_eq!(q["source"], "headers");
    let requests = window(&q, "requests");
    assert_eq!(requests["window"], "minute");
    assert_eq!(requests["used"], 100.0);
    assert_eq!(requests["percentUsed"], 20.0);
    let countdown = requests["resetsInSecs"].as_i64().unwrap();
    assert!((28..=30).contains(&countdown), "{countdown}");
    assert_eq!(window(&q, "tokens")["remaining"], 29000.0);
    assert!(q["ageSecs"].as_i64().unwrap() <= 1);
    assert_eq!(q["provider"], "file-node-fchat");
    assert_eq!(q["providerName"], "fchat", "the node's own name");
    // A header-only provider cannot be fetched on demand, and says so.
    let (status, r) = router
        .api(reqwest::Method::POST, "/api/quota/file-chat/refresh", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(r["refreshed"], false);
    assert!(r["note"].as_str().unwrap().contains("headers"));

    let router = router.restart().await;
    // Stopping flushed the recording: the request is there at once, without waiting.
    let (_, s) = router
        .api(reqwest::Method::GET, "/api/usage/summary", None)
        .await;
    assert_eq!(s["total"]["requests"], 1, "{s}");
    let q = quota_of(&router, "file-chat").await;
    assert_eq!(window(&q, "requests")["limit"], 500.0);
    let (status, _) = router
        .api(reqwest::Method::GET, "/api/quota/nobody", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn anthropic_headers_give_absolute_resets() {
    let reset = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(42);
    let fake = FakeUpstream::start(Script {
        headers: vec![
            ("anthropic-ratelimit-requests-limit", "50".into()),
            ("anthropic-ratelimit-requests-remaining", "10".into()),
            ("anthropic-ratelimit-requests-reset", reset.to_string()),
        ],
        ..Script::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    router.ask("fanth/claude-sonnet-4-5").await;
    let q = quota_of(&router, "file-anth").await;
    let w = window(&q, "requests");
    assert_eq!(w["percentUsed"], 80.0);
    let countdown = w["resetsInSecs"].as_i64().unwrap();
    assert!((40..=42).contains(&countdown), "{countdown}");
}

fn openrouter_config(fake: &FakeUpstream) -> String {
    format!(
        "{}\n[observability]\nquota_refresh_secs = 1\n\n[[provider]]\nprovider = \"openrouter\"\nname = \"or-main\"\nbase_url = \"{}\"\napi_key = \"sk-or-test-key\"\n",
        crate::support::FAST_ROUTING,
        fake.openai_base()
    )
}

#[tokio::test]
async fn openrouter_credit_limits_are_fetched_on_demand() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&openrouter_config(&fake)).await;
    // The start-up fetch got OpenRouter's 401: the error is shown, nothing invented.
    let (_, q) = router
        .api(reqwest::Method::GET, "/api/quota/file-or-main", None)
        .await;
    assert_eq!(q["refreshable"], true);

    fake.set(Script {
        key_info: Some(json!({"data": {
            "label": "sk-or-v1-abc...xyz", "limit": 100, "limit_remaining": 74.5,
            "limit_reset": "monthly", "usage": 25.5, "usage_daily": 1.5,
            "usage_weekly": 10.0, "usage_monthly": 25.5, "is_free_tier": false,
            "rate_limit": {"requests": 1000, "interval": "1h"}}})),
        ..Script::default()
    });
    let mut events = router.engine.subscribe();
    let (status, q) = router
        .api(
            reqwest::Method::POST,
            "/api/quota/file-or-main/refresh",
            None,
        )
        .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["refreshed"], true);
    assert_eq!(q["source"], "api");
    assert_eq!(q["error"], Value::Null);
    let monthly = q["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "monthly")
        .unwrap();
    assert_eq!(monthly["limit"], 100.0);
    assert_eq!(monthly["remaining"], 74.5);
    assert_eq!(monthly["used"], 25.5);
    assert!(monthly["resetsInSecs"].as_i64().unwrap() > 0);
    let daily = q["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "daily")
        .unwrap();
    assert_eq!(daily["used"], 1.5);
    assert_eq!(daily["limit"], Value::Null);
    // The fetch used the account's key, and subscribers heard of the update.
    let seen = fake.last();
    assert_eq!(seen.path, "/v1/key");
    assert_eq!(seen.headers["authorization"], "Bearer sk-or-test-key");
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let e = serde_json::to_value(events.recv().await.unwrap()).unwrap();
            if e["type"] == "quota-updated" {
                return e;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(heard["accountId"], "file-or-main");

    // A failed fetch keeps the last good windows and says why.
    fake.set(Script::default());
    let (_, q) = router
        .api(
            reqwest::Method::POST,
            "/api/quota/file-or-main/refresh",
            None,
        )
        .await;
    assert!(q["error"].as_str().unwrap().contains("401"), "{q}");
    assert_eq!(q["windows"].as_array().unwrap().len(), 3);

    // And on a schedule (every second here), without being asked.
    let fetches = || fake.seen().iter().filter(|s| s.path == "/v1/key").count();
    let before = fetches();
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(fetches() >= before + 2, "{before} → {}", fetches());
}

#[tokio::test]
async fn an_account_whose_quota_is_used_up_is_skipped_until_its_reset() {
    let fake = FakeUpstream::start(Script::minute_used_up()).await;
    let account = |name: &str, priority: u32| {
        format!(
            "[[provider]]\nprovider = \"openai-compatible\"\nname = \"{name}\"\nprefix = \"qnode\"\n\
             base_url = \"{}\"\napi_key = \"key-{name}\"\npriority = {priority}\n\n",
            fake.openai_base()
        )
    };
    let router = Router::start(&format!("{}{}", account("qa", 1), account("qb", 2))).await;
    let (status, served, _) = router.ask("qnode/gpt-4o").await;
    assert_eq!((status, served.as_deref()), (200, Some("file-qa")));
    quota_of(&router, "file-qa").await;
    // qa is known to be out until its reset: qb serves without qa being asked.
    let (status, served, _) = router.ask("qnode/gpt-4o").await;
    assert_eq!((status, served.as_deref()), (200, Some("file-qb")));
    quota_of(&router, "file-qb").await;
    let (status, _, body) = router.ask("qnode/gpt-4o").await;
    assert_eq!(status, 429, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("quota used up"), "{message}");
    assert_eq!(
        fake.seen().len(),
        2,
        "nothing was sent to a used-up account"
    );
}

fn credits(remaining: f64) -> Script {
    Script {
        key_info: Some(json!({"data": {
            "label": "sk-or-v1-abc...xyz", "limit": 100, "limit_remaining": remaining,
            "limit_reset": "monthly", "usage": 100.0 - remaining, "usage_daily": 1.0,
            "usage_weekly": 2.0, "usage_monthly": 100.0 - remaining, "is_free_tier": false}})),
        ..Script::default()
    }
}

async fn refresh(router: &Router, account: &str) -> Value {
    let (status, q) = router
        .api(
            reqwest::Method::POST,
            &format!("/api/quota/{account}/refresh"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{q}");
    q
}

#[tokio::test]
async fn a_window_passing_a_threshold_warns_once_and_a_reserve_keeps_the_account_out() {
    let fake = FakeUpstream::start(credits(8.0)).await;
    let router = Router::start(&openrouter_config(&fake)).await;
    let mut events = router.engine.subscribe();
    let q = refresh(&router, "file-or-main").await;
    let monthly = q["windows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == "monthly")
        .cloned()
        .unwrap_or_default();
    assert_eq!(monthly["warning"], 80, "{monthly}");

    // 92% used: one warning at 80; fetched again unchanged, none; at 97%, one at 95.
    let mut warnings = Vec::new();
    let mut collect = async |events: &mut tokio::sync::broadcast::Receiver<_>, until: u64| {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(until);
        while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
            let e = serde_json::to_value(e).unwrap();
            if e["type"] == "quota-low" {
                warnings.push((e["window"].clone(), e["threshold"].clone()));
            }
        }
    };
    refresh(&router, "file-or-main").await;
    collect(&mut events, 300).await;
    fake.set(credits(3.0));
    refresh(&router, "file-or-main").await;
    collect(&mut events, 300).await;
    assert_eq!(
        warnings,
        [(json!("monthly"), json!(80)), (json!("monthly"), json!(95))]
    );

    // 3 left of 100: an account reserve of 5% keeps it out; without one it serves.
    let (status, _) = router
        .api(
            reqwest::Method::PATCH,
            "/api/settings",
            Some(json!({"routing": {"quotaReservePct": 5}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, body) = router.ask("or/openai/gpt-4o").await;
    assert_eq!(status, 429, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("used up to its 5% reserve"), "{message}");
    let chats = || {
        fake.seen()
            .iter()
            .filter(|s| s.path.ends_with("/chat/completions"))
            .count()
    };
    assert_eq!(chats(), 0);
    let (status, _) = router
        .api(
            reqwest::Method::PATCH,
            "/api/settings",
            Some(json!({"routing": {"quotaReservePct": 0}})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = router.ask("or/openai/gpt-4o").await;
    assert_eq!(status, 200);
    assert_eq!(chats(), 1);

    // The account's own reserve, from the config file, works the same.
    let config = openrouter_config(&fake).replace(
        "api_key = \"sk-or-test-key\"\n",
        "api_key = \"sk-or-test-key\"\nquota_reserve_pct = 5\n",
    );
    let own = Router::start(&config).await;
    refresh(&own, "file-or-main").await;
    let (_, accounts) = own
        .api(reqwest::Method::GET, "/api/connections", None)
        .await;
    assert_eq!(accounts[0]["quotaReservePct"], 5);
    let (status, _, _) = own.ask("or/openai/gpt-4o").await;
    assert_eq!(status, 429);
    assert_eq!(chats(), 1);
}
