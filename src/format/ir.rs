//! The canonical representation every API is decoded into and encoded from. It is a superset of
//! the supported APIs, so a request crosses formats by one decode and one encode (N modules, not
//! N²). Tool schemas stay raw JSON: they are copied, never interpreted.

use serde_json::value::RawValue;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub model: String,
    /// Top-level instructions in order (Anthropic `system`, Gemini `systemInstruction`,
    /// Responses `instructions`, leading OpenAI system/developer messages).
    pub system: Vec<TextBlock>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub reasoning: Option<Reasoning>,
    pub response_format: Option<ResponseFormat>,
    /// An end-user identifier (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    /// OpenAI's cache routing hint (Chat and Responses `prompt_cache_key`): kept across the
    /// two so a translated conversation still hits the cache.
    pub prompt_cache_key: Option<String>,
    pub stream: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextBlock {
    pub text: String,
    /// An Anthropic `cache_control` breakpoint; other APIs cache implicitly.
    pub cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A system or developer message in the middle of the conversation.
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text { text: String, cache: bool },
    Image(Media),
    Document(Media),
    Thinking(Thinking),
    RedactedThinking { data: String },
    ToolCall(ToolCall),
    ToolResult(ToolResult),
}

impl Part {
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text {
            text: text.into(),
            cache: false,
        }
    }
}

