//! What is recorded for one request, and the handle the request path sends it through.

use std::sync::mpsc::Sender;

use crate::events::Attempt;
use crate::format::Api;
use crate::inspector::{DetailMessage, Tokens};

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
    /// The proxy key's limit that refused the request (`rpm`, `model`, `expired`…).
    pub limited: Option<&'static str>,
    /// The inspector lists this request: its detail follows, and takes its token counts from
    /// this record rather than reading the answer again.
    pub listed: bool,
}

/// What the request path hands the recording thread, in one queue.
#[derive(Debug)]
pub enum Recording {
    Usage(Box<UsageRecord>),
    Detail(DetailMessage),
    /// Commit what has come and end (sent once the server has drained).
    Stop,
}

/// Sends usage records to the recording thread. Unbounded on purpose: a usage record is
/// small and must never be dropped (inspector detail, which can be large, is bounded by the
/// `Inspector` handle in front of the same queue).
#[derive(Clone)]
pub struct Recorder {
    tx: Sender<Recording>,
}

impl Recorder {
    pub fn new(tx: Sender<Recording>) -> Self {
        Self { tx }
    }

    pub fn record(&self, record: UsageRecord) {
        if self.tx.send(Recording::Usage(Box::new(record))).is_err() {
            tracing::warn!("the recording thread has stopped; a usage record was not saved");
        }
    }

    /// Asks the recording thread to commit and end.
    pub fn stop(&self) {
        let _ = self.tx.send(Recording::Stop);
    }
}
