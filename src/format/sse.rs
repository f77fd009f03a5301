//! Splits an SSE byte stream into whole events, keeping each event's exact bytes. The
//! passthrough forwards those bytes untouched; only whole events are forwarded so that a
//! broken upstream never leaves the client with half an event before our error event.
//!
//! (The SSE crates parse events into fields and drop the raw bytes, which the byte-exact
//! passthrough and the inspector need.)

use bytes::{Bytes, BytesMut};

use super::{Event, StreamDecoder};

/// One complete event: its raw bytes (terminator included) and its joined `data` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub raw: Bytes,
    /// `None` for comment-only or field-less blocks (keep-alives).
    pub data: Option<String>,
}

/// The largest event a provider may send (a whole base64 image fits); past it the stream is
/// refused rather than buffered without end.
pub const MAX_EVENT: usize = 32 << 20;

#[derive(Default)]
pub struct SseFramer {
    buf: BytesMut,
    /// How far the buffer has been searched for an event's end, so that each byte is looked
    /// at a bounded number of times however the event is cut into chunks.
    scanned: usize,
}

impl SseFramer {
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received that do not yet form a whole event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Whether the unfinished event has grown past `MAX_EVENT`.
    pub fn overflowed(&self) -> bool {
        self.buf.len() > MAX_EVENT
    }

    /// The next complete event, if the buffer holds one.
    pub fn next_event(&mut self) -> Option<RawEvent> {
        // A terminator pair may straddle the previous search's end: look back over it.
        let from = self.scanned.saturating_sub(3);
        let Some(end) = find_event_end(&self.buf, from) else {
            self.scanned = self.buf.len();
            return None;
        };
        self.scanned = 0;
        let raw = self.buf.split_to(end).freeze();
        let data = parse_data(&raw);
        Some(RawEvent { raw, data })
    }
}

/// The index just past the blank line that ends the first event (`\n\n`, `\r\n\r\n`, `\r\r`).
/// The search starts at `from`, which must not be past a line terminator not yet looked at.
fn find_event_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        let line_end = match buf[i] {
            b'\n' => Some(i + 1),
            b'\r' if buf.get(i + 1) == Some(&b'\n') => Some(i + 2),
            b'\r' if i + 1 < buf.len() => Some(i + 1),
            // A lone `\r` at the end may be the start of `\r\n`: wait for more.
            b'\r' => return None,
            _ => None,
        };
        if let Some(next) = line_end {
            match buf.get(next) {
                Some(b'\n') => return Some(next + 1),
                Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => return Some(next + 2),
                Some(b'\r') if next + 1 < buf.len() => return Some(next + 1),
                _ => {}
            }
            i = next;
        } else {
            i += 1;
        }
    }
    None
}

/// Every event of a whole SSE body, the unterminated last one included.
pub fn split_events(body: &[u8]) -> Vec<RawEvent> {
    let mut framer = SseFramer::default();
    framer.push(body);
    framer.push(b"\n\n");
    std::iter::from_fn(|| framer.next_event()).collect()
}

/// The `event:` field of a raw event.
pub fn event_name(raw: &[u8]) -> Option<String> {
    String::from_utf8_lossy(raw).lines().find_map(|line| {
        let v = line.trim_end_matches('\r').strip_prefix("event:")?;
        Some(v.strip_prefix(' ').unwrap_or(v).to_owned())
    })
}

fn parse_data(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let mut data: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let value = if line == "data" {
            Some("")
        } else {
            line.strip_prefix("data:")
                .map(|v| v.strip_prefix(' ').unwrap_or(v))
        };
        if let Some(v) = value {
            match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(v);
                }
                None => data = Some(v.to_owned()),
            }
        }
    }
    data
}

/// Drains a whole SSE body into canonical events (a non-streaming client whose upstream
/// answered with a stream).
pub fn decode_all(decoder: &mut dyn StreamDecoder, body: &[u8]) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    feed_all(decoder, body, &mut events)?;
    decoder.end(&mut events);
    if !decoder.is_complete() {
        return Err("the provider's stream ended before it was complete".into());
    }
    Ok(events)
}

