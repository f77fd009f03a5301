//! Translation end to end over loopback: the real requests Claude Code, Codex CLI and Gemini
//! CLI sent go through the router to a fake upstream of every other format and back, and the
//! client-side stream must validate for the client's API.
use crate::support::fake_upstream::{CACHED, FakeUpstream, INPUT, OUTPUT, Script};
use crate::support::{Router, fixture, posts, replay};
use ninerouter::format::{Api, validate};
use serde_json::{Value, json};

/// The four upstream formats, each a model string routed to the same fake.
const TARGETS: [(&str, &str); 4] = [
    ("chat", "fchat/gpt-4o"),
    ("responses", "fresp/gpt-5"),
    ("anthropic", "fanth/claude-sonnet-4-5"),
    ("gemini", "gemini/gemini-2.5-flash"),
];

async fn setup(script: Script) -> (FakeUpstream, Router) {
    let fake = FakeUpstream::start(script).await;
    let router = Router::start(&fake.four_formats_config(crate::support::FAST_ROUTING)).await;
    (fake, router)
}

fn api_of(capture: &Value) -> Api {
    let path = capture["path"].as_str().unwrap();
    if path.starts_with("/v1/messages") {
        Api::Anthropic
    } else if path.starts_with("/v1/responses") {
        Api::Responses
    } else {
        Api::Gemini
    }
}

fn is_stream(capture: &Value) -> bool {
    capture["body"]["stream"] == true
        || capture["path"]
            .as_str()
            .unwrap()
            .contains("streamGenerateContent")
}

