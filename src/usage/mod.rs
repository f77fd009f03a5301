//! Usage and cost: one record per client request, sent to a writer task so the request path
//! never waits on disk, and the queries the dashboard's charts read.

mod query;
mod record;
mod tap;
mod writer;

pub use crate::catalog::prices::{price_of, table as price_table};
pub use query::{Bucket, GroupBy, Summary, SummaryRow, TimePoint, summary, timeseries};
pub use record::{Recorder, Recording, Tokens, UsageRecord};
pub use tap::{DetailTail, StreamEnd, tap_stream};
pub use writer::{FLUSH_INTERVAL, spawn as spawn_recorder};
