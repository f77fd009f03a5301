//! Moving in: a 9Router and a CLIProxyAPI setup imported through the real binary (preview,
//! then apply, then a second import that creates nothing), the imported model strings, keys
//! and secrets working; the whole setup exported to an encrypted file and brought into a
//! fresh router, with a wrong passphrase and a cut file changing nothing.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::{FakeOpenAi, binary, isolate, serve_command, spawn_serving};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");

struct Host {
    dir: tempfile::TempDir,
    home: PathBuf,
    base: String,
    http: reqwest::Client,
    _child: tokio::process::Child,
}

async fn host() -> Host {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "").unwrap();
    let mut command = serve_command(dir.path(), &config);
    isolate(&mut command, &home, Path::new("/nonexistent"));
    let (child, base) = spawn_serving(command).await;
    Host {
        dir,
        home,
        base,
        http: reqwest::Client::new(),
        _child: child,
    }
}

impl Host {
    async fn cli(&self, args: &[&str], passphrase: Option<&str>) -> (bool, String) {
        let mut command = binary();
        command
            .args(args)
            .env("NINEROUTER_URL", &self.base)
            .current_dir(self.dir.path());
        isolate(&mut command, &self.home, Path::new("/nonexistent"));
        command
            .env_remove("NINEROUTER_PASSPHRASE")
            .stdin(std::process::Stdio::null());
        if let Some(p) = passphrase {
            command.env("NINEROUTER_PASSPHRASE", p);
        }
        let out = command.output().await.unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The usage summary once the writer (which batches) has `requests` records.
    async fn usage_after(&self, requests: i64) -> Value {
        for _ in 0..200 {
            let s = self.get("/api/usage/summary").await;
            if s["total"]["requests"].as_i64() >= Some(requests) {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the usage writer never recorded {requests} requests");
    }

    async fn accounts(&self) -> Vec<Value> {
        self.get("/api/connections")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn chat(&self, model: &str, key: Option<&str>) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}/v1/chat/completions", self.base))
            .json(&json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send().await.unwrap()
    }

    fn database(&self) -> Vec<u8> {
        let dir = self.dir.path().join("data");
        let mut all = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("ninerouter.db") {
                all.extend(std::fs::read(e.path()).unwrap());
            }
        }
        all
    }
}

/// 9Router's data dir in `home`, its node pointed at `fake`.
fn place_nine_router(home: &Path, fake: &FakeOpenAi) {
    let dir = home.join(".9router");
    std::fs::create_dir_all(&dir).unwrap();
    let db = std::fs::read_to_string(format!("{FIXTURES}/9router/db.json"))
        .unwrap()
        .replace("http://127.0.0.1:9/v1", &fake.base_url());
    std::fs::write(dir.join("db.json"), db).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nine_router_setup_moves_in_after_a_preview_and_only_once() {
    let fake = FakeOpenAi::start().await;
    let h = host().await;
    place_nine_router(&h.home, &fake);

    // Without --yes and without a terminal, the preview only.
    let (ok, out) = h.cli(&["import", "9router"], None).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("will create") && out.contains("Nothing was changed"),
        "{out}"
    );
    assert!(
        out.contains("kilo") && out.contains("NineRouter has no 'kilocode' provider"),
        "{out}"
    );
    assert!(h.accounts().await.is_empty(), "a preview writes nothing");

    let (ok, out) = h.cli(&["import", "9router", "--yes"], None).await;
    assert!(ok, "{out}");
    assert!(out.contains("created"), "{out}");
    let accounts = h.accounts().await;
    let names: Vec<String> = accounts
        .iter()
        .map(|a| format!("{}:{}", a["provider"], a["name"]))
        .collect();
    for expected in [
        "\"openrouter\":\"My OR key\"",
        "\"codex\":\"user@example.com\"",
        "\"kiro\":\"builder@example.com\"",
        "\"github\":\"octocat\"",
        "\"claude\":\"Claude Max\"",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let or = accounts
        .iter()
        .find(|a| a["provider"] == "openrouter")
        .unwrap();
    assert_eq!(or["proxy"], "http://proxy.example:3128");
    assert_eq!(
        accounts
            .iter()
            .find(|a| a["provider"] == "gemini-cli")
            .unwrap()["enabled"],
        false
    );
    assert_eq!(
        accounts.iter().find(|a| a["provider"] == "codex").unwrap()["plan"],
        "plus"
    );

    // Secrets went to the secret store: the database holds none of them.
    let db = h.database();
    for secret in [
        "sk-or-v1-fake-openrouter-key-0001",
        "rt_fake-codex-refresh",
        "sk-fake-vllm-key",
        "gho_fakeGithubToken0001",
        "sk-0123456789abcdef-k1k1k1-deadbeef",
    ] {
        assert!(
            memchr::memmem::find(&db, secret.as_bytes()).is_none(),
            "{secret} in the database"
        );
    }

    // Model strings users already use keep working: the node's prefix, the alias, the combo.
    let r = h.chat("vllm/qwen-coder", None).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(fake.count("sk-fake-vllm-key"), 1);
    let aliases = h.get("/api/aliases").await;
    assert!(
        aliases
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alias"] == "opus" && a["target"] == "cc/claude-opus-4-6"),
        "{aliases}"
    );
    let combos = h.get("/api/combos").await;
    assert!(
        combos
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "my-combo"),
        "{combos}"
    );
    let keys = h.get("/api/keys").await;
    assert!(
        keys.as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "laptop"),
        "{keys}"
    );
    let settings = h.get("/api/settings").await;
    assert_eq!(settings["routing"]["accountStrategy"], "sticky-round-robin");

    // A second import creates nothing.
    let before = h.accounts().await.len();
    let (ok, out) = h.cli(&["import", "9router", "--yes"], None).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("Nothing to import") && out.contains("0 to create"),
        "{out}"
    );
    assert_eq!(h.accounts().await.len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_proxy_api_setup_moves_in_through_the_api() {
    let h = host().await;
    let dir = h.home.join(".cli-proxy-api");
    std::fs::create_dir_all(dir.join("auths/sub")).unwrap();
    for f in [
        "claude-user@example.com.json",
        "codex-1a2b3c4d-user@example.com-plus.json",
        "kimi-1787400000000.json",
        "broken.json",
        "qwen-q@example.com.json",
        "sub/gemini-me@gmail.com-my-proj.json",
    ] {
        std::fs::copy(
            format!("{FIXTURES}/cliproxyapi/auths/{f}"),
            dir.join("auths").join(f),
        )
        .unwrap();
    }
    let config = std::fs::read_to_string(format!("{FIXTURES}/cliproxyapi/config.yaml"))
        .unwrap()
        .replace("AUTH_DIR", "~/.cli-proxy-api/auths");
    std::fs::write(dir.join("config.yaml"), config).unwrap();

    let post = |path: &'static str, body: Value| {
        let http = h.http.clone();
        let url = format!("{}{path}", h.base);
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    let preview: Value = post("/api/import/preview", json!({ "source": "cliproxyapi" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["applied"], false);
    assert!(
        preview["path"]
            .as_str()
            .unwrap()
            .ends_with(".cli-proxy-api/config.yaml")
    );
    let items = preview["items"].as_array().unwrap();
    assert!(
        items.iter().any(|i| i["kind"] == "login"
            && i["action"] == "skip"
            && i["name"].as_str().unwrap().starts_with("kimi")),
        "{preview}"
    );
    let done: Value = post("/api/import/apply", json!({ "source": "cliproxyapi" }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["applied"], true);
    let accounts = h.accounts().await;
    assert_eq!(
        accounts
            .iter()
            .filter(|a| a["provider"] == "gemini")
            .count(),
        2
    );
    assert!(
        accounts
            .iter()
            .any(|a| a["provider"] == "gemini-cli" && a["name"] == "me@gmail.com")
    );
    let claude_key = accounts
        .iter()
        .find(|a| a["provider"] == "anthropic")
        .unwrap();
    assert_eq!(claude_key["proxy"], "socks5://127.0.0.1:1080");
    let aliases = h.get("/api/aliases").await;
    assert!(
        aliases
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alias"] == "kimi-k2" && a["target"] == "or2/moonshotai/kimi-k2:free"),
        "{aliases}"
    );

    // Hostile input: a relative path, an unknown source, a damaged file.
    let r = post(
        "/api/import/preview",
        json!({ "source": "cliproxyapi", "path": "../../etc" }),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post("/api/import/preview", json!({ "source": "litellm" })).await;
    assert_eq!(r.status(), 400);
    std::fs::write(dir.join("config.yaml"), "api-keys: [\n").unwrap();
    let r = post("/api/import/apply", json!({ "source": "cliproxyapi" })).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("config.yaml"),
        "{body}"
    );
    assert_eq!(h.accounts().await.len(), accounts.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_setup_moves_to_another_machine_in_an_encrypted_file() {
    let fake = FakeOpenAi::start().await;
    let a = host().await;
    place_nine_router(&a.home, &fake);
    let (ok, out) = a.cli(&["import", "9router", "--yes"], None).await;
    assert!(ok, "{out}");
    assert_eq!(a.chat("vllm/m", None).await.status(), 200);
    a.usage_after(1).await;

    let file = a.dir.path().join("setup.age");
    let (ok, out) = a
        .cli(&["export", "--out", file.to_str().unwrap()], Some("short"))
        .await;
    assert!(!ok && out.contains("at least 8"), "{out}");
    let (ok, out) = a
        .cli(
            &["export", "--out", file.to_str().unwrap(), "--with-usage"],
            Some("correct horse battery"),
        )
        .await;
    assert!(ok, "{out}");
    let bytes = std::fs::read(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    for secret in [
        "sk-or-v1-fake",
        "rt_fake-codex",
        "sk-fake-vllm-key",
        "laptop",
    ] {
        assert!(
            memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
            "{secret} readable in the file"
        );
    }

    let b = host().await;
    let copy = b.dir.path().join("setup.age");
    std::fs::write(&copy, &bytes).unwrap();
    let (ok, out) = b
        .cli(
            &["import-setup", copy.to_str().unwrap(), "--yes"],
            Some("wrong passphrase"),
        )
        .await;
    assert!(!ok && out.contains("passphrase is not the one"), "{out}");
    let cut = b.dir.path().join("cut.age");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, out) = b
        .cli(
            &["import-setup", cut.to_str().unwrap(), "--yes"],
            Some("correct horse battery"),
        )
        .await;
    assert!(!ok && out.contains("damaged or incomplete"), "{out}");
    assert!(b.accounts().await.is_empty(), "nothing changed");

    let (ok, out) = b
        .cli(
            &["import-setup", copy.to_str().unwrap(), "--yes"],
            Some("correct horse battery"),
        )
        .await;
    assert!(ok, "{out}");
    assert_eq!(b.accounts().await.len(), a.accounts().await.len());
    // The moved node account works on the new machine with its key; the moved proxy key too.
    let settings = json!({ "requireApiKey": false });
    let _ = b
        .http
        .patch(format!("{}/api/settings", b.base))
        .json(&settings)
        .send()
        .await
        .unwrap();
    let r = b
        .chat("vllm/m", Some("sk-0123456789abcdef-k1k1k1-deadbeef"))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let usage = b.get("/api/usage/summary").await;
    assert!(
        usage.to_string().contains("vllm") || usage.is_object(),
        "{usage}"
    );
    let (ok, out) = b
        .cli(
            &["import-setup", copy.to_str().unwrap(), "--yes"],
            Some("correct horse battery"),
        )
        .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("0 to create") || out.contains(" 1 to create"),
        "a second import creates nothing new: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machines_sharing_a_sync_folder_offer_each_others_changes_item_by_item() {
    use crate::support::Router;
    use reqwest::Method;
    let fake = FakeOpenAi::start().await;
    let folder = tempfile::tempdir().unwrap();
    let laptop = Router::start("").await;
    let desktop = Router::start("").await;
    let ok = |(status, body): (u16, Value)| {
        assert!((200..300).contains(&status), "{status}: {body}");
        body
    };

    // The laptop's setup: a node with an account, a combo, an alias.
    let node = ok(laptop
        .api(
            Method::POST,
            "/api/nodes",
            Some(json!({ "name": "Local", "prefix": "loc", "baseUrl": fake.base_url() })),
        )
        .await);
    ok(laptop
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({ "provider": node["id"], "name": "k1", "apiKey": "sk-synced-key-1" })),
        )
        .await);
    ok(laptop
        .api(
            Method::POST,
            "/api/combos",
            Some(json!({ "name": "work", "models": ["loc/m1"] })),
        )
        .await);
    ok(laptop
        .api(
            Method::PUT,
            "/api/aliases/fast",
            Some(json!({ "target": "loc/m1" })),
        )
        .await);
    let folder_path = folder.path().display().to_string();
    let set = |name: &str, passphrase: &str| json!({ "folder": folder_path, "passphrase": passphrase, "name": name });
    let mine = ok(laptop
        .api(
            Method::PUT,
            "/api/sync",
            Some(set("laptop", "correct horse battery")),
        )
        .await);
    assert_eq!(mine["name"], "laptop");
    assert!(mine["writtenMs"].as_i64().is_some());
    let copies: Vec<_> = std::fs::read_dir(folder.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(copies.len(), 1);
    let bytes = std::fs::read(copies[0].path()).unwrap();
    assert!(
        memchr::memmem::find(&bytes, b"sk-synced-key-1").is_none(),
        "the copy is encrypted"
    );

    // The desktop has its own idea of `fast`.
    ok(desktop
        .api(
            Method::PUT,
            "/api/aliases/fast",
            Some(json!({ "target": "openai/gpt-4o-mini" })),
        )
        .await);
    let status = ok(desktop
        .api(
            Method::PUT,
            "/api/sync",
            Some(set("desktop", "correct horse battery")),
        )
        .await);
    let others = status["others"].as_array().unwrap();
    assert_eq!(others.len(), 1, "{status}");
    assert_eq!(others[0]["name"], "laptop");
    let items = others[0]["items"].as_array().unwrap();
    let action = |key: &str| {
        items
            .iter()
            .find(|i| i["key"] == key)
            .map(|i| i["action"].clone())
    };
    assert_eq!(action("node:Local"), Some(json!("create")), "{items:?}");
    assert_eq!(action("combo:work"), Some(json!("create")));
    assert_eq!(
        action("alias:fast"),
        Some(json!("conflict")),
        "a conflict, not an overwrite"
    );
    let machine = others[0]["machine"].as_str().unwrap().to_owned();

    // Merging takes what is new and leaves the conflict alone...
    let merged = ok(desktop
        .api(
            Method::POST,
            "/api/sync/merge",
            Some(json!({ "machine": machine })),
        )
        .await);
    assert!(
        merged
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["key"] == "alias:fast" && i["action"] == "conflict")
    );
    let aliases = ok(desktop.api(Method::GET, "/api/aliases", None).await);
    assert!(
        aliases
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alias"] == "fast" && a["target"] == "openai/gpt-4o-mini")
    );
    // ...the account came with its key, and routes on the desktop...
    let (status, _, body) = desktop.ask("loc/m1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(fake.count("sk-synced-key-1"), 1);
    // ...and the conflict is settled the laptop's way only when asked.
    ok(desktop
        .api(
            Method::POST,
            "/api/sync/merge",
            Some(json!({ "machine": machine, "take": ["alias:fast"] })),
        )
        .await);
    let aliases = ok(desktop.api(Method::GET, "/api/aliases", None).await);
    assert!(
        aliases
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["alias"] == "fast" && a["target"] == "loc/m1"),
        "{aliases}"
    );

    // Both copies are in the folder; a machine with another passphrase cannot read them.
    let third = Router::start("").await;
    let status = ok(third
        .api(
            Method::PUT,
            "/api/sync",
            Some(set("other", "another passphrase")),
        )
        .await);
    let others = status["others"].as_array().unwrap();
    assert_eq!(others.len(), 2);
    assert!(
        others.iter().all(|o| o["error"]
            .as_str()
            .is_some_and(|e| e.contains("passphrase"))),
        "{status}"
    );
    let (status, _) = third
        .api(
            Method::PUT,
            "/api/sync",
            Some(json!({ "folder": "relative/dir", "passphrase": "correct horse battery" })),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_of_a_node_left_alone_never_lands_on_another_provider() {
    let h = host().await;
    let dir = h.home.join(".9router");
    std::fs::create_dir_all(&dir).unwrap();
    // A node whose prefix is a built-in provider's here: its key belongs to its own host.
    let db = json!({
        "providerNodes": [{ "id": "openai-compatible-chat-x", "type": "openai-compatible", "apiType": "chat",
            "name": "Relay", "prefix": "openai", "baseUrl": "https://relay.example/v1" }],
        "providerConnections": [{ "id": "c1", "provider": "openai-compatible-chat-x", "authType": "apikey",
            "name": "relay key", "apiKey": "sk-relay-only-0001", "isActive": true }],
    });
    std::fs::write(dir.join("db.json"), db.to_string()).unwrap();
    let (ok, out) = h.cli(&["import", "9router", "--yes"], None).await;
    assert!(ok, "{out}");
    assert!(out.contains("conflict, left alone"), "{out}");
    assert!(out.contains("its node 'openai' is not brought in"), "{out}");
    assert!(
        h.accounts().await.is_empty(),
        "the relay's key is not an OpenAI account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_in_the_engine_listens_to_every_request_unless_someone_watches() {
    // Request events are only built for a listener (a dashboard, the tray): the sync job
    // follows setup changes without becoming one.
    let router = crate::support::Router::start("").await;
    assert!(!router.engine.core().events().has_subscribers());
}
