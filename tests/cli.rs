//! The headless binary: flags and environment, and a Ctrl-C that drains in-flight requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Behavior, FakeOpenAi, binary, node_config, spawn_serving};

#[tokio::test]
async fn ctrl_c_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let fake = FakeOpenAi::start().await;
    fake.script(
        "key-a",
        [Behavior::StallBeforeHeaders(Duration::from_millis(700))],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let toml = node_config(&[("ma", &fake, &["key-a"])], "").replace(
        "first_byte_timeout_ms = 800",
        "first_byte_timeout_ms = 5000",
    );
    std::fs::write(&config, toml).unwrap();
    let mut command = binary();
    command
        .arg("serve")
        .env("NINEROUTER_PORT", "0")
        .env("NINEROUTER_HOST", "127.0.0.1")
        .env("NINEROUTER_DATA_DIR", dir.path().join("data"))
        .env("NINEROUTER_CONFIG", &config)
        .env("NINEROUTER_SECRETS", "memory");
    let (mut child, base) = spawn_serving(command).await;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(
        dir.path().join("data").join("ninerouter.db").exists(),
        "the data dir flag is used"
    );

    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/v1/chat/completions"))
            .json(&json!({"model": "ma/m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());

    let response = request.await.unwrap();
    assert_eq!(response.status(), 200, "the in-flight request completed");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn a_bad_config_file_fails_start_with_a_message_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[[provider]]\nprovider = \"openai\"\nname = \"x\"\napi_key = \"${NO_SUCH_VAR_FOR_TEST}\"\n").unwrap();
    let out = binary()
        .args(["serve", "--port", "0", "--secrets", "memory", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("provider[0].api_key") && err.contains("NO_SUCH_VAR_FOR_TEST"),
        "{err}"
    );
}
