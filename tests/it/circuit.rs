//! The circuit breaker end to end: three accounts on one endpoint that answers 503 open its
//! circuit; nothing more is sent there while it is open, `/api/status` says so and the
//! event bus tells; after the wait one probe goes, and its answer closes the circuit.
use std::time::Duration;

use serde_json::Value;

use crate::support::{Behavior, FakeOpenAi, Router, node_config};

#[tokio::test]
async fn a_dead_endpoint_is_left_alone_then_probed_once_and_brought_back() {
    let fake = FakeOpenAi::start().await;
    let keys = ["key-a", "key-b", "key-c"];
    for key in keys {
        fake.always(key, Behavior::status(503));
    }
    let config = node_config(&[("ma", &fake, &keys)], "")
        .replace("cooldown_base_ms = 200", "cooldown_base_ms = 500");
    let router = Router::start(&config).await;
    let mut events = router.engine.subscribe();

    let (status, _, _) = router.ask("ma/m").await;
    assert_eq!(status, 503);
    assert_eq!(fake.seen().len(), 3);
    let down = next_event(&mut events, "provider-down").await;
    assert_eq!(down["provider"], "file-node-ma");
    assert!(
        down["reason"].as_str().unwrap_or_default().contains("503"),
        "{down}"
    );
    let (_, status_view) = router.api(reqwest::Method::GET, "/api/status", None).await;
    let circuit = &status_view["circuits"][0];
    assert_eq!(circuit["state"], "open", "{status_view}");
    assert_eq!(circuit["endpoint"], fake.base_url());
    assert!(
        circuit["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("503")
    );

    // While open, nothing is sent, even with the accounts' own cooldowns cleared.
    for key in keys {
        let path = format!("/api/connections/file-{key}/reset");
        router.api(reqwest::Method::POST, &path, None).await;
    }
    let (status, _, body) = router.ask("ma/m").await;
    assert_eq!(status, 503, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("is down"), "{message}");

    // The endpoint recovers; after the circuit's wait, one probe closes it.
    for key in keys {
        fake.always(key, Behavior::Ok);
    }
    let sent_while_open = fake.seen().len();
    assert_eq!(sent_while_open, 3, "nothing went to a dead endpoint");
    let until = circuit["openUntilMs"].as_i64().unwrap_or(0);
    let wait = (until - ninerouter::clock::now_ms()).max(0) as u64 + 20;
    tokio::time::sleep(Duration::from_millis(wait)).await;
    let (status, _, _) = router.ask("ma/m").await;
    assert_eq!(status, 200);
    next_event(&mut events, "provider-up").await;
    let (_, status_view) = router.api(reqwest::Method::GET, "/api/status", None).await;
    assert_eq!(status_view["circuits"], serde_json::json!([]));
    assert_eq!(fake.seen().len(), 4, "one probe, which was answered");
}

async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<ninerouter::events::EngineEvent>,
    kind: &str,
) -> Value {
    tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Ok(e) = events.recv().await {
                let e = serde_json::to_value(e).unwrap_or_default();
                if e["type"] == kind {
                    return e;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {kind} event"))
}
