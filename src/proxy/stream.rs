//! Streaming answers. Nothing reaches the client until the upstream's first whole event has
//! been read and understood, so failures before it can still fail over; after it, problems
//! become one well-formed error event in the client's API, last.
//!
//! Same format on both sides forwards the upstream's event bytes untouched while a decoder
//! watches them; otherwise each event goes upstream decoder → canonical events → client encoder.

use std::collections::VecDeque;
use std::pin::Pin;

use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, timeout_at};

use super::failure::Failure;
use crate::format::sse::{RawEvent, SseFramer};
use crate::format::{self, Api, Event, StreamDecoder, StreamEncoder};
use crate::inspector::RawLog;
use crate::routing::FailureClass;
use crate::usage::{ByteStream, Meter, deposit_raw};

type Upstream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// How the upstream's stream is cut into events.
pub enum Framing {
    Sse,
    /// Binary frames (Kiro's AWS event-stream, a native protocol's envelopes), each turned
    /// into one decoder event. Never forwarded as they are: no client speaks them.
    Frames(Box<dyn format::codec::Framer>),
}

enum Framer {
    Sse(SseFramer),
    Frames(Box<dyn format::codec::Framer>),
}

impl Framer {
    fn new(framing: Framing) -> Self {
        match framing {
            Framing::Sse => Self::Sse(SseFramer::default()),
            Framing::Frames(f) => Self::Frames(f),
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        match self {
            Self::Sse(f) => f.push(chunk),
            Self::Frames(f) => f.push(chunk),
        }
    }

    fn pending(&self) -> usize {
        match self {
            Self::Sse(f) => f.pending(),
            Self::Frames(f) => f.pending(),
        }
    }

    /// The next whole event; an error for a frame that fails its checks.
    fn next_event(&mut self) -> Result<Option<RawEvent>, String> {
        match self {
            Self::Sse(f) => match f.next_event() {
                None if f.overflowed() => Err(format!(
                    "the provider sent a stream event larger than {} MiB",
                    crate::format::sse::MAX_EVENT >> 20
                )),
                next => Ok(next),
            },
            Self::Frames(f) => Ok(f.next_event()?.map(|data| RawEvent {
                raw: Bytes::new(),
                data: Some(data),
            })),
        }
    }
}

pub enum Mode {
    /// The client speaks the upstream's format: its bytes are forwarded as they are.
    Passthrough(Api),
    Translate(Box<dyn StreamEncoder>),
}

/// Reads until the first whole event that yields output for the client (within `deadline`)
/// and returns a stream that starts with it. Failures before that point are returned for
/// failover.
pub async fn open(
    response: super::Reply,
    framing: Framing,
    deadline: Instant,
    idle: Duration,
    decoder: Box<dyn StreamDecoder>,
    mode: Mode,
    meter: Meter,
) -> Result<ByteStream, Failure> {
    let mut upstream: Upstream =
        Box::pin(http_body_util::BodyDataStream::new(response.into_body()));
    // The pump keeps the raw bytes itself (no lock per chunk) and hands them back when dropped.
    let raw = meter.lock().ok().and_then(|mut m| m.raw.take());
    let mut pump = Pump {
        raw,
        framer: Framer::new(framing),
        queue: VecDeque::new(),
        idle,
        decoder,
        mode,
        events: Vec::new(),
        saw_done: false,
        last_sequence: None,
        finished: false,
        meter,
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
        if let Some(raw) = pump.raw.as_mut() {
            raw.push(&chunk);
        }
        pump.framer.push(&chunk);
        while let Some(event) = pump
            .framer
            .next_event()
            .map_err(|m| Failure::new(FailureClass::BadResponse, m))?
        {
            if let Err(message) = pump.take(event) {
                return Err(Failure::new(FailureClass::from_reported(&message), message));
            }
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
    /// The upstream's raw bytes, when the inspector keeps them.
    raw: Option<RawLog>,
    framer: Framer,
    queue: VecDeque<Bytes>,
    idle: Duration,
    decoder: Box<dyn StreamDecoder>,
    mode: Mode,
    events: Vec<Event>,
    /// OpenAI Chat passthrough: whether the upstream sent its own `[DONE]`.
    saw_done: bool,
    /// Responses passthrough: an error event must continue the upstream's numbering.
    last_sequence: Option<u64>,
    finished: bool,
    meter: Meter,
}

impl Pump {
    /// Decodes one upstream event and queues what the client gets for it.
    fn take(&mut self, event: RawEvent) -> Result<(), String> {
        // Keep-alive comments only matter to us, not the client.
        let Some(data) = event.data.as_deref() else {
            return Ok(());
        };
        self.decoder.feed(data, &mut self.events)?;
        self.note_usage();
        match &mut self.mode {
            Mode::Passthrough(api) => {
                if data == "[DONE]" {
                    self.saw_done = true;
                }
                if *api == Api::Responses {
                    self.last_sequence = sequence_number(data).or(self.last_sequence);
                }
                self.events.clear();
                self.queue.push_back(event.raw);
            }
            Mode::Translate(encoder) => {
                let mut out = Vec::new();
                for e in self.events.drain(..) {
                    encoder.encode(&e, &mut out);
                }
                if !out.is_empty() {
                    self.queue.push_back(Bytes::from(out));
                }
            }
        }
        Ok(())
    }

    fn note_usage(&self) {
        for e in &self.events {
            if let Event::Usage(u) = e {
                let mut m = self.meter.lock().unwrap_or_else(|p| p.into_inner());
                m.usage.merge(*u);
            }
        }
    }

    fn fail(&mut self, message: &str) {
        self.meter.lock().unwrap_or_else(|p| p.into_inner()).failed = true;
        let out = match &mut self.mode {
            Mode::Translate(encoder) => {
                let mut out = Vec::new();
                encoder.fail(message, &mut out);
                out
            }
            Mode::Passthrough(api) => format::stream_error(*api, message, self.last_sequence),
        };
        self.queue.push_back(Bytes::from(out));
        self.finished = true;
    }

    /// The upstream closed the stream.
    fn end(&mut self) {
        self.finished = true;
        self.decoder.end(&mut self.events);
        self.note_usage();
        if !self.decoder.is_complete() || self.framer.pending() > 0 {
            self.fail("the provider ended the stream before it was complete");
            return;
        }
        match &mut self.mode {
            Mode::Translate(encoder) => {
                let mut out = Vec::new();
                for e in self.events.drain(..) {
                    encoder.encode(&e, &mut out);
                }
                encoder.finish(&mut out);
                self.queue.push_back(Bytes::from(out));
            }
            Mode::Passthrough(api) => {
                self.events.clear();
                // Some providers end without the sentinel; OpenAI clients expect it.
                if *api == Api::OpenaiChat && !self.saw_done {
                    self.queue
                        .push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                }
            }
        }
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
                    if let Some(raw) = self.raw.as_mut() {
                        raw.push(&chunk);
                    }
                    self.framer.push(&chunk);
                    while !self.finished {
                        match self.framer.next_event() {
                            Ok(Some(event)) => {
                                if let Err(message) = self.take(event) {
                                    self.fail(&message);
                                }
                            }
                            Ok(None) => break,
                            Err(message) => self.fail(&message),
                        }
                    }
                }
                Ok(Some(Err(e))) => {
                    let f =
                        Failure::from_reqwest(e, "the connection to the provider broke mid-stream");
                    tracing::warn!(reason = %f.message, "stream interrupted");
                    self.fail(&f.message);
                }
                Ok(None) => self.end(),
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

impl Drop for Pump {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            deposit_raw(&self.meter, raw);
        }
    }
}

/// `"sequence_number":N` from a Responses event, without parsing the whole event again.
fn sequence_number(data: &str) -> Option<u64> {
    let at = data.rfind("\"sequence_number\":")? + "\"sequence_number\":".len();
    let digits: String = data[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_found_without_a_parse() {
        assert_eq!(
            sequence_number(r#"{"type":"x","sequence_number": 41}"#),
            Some(41)
        );
        assert_eq!(sequence_number(r#"{"type":"x"}"#), None);
    }
}
