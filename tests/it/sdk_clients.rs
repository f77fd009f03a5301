//! The official SDKs (Python `openai`, `anthropic`, `google-genai`) as clients, each talking
//! to models served in another format, streaming and not, with a tool round trip. `make test`
//! installs the SDKs in a cached virtualenv and sets `NINEROUTER_SDK_PYTHON`, which makes this
//! test mandatory; without it the test says why it did not run.
use crate::support::Router;
use crate::support::fake_upstream::{FakeUpstream, Script};
use serde_json::Value;

#[tokio::test]
async fn official_sdks_round_trip_tools_through_translation() {
    let Ok(python) = std::env::var("NINEROUTER_SDK_PYTHON") else {
        eprintln!("skipped: NINEROUTER_SDK_PYTHON is not set (make test sets it)");
        return;
    };
    let fake = FakeUpstream::start(Script {
        tool: Some(("ls".into(), r#"{"d":"."}"#.into())),
        ..Script::default()
    })
    .await;
    let router = Router::start(&fake.four_formats_config("")).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/clients.py");
    let out = tokio::process::Command::new(&python)
        .arg(script)
        .arg(&router.base)
        .output()
        .await
        .expect("the SDK script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "openai-chat",
            "openai-responses",
            "anthropic-messages",
            "gemini"
        ]
    );

    // The tool results reached the upstreams under the ids the SDKs saw.
    let seen = fake.seen();
    let chat_id = checks[0]["tool_call_id"].as_str().unwrap();
    assert!(seen.iter().any(|s| {
        s.path == "/v1/messages"
            && s.raw
                .windows(chat_id.len())
                .any(|w| w == chat_id.as_bytes())
            && String::from_utf8_lossy(&s.raw).contains("tool_result")
    }));
    let use_id = checks[2]["tool_use_id"].as_str().unwrap();
    assert!(seen.iter().any(|s| s.path == "/v1/responses"
        && String::from_utf8_lossy(&s.raw).contains(&format!("\"call_id\":\"{use_id}\""))));
    assert!(seen.iter().any(
        |s| s.path == "/v1/messages" && String::from_utf8_lossy(&s.raw).contains("a.txt b.txt")
    ));
}
