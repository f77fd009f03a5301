//! What the request path hands the inspector: refcounted bytes and header maps, nothing
//! parsed. A streamed request is written twice: when its stream starts, and when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::mpsc::{self, OwnedPermit};

use crate::events::Attempt;
use crate::format::Api;
use crate::usage::Tokens;

/// How many messages may wait for the writer before new detail is dropped.
const QUEUE: usize = 4096;

/// Bytes kept in arrival order, up to a cap; what is cut is counted.
#[derive(Debug, Clone, Default)]
pub struct RawLog {
    pub chunks: Vec<Bytes>,
    pub len: usize,
    cap: usize,
    pub truncated: bool,
}

impl RawLog {
    pub fn with_cap(cap: usize) -> Self {
        Self {
            cap,
            ..Self::default()
        }
    }

    pub fn whole(body: Bytes, cap: usize) -> Self {
        let mut log = Self::with_cap(cap);
        log.push(&body);
        log
    }

    pub fn push(&mut self, chunk: &Bytes) {
        let room = self.cap.saturating_sub(self.len);
        if chunk.len() > room {
            self.truncated = true;
        }
        let kept = chunk.slice(..chunk.len().min(room));
        if !kept.is_empty() {
            self.len += kept.len();
            self.chunks.push(kept);
        }
    }

    pub fn concat(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for c in &self.chunks {
            out.extend_from_slice(c);
        }
        out
    }
}

/// One side of an exchange: headers and body (and the URL or status where it has one).
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub url: Option<String>,
    pub status: Option<u16>,
    pub headers: HeaderMap,
    pub body: RawLog,
}

/// The provider side of the last attempt: what was sent, and what came back (for a stream,
/// the body arrives later through the stream's meter).
#[derive(Debug, Clone, Default)]
pub struct ProviderSide {
    pub request: Option<Captured>,
    pub response: Option<Captured>,
}

/// What is known when a request has been routed.
#[derive(Debug, Clone)]
pub struct Begin {
    pub id: String,
    pub started_ms: i64,
    pub api: Api,
    pub endpoint: &'static str,
    pub requested_model: String,
    pub key_id: Option<String>,
    pub combo: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub account_id: Option<String>,
    pub attempts: Vec<Attempt>,
    pub streamed: bool,
    pub client_request: Captured,
    pub provider_request: Option<Captured>,
}

/// What is known when the answer is over.
#[derive(Debug, Clone)]
pub struct End {
    pub id: String,
    pub api: Api,
    /// Format of the provider that answered, to read its raw answer.
    pub provider_wire: Option<crate::providers::WireFormat>,
    pub status: u16,
    pub tokens: Tokens,
    pub ttft_ms: Option<i64>,
    pub latency_ms: i64,
    pub provider_response: Option<Captured>,
    pub client_response: Captured,
}

#[derive(Debug)]
pub enum DetailMessage {
    Begin(Box<Begin>),
    End(Box<End>),
}

/// The request path's handle: a bounded queue and a count of what it refused.
#[derive(Clone)]
pub struct Inspector {
    tx: mpsc::Sender<DetailMessage>,
    dropped: Arc<AtomicU64>,
}

/// A slot reserved for a streamed request's end, so an end is never lost once its beginning
/// was written.
pub struct PendingEnd {
    permit: OwnedPermit<DetailMessage>,
}

impl PendingEnd {
    pub fn send(self, end: End) {
        self.permit.send(DetailMessage::End(Box::new(end)));
    }
}

impl Inspector {
    pub fn new() -> (Self, mpsc::Receiver<DetailMessage>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let me = Self {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (me, rx)
    }

    /// Requests whose detail was refused because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn reserve(&self) -> Option<OwnedPermit<DetailMessage>> {
        self.tx.clone().try_reserve_owned().ok()
    }

    /// Writes a request that is already over.
    pub fn whole(&self, begin: Begin, end: End) {
        match (self.reserve(), self.reserve()) {
            (Some(a), Some(b)) => {
                a.send(DetailMessage::Begin(Box::new(begin)));
                b.send(DetailMessage::End(Box::new(end)));
            }
            _ => self.count_drop(),
        }
    }

    /// Writes a streamed request at its start; its end goes through the returned slot.
    pub fn begin(&self, begin: Begin) -> Option<PendingEnd> {
        match (self.reserve(), self.reserve()) {
            (Some(a), Some(b)) => {
                a.send(DetailMessage::Begin(Box::new(begin)));
                Some(PendingEnd { permit: b })
            }
            _ => {
                self.count_drop();
                None
            }
        }
    }

    fn count_drop(&self) {
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                dropped = n,
                "the inspector writer is behind; request detail was dropped (usage is kept)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_log_keeps_bytes_up_to_its_cap_and_says_it_cut() {
        let mut log = RawLog::with_cap(5);
        log.push(&Bytes::from_static(b"abc"));
        log.push(&Bytes::from_static(b"defg"));
        log.push(&Bytes::from_static(b"h"));
        assert_eq!(log.concat(), b"abcde");
        assert!(log.truncated);
        assert_eq!(RawLog::whole(Bytes::from_static(b"xy"), 5).concat(), b"xy");
    }

    #[tokio::test]
    async fn a_full_queue_drops_detail_and_counts_it() {
        let (inspector, mut rx) = Inspector::new();
        let begin = |id: &str| Begin {
            id: id.into(),
            started_ms: 0,
            api: Api::OpenaiChat,
            endpoint: "/v1/chat/completions",
            requested_model: "m".into(),
            key_id: None,
            combo: None,
            provider: None,
            model: None,
            account_id: None,
            attempts: Vec::new(),
            streamed: true,
            client_request: Captured::default(),
            provider_request: None,
        };
        let mut pending = Vec::new();
        for i in 0..QUEUE / 2 {
            pending.push(inspector.begin(begin(&i.to_string())));
        }
        assert!(pending.iter().all(Option::is_some));
        assert!(inspector.begin(begin("over")).is_none());
        assert_eq!(inspector.dropped(), 1);
        // Every reserved end can still be sent even though the queue is full.
        assert!(rx.try_recv().is_ok());
        for p in pending.into_iter().flatten() {
            p.send(End {
                id: String::new(),
                api: Api::OpenaiChat,
                provider_wire: None,
                status: 200,
                tokens: Tokens::None,
                ttft_ms: None,
                latency_ms: 0,
                provider_response: None,
                client_response: Captured::default(),
            });
        }
    }
}
