//! Outbound proxies: an account's own proxy (http with a password, socks5) carries its calls,
//! its password is never shown or stored in the database, and without one the environment's
//! `HTTP_PROXY`/`NO_PROXY` apply. The upstream's host, `upstream.invalid`, resolves nowhere:
//! a request that reached the fake went through the proxy.
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_socks::FakeSocks;
use crate::support::fake_upstream::{FakeUpstream, Script};
use crate::support::{FAST_ROUTING, Router, serve_command, spawn_serving};

fn node(prefix: &str, base_url: &str, proxy: Option<&str>) -> String {
    let proxy = proxy
        .map(|p| format!("proxy = \"{p}\"\n"))
        .unwrap_or_default();
    format!(
        "\n[[provider]]\nprovider = \"openai-compatible\"\nname = \"{prefix}\"\nprefix = \"{prefix}\"\nbase_url = \"{base_url}\"\napi_key = \"k-{prefix}\"\n{proxy}"
    )
}

async fn ask(base: &str, model: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("chat");
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test]
async fn an_accounts_http_proxy_carries_its_requests_and_keeps_its_password() {
    let proxy = FakeUpstream::start(Script::default()).await;
    let url = format!("http://me:hunter22secret@{}", proxy.addr);
    let config = format!(
        "{FAST_ROUTING}{}",
        node("px", "http://upstream.invalid/v1", Some(&url))
    );
    let router = Router::start(&config).await;
    let (status, body) = ask(&router.base, "px/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    let seen = proxy.last();
    assert_eq!(seen.headers["host"], "upstream.invalid");
    let basic = base64::engine::general_purpose::STANDARD.encode("me:hunter22secret");
    assert_eq!(
        seen.headers["proxy-authorization"],
        format!("Basic {basic}")
    );
    assert_eq!(seen.headers["authorization"], "Bearer k-px");

    let (_, accounts) = router.api(Method::GET, "/api/connections", None).await;
    let shown = accounts[0]["proxy"].as_str().unwrap_or_default();
    assert_eq!(shown, format!("http://me:***@{}/", proxy.addr));
    assert!(!accounts.to_string().contains("hunter22secret"));

    // Through the API: the URL goes to the secret store, never the database.
    let (status, created) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(
                json!({"provider": "px", "name": "second", "apiKey": "k-second",
                "proxy": format!("http://me:another-pass-77@{}", proxy.addr)}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains("another-pass-77"));
    let db = router.db_bytes();
    assert!(!db.windows(15).any(|w| w == b"another-pass-77"));
    let id = created["id"].as_str().unwrap_or_default();
    let (status, bad) = router
        .api(
            Method::PATCH,
            &format!("/api/connections/{id}"),
            Some(json!({"proxy": "ftp://me:leaky-pass-99@proxy"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(!bad.to_string().contains("leaky-pass-99"), "{bad}");
    let (status, cleared) = router
        .api(
            Method::PATCH,
            &format!("/api/connections/{id}"),
            Some(json!({"proxy": null})),
        )
        .await;
    assert_eq!(status, 200);
    assert!(cleared.get("proxy").is_none(), "{cleared}");
    // Nor does the audit log keep them, refused or accepted.
    let db = router.db_bytes();
    for secret in ["another-pass-77", "leaky-pass-99", "hunter22secret"] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database"
        );
    }
}

#[tokio::test]
async fn an_accounts_socks5_proxy_connects_by_name() {
    let upstream = FakeUpstream::start(Script::default()).await;
    let socks = FakeSocks::start(upstream.addr).await;
    let config = format!(
        "{FAST_ROUTING}{}",
        node(
            "sx",
            "http://upstream.invalid/v1",
            Some(&format!("socks5h://user:sockspass@{}", socks.addr))
        )
    );
    let router = Router::start(&config).await;
    let (status, body) = ask(&router.base, "sx/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(socks.connects(), ["upstream.invalid:80"]);
    assert_eq!(
        socks.logins(),
        [("user".to_owned(), "sockspass".to_owned())]
    );
    assert_eq!(upstream.last().headers["host"], "upstream.invalid");
}

#[tokio::test]
async fn without_an_account_proxy_the_environments_proxy_and_no_proxy_apply() {
    let proxy = FakeUpstream::start(Script::default()).await;
    let direct = FakeUpstream::start(Script::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let toml = format!(
        "{FAST_ROUTING}{}{}",
        node("via", "http://upstream.invalid/v1", None),
        node("direct", &direct.openai_base(), None)
    );
    std::fs::write(&config, toml).expect("config");
    let mut command = serve_command(dir.path(), &config);
    command
        .env("HTTP_PROXY", format!("http://{}", proxy.addr))
        .env("NO_PROXY", "127.0.0.1");
    let (_child, base) = spawn_serving(command).await;

    let (status, body) = ask(&base, "via/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(proxy.last().headers["host"], "upstream.invalid");
    let (status, body) = ask(&base, "direct/gpt-4o").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(direct.seen().len(), 1);
    assert_eq!(
        proxy.seen().len(),
        1,
        "NO_PROXY kept the loopback call direct"
    );
}

#[tokio::test]
async fn a_proxy_that_cannot_be_reached_never_shows_its_password() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let config = format!(
        "{FAST_ROUTING}{}",
        node(
            "dx",
            "http://upstream.invalid/v1",
            Some(&format!("http://me:unreachable-pass-5@{closed}"))
        )
    );
    let router = Router::start(&config).await;
    let (status, body) = ask(&router.base, "dx/gpt-4o").await;
    assert!(status >= 500, "{status} {body}");
    assert!(!body.to_string().contains("unreachable-pass-5"), "{body}");
    let (_, status_view) = router.api(Method::GET, "/api/status", None).await;
    assert!(!status_view.to_string().contains("unreachable-pass-5"));
    router
        .wait_for("/api/usage/summary", |v| v["total"]["requests"] == 1)
        .await;
    let db = router.db_bytes();
    assert!(!db.windows(18).any(|w| w == b"unreachable-pass-5"));
}
