//! The Models view's API: every routable model with its provider, context window, price and
//! last test; a batch test sends each a one-line request through the router.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Behavior, FAST_ROUTING, FakeOpenAi, Router};

fn account(prefix: &str, fake: &FakeOpenAi, key: &str, models: &[&str]) -> String {
    let models: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "\n[[provider]]\nprovider = \"openai-compatible\"\nname = \"{key}\"\nprefix = \"{prefix}\"\nbase_url = \"{}\"\napi_key = \"{key}\"\nmodels = [{}]\n",
        fake.base_url(),
        models.join(", ")
    )
}

fn entry<'a>(list: &'a Value, model: &str) -> &'a Value {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|m| m["model"] == model)
        .unwrap_or_else(|| panic!("{model} not in {list}"))
}

#[tokio::test]
async fn every_model_is_listed_with_its_window_price_and_last_test() {
    let (good, bad) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    bad.always("key-b", Behavior::status(500));
    let config = format!(
        "{FAST_ROUTING}\n[routing.context_windows]\n\"mb/*\" = 32000\n{}{}",
        account("ma", &good, "key-a", &["gpt-4o", "my-llm"]),
        account("mb", &bad, "key-b", &["local"])
    );
    let router = Router::start(&config).await;
    let (status, list) = router.api(Method::GET, "/api/models/catalog", None).await;
    assert_eq!(status, 200, "{list}");
    let gpt = entry(&list, "ma/gpt-4o");
    assert_eq!(gpt["providerName"], "ma");
    assert_eq!(gpt["contextWindow"], 128_000);
    assert_eq!(gpt["price"]["input"], 2.5);
    assert_eq!(gpt["health"], Value::Null);
    assert_eq!(entry(&list, "ma/my-llm")["contextWindow"], Value::Null);
    assert_eq!(entry(&list, "mb/local")["contextWindow"], 32_000);

    let (status, tested) = router
        .api(
            Method::POST,
            "/api/models/test",
            Some(json!({"models": ["ma/gpt-4o", "mb/local"]})),
        )
        .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(tested[0]["health"]["ok"], true, "{tested}");
    assert!(
        tested[0]["health"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("via account 'key-a'")
    );
    assert_eq!(tested[1]["health"]["ok"], false);
    assert!(tested[1]["health"]["status"].as_u64().unwrap_or(0) >= 500);
    assert_eq!(
        good.seen()[0].body["messages"][0]["content"],
        "Reply with the word OK."
    );

    let (_, list) = router.api(Method::GET, "/api/models/catalog", None).await;
    assert_eq!(entry(&list, "ma/gpt-4o")["health"]["ok"], true);
    assert_eq!(entry(&list, "mb/local")["health"]["ok"], false);

    let (status, _) = router
        .api(
            Method::POST,
            "/api/models/test",
            Some(json!({"models": []})),
        )
        .await;
    assert_eq!(status, 400);
}
