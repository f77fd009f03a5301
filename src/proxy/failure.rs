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
        let e = e.without_url();
        let mut text = format!("{during}: {e}");
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        Self::new(class, text)
    }
}
