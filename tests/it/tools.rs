//! `ninerouter tools` and `/api/tools` end to end: the real binary with a throw-away home,
//! each tool's files written, then read back the way the tool reads them and used for a real
//! request (the client captures) with nothing else in the environment; restore puts the
//! user's files back byte for byte; hostile input changes nothing.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{
    FakeOpenAi, binary, fixture, isolate, node_config, serve_command, spawn_serving,
};

struct Setup {
    _dir: tempfile::TempDir,
    home: PathBuf,
    base: String,
    /// Keys are required, so managing the router takes an admin token.
    token: String,
    http: reqwest::Client,
    fake: FakeOpenAi,
    _child: tokio::process::Child,
}

/// The router with keys required, a combo `work` active, `claude` and `codex` "installed".
async fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    for b in ["claude", "codex"] {
        std::fs::write(bin.join(b), "#!/bin/sh\n").unwrap();
    }
    let fake = FakeOpenAi::start().await;
    let extra = "\n[server]\nrequire_api_key = true\n\n[[combo]]\nname = \"work\"\nmodels = [\"fk/gpt-4o-mini\"]\n\n[aliases]\ndefault = \"work\"\n";
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        node_config(&[("fk", &fake, &["upstream-key"])], extra),
    )
    .unwrap();
    let made = binary()
        .args(["admin", "create-token", "tools-test"])
        .env("NINEROUTER_DATA_DIR", dir.path().join("data"))
        .output()
        .await
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let mut command = serve_command(dir.path(), &config);
    isolate(&mut command, &home, &bin);
    let (child, base) = spawn_serving(command).await;
    Setup {
        _dir: dir,
        home,
        base,
        token,
        http: reqwest::Client::new(),
        fake,
        _child: child,
    }
}

impl Setup {
    async fn cli(&self, args: &[&str]) -> (bool, String) {
        let mut command = binary();
        command
            .arg("tools")
            .args(args)
            .env("NINEROUTER_URL", &self.base)
            .env("NINEROUTER_ADMIN_TOKEN", &self.token);
        isolate(&mut command, &self.home, Path::new("/nonexistent"));
        let out = command.output().await.unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn api(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn keys(&self) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/api/keys", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.home.join(rel)).unwrap()
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.read(rel)).unwrap()
    }
}

/// Sends a capture as the tool would, to the URL and with the key its files name.
async fn send_capture(
    http: &reqwest::Client,
    file: &str,
    url: String,
    auth: (&str, String),
    model: &str,
) -> reqwest::Response {
    let capture = fixture(file)
        .into_iter()
        .rfind(|r| r["method"] == "POST")
        .unwrap();
    let mut body = capture["body"].clone();
    if body.get("model").is_some() {
        body["model"] = model.into();
    }
    let mut request = http.post(url).json(&body);
    for (k, v) in capture["headers"].as_object().unwrap() {
        let skip = [
            "host",
            "content-length",
            "accept-encoding",
            "authorization",
            "x-api-key",
            "x-goog-api-key",
        ];
        if !skip.contains(&k.as_str()) {
            request = request.header(k, v.as_str().unwrap());
        }
    }
    request.header(auth.0, auth.1).send().await.unwrap()
}

