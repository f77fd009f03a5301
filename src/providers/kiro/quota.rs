//! Kiro quota: `GET {codewhisperer}/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST`.
//! Each entry of `usageBreakdownList` (credits) has its use and limit, and resets at
//! `nextDateReset` (Unix seconds, written as a float); a free trial's allowance is a window of
//! its own that ends at `freeTrialExpiry`.

use serde_json::Value;

use crate::quota::model::{QuotaWindow, Window};

pub async fn fetch(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    profile_arn: Option<&str>,
) -> Result<Vec<QuotaWindow>, String> {
    let mut query = vec![
        ("isEmailRequired", "true"),
        ("origin", "AI_EDITOR"),
        ("resourceType", "AGENTIC_REQUEST"),
    ];
    query.extend(profile_arn.map(|arn| ("profileArn", arn)));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    let request = http
        .get(format!("{api}/getUsageLimits?{query}"))
        .bearer_auth(token)
        .header("x-amz-user-agent", super::USER_AGENT)
        .header(http::header::USER_AGENT, super::USER_AGENT);
    windows(&crate::quota::usage_answer(request, "Kiro").await?)
}

fn seconds_ms(v: Option<&Value>) -> Option<i64> {
    #[allow(clippy::cast_possible_truncation)]
    v.and_then(Value::as_f64).map(|s| (s * 1000.0) as i64)
}

fn windows(body: &[u8]) -> Result<Vec<QuotaWindow>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let list = value
        .get("usageBreakdownList")
        .and_then(Value::as_array)
        .ok_or("unexpected answer: no usageBreakdownList")?;
    let reset = seconds_ms(value.get("nextDateReset"));
    let mut out = Vec::new();
    for entry in list {
        let kind = entry
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("usage")
            .to_ascii_lowercase();
        let window = |metric: String, w: &Value, resets_at_ms| {
            QuotaWindow {
                window: Window::Monthly,
                metric,
                model: None,
                used: w.get("currentUsageWithPrecision").and_then(Value::as_f64),
                limit: w.get("usageLimitWithPrecision").and_then(Value::as_f64),
                remaining: None,
                percent_used: None,
                resets_at_ms,
            }
            .completed()
        };
        out.push(window(
            kind.clone(),
            entry,
            seconds_ms(entry.get("nextDateReset")).or(reset),
        ));
        if let Some(trial) = entry.get("freeTrialInfo")
            && trial.get("freeTrialStatus").and_then(Value::as_str) == Some("ACTIVE")
        {
            let ends = seconds_ms(trial.get("freeTrialExpiry"));
            let mut w = window(format!("{kind}-free-trial"), trial, ends);
            w.window = Window::Total;
            out.push(w);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_credits_and_the_free_trial() {
        let w = windows(include_bytes!(
            "../../../tests/fixtures/quota/kiro_usage.json"
        ))
        .unwrap_or_default();
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0].metric, "credit");
        assert_eq!(w[0].used, Some(12.37));
        assert_eq!(w[0].limit, Some(50.0));
        assert_eq!(w[0].resets_at_ms, Some(1_795_910_400_000));
        assert_eq!(w[1].metric, "credit-free-trial");
        assert_eq!(w[1].remaining, Some(400.0));
        assert!(windows(b"{}").is_err());
    }
}
