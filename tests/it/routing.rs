//! Routing rules end to end: the real server on loopback, fake OpenAI upstreams with faults.
use std::time::Duration;

use crate::support::{Behavior, FakeOpenAi, Router, node_config, sleep_ms, sse_data};
use serde_json::{Value, json};

/// A fake OpenAI whose first key answers once with `behavior`, and a router over both its
/// keys (`key-a` first).
async fn first_key_then(behavior: Behavior) -> (FakeOpenAi, Router) {
    let fake = FakeOpenAi::start().await;
    fake.script("key-a", [behavior]);
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a", "key-b"])], "")).await;
    (fake, router)
}

#[tokio::test]
async fn serves_a_node_model_and_strips_the_prefix() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let (status, account, body) = router.ask("ma/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(account.as_deref(), Some("file-key-a"));
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by key-a as gpt-4o"
    );
    let seen = fake.seen();
    assert_eq!(seen[0].model, "gpt-4o");
    assert_eq!(seen[0].body["messages"][0]["content"], "hi");
}

#[tokio::test]
async fn streams_pass_through_byte_for_byte() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let (status, _, text) = router.ask_streaming("ma/gpt-4o").await;
    assert_eq!(status, 200);
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    assert_eq!(data.iter().filter(|d| *d == "[DONE]").count(), 1);
    assert!(
        text.contains(r#""content":"served by key-a as gpt-4o part 0. ""#),
        "{text}"
    );
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn falls_back_to_next_account_on_429_and_skips_the_cooling_one() {
    let (fake, router) = first_key_then(Behavior::rate_limited(30)).await;
    let (status, account, _) = router.ask("ma/gpt-4o").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
    let (status, account, _) = router.ask("ma/gpt-4o").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
    assert_eq!(
        fake.keys_seen(),
        ["key-a", "key-b", "key-b"],
        "A is not retried while cooling"
    );
    // Another model on the same account is not affected.
    let (_, account, _) = router.ask("ma/other-model").await;
    assert_eq!(account.as_deref(), Some("file-key-a"));
}

#[tokio::test]
async fn cooldown_expires_after_retry_after_and_the_first_account_returns() {
    let (_, router) = first_key_then(Behavior::rate_limited(1)).await;
    assert_eq!(router.ask("ma/m").await.1.as_deref(), Some("file-key-b"));
    assert_eq!(router.ask("ma/m").await.1.as_deref(), Some("file-key-b"));
    sleep_ms(1100).await;
    assert_eq!(router.ask("ma/m").await.1.as_deref(), Some("file-key-a"));
}

#[tokio::test]
async fn auth_failure_benches_the_whole_account() {
    let fake = FakeOpenAi::start().await;
    fake.always("key-a", Behavior::status(401));
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a", "key-b"])], "")).await;
    assert_eq!(router.ask("ma/m1").await.1.as_deref(), Some("file-key-b"));
    assert_eq!(router.ask("ma/m2").await.1.as_deref(), Some("file-key-b"));
    assert_eq!(
        fake.count("key-a"),
        1,
        "a 401 cools every model of the account"
    );
    let snapshot = router.engine.snapshot();
    let a = snapshot.providers[0]
        .accounts
        .iter()
        .find(|a| a.id == "file-key-a")
        .unwrap();
    assert_eq!(a.cooldowns[0].model, "*");
}

#[tokio::test]
async fn combo_falls_back_to_the_next_member_when_a_provider_fails() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    fa.always("key-a", Behavior::status(503));
    let extra = "\n[[combo]]\nname = \"my-stack\"\nmodels = [\"ma/gpt-4o\", \"mb/gpt-4o-mini\"]\n";
    let router = Router::start(&node_config(
        &[("ma", &fa, &["key-a"]), ("mb", &fb, &["key-b"])],
        extra,
    ))
    .await;
    let r = router
        .chat(json!({"model": "my-stack", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ninerouter-fallbacks"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by key-b as gpt-4o-mini"
    );
}

#[tokio::test]
async fn nested_combos_are_tried_in_order() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    fa.always("key-a", Behavior::status(500));
    let extra = r#"
[[combo]]
name = "outer"
models = ["inner", "mb/last"]
[[combo]]
name = "inner"
models = ["ma/first", "ma/second"]
"#;
    let router = Router::start(&node_config(
        &[("ma", &fa, &["key-a"]), ("mb", &fb, &["key-b"])],
        extra,
    ))
    .await;
    let (status, _, body) = router.ask("outer").await;
    assert_eq!(status, 200);
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by key-b as last"
    );
    let models: Vec<String> = fa.seen().into_iter().map(|s| s.model).collect();
    assert_eq!(models, ["first", "second"]);
}

