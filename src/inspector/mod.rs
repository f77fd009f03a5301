//! The request inspector: per request, the client's request, the request sent to the
//! provider, the provider's raw answer and the answer sent to the client.
//!
//! The request path only moves refcounted bytes into a bounded queue (`usage::capture`); the
//! recorder stores them scrubbed of secrets (`write`); parsing and display happen only when
//! someone looks (`render`, `table`). Under overload the queue refuses new detail and counts
//! it; usage records never go through it.

mod detail;
mod raw;
mod redact;
mod render;
mod table;
mod write;

pub use detail::{Begin, Captured, DetailMessage, End, ProviderSide, Tokens};
pub use raw::RawLog;
pub use redact::{REDACTED, Redactor};
pub use render::{AnswerView, Layer, ToolCallView};
pub use table::{
    AttemptView, Detail, DetailFilter, DetailPage, DetailSummary, Pagination, TokenCounts,
    full_details, get_detail, list_details,
};
pub use write::{Limits, Retention, apply, close_interrupted};
