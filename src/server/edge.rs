//! The whole app as the one service hyper calls: it times the request body and turns a
//! handler's panic into an answer. Applied with `Router::layer`, each of these wrapped every
//! route in a boxed service of its own, which cost an allocation, a clone and a copy of the
//! handler's large future per request; here they wrap the router once.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;
use tower_service::Service;

use super::slow_body::{self, BodyTimes};

type RouterFuture = <Router as Service<axum::extract::Request>>::Future;

#[derive(Clone)]
pub struct Edge {
    router: Router,
    times: BodyTimes,
    on_panic: fn() -> Response,
}

impl Edge {
    pub fn new(router: Router, times: BodyTimes, on_panic: fn() -> Response) -> Self {
        Self {
            router,
            times,
            on_panic,
        }
    }
}

impl<B> Service<http::Request<B>> for Edge
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<axum::extract::Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: http::Request<B>) -> EdgeFuture {
        let request = slow_body::timed(&self.times, request.map(Body::new));
        // axum runs its routes' layers and handlers when the future is polled; a panic in
        // `call` itself (route matching) is answered all the same.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.router.call(request))) {
            Ok(inner) => EdgeFuture::Running {
                inner: AssertUnwindSafe(inner).catch_unwind(),
                on_panic: self.on_panic,
            },
            Err(_) => EdgeFuture::Answered {
                answer: Some((self.on_panic)()),
            },
        }
    }
}

pin_project_lite::pin_project! {
    #[project = EdgeProjection]
    pub enum EdgeFuture {
        Running {
            #[pin]
            inner: CatchUnwind<AssertUnwindSafe<RouterFuture>>,
            on_panic: fn() -> Response,
        },
        Answered {
            answer: Option<Response>,
        },
    }
}

impl Future for EdgeFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            EdgeProjection::Running { inner, on_panic } => {
                Poll::Ready(ready!(inner.poll(cx)).unwrap_or_else(|_| Ok(on_panic())))
            }
            // Polled again after its answer (which a caller must not do): an empty one.
            EdgeProjection::Answered { answer } => {
                Poll::Ready(Ok(answer.take().unwrap_or_default()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::gate::tests::seen;
    use crate::server::gate::{Gate, Verdict};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use futures_util::StreamExt as _;
    use std::time::Duration;

    fn edge() -> Edge {
        let router = Router::new()
            .route("/fine", get(|| async { "fine" }))
            .route(
                "/read",
                post(|request: axum::extract::Request| async move {
                    match axum::body::to_bytes(request.into_body(), 1024).await {
                        Ok(_) => "read",
                        Err(e) if crate::server::client_api::is_too_slow(&e) => "too slow",
                        Err(_) => "failed",
                    }
                }),
            )
            .route(
                "/broken",
                get(|| async {
                    let none: Option<&str> = None;
                    none.map_or_else(|| panic!("a handler's bug"), str::to_owned)
                }),
            )
            .route("/refused", get(|| async { "unreachable" }))
            .layer(Gate::new((), |(), request| {
                if request.uri().path() == "/refused" {
                    panic!("a check's bug");
                }
                Verdict::Pass(request)
            }));
        let times = BodyTimes {
            idle: Duration::from_millis(100),
            total: Duration::from_secs(1),
        };
        Edge::new(router, times, || {
            (StatusCode::INTERNAL_SERVER_ERROR, "caught").into_response()
        })
    }

    async fn send(request: axum::extract::Request) -> (StatusCode, String) {
        let Ok(response) = edge().call(request).await;
        seen(response).await
    }

    fn get_(path: &str) -> axum::extract::Request {
        http::Request::get(path)
            .body(Body::empty())
            .unwrap_or_default()
    }

    /// The check panics while axum polls the route's future, like the handler.
    #[tokio::test]
    async fn a_panic_in_a_handler_or_in_a_layers_check_is_answered() {
        assert_eq!(send(get_("/fine")).await, (StatusCode::OK, "fine".into()));
        let caught = (StatusCode::INTERNAL_SERVER_ERROR, "caught".into());
        assert_eq!(send(get_("/broken")).await, caught);
        assert_eq!(send(get_("/refused")).await, caught);
    }

    #[tokio::test(start_paused = true)]
    async fn the_request_body_is_timed() {
        let stalled =
            futures_util::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("a")) })
                .chain(futures_util::stream::pending());
        let request = http::Request::post("/read")
            .body(Body::from_stream(stalled))
            .unwrap_or_default();
        // Were the body not timed, the clock would run on to this bound instead.
        let answer = tokio::time::timeout(Duration::from_secs(60), send(request)).await;
        assert_eq!(answer.ok(), Some((StatusCode::OK, "too slow".into())));
    }
}
