//! The streaming halves of a format: a decoder turns one upstream event's data into canonical
//! events, an encoder turns canonical events into the client's bytes. Also the helpers both
//! sides share: block bookkeeping for APIs whose blocks are implicit, and folding a stream
//! back into a whole response.

use super::ir::{Block, Delta, Event, Finish, Part, Response, Thinking, ToolCall, Usage};

/// Cuts a binary stream (AWS event-stream, Connect envelopes) into events for a decoder.
pub trait Framer: Send {
    fn push(&mut self, chunk: &[u8]);
    /// Bytes received that do not yet form a whole frame.
    fn pending(&self) -> usize;
    /// The next whole frame as a decoder event; an error for a frame that fails its checks.
    fn next_event(&mut self) -> Result<Option<String>, String>;
}

/// Every event of a whole framed body, as a stream decoder reads them.
pub fn decode_frames(
    framer: &mut dyn Framer,
    decoder: &mut dyn StreamDecoder,
    body: &[u8],
) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    framer.push(body);
    while let Some(data) = framer.next_event()? {
        decoder.feed(&data, &mut events)?;
    }
    decoder.end(&mut events);
    if !decoder.is_complete() || framer.pending() > 0 {
        return Err("the provider's stream ended before it was complete".into());
    }
    Ok(events)
}

pub trait StreamDecoder: Send {
    /// One upstream SSE event's `data`. An error means the upstream sent something that is
    /// not its format: before the first byte that fails over, after it the stream ends.
    fn feed(&mut self, data: &str, out: &mut Vec<Event>) -> Result<(), String>;
    /// The upstream said it was done (`[DONE]`, `message_stop`, `response.completed`, a
    /// finish reason).
    fn is_complete(&self) -> bool;
    /// The upstream closed: close whatever is still open.
    fn end(&mut self, out: &mut Vec<Event>);
}

pub trait StreamEncoder: Send {
    fn encode(&mut self, event: &Event, out: &mut Vec<u8>);
    /// The stream ended well: emit the API's closing frames.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// The stream broke mid-way: one well-formed error in the client's API, last.
    fn fail(&mut self, message: &str, out: &mut Vec<u8>);
}

/// One upstream event's JSON; anything else is not the provider's format.
pub fn event_json(data: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(data)
        .map_err(|_| "the provider sent a malformed stream event (not JSON)".to_owned())
}

/// The failure for an error the provider reported inside its stream.
pub fn reported_error(message: Option<&str>) -> String {
    format!(
        "the provider reported an error mid-stream: {}",
        message.unwrap_or("the provider reported an error")
    )
}

/// Stops blocks still open when the upstream closed, in the order they opened.
pub fn stop_open(open: impl Iterator<Item = usize>, out: &mut Vec<Event>) {
    let mut open: Vec<usize> = open.collect();
    open.sort_unstable();
    out.extend(open.into_iter().map(|index| Event::BlockStop { index }));
}

/// Opens and closes canonical blocks for APIs that only send deltas (OpenAI Chat, Gemini):
/// a delta of another kind closes the open block and opens a new one.
#[derive(Default)]
pub struct Blocks {
    open: Option<(usize, Key)>,
    next: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Text,
    Thinking,
    /// The upstream's own handle for a tool call (OpenAI's `index`, Gemini's part number).
    Tool(u64),
}

impl Blocks {
    /// The canonical index for a delta of `key`, opening a block (`block()`) if needed.
    pub fn index_for(
        &mut self,
        key: Key,
        block: impl FnOnce() -> Block,
        out: &mut Vec<Event>,
    ) -> usize {
        if let Some((index, open)) = &self.open
            && *open == key
        {
            return *index;
        }
        self.close(out);
        let index = self.next;
        self.next += 1;
        out.push(Event::BlockStart {
            index,
            block: block(),
        });
        self.open = Some((index, key));
        index
    }

    pub fn is_open(&self, key: &Key) -> bool {
        self.open.as_ref().is_some_and(|(_, k)| k == key)
    }

    pub fn close(&mut self, out: &mut Vec<Event>) {
        if let Some((index, _)) = self.open.take() {
            out.push(Event::BlockStop { index });
        }
    }

    pub fn text(&mut self, text: String, out: &mut Vec<Event>) {
        if text.is_empty() {
            return;
        }
        let index = self.index_for(Key::Text, || Block::Text, out);
        out.push(Event::Delta {
            index,
            delta: Delta::Text(text),
        });
    }

    pub fn thinking(&mut self, text: String, out: &mut Vec<Event>) {
        if text.is_empty() {
            return;
        }
        let index = self.index_for(Key::Thinking, || Block::Thinking, out);
        out.push(Event::Delta {
            index,
            delta: Delta::Thinking(text),
        });
    }
}

/// Folds a canonical stream into one response (a non-streaming client whose upstream
/// answered with SSE, and the tests).
#[derive(Default)]
pub struct Aggregator {
    response: Response,
    /// Canonical block index → position in `response.parts`.
    slots: Vec<Option<usize>>,
}

