//! What the router guards, tried as an attacker would: web pages (Host and Origin checks,
//! CORS), client keys against the management API, the admin login and its pacing, secrets
//! leaving through the wrong door (a login as a key, a model name in a URL, a redirect),
//! unbounded work, and what records keep.
use std::time::Duration;

use crate::support::fake_claude::{self, FakeClaude};
use crate::support::fake_upstream::{FakeUpstream, Script};
use crate::support::{FAST_ROUTING, FakeOpenAi, Router, node_config};
use ninerouter::engine::{Engine, EngineOptions};
use ninerouter::secrets::BackendChoice;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_foreign_host_header_is_refused_everywhere_on_loopback() {
    let router = Router::start("").await;
    for path in [
        "/api/status",
        "/v1/models",
        "/v1beta/models",
        "/",
        "/no/such/path",
    ] {
        let r = router
            .http
            .get(router.url(path))
            .header("host", "evil.example:20128")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    for host in ["localhost:1", "127.0.0.1", "[::1]:20128"] {
        let r = router
            .http
            .get(router.url("/api/status"))
            .header("host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn cross_site_changes_to_the_management_api_are_refused() {
    let router = Router::start("").await;
    let own = router.base.clone();
    let post = |origin: &str| {
        router
            .http
            .put(router.url("/api/aliases/x"))
            .header("origin", origin)
            .json(&json!({"target": "oa/gpt-4o"}))
            .send()
    };
    assert_eq!(post("https://evil.example").await.unwrap().status(), 403);
    assert_eq!(post("null").await.unwrap().status(), 403);
    assert_eq!(
        post("http://localhost:3000").await.unwrap().status(),
        403,
        "another local port"
    );
    assert_eq!(post(&own).await.unwrap().status(), 200);
    assert_eq!(post("tauri://localhost").await.unwrap().status(), 200);
    let no_origin_cross_site = router
        .http
        .delete(router.url("/api/aliases/x"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin_cross_site.status(), 403);
}

#[tokio::test]
async fn cors_opens_the_management_api_only_to_the_dashboard() {
    let router = Router::start("").await;
    let preflight = |origin: &str| {
        router
            .http
            .request(reqwest::Method::OPTIONS, router.url("/api/combos"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let own = preflight(&router.base).await.unwrap();
    assert_eq!(
        own.headers()["access-control-allow-origin"],
        router.base.as_str()
    );
    let foreign = preflight("https://evil.example").await.unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let read = router
        .http
        .get(router.url("/api/status"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        read.headers().get("access-control-allow-origin").is_none(),
        "a page cannot read it"
    );
}

#[tokio::test]
async fn a_foreign_page_needs_a_key_for_the_client_api_even_when_keys_are_off() {
    let fake = FakeOpenAi::start().await;
    let config = node_config(
        &[("ma", &fake, &["key-a"])],
        "\n[server]\napi_keys = [\"sk-local-1\"]\n",
    );
    let router = Router::start(&config).await;
    let body = json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]});
    let from_page = |key: Option<&str>| {
        let mut r = router
            .http
            .post(router.url("/v1/chat/completions"))
            .header("origin", "https://evil.example")
            .json(&body);
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    let refused = from_page(None).await.unwrap();
    assert_eq!(refused.status(), 401);
    // CORS answers before the key check: the page can read why it was refused, and its
    // preflight (which carries no key) is not refused.
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    let preflight = router
        .http
        .request(reqwest::Method::OPTIONS, router.url("/v1/chat/completions"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(from_page(Some("sk-local-1")).await.unwrap().status(), 200);
    assert_eq!(router.ask("ma/m").await.0, 200, "local clients need no key");
}

#[tokio::test]
async fn require_api_key_from_the_config_file_accepts_every_client_style() {
    let fake = FakeOpenAi::start().await;
    let config = node_config(
        &[("ma", &fake, &["key-a"])],
        "\n[server]\nrequire_api_key = true\napi_keys = [\"sk-local-1\"]\n",
    );
    let router = Router::start(&config).await;
    let models = |header: Option<(&str, &str)>, query: &str| {
        let mut r = router.http.get(router.url(&format!("/v1/models{query}")));
        if let Some((k, v)) = header {
            r = r.header(k, v);
        }
        r.send()
    };
    assert_eq!(models(None, "").await.unwrap().status(), 401);
    assert_eq!(
        models(Some(("authorization", "Bearer sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        models(Some(("x-api-key", "sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        models(Some(("x-goog-api-key", "sk-local-1")), "")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(models(None, "?key=sk-local-1").await.unwrap().status(), 200);
    assert_eq!(
        models(Some(("authorization", "Bearer sk-other")), "")
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn beyond_loopback_clients_need_a_proxy_key_and_management_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[server]\napi_keys = [\"sk-local-1\"]\n").unwrap();
    let engine = Engine::start(EngineOptions {
        host: Some("0.0.0.0".into()),
        port: Some(0),
        data_dir: dir.path().join("data"),
        config_file: Some(config),
        secrets: BackendChoice::Memory,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", engine.address().port());
    let http = reqwest::Client::new();
    let get = |path: &str, key: Option<&str>| {
        let mut r = http.get(format!("{base}{path}"));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    assert_eq!(get("/v1/models", None).await.unwrap().status(), 401);
    assert_eq!(
        get("/v1/models", Some("sk-local-1"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(get("/api/status", None).await.unwrap().status(), 401);
    let with_proxy_key = get("/api/status", Some("sk-local-1")).await.unwrap();
    assert_eq!(with_proxy_key.status(), 401, "a proxy key is no admin key");
    let body: Value = with_proxy_key.json().await.unwrap();
    assert_eq!(body["error"]["code"], "admin_login_required");
    for (method, path) in [
        (Method::POST, "/api/keys"),
        (Method::GET, "/api/usage/request-details"),
        (Method::POST, "/api/oauth/cx/import"),
        (Method::GET, "/api/events"),
    ] {
        let r = http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth("sk-local-1")
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path}");
    }
    engine.stop().await;
}

#[tokio::test]
async fn a_claude_login_leaves_only_as_its_access_token_in_its_own_header() {
    let claude = FakeClaude::start().await;
    let router = Router::start(&claude.config()).await;
    let account = fake_claude::log_in(&router, &claude).await;

    // Claude Code's count_tokens goes through the login like its messages do.
    let counted = router
        .http
        .post(router.url("/v1/messages/count_tokens"))
        .header("anthropic-beta", "token-counting-2024-11-01")
        .json(&json!({"model": "cc/claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(counted.status(), 200);
    assert_eq!(counted.headers()["x-ninerouter-token-count"], "provider");
    assert_eq!(counted.json::<Value>().await.unwrap()["input_tokens"], 1234);
    let (auth, beta, api_key) = claude.counts().pop().expect("a count request");
    assert_eq!(auth, "Bearer claude-access-1");
    assert_eq!(beta, "token-counting-2024-11-01,oauth-2025-04-20");
    assert!(!api_key, "no x-api-key with a login");

    // The connection test proves the login without sending it anywhere.
    let (status, probe) = router
        .api(
            Method::POST,
            &format!("/api/connections/{account}/test"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{probe}");
    assert_eq!(probe["ok"], true, "{probe}");

    // A login account's address is its provider's; its login is replaced only by logging in.
    for patch in [
        json!({"baseUrl": "http://127.0.0.1:9/steal"}),
        json!({"apiKey": "sk-other"}),
    ] {
        let (status, body) = router
            .api(
                Method::PATCH,
                &format!("/api/connections/{account}"),
                Some(patch),
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }

    // The refresh token went to the token endpoint only; no request carried the token set.
    for (path, headers) in claude.requests() {
        for (name, value) in &headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            assert!(
                !value.contains("refresh") && !value.contains("accessToken"),
                "{path} carried the saved login in {name}: {value}"
            );
        }
    }
}

/// Posts `model` through one client API; returns the status.
async fn ask_through(router: &Router, api: &str, model: &str) -> u16 {
    let messages = json!([{"role": "user", "content": "hi"}]);
    let (path, body) = match api {
        "chat" => (
            "/v1/chat/completions".to_owned(),
            json!({"model": model, "messages": messages}),
        ),
        "responses" => (
            "/v1/responses".to_owned(),
            json!({"model": model, "input": "hi"}),
        ),
        "messages" => (
            "/v1/messages".to_owned(),
            json!({"model": model, "max_tokens": 10, "messages": messages}),
        ),
        "ollama" => (
            "/api/chat".to_owned(),
            json!({"model": model, "messages": messages, "stream": false}),
        ),
        _ => {
            let encoded: String = url::form_urlencoded::byte_serialize(model.as_bytes())
                .collect::<String>()
                .replace('+', "%20");
            (
                format!("/v1beta/models/{encoded}:generateContent"),
                json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            )
        }
    };
    let r = router
        .http
        .post(router.url(&path))
        .json(&body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn hostile_model_names_stay_one_path_segment_through_every_client_api() {
    let fake = FakeUpstream::start(Script::default()).await;
    let router = Router::start(&fake.four_formats_config(FAST_ROUTING)).await;
    let encoded = [
        ("x/../../../v1/files#", "x%2F..%2F..%2F..%2Fv1%2Ffiles%23"),
        ("m?key=stolen&alt=json", "m%3Fkey%3Dstolen%26alt%3Djson"),
        ("%2F..%2Fv1%2Ffiles", "%252F..%252Fv1%252Ffiles"),
        ("a b\\c", "a%20b%5Cc"),
    ];
    for api in ["chat", "responses", "messages", "ollama", "gemini"] {
        for (model, segment) in encoded {
            let before = fake.seen().len();
            let status = ask_through(&router, api, &format!("gemini/{model}")).await;
            assert_eq!(status, 200, "{api} {model}");
            let seen = fake.seen();
            assert_eq!(
                seen.len(),
                before + 1,
                "{api} {model}: one upstream request"
            );
            assert_eq!(
                seen[before].path,
                format!("/v1beta/models/{segment}:generateContent"),
                "{api} {model}"
            );
        }
        for refused in ["..", "."] {
            let before = fake.seen().len();
            let status = ask_through(&router, api, &format!("gemini/{refused}")).await;
            assert!((400..500).contains(&status), "{api} {refused}: {status}");
            assert_eq!(fake.seen().len(), before, "{api} {refused}: nothing sent");
        }
    }
}

/// A server that answers every request with a redirect to `target` (same path), recording
/// nothing; where the redirect lands is what the test watches.
async fn redirecting_to(target: &str) -> String {
    let target = target.to_owned();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let location = format!("{target}{}", uri.path());
        async move {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [(axum::http::header::LOCATION, location)],
            )
        }
    });
    format!("http://{}", crate::support::serve_on_loopback(app).await)
}

#[tokio::test]
async fn no_key_or_body_follows_a_redirect_to_another_origin() {
    let elsewhere = FakeUpstream::start(Script::default()).await;
    let redirector = redirecting_to(&elsewhere.root()).await;
    let config = format!(
        "{FAST_ROUTING}\n[[provider]]\nprovider = \"anthropic-compatible\"\nname = \"anth\"\n\
         prefix = \"fanth\"\nbase_url = \"{redirector}\"\napi_key = \"k-anth-secret\"\n\n\
         [[provider]]\nprovider = \"openai-compatible\"\nname = \"chat\"\nprefix = \"fchat\"\n\
         base_url = \"{redirector}/v1\"\napi_key = \"k-chat-secret\"\n"
    );
    let router = Router::start(&config).await;
    let status = ask_through(&router, "messages", "fanth/claude-sonnet-4-5").await;
    assert!(status >= 400, "{status}");
    let status = ask_through(&router, "chat", "fchat/gpt-4o").await;
    assert!(status >= 400, "{status}");
    let (_, connections) = router.api(Method::GET, "/api/connections", None).await;
    for c in connections.as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        let (_, probe) = router
            .api(Method::POST, &format!("/api/connections/{id}/test"), None)
            .await;
        assert_eq!(probe["ok"], false, "{probe}");
    }
    assert!(
        elsewhere.seen().is_empty(),
        "requests followed the redirect: {:?}",
        elsewhere.seen().iter().map(|s| &s.path).collect::<Vec<_>>()
    );
}

/// What a provider behind a same-origin redirect received: method, headers, body.
type Landed = std::sync::Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>>;

/// One origin that redirects `/old/…` (307) and `/other/…` (303) to `/new/…` by a relative
/// `Location`, and answers `/new/…` with a Chat completion, keeping what landed there.
async fn redirecting_within_itself() -> (String, Landed) {
    use axum::http::{HeaderMap, Method as M, StatusCode, Uri, header};
    use axum::response::IntoResponse;
    let landed = Landed::default();
    let kept = landed.clone();
    let app = axum::Router::new().fallback(
        move |method: M, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let path = uri.path();
                let moved = [
                    ("/old/", StatusCode::TEMPORARY_REDIRECT),
                    ("/other/", StatusCode::SEE_OTHER),
                ]
                .into_iter()
                .find_map(|(from, status)| Some((status, path.strip_prefix(from)?)));
                if let Some((status, rest)) = moved {
                    return (status, [(header::LOCATION, format!("/new/{rest}"))]).into_response();
                }
                kept.lock()
                    .unwrap()
                    .push((method.to_string(), headers, body.to_vec()));
                axum::Json(json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                    "model": "gpt-4o",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "landed"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }))
                .into_response()
            }
        },
    );
    (
        format!("http://{}", crate::support::serve_on_loopback(app).await),
        landed,
    )
}

#[tokio::test]
async fn a_redirect_within_the_providers_origin_is_followed_as_a_browser_would() {
    let (origin, landed) = redirecting_within_itself().await;
    let config = format!(
        "{FAST_ROUTING}\n[[provider]]\nprovider = \"openai-compatible\"\nname = \"kept\"\n\
         prefix = \"kept\"\nbase_url = \"{origin}/old/v1\"\napi_key = \"k-kept\"\n\n\
         [[provider]]\nprovider = \"openai-compatible\"\nname = \"seen\"\nprefix = \"seen\"\n\
         base_url = \"{origin}/other/v1\"\napi_key = \"k-seen\"\n"
    );
    let router = Router::start(&config).await;
    // 307: the same method, body and key, and the client's usual headers.
    assert_eq!(ask_through(&router, "chat", "kept/gpt-4o").await, 200);
    let (method, headers, body) = landed.lock().unwrap().remove(0);
    assert_eq!(method, "POST");
    assert_eq!(headers["authorization"], "Bearer k-kept");
    assert_eq!(headers["accept"], "*/*");
    let agent = headers["user-agent"].to_str().unwrap();
    assert!(agent.starts_with("NineRouter/"), "{agent}");
    // Clients' requests go out on hyper's client directly (no proxy is set here), which names
    // no URL in a `Referer`; reqwest, which sends them when a proxy is, would.
    assert!(headers.get("referer").is_none(), "{headers:?}");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["model"], "gpt-4o");
    // 303: a GET without the body or its headers (what reqwest and browsers do); the key,
    // same origin, stays.
    ask_through(&router, "chat", "seen/gpt-4o").await;
    let (method, headers, body) = landed.lock().unwrap().remove(0);
    assert_eq!(method, "GET");
    assert!(body.is_empty());
    assert!(headers.get("content-type").is_none(), "{headers:?}");
    assert_eq!(headers["authorization"], "Bearer k-seen");
}

#[tokio::test]
async fn a_stalled_login_server_cannot_hold_a_request_past_the_first_byte_timeout() {
    let claude = FakeClaude::start().await;
    let router = Router::start(&format!("{}{FAST_ROUTING}", claude.config())).await;
    fake_claude::log_in(&router, &claude).await;
    claude.stall_refreshes();
    claude.refuse_next_message();
    // The refused token sends the router to the token endpoint, which never answers.
    let answered =
        tokio::time::timeout(Duration::from_secs(10), router.ask("cc/claude-sonnet-4-5"))
            .await
            .expect("the router answers although the login server stalls");
    assert!(answered.0 >= 400, "{answered:?}");
}

#[tokio::test]
async fn an_endless_stream_event_is_cut_off_with_an_error_event() {
    // 40 MiB without a line break, in 1 MiB pieces: past the per-event cap.
    let app = axum::Router::new().fallback(|| async {
        let head = futures_util::stream::once(async {
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"data: "))
        });
        let tail = futures_util::stream::iter(
            (0..40).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 1 << 20]))),
        );
        (
            [(axum::http::header::CONTENT_TYPE, "text/event-stream")],
            axum::body::Body::from_stream(futures_util::StreamExt::chain(head, tail)),
        )
    });
    let endless = format!("http://{}/v1", crate::support::serve_on_loopback(app).await);
    let config = format!(
        "[routing]\nfirst_byte_timeout_ms = 20000\nstream_idle_timeout_ms = 20000\n\n\
         [[provider]]\nprovider = \"openai-compatible\"\nname = \"e\"\nprefix = \"endless\"\n\
         base_url = \"{endless}\"\napi_key = \"k\"\n"
    );
    let router = Router::start(&config).await;
    let (status, _, body) = router.ask_streaming("endless/m").await;
    assert!(status >= 400, "{status}: {}", &body[..body.len().min(300)]);
    assert!(
        body.contains("larger than 32 MiB"),
        "{}",
        &body[..body.len().min(300)]
    );
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let router = Router::start("[server]\nheader_timeout_ms = 300\n").await;
    let addr = router.engine.address();
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // A whole request, then the connection kept alive and idle.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    idle.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    for (name, conn) in [
        ("silent", &mut silent),
        ("half-sent", &mut half),
        ("idle", &mut idle),
    ] {
        let mut rest = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "the {name} connection is still open");
    }
    assert_eq!(router.api(Method::GET, "/api/status", None).await.0, 200);
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let router = Router::start("[server]\nmax_connections = 2\n").await;
    let addr = router.engine.address();
    let held = [
        tokio::net::TcpStream::connect(addr).await.unwrap(),
        tokio::net::TcpStream::connect(addr).await.unwrap(),
    ];
    let http = reqwest::Client::new();
    let url = router.url("/api/status");
    let mut third = tokio::spawn(async move { http.get(url).send().await.map(|r| r.status()) });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err(),
        "a third connection was served beside two held ones"
    );
    drop(held);
    let status = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once a connection closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

/// Sets the dashboard password through the open loopback API.
async fn set_password(router: &Router, password: &str) -> reqwest::Response {
    let body = json!({ "password": password });
    call(router, Method::PUT, "/api/admin/password", None, Some(body)).await
}

/// The session cookie a response sets (its `name=value`), and the whole header.
fn session_from(r: &reqwest::Response) -> (String, String) {
    let set = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    let pair = set.split(';').next().unwrap().to_owned();
    (pair, set)
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = router.http.request(method, router.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn a_dashboard_password_closes_the_management_api_to_all_but_its_sessions() {
    let router = Router::start("[server]\napi_keys = [\"sk-local-1\"]\n").await;
    let short = set_password(&router, "short").await;
    assert_eq!(short.status(), 400);
    let set = set_password(&router, "tr0ub4dor&3").await;
    assert_eq!(set.status(), 200);
    let (setter, _) = session_from(&set);

    let closed = call(&router, Method::GET, "/api/status", None, None).await;
    assert_eq!(closed.status(), 401);
    let keyed = router
        .http
        .get(router.url("/api/status"))
        .bearer_auth("sk-local-1")
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 401, "a proxy key is no admin key");
    let state: Value = call(&router, Method::GET, "/api/auth/state", None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        state,
        json!({"required": true, "passwordSet": true, "actor": null})
    );
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&setter), None)
            .await
            .status(),
        200
    );

    let wrong = call(
        &router,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"password": "tr0ub4dor&4"})),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let right = call(
        &router,
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"password": "tr0ub4dor&3"})),
    )
    .await;
    assert_eq!(right.status(), 204);
    let (session, header) = session_from(&right);
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Strict"),
        "{header}"
    );
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&session), None)
            .await
            .status(),
        200
    );
    let forged = "nr_session=nrs-forged";
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(forged), None)
            .await
            .status(),
        401
    );

    let out = call(
        &router,
        Method::POST,
        "/api/auth/logout",
        Some(&session),
        None,
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&session), None)
            .await
            .status(),
        401
    );

    // A new password ends every session but the one that set it.
    let changed = call(
        &router,
        Method::PUT,
        "/api/admin/password",
        Some(&setter),
        Some(json!({"password": "correct horse"})),
    )
    .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&setter), None)
            .await
            .status(),
        401
    );
    let (changer, _) = session_from(&changed);
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&changer), None)
            .await
            .status(),
        200
    );

    // The hash, never the password, is stored.
    let db = router.db_bytes();
    let db = String::from_utf8_lossy(&db);
    assert!(db.contains("$argon2id$") && !db.contains("correct horse"));
}

