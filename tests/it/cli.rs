//! The headless binary: flags and environment, and a Ctrl-C that drains in-flight requests.
use std::time::Duration;

use crate::support::{Behavior, FakeOpenAi, binary, node_config, serve_command, spawn_serving};
use serde_json::json;

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
    let (mut child, base) = spawn_serving(serve_command(dir.path(), &config)).await;
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

/// Kill -9 in the middle of a burst, then start again: the database opens cleanly and holds
/// every request that completed more than a flush interval before the kill.
#[tokio::test]
async fn a_kill_mid_burst_loses_nothing_that_was_flushed() {
    use crate::support::fake_upstream::{FakeUpstream, Script};
    use std::sync::{Arc, Mutex};

    /// The writer's flush interval, with room for a slow commit on a busy machine.
    const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
    assert!(ninerouter::engine::FLUSH_INTERVAL < FLUSH_INTERVAL / 2);

    let fake = FakeUpstream::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, fake.four_formats_config("")).unwrap();
    let command = || {
        let mut c = binary();
        c.arg("serve")
            .env("NINEROUTER_PORT", "0")
            .env("NINEROUTER_HOST", "127.0.0.1")
            .env("NINEROUTER_DATA_DIR", dir.path().join("data"))
            .env("NINEROUTER_CONFIG", &config)
            .env("NINEROUTER_SECRETS", "memory");
        c
    };
    let (mut child, base) = spawn_serving(command()).await;

    let completed: Arc<Mutex<Vec<(String, std::time::Instant)>>> = Arc::default();
    let workers: Vec<_> = (0..16)
        .map(|i| {
            let (completed, url) = (completed.clone(), format!("{base}/v1/chat/completions"));
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let stream = i % 2 == 0;
                let body = json!({"model": "fchat/gpt-4o", "stream": stream,
                    "messages": [{"role": "user", "content": "hi"}]});
                loop {
                    let Ok(r) = http.post(&url).json(&body).send().await else {
                        return;
                    };
                    let id = r.headers()["x-ninerouter-request-id"]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    if r.bytes().await.is_err() {
                        return;
                    }
                    completed
                        .lock()
                        .unwrap()
                        .push((id, std::time::Instant::now()));
                }
            })
        })
        .collect();
    // Kill once enough requests have completed, and long enough after them that they are
    // all older than a flush interval (a busy CI machine can be slow to get there).
    const ENOUGH: usize = 200;
    let waited = std::time::Instant::now();
    while completed.lock().unwrap().len() < ENOUGH {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the burst is stuck"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(FLUSH_INTERVAL + Duration::from_millis(200)).await;
    child.start_kill().unwrap();
    let killed_at = std::time::Instant::now();
    child.wait().await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let flushed: Vec<String> = completed
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at + FLUSH_INTERVAL < killed_at)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(flushed.len() >= ENOUGH, "{} flushed", flushed.len());

    let db = dir.path().join("data").join("ninerouter.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mut stmt = c.prepare("SELECT request_id FROM usage_events").unwrap();
        let saved: std::collections::HashSet<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let missing: Vec<&String> = flushed.iter().filter(|id| !saved.contains(*id)).collect();
        assert!(
            missing.is_empty(),
            "{} requests lost: {missing:?}",
            missing.len()
        );
    }

    // It starts again on the same database and closes what the kill cut off.
    let (_child, base) = spawn_serving(command()).await;
    let v: serde_json::Value =
        reqwest::get(format!("{base}/api/usage/request-details?status=pending"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(v["pagination"]["totalItems"], 0, "{v}");
}

/// `ninerouter admin …` on the machine of a running router: the password closes its
/// management API at once, and a token made on the command line opens it for scripts.
#[tokio::test]
async fn admin_commands_close_a_running_routers_dashboard_and_mint_tokens() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut serve = binary();
    serve
        .arg("serve")
        .env("NINEROUTER_PORT", "0")
        .env("NINEROUTER_HOST", "127.0.0.1")
        .env("NINEROUTER_DATA_DIR", &data)
        .env("NINEROUTER_SECRETS", "memory");
    let (_child, base) = spawn_serving(serve).await;
    let http = reqwest::Client::new();
    let status = || http.get(format!("{base}/api/status")).send();
    assert_eq!(
        status().await.unwrap().status(),
        200,
        "open before a password"
    );

    let mut set = binary()
        .args(["admin", "set-password", "--data-dir"])
        .arg(&data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = set.stdin.take().unwrap();
    stdin.write_all(b"from-the-cli-pw\n").await.unwrap();
    drop(stdin);
    let out = set.wait_with_output().await.unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(status().await.unwrap().status(), 401, "closed at once");
    let login = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"password": "from-the-cli-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 204);

    let made = binary()
        .args(["admin", "create-token", "nightly backup", "--data-dir"])
        .arg(&data)
        .output()
        .await
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("nra-"), "{token}");
    let scripted = http
        .get(format!("{base}/api/audit"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), 200);
    let audit: serde_json::Value = scripted.json().await.unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "cli")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create admin token", "set dashboard password"]);
}
