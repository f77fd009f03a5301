//! Usage and cost: one record per client request, sent to a writer task so the request path
//! never waits on disk, and the queries the dashboard's charts read.

mod prices;
mod query;
mod record;
mod tap;
mod writer;

pub use prices::{Price, price_of};
pub use query::{Bucket, GroupBy, Summary, SummaryRow, TimePoint, summary, timeseries};
pub use record::{Recorder, Tokens, UsageRecord};
pub use tap::tap_stream;
pub use writer::run as run_writer;