#[tokio::test]
async fn wrong_passwords_are_paced_per_address() {
    let router = Router::start("").await;
    let set = set_password(&router, "tr0ub4dor&3").await;
    assert_eq!(set.status(), 200);
    let attempt = |password: &'static str| {
        call(
            &router,
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"password": password})),
        )
    };
    // Twenty guesses at once get no more tries than twenty in a row.
    let burst = futures_util::future::join_all((0..20).map(|_| attempt("guess-guess"))).await;
    let statuses: Vec<u16> = burst.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    let paced = attempt("tr0ub4dor&3").await;
    assert_eq!(paced.status(), 429, "even the right password waits");
    assert_eq!(paced.headers()["retry-after"], "1");
    let body: Value = paced.json().await.unwrap();
    assert_eq!(body["error"]["code"], "throttled");
}

#[tokio::test]
async fn require_api_key_covers_the_management_api_and_needs_a_password_first() {
    let router = Router::start("").await;
    let on = json!({"requireApiKey": true});
    let refused = call(
        &router,
        Method::PATCH,
        "/api/settings",
        None,
        Some(on.clone()),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["field"], "requireApiKey");

    let set = set_password(&router, "tr0ub4dor&3").await;
    let (session, _) = session_from(&set);
    assert_eq!(
        call(
            &router,
            Method::PATCH,
            "/api/settings",
            Some(&session),
            Some(on)
        )
        .await
        .status(),
        200
    );
    for (method, path) in [
        (Method::POST, "/api/keys"),
        (Method::GET, "/api/events"),
        (Method::GET, "/api/usage/request-details"),
    ] {
        let keyless = call(
            &router,
            method.clone(),
            path,
            None,
            Some(json!({"name": "x"})),
        )
        .await;
        assert_eq!(keyless.status(), 401, "{method} {path}");
    }
    let minted = call(
        &router,
        Method::POST,
        "/api/keys",
        Some(&session),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(minted.status(), 201);
    // The password cannot go while keys are required.
    let removal = call(
        &router,
        Method::DELETE,
        "/api/admin/password",
        Some(&session),
        None,
    )
    .await;
    assert_eq!(removal.status(), 400);
}

#[tokio::test]
async fn admin_tokens_open_the_management_api_for_scripts_until_deleted() {
    let router = Router::start("[server]\napi_keys = [\"sk-local-1\"]\n").await;
    let (status, created) = router
        .api(
            Method::POST,
            "/api/admin/tokens",
            Some(json!({"name": "backup script"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("nra-"));
    let set = set_password(&router, "tr0ub4dor&3").await;
    let (session, _) = session_from(&set);
    let with = |bearer: String| {
        router
            .http
            .get(router.url("/api/keys"))
            .bearer_auth(bearer)
            .send()
    };
    assert_eq!(with(token.clone()).await.unwrap().status(), 200);
    assert_eq!(with("sk-local-1".into()).await.unwrap().status(), 401);
    assert_eq!(with(format!("{token}x")).await.unwrap().status(), 401);
    let listed: Value = call(
        &router,
        Method::GET,
        "/api/admin/tokens",
        Some(&session),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(listed[0]["name"], "backup script");
    assert!(!listed.to_string().contains(&token));
    let id = created["id"].as_str().unwrap();
    let gone = call(
        &router,
        Method::DELETE,
        &format!("/api/admin/tokens/{id}"),
        Some(&session),
        None,
    )
    .await;
    assert_eq!(gone.status(), 204);
    assert_eq!(with(token).await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_desktop_window_trades_a_one_time_ticket_for_a_session() {
    let router = Router::start("").await;
    let set = set_password(&router, "tr0ub4dor&3").await;
    assert_eq!(set.status(), 200);
    let ticket = ninerouter::manage::admin::desktop_ticket(&router.engine.core());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = router.url(&format!("/api/auth/desktop?ticket={ticket}"));
    let landed = http.get(&url).send().await.unwrap();
    assert_eq!(landed.status(), 303);
    assert_eq!(landed.headers()["location"], "/dashboard/");
    let (session, _) = session_from(&landed);
    assert_eq!(
        call(&router, Method::GET, "/api/status", Some(&session), None)
            .await
            .status(),
        200
    );
    let state: Value = call(
        &router,
        Method::GET,
        "/api/auth/state",
        Some(&session),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(state["actor"], "desktop");
    assert_eq!(
        http.get(&url).send().await.unwrap().status(),
        401,
        "used once"
    );
}

#[tokio::test]
async fn every_management_change_is_audited_without_its_secrets() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start(&node_config(&[("ma", &fake, &["key-a"])], "")).await;
    let secret = "sk-or-very-secret-audit-key-123";
    let (status, _) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({"provider": "openrouter", "name": "or", "apiKey": secret})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = router
        .api(
            Method::PUT,
            "/api/aliases/fast",
            Some(json!({"target": "ma/m"})),
        )
        .await;
    assert_eq!(status, 200);
    let set = set_password(&router, "tr0ub4dor&3").await;
    let (session, _) = session_from(&set);
    // Failed logins are no changes: a flood of them cannot push the real changes out.
    for _ in 0..3 {
        let wrong = json!({"password": "wrong-password"});
        call(&router, Method::POST, "/api/auth/login", None, Some(wrong)).await;
    }
    let (status, created) = router.api(Method::POST, "/api/admin/tokens", None).await;
    assert_eq!(status, 401, "{created}");

    let audit: Value = call(&router, Method::GET, "/api/audit", Some(&session), None)
        .await
        .json()
        .await
        .unwrap();
    let rows = audit.as_array().unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "PUT /api/admin/password",
            "PUT /api/aliases/fast",
            "POST /api/connections",
        ]
    );
    assert_eq!(rows[0]["status"], 200);
    assert_eq!(rows[2]["actor"], "local");
    assert_eq!(rows[2]["client"], "127.0.0.1");
    assert!(
        rows[2]["detail"]
            .as_str()
            .unwrap()
            .contains("\"name\":\"or\"")
    );
    // A login is recorded once it succeeds.
    let right = json!({"password": "tr0ub4dor&3"});
    let login = call(&router, Method::POST, "/api/auth/login", None, Some(right)).await;
    assert_eq!(login.status(), 204);
    let newest: Value = call(
        &router,
        Method::GET,
        "/api/audit?limit=1",
        Some(&session),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(newest[0]["action"], "POST /api/auth/login");
    assert_eq!(newest[0]["actor"], "session");
    let text = audit.to_string();
    assert!(
        !text.contains(secret) && !text.contains("tr0ub4dor") && !text.contains("wrong-password"),
        "{text}"
    );
    let db = router.db_bytes();
    let db = String::from_utf8_lossy(&db);
    assert!(
        db.contains("POST /api/connections") && !db.contains("tr0ub4dor") && !db.contains(secret)
    );
}

#[tokio::test]
async fn records_blank_every_token_the_router_holds_or_issues() {
    let claude = FakeClaude::start().await;
    let router = Router::start(&format!(
        "{}[server]\napi_keys = [\"sk-nr-fromtheconfig1\"]\n",
        claude.config()
    ))
    .await;
    fake_claude::log_in(&router, &claude).await;
    // A client that pastes what it should not: the login's tokens and a proxy key, and sends
    // its own key in the query.
    let leaky = "mine: claude-access-1 claude-refresh-1 sk-nr-fromtheconfig1";
    let r = router
        .http
        .post(router.url("/v1/messages?key=sk-nr-fromtheconfig1"))
        .json(&json!({"model": "cc/claude-sonnet-4-5", "max_tokens": 5,
            "messages": [{"role": "user", "content": leaky}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = router
        .wait_for("/api/usage/request-details", |v| {
            v["details"][0]["status"].as_u64() == Some(200)
        })
        .await;
    let id = page["details"][0]["id"].as_str().unwrap().to_owned();
    let (_, detail) = router
        .api(
            Method::GET,
            &format!("/api/usage/request-details/{id}"),
            None,
        )
        .await;
    let shown = detail.to_string();
    let db = String::from_utf8_lossy(&router.db_bytes()).into_owned();
    for secret in [
        "claude-access-1",
        "claude-refresh-1",
        "sk-nr-fromtheconfig1",
    ] {
        assert!(!shown.contains(secret), "the inspector shows {secret}");
        assert!(!db.contains(secret), "the database holds {secret}");
    }
    assert!(shown.contains("mine: [REDACTED]"), "{shown}");
}

#[tokio::test]
async fn the_dashboard_cannot_be_framed_and_loads_only_its_own_code() {
    let router = Router::start("").await;
    let page = router
        .http
        .get(router.url("/dashboard/"))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_its_files_are_the_owners_alone_even_for_old_installs() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // An install from before: world-readable directory and files.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(data.join("secrets.json"), "{}").unwrap();
    std::fs::set_permissions(
        data.join("secrets.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let engine = Engine::start(EngineOptions {
        host: Some("127.0.0.1".into()),
        port: Some(0),
        data_dir: data.clone(),
        secrets: BackendChoice::Memory,
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for name in ["ninerouter.db", "secrets.json"] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    // Journal files SQLite creates later take the database's mode.
    let base = format!("http://{}", engine.address());
    reqwest::Client::new()
        .put(format!("{base}/api/aliases/x"))
        .json(&json!({"target": "openai/gpt-4o"}))
        .send()
        .await
        .unwrap();
    for name in ["ninerouter.db-wal", "ninerouter.db-shm"] {
        let path = data.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
    engine.stop().await;
}

#[tokio::test]
async fn a_renewal_outlives_the_request_that_gave_up_on_it_so_a_rotated_token_is_kept() {
    let claude = FakeClaude::start().await;
    let router = Router::start(&format!("{}{FAST_ROUTING}", claude.config())).await;
    fake_claude::log_in(&router, &claude).await;
    // The login server rotates the refresh token at once but answers after the request's
    // first-byte timeout (800 ms).
    claude.slow_refreshes(1500);
    claude.refuse_next_message();
    let (status, _, _) = router.ask("cc/claude-sonnet-4-5").await;
    assert!(status >= 400, "{status}");
    let mut served = 0;
    for _ in 0..60 {
        router
            .api(
                Method::POST,
                &format!("/api/connections/{}/reset", accounts(&router).await),
                None,
            )
            .await;
        served = router.ask("cc/claude-sonnet-4-5").await.0;
        if served == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served, 200, "the rotated login was kept");
    assert_eq!(claude.refreshes(), 1);
    assert_eq!(
        claude.last_message().map(|m| m.0).as_deref(),
        Some("Bearer claude-access-2")
    );
}

/// The id of the router's only account.
async fn accounts(router: &Router) -> String {
    let (_, list) = router.api(Method::GET, "/api/connections", None).await;
    list[0]["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_is_cut_off_at_the_body_deadline() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let router =
        Router::start("[server]\nbody_timeout_ms = 400\nbody_idle_timeout_ms = 5000\n").await;
    let slow = tokio::net::TcpStream::connect(router.engine.address())
        .await
        .unwrap();
    let (mut from_router, mut to_router) = slow.into_split();
    to_router
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              content-type: application/json\r\ncontent-length: 100000\r\n\r\n{",
        )
        .await
        .unwrap();
    let answer = tokio::spawn(async move {
        let mut buf = vec![0u8; 512];
        let n = from_router.read(&mut buf).await.unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    // A byte every 50 ms, never idle long but never done, until the router answers.
    let dripping = async {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if to_router.write_all(b" ").await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let head = tokio::time::timeout(Duration::from_secs(5), async {
        tokio::select! {
            head = answer => head.unwrap(),
            () = dripping => unreachable!(),
        }
    })
    .await
    .expect("the router answers");
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("did not arrive in time"), "{head}");
}
