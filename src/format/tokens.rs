//! Local token estimates with the o200k_base tokenizer: for `count_tokens` answers and for
//! knowing, before sending, that a request will not fit a model's context window. Providers'
//! own tokenizers differ (Claude's counts more than o200k), so this is an estimate, never a
//! bill.

use std::sync::OnceLock;

use super::ir::{Media, Part, Request, Tool};

/// What an image or a document costs when its pixels are not looked at: about what Anthropic
/// and OpenAI charge for a typical screenshot.
const TOKENS_PER_MEDIA: usize = 1_600;

/// Framing tokens per message (role markers and separators).
const TOKENS_PER_MESSAGE: usize = 3;

/// The tokenizer is loaded on first use: its tables take tens of megabytes and most requests
/// never need them.
fn tokenizer() -> Result<&'static tiktoken_rs::CoreBPE, String> {
    static BPE: OnceLock<Result<tiktoken_rs::CoreBPE, String>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Tokens in a piece of text.
pub fn count(text: &str) -> Result<usize, String> {
    Ok(tokenizer()?.encode_ordinary(text).len())
}

/// What the model reads of a request, as text to count, and the tokens of what is not text
/// (images, documents) and of the framing.
pub struct Readable {
    pub text: String,
    pub fixed: usize,
}

impl Readable {
    pub fn of(request: &Request) -> Self {
        let mut text = String::new();
        let mut fixed = TOKENS_PER_MESSAGE * request.messages.len();
        for block in &request.system {
            push(&mut text, &block.text);
        }
        for message in &request.messages {
            for part in &message.parts {
                fixed += read_part(part, &mut text);
            }
        }
        for tool in &request.tools {
            if let Tool::Function(f) = tool {
                push(&mut text, &f.name);
                push(&mut text, f.description.as_deref().unwrap_or_default());
                push(&mut text, f.parameters.get());
            }
        }
        Self { text, fixed }
    }

    /// An upper bound that needs no tokenizer: no o200k token is shorter than one byte.
    pub fn at_most(&self) -> usize {
        self.text.len() + self.fixed
    }

    pub fn estimate(&self) -> Result<usize, String> {
        Ok(count(&self.text)? + self.fixed)
    }
}

fn push(text: &mut String, s: &str) {
    text.push_str(s);
    text.push('\n');
}

/// Appends a part's text; returns the tokens of what is not text.
fn read_part(part: &Part, text: &mut String) -> usize {
    match part {
        Part::Text { text: t, .. } => push(text, t),
        Part::Thinking(t) => push(text, &t.text),
        Part::RedactedThinking { .. } => {}
        Part::ToolCall(call) => {
            push(text, &call.name);
            push(text, &call.arguments);
        }
        Part::ToolResult(result) => {
            return result.content.iter().map(|p| read_part(p, text)).sum();
        }
        Part::Image(media) | Part::Document(media) => {
            // A URL is read as a reference; its content is not fetched to count it.
            if let Media::Url { url } = media {
                push(text, url);
            }
            return TOKENS_PER_MEDIA;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ir::{Message, Role, TextBlock};

    #[test]
    fn the_estimate_reads_system_turns_tools_and_media() {
        let mut request = Request {
            system: vec![TextBlock {
                text: "You are terse.".into(),
                cache: false,
            }],
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::text("hello there")],
            }],
            ..Default::default()
        };
        let small = Readable::of(&request);
        let tokens = small.estimate().unwrap_or_default();
        assert!(tokens > 3 && tokens <= small.at_most(), "{tokens}");

        request.messages[0].parts.push(Part::Image(Media::Base64 {
            media_type: "image/png".into(),
            data: "A".repeat(100_000),
        }));
        request.messages[0]
            .parts
            .push(Part::text("word ".repeat(1000)));
        let big = Readable::of(&request);
        let tokens = big.estimate().unwrap_or_default();
        // The image's base64 is not read as text.
        assert!((2_500..4_000).contains(&tokens), "{tokens}");
    }
}
