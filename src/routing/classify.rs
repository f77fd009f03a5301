//! Every upstream failure is classified once; the class decides what happens next.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// The account's credentials were refused.
    Auth,
    /// The account's saved login was refused for good (revoked, no subscription): it waits
    /// for a new login.
    LoginRefused,
    /// Too many requests; will pass after a while.
    RateLimit,
    /// The account's allowance or credit is used up.
    Quota,
    /// The provider is overloaded or failed on its side.
    Overloaded,
    /// The client's request is malformed: retrying elsewhere would fail the same way.
    BadRequest,
    /// The request does not fit the model's context window: another model (with a larger
    /// window) may take it, another account of the same model would not. Says nothing about
    /// the account's health.
    ContextLength,
    /// The provider does not know this model.
    NotFound,
    /// The connection failed or broke.
    Network,
    /// The provider did not answer in time.
    Timeout,
    /// The provider answered with something that is not its API (malformed SSE, bad JSON).
    BadResponse,
    /// The engine cannot talk this provider's format yet.
    Unsupported,
}

/// What the dispatcher does after a failure of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NextAccount,
    NextCandidate,
    ReturnToClient,
}

impl FailureClass {
    pub fn from_status(status: StatusCode, body: &[u8]) -> Self {
        match status.as_u16() {
            400 | 413 | 422 if says_too_long(body) => Self::ContextLength,
            401 | 403 => Self::Auth,
            402 => Self::Quota,
            404 => Self::NotFound,
            408 => Self::Timeout,
            429 if mentions_quota(body) => Self::Quota,
            429 => Self::RateLimit,
            500..=599 => Self::Overloaded,
            // A redirect not followed (it left the provider's origin) is the provider's doing,
            // not the client's: never relayed as it is.
            300..=399 => Self::BadResponse,
            _ => Self::BadRequest,
        }
    }

    /// An error the provider reported inside an answer that otherwise came back fine (an
    /// error event or frame mid-stream): a rate limit, a quota or an overload when its name
    /// says so, else an answer we could not use.
    pub fn from_reported(message: &str) -> Self {
        let lower = message.to_ascii_lowercase();
        let says = |words: &[&str]| words.iter().any(|w| lower.contains(w));
        // gRPC and Connect status codes name the class (`unauthenticated`,
        // `resource_exhausted`); a provider's own code may refine it (a plan's usage limit).
        if says(&["unauthenticated", "auth_token_expired", "not_logged_in"]) {
            Self::Auth
        } else if says_too_long(lower.as_bytes()) {
            Self::ContextLength
        } else if says(&[
            "throttlingexception",
            "rate_limit",
            "rate limit",
            "too many requests",
        ]) {
            Self::RateLimit
        } else if says(&["quotaexceeded", "insufficient_quota", "usage_limit"]) {
            Self::Quota
        } else if says(&["resource_exhausted"]) {
            Self::RateLimit
        } else if says(&[
            "overloaded",
            "internalserverexception",
            "serviceunavailable",
        ]) {
            Self::Overloaded
        } else {
            Self::BadResponse
        }
    }

    pub fn action(self) -> Action {
        match self {
            Self::BadRequest => Action::ReturnToClient,
            Self::NotFound | Self::Unsupported | Self::ContextLength => Action::NextCandidate,
            _ => Action::NextAccount,
        }
    }

    /// Auth failures and a used-up quota (billing, a plan's usage limit) cool the whole
    /// account; the rest only the account/model pair.
    pub fn whole_account(self) -> bool {
        matches!(self, Self::Auth | Self::LoginRefused | Self::Quota)
    }

    /// Whether a failure of this class benches the account (or the account/model pair): a
    /// request too long for the model says nothing about the account.
    pub fn cools(self) -> bool {
        !matches!(self, Self::BadRequest | Self::ContextLength)
    }
}

/// How each API says a request exceeds the model's context window: OpenAI and its
/// compatibles (DeepSeek, OpenRouter, Mistral, Kimi), Codex's Responses, Anthropic, Gemini
/// and Cloud Code, Copilot, Kiro, Qwen's DashScope, GLM and MiniMax.
const TOO_LONG: [&[u8]; 13] = [
    b"context_length_exceeded",
    b"maximum context length",
    b"exceeds the context window",
    b"prompt is too long",
    b"exceeds the maximum number of tokens",
    b"model_max_prompt_tokens_exceeded",
    b"input is too long",
    b"content_length_exceeds_threshold",
    b"range of input length should be",
    b"exceeded model token limit",
    b"prompt exceeds max length",
    b"context window exceeds limit",
    b"too large for model with",
];

