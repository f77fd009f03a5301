//! `/dashboard`: the web UI, built from `ui/` by Vite and embedded in release binaries (debug
//! builds read `ui/dist` from disk), so a headless server needs nothing beside its binary.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

#[derive(rust_embed::Embed)]
#[folder = "ui/dist/"]
struct Assets;

/// `/dashboard` → `/dashboard/`, so the page's URL and its assets agree.
pub async fn redirect() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// What the dashboard may load and who may frame it: its own files only, calls to its own
/// origin (and the desktop app's IPC), and no page may frame it (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self' ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// The dashboard's own headers on every answer under `/dashboard`.
pub async fn protect(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

pub async fn serve(uri: Uri) -> Response {
    let path = uri
        .path()
        .trim_start_matches("/dashboard")
        .trim_start_matches('/');
    let (path, fallback) = match path {
        "" => ("index.html", false),
        // Hashed asset names never change content; anything else is the app's own route.
        p if p.starts_with("assets/") => (p, false),
        p => (p, true),
    };
    match Assets::get(path).or_else(|| fallback.then(|| Assets::get("index.html")).flatten()) {
        Some(file) => {
            let immutable = path.starts_with("assets/");
            let mime = file.metadata.mimetype();
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_str(mime)
                            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    ),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(if immutable {
                            "public, max-age=31536000, immutable"
                        } else {
                            "no-cache"
                        }),
                    ),
                ],
                file.data,
            )
                .into_response()
        }
        None if Assets::get("index.html").is_none() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "This NineRouter was built without its dashboard: build it with `make build` \
             (which runs the UI build in ui/ first). The router and its /api work without it.\n",
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "No such dashboard file.\n").into_response(),
    }
}
