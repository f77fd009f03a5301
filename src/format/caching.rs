//! Prompt-cache breakpoints for requests that cross into the Anthropic format. OpenAI and
//! Gemini cache a repeated prefix by themselves; Anthropic caches only up to the blocks
//! marked `cache_control`, so a client that speaks another API would pay full price for
//! every turn. Marked: the last tool (caches the tools), the last system block, and the
//! conversation's last text block (caches every earlier turn for the next one, which finds
//! it by Anthropic's look-back). A client that marked anything itself is left as it is.
//! This decides; the Anthropic encoder marks (`anthropic::encode_request_cached`), so no
//! copy of the request is made.

use super::ir::{Part, Request, Tool};

/// Anthropic caches prompts of at least 1,024 tokens (2,048 on Haiku); shorter ones are
/// not marked. Counted roughly (4 bytes a token): a breakpoint on a prompt just too short
/// is ignored by Anthropic at no cost.
const MIN_TOKENS: usize = 1_024;

/// Whether `request` should be marked: long enough, and not marked by its client.
pub fn wants_breakpoints(request: &Request) -> bool {
    !marked(request) && text_bytes(request) / 4 >= MIN_TOKENS
}

/// The length of what the model reads, without copying it.
fn text_bytes(request: &Request) -> usize {
    fn part(p: &Part) -> usize {
        match p {
            Part::Text { text, .. } => text.len(),
            Part::Thinking(t) => t.text.len(),
            Part::ToolCall(c) => c.name.len() + c.arguments.len(),
            Part::ToolResult(r) => r.content.iter().map(part).sum(),
            _ => 0,
        }
    }
    let tools: usize = request
        .tools
        .iter()
        .map(|t| match t {
            Tool::Function(f) => {
                f.name.len()
                    + f.description.as_ref().map_or(0, String::len)
                    + f.parameters.get().len()
            }
            Tool::WebSearch => 0,
        })
        .sum();
    let system: usize = request.system.iter().map(|b| b.text.len()).sum();
    let messages: usize = request
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .map(part)
        .sum();
    tools + system + messages
}

fn marked(request: &Request) -> bool {
    request.system.iter().any(|b| b.cache)
        || request
            .tools
            .iter()
            .any(|t| matches!(t, Tool::Function(f) if f.cache))
        || request
            .messages
            .iter()
            .flat_map(|m| &m.parts)
            .any(|p| matches!(p, Part::Text { cache: true, .. }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ir::{Message, Role, TextBlock};

    fn request(system: &str, turns: &[&str]) -> Request {
        Request {
            system: vec![TextBlock {
                text: system.into(),
                cache: false,
            }],
            messages: turns
                .iter()
                .enumerate()
                .map(|(i, t)| Message {
                    role: if i % 2 == 0 {
                        Role::User
                    } else {
                        Role::Assistant
                    },
                    parts: vec![Part::text(*t)],
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_long_prompt_is_marked_at_the_system_and_its_last_turn() {
        let long = "policy ".repeat(1000);
        let r = request(&long, &["hi", "hello", "more"]);
        assert!(wants_breakpoints(&r));
        let encoded = crate::format::anthropic::encode_request_cached(&r, "m")
            .map(|e| e.body)
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&encoded).unwrap_or_default();
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        let marked: Vec<bool> = body["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m.to_string().contains("cache_control"))
            .collect();
        assert_eq!(marked, [false, false, true]);
    }

    #[test]
    fn short_prompts_and_marked_ones_are_left_alone() {
        assert!(!wants_breakpoints(&request("be brief", &["hi"])));
        let long = "policy ".repeat(1000);
        let mut own = request(&long, &["hi", "hello", "more"]);
        own.messages[0].parts[0] = Part::Text {
            text: "hi".into(),
            cache: true,
        };
        assert!(!wants_breakpoints(&own));
    }
}
