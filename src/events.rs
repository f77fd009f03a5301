//! Engine events for the dashboard (SSE) and the desktop tray: a broadcast bus, so a slow
//! subscriber loses old events instead of slowing the router down.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::routing::FailureClass;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EngineEvent {
    #[serde(rename_all = "camelCase")]
    Started {
        address: String,
    },
    Stopping,
    #[serde(rename_all = "camelCase")]
    ConfigChanged {
        what: String,
    },
    #[serde(rename_all = "camelCase")]
    AccountCooledDown {
        account_id: String,
        model: String,
        until_ms: i64,
        reason: String,
        /// The account's login was refused: it waits for a new login.
        needs_login: bool,
    },
    #[serde(rename_all = "camelCase")]
    AccountRecovered {
        account_id: String,
        model: String,
    },
    /// A client request arrived (before routing).
    #[serde(rename_all = "camelCase")]
    RequestStarted {
        id: String,
        api: &'static str,
        requested_model: String,
        streamed: bool,
    },
    /// A request is over and its usage record is saved.
    #[serde(rename_all = "camelCase")]
    RequestFinished {
        id: String,
        requested_model: String,
        provider: Option<String>,
        model: Option<String>,
        account_id: Option<String>,
        status: u16,
        input_tokens: u64,
        output_tokens: u64,
        cost: f64,
        latency_ms: i64,
        ttft_ms: Option<i64>,
    },
    /// This host lost or regained its shared store.
    #[serde(rename_all = "camelCase")]
    StoreLink {
        reachable: bool,
    },
    /// Routing was paused or resumed.
    #[serde(rename_all = "camelCase")]
    RoutingPaused {
        paused: bool,
    },
    /// An account's quota snapshot changed.
    #[serde(rename_all = "camelCase")]
    QuotaUpdated {
        account_id: String,
    },
    /// A provider endpoint failed several times in a row: its circuit opened, and nothing
    /// goes there until `until_ms`, then one probe.
    #[serde(rename_all = "camelCase")]
    ProviderDown {
        provider: String,
        endpoint: String,
        until_ms: i64,
        reason: String,
    },
    /// A provider endpoint whose circuit was open answered again.
    #[serde(rename_all = "camelCase")]
    ProviderUp {
        provider: String,
        endpoint: String,
    },
    /// A quota window of an account passed a warning threshold (percent used) upward.
    #[serde(rename_all = "camelCase")]
    QuotaLow {
        account_id: String,
        window: crate::quota::Window,
        metric: String,
        model: Option<String>,
        percent_used: f64,
        threshold: u8,
        resets_at_ms: Option<i64>,
    },
    #[serde(rename_all = "camelCase")]
    RequestRouted {
        requested_model: String,
        served_by: Option<ServedBy>,
        attempts: Vec<Attempt>,
        status: u16,
    },
}

/// Which target and account answered a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServedBy {
    pub provider: String,
    pub model: String,
    pub account_id: String,
}

/// One failed try on the way: the fallback path a request took.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub target: String,
    pub account_id: String,
    pub class: FailureClass,
    pub status: Option<u16>,
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<EngineEvent>,
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    pub fn publish(&self, event: EngineEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send(event);
    }

    /// Lets hot paths skip building an event nobody will read.
    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.tx.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}
