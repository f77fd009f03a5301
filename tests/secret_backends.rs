//! Secrets in a real keychain (Secret Service via gnome-keyring in `make test`) and the
//! owner-only file fallback when no keychain answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use ninerouter::secrets::{BackendChoice, KeychainStore, SecretStore, SecretString};
use reqwest::Method;
use serde_json::json;
use support::{FakeOpenAi, Router, binary, spawn_serving};

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