#[tokio::test]
async fn a_combo_cycle_is_a_clear_400_not_a_hang() {
    let fake = FakeOpenAi::start().await;
    let extra = r#"
[[combo]]
name = "a"
models = ["ma/x", "b"]
[[combo]]
name = "b"
models = ["a"]
"#;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], extra)).await;
    let (status, _, body) = tokio::time::timeout(Duration::from_secs(5), router.ask("a"))
        .await
        .expect("answers promptly");
    assert_eq!(status, 400);
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("a → b → a"), "{msg}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn round_robin_combo_spreads_requests_over_members() {
    let fake = FakeOpenAi::start().await;
    let extra = "\n[[combo]]\nname = \"rr\"\nstrategy = \"round-robin\"\nmodels = [\"ma/m1\", \"ma/m2\", \"ma/m3\"]\n";
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], extra)).await;
    for _ in 0..6 {
        assert_eq!(router.ask("rr").await.0, 200);
    }
    let models: Vec<String> = fake.seen().into_iter().map(|s| s.model).collect();
    assert_eq!(models, ["m1", "m2", "m3", "m1", "m2", "m3"]);
}

#[tokio::test]
async fn sticky_round_robin_distributes_in_runs_of_the_sticky_limit() {
    let fake = FakeOpenAi::start().await;
    let extra = "\n[routing]\naccount_strategy = \"sticky-round-robin\"\nsticky_limit = 2\n";
    let config = node_config(&[("ma", &fake, &["key-a", "key-b", "key-c"])], "")
        .replace(crate::support::FAST_ROUTING, "")
        + extra;
    let router = Router::start(&config).await;
    for _ in 0..8 {
        assert_eq!(router.ask("ma/m").await.0, 200);
    }
    assert_eq!(
        fake.keys_seen(),
        [
            "key-a", "key-a", "key-b", "key-b", "key-c", "key-c", "key-a", "key-a"
        ]
    );
}

#[tokio::test]
async fn a_clients_bad_request_is_returned_not_retried() {
    let fake = FakeOpenAi::start().await;
    let upstream_error = r#"{"error":{"message":"messages: field required","type":"invalid_request_error","param":"messages","code":null}}"#;
    fake.always(
        "key-a",
        Behavior::Status {
            code: 400,
            retry_after: None,
            body: Some(upstream_error.into()),
        },
    );
    let extra = "\n[[combo]]\nname = \"c\"\nmodels = [\"ma/m\", \"mb/m\"]\n";
    let fb = FakeOpenAi::start().await;
    let router = Router::start(&node_config(
        &[("ma", &fake, &["key-a", "key-a2"]), ("mb", &fb, &["key-b"])],
        extra,
    ))
    .await;
    let (status, _, body) = router.ask("c").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "messages");
    assert_eq!(fake.keys_seen(), ["key-a"]);
    assert!(fb.seen().is_empty());
}

#[tokio::test]
async fn fails_over_when_the_stream_breaks_before_its_first_event() {
    let (_, router) = first_key_then(Behavior::DropBeforeFirstEvent).await;
    let (status, account, text) = router.ask_streaming("ma/m").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
    assert!(text.contains("served by key-b"));
    assert!(!text.contains("error"));
}

#[tokio::test]
async fn fails_over_when_the_first_event_is_malformed() {
    let (_, router) = first_key_then(Behavior::MalformedFirstEvent).await;
    let (status, account, _) = router.ask_streaming("ma/m").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
}

#[tokio::test]
async fn fails_over_when_a_whole_answer_is_not_json() {
    let (fake, router) = first_key_then(Behavior::NotJson).await;
    let (status, account, answer) = router.ask("ma/m").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
    assert!(
        answer["choices"][0]["message"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("served by key-b"))
    );
    assert_eq!(fake.count("key-a"), 1);
}

#[tokio::test]
async fn fails_over_when_the_provider_stalls_past_the_first_byte_timeout() {
    let (_, router) = first_key_then(Behavior::StallBeforeHeaders(Duration::from_secs(3))).await;
    let (status, account, _) = router.ask_streaming("ma/m").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-b")));
}

#[tokio::test]
async fn a_break_mid_stream_ends_with_one_well_formed_error_event() {
    let (fake, router) = first_key_then(Behavior::DropAfter(2)).await;
    let (status, account, text) = router.ask_streaming("ma/m").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-a")));
    let data = sse_data(&text);
    assert_eq!(data.len(), 3, "two upstream events then the error: {text}");
    let error: Value = serde_json::from_str(&data[2]).expect("error event is JSON");
    assert_eq!(error["error"]["code"], "stream_interrupted");
    assert!(!text.contains("[DONE]"));
    assert_eq!(
        fake.count("key-b"),
        0,
        "no failover after bytes reached the client"
    );
}

