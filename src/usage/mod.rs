//! What requests used: one record per client request and the inspector's detail, sent through
//! a bounded queue (`capture`) to the recorder thread (`engine/recorder.rs`) so the request
//! path never waits on disk; the stream meter (`meter`) and the tap that records a stream when
//! it ends (`tap`); what limited proxy keys have spent (`limits`); the quota snapshots in memory (`quotas`); and the queries the dashboard's
//! charts read (`query`).

mod capture;
mod limits;
mod meter;
mod query;
mod quotas;
mod record;
mod tap;

pub use crate::catalog::prices::{price_of, table as price_table};
pub use crate::inspector::Tokens;
pub use capture::{Inspector, PendingEnd};
pub use limits::{KeyBudgets, Refusal};
pub use meter::{ByteStream, Meter, Metered, deposit_raw, log_raw, take_raw};
pub use query::{
    Bucket, GroupBy, Summary, SummaryRow, TimePoint, TimeSeries, billed_today_by_key, summary,
    timeseries,
};
pub use quotas::{Quotas, load_snapshots, run_writer as run_quota_writer};
pub use record::{Recorder, Recording, UsageRecord};
pub use tap::{DetailTail, StreamEnd, tap_stream};
