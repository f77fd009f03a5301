//! A fake Cursor chat service on loopback: `aiserver.v1.ChatService/StreamUnifiedChatWithTools`
//! over Connect — it reads the request envelope and its protobuf (with message definitions of
//! its own, written from Cursor's schema), checks the IDE's headers, and answers in Connect
//! envelopes: protobuf frames of text, thinking and a tool call sent in two fragments (one
//! frame gzip-compressed), then the end-of-stream trailer, which carries Cursor's errors.
//! Also a Cursor IDE state database (`state.vscdb`) holding a login to import.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message as _;
use serde_json::{Value, json};

pub const TOKEN: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdXRoMHx1c2VyXzAxIiwiZXhwIjoxNzk1MDAwMDAwfQ.c2ln";
pub const MACHINE_ID: &str = "0b6e5f0e-1111-4a4a-9b9b-123456789abc";
pub const EMAIL: &str = "dev@cursor.test";
pub const REPLY: &str = "Hello from Cursor.";

/// What Cursor's schema says of the request (the fields this fake checks).
#[derive(Clone, PartialEq, prost::Message)]
struct RequestWithTools {
    #[prost(message, optional, tag = "1")]
    request: Option<ChatRequest>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChatRequest {
    #[prost(message, repeated, tag = "1")]
    conversation: Vec<Turn>,
    #[prost(message, optional, tag = "5")]
    model: Option<Model>,
    #[prost(string, tag = "23")]
    conversation_id: String,
    #[prost(message, repeated, tag = "34")]
    mcp_tools: Vec<McpTool>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Turn {
    #[prost(string, tag = "1")]
    text: String,
    #[prost(int32, tag = "2")]
    kind: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Model {
    #[prost(string, tag = "1")]
    name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct McpTool {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "3")]
    parameters: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Frame {
    #[prost(message, optional, tag = "1")]
    tool_call: Option<ToolCall>,
    #[prost(message, optional, tag = "2")]
    response: Option<Reply>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Reply {
    #[prost(string, tag = "1")]
    text: String,
    #[prost(message, optional, tag = "25")]
    thinking: Option<Thinking>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Thinking {
    #[prost(string, tag = "1")]
    text: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ToolCall {
    #[prost(int32, tag = "1")]
    tool: i32,
    #[prost(string, tag = "3")]
    tool_call_id: String,
    #[prost(string, tag = "9")]
    name: String,
    #[prost(string, tag = "10")]
    raw_args: String,
}

/// One request as the fake read it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub model: String,
    /// `(1 user | 2 assistant, text)`.
    pub turns: Vec<(i32, String)>,
    pub tools: Vec<String>,
    pub headers: HeaderMap,
}

#[derive(Default)]
pub struct Inner {
    seen: Vec<Seen>,
    /// The next answer ends with this trailer error `(connect code, Cursor code, title)`.
    fail_next: Option<(&'static str, &'static str, &'static str)>,
}

pub type FakeCursor = super::fake::Fake<Inner>;

impl FakeCursor {
    pub async fn start() -> FakeCursor {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new().route(
            "/aiserver.v1.ChatService/StreamUnifiedChatWithTools",
            post(chat),
        );
        super::fake::Fake::serve(inner, app).await
    }

    /// The `[auth.cursor]` section: this fake's address and the IDE database to import.
    pub fn config(&self, state_db: &Path) -> String {
        format!(
            "[auth.cursor]\napi_url = \"{}\"\nimport_file = \"{}\"\n",
            self.base,
            state_db.display()
        )
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// The plan's usage is used up: the next answer is Cursor's usage-limit error.
    pub fn limit_next(&self) {
        self.lock().fail_next = Some((
            "resource_exhausted",
            "ERROR_PRO_USER_USAGE_LIMIT",
            "You've hit your usage limit",
        ));
    }

    /// The IDE logged out: the next answer refuses the token.
    pub fn log_out_next(&self) {
        self.lock().fail_next = Some((
            "unauthenticated",
            "ERROR_NOT_LOGGED_IN",
            "You are not logged in",
        ));
    }
}

/// Writes the Cursor IDE's state database as the IDE does (`ItemTable`, JSON-quoted values
/// for some keys, a user-id prefix on the stored token).
pub fn write_state_db(path: &Path) {
    let db = rusqlite::Connection::open(path).expect("state db");
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);",
    )
    .expect("table");
    for (key, value) in [
        ("cursorAuth/accessToken", format!("user_01::{TOKEN}")),
        ("cursorAuth/refreshToken", format!("\"{TOKEN}\"")),
        ("cursorAuth/cachedEmail", EMAIL.to_owned()),
        ("cursorAuth/stripeMembershipType", "pro".to_owned()),
        ("storage.serviceMachineId", format!("\"{MACHINE_ID}\"")),
        ("workbench.panel.width", "300".to_owned()),
    ] {
        db.execute(
            "INSERT INTO ItemTable VALUES (?1, ?2)",
            [key, value.as_str()],
        )
        .expect("row");
    }
}

type Shared = super::fake::Shared<Inner>;

fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn text_frame(text: &str) -> Vec<u8> {
    let frame = Frame {
        tool_call: None,
        response: Some(Reply {
            text: text.into(),
            thinking: None,
        }),
    };
    envelope(0, &frame.encode_to_vec())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

fn trailer(code: &str, cursor_code: &str, title: &str) -> Vec<u8> {
    let body = json!({"error": {"code": code, "message": "Error", "details": [{
        "type": "aiserver.v1.ErrorDetails", "value": "",
        "debug": {"error": cursor_code, "details": {"title": title, "detail": "", "isRetryable": false},
                  "isExpected": true}}]}});
    envelope(0x02, body.to_string().as_bytes())
}

fn connect_stream(body: Vec<u8>) -> Response {
    ([("content-type", "application/connect+proto")], body).into_response()
}

async fn chat(State(inner): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    // A malformed request is refused the way Connect refuses one: before any frame.
    if header("content-type") != "application/connect+proto"
        || header("connect-protocol-version") != "1"
        || body.len() < 5
        || body[0] != 0
    {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": "invalid_argument", "message": "not a Connect request"})),
        )
            .into_response();
    }
    let length = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
    let Ok(request) = RequestWithTools::decode(&body[5..5 + length.min(body.len() - 5)]) else {
        return connect_stream(trailer(
            "invalid_argument",
            "ERROR_BAD_REQUEST",
            "bad protobuf",
        ));
    };
    let request = request.request.unwrap_or_default();
    let checksum = header("x-cursor-checksum");
    let signed = checksum.len() == 8 + MACHINE_ID.len() && checksum.ends_with(MACHINE_ID);
    let fail = {
        let mut inner = inner.lock().expect("lock");
        inner.seen.push(Seen {
            model: request.model.clone().unwrap_or_default().name,
            turns: request
                .conversation
                .iter()
                .map(|t| (t.kind, t.text.clone()))
                .collect(),
            tools: request.mcp_tools.iter().map(|t| t.name.clone()).collect(),
            headers: headers.clone(),
        });
        inner.fail_next.take()
    };
    if header("authorization") != format!("Bearer {TOKEN}") || !signed {
        return connect_stream(trailer(
            "unauthenticated",
            "ERROR_AUTH_TOKEN_NOT_FOUND",
            "Unauthorized",
        ));
    }
    if let Some((code, cursor_code, title)) = fail {
        return connect_stream(trailer(code, cursor_code, title));
    }
    let mut out = Vec::new();
    // The stream starts with a frame that carries nothing a client sees.
    out.extend(envelope(0, &Frame::default().encode_to_vec()));
    if request
        .model
        .as_ref()
        .is_some_and(|m| m.name.contains("thinking"))
    {
        let frame = Frame {
            tool_call: None,
            response: Some(Reply {
                text: String::new(),
                thinking: Some(Thinking {
                    text: "Considering.".into(),
                }),
            }),
        };
        out.extend(envelope(0, &frame.encode_to_vec()));
    }
    let (first, rest) = REPLY.split_at(6);
    out.extend(text_frame(first));
    // One frame compressed, as Cursor sends when the client accepts gzip.
    out.extend(envelope(
        0x01,
        &gzip(
            &Frame {
                tool_call: None,
                response: Some(Reply {
                    text: rest.into(),
                    thinking: None,
                }),
            }
            .encode_to_vec(),
        ),
    ));
    if let Some(tool) = request.mcp_tools.first() {
        for fragment in [r#"{"city":"#, r#""Paris"}"#] {
            let frame = Frame {
                tool_call: Some(ToolCall {
                    tool: 19,
                    tool_call_id: "toolu_01\nmc_fake".into(),
                    name: tool.name.clone(),
                    raw_args: fragment.into(),
                }),
                response: None,
            };
            out.extend(envelope(0, &frame.encode_to_vec()));
        }
    }
    out.extend(envelope(0x02, b"{}"));
    connect_stream(out)
}

/// A reply's text from any client API's answer, for assertions.
pub fn mentions_reply(body: &Value) -> bool {
    body.to_string().contains("Hello from") && body.to_string().contains("Cursor.")
}