#[tokio::test]
async fn a_stall_mid_stream_ends_with_an_error_event() {
    let fake = FakeOpenAi::start().await;
    fake.script("key-a", [Behavior::StallMidStream(Duration::from_secs(3))]);
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let (_, _, text) = router.ask_streaming("ma/m").await;
    let data = sse_data(&text);
    assert!(data[0].contains("first"));
    assert!(
        data.last().unwrap().contains("stream_interrupted"),
        "{text}"
    );
}

#[tokio::test]
async fn when_every_account_cools_the_client_gets_429_with_retry_after() {
    let fake = FakeOpenAi::start().await;
    fake.always("key-a", Behavior::rate_limited(30));
    fake.always("key-b", Behavior::rate_limited(20));
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a", "key-b"])], "")).await;
    let first = router
        .chat(json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(first.status(), 429);
    let again = router
        .chat(json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(again.status(), 429);
    let retry: u64 = again.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (18..=20).contains(&retry),
        "earliest reset is key-b's 20 s, got {retry}"
    );
    let body: Value = again.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("cooling down") && msg.contains("resets in"),
        "{msg}"
    );
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(
        fake.seen().len(),
        2,
        "the second request touched no upstream"
    );
}

#[tokio::test]
async fn cooldowns_survive_a_restart() {
    let (fake, router) = first_key_then(Behavior::rate_limited(60)).await;
    assert_eq!(router.ask("ma/m").await.1.as_deref(), Some("file-key-b"));
    sleep_ms(100).await; // the cooldown writer persists off the request path
    let router = router.restart().await;
    assert_eq!(router.ask("ma/m").await.1.as_deref(), Some("file-key-b"));
    assert_eq!(fake.count("key-a"), 1);
}

#[tokio::test]
async fn aliases_and_family_guesses_resolve() {
    let fake = FakeOpenAi::start().await;
    let config = node_config(
        &[("ma", &fake, &["key-a"])],
        "\n[aliases]\nfast = \"ma/gpt-4o-mini\"\n",
    ) + &format!(
        "\n[[provider]]\nprovider = \"openai\"\nname = \"oa-main\"\nbase_url = \"{}\"\napi_key = \"key-oa\"\n",
        fake.base_url()
    );
    let router = Router::start(&config).await;
    let (_, _, body) = router.ask("fast").await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by key-a as gpt-4o-mini"
    );
    let (status, account, _) = router.ask("gpt-4.1").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-oa-main")));
    let (_, _, body) = router.ask("oa/gpt-4o").await;
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "served by key-oa as gpt-4o"
    );
}

#[tokio::test]
async fn bad_input_gets_openai_shaped_errors() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let (status, _, body) = router.ask("nothing-like-this").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");

    let r = router
        .http
        .post(router.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let r = router.chat(json!({"messages": []})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "model");

    let r = router
        .http
        .get(router.url("/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "unknown_url"
    );

    // A provider with no account: say what to do.
    let (status, _, body) = router.ask("groq/llama-3.3-70b-versatile").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("add an account for Groq")
    );
}

#[tokio::test]
async fn models_lists_combos_first_then_routable_models() {
    let fake = FakeOpenAi::start().await;
    let extra = "\n[[combo]]\nname = \"zeta\"\nmodels = [\"ma/x\"]\n";
    let mut config = node_config(&[("ma", &fake, &["key-a"])], extra);
    config = config.replace(
        "priority = 1\n",
        "priority = 1\nmodels = [\"gpt-4o\", \"qwen-coder\"]\n",
    );
    let router = Router::start(&config).await;
    let r = router
        .http
        .get(router.url("/v1/models"))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["zeta", "ma/gpt-4o", "ma/qwen-coder"]);
    assert_eq!(body["data"][0]["owned_by"], "combo");
    assert_eq!(body["data"][1]["object"], "model");
}

#[tokio::test]
async fn root_answers_head_and_get() {
    let router = Router::start("").await;
    let head = router.http.head(router.url("/")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let get = router.http.get(router.url("/")).send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert!(get.text().await.unwrap().contains("NineRouter"));
}

#[tokio::test]
async fn a_key_quoted_in_a_provider_error_is_redacted() {
    let fake = FakeOpenAi::start().await;
    fake.always(
        "key-a-secret",
        Behavior::Status {
            code: 401,
            retry_after: None,
            body: Some(
                r#"{"error":{"message":"Incorrect API key provided: key-a-secret"}}"#.into(),
            ),
        },
    );
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a-secret"])], "")).await;
    let (status, _, body) = router.ask("ma/m").await;
    assert_eq!(status, 401);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Incorrect API key provided: ***"),
        "{message}"
    );
    assert!(!message.contains("provided: key-a-secret"), "{message}");
}
