//! A request body with a deadline: it fails when a piece is late (`idle` since the reader
//! last asked) or the whole is (`total` since the headers), so a client sending a byte now
//! and then cannot hold its connection for ever.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// How long a request body may take: between two pieces, and in all.
#[derive(Clone, Copy)]
pub struct BodyTimes {
    pub idle: Duration,
    pub total: Duration,
}

/// A request body that did not arrive within the server's body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTooSlow;

/// The request with its body timed from now.
pub fn timed(times: &BodyTimes, request: axum::extract::Request) -> axum::extract::Request {
    let deadline = Instant::now() + times.total;
    request.map(|inner| {
        Body::new(TimedBody {
            inner,
            deadline,
            idle: times.idle,
            wait: None,
            late: false,
        })
    })
}

pin_project_lite::pin_project! {
    struct TimedBody {
        #[pin]
        inner: Body,
        deadline: Instant,
        idle: Duration,
        // Made only once the reader has to wait: a body that is already here (most are, by
        // the time their headers are read) costs no timer.
        #[pin]
        wait: Option<Sleep>,
        late: bool,
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut this = self.project();
        if *this.late {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            this.wait.set(None);
            return Poll::Ready(frame);
        }
        if this.wait.is_none() {
            let due = (*this.deadline).min(Instant::now() + *this.idle);
            this.wait.set(Some(tokio::time::sleep_until(due)));
        }
        if let Some(wait) = this.wait.as_mut().as_pin_mut()
            && wait.poll(cx).is_ready()
        {
            *this.late = true;
            return Poll::Ready(Some(Err(axum::Error::new(BodyTooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.late || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Cut off, it ends here whatever its length said.
        if self.late {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    /// A body whose pieces come each after its pause, in milliseconds.
    fn dripping(pieces: &'static [(u64, &'static str)]) -> Body {
        Body::from_stream(futures_util::stream::unfold(
            pieces.iter(),
            |mut left| async move {
                let &(after, piece) = left.next()?;
                tokio::time::sleep(Duration::from_millis(after)).await;
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(piece.as_bytes())),
                    left,
                ))
            },
        ))
    }

    /// The body as read through the deadline: its text, or whether it failed as too slow.
    async fn read(idle_ms: u64, total_ms: u64, body: Body) -> Result<String, bool> {
        let times = BodyTimes {
            idle: Duration::from_millis(idle_ms),
            total: Duration::from_millis(total_ms),
        };
        let request = timed(&times, axum::extract::Request::new(body));
        match axum::body::to_bytes(request.into_body(), usize::MAX).await {
            Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Err(e) => Err(super::super::client_api::is_too_slow(&e)),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_in_time_arrives_whole() {
        let body = dripping(&[(0, "a"), (900, "b"), (900, "c")]);
        assert_eq!(read(1000, 5000, body).await, Ok("abc".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_idle_limit_fails_the_body() {
        let body = dripping(&[(0, "a"), (1100, "b")]);
        assert_eq!(read(1000, 5000, body).await, Err(true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_never_idle_but_never_done_fails_at_the_total_deadline() {
        let body = dripping(&[(0, "a"), (900, "b"), (900, "c"), (900, "d")]);
        let start = tokio::time::Instant::now();
        assert_eq!(read(1000, 2500, body).await, Err(true));
        assert_eq!(start.elapsed(), Duration::from_millis(2500));
    }

    /// A body that says it is 100 bytes long and never sends one.
    struct Stalled;

    impl http_body::Body for Stalled {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Pending
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(100)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_off_body_ends_and_its_length_with_it() {
        let times = BodyTimes {
            idle: Duration::from_millis(10),
            total: Duration::from_secs(1),
        };
        let request = timed(&times, axum::extract::Request::new(Body::new(Stalled)));
        let mut body = request.into_body();
        assert_eq!(body.size_hint().exact(), Some(100));
        assert!(!body.is_end_stream());
        let mut frame =
            async || std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert!(frame().await.is_some_and(|f| f.is_err()));
        assert!(frame().await.is_none());
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
    }
}
