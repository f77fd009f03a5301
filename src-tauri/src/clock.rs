//! Times as a tray line shows them: "14:05" when it is within a day, "Mon 14:05" beyond.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Times further ahead than this are written with their weekday.
pub const NAMES_THE_DAY_BEYOND_MS: i64 = 20 * 3_600_000;

pub fn at_time(epoch_ms: i64, tz: &TimeZone, now_ms: i64) -> String {
    let Ok(ts) = Timestamp::from_millisecond(epoch_ms) else {
        return "later".into();
    };
    let zoned = ts.to_zoned(tz.clone());
    if epoch_ms - now_ms < NAMES_THE_DAY_BEYOND_MS {
        zoned.strftime("%H:%M").to_string()
    } else {
        zoned.strftime("%a %H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_times_are_clock_times_and_far_ones_name_the_day() {
        let now = 1_763_712_000_000; // Fri 2025-11-21 08:00 UTC
        assert_eq!(at_time(now + 65 * 60_000, &TimeZone::UTC, now), "09:05");
        assert_eq!(
            at_time(now + 2 * 86_400_000, &TimeZone::UTC, now),
            "Sun 08:00"
        );
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC);
        assert_eq!(at_time(now, &tokyo, now), "17:00");
    }
}
