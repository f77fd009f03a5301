//! What a relayed stream says about itself, read when it is over: its usage, whether it
//! broke, and (when the inspector asked) the upstream's raw bytes.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::Stream;

use crate::format::Usage;
use crate::inspector::RawLog;

pub type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

/// What a relayed stream said about itself, read when it is over (usage recording).
#[derive(Debug, Default, Clone)]
pub struct Metered {
    pub usage: Usage,
    /// The stream ended with an error event (a break, a stall, a provider error).
    pub failed: bool,
    /// The upstream's raw bytes, kept only when the inspector asked for them.
    pub raw: Option<RawLog>,
}

pub type Meter = Arc<Mutex<Metered>>;

impl Metered {
    /// A meter for an answer whose counts are already known (a whole answer replayed).
    pub fn counted(usage: Usage) -> Meter {
        Arc::new(Mutex::new(Self {
            usage,
            failed: false,
            raw: None,
        }))
    }
}

/// Makes `meter` keep the upstream's raw bytes in `log`.
pub fn log_raw(meter: &Meter, log: RawLog) {
    meter.lock().unwrap_or_else(|p| p.into_inner()).raw = Some(log);
}

/// The raw bytes kept so far, if any were asked for.
pub fn take_raw(meter: &Meter) -> Option<RawLog> {
    meter.lock().unwrap_or_else(|p| p.into_inner()).raw.take()
}

/// Hands the raw bytes a pump kept back to the meter (once, when the stream is over).
pub fn deposit_raw(meter: &Meter, log: RawLog) {
    meter.lock().unwrap_or_else(|p| p.into_inner()).raw = Some(log);
}
