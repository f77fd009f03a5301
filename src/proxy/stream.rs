//! Streaming answers. Nothing reaches the client until the upstream's first whole event has
//! arrived, so failures before it can still fail over; after it, problems become one
//! well-formed error event in the client's format (OpenAI Chat here).

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, timeout_at};

use super::failure::Failure;
use super::sse::{RawEvent, SseFramer};
use crate::routing::FailureClass;

pub type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;
type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Reads until the first whole data event (within `deadline`) and returns a stream that
/// starts with it. Failures before that point are returned for failover.
pub async fn open(
    response: reqwest::Response,
    deadline: Instant,
    idle: Duration,
) -> Result<ByteStream, Failure> {
    let mut upstream: Upstream = Box::pin(response.bytes_stream());
    let mut pump = Pump {
        framer: SseFramer::default(),
        queue: VecDeque::new(),
        idle,
        saw_done: false,
        saw_finish: false,
        finished: false,
    };
    loop {
        let chunk = match timeout_at(deadline, upstream.next()).await {
            Err(_) => {
                return Err(Failure::new(
                    FailureClass::Timeout,
                    "the provider sent no stream event in time",
                ));
            }
            Ok(None) => {
                return Err(Failure::new(
                    FailureClass::Network,
                    "the provider closed the stream before its first event",
                ));
            }
            Ok(Some(Err(e))) => {
                return Err(Failure::from_reqwest(
                    e,
                    "the stream broke before its first event",
                ));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        pump.framer.push(&chunk);
        while let Some(event) = pump.framer.next_event() {
            // Keep-alive comments before the first event only matter to us, not the client.
            let Some(data) = event.data.as_deref() else {
                continue;
            };
            if let Err(message) = pump.inspect(data) {
                return Err(Failure::new(FailureClass::BadResponse, message));
            }
            pump.queue.push_back(event.raw);
        }
        if !pump.queue.is_empty() {
            break;
        }
    }
    Ok(Box::pin(futures_util::stream::unfold(
        (pump, upstream),
        |(mut pump, mut upstream)| async move {
            let next = pump.next(&mut upstream).await?;
            Some((next, (pump, upstream)))
        },
    )))
}

struct Pump {
    framer: SseFramer,
    queue: VecDeque<Bytes>,
    idle: Duration,
    saw_done: bool,
    saw_finish: bool,
    finished: bool,
}

impl Pump {
    /// Checks one event's data; remembers `[DONE]` and a finish reason.
    fn inspect(&mut self, data: &str) -> Result<(), String> {
        if data == "[DONE]" {
            self.saw_done = true;
            return Ok(());
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(data).is_err() {
            return Err("the provider sent a malformed stream event (not JSON)".into());
        }
        if data.contains("\"finish_reason\":\"") || data.contains("\"finish_reason\": \"") {
            self.saw_finish = true;
        }
        Ok(())
    }

    fn accept(&mut self, event: RawEvent) {
        if let Some(data) = event.data.as_deref()
            && let Err(message) = self.inspect(data)
        {
            self.fail(&message);
            return;
        }
        self.queue.push_back(event.raw);
    }

    fn drain_complete_events(&mut self) {
        while !self.finished
            && let Some(event) = self.framer.next_event()
        {
            self.accept(event);
        }
    }

    fn fail(&mut self, message: &str) {
        self.queue.push_back(error_event(message));
        self.finished = true;
    }

    async fn next(&mut self, upstream: &mut Upstream) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.queue.pop_front() {
                return Some(bytes);
            }
            if self.finished {
                return None;
            }
            match tokio::time::timeout(self.idle, upstream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    self.framer.push(&chunk);
                    self.drain_complete_events();
                }
                Ok(Some(Err(e))) => {
                    let f =
                        Failure::from_reqwest(e, "the connection to the provider broke mid-stream");
                    tracing::warn!(reason = %f.message, "stream interrupted");
                    self.fail(&f.message);
                }
                Ok(None) => {
                    self.finished = true;
                    if !self.saw_done {
                        if self.saw_finish && self.framer.pending() == 0 {
                            // Some providers end without the sentinel; clients expect it.
                            self.queue
                                .push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                        } else {
                            self.fail("the provider ended the stream before it was complete");
                        }
                    }
                }
                Err(_) => {
                    let secs = self.idle.as_secs_f64();
                    self.fail(&format!(
                        "the provider sent nothing for {secs:.1} s mid-stream"
                    ));
                }
            }
        }
    }
}

/// An OpenAI Chat stream error event: the official SDKs raise it as an API error.
pub fn error_event(message: &str) -> Bytes {
    let body = serde_json::json!({
        "error": {
            "message": message,
            "type": "upstream_error",
            "param": null,
            "code": "stream_interrupted",
        }
    });
    Bytes::from(format!("data: {body}\n\n"))
}
