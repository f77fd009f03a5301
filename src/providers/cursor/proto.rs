//! The protobuf messages of Cursor's chat service that NineRouter writes and reads
//! (`aiserver.v1.ChatService/StreamUnifiedChatWithTools`). Field numbers are Cursor's; names
//! follow its own schema where known. Fields Cursor's IDE sends that carry nothing for a
//! routed request are left out.

/// The request frame's payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatRequestWithTools {
    #[prost(message, optional, tag = "1")]
    pub request: Option<ChatRequest>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatRequest {
    #[prost(message, repeated, tag = "1")]
    pub conversation: Vec<ConversationMessage>,
    #[prost(int32, tag = "2")]
    pub unknown2: i32,
    /// The IDE's explicit context; sent empty, the system prompt travels as a message.
    #[prost(message, optional, tag = "3")]
    pub explicit_context: Option<ExplicitContext>,
    #[prost(int32, tag = "4")]
    pub unknown4: i32,
    #[prost(message, optional, tag = "5")]
    pub model: Option<ModelDetails>,
    #[prost(bool, tag = "13")]
    pub should_cache: bool,
    #[prost(bool, tag = "19")]
    pub use_new_compression_scheme: bool,
    #[prost(string, tag = "23")]
    pub conversation_id: String,
    #[prost(message, optional, tag = "26")]
    pub environment: Option<EnvironmentInfo>,
    #[prost(bool, tag = "27")]
    pub is_agentic: bool,
    #[prost(int32, repeated, tag = "29")]
    pub supported_tools: Vec<i32>,
    #[prost(message, repeated, tag = "30")]
    pub headers: Vec<MessageHeader>,
    #[prost(message, repeated, tag = "34")]
    pub mcp_tools: Vec<McpTool>,
    /// 1 chat ("Ask"), 2 agent.
    #[prost(int32, tag = "46")]
    pub unified_mode: i32,
    #[prost(bool, tag = "48")]
    pub should_disable_tools: bool,
    /// 0 none, 1 medium, 2 high.
    #[prost(int32, tag = "49")]
    pub thinking_level: i32,
    #[prost(bool, tag = "53")]
    pub mode_uses_auto_apply: bool,
    #[prost(string, tag = "54")]
    pub unified_mode_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConversationMessage {
    #[prost(string, tag = "1")]
    pub text: String,
    /// 1 the user, 2 the assistant.
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(string, tag = "13")]
    pub bubble_id: String,
    #[prost(bool, tag = "29")]
    pub is_agentic: bool,
    #[prost(int32, tag = "47")]
    pub unified_mode: i32,
    #[prost(int32, repeated, tag = "51")]
    pub supported_tools: Vec<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExplicitContext {
    #[prost(string, tag = "1")]
    pub context: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelDetails {
    #[prost(string, tag = "1")]
    pub model_name: String,
    #[prost(bytes = "vec", tag = "4")]
    pub azure_state: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EnvironmentInfo {
    #[prost(string, tag = "1")]
    pub platform: String,
    #[prost(string, tag = "2")]
    pub arch: String,
    #[prost(string, tag = "5")]
    pub local_timestamp: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MessageHeader {
    #[prost(string, tag = "1")]
    pub bubble_id: String,
    #[prost(int32, tag = "3")]
    pub r#type: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct McpTool {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub description: String,
    /// The JSON schema of the arguments, as text.
    #[prost(string, tag = "3")]
    pub parameters: String,
    #[prost(string, tag = "4")]
    pub server_name: String,
}

/// One frame of the answer: a tool call, or a piece of the reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatResponseWithTools {
    #[prost(message, optional, tag = "1")]
    pub tool_call: Option<ToolCall>,
    #[prost(message, optional, tag = "2")]
    pub response: Option<ChatResponse>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ChatResponse {
    #[prost(string, tag = "1")]
    pub text: String,
    #[prost(message, optional, tag = "25")]
    pub thinking: Option<Thinking>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Thinking {
    #[prost(string, tag = "1")]
    pub text: String,
    #[prost(string, tag = "2")]
    pub signature: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ToolCall {
    /// The call's id; Cursor appends `\nmc_<model call id>`.
    #[prost(string, tag = "3")]
    pub tool_call_id: String,
    #[prost(string, tag = "9")]
    pub name: String,
    /// A fragment of the arguments' JSON text.
    #[prost(string, tag = "10")]
    pub raw_args: String,
    #[prost(bool, tag = "14")]
    pub is_streaming: bool,
    #[prost(bool, tag = "15")]
    pub is_last_message: bool,
    #[prost(message, optional, tag = "27")]
    pub mcp_params: Option<McpParams>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct McpParams {
    #[prost(message, repeated, tag = "1")]
    pub tools: Vec<McpTool>,
}

/// The MCP tool kind in `supported_tools`: client tools are offered to Cursor as MCP tools.
pub const CLIENT_SIDE_TOOL_MCP: i32 = 19;
