//! What is recorded for one request, and the handle the request path sends it through.

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::events::Attempt;
use crate::format::{Api, Usage};

/// Where a record's token counts come from. A whole answer's body is read by the writer, off
/// the request path; a stream's counts were tallied while it was relayed.
#[derive(Debug, Clone)]
pub enum Tokens {
    Counted(Usage),
    InBody(Bytes),
    None,
}

#[derive(Debug, Clone)]
pub struct UsageRecord {
    /// The id the client sees in `x-ninerouter-request-id` and the inspector lists.
    pub request_id: String,
    pub started_ms: i64,
    pub api: Api,
    pub endpoint: &'static str,
    /// The proxy key the client presented, when it was one of ours.
    pub key_id: Option<String>,
    /// The combo the requested model named, directly or through an alias.
    pub combo: Option<String>,
    pub requested_model: String,
    /// Provider id, upstream model and account that answered; `None` when none did.
    pub provider: Option<String>,
    pub model: Option<String>,
    pub account_id: Option<String>,
    /// The failed tries before the answer: the fallback path.
    pub attempts: Vec<Attempt>,
    pub status: u16,
    pub tokens: Tokens,
    pub streamed: bool,
    pub ttft_ms: Option<i64>,
    pub latency_ms: i64,
}

/// Sends records to the writer. Unbounded on purpose: a usage record is small and must never
/// be dropped; the writer drains the queue in batches.
#[derive(Clone)]
pub struct Recorder {
    tx: UnboundedSender<UsageRecord>,
}

impl Recorder {
    pub fn new(tx: UnboundedSender<UsageRecord>) -> Self {
        Self { tx }
    }

    pub fn record(&self, record: UsageRecord) {
        if self.tx.send(record).is_err() {
            tracing::warn!("usage writer has stopped; a usage record was not saved");
        }
    }
}