impl Aggregator {
    pub fn push(&mut self, event: Event) {
        let r = &mut self.response;
        match event {
            Event::Start { id, model } => {
                r.id = id;
                r.model = model;
            }
            Event::BlockStart { index, block } => {
                let part = match block {
                    Block::Text => Part::text(""),
                    Block::Thinking => Part::Thinking(Thinking {
                        text: String::new(),
                        signature: None,
                    }),
                    Block::RedactedThinking { data } => Part::RedactedThinking { data },
                    Block::ToolCall { id, name } => Part::ToolCall(ToolCall {
                        id,
                        name,
                        arguments: String::new(),
                        signature: None,
                    }),
                };
                if self.slots.len() <= index {
                    self.slots.resize(index + 1, None);
                }
                self.slots[index] = Some(r.parts.len());
                r.parts.push(part);
            }
            Event::Delta { index, delta } => {
                let Some(Some(slot)) = self.slots.get(index) else {
                    return;
                };
                match (&mut r.parts[*slot], delta) {
                    (Part::Text { text, .. }, Delta::Text(t)) => text.push_str(&t),
                    (Part::Thinking(th), Delta::Thinking(t)) => th.text.push_str(&t),
                    (Part::Thinking(th), Delta::Signature(s)) => {
                        th.signature.get_or_insert_with(String::new).push_str(&s)
                    }
                    (Part::ToolCall(call), Delta::Arguments(a)) => call.arguments.push_str(&a),
                    (Part::ToolCall(call), Delta::Signature(s)) => call.signature = Some(s),
                    _ => {}
                }
            }
            Event::BlockStop { .. } => {}
            Event::Usage(u) => r.usage.merge(u),
            Event::Finish(f) => r.finish = f,
        }
    }

    pub fn finish(mut self) -> Response {
        for part in &mut self.response.parts {
            if let Part::ToolCall(call) = part
                && call.arguments.trim().is_empty()
            {
                call.arguments = "{}".into();
            }
        }
        if self.response.finish == Finish::Stop
            && self
                .response
                .parts
                .iter()
                .any(|p| matches!(p, Part::ToolCall(_)))
        {
            self.response.finish = Finish::ToolUse;
        }
        self.response
    }
}

/// Replays a whole response as a canonical stream (a streaming client whose upstream
/// answered with JSON).
pub fn replay(response: &Response) -> Vec<Event> {
    let mut out = vec![Event::Start {
        id: response.id.clone(),
        model: response.model.clone(),
    }];
    for (index, part) in response.parts.iter().enumerate() {
        let (block, deltas): (Block, Vec<Delta>) = match part {
            Part::Text { text, .. } => (Block::Text, vec![Delta::Text(text.clone())]),
            Part::Thinking(t) => {
                let mut d = vec![Delta::Thinking(t.text.clone())];
                if let Some(s) = &t.signature {
                    d.push(Delta::Signature(s.clone()));
                }
                (Block::Thinking, d)
            }
            Part::RedactedThinking { data } => {
                (Block::RedactedThinking { data: data.clone() }, vec![])
            }
            Part::ToolCall(c) => {
                let mut d = vec![Delta::Arguments(c.arguments.clone())];
                if let Some(s) = &c.signature {
                    d.push(Delta::Signature(s.clone()));
                }
                (
                    Block::ToolCall {
                        id: c.id.clone(),
                        name: c.name.clone(),
                    },
                    d,
                )
            }
            _ => continue,
        };
        out.push(Event::BlockStart { index, block });
        for delta in deltas {
            out.push(Event::Delta { index, delta });
        }
        out.push(Event::BlockStop { index });
    }
    out.push(Event::Usage(response.usage));
    out.push(Event::Finish(response.finish.clone()));
    out
}

/// Usage reported at the end is what the encoders put in their closing frames.
#[derive(Default)]
pub struct Tally {
    pub usage: Usage,
    pub finish: Option<Finish>,
}

impl Tally {
    pub fn note(&mut self, event: &Event) {
        match event {
            Event::Usage(u) => self.usage.merge(*u),
            Event::Finish(f) => self.finish = Some(f.clone()),
            _ => {}
        }
    }
}

/// One SSE frame.
pub fn sse(out: &mut Vec<u8>, event: Option<&str>, data: &serde_json::Value) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    // Serializing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, data);
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_response_aggregates_back_to_itself() {
        let response = Response {
            id: "r1".into(),
            model: "m".into(),
            parts: vec![
                Part::Thinking(Thinking {
                    text: "hmm".into(),
                    signature: Some("sig".into()),
                }),
                Part::text("hello"),
                Part::ToolCall(ToolCall {
                    id: "c1".into(),
                    name: "f".into(),
                    arguments: r#"{"a":1}"#.into(),
                    signature: None,
                }),
            ],
            finish: Finish::ToolUse,
            usage: Usage {
                input: 3,
                output: 4,
                ..Default::default()
            },
        };
        let mut agg = Aggregator::default();
        for e in replay(&response) {
            agg.push(e);
        }
        assert_eq!(agg.finish(), response);
    }

    #[test]
    fn implicit_blocks_open_and_close_on_kind_changes() {
        let mut blocks = Blocks::default();
        let mut out = Vec::new();
        blocks.thinking("a".into(), &mut out);
        blocks.text("b".into(), &mut out);
        blocks.text("c".into(), &mut out);
        blocks.close(&mut out);
        let starts = out
            .iter()
            .filter(|e| matches!(e, Event::BlockStart { .. }))
            .count();
        let stops = out
            .iter()
            .filter(|e| matches!(e, Event::BlockStop { .. }))
            .count();
        assert_eq!((starts, stops), (2, 2));
    }
}
