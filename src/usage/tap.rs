//! Records a streamed answer when it is over: at its end, at a break, or when the client
//! goes away. Time to first token is when the first bytes reached the client's stream.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;

use super::record::{Recorder, Tokens, UsageRecord};
use crate::proxy::{ByteStream, Meter};

/// Status recorded for a stream the client closed before its end (nginx's convention).
const CLIENT_CLOSED: u16 = 499;
/// Status recorded for a stream that ended with an error event.
const BROKE_MID_STREAM: u16 = 502;

pub fn tap_stream(
    events: ByteStream,
    meter: Meter,
    record: UsageRecord,
    recorder: Recorder,
    started: Instant,
) -> ByteStream {
    Box::pin(Tapped {
        events,
        meter,
        pending: Some((record, recorder)),
        started,
        first_byte: None,
        ended: false,
    })
}

struct Tapped {
    events: ByteStream,
    meter: Meter,
    pending: Option<(UsageRecord, Recorder)>,
    started: Instant,
    first_byte: Option<Instant>,
    ended: bool,
}

impl Stream for Tapped {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let next = self.events.as_mut().poll_next(cx);
        match &next {
            Poll::Ready(Some(_)) if self.first_byte.is_none() => {
                self.first_byte = Some(Instant::now());
            }
            Poll::Ready(None) => self.ended = true,
            _ => {}
        }
        next
    }
}

impl Drop for Tapped {
    fn drop(&mut self) {
        let Some((mut record, recorder)) = self.pending.take() else {
            return;
        };
        let metered = self.meter.lock().map(|m| m.clone()).unwrap_or_default();
        let ms = |at: Instant| i64::try_from(at.duration_since(self.started).as_millis()).ok();
        record.tokens = Tokens::Counted(metered.usage);
        record.ttft_ms = self.first_byte.and_then(ms);
        record.latency_ms = ms(Instant::now()).unwrap_or(0);
        if metered.failed {
            record.status = BROKE_MID_STREAM;
        } else if !self.ended {
            record.status = CLIENT_CLOSED;
        }
        recorder.record(record);
    }
}
