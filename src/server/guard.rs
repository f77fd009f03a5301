//! Keeps web pages from driving the router. A page the user visits can aim requests at
//! 127.0.0.1 (directly, or through DNS rebinding with its own host name): the `Host` must be
//! a loopback name or the bound address, and state-changing management calls must come from
//! the dashboard's own origin. CORS opens the management API to those origins only.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::gate::Verdict;
use crate::state::{Core, Listen};

/// Origins of the desktop window (Tauri serves the UI from these).
const DESKTOP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

fn is_management(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The host part of a `Host` header value (`[::1]:20128` → `::1`).
fn host_name(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

fn host_allowed(listen: &Listen, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1")
        || host == listen.addr.ip().to_string()
        || listen
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host))
}

/// The dashboard's own origins: this server's address under a loopback or allowed host name,
/// and the desktop window.
pub fn origin_allowed(listen: &Listen, origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    if DESKTOP_ORIGINS.contains(&origin) {
        return true;
    }
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let port_matches = url.port_or_known_default() == Some(listen.addr.port());
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    matches!(url.scheme(), "http" | "https") && port_matches && host_allowed(listen, host)
}

/// True when a browser says this request comes from another site.
pub fn is_foreign_browser_request(listen: &Listen, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN) {
        // `null` (sandboxed frames, file pages) is never the dashboard.
        Some(origin) => !origin_allowed(listen, origin.as_bytes()),
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site"),
    }
}

fn refuse(message: &str) -> Response {
    let body = serde_json::json!({ "error": { "message": message, "code": "forbidden" } });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// A refusal for a request from a foreign `Host` (DNS rebinding) or, for a state-changing
/// management call, from a foreign page.
pub fn screen(listen: &Listen, request: &Request) -> Option<Response> {
    let management = is_management(request.uri().path());
    // Clients of a server bound to a public address reach it under any name; keys guard it.
    if management || listen.is_loopback() {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().authority().map(|a| a.as_str()));
        if !host.map(host_name).is_some_and(|h| host_allowed(listen, h)) {
            tracing::warn!(host = ?host, "refused a request for a foreign Host (DNS rebinding?)");
            return Some(refuse(
                "This host name is not allowed. Use 127.0.0.1 or localhost.",
            ));
        }
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if management && changes_state && is_foreign_browser_request(listen, request.headers()) {
        tracing::warn!("refused a cross-site management request");
        return Some(refuse(
            "Cross-site requests may not change NineRouter's settings.",
        ));
    }
    None
}

/// The guard for everything but the client APIs, whose own key gate screens first (one
/// layer on the hot path instead of two).
pub fn host_and_origin(core: &Arc<Core>, request: Request) -> Verdict {
    match screen(&core.listen, &request) {
        Some(refusal) => Verdict::Answer(refusal),
        None => Verdict::Pass(request),
    }
}

/// CORS for the management API: the dashboard's own origins only.
pub fn management_cors(listen: Listen) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin_allowed(&listen, origin.as_bytes())
        }))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
}

/// CORS for the client APIs: any origin may ask, but a foreign origin must present a key.
pub fn client_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(tower_http::cors::Any)
        .expose_headers(tower_http::cors::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(addr: &str) -> Listen {
        Listen {
            addr: addr
                .parse()
                .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 1))),
            allowed_hosts: vec!["router.lan".into()],
        }
    }

    #[test]
    fn host_names_are_parsed_with_ports_and_brackets() {
        assert_eq!(host_name("localhost:20128"), "localhost");
        assert_eq!(host_name("[::1]:20128"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn only_loopback_bound_and_allowed_hosts_pass() {
        let l = listen("127.0.0.1:20128");
        assert!(host_allowed(&l, "localhost"));
        assert!(host_allowed(&l, "127.0.0.1"));
        assert!(host_allowed(&l, "::1"));
        assert!(host_allowed(&l, "ROUTER.lan"));
        assert!(!host_allowed(&l, "evil.example"));
        assert!(!host_allowed(&l, "127.0.0.1.nip.io"));
    }

    #[test]
    fn origins_must_match_scheme_host_and_port() {
        let l = listen("127.0.0.1:20128");
        assert!(origin_allowed(&l, b"http://127.0.0.1:20128"));
        assert!(origin_allowed(&l, b"http://localhost:20128"));
        assert!(origin_allowed(&l, b"tauri://localhost"));
        assert!(!origin_allowed(&l, b"http://localhost:3000"));
        assert!(!origin_allowed(&l, b"https://evil.example"));
        assert!(!origin_allowed(&l, b"null"));
    }
}
