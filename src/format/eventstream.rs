//! AWS event-stream framing (Kiro's answers): binary frames, each a prelude with the total
//! and header lengths and its own CRC, headers (`:message-type`, `:event-type`…), a JSON
//! payload, and a CRC of the whole frame. The frames are cut here; reading and checking them
//! is `aws-smithy-eventstream`'s. Each frame becomes one "event" for a stream decoder:
//! `"<event type>\n<payload>"`, or `"!<exception type>\n<payload>"` for an error frame.

use aws_smithy_types::event_stream::{HeaderValue, Message};

use super::codec::Framer as _;
use bytes::BytesMut;

/// The smallest frame: a 12-byte prelude and the 4-byte message CRC.
const MIN_FRAME: usize = 16;
/// Kiro's frames are small; a length beyond this means the stream is not event-stream.
const MAX_FRAME: usize = 16 * 1024 * 1024;

#[derive(Default)]
pub struct Framer {
    buf: BytesMut,
}

impl super::codec::Framer for Framer {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received that do not yet form a whole frame.
    fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame as a decoder event; an error for a frame that fails its checks.
    fn next_event(&mut self) -> Result<Option<String>, String> {
        let Some(prelude) = self.buf.get(..4) else {
            return Ok(None);
        };
        let total = usize::try_from(u32::from_be_bytes([
            prelude[0], prelude[1], prelude[2], prelude[3],
        ]))
        .unwrap_or(usize::MAX);
        if !(MIN_FRAME..=MAX_FRAME).contains(&total) {
            return Err(format!(
                "the provider sent a malformed event-stream frame ({total} bytes)"
            ));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        let message = aws_smithy_eventstream::frame::read_message_from(frame)
            .map_err(|e| format!("the provider sent a damaged event-stream frame: {e}"))?;
        Ok(Some(event_of(&message)))
    }
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| match h.value() {
            HeaderValue::String(s) => Some(s.as_str()),
            _ => None,
        })
}

fn event_of(message: &Message) -> String {
    let payload = String::from_utf8_lossy(message.payload());
    match header(message, ":message-type") {
        Some("exception" | "error") => {
            let kind = header(message, ":exception-type")
                .or_else(|| header(message, ":error-code"))
                .unwrap_or("error");
            format!("!{kind}\n{payload}")
        }
        _ => format!(
            "{}\n{payload}",
            header(message, ":event-type").unwrap_or("")
        ),
    }
}

/// Every frame of a whole body (a non-streaming answer).
pub fn events(body: &[u8]) -> Result<Vec<String>, String> {
    let mut framer = Framer::default();
    framer.push(body);
    let mut out = Vec::new();
    while let Some(event) = framer.next_event()? {
        out.push(event);
    }
    if framer.pending() > 0 {
        return Err("the provider's event stream ended in the middle of a frame".into());
    }
    Ok(out)
}

/// One event frame as Kiro sends it (for fakes and tests).
pub fn frame(event_type: &str, payload: &str) -> Vec<u8> {
    encode("event", (":event-type", event_type), payload)
}

/// One exception frame, as AWS ends a stream that failed (for fakes and tests).
pub fn exception(kind: &str, payload: &str) -> Vec<u8> {
    encode("exception", (":exception-type", kind), payload)
}

fn encode(message_type: &str, (name, kind): (&str, &str), payload: &str) -> Vec<u8> {
    use aws_smithy_types::event_stream::Header;
    let text = |s: &str| HeaderValue::String(s.to_owned().into());
    let message = Message::new_from_parts(
        vec![
            Header::new(":message-type", text(message_type)),
            Header::new(name.to_owned(), text(kind)),
            Header::new(":content-type", text("application/json")),
        ],
        payload.as_bytes().to_vec(),
    );
    let mut out = Vec::new();
    // Writing to a Vec cannot fail for frames this small.
    let _ = aws_smithy_eventstream::frame::write_message_to(&message, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_across_chunks_and_checked() {
        let mut bytes = frame("assistantResponseEvent", r#"{"content":"Hi"}"#);
        bytes.extend(frame(
            "toolUseEvent",
            r#"{"name":"f","toolUseId":"t1","input":"{}","stop":true}"#,
        ));
        let mut framer = Framer::default();
        let mut got = Vec::new();
        for chunk in bytes.chunks(7) {
            framer.push(chunk);
            while let Some(e) = framer.next_event().unwrap_or_else(|e| panic!("{e}")) {
                got.push(e);
            }
        }
        assert_eq!(got[0], "assistantResponseEvent\n{\"content\":\"Hi\"}");
        assert!(got[1].starts_with("toolUseEvent\n"));
        assert_eq!(framer.pending(), 0);

        // A flipped payload byte fails the CRC.
        let mut damaged = frame("assistantResponseEvent", r#"{"content":"Hi"}"#);
        let at = damaged.len() - 8;
        damaged[at] ^= 0x20;
        assert!(events(&damaged).is_err());
        // A cut frame is not a whole stream.
        let whole = frame("assistantResponseEvent", "{}");
        assert!(events(&whole[..whole.len() - 1]).is_err());
    }
}
