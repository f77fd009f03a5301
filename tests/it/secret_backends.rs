//! Secrets in a real keychain (Secret Service via gnome-keyring in `make test`) and the
//! owner-only file fallback when no keychain answers.
use crate::support::{FakeOpenAi, Router, binary, spawn_serving};
use ninerouter::secrets::{BackendChoice, KeychainStore, SecretStore, SecretString};
use reqwest::Method;
use serde_json::json;

/// `make test` runs the suite inside `dbus-run-session` with an unlocked gnome-keyring and sets
/// this; then the keychain tests must pass. Elsewhere (a plain `cargo test`) they say so and stop.
fn keyring_expected() -> bool {
    let expected = std::env::var_os("NINEROUTER_TEST_KEYRING").is_some();
    if !expected {
        eprintln!(
            "NINEROUTER_TEST_KEYRING unset: skipping the Secret Service check (make test runs it)"
        );
    }
    expected
}

fn unique_service(tag: &str) -> String {
    format!("ninerouter-test-{tag}-{}", std::process::id())
}

#[test]
fn the_keychain_store_round_trips_through_the_secret_service() {
    if !keyring_expected() {
        return;
    }
    let store = KeychainStore::new(&unique_service("direct"));
    store
        .set("connection:x", &SecretString::new("sk-kc-1"))
        .expect("set in Secret Service");
    let again = KeychainStore::new(&unique_service("direct"));
    assert_eq!(
        again.get("connection:x").unwrap(),
        Some(SecretString::new("sk-kc-1"))
    );
    again.delete("connection:x").unwrap();
    assert_eq!(store.get("connection:x").unwrap(), None);
}

