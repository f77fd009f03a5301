//! GitHub Copilot's quota: `GET api.github.com/copilot_internal/user` with the account's GitHub
//! token. Each metered kind (premium requests, chat, completions) is a monthly window that
//! resets on `quota_reset_date`; unlimited kinds are left out.

use serde::Deserialize;

use super::Servers;
use crate::quota::model::{QuotaWindow, Window};

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    quota_snapshots: std::collections::BTreeMap<String, Snapshot>,
    quota_reset_date: Option<String>,
}

#[derive(Deserialize)]
struct Snapshot {
    entitlement: Option<f64>,
    remaining: Option<f64>,
    #[serde(default)]
    unlimited: bool,
}

pub async fn fetch(
    http: &reqwest::Client,
    servers: &Servers,
    github_token: &str,
) -> Result<Vec<QuotaWindow>, String> {
    let request = http
        .get(format!("{}/copilot_internal/user", servers.api))
        .header("authorization", format!("token {github_token}"));
    windows(&crate::quota::usage_answer(request, "GitHub").await?)
}

fn windows(body: &[u8]) -> Result<Vec<QuotaWindow>, String> {
    let user: User = serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let resets_at_ms = user
        .quota_reset_date
        .as_deref()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond());
    let metric = |kind: &str| match kind {
        "premium_interactions" => "premium-requests".to_owned(),
        other => other.replace('_', "-"),
    };
    Ok(user
        .quota_snapshots
        .iter()
        .filter(|(_, s)| !s.unlimited && s.entitlement.is_some_and(|e| e > 0.0))
        .map(|(kind, s)| {
            QuotaWindow {
                window: Window::Monthly,
                metric: metric(kind),
                model: None,
                used: None,
                limit: s.entitlement,
                remaining: s.remaining,
                percent_used: None,
                resets_at_ms,
            }
            .completed()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metered_kinds_become_monthly_windows() {
        let body = include_bytes!("../../../tests/fixtures/quota/copilot_user.json");
        let w = windows(body).unwrap_or_default();
        assert_eq!(
            w.len(),
            1,
            "chat and completions are unlimited on this plan"
        );
        assert_eq!(w[0].metric, "premium-requests");
        assert_eq!(w[0].limit, Some(300.0));
        assert_eq!(w[0].remaining, Some(213.5));
        assert_eq!(w[0].used, Some(86.5));
        let reset: Option<i64> = "2026-12-01T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond());
        assert_eq!(w[0].resets_at_ms, reset);
    }
}