/// A dotenv file's value, the way Gemini CLI's loader reads it.
fn dotenv(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tool_set_up_by_the_router_reaches_it_with_nothing_in_its_environment() {
    let s = start().await;
    // The user's own settings, which must survive apply and come back byte for byte.
    let original = "{\n  \"permissions\": {\"allow\": [\"Bash(ls)\"]},\n  \"env\": {\"DISABLE_TELEMETRY\": \"1\"}\n}\n";
    std::fs::create_dir_all(s.home.join(".claude")).unwrap();
    std::fs::write(s.home.join(".claude/settings.json"), original).unwrap();

    let (ok, listed) = s.cli(&[]).await;
    assert!(ok, "{listed}");
    assert!(
        listed.contains("claude-code") && listed.contains("installed, not configured"),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("droid") && l.contains("not installed")),
        "{listed}"
    );

    let (ok, out) = s.cli(&["apply", "claude-code"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("+    \"ANTHROPIC_BASE_URL\""),
        "the diff is shown first: {out}"
    );
    assert!(out.contains("Claude Code now uses NineRouter"), "{out}");
    assert!(
        s.keys().await.iter().any(|k| k["name"] == "Claude Code"),
        "a key named after the tool"
    );

    // Claude Code: the env block of settings.json, and onboarding marked done.
    let settings = s.json(".claude/settings.json");
    let env = &settings["env"];
    assert_eq!(settings["permissions"]["allow"][0], "Bash(ls)");
    assert_eq!(env["DISABLE_TELEMETRY"], "1");
    assert_eq!(s.json(".claude.json")["hasCompletedOnboarding"], true);
    let r = send_capture(
        &s.http,
        "claude-code.jsonl",
        format!(
            "{}/v1/messages?beta=true",
            env["ANTHROPIC_BASE_URL"].as_str().unwrap()
        ),
        (
            "authorization",
            format!("Bearer {}", env["ANTHROPIC_AUTH_TOKEN"].as_str().unwrap()),
        ),
        env["ANTHROPIC_MODEL"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(env["ANTHROPIC_MODEL"], "work");

    // The others through the API (the Tools page's path).
    for tool in [
        "codex",
        "gemini-cli",
        "opencode",
        "droid",
        "openclaw",
        "continue",
    ] {
        let (status, body) = s.api(&format!("/api/tools/{tool}/apply"), json!({})).await;
        assert_eq!(status, 200, "{tool}: {body}");
        assert_eq!(body["tool"]["state"], "configured", "{tool}: {body}");
    }

    // Codex: config.toml as Codex parses it; Responses at base_url, the bearer token from the
    // provider entry.
    let codex: toml::Table = toml::from_str(&s.read(".codex/config.toml")).unwrap();
    let provider = &codex["model_providers"][codex["model_provider"].as_str().unwrap()];
    assert_eq!(provider["wire_api"].as_str(), Some("responses"));
    assert!(
        provider.get("env_key").is_none(),
        "no environment variable needed"
    );
    let r = send_capture(
        &s.http,
        "codex.jsonl",
        format!("{}/responses", provider["base_url"].as_str().unwrap()),
        (
            "authorization",
            format!(
                "Bearer {}",
                provider["experimental_bearer_token"].as_str().unwrap()
            ),
        ),
        codex["model"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Gemini CLI: .env and the API-key sign-in in settings.json.
    let env = s.read(".gemini/.env");
    assert_eq!(
        s.json(".gemini/settings.json")["security"]["auth"]["selectedType"],
        "gemini-api-key"
    );
    let r = send_capture(
        &s.http,
        "gemini-cli.jsonl",
        format!(
            "{}/v1beta/models/work:streamGenerateContent?alt=sse",
            dotenv(&env, "GOOGLE_GEMINI_BASE_URL")
        ),
        ("x-goog-api-key", dotenv(&env, "GEMINI_API_KEY")),
        "work",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // The Chat Completions tools: base URL, key and model from each one's own file.
    let opencode = s.json(".config/opencode/opencode.json");
    let (p, m) = opencode["model"].as_str().unwrap().split_once('/').unwrap();
    let droid = s.json(".factory/settings.json");
    let openclaw = s.json(".openclaw/openclaw.json");
    let (cp, cm) = openclaw["agents"]["defaults"]["model"]["primary"]
        .as_str()
        .unwrap()
        .split_once('/')
        .unwrap();
    let cont: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&s.read(".continue/config.yaml")).unwrap();
    let chats = [
        (
            opencode["provider"][p]["options"]["baseURL"].clone(),
            opencode["provider"][p]["options"]["apiKey"].clone(),
            m.to_owned(),
        ),
        (
            droid["customModels"][0]["baseUrl"].clone(),
            droid["customModels"][0]["apiKey"].clone(),
            droid["customModels"][0]["model"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        (
            openclaw["models"]["providers"][cp]["baseUrl"].clone(),
            openclaw["models"]["providers"][cp]["apiKey"].clone(),
            cm.to_owned(),
        ),
        (
            json!(cont["models"][0]["apiBase"].as_str()),
            json!(cont["models"][0]["apiKey"].as_str()),
            cont["models"][0]["model"].as_str().unwrap().to_owned(),
        ),
    ];
    for (url, key, model) in chats {
        let r = s
            .http
            .post(format!("{}/chat/completions", url.as_str().unwrap()))
            .bearer_auth(key.as_str().unwrap())
            .json(&json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{url}: {}", r.text().await.unwrap());
    }
    assert_eq!(
        s.fake.seen().len(),
        7,
        "every tool's request reached the provider"
    );
    // One key per tool, and a second apply reuses the key the tool already holds.
    let before = s.keys().await.len();
    assert_eq!(before, 7);
    let (status, _) = s
        .api("/api/tools/codex/apply", json!({ "model": "fk/gpt-4o" }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.keys().await.len(), before);

    // Restore: the user's file byte for byte; files NineRouter created are gone.
    let (ok, out) = s.cli(&["restore", "claude-code"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("revoked the key 'Claude Code'"), "{out}");
    assert_eq!(s.read(".claude/settings.json"), original);
    assert!(!s.home.join(".claude.json").exists());
    // The key made for it went with the setup; Codex's, made and then kept by a second
    // apply, goes with Codex's restore below.
    assert!(!s.keys().await.iter().any(|k| k["name"] == "Claude Code"));
    let (ok, out) = s.cli(&["restore", "codex"]).await;
    assert!(ok, "{out}");
    assert!(!s.home.join(".codex").exists());
    assert!(!s.keys().await.iter().any(|k| k["name"] == "Codex CLI"));
    assert_eq!(s.keys().await.len(), 5);
    let (ok, listed) = s.cli(&["list"]).await;
    assert!(ok);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("claude-code") && l.contains("installed, not configured")),
        "{listed}"
    );
    let (ok, out) = s.cli(&["restore", "claude-code"]).await;
    assert!(!ok && out.contains("nothing to restore"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_or_hostile_request_changes_nothing() {
    let s = start().await;
    let broken = "model = \"o3\"\n[model_providers\n";
    std::fs::create_dir_all(s.home.join(".codex")).unwrap();
    std::fs::write(s.home.join(".codex/config.toml"), broken).unwrap();
    let (status, body) = s.api("/api/tools/codex/apply", json!({})).await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("config.toml") && message.contains("cannot be read"),
        "{message}"
    );
    assert_eq!(s.read(".codex/config.toml"), broken);
    assert!(
        s.keys().await.is_empty(),
        "no key made for a setup that failed"
    );

    let (ok, out) = s.cli(&["apply", "codex"]).await;
    assert!(!ok && out.contains("cannot be read"), "{out}");
    let mut without_token = binary();
    without_token
        .args(["tools", "apply", "claude-code"])
        .env("NINEROUTER_URL", &s.base)
        .env_remove("NINEROUTER_ADMIN_TOKEN");
    let out = without_token.output().await.unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("NINEROUTER_ADMIN_TOKEN"));

    for path in ["/api/tools/..%2F..%2Fetc/apply", "/api/tools/nosuch/apply"] {
        let (status, _) = s.api(path, json!({})).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, body) = s
        .api(
            "/api/tools/claude-code/apply",
            json!({ "url": "file:///etc/passwd" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = s
        .api(
            "/api/tools/claude-code/apply",
            json!({ "key": "sk-a\nX-Injected: 1" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(!s.home.join(".claude").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_imports_the_cli_login_makes_a_combo_and_points_the_tool_at_it() {
    use crate::support::Router;
    use crate::support::fake_chatgpt::{ACCOUNT, EMAIL, FakeChatgpt, id_token};
    use reqwest::Method;
    let chatgpt = FakeChatgpt::start().await;
    let router = Router::start(&chatgpt.config(&[0])).await;
    // Codex CLI's own login, where `codex login` leaves it in this router's home.
    let home = router.dir.path().join("home");
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    let login = json!({"OPENAI_API_KEY": null, "tokens": {"id_token": id_token(EMAIL, ACCOUNT, "plus"),
        "access_token": "codex-access-0", "refresh_token": "codex-refresh-0", "account_id": ACCOUNT}});
    std::fs::write(home.join(".codex/auth.json"), login.to_string()).unwrap();

    let (status, found) = router.api(Method::GET, "/api/setup/first-run", None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["empty"], true);
    assert_eq!(found["logins"][0]["provider"], "codex");
    assert_eq!(found["logins"][0]["found"]["account"], EMAIL);
    assert!(
        !found.to_string().contains("codex-refresh"),
        "no secret in the offer"
    );
    assert_eq!(found["tools"][0]["id"], "codex", "{found}");
    assert!(
        !home.join(".codex/config.toml").exists(),
        "nothing written before the click"
    );

    let (status, done) = router
        .api(
            Method::POST,
            "/api/setup/first-run",
            Some(json!({ "logins": ["codex"], "tools": ["codex"] })),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["imported"][0], format!("codex · {EMAIL}"));
    assert_eq!(done["combo"], "main");
    assert_eq!(done["tools"][0], "Codex CLI");
    assert_eq!(done["problems"], json!([]));

    // Codex is now pointed at the router and asks for the combo, which reaches the login.
    let codex: toml::Table =
        toml::from_str(&std::fs::read_to_string(home.join(".codex/config.toml")).unwrap()).unwrap();
    assert_eq!(codex["model"].as_str(), Some("main"));
    let (status, _, body) = router.ask("main").await;
    assert_eq!(status, 200, "{body}");
    let (_, again) = router.api(Method::GET, "/api/setup/first-run", None).await;
    assert_eq!(again["empty"], false);
}
