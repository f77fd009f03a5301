//! Records a streamed answer when it is over: at its end, at a break, or when the client
//! goes away. Time to first token is when the first bytes reached the client's stream.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;

use super::PendingEnd;
use super::record::{Recorder, UsageRecord};
use super::{ByteStream, Meter};
use crate::inspector::RawLog;
use crate::inspector::{End, Tokens};

/// Status recorded for a stream the client closed before its end (nginx's convention).
const CLIENT_CLOSED: u16 = 499;
/// Status recorded for a stream that ended with an error event.
const BROKE_MID_STREAM: u16 = 502;

/// The inspector's half-written request: its reserved slot and the end as known at the start.
pub struct DetailTail {
    pub pending: PendingEnd,
    pub end: End,
}

/// What is written when a stream is over.
pub struct StreamEnd {
    pub usage: Option<(UsageRecord, Recorder)>,
    pub detail: Option<DetailTail>,
}

pub fn tap_stream(
    events: ByteStream,
    meter: Meter,
    end: StreamEnd,
    started: Instant,
) -> ByteStream {
    let sent = end
        .detail
        .as_ref()
        .map(|d| d.end.client_response.body.clone());
    Box::pin(Tapped {
        events,
        meter,
        end,
        sent,
        started,
        first_byte: None,
        ended: false,
    })
}

struct Tapped {
    events: ByteStream,
    meter: Meter,
    end: StreamEnd,
    /// What the client was sent, for the inspector.
    sent: Option<RawLog>,
    started: Instant,
    first_byte: Option<Instant>,
    ended: bool,
}

impl Stream for Tapped {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let next = self.events.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(chunk)) => {
                if self.first_byte.is_none() {
                    self.first_byte = Some(Instant::now());
                }
                if let Some(sent) = self.sent.as_mut() {
                    sent.push(chunk);
                }
            }
            Poll::Ready(None) => self.ended = true,
            Poll::Pending => {}
        }
        next
    }
}

impl Drop for Tapped {
    fn drop(&mut self) {
        // The relay goes first: dropping it hands the upstream's raw bytes to the meter.
        self.events = Box::pin(futures_util::stream::empty());
        let metered = std::mem::take(&mut *self.meter.lock().unwrap_or_else(|p| p.into_inner()));
        let ms = |at: Instant| i64::try_from(at.duration_since(self.started).as_millis()).ok();
        let ttft_ms = self.first_byte.and_then(ms);
        let latency_ms = ms(Instant::now()).unwrap_or(0);
        let status = if metered.failed {
            Some(BROKE_MID_STREAM)
        } else if !self.ended {
            Some(CLIENT_CLOSED)
        } else {
            None
        };
        if let Some((mut record, recorder)) = self.end.usage.take() {
            record.tokens = Tokens::Counted(metered.usage);
            record.ttft_ms = ttft_ms;
            record.latency_ms = latency_ms;
            if let Some(s) = status {
                record.status = s;
            }
            recorder.record(record);
        }
        if let Some(DetailTail { pending, mut end }) = self.end.detail.take() {
            end.tokens = Tokens::Counted(metered.usage);
            end.ttft_ms = ttft_ms;
            end.latency_ms = latency_ms;
            if let Some(s) = status {
                end.status = s;
            }
            if let Some(sent) = self.sent.take() {
                end.client_response.body = sent;
            }
            if let Some(provider) = end.provider_response.as_mut()
                && let Some(raw) = metered.raw
            {
                provider.body = raw;
            }
            pending.send(end);
        }
    }
}
