//! Conversation affinity end to end: under sticky round-robin with a limit of one request,
//! two conversations each stay on the account that took their first turn, whatever API the
//! client speaks and however it names the conversation; a failover moves a conversation,
//! and it goes home once its account is healthy again.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_upstream::{FakeUpstream, Script};
use crate::support::{Behavior, FakeOpenAi, Router, node_config};

const ROUND_ROBIN: &str = "\n[routing.provider_strategies.file-node-ma]\nstrategy = \"sticky-round-robin\"\nsticky_limit = 1\n";

async fn turn(router: &Router, body: Value) -> String {
    let r = router.chat(body).await;
    assert_eq!(r.status(), 200);
    r.headers()["x-ninerouter-account"]
        .to_str()
        .unwrap_or_default()
        .to_owned()
}

fn keyed(conversation: &str, text: &str) -> Value {
    json!({"model": "ma/m", "prompt_cache_key": conversation,
        "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn each_conversation_stays_on_its_account_under_round_robin() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(
        &[("ma", &fake, &["key-a", "key-b"])],
        ROUND_ROBIN,
    ))
    .await;
    // Without a conversation, round-robin alternates.
    let plain = json!({"model": "ma/m", "messages": [{"role": "user", "content": "one-off"}]});
    let a = turn(&router, plain.clone()).await;
    let b = turn(
        &router,
        json!({"model": "ma/m", "messages": [{"role": "user", "content": "another"}]}),
    )
    .await;
    assert_ne!(a, b, "round-robin spreads new conversations");

    let x = turn(&router, keyed("conv-x", "x1")).await;
    let y = turn(&router, keyed("conv-y", "y1")).await;
    assert_ne!(x, y, "conversations are still spread");
    for i in 2..6 {
        assert_eq!(turn(&router, keyed("conv-x", &format!("x{i}"))).await, x);
        assert_eq!(turn(&router, keyed("conv-y", &format!("y{i}"))).await, y);
    }

    // With no name, the system prompt and first user turn tell the conversation.
    let opening = |extra: &[&str]| {
        let mut messages = vec![
            json!({"role": "system", "content": "You are the Z assistant. ".repeat(200)}),
            json!({"role": "user", "content": "start z"}),
        ];
        for e in extra {
            messages.push(json!({"role": "assistant", "content": "ok"}));
            messages.push(json!({"role": "user", "content": e}));
        }
        json!({"model": "ma/m", "messages": messages})
    };
    let z = turn(&router, opening(&[])).await;
    for turns in [&["z2"][..], &["z2", "z3"], &["z2", "z3", "z4"]] {
        assert_eq!(turn(&router, opening(turns)).await, z);
    }
}

#[tokio::test]
async fn an_anthropic_session_stays_on_its_account() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(
        &[("ma", &fake, &["key-a", "key-b"])],
        ROUND_ROBIN,
    ))
    .await;
    let ask = async |session: &str, text: &str| {
        let r = router
            .http
            .post(router.url("/v1/messages"))
            .header("x-api-key", "sk-anything")
            .header("anthropic-version", "2023-06-01")
            .json(&json!({"model": "ma/m", "max_tokens": 50,
                "metadata": {"user_id": format!("user_abc_account_1_session_{session}")},
                "messages": [{"role": "user", "content": text}]}))
            .send()
            .await
            .expect("messages");
        assert_eq!(r.status(), 200);
        r.headers()["x-ninerouter-account"]
            .to_str()
            .unwrap_or_default()
            .to_owned()
    };
    let s1 = ask("s1", "hello").await;
    let s2 = ask("s2", "hello").await;
    assert_ne!(s1, s2);
    // Two turns of one in a row: round-robin alone would move the second.
    assert_eq!(ask("s1", "more").await, s1);
    assert_eq!(ask("s1", "and more").await, s1);
    assert_eq!(ask("s2", "more").await, s2);
}

#[tokio::test]
async fn a_conversation_fails_over_and_goes_home_when_its_account_is_healthy() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(
        &[("ma", &fake, &["key-a", "key-b"])],
        ROUND_ROBIN,
    ))
    .await;
    let home = turn(&router, keyed("conv-f", "f1")).await;
    let home_key = home.trim_start_matches("file-");
    fake.script(home_key, [Behavior::rate_limited(600)]);
    let away = turn(&router, keyed("conv-f", "f2")).await;
    assert_ne!(away, home);
    assert_eq!(
        turn(&router, keyed("conv-f", "f3")).await,
        away,
        "stays where it went"
    );
    let (status, _) = router
        .api(
            Method::POST,
            &format!("/api/connections/{home}/reset"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        turn(&router, keyed("conv-f", "f4")).await,
        home,
        "back home"
    );
}

#[tokio::test]
async fn a_responses_chain_stays_on_its_account() {
    // A Responses provider keeps the chain's state, so the chain must stay on one account.
    let fake = FakeUpstream::start(Script::default()).await;
    let account = |key: &str| {
        format!(
            "\n[[provider]]\nprovider = \"openai-responses\"\nname = \"{key}\"\nprefix = \"ma\"\nbase_url = \"{}\"\napi_key = \"{key}\"\n",
            fake.openai_base()
        )
    };
    let config = format!(
        "{}{}{}{ROUND_ROBIN}",
        crate::support::FAST_ROUTING,
        account("key-a"),
        account("key-b")
    );
    let router = Router::start(&config).await;
    // Each turn continues the previous answer, streamed or whole; the id it continues is
    // the one the client was given.
    let ask = async |previous: Option<&str>, stream: bool| -> (String, String) {
        let mut body = json!({"model": "ma/m", "input": "next", "stream": stream});
        if let Some(p) = previous {
            body["previous_response_id"] = json!(p);
        }
        let r = router
            .http
            .post(router.url("/v1/responses"))
            .bearer_auth("sk-anything")
            .json(&body)
            .send()
            .await
            .expect("responses");
        assert_eq!(r.status(), 200);
        let account = r.headers()["x-ninerouter-account"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.unwrap_or_default();
        let id = if stream {
            text.lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find_map(|e| e["response"]["id"].as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            serde_json::from_str::<Value>(&text).unwrap_or_default()["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        assert!(!id.is_empty(), "{text}");
        (account, id)
    };
    let (_, first) = ask(None, false).await;
    let (home, mut previous) = ask(Some(&first), false).await;
    for stream in [true, false, true, false] {
        let (account, id) = ask(Some(&previous), stream).await;
        assert_eq!(account, home, "the chain stays (stream: {stream})");
        previous = id;
    }
}
