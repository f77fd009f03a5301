//! Cursor as a provider: its IDE login imported from `state.vscdb`, and every client API
//! translated to Cursor's protobuf-over-Connect chat and back, against the fake Cursor.

use crate::support::Router;
use crate::support::fake_cursor::{self, EMAIL, FakeCursor, MACHINE_ID, REPLY, TOKEN};
use ninerouter::secrets::BackendChoice;
use reqwest::Method;
use serde_json::{Value, json};

/// A router with the fake Cursor and the IDE's database (not yet imported).
async fn cursor_router() -> (Router, FakeCursor, tempfile::TempDir) {
    let cursor = FakeCursor::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("state.vscdb");
    let router =
        Router::start_with(&cursor.config(&db), BackendChoice::File, "ninerouter-test").await;
    (router, cursor, dir)
}

async fn imported() -> (Router, FakeCursor, tempfile::TempDir, String) {
    let (router, cursor, dir) = cursor_router().await;
    fake_cursor::write_state_db(&dir.path().join("state.vscdb"));
    let (status, done) = router.api(Method::POST, "/api/oauth/cu/import", None).await;
    assert_eq!(status, 201, "{done}");
    let account = done["login"]["accountId"]
        .as_str()
        .expect("account")
        .to_owned();
    (router, cursor, dir, account)
}

const WEATHER_TOOL: &str = r#"{"type":"object","properties":{"city":{"type":"string"}}}"#;

#[tokio::test]
async fn the_ides_login_is_imported_after_a_preview_and_listed_as_cursor() {
    let (router, _cursor, dir) = cursor_router().await;
    let (status, body) = router.api(Method::GET, "/api/oauth/cu/import", None).await;
    assert_eq!(status, 404, "no database yet: {body}");

    let (_, providers) = router.api(Method::GET, "/api/providers", None).await;
    let row = providers["providers"]
        .as_array()
        .and_then(|rows| rows.iter().find(|p| p["id"] == "cursor"))
        .cloned()
        .expect("cursor row");
    assert_eq!(row["importsFrom"], "Cursor");
    assert_eq!(row["canLogIn"], false);

    fake_cursor::write_state_db(&dir.path().join("state.vscdb"));
    let (status, preview) = router.api(Method::GET, "/api/oauth/cu/import", None).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["found"]["account"], EMAIL);
    assert_eq!(preview["found"]["plan"], "pro");
    assert_eq!(preview["found"]["expiresAtMs"], 1_795_000_000_000_i64);
    assert!(
        !preview.to_string().contains(TOKEN),
        "no token in a preview"
    );

    let (status, done) = router.api(Method::POST, "/api/oauth/cu/import", None).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["login"]["name"], EMAIL);

    let models: Value = router
        .http
        .get(router.url("/v1/models"))
        .bearer_auth("sk-anything")
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = models["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(ids.contains(&"cu/claude-4.5-sonnet"), "{ids:?}");
}

#[tokio::test]
async fn chat_completions_reach_cursor_signed_as_the_ide_and_come_back_whole_and_streamed() {
    let (router, cursor, _dir, _) = imported().await;
    let (status, _, body) = router.ask("cu/claude-4.5-sonnet").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], REPLY);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(
        body["usage"]["completion_tokens"].as_u64() > Some(0),
        "{body}"
    );

    let seen = cursor.seen();
    let first = seen.last().expect("a request");
    assert_eq!(first.model, "claude-4.5-sonnet");
    assert_eq!(first.turns, [(1, "hi".to_owned())]);
    let header = |name: &str| {
        first
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("authorization"), format!("Bearer {TOKEN}"));
    assert!(header("x-cursor-checksum").ends_with(MACHINE_ID));
    assert!(!header("x-cursor-client-version").is_empty());
    assert_eq!(header("connect-protocol-version"), "1");

    let (status, _, sse) = router.ask_streaming("cu/claude-4.5-sonnet").await;
    assert_eq!(status, 200, "{sse}");
    let text: String = crate::support::sse_data(&sse)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, REPLY);
    assert!(sse.trim_end().ends_with("data: [DONE]"), "{sse}");
}

