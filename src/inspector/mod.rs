//! The request inspector: per request, the client's request, the request sent to the
//! provider, the provider's raw answer and the answer sent to the client.
//!
//! The request path only moves refcounted bytes into a bounded queue (`capture`); parsing,
//! redaction, size caps and SQL happen in the writer task (`render`, `table`). Under overload
//! the queue refuses new detail and counts it; usage records never go through it.

mod capture;
mod redact;
mod render;
mod table;

pub use capture::{
    Begin, Captured, DetailMessage, End, Inspector, PendingEnd, ProviderSide, RawLog,
};
pub use redact::Redactor;
pub use table::{
    DetailFilter, DetailPage, Limits, apply, close_interrupted, full_details, get_detail,
    list_details, prune,
};
