//! Time and ids: the moment now in milliseconds, saturating arithmetic on provider-given
//! times, and short random ids for new rows.

/// `secs` seconds in milliseconds, saturating: a provider's number cannot wrap a time.
pub fn secs_ms(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

/// The moment `secs` seconds after `now_ms`, saturating.
pub fn ms_after(now_ms: i64, secs: i64) -> i64 {
    now_ms.saturating_add(secs_ms(secs))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A short random id for new rows.
pub fn new_id() -> String {
    use rand::Rng;
    let bytes: [u8; 8] = rand::rng().random();
    hex::encode(bytes)
}
