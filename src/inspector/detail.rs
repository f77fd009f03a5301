//! What the request path hands the inspector: refcounted bytes and header maps, nothing
//! parsed.

use bytes::Bytes;
use http::HeaderMap;

use super::RawLog;
use crate::events::Attempt;
use crate::format::{Api, Usage};

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
    /// Where every body of the request is cut, on both sides: the inspector's field cap, or 0
    /// when its budget of bodies for this second is spent (headers and outcome are kept).
    pub body_cap: usize,
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

impl Begin {
    pub(crate) fn body_bytes(&self) -> usize {
        self.client_request.body.len() + self.provider_request.as_ref().map_or(0, |p| p.body.len())
    }
}

impl End {
    pub(crate) fn body_bytes(&self) -> usize {
        self.client_response.body.len()
            + self.provider_response.as_ref().map_or(0, |p| p.body.len())
    }
}

#[derive(Debug)]
pub enum DetailMessage {
    /// A stream that has started.
    Begin(Box<Begin>),
    /// The end of a stream whose beginning was sent.
    End(Box<End>),
    /// A request that is already over.
    Whole(Box<Begin>, Box<End>),
}

impl DetailMessage {
    pub(crate) fn body_bytes(&self) -> usize {
        match self {
            Self::Begin(b) => b.body_bytes(),
            Self::End(e) => e.body_bytes(),
            Self::Whole(b, e) => b.body_bytes() + e.body_bytes(),
        }
    }
}

/// Where a record's token counts come from. A whole answer's body is read by the writer, off
/// the request path; a stream's counts were tallied while it was relayed.
#[derive(Debug, Clone)]
pub enum Tokens {
    Counted(Usage),
    InBody(Bytes),
    None,
}