/// The events of an SSE body as far as they can be read (a stream cut short included): what
/// the inspector shows of a stream.
pub fn events_so_far(decoder: &mut dyn StreamDecoder, body: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let _ = feed_all(decoder, body, &mut events);
    decoder.end(&mut events);
    events
}

fn feed_all(
    decoder: &mut dyn StreamDecoder,
    body: &[u8],
    events: &mut Vec<Event>,
) -> Result<(), String> {
    for event in split_events(body) {
        if let Some(data) = event.data.as_deref() {
            decoder.feed(data, events)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<RawEvent> {
        let mut f = SseFramer::default();
        let mut out = Vec::new();
        for c in chunks {
            f.push(c.as_bytes());
            while let Some(e) = f.next_event() {
                out.push(e);
            }
        }
        out
    }

    #[test]
    fn frames_events_split_across_chunks_and_keeps_raw_bytes() {
        let got = events(&["data: {\"a\"", ":1}\n", "\ndata: [DONE]\n\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].raw[..], b"data: {\"a\":1}\n\n");
        assert_eq!(got[0].data.as_deref(), Some("{\"a\":1}"));
        assert_eq!(got[1].data.as_deref(), Some("[DONE]"));
    }

    #[test]
    fn handles_crlf_comments_event_names_and_multiline_data() {
        let got = events(&[": ping\r\n\r\nevent: x\r\ndata: a\r\ndata: b\r", "\n\r\n"]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].data, None);
        assert_eq!(got[1].data.as_deref(), Some("a\nb"));
        assert_eq!(event_name(&got[1].raw).as_deref(), Some("x"));
        assert_eq!(event_name(&got[0].raw), None);
    }

    #[test]
    fn events_cut_at_every_byte_frame_as_when_whole() {
        let stream = "data: a\r\n\r\nevent: x\ndata: b\n\n: c\r\r\ndata: d\n\r\n";
        let whole = events(&[stream]);
        assert_eq!(whole.len(), 4);
        let bytes: Vec<String> = stream.chars().map(String::from).collect();
        let cut: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(events(&cut), whole);
    }

    #[test]
    fn an_endless_event_overflows_instead_of_growing() {
        let mut f = SseFramer::default();
        let chunk = vec![b'x'; 1 << 20];
        f.push(b"data: ");
        for _ in 0..=(MAX_EVENT >> 20) {
            assert!(f.next_event().is_none());
            f.push(&chunk);
        }
        assert!(f.next_event().is_none());
        assert!(f.overflowed());
    }

    #[test]
    fn an_unfinished_event_stays_pending() {
        let mut f = SseFramer::default();
        f.push(b"data: {\"partial\":");
        assert!(f.next_event().is_none());
        assert_eq!(f.pending(), 17);
    }

    proptest::proptest! {
        /// However a stream is cut, the framer keeps every byte: the events it gives back and
        /// what it still holds are the input, in order.
        #[test]
        fn framing_loses_and_invents_nothing(
            chunks in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(b"data: {}x\r\n\r\n:ev".to_vec()),
                    0..40,
                ),
                0..10,
            ),
        ) {
            let mut f = SseFramer::default();
            let mut out = Vec::new();
            for c in &chunks {
                f.push(c);
                while let Some(e) = f.next_event() {
                    out.extend_from_slice(&e.raw);
                }
            }
            let input: Vec<u8> = chunks.concat();
            proptest::prop_assert_eq!(out.len() + f.pending(), input.len());
            proptest::prop_assert_eq!(&input[..out.len()], &out[..]);
            let whole: Vec<u8> = split_events(&input).iter().flat_map(|e| e.raw.to_vec()).collect();
            proptest::prop_assert!(whole.starts_with(&input));
        }
    }
}