/// The text parts of a message, concatenated (for APIs that carry one string per turn).
pub fn text_of(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        if let Part::Text { text, .. } = p {
            out.push_str(text);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub struct Thinking {
    pub text: String,
    /// Opaque proof the provider issued this thinking; passed back untouched.
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    Url { url: String },
    Base64 { media_type: String, data: String },
}

impl Media {
    /// `data:` URLs carry base64 media inline; everything else is a plain URL.
    pub fn from_url(url: &str) -> Self {
        if let Some(rest) = url.strip_prefix("data:")
            && let Some((meta, data)) = rest.split_once(',')
            && let Some(media_type) = meta.strip_suffix(";base64")
        {
            return Media::Base64 {
                media_type: media_type.to_owned(),
                data: data.to_owned(),
            };
        }
        Media::Url {
            url: url.to_owned(),
        }
    }

    pub fn to_url(&self) -> String {
        match self {
            Media::Url { url } => url.clone(),
            Media::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as JSON text, exactly as the model produced them.
    pub arguments: String,
    /// Gemini's `thoughtSignature` on a function call part.
    pub signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub call_id: String,
    /// Gemini needs the function name; other APIs find it through the call id.
    pub name: Option<String>,
    /// Text and images.
    pub content: Vec<Part>,
    pub is_error: bool,
}

impl ToolResult {
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.content {
            if let Part::Text { text, .. } = p {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub enum Tool {
    Function(FunctionTool),
    /// A provider-run web search (Responses `web_search`, Anthropic `web_search_*`,
    /// Gemini `googleSearch`).
    WebSearch,
}

impl PartialEq for Tool {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Tool::Function(a), Tool::Function(b)) => a == b,
            (Tool::WebSearch, Tool::WebSearch) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FunctionTool {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Box<RawValue>,
    pub strict: Option<bool>,
    pub cache: bool,
}

impl PartialEq for FunctionTool {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.description == other.description
            && self.parameters.get() == other.parameters.get()
            && self.strict == other.strict
            && self.cache == other.cache
    }
}

/// The schema of a tool that takes no parameters.
pub fn empty_schema() -> Box<RawValue> {
    RawValue::from_string(r#"{"type":"object","properties":{}}"#.to_owned())
        .unwrap_or_else(|_| unreachable_schema())
}

#[cold]
fn unreachable_schema() -> Box<RawValue> {
    // A literal that is valid JSON cannot fail to parse; this keeps the type total.
    serde_json::value::to_raw_value(&serde_json::json!({})).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    Function(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reasoning {
    /// `minimal`, `low`, `medium`, `high`, `xhigh`.
    pub effort: Option<String>,
    pub budget_tokens: Option<u64>,
    /// The model decides how much to think (Anthropic adaptive, Gemini dynamic budget -1).
    pub adaptive: bool,
    /// Thinking explicitly switched off.
    pub disabled: bool,
    /// The client asked for a summary of the reasoning (Responses `reasoning.summary`).
    pub summary: Option<String>,
}

impl Reasoning {
    /// A token budget for APIs that only take budgets.
    pub fn budget_or_default(&self) -> u64 {
        if let Some(b) = self.budget_tokens {
            return b;
        }
        match self.effort.as_deref() {
            Some("minimal") => 1024,
            Some("low") => 4096,
            Some("medium") | None => 8192,
            Some("high") => 24576,
            _ => 32768,
        }
    }

    /// An effort level for APIs that only take levels.
    pub fn effort_or_default(&self) -> &str {
        if let Some(e) = self.effort.as_deref() {
            return e;
        }
        match self.budget_tokens {
            Some(b) if b <= 1024 => "minimal",
            Some(b) if b <= 4096 => "low",
            Some(b) if b <= 12288 => "medium",
            Some(_) => "high",
            None => "medium",
        }
    }
}

#[derive(Debug, Clone)]
pub enum ResponseFormat {
    JsonObject,
    JsonSchema {
        name: String,
        schema: Box<RawValue>,
        strict: Option<bool>,
    },
}

impl PartialEq for ResponseFormat {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ResponseFormat::JsonObject, ResponseFormat::JsonObject) => true,
            (
                ResponseFormat::JsonSchema {
                    name: a,
                    schema: sa,
                    strict: ta,
                },
                ResponseFormat::JsonSchema {
                    name: b,
                    schema: sb,
                    strict: tb,
                },
            ) => a == b && sa.get() == sb.get() && ta == tb,
            _ => false,
        }
    }
}

/// A whole (non-streamed) answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub id: String,
    pub model: String,
    /// Text, thinking and tool calls in the order the model produced them.
    pub parts: Vec<Part>,
    pub finish: Finish,
    pub usage: Usage,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Finish {
    #[default]
    Stop,
    Length,
    ToolUse,
    StopSequence(Option<String>),
    ContentFilter,
    Refusal,
    /// Anthropic `pause_turn`: a server tool paused a long turn.
    Pause,
    Error,
}

/// Token counts in disjoint buckets: `input` excludes cache reads and writes; `reasoning` is
/// the part of `output` spent thinking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub input: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Usage {
    /// Every input token, cached or not (what OpenAI calls `prompt_tokens`).
    pub fn prompt_total(&self) -> u64 {
        self.input + self.cache_read + self.cache_write
    }

    /// Later reports win field by field (Anthropic sends input at start, output at the end).
    pub fn merge(&mut self, later: Usage) {
        for (mine, theirs) in [
            (&mut self.input, later.input),
            (&mut self.cache_read, later.cache_read),
            (&mut self.cache_write, later.cache_write),
            (&mut self.output, later.output),
            (&mut self.reasoning, later.reasoning),
        ] {
            if theirs > 0 {
                *mine = theirs;
            }
        }
    }
}

/// One step of a streamed answer. Block indices are canonical: 0, 1, 2… in the order blocks
/// open, whatever the upstream numbered them.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start { id: String, model: String },
    BlockStart { index: usize, block: Block },
    Delta { index: usize, delta: Delta },
    BlockStop { index: usize },
    Usage(Usage),
    Finish(Finish),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text,
    Thinking,
    RedactedThinking { data: String },
    ToolCall { id: String, name: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    Thinking(String),
    Signature(String),
    Arguments(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_become_inline_media_and_back() {
        let m = Media::from_url("data:image/png;base64,AAAA");
        assert_eq!(
            m,
            Media::Base64 {
                media_type: "image/png".into(),
                data: "AAAA".into()
            }
        );
        assert_eq!(m.to_url(), "data:image/png;base64,AAAA");
        assert!(matches!(
            Media::from_url("https://x/y.png"),
            Media::Url { .. }
        ));
    }

    #[test]
    fn budgets_and_efforts_translate_both_ways() {
        let r = Reasoning {
            effort: Some("low".into()),
            ..Default::default()
        };
        assert_eq!(r.budget_or_default(), 4096);
        let r = Reasoning {
            budget_tokens: Some(31999),
            ..Default::default()
        };
        assert_eq!(r.effort_or_default(), "high");
    }

    #[test]
    fn later_usage_reports_fill_in_fields() {
        let mut u = Usage {
            input: 10,
            cache_read: 5,
            ..Default::default()
        };
        u.merge(Usage {
            output: 7,
            ..Default::default()
        });
        assert_eq!(u.input, 10);
        assert_eq!(u.output, 7);
        assert_eq!(u.prompt_total(), 15);
    }
}
