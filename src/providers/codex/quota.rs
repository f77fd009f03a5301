//! Codex (ChatGPT plan) quota: `GET {backend}/wham/usage` with the login's token and the
//! ChatGPT account header. `rate_limit.primary_window` (five hours) and `secondary_window`
//! (a week) carry `used_percent`, their length and `reset_at` (Unix seconds).

use serde_json::Value;

use crate::quota::model::{QuotaWindow, Window};

pub async fn fetch(
    http: &reqwest::Client,
    backend: &str,
    token: &str,
    account_id: Option<&str>,
) -> Result<Vec<QuotaWindow>, String> {
    let mut request = http
        .get(format!("{backend}/wham/usage"))
        .bearer_auth(token)
        .header("originator", super::ORIGINATOR);
    if let Some(id) = account_id {
        request = request.header("chatgpt-account-id", id);
    }
    let body = crate::quota::usage_answer(request, "ChatGPT").await?;
    windows(&body, crate::clock::now_ms())
}

fn windows(body: &[u8], now_ms: i64) -> Result<Vec<QuotaWindow>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let limits = value
        .get("rate_limit")
        .ok_or("unexpected answer: no rate_limit")?;
    let out = ["primary_window", "secondary_window"]
        .iter()
        .filter_map(|k| limits.get(*k).filter(|w| w.is_object()))
        .filter_map(|w| {
            let percent = w.get("used_percent").and_then(Value::as_f64)?;
            let seconds = w.get("limit_window_seconds").and_then(Value::as_i64);
            let resets_at_ms = w
                .get("reset_at")
                .and_then(Value::as_i64)
                .map(crate::clock::secs_ms)
                .or_else(|| {
                    w.get("reset_after_seconds")
                        .and_then(Value::as_i64)
                        .map(|s| crate::clock::ms_after(now_ms, s))
                });
            Some(QuotaWindow {
                window: window_of(seconds.unwrap_or(18_000)),
                metric: "usage".to_owned(),
                model: None,
                used: None,
                limit: None,
                remaining: None,
                percent_used: Some(percent.clamp(0.0, 100.0)),
                resets_at_ms,
            })
        })
        .collect();
    Ok(out)
}

/// The window a limit of this length is (the plans have had 3-hour, 5-hour, daily and weekly
/// ones).
fn window_of(seconds: i64) -> Window {
    match seconds {
        s if s <= 21_600 => Window::FiveHour,
        s if s <= 129_600 => Window::Daily,
        s if s <= 691_200 => Window::Weekly,
        _ => Window::Monthly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hour_and_weekly_windows_with_their_resets() {
        let body = include_bytes!("../../../tests/fixtures/quota/codex_usage.json");
        let w = windows(body, 0).unwrap_or_default();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].window, Window::FiveHour);
        assert_eq!(w[0].percent_used, Some(23.0));
        assert_eq!(w[0].resets_at_ms, Some(1_795_264_200_000));
        assert_eq!(w[1].window, Window::Weekly);
        assert_eq!(w[1].percent_used, Some(41.0));
        let relative = br#"{"rate_limit":{"primary_window":{"used_percent":100,"limit_window_seconds":10800,"reset_after_seconds":60}}}"#;
        let w = windows(relative, 1_000).unwrap_or_default();
        assert_eq!(w[0].resets_at_ms, Some(61_000));
        assert!(windows(b"{}", 0).is_err());
    }
}
