//! Claude subscription quota: `GET /api/oauth/usage` with the account's token. `five_hour`,
//! `seven_day` and the per-model weekly windows (`seven_day_opus`…) carry `utilization` (a
//! percentage) and `resets_at`.

use serde_json::Value;

use super::OAUTH_BETA;
use crate::quota::model::{QuotaWindow, Window};

pub async fn fetch(
    http: &reqwest::Client,
    api_base: &str,
    token: &str,
) -> Result<Vec<QuotaWindow>, String> {
    let request = http
        .get(format!("{api_base}/api/oauth/usage"))
        .bearer_auth(token)
        .header("anthropic-beta", OAUTH_BETA);
    windows(&crate::quota::usage_answer(request, "Anthropic").await?)
}

fn windows(body: &[u8]) -> Result<Vec<QuotaWindow>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let object = value
        .as_object()
        .ok_or("unexpected answer: not an object")?;
    let mut out = Vec::new();
    for (name, w) in object {
        let window = match name.as_str() {
            "five_hour" => Window::FiveHour,
            n if n.starts_with("seven_day") => Window::Weekly,
            _ => continue,
        };
        let Some(percent) = w.get("utilization").and_then(Value::as_f64) else {
            continue;
        };
        let model = name.strip_prefix("seven_day_").map(str::to_owned);
        let metric = match &model {
            Some(model) => format!("{model}-usage"),
            None => "usage".to_owned(),
        };
        out.push(QuotaWindow {
            window,
            metric,
            model,
            used: None,
            limit: None,
            remaining: None,
            percent_used: Some(percent.clamp(0.0, 100.0)),
            resets_at_ms: w
                .get("resets_at")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_hour_and_weekly_windows_with_their_resets() {
        let body = include_bytes!("../../../tests/fixtures/quota/claude_usage.json");
        let w = windows(body).unwrap_or_default();
        assert_eq!(w.len(), 3, "{w:?}");
        let five = w.iter().find(|x| x.window == Window::FiveHour);
        assert_eq!(five.and_then(|x| x.percent_used), Some(37.0));
        let reset = "2026-11-21T13:00:00Z"
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond());
        assert_eq!(five.and_then(|x| x.resets_at_ms), reset);
        assert!(
            w.iter()
                .any(|x| x.window == Window::Weekly && x.metric == "opus-usage")
        );
    }
}
