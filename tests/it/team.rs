//! Several router hosts on one PostgreSQL store (a real server the suite starts, see
//! `support/postgres.rs`): what one host is told or learns holds on the others, secrets are
//! sealed with the master key, and a host's death loses nothing committed.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::fake_claude::{EMAIL, FakeClaude};
use crate::support::fake_openai::{Behavior, FakeOpenAi};
use crate::support::postgres::Postgres;
use crate::support::{serve_command, spawn_serving};

const MASTER_KEY: &str = "team-master-key-0123456789-abcdefghijklmnop";

/// How long a change made on one host may take to hold on another.
const PROPAGATION: Duration = Duration::from_secs(2);

struct Host {
    _child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
    /// The dashboard session cookie, once logged in.
    session: std::sync::Mutex<Option<String>>,
    _dir: tempfile::TempDir,
}

impl Host {
    async fn start(store: &str) -> Host {
        Host::start_with(store, "").await
    }

    async fn start_with(store: &str, toml: &str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, toml).unwrap();
        let mut command = serve_command(dir.path(), &config);
        command
            .env("NINEROUTER_STORE", store)
            .env("NINEROUTER_STORE_CA_FILE", ca_file())
            .env("NINEROUTER_MASTER_KEY", MASTER_KEY);
        let (child, base) = spawn_serving(command).await;
        Host {
            _child: child,
            base,
            http: reqwest::Client::new(),
            session: std::sync::Mutex::new(None),
            _dir: dir,
        }
    }

    async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = self.session.lock().unwrap().clone() {
            req = req.header("cookie", cookie);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, password: &str) {
        let r = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({ "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "login on {}", self.base);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        *self.session.lock().unwrap() = cookie.split(';').next().map(str::to_owned);
    }

    async fn send_chat(&self, model: &str, key: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/v1/chat/completions", self.base))
            .bearer_auth(key)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
    }

    /// A chat request for `model`; the status and what the router said.
    async fn chat(&self, model: &str) -> (u16, String) {
        let r = self.send_chat(model, "any").await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A chat request for `model` with proxy key `key`; the status (0: no answer, the host
    /// is gone) and the account used.
    async fn ask(&self, model: &str, key: &str) -> (u16, Option<String>) {
        let sent = self.send_chat(model, key).await;
        let Ok(r) = sent else {
            return (0, None);
        };
        let account = r
            .headers()
            .get("x-ninerouter-account")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (r.status().as_u16(), account)
    }

    /// `n` requests at once.
    async fn load(&self, model: &str, n: usize) -> Vec<(u16, Option<String>)> {
        futures_util::future::join_all((0..n).map(|_| self.ask(model, "any"))).await
    }

    /// Waits until `check` holds for what `path` answers; panics after `within`.
    async fn wait_for(
        &self,
        path: &str,
        within: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (_, v) = self.api(Method::GET, path, None).await;
            if check(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{path} never matched: {v}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The certificate the suite's PostgreSQL presents (the server is started by `database()`,
/// off the async runtime, before any host).
fn ca_file() -> std::path::PathBuf {
    POSTGRES_CA
        .get()
        .cloned()
        .expect("database() starts PostgreSQL first")
}

static POSTGRES_CA: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

async fn database() -> String {
    tokio::task::spawn_blocking(|| {
        let server = Postgres::shared();
        let _ = POSTGRES_CA.set(server.ca_file.clone());
        server.database()
    })
    .await
    .unwrap()
}

/// Two hosts on `url`, an OpenAI account named `main` with `key` made on the first and known
/// to the second; both hosts read `toml` as their config file.
async fn two_hosts_with_one_account(
    url: &str,
    toml: &str,
    key: &str,
    base_url: &str,
) -> (Host, Host) {
    let (a, b) = tokio::join!(Host::start_with(url, toml), Host::start_with(url, toml));
    let body = json!({"provider": "oa", "name": "main", "apiKey": key, "baseUrl": base_url});
    assert_eq!(
        a.api(Method::POST, "/api/connections", Some(body)).await.0,
        201
    );
    b.wait_for("/api/connections", PROPAGATION, |v| {
        account_state(v, "main").as_deref() == Some("active")
    })
    .await;
    (a, b)
}

fn account_state(list: &Value, name: &str) -> Option<String> {
    list.as_array()?
        .iter()
        .find(|a| a["name"] == name)
        .and_then(|a| a["state"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn hosts_on_one_postgres_store_share_config_keys_cooldowns_and_usage() {
    let fake = FakeOpenAi::start().await;
    fake.script("sk-team-a", [Behavior::rate_limited(60)]);
    let url = database().await;
    let (a, b) = tokio::join!(Host::start(&url), Host::start(&url));

    // Told to host A: two accounts, a proxy key, keys required.
    for (name, key) in [("first", "sk-team-a"), ("second", "sk-team-b")] {
        let body = json!({"provider": "oa", "name": name, "apiKey": key,
            "baseUrl": fake.base_url(), "priority": if name == "first" { 1 } else { 2 }});
        let (status, created) = a.api(Method::POST, "/api/connections", Some(body)).await;
        assert_eq!(status, 201, "{created}");
    }
    let (status, key) = a
        .api(Method::POST, "/api/keys", Some(json!({"name": "team"})))
        .await;
    assert_eq!(status, 201, "{key}");
    let proxy_key = key["key"].as_str().unwrap().to_owned();
    // The dashboard password is the team's: set on A, it opens B too.
    let (status, body) = a
        .api(
            Method::PUT,
            "/api/admin/password",
            Some(json!({"password": "team-password"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // One login holds on every host (behind a load balancer, the next call may go to B).
    a.login("team-password").await;
    let cookie = a.session.lock().unwrap().clone();
    *b.session.lock().unwrap() = cookie;
    let (status, body) = a
        .api(
            Method::PATCH,
            "/api/settings",
            Some(json!({"requireApiKey": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Holds on host B within the bound, secrets included.
    b.wait_for("/api/connections", PROPAGATION, |v| {
        account_state(v, "second").as_deref() == Some("active")
    })
    .await;
    b.wait_for("/api/settings", PROPAGATION, |v| v["requireApiKey"] == true)
        .await;
    assert_eq!(b.ask("openai/gpt-4o", "not-a-key").await.0, 401);

    // Host A meets the rate limit on the first account and falls back.
    let (status, account) = a.ask("openai/gpt-4o", &proxy_key).await;
    assert_eq!(status, 200);
    assert_ne!(account, None);
    assert_eq!(fake.count("sk-team-a"), 1);
    // Host B learns it and does not try the first account at all.
    b.wait_for("/api/connections", PROPAGATION, |v| {
        account_state(v, "first").as_deref() == Some("cooling-down")
    })
    .await;
    let (status, _) = b.ask("openai/gpt-4o", &proxy_key).await;
    assert_eq!(status, 200);
    assert_eq!(
        fake.count("sk-team-a"),
        1,
        "B never sent to the cooling account"
    );
    assert_eq!(fake.count("sk-team-b"), 2);

    // Usage of both hosts is seen on either: one request each (the refused one is not a
    // routed request).
    for host in [&a, &b] {
        host.wait_for(
            "/api/usage/summary?by=provider",
            Duration::from_secs(5),
            |v| v["total"]["requests"].as_i64() == Some(2),
        )
        .await;
    }

    // An admin token made with the CLI on the shared store opens every host's API.
    let out = crate::support::binary()
        .args(["admin", "create-token", "ci", "--store", &url])
        .env("NINEROUTER_STORE_CA_FILE", ca_file())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    for host in [&a, &b] {
        let r = host
            .http
            .get(format!("{}/api/connections", host.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = host
            .http
            .get(format!("{}/api/connections", host.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "admin access is required");
    }

    // Logging out on A ends the session on B too.
    let (status, _) = b.api(Method::GET, "/api/connections", None).await;
    assert_eq!(status, 200);
    let cookie = a.session.lock().unwrap().clone().unwrap();
    let r = a
        .http
        .post(format!("{}/api/auth/logout", a.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    b.wait_for("/api/status", PROPAGATION, |v| {
        v["error"]["code"].is_string()
    })
    .await;

    // The database holds no secret: not the provider keys, not the proxy key.
    let dump = tokio::task::spawn_blocking({
        let url = url.clone();
        move || Postgres::shared().dump(&url)
    })
    .await
    .unwrap();
    assert!(
        dump.contains("ninerouter_notify"),
        "the dump is of the store"
    );
    for secret in ["sk-team-a", "sk-team-b", proxy_key.as_str()] {
        assert!(!dump.contains(secret), "{secret} is in pg_dump's output");
    }
}

/// `ninerouter serve` on `store` with `key` as the master key (none if `None`); what it says
/// when it refuses to start.
async fn refused_start(store: &str, key: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let mut command = serve_command(dir.path(), &config);
    command
        .env("NINEROUTER_STORE", store)
        .env("NINEROUTER_STORE_CA_FILE", ca_file())
        .env_remove("NINEROUTER_MASTER_KEY");
    if let Some(key) = key {
        command.env("NINEROUTER_MASTER_KEY", key);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("it stops by itself")
        .unwrap();
    assert!(!out.status.success(), "it started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_host_without_the_master_key_the_store_was_sealed_with_refuses_to_start() {
    let url = database().await;
    let host = Host::start(&url).await;
    let body = json!({"provider": "oa", "name": "x", "apiKey": "sk-sealed", "baseUrl": "http://127.0.0.1:9/v1"});
    assert_eq!(
        host.api(Method::POST, "/api/connections", Some(body))
            .await
            .0,
        201
    );

    let wrong = refused_start(&url, Some("another-master-key-0123456789-abcdefghij")).await;
    assert!(
        wrong.contains("does not open the database's secrets"),
        "{wrong}"
    );
    let missing = refused_start(&url, None).await;
    assert!(missing.contains("NINEROUTER_MASTER_KEY"), "{missing}");
    let short = refused_start(&url, Some("short")).await;
    assert!(short.contains("at least 32"), "{short}");
    let elsewhere = refused_start("mysql://127.0.0.1/x", Some(MASTER_KEY)).await;
    assert!(elsewhere.contains("postgres://"), "{elsewhere}");
    // Nothing of the password-bearing address is printed.
    let bad = refused_start(
        "postgres://u:hunter2-secret@127.0.0.1:1/db",
        Some(MASTER_KEY),
    )
    .await;
    assert!(!bad.contains("hunter2-secret"), "{bad}");

    // The first host still reads its secret.
    let (_, list) = host.api(Method::GET, "/api/connections", None).await;
    assert_eq!(
        account_state(&list, "x").as_deref(),
        Some("active"),
        "{list}"
    );
}

/// Runs `sql` on the server's own database as the superuser.
async fn as_superuser(sql: String) {
    tokio::task::spawn_blocking(move || {
        let mut admin = Postgres::shared().connect("postgres").unwrap();
        admin.batch_execute(&sql).unwrap();
    })
    .await
    .unwrap();
}

fn database_name(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_host_that_loses_the_store_keeps_routing_and_saves_the_usage_once_it_is_back() {
    let fake = FakeOpenAi::start().await;
    let url = database().await;
    let host = Host::start(&url).await;
    let body = json!({"provider": "oa", "name": "main", "apiKey": "sk-lost",
        "baseUrl": fake.base_url()});
    assert_eq!(
        host.api(Method::POST, "/api/connections", Some(body))
            .await
            .0,
        201
    );
    let (_, status) = host.api(Method::GET, "/api/status", None).await;
    assert_eq!(
        status["store"],
        json!({"kind": "postgres", "reachable": true, "waiting": 0})
    );

    // The database goes away: its connections are cut and new ones refused.
    let db = database_name(&url);
    as_superuser(format!(
        "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';"
    ))
    .await;
    for _ in 0..5 {
        assert_eq!(
            host.ask("openai/gpt-4o", "any").await.0,
            200,
            "routing goes on"
        );
    }
    host.wait_for("/api/status", Duration::from_secs(10), |s| {
        s["store"]["reachable"] == false && s["store"]["waiting"].as_u64() >= Some(5)
    })
    .await;

    // Back: the waiting usage is saved, once.
    as_superuser(format!("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true")).await;
    host.wait_for("/api/status", Duration::from_secs(10), |s| {
        s["store"]["reachable"] == true && s["store"]["waiting"] == 0
    })
    .await;
    let summary = host
        .wait_for(
            "/api/usage/summary?by=provider",
            Duration::from_secs(5),
            |v| v["total"]["requests"].as_i64() >= Some(5),
        )
        .await;
    assert_eq!(summary["total"]["requests"], 5, "{summary}");
}

#[tokio::test]
async fn killing_one_host_under_load_leaves_the_others_serving_and_loses_nothing_committed() {
    let fake = FakeOpenAi::start().await;
    let url = database().await;
    let (a, b) = two_hosts_with_one_account(&url, "", "sk-load", &fake.base_url()).await;

    // Load on both hosts; A's answers are committed before it dies.
    let answered_by_a = a.load("openai/gpt-4o", 40).await;
    assert!(answered_by_a.iter().all(|(s, _)| *s == 200));
    a.wait_for(
        "/api/usage/summary?by=provider",
        Duration::from_secs(5),
        |v| v["total"]["requests"].as_i64() >= Some(40),
    )
    .await;

    // A dies (kill -9) with requests of its own in flight; B serves every request meanwhile.
    let pid = a._child.id().unwrap().to_string();
    let (_, answered_by_b, ()) = tokio::join!(
        a.load("openai/gpt-4o", 20),
        b.load("openai/gpt-4o", 40),
        async {
            tokio::task::yield_now().await;
            let killed = std::process::Command::new("kill")
                .args(["-9", &pid])
                .status()
                .unwrap();
            assert!(killed.success());
        }
    );
    assert!(answered_by_b.iter().all(|(s, _)| *s == 200));
    let more = b.load("openai/gpt-4o", 20).await;
    assert!(more.iter().all(|(s, _)| *s == 200));

    let summary = b
        .wait_for(
            "/api/usage/summary?by=provider",
            Duration::from_secs(5),
            |v| v["total"]["requests"].as_i64() >= Some(100),
        )
        .await;
    // A's 40 committed and B's 60, and at most the 20 A was serving when it died.
    let total = summary["total"]["requests"].as_i64().unwrap_or(0);
    assert!((100..=120).contains(&total), "{summary}");
}

fn query_param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_login_is_refreshed_by_one_host_at_a_time_and_every_host_uses_the_new_token() {
    let claude = FakeClaude::start().await;
    // A refresh spends the old refresh token at once and answers later: a second host
    // refreshing meanwhile with the same token would be refused, and lose the login.
    claude.slow_refreshes(400);
    let url = database().await;
    let config = claude.config();
    let (a, b) = tokio::join!(
        Host::start_with(&url, &config),
        Host::start_with(&url, &config)
    );

    // Logged in once, on A.
    let (status, started) = a.api(Method::POST, "/api/oauth/cc/start", None).await;
    assert_eq!(status, 202, "{started}");
    let authorize = started["authorizeUrl"].as_str().unwrap();
    let code = claude.approve(&query_param(authorize, "code_challenge"));
    let pasted = format!(
        "https://console.anthropic.com/oauth/code/callback?code={code}&state={}",
        query_param(authorize, "state")
    );
    let id = started["loginId"].as_str().unwrap();
    let (status, done) = a
        .api(
            Method::POST,
            &format!("/api/oauth/cc/{id}/complete"),
            Some(json!({ "code": pasted })),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    b.wait_for("/api/connections", PROPAGATION, |v| {
        account_state(v, EMAIL).as_deref() == Some("active")
    })
    .await;
    for host in [&a, &b] {
        assert_eq!(host.ask("cc/claude-sonnet-4-5", "any").await.0, 200);
    }

    // The access token expires while both hosts are busy: one refresh, and both go on.
    claude.expire_access();
    let (on_a, on_b) = tokio::join!(
        a.load("cc/claude-sonnet-4-5", 3),
        b.load("cc/claude-sonnet-4-5", 3)
    );
    assert!(
        on_a.iter().chain(&on_b).all(|(s, _)| *s == 200),
        "{on_a:?} {on_b:?}"
    );
    assert_eq!(
        claude.refreshes(),
        1,
        "one host refreshed, the other used its token"
    );
    for host in [&a, &b] {
        assert_eq!(host.ask("cc/claude-sonnet-4-5", "any").await.0, 200);
        let (_, list) = host.api(Method::GET, "/api/connections", None).await;
        assert_eq!(
            account_state(&list, EMAIL).as_deref(),
            Some("active"),
            "{list}"
        );
    }
    assert_eq!(claude.refreshes(), 1);
    assert_eq!(
        claude.last_message().map(|m| m.0).as_deref(),
        Some("Bearer claude-access-2")
    );
}

#[tokio::test]
async fn an_endpoint_one_host_found_down_is_left_alone_by_the_others() {
    let fake = FakeOpenAi::start().await;
    fake.always("sk-down", Behavior::status(503));
    let url = database().await;
    let (a, b) = two_hosts_with_one_account(&url, "", "sk-down", &fake.base_url()).await;

    // Host A meets the endpoint down often enough to open its circuit.
    for _ in 0..3 {
        let (status, said) = a.chat("openai/gpt-4o").await;
        assert!(status >= 500, "{status} {said}");
        let (_, status) = a.api(Method::GET, "/api/status", None).await;
        if status["circuits"][0]["state"] == "open" {
            break;
        }
        // The account rests after a failure; the endpoint is what is being tested here.
        let (_, list) = a.api(Method::GET, "/api/connections", None).await;
        let id = list[0]["id"].as_str().unwrap().to_owned();
        a.api(Method::POST, &format!("/api/connections/{id}/reset"), None)
            .await;
    }
    let sent = fake.count("sk-down");
    b.wait_for("/api/status", PROPAGATION, |s| {
        s["circuits"][0]["state"] == "open"
    })
    .await;
    // With the account's own rest cleared (A's cooldowns reach B too, maybe after the reset),
    // B refuses because the endpoint is down.
    let (_, list) = b.api(Method::GET, "/api/connections", None).await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + PROPAGATION;
    loop {
        b.api(Method::POST, &format!("/api/connections/{id}/reset"), None)
            .await;
        let (_, said) = b.chat("openai/gpt-4o").await;
        if said.contains("is down") {
            break;
        }
        assert!(Instant::now() < deadline, "{said}");
    }
    assert_eq!(
        fake.count("sk-down"),
        sent,
        "B sent nothing to the endpoint A found down"
    );
}

#[tokio::test]
async fn the_store_is_reached_over_tls_and_an_untrusted_certificate_is_refused() {
    let url = database().await;
    let host = Host::start(&format!("{url}?sslmode=require")).await;
    let (status, _) = host.api(Method::GET, "/api/status", None).await;
    assert_eq!(status, 200);
    // Every connection of the router to its database is encrypted.
    let db = database_name(&url);
    let (tls, all): (i64, i64) = tokio::task::spawn_blocking(move || {
        let mut admin = Postgres::shared().connect("postgres").unwrap();
        let row = admin
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FROM pg_stat_activity a
                 JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                &[&db],
            )
            .unwrap();
        (row.get(0), row.get(1))
    })
    .await
    .unwrap();
    assert!(all > 0 && tls == all, "{tls} of {all} connections use TLS");

    // A server whose certificate no trusted authority signed is not talked to.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let mut command = serve_command(dir.path(), &config);
    command
        .env("NINEROUTER_STORE", format!("{url}?sslmode=require"))
        .env("NINEROUTER_MASTER_KEY", MASTER_KEY)
        .env_remove("NINEROUTER_STORE_CA_FILE");
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("certificate"), "{said}");
}

#[test]
fn the_team_server_example_config_is_one_the_router_reads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/team/config.toml");
    let config = ninerouter::config::FileConfig::load(&path).unwrap();
    assert_eq!(config.server.host.as_deref(), Some("0.0.0.0"));
    assert_eq!(config.server.allowed_hosts, ["router.example.com"]);
}

#[tokio::test]
async fn an_account_one_host_found_used_up_is_skipped_by_the_others() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    let fake = FakeUpstream::start(Script::minute_used_up()).await;
    let url = database().await;
    let (a, b) = tokio::join!(Host::start(&url), Host::start(&url));
    let mut ids = Vec::new();
    for (name, priority) in [("first", 1), ("second", 2)] {
        let body = json!({"provider": "oa", "name": name, "apiKey": format!("sk-{name}"),
            "baseUrl": fake.openai_base(), "priority": priority});
        let (status, created) = a.api(Method::POST, "/api/connections", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    b.wait_for("/api/connections", PROPAGATION, |v| {
        account_state(v, "second").as_deref() == Some("active")
    })
    .await;

    // A learns the first account is used up until its reset.
    let (status, served) = a.ask("openai/gpt-4o", "any").await;
    assert_eq!((status, served.as_deref()), (200, Some(ids[0].as_str())));
    b.wait_for(&format!("/api/quota/{}", ids[0]), PROPAGATION, |q| {
        q["windows"].as_array().is_some_and(|w| !w.is_empty())
    })
    .await;
    // B serves with the second without asking the first.
    let (status, served) = b.ask("openai/gpt-4o", "any").await;
    assert_eq!((status, served.as_deref()), (200, Some(ids[1].as_str())));
    assert_eq!(
        fake.seen().len(),
        2,
        "nothing was sent to the used-up account"
    );
}

#[tokio::test]
async fn the_inspectors_limit_holds_for_the_shared_table_not_each_hosts_share() {
    let fake = FakeOpenAi::start().await;
    let url = database().await;
    let toml = "[observability]\ninspector_max_requests = 5\ninspector_max_bytes = 6000\ninspector_max_field_bytes = 2000\n";
    let (a, b) = two_hosts_with_one_account(&url, toml, "sk-i", &fake.base_url()).await;
    for _ in 0..6 {
        assert_eq!(a.ask("openai/gpt-4o", "any").await.0, 200);
        assert_eq!(b.ask("openai/gpt-4o", "any").await.0, 200);
    }
    assert_eq!(b.ask("openai/the-last", "any").await.0, 200);
    a.wait_for(
        "/api/usage/request-details?pageSize=50",
        Duration::from_secs(5),
        |v| {
            let listed = v["details"].as_array().cloned().unwrap_or_default();
            listed
                .iter()
                .any(|d| d["requestedModel"] == "openai/the-last")
                && v["pagination"]["totalItems"].as_u64() <= Some(5)
        },
    )
    .await;
    // And the byte budget, read from the table itself.
    let db = database_name(&url);
    let (rows, bytes): (i64, i64) = tokio::task::spawn_blocking(move || {
        let mut c = Postgres::shared().connect(&db).unwrap();
        let row = c
            .query_one(
                "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM request_details",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    })
    .await
    .unwrap();
    assert!(rows >= 1 && bytes <= 6000, "{rows} requests, {bytes} bytes");
}
