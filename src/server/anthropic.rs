//! Anthropic Messages: `POST /v1/messages` (`?beta=true` too) and
//! `POST /v1/messages/count_tokens`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::client_api::{
    anthropic_headers, bad_request, error_response, read_body, serve_model_in_body,
};
use crate::format::{Api, ErrorCategory, FormatError};
use crate::proxy::CountRequest;
use crate::state::Core;

pub async fn messages(State(core): State<Arc<Core>>, request: Request) -> Response {
    serve_model_in_body(Api::Anthropic, core, request).await
}

/// How a token count was made, in the `x-ninerouter-token-count` header.
const COUNTED_BY_PROVIDER: &str = "provider";
const COUNTED_LOCALLY: &str = "estimate-o200k_base";

/// Asks the first Anthropic-format account the model routes to (`proxy::count_tokens`); otherwise counts locally
/// with the o200k_base tokenizer (an estimate: Claude's own tokenizer is not public).
pub async fn count_tokens(State(core): State<Arc<Core>>, mut request: Request) -> Response {
    let headers = anthropic_headers(&request);
    let caller = super::client_api::Caller::of(&core, &mut request);
    let bytes = match read_body(Api::Anthropic, request).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return bad_request(
                Api::Anthropic,
                &FormatError::new("the request body must be a JSON object"),
            );
        }
    };
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_owned) else {
        return bad_request(Api::Anthropic, &FormatError::at("model", "Field required"));
    };
    let catalog = core.catalog();
    if let Some(key_id) = &caller.key_id
        && let Some(refused) =
            super::key_limits::allows_model(&core, &catalog, Api::Anthropic, key_id, &model)
    {
        return refused;
    }
    let asked = CountRequest {
        body: &body,
        model: &model,
        version: headers.get("anthropic-version"),
        betas: headers.get("anthropic-beta"),
    };
    if let Some(count) = crate::proxy::count_tokens(&core.proxy, &catalog, &asked).await {
        return counted(count, COUNTED_BY_PROVIDER);
    }
    let estimate = tokio::task::spawn_blocking(move || estimate_tokens(&body)).await;
    match estimate {
        Ok(Ok(n)) => counted(
            Bytes::from(json!({"input_tokens": n}).to_string()),
            COUNTED_LOCALLY,
        ),
        _ => error_response(
            Api::Anthropic,
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCategory::Upstream,
            "the local tokenizer could not be loaded",
        ),
    }
}

fn counted(body: Bytes, how: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::HeaderName::from_static("x-ninerouter-token-count"),
                HeaderValue::from_static(how),
            ),
        ],
        body,
    )
        .into_response()
}

/// Tokens in everything the model reads: system, messages (text, tool calls and results,
/// thinking) and tool definitions, plus a few per message for the framing.
pub fn estimate_tokens(body: &Value) -> Result<usize, String> {
    let mut text = String::new();
    collect_text(body.get("system").unwrap_or(&Value::Null), &mut text);
    let messages = body.get("messages").and_then(Value::as_array);
    for m in messages.into_iter().flatten() {
        collect_text(m.get("content").unwrap_or(&Value::Null), &mut text);
        text.push('\n');
    }
    if let Some(tools) = body.get("tools") {
        text.push_str(&tools.to_string());
    }
    let framing = 3 * messages.map_or(0, Vec::len);
    Ok(crate::format::tokens::count(&text)? + framing)
}

fn collect_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| collect_text(i, out)),
        Value::Object(map) => {
            for key in ["text", "thinking", "content", "name"] {
                if let Some(inner) = map.get(key) {
                    collect_text(inner, out);
                }
            }
            if let Some(input) = map.get("input") {
                out.push_str(&input.to_string());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_system_messages_and_tools() {
        let small = json!({"messages": [{"role": "user", "content": "hello"}]});
        let big = json!({"system": "You are a careful assistant.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there, how are you today?"}]}],
            "tools": [{"name": "ls", "input_schema": {"type": "object"}}]});
        let a = estimate_tokens(&small).unwrap();
        let b = estimate_tokens(&big).unwrap();
        assert!((1..10).contains(&a), "{a}");
        assert!(b > a + 10, "{b}");
    }
}
