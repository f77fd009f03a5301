//! Sending a request to an OpenAI Chat Completions provider (registry rows and custom nodes).

use std::time::Duration;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use tokio::time::Instant;

use super::body::JsonBody;
use super::failure::Failure;
use super::stream::{self, ByteStream};
use super::{Answer, ProxyContext};
use crate::catalog::{Account, RoutingSettings};
use crate::routing::{FailureClass, reset_hint};

/// Error bodies above this are cut: we only need their gist.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub fn endpoint(base_url: &str) -> String {
    format!("{}/chat/completions", base_url.trim_end_matches('/'))
}

pub async fn send(
    ctx: &ProxyContext,
    account: &Account,
    model: &str,
    body: &JsonBody,
    settings: &RoutingSettings,
) -> Result<Answer, Failure> {
    let deadline = Instant::now() + Duration::from_millis(settings.first_byte_timeout_ms);
    let mut request = ctx
        .http
        .post(endpoint(&account.base_url))
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body.with_model(model));
    if let Some(key) = &account.api_key {
        request = request.bearer_auth(key.expose());
    }
    if body.stream {
        request = request.header(ACCEPT, HeaderValue::from_static("text/event-stream"));
    }
    let response = match tokio::time::timeout_at(deadline, request.send()).await {
        Err(_) => {
            return Err(Failure::new(
                FailureClass::Timeout,
                "the provider did not answer in time",
            ));
        }
        Ok(Err(e)) => return Err(Failure::from_reqwest(e, "could not reach the provider")),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/json"));
    if !status.is_success() {
        return Err(error_failure(response, status, content_type, deadline).await);
    }
    let is_sse = content_type
        .to_str()
        .is_ok_and(|v| v.starts_with("text/event-stream"));
    if body.stream && is_sse {
        let idle = Duration::from_millis(settings.stream_idle_timeout_ms);
        let events: ByteStream = stream::open(response, deadline, idle).await?;
        return Ok(Answer::Stream(events));
    }
    let idle_deadline = Instant::now() + Duration::from_millis(settings.stream_idle_timeout_ms);
    let bytes = match tokio::time::timeout_at(idle_deadline, response.bytes()).await {
        Err(_) => {
            return Err(Failure::new(
                FailureClass::Timeout,
                "the provider's answer did not finish in time",
            ));
        }
        Ok(Err(e)) => {
            return Err(Failure::from_reqwest(
                e,
                "reading the provider's answer failed",
            ));
        }
        Ok(Ok(b)) => b,
    };
    if !is_sse && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
        return Err(Failure::new(
            FailureClass::BadResponse,
            "the provider answered with something that is not JSON",
        ));
    }
    Ok(Answer::Full {
        status,
        content_type,
        body: bytes,
    })
}

async fn error_failure(
    mut response: reqwest::Response,
    status: StatusCode,
    content_type: HeaderValue,
    deadline: Instant,
) -> Failure {
    let hint = reset_hint(response.headers());
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    let class = FailureClass::from_status(status, &body);
    let detail = provider_message(&body);
    let message = match detail {
        Some(d) => format!("the provider answered {status}: {d}"),
        None => format!("the provider answered {status}"),
    };
    Failure {
        class,
        status: Some(status),
        message,
        hint,
        body: Some((body.into(), content_type)),
    }
}

/// The human part of an OpenAI-style error body (`error.message`, or `message`).
fn provider_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let m = v
        .pointer("/error/message")
        .or_else(|| v.get("message"))
        .or_else(|| v.get("error").filter(|e| e.is_string()))?;
    let text = m.as_str()?;
    Some(text.chars().take(300).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_joins_base_urls_the_way_the_sdk_does() {
        assert_eq!(endpoint("http://h/v1"), "http://h/v1/chat/completions");
        assert_eq!(endpoint("http://h/v1/"), "http://h/v1/chat/completions");
    }

    #[test]
    fn provider_messages_are_extracted_and_bounded() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"slow down"}}"#).as_deref(),
            Some("slow down")
        );
        assert_eq!(
            provider_message(br#"{"error":"plain"}"#).as_deref(),
            Some("plain")
        );
        assert_eq!(provider_message(b"<html>"), None);
    }
}
