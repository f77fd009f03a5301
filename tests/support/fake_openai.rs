//! A fake OpenAI Chat Completions upstream on loopback: real HTTP, real SSE framing, and the
//! faults real providers produce. Behaviour is scripted per API key (so per account).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::StreamExt;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub enum Behavior {
    /// A normal answer (JSON, or SSE with `chunks` content deltas when streaming).
    Ok,
    /// An error status with an OpenAI-style body and optional Retry-After.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: Option<String>,
    },
    /// 200 and SSE headers, then the connection drops before any event.
    DropBeforeFirstEvent,
    /// Sends this many content events, then drops the connection.
    DropAfter(usize),
    /// Waits this long before answering at all.
    StallBeforeHeaders(Duration),
    /// Sends one event, then goes silent for this long, then finishes.
    StallMidStream(Duration),
    /// Sends a first event that is not JSON.
    MalformedFirstEvent,
    /// 200 with a JSON content type and a body that is not JSON (a broken gateway's page).
    NotJson,
}

impl Behavior {
    pub fn status(code: u16) -> Self {
        Self::Status {
            code,
            retry_after: None,
            body: None,
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::Status {
            code: 429,
            retry_after: Some(retry_after_secs.to_string()),
            body: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub key: String,
    pub model: String,
    pub stream: bool,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    scripts: HashMap<String, VecDeque<Behavior>>,
    /// Used when a key's script is empty.
    defaults: HashMap<String, Behavior>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct FakeOpenAi {
    inner: Arc<Mutex<Inner>>,
    addr: std::net::SocketAddr,
    /// Events in a streamed answer.
    pub chunks: usize,
}

impl FakeOpenAi {
    pub async fn start() -> FakeOpenAi {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let addr = listener.local_addr().expect("fake addr");
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOpenAi {
            inner,
            addr,
            chunks: 3,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues behaviours for requests carrying `key`, in order.
    pub fn script(&self, key: &str, behaviors: impl IntoIterator<Item = Behavior>) {
        let mut inner = self.inner.lock().expect("lock");
        inner
            .scripts
            .entry(key.to_owned())
            .or_default()
            .extend(behaviors);
    }

    /// What `key` answers once its script is used up.
    pub fn always(&self, key: &str, behavior: Behavior) {
        self.inner
            .lock()
            .expect("lock")
            .defaults
            .insert(key.to_owned(), behavior);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.inner.lock().expect("lock").seen.clone()
    }

    pub fn keys_seen(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.key).collect()
    }

    pub fn count(&self, key: &str) -> usize {
        self.seen().iter().filter(|s| s.key == key).count()
    }
}

fn chunk(model: &str, content: Option<&str>, finish: Option<&str>) -> Bytes {
    let delta = match content {
        Some(c) => json!({ "content": c }),
        None => json!({}),
    };
    let v = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
    });
    Bytes::from(format!("data: {v}\n\n"))
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or("").to_owned();
    let stream = body["stream"].as_bool().unwrap_or(false);
    let behavior = {
        let mut inner = inner.lock().expect("lock");
        inner.seen.push(Seen {
            key: key.clone(),
            model: model.clone(),
            stream,
            body: body.clone(),
        });
        let scripted = inner.scripts.get_mut(&key).and_then(VecDeque::pop_front);
        scripted
            .or_else(|| inner.defaults.get(&key).cloned())
            .unwrap_or(Behavior::Ok)
    };
    let content = format!("served by {key} as {model}");
    let sse = |events: futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>| {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(events))
            .unwrap_or_default()
    };
    let content_events = |n: usize| -> Vec<Bytes> {
        let mut v = vec![chunk(&model, Some(""), None)];
        for i in 0..n.saturating_sub(1) {
            v.push(chunk(&model, Some(&format!("{content} part {i}. ")), None));
        }
        v
    };
    match behavior {
        Behavior::Status {
            code,
            retry_after,
            body,
        } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = body.unwrap_or_else(|| {
                json!({"error": {"message": format!("fake {code} for {key}"), "type": "fake_error", "param": null, "code": null}})
                    .to_string()
            });
            let mut r =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(ra) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, ra.parse().expect("header"));
            }
            r
        }
        Behavior::StallBeforeHeaders(d) => {
            tokio::time::sleep(d).await;
            ok_answer(&model, &content, stream, 3)
        }
        Behavior::DropBeforeFirstEvent => {
            sse(futures_util::stream::iter([Err(std::io::Error::other("dropped"))]).boxed())
        }
        Behavior::DropAfter(n) => {
            let items: Vec<Result<Bytes, std::io::Error>> =
                content_events(n + 1).into_iter().take(n).map(Ok).collect();
            // hyper discards unflushed output when a body fails: let the events go out first.
            let drop = async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(std::io::Error::other("dropped mid-stream"))
            };
            sse(futures_util::stream::iter(items)
                .chain(futures_util::stream::once(drop))
                .boxed())
        }
        Behavior::MalformedFirstEvent => sse(futures_util::stream::iter([
            Ok(Bytes::from_static(b"data: {this is not json\n\n")),
            Ok(Bytes::from_static(b"data: [DONE]\n\n")),
        ])
        .boxed()),
        Behavior::StallMidStream(d) => {
            let first = chunk(&model, Some("first"), None);
            let rest = async move {
                tokio::time::sleep(d).await;
                Ok::<_, std::io::Error>(Bytes::from_static(b"data: [DONE]\n\n"))
            };
            sse(futures_util::stream::once(async { Ok(first) })
                .chain(futures_util::stream::once(rest))
                .boxed())
        }
        Behavior::NotJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "<html><body>502 Bad Gateway</body></html>",
        )
            .into_response(),
        Behavior::Ok => ok_answer(&model, &content, stream, 3),
    }
}

fn ok_answer(model: &str, content: &str, stream: bool, n: usize) -> Response {
    if !stream {
        let body = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12 },
        });
        return axum::Json(body).into_response();
    }
    let mut events = vec![chunk(model, Some(""), None)];
    for i in 0..n {
        events.push(chunk(model, Some(&format!("{content} part {i}. ")), None));
    }
    events.push(chunk(model, None, Some("stop")));
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(
            events.into_iter().map(Ok::<_, Infallible>),
        )))
        .unwrap_or_default()
}