fn says_too_long(body: &[u8]) -> bool {
    TOO_LONG
        .iter()
        .any(|m| body.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)))
}

/// The window a provider's context-length error names ("maximum context length is 128000",
/// "> 200000 maximum", "allowed (1048575)", "the limit of 128000", "[1, 129024]").
pub fn window_in_message(message: &str) -> Option<u64> {
    const AFTER: [&str; 6] = [
        "maximum context length is",
        "tokens allowed",
        "exceeds the limit of",
        "input length should be [1,",
        "model token limit:",
        "context window of",
    ];
    let lower = message.to_ascii_lowercase();
    let number_at = |rest: &str| -> Option<u64> {
        let digits: String = rest
            .trim_start_matches([' ', '('])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    AFTER
        .iter()
        .find_map(|needle| number_at(&lower[lower.find(needle)? + needle.len()..]))
        .or_else(|| {
            // Anthropic: "prompt is too long: 208310 tokens > 200000 maximum".
            let at = lower.find(" maximum")?;
            let head = lower[..at].trim_end();
            let start = head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            head[start..].parse().ok()
        })
}

fn mentions_quota(body: &[u8]) -> bool {
    const MARKERS: [&[u8]; 3] = [
        b"insufficient_quota",
        b"quota_exceeded",
        b"usage_limit_reached",
    ];
    MARKERS
        .iter()
        .any(|m| body.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m)))
}

/// How long the provider asks us to wait: `retry-after-ms`, `Retry-After` (seconds or an HTTP
/// date), else the OpenAI-style `x-ratelimit-reset-*` of a bucket whose remaining count is 0.
pub fn reset_hint(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return duration_from_secs(ms / 1000.0);
    }
    if let Some(v) = text("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            return duration_from_secs(secs);
        }
        if let Ok(when) = httpdate::parse_http_date(v) {
            return Some(
                when.duration_since(std::time::SystemTime::now())
                    .unwrap_or(Duration::ZERO),
            );
        }
    }
    ["requests", "tokens"]
        .iter()
        .filter(|bucket| text(&format!("x-ratelimit-remaining-{bucket}")) == Some("0"))
        .filter_map(|bucket| {
            text(&format!("x-ratelimit-reset-{bucket}")).and_then(parse_go_duration)
        })
        .max()
}

/// Google's `RetryInfo` in an error body (`error.details[].retryDelay`, as `"30s"` or
/// `"1.5s"`): how long Cloud Code and the Gemini API ask us to wait.
pub fn retry_info(body: &[u8]) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = match &value {
        serde_json::Value::Array(items) => items.first()?.get("error")?,
        other => other.get("error")?,
    };
    error
        .get("details")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("retryDelay")?.as_str())
        .find_map(|d| d.strip_suffix('s')?.parse::<f64>().ok())
        .and_then(duration_from_secs)
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0 * 30.0)))
}

