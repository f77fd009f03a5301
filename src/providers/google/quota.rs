//! Antigravity quota: `POST {cloud code}/v1internal:fetchAvailableModels` with the account's
//! project. Each model with a quota has `quotaInfo.remainingFraction` (0–1) and `resetTime`;
//! each becomes a window of its own that only that model's requests count against.

use serde_json::{Value, json};

use crate::quota::model::{QuotaWindow, Window};

pub async fn fetch(
    http: &reqwest::Client,
    code_assist: &str,
    token: &str,
    project: Option<&str>,
) -> Result<Vec<QuotaWindow>, String> {
    let body = project.map_or_else(|| json!({}), |p| json!({ "project": p }));
    let request = http
        .post(format!("{code_assist}/v1internal:fetchAvailableModels"))
        .bearer_auth(token)
        .header(http::header::USER_AGENT, super::ANTIGRAVITY_USER_AGENT)
        .json(&body);
    let answer = crate::quota::usage_answer(request, "Cloud Code").await?;
    windows(&answer, crate::clock::now_ms())
}

fn windows(body: &[u8], now_ms: i64) -> Result<Vec<QuotaWindow>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let models = value
        .get("models")
        .and_then(Value::as_object)
        .ok_or("unexpected answer: no models")?;
    let out = models
        .iter()
        .filter_map(|(name, info)| {
            let quota = info.get("quotaInfo")?;
            let remaining = quota.get("remainingFraction").and_then(Value::as_f64)?;
            let resets_at_ms = quota
                .get("resetTime")
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond());
            Some(QuotaWindow {
                window: window_until(resets_at_ms, now_ms),
                metric: format!("{name}-usage"),
                model: Some(name.clone()),
                used: None,
                limit: None,
                remaining: None,
                percent_used: Some(((1.0 - remaining) * 100.0).clamp(0.0, 100.0)),
                resets_at_ms,
            })
        })
        .collect();
    Ok(out)
}

/// Antigravity does not name its windows; how far off the reset is tells them apart.
fn window_until(resets_at_ms: Option<i64>, now_ms: i64) -> Window {
    match resets_at_ms.map(|r| r - now_ms) {
        Some(ms) if ms <= 6 * 3_600_000 => Window::FiveHour,
        Some(ms) if ms <= 36 * 3_600_000 => Window::Daily,
        _ => Window::Weekly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_with_a_quota_is_a_window_of_its_own() {
        let body = include_bytes!("../../../tests/fixtures/quota/antigravity_models.json");
        let now = "2026-11-21T12:00:00Z"
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_default();
        let w = windows(body, now).unwrap_or_default();
        assert_eq!(w.len(), 2, "{w:?}");
        let gemini = w
            .iter()
            .find(|x| x.model.as_deref() == Some("gemini-3-pro-high"));
        assert_eq!(gemini.map(|x| x.window), Some(Window::FiveHour));
        assert!(
            gemini
                .and_then(|x| x.percent_used)
                .is_some_and(|p| (p - 40.0).abs() < 1e-9)
        );
        let claude = w
            .iter()
            .find(|x| x.model.as_deref() == Some("claude-sonnet-4-5"));
        assert_eq!(claude.map(|x| x.window), Some(Window::Weekly));
        assert_eq!(claude.and_then(|x| x.percent_used), Some(100.0));
        assert!(windows(b"{}", now).is_err());
    }
}
