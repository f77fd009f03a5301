//! Reading a provider's usage endpoint.

use std::time::Duration;

const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// Usage answers are small; a per-model list (Antigravity) stays well below this.
const USAGE_ANSWER: usize = 4 << 20;

/// Sends a usage-endpoint request and returns its body, or why not in words for the quota view
/// (`who` names the provider in them).
pub async fn usage_answer(
    request: reqwest::RequestBuilder,
    who: &str,
) -> Result<bytes::Bytes, String> {
    let response = request
        .header("accept", "application/json")
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("could not reach {who}: {}", e.without_url()))?;
    let status = response.status();
    let body = crate::net::read_capped(response, USAGE_ANSWER)
        .await
        .map_err(|e| match e {
            crate::net::ReadError::Http(e) => {
                format!("could not read the answer: {}", e.without_url())
            }
            too_large => format!("could not read the answer: {too_large}"),
        })?;
    if !status.is_success() {
        let detail = crate::format::error_message(&body).unwrap_or_default();
        return Err(format!("{who} answered {status} {detail}")
            .trim()
            .to_owned());
    }
    Ok(body)
}
