//! Errors in the OpenAI API's shape: `{"error":{"message","type","param","code"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::proxy::{ErrorKind, ProxyError};

pub struct OpenAiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
    pub retry_after_secs: Option<u64>,
}

impl OpenAiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
            retry_after_secs: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_param(mut self, param: Option<&'static str>) -> Self {
        self.param = param;
        self
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A routing failure in OpenAI's shape. The provider's own error body is relayed when the
/// client's request was at fault, since an OpenAI-format provider already wrote it for them.
pub fn proxy_error_response(e: ProxyError) -> Response {
    if let Some((body, content_type)) = e.upstream_body
        && e.kind == ErrorKind::InvalidRequest
        && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok()
    {
        return (e.status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    }
    let (kind, code) = match e.kind {
        ErrorKind::InvalidRequest => ("invalid_request_error", None),
        ErrorKind::ModelNotFound => ("invalid_request_error", Some("model_not_found")),
        ErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
        ErrorKind::Authentication => ("authentication_error", Some("upstream_auth_failed")),
        ErrorKind::Upstream => ("upstream_error", Some("upstream_unavailable")),
    };
    let mut err = OpenAiError::new(e.status, kind, e.message);
    err.code = code;
    if e.kind == ErrorKind::ModelNotFound {
        err.param = Some("model");
    }
    // Whole seconds, rounded up, at least 1: a client retrying at 0 would just fail again.
    err.retry_after_secs = e
        .retry_after
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero())));
    err.into_response()
}
