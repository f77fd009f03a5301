//! What the benchmark harnesses share: an instant fake upstream (OpenAI Chat, streamed or
//! not, and Anthropic Messages), the router started as its own process, request bodies, and
//! readings of a process's memory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::io::AsyncBufReadExt;

/// Events in each fake stream.
pub const STREAM_EVENTS: usize = 20;

/// The fake upstream runs on its own thread and runtime so it does not share the client's.
pub fn start_fake_upstream() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).ok();
            let app = Router::new()
                .route("/v1/chat/completions", post(fake))
                .route("/v1/messages", post(fake_anthropic));
            let listener = axum::serve::ListenerExt::tap_io(listener, |t| {
                let _ = t.set_nodelay(true);
            });
            axum::serve(listener, app).await.ok();
        });
    });
    rx.recv().expect("upstream address")
}

pub static ANSWER: &str = r#"{"id":"chatcmpl-b","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#;

pub static ANTHROPIC_ANSWER: &str = r#"{"id":"msg_b","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}"#;

pub async fn fake_anthropic(body: Bytes) -> Response {
    // Same work as `fake` for a non-streaming body, so the two routes cost the same.
    let _stream = body.windows(13).any(|w| w == b"\"stream\":true");
    (
        [(header::CONTENT_TYPE, "application/json")],
        ANTHROPIC_ANSWER,
    )
        .into_response()
}

pub async fn fake(body: Bytes) -> Response {
    let stream = body.windows(13).any(|w| w == b"\"stream\":true");
    if !stream {
        return ([(header::CONTENT_TYPE, "application/json")], ANSWER).into_response();
    }
    let chunk = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}"#;
    let mut events: Vec<Result<Bytes, std::convert::Infallible>> = (0..STREAM_EVENTS)
        .map(|_| Ok(Bytes::from(format!("{chunk}\n\n"))))
        .collect();
    events.push(Ok(Bytes::from_static(b"data: [DONE]\n\n")));
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(events)))
        .unwrap_or_default()
}

/// Starts a server process that prints `… http://ADDR` as its first line, and waits for it.
pub async fn spawn_and_read_addr(
    mut command: tokio::process::Command,
    dir: tempfile::TempDir,
) -> RouterProcess {
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .expect("read")
        .expect("address line");
    let addr = line.rsplit("http://").next().unwrap_or_default().to_owned();
    RouterProcess {
        child,
        addr,
        _dir: dir,
    }
}

pub struct RouterProcess {
    pub child: tokio::process::Child,
    pub addr: String,
    pub _dir: tempfile::TempDir,
}

/// What turns recording off: no usage records, no inspector detail.
pub const RECORDING_OFF: &str = "[observability]\nrecord_usage = false\ninspector = false\n";
/// The inspector lists every request, however fast they come (its default is 200 a second).
pub const LISTING_EVERY_REQUEST: &str =
    "[observability]\ninspector_requests_per_second = 16000000\n";

pub async fn start_router(upstream: SocketAddr, extra: &str) -> RouterProcess {
    start_router_under(upstream, extra, &[]).await
}

/// The router binary the harnesses run. NINEROUTER_BENCH_BIN runs another build of it (A/B of
/// a build setting or a change) against the same harness.
pub fn router_bin() -> std::ffi::OsString {
    std::env::var_os("NINEROUTER_BENCH_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_ninerouter").into())
}

/// The router run by `wrapper`, a program and its arguments to which the router's command line
/// is appended (a profiler); none runs it directly.
pub async fn start_router_under(
    upstream: SocketAddr,
    extra: &str,
    wrapper: &[String],
) -> RouterProcess {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[[provider]]\nprovider = \"openai-compatible\"\nname = \"bench\"\nprefix = \"bn\"\nbase_url = \"http://{upstream}/v1\"\napi_key = \"bench-key\"\n\n[[combo]]\nname = \"bench-combo\"\nmodels = [\"bn/m\"]\n\n[[provider]]\nprovider = \"anthropic-compatible\"\nname = \"bench-anthropic\"\nprefix = \"ba\"\nbase_url = \"http://{upstream}\"\napi_key = \"bench-key\"\n{extra}"
        ),
    )
    .expect("config");
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = tokio::process::Command::new(program);
            command.args(args).arg(router_bin());
            command
        }
        None => tokio::process::Command::new(router_bin()),
    };
    command
        .args(["serve", "--port", "0", "--secrets", "memory"])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .env("NINEROUTER_LOG", "warn");
    spawn_and_read_addr(command, dir).await
}

/// A coding agent's turn: a long system prompt, a history with tool calls and results, and
/// 20 tools with real-looking schemas — about 50 KB.
pub fn agent_body(model: &str) -> String {
    let filler = "The quick brown fox jumps over the lazy dog while the build runs. ";
    let mut messages = vec![serde_json::json!({"role": "system", "content": filler.repeat(150)})];
    for i in 0..6 {
        messages.push(serde_json::json!({"role": "user", "content": filler.repeat(30)}));
        messages.push(serde_json::json!({"role": "assistant", "content": filler.repeat(6),
            "tool_calls": [{"id": format!("call_{i}"), "type": "function",
                "function": {"name": format!("tool_{i}"), "arguments": "{\"path\":\"src/main.rs\",\"line\":42}"}}]}));
        messages.push(serde_json::json!({"role": "tool", "tool_call_id": format!("call_{i}"), "content": filler.repeat(12)}));
    }
    let tools: Vec<serde_json::Value> = (0..20)
        .map(|i| {
            serde_json::json!({"type": "function", "function": {"name": format!("tool_{i}"),
                "description": filler.repeat(4),
                "parameters": {"type": "object", "properties": {
                    "path": {"type": "string", "description": "A path relative to the project root."},
                    "line": {"type": "integer", "description": "A 1-based line number."},
                    "pattern": {"type": "string", "description": "A regular expression to look for."},
                    "options": {"type": "object", "properties": {"case_sensitive": {"type": "boolean"},
                        "max_results": {"type": "integer", "minimum": 1, "maximum": 500}}}},
                    "required": ["path"], "additionalProperties": false}}})
        })
        .collect();
    serde_json::json!({"model": model, "messages": messages, "tools": tools, "max_tokens": 4096,
        "temperature": 0.2})
    .to_string()
}

/// The `p` quantile (0–1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Resident and peak resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let m = memory(pid);
    (m.rss, m.peak)
}

/// A process's resident memory in KiB, split into what it allocated (anonymous) and the
/// pages of its binary and libraries it has touched (files, shared with the page cache).
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
    pub anonymous: u64,
    pub files: u64,
}

/// What of a process's own program code is resident, in KiB: the executable mappings of the
/// file it runs (libraries not counted).
pub fn code_resident(pid: u32) -> u64 {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut ours = false;
    let mut kib = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["Rss:", value, ..] if ours => kib += value.parse::<u64>().unwrap_or(0),
            [range, perms, _, _, _, path, ..] if range.contains('-') && perms.len() == 4 => {
                ours = perms.contains('x') && std::path::Path::new(path) == exe;
            }
            [range, perms, ..] if range.contains('-') && perms.len() == 4 => ours = false,
            _ => {}
        }
    }
    kib
}

pub fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
        anonymous: field("RssAnon:"),
        files: field("RssFile:"),
    }
}