/// Parses OpenAI's reset format: `20ms`, `1s`, `6m0s`, `1h2m3.5s`.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = 0.0_f64;
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            's' => 1.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            _ => return None,
        };
        total += value * unit;
        any = true;
    }
    if !number.is_empty() {
        return None;
    }
    if any { duration_from_secs(total) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn statuses_map_to_classes_and_actions() {
        let class = |s: u16, body: &str| {
            FailureClass::from_status(StatusCode::from_u16(s).unwrap_or_default(), body.as_bytes())
        };
        assert_eq!(class(401, ""), FailureClass::Auth);
        assert_eq!(class(429, ""), FailureClass::RateLimit);
        assert_eq!(
            class(429, r#"{"error":{"code":"insufficient_quota"}}"#),
            FailureClass::Quota
        );
        assert_eq!(class(503, ""), FailureClass::Overloaded);
        assert_eq!(class(529, ""), FailureClass::Overloaded);
        assert_eq!(class(400, ""), FailureClass::BadRequest);
        assert_eq!(class(422, ""), FailureClass::BadRequest);
        assert_eq!(class(307, ""), FailureClass::BadResponse);
        assert_eq!(FailureClass::BadRequest.action(), Action::ReturnToClient);
        assert_eq!(FailureClass::NotFound.action(), Action::NextCandidate);
        assert_eq!(FailureClass::RateLimit.action(), Action::NextAccount);
    }

    #[test]
    fn every_dialects_context_length_error_is_its_own_class() {
        let bodies = [
            (
                400,
                r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
                Some(128_000),
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}}"#,
                Some(200_000),
            ),
            (
                400,
                r#"{"error":{"code":400,"message":"The input token count (1196265) exceeds the maximum number of tokens allowed (1048575).","status":"INVALID_ARGUMENT"}}"#,
                Some(1_048_575),
            ),
            (
                400,
                r#"{"error":{"message":"prompt token count of 140000 exceeds the limit of 128000","code":"model_max_prompt_tokens_exceeded"}}"#,
                Some(128_000),
            ),
            (
                400,
                r#"{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}"#,
                None,
            ),
            (
                400,
                r#"{"error":{"message":"<400> InternalError.Algo.InvalidParameter: Range of input length should be [1, 129024]","type":"invalid_request_error","code":"invalid_parameter_error"}}"#,
                Some(129_024),
            ),
            (
                400,
                r#"{"error":{"message":"Your input exceeds the context window of this model. Please adjust your input and try again.","type":"invalid_request_error","param":"input","code":"context_length_exceeded"}}"#,
                None,
            ),
        ];
        for (status, body, window) in bodies {
            let status = StatusCode::from_u16(status).unwrap_or_default();
            assert_eq!(
                FailureClass::from_status(status, body.as_bytes()),
                FailureClass::ContextLength,
                "{body}"
            );
            let message = crate::format::error_message(body.as_bytes()).unwrap_or_default();
            assert_eq!(window_in_message(&message), window, "{message}");
        }
        // A provider's wording with characters of several bytes before the number.
        assert_eq!(window_in_message("prompt is too long – maximum"), None);
        assert_eq!(
            window_in_message("trop long : é200000 maximum"),
            Some(200_000)
        );
        assert_eq!(FailureClass::ContextLength.action(), Action::NextCandidate);
        assert!(!FailureClass::ContextLength.cools());
        assert_eq!(
            FailureClass::from_reported(
                "context_length_exceeded: Your input exceeds the context window of this model."
            ),
            FailureClass::ContextLength
        );
        // A plain validation error stays the client's fault, and a 429 that mentions
        // length is still a rate limit.
        let plain = br#"{"error":{"message":"messages: field required"}}"#;
        assert_eq!(
            FailureClass::from_status(StatusCode::BAD_REQUEST, plain),
            FailureClass::BadRequest
        );
        assert_eq!(
            FailureClass::from_status(StatusCode::TOO_MANY_REQUESTS, b"prompt is too long"),
            FailureClass::RateLimit
        );
    }

    #[test]
    fn errors_reported_inside_answers_are_classed_by_their_name() {
        let class = FailureClass::from_reported;
        assert_eq!(
            class("the provider reported ThrottlingException: Rate exceeded"),
            FailureClass::RateLimit
        );
        assert_eq!(
            class("the provider reported an error mid-stream: Overloaded"),
            FailureClass::Overloaded
        );
        assert_eq!(
            class("the provider reported ServiceQuotaExceededException: monthly"),
            FailureClass::Quota
        );
        assert_eq!(class("unexpected end of JSON"), FailureClass::BadResponse);
    }

    #[test]
    fn google_retry_info_says_how_long_to_wait() {
        let body = br#"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"27.5s"}]}}"#;
        assert_eq!(retry_info(body), Some(Duration::from_millis(27_500)));
        assert_eq!(retry_info(br#"{"error":{"code":429}}"#), None);
        assert_eq!(retry_info(b"oops"), None);
    }

    #[test]
    fn reset_hints_follow_retry_after_then_ratelimit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(reset_hint(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(reset_hint(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(reset_hint(&h), Some(Duration::from_millis(1500)));

        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from_static("0"),
        );
        h.insert(
            "x-ratelimit-reset-requests",
            HeaderValue::from_static("6m0s"),
        );
        h.insert(
            "x-ratelimit-remaining-tokens",
            HeaderValue::from_static("100"),
        );
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("1h"));
        assert_eq!(reset_hint(&h), Some(Duration::from_secs(360)));
    }

    #[test]
    fn http_dates_in_retry_after_are_understood() {
        let mut h = HeaderMap::new();
        let when = std::time::SystemTime::now() + Duration::from_secs(120);
        let value = HeaderValue::from_str(&httpdate::fmt_http_date(when))
            .unwrap_or(HeaderValue::from_static("x"));
        h.insert("retry-after", value);
        let hint = reset_hint(&h).unwrap_or_default();
        assert!(
            hint > Duration::from_secs(100) && hint <= Duration::from_secs(120),
            "{hint:?}"
        );
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("12"), None);
    }
}
