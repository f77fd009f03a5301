//! Proxy keys for the client APIs: `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or
//! `?key=`. Required when the user turned it on, when the server listens beyond loopback, and
//! for requests a browser sends from a foreign page.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;

use super::client_api::ClientKey;
use super::gate::Verdict;
use super::guard::is_foreign_browser_request;
use super::openai_error::OpenAiError;
use crate::state::Core;

/// The key a client presented, in any of the places the supported APIs put it.
pub fn presented_key<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    let header_str = |name: &header::HeaderName| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    header_str(&header::AUTHORIZATION)
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| header_str(&crate::format::anthropic::KEY_HEADER))
        .or_else(|| header_str(&crate::format::gemini::KEY_HEADER))
        .or_else(|| query?.split('&').find_map(|pair| pair.strip_prefix("key=")))
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

pub enum KeyCheck {
    /// Let through; with the id of the proxy key presented, when it was one of ours.
    Ok(Option<String>),
    Missing,
    Invalid,
    /// One of our keys, past its `expiresAt`.
    Expired(String),
}

/// Decides whether a request may use the client APIs (the management API never takes a
/// proxy key: see `api::access`).
pub fn check(core: &Core, headers: &HeaderMap, query: Option<&str>) -> KeyCheck {
    let catalog = core.catalog();
    let required = catalog.settings.require_api_key
        || !core.listen.is_loopback()
        || is_foreign_browser_request(&core.listen, headers);
    let presented = presented_key(headers, query);
    // Known keys are named even when none is required, so usage can be split by key.
    if let Some(id) = presented.and_then(|k| catalog.key_id(k)) {
        if catalog
            .key_limits(id)
            .is_some_and(|l| l.expired(crate::clock::now_ms()))
        {
            return KeyCheck::Expired(id.to_owned());
        }
        return KeyCheck::Ok(Some(id.to_owned()));
    }
    match presented {
        _ if !required => KeyCheck::Ok(None),
        None => KeyCheck::Missing,
        Some(_) => KeyCheck::Invalid,
    }
}

/// The client APIs' edge: the Host guard, then the proxy key.
pub fn require_client_key(core: &Arc<Core>, mut request: Request) -> Verdict {
    if let Some(refusal) = super::guard::screen(&core.listen, &request) {
        return Verdict::Answer(refusal);
    }
    let api = super::client_api::api_of_path(request.uri().path());
    let answer = match check(core, request.headers(), request.uri().query()) {
        KeyCheck::Ok(key_id) => {
            request.extensions_mut().insert(ClientKey(key_id));
            return Verdict::Pass(request);
        }
        KeyCheck::Expired(id) => {
            let catalog = core.catalog();
            let limits = catalog.key_limits(&id).cloned().unwrap_or_default();
            return Verdict::Answer(super::key_limits::refuse(
                core,
                &catalog,
                api,
                &id,
                "",
                &limits,
                crate::usage::Refusal::Expired,
            ));
        }
        KeyCheck::Missing => OpenAiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "You didn't provide an API key. NineRouter requires one of its proxy keys \
             (create one on the dashboard's Endpoint page) in an Authorization: Bearer header.",
        )
        .with_code("missing_api_key"),
        KeyCheck::Invalid => OpenAiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Incorrect API key provided. Use one of NineRouter's proxy keys.",
        )
        .with_code("invalid_api_key"),
    };
    if api == crate::format::Api::OpenaiChat || api == crate::format::Api::Responses {
        return Verdict::Answer(answer.into_response());
    }
    Verdict::Answer(super::client_api::error_response(
        api,
        answer.status,
        crate::format::ErrorCategory::Authentication,
        &answer.message,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_are_found_in_every_place_clients_put_them() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_key(&h, Some("alt=sse&key=k4")), Some("k4"));
        h.insert("x-goog-api-key", HeaderValue::from_static("k3"));
        assert_eq!(presented_key(&h, None), Some("k3"));
        h.insert("x-api-key", HeaderValue::from_static("k2"));
        assert_eq!(presented_key(&h, None), Some("k2"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert_eq!(presented_key(&h, None), Some("k1"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(presented_key(&HeaderMap::new(), None), None);
    }
}