/// The upstream request must be well-formed in the upstream's own format.
fn check_upstream_shape(format: &str, body: &Value) {
    match format {
        "chat" => {
            let msgs = body["messages"].as_array().expect("messages");
            assert!(!msgs.is_empty());
            for m in msgs {
                assert!(
                    matches!(
                        m["role"].as_str(),
                        Some("system" | "user" | "assistant" | "tool")
                    ),
                    "{m}"
                );
            }
        }
        "responses" => assert!(body["input"].is_array(), "{body}"),
        "anthropic" => {
            assert!(body["max_tokens"].is_u64());
            for m in body["messages"].as_array().unwrap() {
                assert!(
                    matches!(m["role"].as_str(), Some("user" | "assistant")),
                    "{m}"
                );
            }
        }
        "gemini" => {
            assert!(body["contents"].is_array());
            assert!(body.get("model").is_none());
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_client_capture_reaches_every_upstream_format_and_validates() {
    let (fake, router) = setup(Script {
        tool: Some(("Bash".into(), r#"{"command":"echo hi"}"#.into())),
        ..Script::default()
    })
    .await;
    let mut checked = 0;
    for file in ["claude-code.jsonl", "codex.jsonl", "gemini-cli.jsonl"] {
        for capture in posts(file) {
            let api = api_of(&capture);
            for (format, model) in TARGETS {
                let r = replay(&router, &capture, model).await;
                let status = r.status();
                let headers = r.headers().clone();
                let body = r.bytes().await.unwrap();
                assert_eq!(
                    status,
                    200,
                    "{file} {} → {format}: {}",
                    capture["capture_label"],
                    String::from_utf8_lossy(&body)
                );
                let passthrough = api.wire().map(|w| format!("{w:?}"))
                    == Some(
                        match format {
                            "chat" => "OpenaiChat",
                            "responses" => "OpenaiResponses",
                            "anthropic" => "Anthropic",
                            _ => "Gemini",
                        }
                        .to_owned(),
                    );
                if !passthrough {
                    check_upstream_shape(format, &fake.last().body);
                }
                if is_stream(&capture) {
                    let summary = validate::stream(api, &body).unwrap_or_else(|e| {
                        panic!("{file} → {format}: {e}\n{}", String::from_utf8_lossy(&body))
                    });
                    assert_eq!(summary.error, None);
                    assert_eq!(summary.text, "Hello from the fake.", "{file} → {format}");
                    assert_eq!(summary.tool_calls.len(), 1, "{file} → {format}");
                    assert!(summary.tool_calls[0].1.contains("echo hi"));
                    if !passthrough {
                        assert_eq!(summary.thinking, "Let me think.", "{file} → {format}");
                    }
                } else {
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    assert!(v["candidates"][0]["content"]["parts"].is_array(), "{v}");
                }
                assert!(headers.contains_key("x-ninerouter-provider"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 13, "{checked}");
}

fn last_capture(file: &str) -> Value {
    posts(file).pop().unwrap()
}

#[tokio::test]
async fn tool_round_trips_keep_call_ids_names_and_errors_in_every_direction() {
    let (fake, router) = setup(Script::default()).await;
    // Claude Code's second turn carries a tool_use and its tool_result.
    let claude = last_capture("claude-code.jsonl");
    replay(&router, &claude, "fchat/gpt-4o")
        .await
        .bytes()
        .await
        .unwrap();
    let up = fake.last().body;
    let msgs = up["messages"].as_array().unwrap();
    let call = msgs
        .iter()
        .find(|m| m["tool_calls"].is_array())
        .expect("assistant tool call");
    let id = call["tool_calls"][0]["id"].as_str().unwrap();
    assert_eq!(id, "toolu_c4514bff54494431a84feadb");
    assert_eq!(call["tool_calls"][0]["function"]["name"], "Bash");
    let answer = msgs.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(answer["tool_call_id"], id);
    assert_eq!(answer["content"], "mock-tool-ok");

    replay(&router, &claude, "gemini/gemini-2.5-flash")
        .await
        .bytes()
        .await
        .unwrap();
    let up = fake.last().body;
    let contents = up["contents"].as_array().unwrap();
    let fc = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .find(|p| p.get("functionCall").is_some())
        .unwrap();
    assert_eq!(fc["functionCall"]["id"], "toolu_c4514bff54494431a84feadb");
    assert!(fc["thoughtSignature"].is_string());
    let fr = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .find(|p| p.get("functionResponse").is_some())
        .unwrap();
    assert_eq!(fr["functionResponse"]["name"], "Bash");
    assert_eq!(fr["functionResponse"]["response"]["output"], "mock-tool-ok");

    // Codex's second turn: function_call / function_call_output to Anthropic.
    let codex = posts("codex.jsonl")
        .into_iter()
        .find(|c| {
            c["body"]["input"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["type"] == "function_call")
        })
        .unwrap();
    replay(&router, &codex, "fanth/claude-sonnet-4-5")
        .await
        .bytes()
        .await
        .unwrap();
    let up = fake.last().body;
    let blocks: Vec<&Value> = up["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["content"].as_array().unwrap())
        .collect();
    let use_block = blocks.iter().find(|b| b["type"] == "tool_use").unwrap();
    assert_eq!(use_block["id"], "call_10abf59c799645d383cf2305");
    assert_eq!(use_block["input"]["cmd"], "echo mock-tool-ok");
    let result = blocks.iter().find(|b| b["type"] == "tool_result").unwrap();
    assert_eq!(result["tool_use_id"], "call_10abf59c799645d383cf2305");
    // Codex's developer messages became the system prompt, its namespace tools flat names.
    assert!(
        up["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Codex CLI")
    );
    let names: Vec<&str> = up["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"multi_agent_v1__spawn_agent"), "{names:?}");
    assert!(
        up["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "web_search_20250305")
    );

    // A tool error from Claude Code stays an error.
    let mut failing = claude.clone();
    let last = failing["body"]["messages"]
        .as_array_mut()
        .unwrap()
        .last_mut()
        .unwrap();
    last["content"][0]["is_error"] = true.into();
    replay(&router, &failing, "fanth/claude-sonnet-4-5")
        .await
        .bytes()
        .await
        .unwrap();
    replay(&router, &failing, "fresp/gpt-5")
        .await
        .bytes()
        .await
        .unwrap();
    let up = fake.last().body;
    let out = up["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap();
    assert_eq!(out["call_id"], "toolu_c4514bff54494431a84feadb");
}

#[tokio::test]
async fn thinking_stays_apart_from_the_answer_and_usage_maps_every_token_kind() {
    let (_fake, router) = setup(Script::default()).await;
    let r = router
        .chat(json!({"model": "fanth/claude-sonnet-4-5", "stream": true,
            "stream_options": {"include_usage": true}, "reasoning_effort": "high",
            "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    let body = r.bytes().await.unwrap();
    let s = validate::stream(Api::OpenaiChat, &body).unwrap();
    assert_eq!(s.thinking, "Let me think.");
    assert_eq!(s.text, "Hello from the fake.");
    assert_eq!(s.input_tokens, INPUT);
    assert_eq!(s.output_tokens, OUTPUT);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(&format!("\"cached_tokens\":{CACHED}")),
        "{text}"
    );

    // Responses upstream → Anthropic client: reasoning becomes a thinking block and usage
    // splits cached input out of input_tokens.
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .json(
            &json!({"model": "fresp/gpt-5", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .send()
        .await
        .unwrap();
    let body = r.bytes().await.unwrap();
    let s = validate::stream(Api::Anthropic, &body).unwrap();
    assert_eq!(s.thinking, "Let me think.");
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains(&format!("\"cache_read_input_tokens\":{CACHED}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\"input_tokens\":{}", INPUT - CACHED)),
        "{text}"
    );
}

#[tokio::test]
async fn a_non_streaming_client_gets_json_aggregated_from_an_sse_upstream() {
    let (_fake, router) = setup(Script {
        always_stream: true,
        tool: Some(("ls".into(), r#"{"d":"."}"#.into())),
        ..Script::default()
    })
    .await;
    for model in [
        "fanth/claude-sonnet-4-5",
        "fchat/gpt-4o",
        "fresp/gpt-5",
        "gemini/gemini-2.5-flash",
    ] {
        let r = router
            .chat(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        assert_eq!(r.status(), 200, "{model}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = r.json().await.unwrap();
        let msg = &v["choices"][0]["message"];
        assert_eq!(msg["content"], "Hello from the fake.", "{model}: {v}");
        assert_eq!(msg["reasoning_content"], "Let me think.", "{model}");
        assert_eq!(msg["tool_calls"][0]["function"]["name"], "ls");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(v["usage"]["prompt_tokens"], INPUT, "{model}");
    }
}

#[tokio::test]
async fn upstream_errors_reach_clients_in_their_own_shape_and_status() {
    let (fake, router) = setup(Script {
        error: Some((
            400,
            "messages: text content blocks must be non-empty".into(),
        )),
        ..Script::default()
    })
    .await;
    // Anthropic client, OpenAI Chat upstream: an Anthropic-shaped 400 with the message.
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .json(&json!({"model": "fchat/gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("non-empty"),
        "{v}"
    );

    // Same format both sides: the provider's own body is relayed untouched.
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .json(&json!({"model": "fanth/claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["request_id"], "req_fake");

    // Gemini client, rate-limited Anthropic upstream: 429 RESOURCE_EXHAUSTED with Retry-After.
    fake.set(Script {
        error: Some((
            429,
            "Number of request tokens has exceeded your per-minute rate limit".into(),
        )),
        ..Script::default()
    });
    let r = router
        .http
        .post(router.url("/v1beta/models/fanth%2Fclaude-x:generateContent"))
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED", "{v}");
    assert_eq!(v["error"]["code"], 429);
}

#[tokio::test]
async fn same_format_is_passed_through_byte_for_byte() {
    let (fake, router) = setup(Script::default()).await;
    let capture = &posts("claude-code.jsonl")[0];
    let r = replay(&router, capture, "fanth/claude-opus").await;
    let client_bytes = r.bytes().await.unwrap();
    let seen = fake.last();
    assert_eq!(
        seen.headers["anthropic-beta"],
        capture["headers"]["anthropic-beta"].as_str().unwrap()
    );
    assert_eq!(seen.headers["x-api-key"], "k-anth-secret");
    let mut expected = capture["body"].clone();
    expected["model"] = "claude-opus".into();
    assert_eq!(seen.body, expected);
    // The fake's own stream, unchanged.
    let direct = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.root()))
        .json(&expected)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(client_bytes, direct);
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_with_one_valid_error_in_each_client_api() {
    let (_fake, router) = setup(Script {
        cut_after: Some(5),
        ..Script::default()
    })
    .await;
    let cases: [(Api, &str, Value); 5] = [
        (
            Api::OpenaiChat,
            "/v1/chat/completions",
            json!({"model": "fanth/c", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        ),
        (
            Api::Anthropic,
            "/v1/messages",
            json!({"model": "fresp/g", "max_tokens": 9, "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        ),
        (
            Api::Responses,
            "/v1/responses",
            json!({"model": "fanth/c", "stream": true, "input": "x"}),
        ),
        (
            Api::Gemini,
            "/v1beta/models/fresp/gpt-5:streamGenerateContent?alt=sse",
            json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}),
        ),
        (
            Api::Ollama,
            "/v1/api/chat",
            json!({"model": "fanth/c", "messages": [{"role": "user", "content": "x"}]}),
        ),
    ];
    for (api, path, body) in cases {
        let r = router
            .http
            .post(router.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{api:?}");
        let bytes = r.bytes().await.unwrap();
        let s = validate::stream(api, &bytes)
            .unwrap_or_else(|e| panic!("{api:?}: {e}\n{}", String::from_utf8_lossy(&bytes)));
        assert!(
            s.error
                .as_deref()
                .is_some_and(|e| e.contains("before it was complete")),
            "{api:?}: {s:?}"
        );
    }
}

#[tokio::test]
async fn ollama_chat_streams_ndjson_and_tags_lists_the_models() {
    let (_fake, router) = setup(Script::default()).await;
    let r = router
        .http
        .post(router.url("/v1/api/chat"))
        .json(&json!({"model": "fchat/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let s = validate::stream(Api::Ollama, &r.bytes().await.unwrap()).unwrap();
    assert_eq!(s.text, "Hello from the fake.");
    assert_eq!(s.thinking, "Let me think.");
    let r = router
        .http
        .post(router.url("/v1/api/chat"))
        .json(&json!({"model": "gemini/gemini-2.5-flash", "stream": false, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["done"], true);
    assert_eq!(v["message"]["content"], "Hello from the fake.");
    let tags: Value = router
        .http
        .get(router.url("/api/tags"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tags["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"gemini/gemini-2.5-flash"), "{names:?}");
}

#[tokio::test]
async fn model_lists_answer_in_the_shape_the_caller_asks_for() {
    let (_fake, router) = setup(Script::default()).await;
    let get = |path: &str, header: Option<(&str, &str)>| {
        let mut req = router.http.get(router.url(path));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let openai = get("/v1/models", None).await;
    assert_eq!(openai["object"], "list");
    let anthropic = get("/v1/models", Some(("anthropic-version", "2023-06-01"))).await;
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["has_more"], false);
    let gemini = get("/v1/models", Some(("x-goog-api-key", "k"))).await;
    assert!(
        gemini["models"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("models/")
    );
    let beta = get("/v1beta/models", None).await;
    assert_eq!(beta["models"], gemini["models"]);
}

#[tokio::test]
async fn a_codex_websocket_probe_is_refused_at_once_with_426() {
    let (_fake, router) = setup(Script::default()).await;
    let capture = fixture("codex.jsonl")
        .into_iter()
        .find(|r| r["method"] == "GET")
        .unwrap();
    let mut req = router.http.get(router.url("/v1/responses"));
    for (k, v) in capture["headers"].as_object().unwrap() {
        if k != "host" {
            req = req.header(k, v.as_str().unwrap());
        }
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 426);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("POST"));
}

#[tokio::test]
async fn count_tokens_asks_an_anthropic_provider_or_estimates_locally() {
    let (_fake, router) = setup(Script::default()).await;
    let body = |model: &str| json!({"model": model, "system": "be brief", "messages": [{"role": "user", "content": "How many tokens is this sentence?"}]});
    let r = router
        .http
        .post(router.url("/v1/messages/count_tokens"))
        .json(&body("fanth/claude-x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ninerouter-token-count"], "provider");
    assert_eq!(r.json::<Value>().await.unwrap()["input_tokens"], 4242);
    let r = router
        .http
        .post(router.url("/v1/messages/count_tokens"))
        .json(&body("fchat/gpt-4o"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-ninerouter-token-count"],
        "estimate-o200k_base"
    );
    let n = r.json::<Value>().await.unwrap()["input_tokens"]
        .as_u64()
        .unwrap();
    assert!((8..40).contains(&n), "{n}");
}

#[tokio::test]
async fn gemini_model_segments_may_carry_a_provider_prefix_encoded_or_not() {
    let (fake, router) = setup(Script::default()).await;
    for path in [
        "/v1beta/models/fchat%2Fgpt-4o:generateContent",
        "/v1beta/models/fchat/gpt-4o:generateContent",
        "/v1/models/fchat/gpt-4o:generateContent",
    ] {
        let r = router
            .http
            .post(router.url(path))
            .header("x-goog-api-key", "anything")
            .json(&json!({"systemInstruction": {"parts": [{"text": "sys"}]},
                "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v["candidates"][0]["content"]["parts"][1]["text"],
            "Hello from the fake."
        );
        assert_eq!(v["usageMetadata"]["promptTokenCount"], INPUT);
        let up = fake.last();
        assert_eq!(up.body["model"], "gpt-4o");
        assert_eq!(up.body["messages"][0]["content"], "sys");
    }
}

#[tokio::test]
async fn tools_without_an_equivalent_are_refused_or_dropped_by_the_documented_rule() {
    let (_fake, router) = setup(Script::default()).await;
    let r = router
        .http
        .post(router.url("/v1/messages"))
        .json(&json!({"model": "fchat/gpt-4o", "max_tokens": 10,
            "tools": [{"type": "bash_20250124", "name": "bash"}],
            "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("tools.0") && m.contains("bash"), "{m}");

    // Codex always offers web_search; a Chat provider has none, so it is left out and said so.
    let codex = &posts("codex.jsonl")[0];
    let r = replay(&router, codex, "fchat/gpt-4o").await;
    assert_eq!(r.status(), 200);
    let dropped = r.headers()["x-ninerouter-dropped"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(dropped.contains("tools.web_search"), "{dropped}");
}
