//! Rate-limit headers: OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`
//! (resets as durations such as `6m0s`) and Anthropic's
//! `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
//! (resets as RFC 3339 times). Both are per-minute limits.

use http::{HeaderMap, HeaderName};

use super::model::{QuotaWindow, Window};

fn number(h: &HeaderMap, name: &HeaderName) -> Option<f64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `1h2m3.5s`, `6m0s`, `20ms`, `0s` → milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (n, tail) = rest.split_at(split);
        let n: f64 = n.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        total += n * match unit {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1_000.0,
            "ms" => 1.0,
            _ => return None,
        };
        rest = tail;
    }
    Some(total.round() as i64)
}

fn rfc3339_ms(text: &str) -> Option<i64> {
    let ts: jiff::Timestamp = text.trim().parse().ok()?;
    Some(ts.as_millisecond())
}

/// A metric and its limit, remaining and reset header names.
type Metric = (&'static str, [HeaderName; 3]);
/// Reads a reset header; `now_ms` anchors relative ones.
type ResetOf = fn(&str, i64) -> Option<i64>;

/// OpenAI's headers per metric: limit, remaining, reset (a duration).
static OPENAI: [Metric; 2] = [
    (
        "requests",
        [
            HeaderName::from_static("x-ratelimit-limit-requests"),
            HeaderName::from_static("x-ratelimit-remaining-requests"),
            HeaderName::from_static("x-ratelimit-reset-requests"),
        ],
    ),
    (
        "tokens",
        [
            HeaderName::from_static("x-ratelimit-limit-tokens"),
            HeaderName::from_static("x-ratelimit-remaining-tokens"),
            HeaderName::from_static("x-ratelimit-reset-tokens"),
        ],
    ),
];

/// Anthropic's headers per metric: limit, remaining, reset (an RFC 3339 time).
static ANTHROPIC: [Metric; 4] = [
    (
        "requests",
        [
            HeaderName::from_static("anthropic-ratelimit-requests-limit"),
            HeaderName::from_static("anthropic-ratelimit-requests-remaining"),
            HeaderName::from_static("anthropic-ratelimit-requests-reset"),
        ],
    ),
    (
        "tokens",
        [
            HeaderName::from_static("anthropic-ratelimit-tokens-limit"),
            HeaderName::from_static("anthropic-ratelimit-tokens-remaining"),
            HeaderName::from_static("anthropic-ratelimit-tokens-reset"),
        ],
    ),
    (
        "input-tokens",
        [
            HeaderName::from_static("anthropic-ratelimit-input-tokens-limit"),
            HeaderName::from_static("anthropic-ratelimit-input-tokens-remaining"),
            HeaderName::from_static("anthropic-ratelimit-input-tokens-reset"),
        ],
    ),
    (
        "output-tokens",
        [
            HeaderName::from_static("anthropic-ratelimit-output-tokens-limit"),
            HeaderName::from_static("anthropic-ratelimit-output-tokens-remaining"),
            HeaderName::from_static("anthropic-ratelimit-output-tokens-reset"),
        ],
    ),
];

/// The windows the headers describe, if any; `now_ms` anchors relative resets. Runs on every
/// answer, and most carry none of these headers: one pass over the names tells, before the
/// 18 lookups.
pub fn from_headers(h: &HeaderMap, now_ms: i64) -> Option<Vec<QuotaWindow>> {
    let limited = h.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("x-ratelimit-") || name.starts_with("anthropic-ratelimit-")
    });
    if !limited {
        return None;
    }
    let text = |name: &HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let mut out = Vec::new();
    let families: [(&[Metric], ResetOf); 2] = [
        (&OPENAI, |t, now| duration_ms(t).map(|d| now + d)),
        (&ANTHROPIC, |t, _| rfc3339_ms(t)),
    ];
    for (metrics, reset_of) in families {
        for (metric, [limit, remaining, reset]) in metrics {
            let (limit, remaining) = (number(h, limit), number(h, remaining));
            if limit.is_none() && remaining.is_none() {
                continue;
            }
            let reset = text(reset).and_then(|t| reset_of(t, now_ms));
            out.push(window(metric, limit, remaining, reset));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn window(
    metric: &str,
    limit: Option<f64>,
    remaining: Option<f64>,
    resets_at_ms: Option<i64>,
) -> QuotaWindow {
    QuotaWindow {
        window: Window::Minute,
        metric: metric.to_owned(),
        model: None,
        used: None,
        limit,
        remaining,
        percent_used: None,
        resets_at_ms,
    }
    .completed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn openai_headers_give_request_and_token_windows() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("x-ratelimit-limit-requests", "60"),
            ("x-ratelimit-remaining-requests", "45"),
            ("x-ratelimit-reset-requests", "1m30s"),
            ("x-ratelimit-limit-tokens", "150000"),
            ("x-ratelimit-remaining-tokens", "149984"),
            ("x-ratelimit-reset-tokens", "6ms"),
        ]);
        let w = from_headers(&h, 1_000).unwrap_or_default();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].metric, "requests");
        assert_eq!(w[0].used, Some(15.0));
        assert_eq!(w[0].percent_used, Some(25.0));
        assert_eq!(w[0].resets_at_ms, Some(91_000));
        assert_eq!(w[1].resets_at_ms, Some(1_006));
    }

    #[test]
    fn anthropic_headers_give_absolute_resets() {
        let h = headers(&[
            ("anthropic-ratelimit-requests-limit", "50"),
            ("anthropic-ratelimit-requests-remaining", "49"),
            ("anthropic-ratelimit-requests-reset", "2026-11-21T10:00:30Z"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"),
            ("anthropic-ratelimit-input-tokens-remaining", "40000"),
        ]);
        let w = from_headers(&h, 0).unwrap_or_default();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].resets_at_ms, Some(1_795_255_230_000));
        assert_eq!(w[1].metric, "input-tokens");
        assert_eq!(w[1].percent_used, Some(0.0));
    }

    #[test]
    fn durations_and_absent_headers() {
        assert_eq!(duration_ms("1h2m3.5s"), Some(3_723_500));
        assert_eq!(duration_ms("0s"), Some(0));
        assert_eq!(duration_ms("soon"), None);
        assert!(from_headers(&HeaderMap::new(), 0).is_none());
    }
}
