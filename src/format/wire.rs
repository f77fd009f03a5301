//! The wire formats providers speak upstream.

use serde::Serialize;

/// The wire format a provider speaks upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum WireFormat {
    OpenaiChat,
    OpenaiResponses,
    Anthropic,
    Gemini,
    GeminiCloudcode,
    Kiro,
    Ollama,
    /// A provider's own protocol, which its module encodes and decodes (Cursor's
    /// protobuf over Connect).
    Native,
}

impl WireFormat {
    /// Formats the engine can route (all but Ollama's, which only clients speak to us).
    pub fn is_routable(self) -> bool {
        matches!(
            self,
            WireFormat::OpenaiChat
                | WireFormat::OpenaiResponses
                | WireFormat::Anthropic
                | WireFormat::Gemini
                | WireFormat::GeminiCloudcode
                | WireFormat::Kiro
                | WireFormat::Native
        )
    }
}
