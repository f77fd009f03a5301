//! Catching an authorization redirect on a local port: the browser is sent to
//! `http://localhost:<port><path>?code=…&state=…` and this listener hands the query to the
//! login, then shows the user how it ended. Providers that registered fixed ports (Codex) get
//! those, in order; the others any free port. When every fixed port is held by another
//! program, the error says which one, so the user can close it or paste the redirect instead.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;
use tokio::net::TcpListener;

/// What the provider put on the redirect.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Every port asked for is taken.
#[derive(Debug, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct Busy(pub Vec<(u16, Option<String>)>);

fn describe(ports: &[(u16, Option<String>)]) -> String {
    let each: Vec<String> = ports
        .iter()
        .map(|(port, holder)| match holder {
            Some(h) => format!("port {port} is in use by {h}"),
            None => format!("port {port} is in use by another program"),
        })
        .collect();
    each.join("; ")
}

/// Binds the first free port of `ports` on 127.0.0.1 (any free port when `ports` is empty).
pub async fn bind(ports: &[u16]) -> Result<(TcpListener, u16), Busy> {
    if ports.is_empty() {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|_| Busy(vec![(0, None)]))?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        return Ok((listener, port));
    }
    let mut busy = Vec::new();
    for &port in ports {
        match TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await {
            Ok(listener) => return Ok((listener, port)),
            Err(_) => busy.push((port, holder(port))),
        }
    }
    Err(Busy(busy))
}

/// The program listening on `port`, as "name (pid N)", where the OS tells.
fn holder(port: u16) -> Option<String> {
    listeners::get_process_by_port(port, listeners::Protocol::TCP)
        .ok()
        .map(|p| format!("{} (pid {})", p.name, p.pid))
}

/// How a caught redirect ended, for the page the browser shows.
pub type Outcome = Result<String, String>;

/// Serves `path` on `listener` until the task is aborted: each redirect with a code or an
/// error goes to `on_callback`, whose outcome the browser shows. Other requests get a 404.
pub async fn serve<F, Fut>(listener: TcpListener, path: &str, on_callback: F)
where
    F: Fn(Callback) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    type Handler =
        Arc<dyn Fn(Callback) -> futures_util::future::BoxFuture<'static, Outcome> + Send + Sync>;
    let handler: Handler = Arc::new(move |c| Box::pin(on_callback(c)));
    async fn caught(
        State(handler): State<Handler>,
        Query(callback): Query<Callback>,
    ) -> (http::StatusCode, Html<String>) {
        if callback.code.is_none() && callback.error.is_none() {
            return (
                http::StatusCode::BAD_REQUEST,
                page(
                    "Nothing to do",
                    "This address only takes a login's redirect.",
                ),
            );
        }
        match handler(callback).await {
            Ok(message) => (http::StatusCode::OK, page("Logged in", &message)),
            Err(message) => (
                http::StatusCode::BAD_REQUEST,
                page("Login failed", &message),
            ),
        }
    }
    let app = axum::Router::new()
        .route(path, axum::routing::get(caught))
        .with_state(handler);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!("the login's redirect listener stopped: {e}");
    }
}

fn page(title: &str, message: &str) -> Html<String> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>NineRouter: {t}</title>\
         <body style=\"font:16px system-ui;margin:15vh auto;max-width:32em\">\
         <h1>{t}</h1><p>{m}</p><p>You can close this tab and go back to NineRouter.</p>",
        t = escape(title),
        m = escape(message)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_port_moves_to_the_next_and_all_taken_names_them() {
        let (first, p1) = bind(&[]).await.unwrap_or_else(|e| panic!("{e}"));
        let (second, p2) = bind(&[]).await.unwrap_or_else(|e| panic!("{e}"));
        drop(second);
        let (_moved, got) = bind(&[p1, p2]).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, p2);
        let Err(busy) = bind(&[p1, p2]).await else {
            panic!("both ports are taken");
        };
        let text = busy.to_string();
        assert!(text.contains(&format!("port {p1} is in use by")), "{text}");
        // This very process holds them, so the OS can name it.
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(first);
    }

    #[tokio::test]
    async fn redirects_reach_the_login_and_the_browser_sees_the_outcome() {
        let (listener, port) = bind(&[]).await.unwrap_or_else(|e| panic!("{e}"));
        let server = tokio::spawn(serve(listener, "/cb", |c: Callback| async move {
            match c.code {
                Some(code) => Ok(format!("code {code}")),
                None => Err(c.error.unwrap_or_default()),
            }
        }));
        let get = |q: &'static str| async move {
            let r = reqwest::get(format!("http://127.0.0.1:{port}{q}"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        };
        let (status, body) = get("/cb?code=abc&state=s").await;
        assert_eq!(status, 200);
        assert!(body.contains("code abc"), "{body}");
        let (status, body) = get("/cb?error=access_denied").await;
        assert_eq!(status, 400);
        assert!(body.contains("access_denied"), "{body}");
        assert_eq!(get("/cb").await.0, 400);
        assert_eq!(get("/other").await.0, 404);
        server.abort();
    }
}