#[tokio::test]
async fn the_engine_picks_the_keychain_and_keys_survive_a_restart() {
    if !keyring_expected() {
        return;
    }
    let fake = FakeOpenAi::start().await;
    let router = Router::start_with("", BackendChoice::Auto, &unique_service("engine")).await;
    let (_, status) = router.api(Method::GET, "/api/status", None).await;
    assert_eq!(status["secretBackend"]["kind"], "keychain");
    let (code, created) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({"provider": "openai", "name": "kc", "apiKey": "sk-kc-engine", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(code, 201);
    let router = router.restart().await;
    assert_eq!(router.ask("openai/gpt-4o").await.0, 200);
    assert_eq!(fake.keys_seen(), ["sk-kc-engine"]);
    assert!(
        !router.data_dir().join("secrets.json").exists(),
        "no file store in use"
    );
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        router
            .api(Method::DELETE, &format!("/api/connections/{id}"), None)
            .await
            .0,
        204
    );
}

/// The real binary, with no reachable session bus: it must fall back to a 0600 file, say so,
/// and keep working.
#[tokio::test]
async fn without_a_keychain_the_binary_falls_back_to_an_owner_only_file() {
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary();
    command
        .args(["serve", "--port", "0"])
        .env("NINEROUTER_DATA_DIR", dir.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env_remove("NINEROUTER_SECRETS");
    let (mut child, base) = spawn_serving(command).await;
    let http = reqwest::Client::new();
    let status: serde_json::Value = http
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["secretBackend"]["kind"], "file");
    let created = http
        .post(format!("{base}/api/connections"))
        .json(&json!({"provider": "openai", "name": "f", "apiKey": "sk-file-1", "baseUrl": fake.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let path = dir.path().join("secrets.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let db = std::fs::read(dir.path().join("ninerouter.db")).unwrap_or_default();
    assert!(!db.windows(9).any(|w| w == b"sk-file-1"));
    child.kill().await.ok();
}

/// A Secret Service of the test's own: a session bus without service activation (so nothing
/// starts a keyring behind the test's back) and a gnome-keyring whose keyring files live in
/// the test's directory, so stopping and starting it is what a locked and unlocked keychain
/// is to the router.
struct OwnKeyring {
    dir: std::path::PathBuf,
    bus: Option<tokio::process::Child>,
    keyring: Option<tokio::process::Child>,
}

impl OwnKeyring {
    fn new(dir: &std::path::Path) -> Self {
        let config = format!(
            "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" \
             \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\
             <busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth>\
             <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
             <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
            dir.join("bus").display()
        );
        std::fs::write(dir.join("bus.conf"), config).unwrap();
        Self {
            dir: dir.to_path_buf(),
            bus: None,
            keyring: None,
        }
    }

    fn address(&self) -> String {
        format!("unix:path={}", self.dir.join("bus").display())
    }

    async fn start(&mut self) {
        let _ = std::fs::remove_file(self.dir.join("bus"));
        self.bus = Some(
            tokio::process::Command::new("dbus-daemon")
                .arg("--nofork")
                .arg(format!(
                    "--config-file={}",
                    self.dir.join("bus.conf").display()
                ))
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap(),
        );
        self.wait_until(|| std::fs::metadata(self.dir.join("bus")).is_ok())
            .await;
        let mut keyring = tokio::process::Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        {
            use tokio::io::AsyncWriteExt;
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"own-keyring-pw").await.unwrap();
        }
        self.keyring = Some(keyring);
        let address = self.address();
        self.wait_until(|| {
            std::process::Command::new("dbus-send")
                .args([
                    "--session",
                    "--dest=org.freedesktop.secrets",
                    "--print-reply",
                ])
                .args(["/org/freedesktop/secrets", "org.freedesktop.DBus.Peer.Ping"])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .await;
    }

    async fn stop(&mut self) {
        for mut child in [self.keyring.take(), self.bus.take()].into_iter().flatten() {
            child.kill().await.ok();
        }
    }

    async fn wait_until(&self, ready: impl Fn() -> bool) {
        for _ in 0..300 {
            if ready() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the test's own keyring did not start");
    }
}

/// The router with the test's keyring as its session bus.
async fn serve_with(
    keyring: &OwnKeyring,
    data: &std::path::Path,
) -> (tokio::process::Child, String) {
    let mut command = binary();
    command
        .args(["serve", "--port", "0"])
        .env("NINEROUTER_DATA_DIR", data)
        .env("DBUS_SESSION_BUS_ADDRESS", keyring.address())
        .env_remove("NINEROUTER_SECRETS");
    spawn_serving(command).await
}

async fn get_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// A keychain that does not answer at start (locked, no session bus yet) is waited for: the
/// router says so, sends no request without the account's key, keeps no secret elsewhere, and
/// serves the account as soon as the keychain answers.
#[tokio::test]
async fn a_keychain_that_does_not_answer_at_start_is_waited_for_not_replaced() {
    if !keyring_expected() {
        return;
    }
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("router");
    let mut keyring = OwnKeyring::new(dir.path());
    keyring.start().await;
    let http = reqwest::Client::new();
    let ask = |base: &str| {
        http.post(format!("{base}/v1/chat/completions"))
            .json(
                &json!({"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
            )
            .send()
    };

    let (mut router, base) = serve_with(&keyring, &data).await;
    assert_eq!(
        get_json(&http, format!("{base}/api/status")).await["secretBackend"]["kind"],
        "keychain"
    );
    let created = http
        .post(format!("{base}/api/connections"))
        .json(&json!({"provider": "openai", "name": "kc", "apiKey": "sk-kc-waited", "baseUrl": fake.base_url()}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(ask(&base).await.unwrap().status(), 200);
    router.kill().await.ok();

    // The keychain is gone when the router starts again.
    keyring.stop().await;
    let (mut router, base) = serve_with(&keyring, &data).await;
    let status = get_json(&http, format!("{base}/api/status")).await;
    assert_eq!(status["secretBackend"]["kind"], "keychain", "{status}");
    assert_eq!(status["secretBackend"]["waiting"], true, "{status}");
    let connections = get_json(&http, format!("{base}/api/connections")).await;
    assert_eq!(
        connections[0]["state"], "secret-unavailable",
        "{connections}"
    );
    let refused = ask(&base).await.unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
    assert_eq!(
        fake.keys_seen(),
        ["sk-kc-waited"],
        "no request went out without its key"
    );
    assert!(
        !data.join("secrets.json").exists(),
        "no other store was opened"
    );

    // Unlocked: the account is back without a restart.
    keyring.start().await;
    for _ in 0..200 {
        let connections = get_json(&http, format!("{base}/api/connections")).await;
        if connections[0]["state"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = get_json(&http, format!("{base}/api/status")).await;
    assert_eq!(status["secretBackend"]["waiting"], false, "{status}");
    assert_eq!(ask(&base).await.unwrap().status(), 200);
    assert_eq!(fake.keys_seen(), ["sk-kc-waited", "sk-kc-waited"]);
    router.kill().await.ok();
    keyring.stop().await;
}

/// Secrets change store only by an explicit move, which takes every one of them along; the
/// store moved to is the one the next start uses.
#[tokio::test]
async fn moving_secrets_takes_every_one_along_and_is_remembered() {
    if !keyring_expected() {
        return;
    }
    let fake = FakeOpenAi::start().await;
    let router = Router::start_with("", BackendChoice::Auto, &unique_service("move")).await;
    for (name, key) in [("a", "sk-move-a"), ("b", "sk-move-b")] {
        let (code, _) = router
            .api(
                Method::POST,
                "/api/connections",
                Some(json!({"provider": "openai", "name": name, "apiKey": key, "baseUrl": fake.base_url()})),
            )
            .await;
        assert_eq!(code, 201);
    }
    let (code, moved) = router
        .api(
            Method::POST,
            "/api/secrets/move",
            Some(json!({"to": "file"})),
        )
        .await;
    assert_eq!(code, 200, "{moved}");
    assert_eq!(moved, json!({"kind": "file", "moved": 2}));
    let file = std::fs::read_to_string(router.data_dir().join("secrets.json")).unwrap();
    assert!(file.contains("sk-move-a") && file.contains("sk-move-b"));
    let router = router.restart().await;
    let (_, status) = router.api(Method::GET, "/api/status", None).await;
    assert_eq!(
        status["secretBackend"]["kind"], "file",
        "remembered: {status}"
    );
    assert_eq!(router.ask("openai/gpt-4o").await.0, 200);

    let (code, moved) = router
        .api(
            Method::POST,
            "/api/secrets/move",
            Some(json!({"to": "keychain"})),
        )
        .await;
    assert_eq!(code, 200, "{moved}");
    let file = std::fs::read_to_string(router.data_dir().join("secrets.json")).unwrap();
    assert!(!file.contains("sk-move-a"), "the file is emptied");
    let router = router.restart().await;
    let (_, status) = router.api(Method::GET, "/api/status", None).await;
    assert_eq!(status["secretBackend"]["kind"], "keychain");
    assert_eq!(router.ask("openai/gpt-4o").await.0, 200);
    let (_, list) = router.api(Method::GET, "/api/connections", None).await;
    for c in list.as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        router
            .api(Method::DELETE, &format!("/api/connections/{id}"), None)
            .await;
    }
}

/// A secret lost from its store sets its account aside: it is shown as such and skipped, and
/// no request goes out without its key.
#[tokio::test]
async fn an_account_whose_secret_is_gone_is_skipped_never_sent_keyless() {
    let fake = FakeOpenAi::start().await;
    let router = Router::start_with("", BackendChoice::File, "unused").await;
    let (code, _) = router
        .api(
            Method::POST,
            "/api/connections",
            Some(json!({"provider": "openai", "name": "f", "apiKey": "sk-lost-1", "baseUrl": fake.base_url()})),
        )
        .await;
    assert_eq!(code, 201);
    std::fs::write(router.data_dir().join("secrets.json"), "{}").unwrap();
    let router = router.restart().await;
    let (_, list) = router.api(Method::GET, "/api/connections", None).await;
    assert_eq!(list[0]["state"], "secret-unavailable", "{list}");
    let (status, _, body) = router.ask("openai/gpt-4o").await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(
        fake.seen().is_empty(),
        "a request went out: {:?}",
        fake.keys_seen()
    );
}
