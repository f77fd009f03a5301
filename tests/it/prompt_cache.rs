//! Prompt caching across formats: a client without cache hints routed to an Anthropic-format
//! provider gets breakpoints on its stable prefix, and the fake (which caches the way
//! Anthropic does) reports the second turn read from the cache; an Anthropic client's own
//! marks pass untouched; `prompt_cache_key` survives a translation between OpenAI's APIs.
use serde_json::{Value, json};

use crate::support::fake_upstream::{FakeUpstream, Script};
use crate::support::{FAST_ROUTING, Router};

fn long_system() -> String {
    "You follow the team's coding policy. ".repeat(400)
}

fn marks(body: &Value) -> usize {
    body.to_string().matches("cache_control").count()
}

#[tokio::test]
async fn an_openai_client_gets_anthropics_prompt_cache_turn_after_turn() {
    let fake = FakeUpstream::start(Script {
        prompt_cache: true,
        thinking: None,
        ..Script::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config(FAST_ROUTING)).await;
    let mut messages = vec![
        json!({"role": "system", "content": long_system()}),
        json!({"role": "user", "content": "Review my first change."}),
    ];
    let ask = async |messages: &Vec<Value>| -> Value {
        let r = router
            .chat(json!({"model": "fanth/claude-sonnet-4-5", "messages": messages}))
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap_or_default()
    };
    let first = ask(&messages).await;
    let sent = fake.last().body;
    assert_eq!(
        sent["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    let last = sent["messages"].as_array().and_then(|m| m.last()).cloned();
    assert!(
        last.is_some_and(|m| m.to_string().contains("cache_control")),
        "the conversation so far is marked: {sent}"
    );
    assert_eq!(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);

    messages
        .push(json!({"role": "assistant", "content": first["choices"][0]["message"]["content"]}));
    messages.push(json!({"role": "user", "content": "And the second one?"}));
    let second = ask(&messages).await;
    let cached = second["usage"]["prompt_tokens_details"]["cached_tokens"]
        .as_u64()
        .unwrap_or(0);
    let prompt = second["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    assert!(
        cached > prompt / 2,
        "most of turn two is read from the cache: {cached} of {prompt}"
    );
    // Usage shows it too.
    router
        .wait_for("/api/usage/summary?by=provider", |v| {
            v["total"]["cachedTokens"].as_u64().unwrap_or(0) >= cached
        })
        .await;

    // A short prompt is not worth marking.
    router
        .chat(json!({"model": "fanth/claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(marks(&fake.last().body), 0);
}

#[tokio::test]
async fn an_anthropic_clients_own_marks_pass_untouched() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(FAST_ROUTING)).await;
    let mark = json!({"type": "ephemeral", "ttl": "1h"});
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .header("x-api-key", "sk-anything")
        .header("anthropic-version", "2023-06-01")
        .json(
            &json!({"model": "fanth/claude-sonnet-4-5", "max_tokens": 100,
            "system": [{"type": "text", "text": long_system(), "cache_control": mark}],
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .expect("messages");
    assert_eq!(r.status(), 200);
    let sent = fake.last().body;
    assert_eq!(sent["system"][0]["cache_control"], mark);
    assert_eq!(marks(&sent), 1, "nothing added: {sent}");
}

#[tokio::test]
async fn prompt_cache_key_survives_a_translation() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(FAST_ROUTING)).await;
    let r = router
        .http
        .post(router.url("/v1/responses"))
        .bearer_auth("sk-anything")
        .json(&json!({"model": "fchat/gpt-4o", "input": "hi", "prompt_cache_key": "conv-42"}))
        .send()
        .await
        .expect("responses");
    assert_eq!(r.status(), 200);
    let sent = fake.last();
    assert!(sent.path.ends_with("/chat/completions"), "{}", sent.path);
    assert_eq!(sent.body["prompt_cache_key"], "conv-42");
}
