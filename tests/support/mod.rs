//! Shared test harness: the real engine on an ephemeral loopback port, and fake upstreams.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fake;
pub mod fake_chatgpt;
pub mod fake_claude;
pub mod fake_cursor;
pub mod fake_github;
pub mod fake_google;
pub mod fake_iflow;
pub mod fake_kiro;
pub mod fake_openai;
pub mod fake_qwen;
pub mod fake_socks;
pub mod fake_upstream;
pub mod postgres;

use std::path::PathBuf;
use std::time::Duration;

use ninerouter::engine::{Engine, EngineOptions};
use ninerouter::secrets::BackendChoice;
use serde_json::{Value, json};

#[allow(unused_imports)]
pub use fake_openai::{Behavior, FakeOpenAi};

pub struct Router {
    pub engine: Engine,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub options: EngineOptions,
    /// The admin session `api` sends, once `set_admin_password` made one.
    admin_session: std::sync::Mutex<Option<String>>,
}

/// Routing settings that keep timing tests short.
pub const FAST_ROUTING: &str = r#"
[routing]
first_byte_timeout_ms = 800
stream_idle_timeout_ms = 800
cooldown_base_ms = 200
cooldown_max_ms = 2000
"#;

impl Router {
    /// Starts the engine with `toml` as its config file, memory secrets, a fresh data dir.
    pub async fn start(toml: &str) -> Router {
        Self::start_with(toml, BackendChoice::Memory, "ninerouter-test").await
    }

