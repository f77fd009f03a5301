//! An upstream failure, classified once.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

use crate::routing::FailureClass;

#[derive(Debug)]
pub struct Failure {
    pub class: FailureClass,
    pub status: Option<StatusCode>,
    /// Safe to show: never carries a secret.
    pub message: String,
    pub hint: Option<Duration>,
    /// The provider's own error body, relayed when the client's request was at fault.
    pub body: Option<(Bytes, HeaderValue)>,
}

impl Failure {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Self {
            class,
            status: None,
            message: message.into(),
            hint: None,
            body: None,
        }
    }

    /// From a reqwest error, without its URL (which may carry a key in its query) but with
    /// its causes, which say what actually broke ("connection refused").
    pub fn from_reqwest(e: reqwest::Error, during: &str) -> Self {
        let class = if e.is_timeout() {
            FailureClass::Timeout
        } else {
            FailureClass::Network
        };
        Self::described(&e.without_url(), class, during)
    }

    /// From an error of hyper's client (which never quotes a URL), with its causes. A cause
    /// that is an I/O timeout (connecting took too long) makes it a timeout.
    pub fn from_error(e: &(dyn std::error::Error + 'static), during: &str) -> Self {
        let timed_out = causes(e).any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        });
        let class = if timed_out {
            FailureClass::Timeout
        } else {
            FailureClass::Network
        };
        Self::described(e, class, during)
    }

    fn described(e: &(dyn std::error::Error + 'static), class: FailureClass, during: &str) -> Self {
        let mut text = during.to_owned();
        for cause in causes(e) {
            text.push_str(": ");
            text.push_str(&cause.to_string());
        }
        Self::new(class, text)
    }
}

/// `e` and the errors under it, outermost first.
pub fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}
