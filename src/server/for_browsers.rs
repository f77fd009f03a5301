//! A layer only requests from web pages go through. CORS concerns browsers alone, and a
//! browser names the page's origin in every request CORS applies to; the coding agents that
//! make nearly all of the client APIs' traffic send none, and tower-http's CORS layer cost
//! them about 4 % of a passthrough's instructions (its header maps, `Vary`, on every answer).

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::ORIGIN;
use axum::response::Response;
use futures_util::future::Either;
use tower_layer::Layer;
use tower_service::Service;

/// Wraps a service so that requests with an `Origin` header go through `L` and the others
/// straight to the service. For services that are always ready, as axum's routes are (both
/// paths are polled for readiness, one is called).
#[derive(Clone)]
pub struct ForBrowsers<L>(pub L);

impl<S: Clone, L: Layer<S>> Layer<S> for ForBrowsers<L> {
    type Service = Split<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Split {
            browsers: self.0.layer(inner.clone()),
            others: inner,
        }
    }
}

#[derive(Clone)]
pub struct Split<B, S> {
    browsers: B,
    others: S,
}

impl<B, S> Service<Request> for Split<B, S>
where
    B: Service<Request, Response = Response, Error = Infallible>,
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<B::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match (self.browsers.poll_ready(cx), self.others.poll_ready(cx)) {
            (Poll::Ready(Ok(())), Poll::Ready(Ok(()))) => Poll::Ready(Ok(())),
            _ => Poll::Pending,
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.headers().contains_key(ORIGIN) {
            Either::Left(self.browsers.call(request))
        } else {
            Either::Right(self.others.call(request))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;

    #[tokio::test]
    async fn only_requests_from_a_page_get_cors_headers() {
        let mut app = Router::new()
            .route("/v1/chat/completions", post(|| async { "ok" }))
            .layer(ForBrowsers(crate::server::guard::client_cors()));
        let ask = |origin: Option<&str>, method: &str| {
            let mut r = Request::builder()
                .method(method)
                .uri("/v1/chat/completions");
            if let Some(o) = origin {
                r = r
                    .header("origin", o)
                    .header("access-control-request-method", "POST");
            }
            r.body(Body::empty()).unwrap_or_default()
        };
        let Ok(agent) = app.call(ask(None, "POST")).await;
        assert_eq!(agent.status(), 200);
        assert!(agent.headers().get("access-control-allow-origin").is_none());
        assert!(agent.headers().get("vary").is_none());
        let Ok(page) = app.call(ask(Some("https://app.example"), "POST")).await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["access-control-allow-origin"], "*");
        assert!(page.headers().get("vary").is_some());
        let Ok(preflight) = app.call(ask(Some("https://app.example"), "OPTIONS")).await;
        assert_eq!(preflight.status(), 200);
        assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
        assert!(
            preflight
                .headers()
                .contains_key("access-control-allow-methods")
        );
    }
}