    pub async fn start_with(toml: &str, secrets: BackendChoice, keychain_service: &str) -> Router {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, toml).expect("write config");
        let options = EngineOptions {
            host: Some("127.0.0.1".into()),
            port: Some(0),
            data_dir: dir.path().join("data"),
            config_file: Some(config),
            secrets,
            keychain_service: keychain_service.into(),
            home: Some(dir.path().join("home")),
            ..EngineOptions::default()
        };
        let engine = Engine::start(options.clone()).await.expect("engine starts");
        let base = format!("http://{}", engine.address());
        Router {
            engine,
            base,
            http: reqwest::Client::new(),
            dir,
            options,
            admin_session: std::sync::Mutex::default(),
        }
    }

    /// Stops the engine (draining) and starts it again on the same data dir.
    pub async fn restart(self) -> Router {
        let Router {
            engine,
            dir,
            options,
            http,
            ..
        } = self;
        engine.stop().await;
        let engine = Engine::start(options.clone())
            .await
            .expect("engine restarts");
        let base = format!("http://{}", engine.address());
        Router {
            engine,
            base,
            http,
            dir,
            options,
            admin_session: std::sync::Mutex::default(),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.options.data_dir.clone()
    }

    /// Polls the management API's `path` until `done` holds for its JSON (the recorder writes
    /// in batches).
    pub async fn wait_for(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let (status, v) = self.api(reqwest::Method::GET, path, None).await;
            if status == 200 && done(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "{path} never reached the expected state: {:?}",
            self.api(reqwest::Method::GET, path, None).await
        );
    }

    /// Sets the dashboard password; `api` then sends the session that came back.
    pub async fn set_admin_password(&self, password: &str) {
        let (status, body) = self
            .api(
                reqwest::Method::PUT,
                "/api/admin/password",
                Some(json!({ "password": password })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let r = self
            .http
            .post(self.url("/api/auth/login"))
            .json(&json!({ "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 204);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let pair = cookie.split(';').next().unwrap().to_owned();
        *self.admin_session.lock().unwrap() = Some(pair);
    }

    /// The database as it is on disk: the file and its write-ahead log.
    pub fn db_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for name in ["ninerouter.db", "ninerouter.db-wal"] {
            if let Ok(b) = std::fs::read(self.data_dir().join(name)) {
                all.extend(b);
            }
        }
        all
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/chat/completions"))
            .bearer_auth("sk-anything")
            .json(&body)
            .send()
            .await
            .expect("request reaches the router")
    }

    /// A chat request for `model`; returns its status, the account that served it, the response.
    async fn send_prompt(
        &self,
        model: &str,
        stream: bool,
    ) -> (u16, Option<String>, reqwest::Response) {
        let r = self
            .chat(json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        let account = r
            .headers()
            .get("x-ninerouter-account")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (r.status().as_u16(), account, r)
    }

    /// Non-streaming: status, serving account, body JSON.
    pub async fn ask(&self, model: &str) -> (u16, Option<String>, Value) {
        let (status, account, r) = self.send_prompt(model, false).await;
        (
            status,
            account,
            r.json::<Value>().await.unwrap_or(Value::Null),
        )
    }

    /// Streaming: status, serving account, the whole SSE body.
    pub async fn ask_streaming(&self, model: &str) -> (u16, Option<String>, String) {
        let (status, account, r) = self.send_prompt(model, true).await;
        (status, account, r.text().await.unwrap_or_default())
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(cookie) = self.admin_session.lock().unwrap().clone() {
            req = req.header("cookie", cookie);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("api request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A config with one OpenAI-compatible node per (prefix, fake, keys...) and extra TOML.
pub fn node_config(nodes: &[(&str, &FakeOpenAi, &[&str])], extra: &str) -> String {
    let mut out = String::from(FAST_ROUTING);
    let mut priority = 1;
    for (prefix, fake, keys) in nodes {
        for key in *keys {
            out.push_str(&format!(
                "\n[[provider]]\nprovider = \"openai-compatible\"\nname = \"{key}\"\nprefix = \"{prefix}\"\nbase_url = \"{}\"\napi_key = \"{key}\"\npriority = {priority}\n",
                fake.base_url()
            ));
            priority += 1;
        }
    }
    out.push_str(extra);
    out
}

/// Serves `app` on an ephemeral loopback port for the rest of the test; returns the address.
pub async fn serve_on_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Splits an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// Starts the real `ninerouter` binary as `command` sets it up (args, env) and waits until it
/// listens; returns the child (killed on drop) and its base URL.
pub async fn spawn_serving(
    mut command: tokio::process::Command,
) -> (tokio::process::Child, String) {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let base = read_base_url(&mut child).await;
    (child, base)
}

pub fn binary() -> tokio::process::Command {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ninerouter"))
}

/// `ninerouter serve` on a free loopback port with `config`, its data in `dir/data` and
/// secrets in memory.
pub fn serve_command(dir: &std::path::Path, config: &std::path::Path) -> tokio::process::Command {
    let mut command = binary();
    command
        .arg("serve")
        .env("NINEROUTER_PORT", "0")
        .env("NINEROUTER_HOST", "127.0.0.1")
        .env("NINEROUTER_DATA_DIR", dir.join("data"))
        .env("NINEROUTER_CONFIG", config)
        .env("NINEROUTER_SECRETS", "memory");
    command
}

/// Gives a command a home of its own and `bin` as its whole `PATH`.
pub fn isolate(
    command: &mut tokio::process::Command,
    home: &std::path::Path,
    bin: &std::path::Path,
) {
    command.env("HOME", home).env("PATH", bin);
    // The variables the router reads to find tools and other routers: not the runner's own.
    for v in ninerouter::setup::home::VARS {
        command.env_remove(v);
    }
}

/// The binary prints `NineRouter listening on http://ADDR` once it accepts connections.
async fn read_base_url(child: &mut tokio::process::Child) -> String {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the binary starts in time")
        .expect("stdout readable")
        .expect("a line on stdout");
    assert!(
        line.starts_with("NineRouter listening on http://"),
        "{line}"
    );
    line.rsplit(' ').next().unwrap_or_default().to_owned()
}

/// Real client request captures (`tests/fixtures/client-requests/`).
pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/client-requests"
);

/// The captures in one file, a JSON value per line.
pub fn fixture(name: &str) -> Vec<Value> {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .expect("fixture")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect()
}

pub fn posts(name: &str) -> Vec<Value> {
    fixture(name)
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect()
}

/// Replays a captured request against the router with `model` as its target.
pub async fn replay(router: &Router, capture: &Value, model: &str) -> reqwest::Response {
    let path = capture["path"].as_str().unwrap();
    let mut body = capture["body"].clone();
    let path = if path.starts_with("/v1beta/models/") {
        let action = path.rsplit(':').next().unwrap();
        format!("/v1beta/models/{model}:{action}")
    } else {
        body["model"] = model.into();
        path.to_owned()
    };
    let query: Vec<(String, String)> = capture["query"]
        .as_object()
        .map(|q| {
            q.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut url = url::Url::parse(&router.url(&path)).unwrap();
    for (k, v) in &query {
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut req = router.http.post(url).json(&body);
    for (k, v) in capture["headers"].as_object().unwrap() {
        if matches!(k.as_str(), "host" | "content-length" | "accept-encoding") {
            continue;
        }
        req = req.header(k, v.as_str().unwrap());
    }
    req.send().await.expect("router answers")
}
