//! Context-window fallback end to end: members a request cannot fit are skipped before
//! sending, a provider's context-length error moves to the next member without cooling the
//! account, and when nothing fits the client gets a 400 in its own format.
use crate::support::fake_upstream::{FakeUpstream, Script};
use crate::support::{Behavior, FAST_ROUTING, FakeOpenAi, Router, node_config};
use serde_json::{Value, json};

const OPENAI_TOO_LONG: &str = r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;

fn combo(models: &[&str]) -> String {
    let list: Vec<String> = models.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "\n[[combo]]\nname = \"stack\"\nmodels = [{}]\n",
        list.join(", ")
    )
}

/// About `n` o200k tokens of prose.
fn long_prompt(n: usize) -> String {
    "lorem ".repeat(n)
}

#[tokio::test]
async fn a_context_length_error_moves_to_the_next_member_and_cools_nothing() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    fa.script(
        "key-a",
        [Behavior::Status {
            code: 400,
            retry_after: None,
            body: Some(OPENAI_TOO_LONG.into()),
        }],
    );
    let router = Router::start(&node_config(
        &[("ma", &fa, &["key-a", "key-a2"]), ("mb", &fb, &["key-b"])],
        &combo(&["ma/m", "mb/m"]),
    ))
    .await;
    let r = router
        .chat(json!({"model": "stack", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ninerouter-account"], "file-key-b");
    assert_eq!(r.headers()["x-ninerouter-fallbacks"], "1");
    // The same model on the node's other account would refuse it the same way: not tried.
    assert_eq!(fa.keys_seen(), ["key-a"]);

    // Nothing cools: the account serves the next (shorter) request at once.
    let snapshot = router.engine.snapshot();
    let a = snapshot.providers[0]
        .accounts
        .iter()
        .find(|a| a.id == "file-key-a")
        .expect("account a");
    assert!(a.cooldowns.is_empty(), "{:?}", a.cooldowns);
    let (status, account, _) = router.ask("stack").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-a")));
}

#[tokio::test]
async fn anthropic_and_gemini_length_errors_fall_back_too() {
    let refusing = FakeUpstream::start(Script {
        error: Some((
            400,
            "prompt is too long: 208310 tokens > 200000 maximum".into(),
        )),
        ..Script::default()
    })
    .await;
    let serving = FakeUpstream::start(Script::default()).await;
    let config = format!(
        "{FAST_ROUTING}{}",
        combo(&["fanth/claude-x", "gemini/gemini-2.5-pro", "ok/m"])
    ) + &format!(
        r#"
[[provider]]
provider = "anthropic-compatible"
name = "anth"
prefix = "fanth"
base_url = "{root}"
api_key = "k-anth"

[[provider]]
provider = "gemini"
name = "gem"
base_url = "{root}"
api_key = "k-gem"

[[provider]]
provider = "openai-compatible"
name = "ok"
prefix = "ok"
base_url = "{ok}"
api_key = "k-ok"
"#,
        root = refusing.root(),
        ok = serving.openai_base(),
    );
    let router = Router::start(&config).await;
    let r = router
        .chat(json!({"model": "stack", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ninerouter-fallbacks"], "2");
    let paths: Vec<String> = refusing.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[0].ends_with("/v1/messages"), "{paths:?}");
    assert!(
        paths[1].contains("gemini-2.5-pro:generateContent"),
        "{paths:?}"
    );
    assert_eq!(serving.seen().len(), 1);
}

#[tokio::test]
async fn a_member_whose_window_is_too_small_is_skipped_before_sending() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    let windows = "\n[routing.context_windows]\n\"ma/*\" = 1000\n";
    let router = Router::start(&node_config(
        &[("ma", &fa, &["key-a"]), ("mb", &fb, &["key-b"])],
        &(combo(&["ma/m", "mb/m"]) + windows),
    ))
    .await;
    let r = router
        .chat(
            json!({"model": "stack", "messages": [{"role": "user", "content": long_prompt(3000)}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ninerouter-account"], "file-key-b");
    assert!(fa.seen().is_empty(), "the small window was never sent to");

    // A request that fits still goes to the first member.
    let (status, account, _) = router.ask("stack").await;
    assert_eq!((status, account.as_deref()), (200, Some("file-key-a")));
}

#[tokio::test]
async fn when_nothing_fits_the_client_hears_it_in_its_own_format() {
    let (fa, fb) = (FakeOpenAi::start().await, FakeOpenAi::start().await);
    let windows = "\n[routing.context_windows]\n\"ma/*\" = 1000\n\"mb/m\" = 2000\n";
    let router = Router::start(&node_config(
        &[("ma", &fa, &["key-a"]), ("mb", &fb, &["key-b"])],
        &(combo(&["ma/m", "mb/m"]) + windows),
    ))
    .await;
    let prompt = long_prompt(3000);

    let r = router
        .http
        .post(router.url("/v1/messages"))
        .header("x-api-key", "sk-anything")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "stack", "max_tokens": 100,
            "messages": [{"role": "user", "content": prompt}]}))
        .send()
        .await
        .expect("messages");
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("largest tried was 2000 tokens (mb/m)"),
        "{message}"
    );

    let r = router
        .chat(json!({"model": "stack", "messages": [{"role": "user", "content": prompt}]}))
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap_or_default();
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert!(fa.seen().is_empty() && fb.seen().is_empty());
}