#[tokio::test]
async fn tool_calls_stream_back_in_each_client_api_and_results_go_to_cursor() {
    let (router, cursor, _dir, _) = imported().await;
    let schema: Value = serde_json::from_str(WEATHER_TOOL).expect("schema");

    // OpenAI Chat Completions, streamed: a tool call whose arguments came in two frames.
    let response = router
        .chat(json!({"model": "cu/claude-4.5-sonnet", "stream": true,
            "messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": schema}}]}))
        .await;
    assert_eq!(response.status(), 200);
    let sse = response.text().await.expect("body");
    let chunks: Vec<Value> = crate::support::sse_data(&sse)
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);
    assert!(
        chunks.iter().any(
            |c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "get_weather"
        )
    );
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "tool_calls")
    );
    let seen = cursor.seen();
    let sent = seen.last().expect("request");
    assert_eq!(sent.tools, ["get_weather"]);
    assert_eq!(
        sent.turns[0],
        (1, "[System Instructions]\nBe brief.".to_owned())
    );

    // Anthropic Messages: the result of that call goes back as a tool_result block.
    let response = router
        .http
        .post(router.url("/v1/messages"))
        .header("x-api-key", "sk-anything")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "cu/claude-4.5-sonnet", "max_tokens": 256, "stream": true,
            "tools": [{"name": "get_weather", "input_schema": schema}],
            "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "18C & sunny"}]}]}))
        .send()
        .await
        .expect("messages");
    assert_eq!(response.status(), 200);
    let dropped = response
        .headers()
        .get("x-ninerouter-dropped")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(dropped.contains("max_tokens"), "{dropped}");
    let sse = response.text().await.expect("body");
    assert!(sse.contains("\"type\":\"tool_use\""), "{sse}");
    assert!(sse.contains("input_json_delta"), "{sse}");
    assert!(sse.contains("\"stop_reason\":\"tool_use\""), "{sse}");
    let seen = cursor.seen();
    let sent = seen.last().expect("request");
    let result = &sent.turns.last().expect("turn").1;
    assert!(
        result.contains("<tool_name>get_weather</tool_name>")
            && result.contains("<tool_call_id>toolu_01</tool_call_id>")
            && result.contains("18C &amp; sunny"),
        "{result}"
    );
}

#[tokio::test]
async fn responses_gemini_and_ollama_clients_get_cursors_reply_in_their_own_shape() {
    let (router, _cursor, _dir, _) = imported().await;
    let post = |path: &str, body: Value| {
        router
            .http
            .post(router.url(path))
            .bearer_auth("sk-anything")
            .json(&body)
            .send()
    };
    let responses: Value = post(
        "/v1/responses",
        json!({"model": "cu/gpt-5.2", "input": "hi"}),
    )
    .await
    .expect("responses")
    .json()
    .await
    .expect("json");
    assert_eq!(responses["status"], "completed", "{responses}");
    assert!(
        fake_cursor::mentions_reply(&responses["output"]),
        "{responses}"
    );

    let gemini: Value = post(
        "/v1beta/models/cu%2Fgemini-3-flash-preview:generateContent",
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await
    .expect("gemini")
    .json()
    .await
    .expect("json");
    assert_eq!(
        gemini["candidates"][0]["content"]["parts"][0]["text"], REPLY,
        "{gemini}"
    );

    let ollama: Value = post(
        "/api/chat",
        json!({"model": "cu/kimi-k2.5", "stream": false,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .expect("ollama")
    .json()
    .await
    .expect("json");
    assert_eq!(ollama["message"]["content"], REPLY, "{ollama}");

    // A thinking model's reasoning reaches a client that shows it.
    let (status, _, body) = router.ask("cu/claude-4.5-sonnet-thinking").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], REPLY);
    assert!(body.to_string().contains("Considering."), "{body}");
}

#[tokio::test]
async fn a_used_up_plan_cools_the_account_and_a_refused_login_asks_for_a_new_import() {
    let (router, cursor, _dir, account) = imported().await;
    cursor.limit_next();
    let (status, _, body) = router.ask("cu/claude-4.5-sonnet").await;
    assert!(status == 429 || status == 503, "{status} {body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    let (_, view) = router
        .api(Method::GET, &format!("/api/connections/{account}"), None)
        .await;
    assert_eq!(view["state"], "cooling-down", "{view}");
    assert_eq!(
        view["cooldowns"][0]["model"], "*",
        "a used-up plan cools the whole account"
    );
    assert!(view.to_string().contains("usage limit"), "{view}");

    // The IDE logged out: its token is refused, and the account waits for a new import.
    let (router, cursor, _dir, account) = imported().await;
    cursor.log_out_next();
    let (status, _, body) = router.ask("cu/claude-4.5-sonnet").await;
    assert!(status >= 400, "{status} {body}");
    let (_, view) = router
        .api(Method::GET, &format!("/api/connections/{account}"), None)
        .await;
    assert_eq!(view["state"], "needs-login", "{view}");
    let secrets = router.db_bytes();
    assert!(
        !String::from_utf8_lossy(&secrets).contains(TOKEN),
        "the token is a secret, not a database row"
    );
}
