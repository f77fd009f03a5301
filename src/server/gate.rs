//! A check that runs before the rest of the stack, as a plain tower layer. axum's
//! `middleware::from_fn` boxes the inner service's future and clones the service for every
//! request; on the proxy's path, with three such layers, that boxing and the copying of the
//! handler's large future through it were a measurable share of a request's CPU. A check that
//! needs no `.await` does not need any of it.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::{Either, Ready, ready};
use tower_layer::Layer;
use tower_service::Service;

/// What a gate does with a request.
pub enum Verdict {
    /// On to the rest of the stack, perhaps changed.
    Pass(Request),
    /// Answered by the gate itself.
    Answer(Response),
}

pub type Check<T> = fn(&T, Request) -> Verdict;

/// Runs `check` with `state` on each request before the layers and handler under it. For
/// services that are always ready, as axum's routes are: a refused request never calls the
/// inner service, so one that reserves capacity in `poll_ready` would keep it.
#[derive(Clone)]
pub struct Gate<T> {
    state: T,
    check: Check<T>,
}

impl<T> Gate<T> {
    pub fn new(state: T, check: Check<T>) -> Self {
        Self { state, check }
    }
}

impl<S, T: Clone> Layer<S> for Gate<T> {
    type Service = Gated<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        Gated {
            inner,
            gate: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Gated<S, T> {
    inner: S,
    gate: Gate<T>,
}

impl<S, T> Service<Request> for Gated<S, T>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match (self.gate.check)(&self.gate.state, request) {
            Verdict::Pass(request) => Either::Right(self.inner.call(request)),
            Verdict::Answer(answer) => Either::Left(ready(Ok(answer))),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;

    fn only_with_header(name: &&'static str, mut request: Request) -> Verdict {
        match request.headers_mut().remove(*name) {
            Some(_) => Verdict::Pass(request),
            None => Verdict::Answer(StatusCode::FORBIDDEN.into_response()),
        }
    }

    /// What a server's test sees of an answer: its status and text.
    pub(in crate::server) async fn seen(response: Response) -> (StatusCode, String) {
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn send(app: &mut Router, request: Request) -> (StatusCode, String) {
        let Ok(response) = app.call(request).await;
        seen(response).await
    }

    #[tokio::test]
    async fn a_gate_answers_what_it_refuses_and_passes_on_what_it_changed() {
        let mut app = Router::new()
            .route(
                "/",
                get(|headers: axum::http::HeaderMap| async move {
                    format!("{}", headers.contains_key("x-pass"))
                }),
            )
            .layer(Gate::new("x-pass", only_with_header));
        let refused = Request::get("/").body(Body::empty()).unwrap_or_default();
        assert_eq!(
            send(&mut app, refused).await,
            (StatusCode::FORBIDDEN, String::new())
        );
        let passed = Request::get("/")
            .header("x-pass", "1")
            .body(Body::empty())
            .unwrap_or_default();
        // The handler saw the request as the check left it: without the header.
        assert_eq!(
            send(&mut app, passed).await,
            (StatusCode::OK, "false".into())
        );
    }
}
