//! Quota per account: windows (per minute, 5-hour, daily, weekly, monthly) with what is used,
//! the limit and when it resets. Fed by the rate-limit headers API-key providers send with
//! every answer (`headers`), and by the usage endpoints of providers that publish one (each
//! provider's module reads its own, with `http::usage_answer`; `manage` fetches them on a
//! schedule and on demand). The snapshots in memory live in `usage::Quotas`.

mod headers;
mod http;
pub mod model;

pub use headers::from_headers;
pub use http::usage_answer;
pub use model::{QuotaSnapshot, QuotaSource, QuotaWindow, SnapshotView, Window, WindowView, view};
