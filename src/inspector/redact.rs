//! Secrets out of what the inspector keeps: headers and JSON fields by name, and any string
//! holding a secret the router knows (account keys), wherever it appears.

use std::borrow::Cow;
use std::sync::LazyLock;

use http::HeaderMap;
use memchr::memmem;
use serde_json::{Map, Value};

pub const REDACTED: &str = "[REDACTED]";

/// Header names that carry credentials whatever their value looks like.
fn secret_header(name: &str) -> bool {
    matches!(
        name,
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "api-key"
    ) || name.ends_with("-key")
        || name.ends_with("token")
        || name.contains("secret")
        || name.contains("session")
        || name.contains("auth")
}

/// JSON field names that carry credentials (compared without case, `_` and `-`).
fn secret_field(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        n.as_str(),
        "apikey"
            | "xapikey"
            | "password"
            | "passphrase"
            | "secret"
            | "clientsecret"
            | "authorization"
    ) || n.ends_with("token")
        || n.ends_with("secret")
}

/// Byte patterns that may end a credential field's name in JSON; only bodies holding one are
/// parsed to be redacted by field name.
const SUSPICIOUS: &[&[u8]] = &[
    b"key\"",
    b"Key\"",
    b"token\"",
    b"Token\"",
    b"secret\"",
    b"Secret\"",
    b"password\"",
    b"authorization\"",
    b"Authorization\"",
];

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut at = 0;
    for found in memmem::find_iter(haystack, needle) {
        out.extend_from_slice(&haystack[at..found]);
        out.extend_from_slice(with);
        at = found + needle.len();
    }
    out.extend_from_slice(&haystack[at..]);
    out
}

/// Prefixes of the tokens the router itself issues (proxy keys, admin tokens, sessions,
/// desktop tickets): blanked wherever they appear, known or not.
const ISSUED_PREFIXES: [&[u8]; 4] = [b"sk-nr-", b"nra-", b"nrs-", b"nrt-"];

/// Blanks each issued token: its prefix and the run of token characters after it (at least
/// eight, so that prose mentioning a prefix stays).
fn blank_issued(body: &[u8]) -> Cow<'_, [u8]> {
    let is_token_char = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < body.len() {
        let start_of_word = i == 0 || !is_token_char(body[i - 1]);
        let prefix = start_of_word
            .then(|| ISSUED_PREFIXES.iter().find(|p| body[i..].starts_with(p)))
            .flatten();
        if let Some(p) = prefix {
            let run = body[i + p.len()..]
                .iter()
                .take_while(|b| is_token_char(**b))
                .count();
            if run >= 8 {
                let o = out.get_or_insert_with(|| Vec::with_capacity(body.len()));
                o.extend_from_slice(&body[copied..i]);
                o.extend_from_slice(REDACTED.as_bytes());
                i += p.len() + run;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.extend_from_slice(&body[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(body),
    }
}

static SUSPICIOUS_FINDERS: LazyLock<Vec<memmem::Finder<'static>>> =
    LazyLock::new(|| SUSPICIOUS.iter().map(memmem::Finder::new).collect());

/// Redacts with the secrets known at the time of writing.
pub struct Redactor {
    known: Vec<String>,
    finders: Vec<memmem::Finder<'static>>,
}

impl Redactor {
    /// Secrets shorter than 8 characters are not searched for: they would match ordinary text.
    pub fn new(known: impl IntoIterator<Item = String>) -> Self {
        let mut known: Vec<String> = known.into_iter().filter(|s| s.len() >= 8).collect();
        known.sort_unstable_by_key(|s| std::cmp::Reverse(s.len()));
        known.dedup();
        let finders = known
            .iter()
            .map(|k| memmem::Finder::new(k.as_bytes()).into_owned())
            .collect();
        Self { known, finders }
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = Cow::Borrowed(s);
        for (secret, finder) in self.known.iter().zip(&self.finders) {
            if finder.find(out.as_bytes()).is_some() {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        match blank_issued(out.as_bytes()) {
            Cow::Owned(b) => String::from_utf8_lossy(&b).into_owned(),
            Cow::Borrowed(_) => out.into_owned(),
        }
    }

    /// A body as it may be stored: every known secret blanked, and credential fields blanked
    /// when it is JSON that names one. Untouched bodies are not copied.
    pub fn scrub<'a>(&self, body: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out = Cow::Borrowed(body);
        for finder in &self.finders {
            if finder.find(&out).is_some() {
                out = Cow::Owned(replace_all(&out, finder.needle(), REDACTED.as_bytes()));
            }
        }
        if let Cow::Owned(b) = blank_issued(&out) {
            out = Cow::Owned(b);
        }
        if SUSPICIOUS_FINDERS.iter().any(|f| f.find(&out).is_some()) {
            if let Ok(mut v) = serde_json::from_slice::<Value>(&out) {
                self.value(&mut v);
                if let Ok(b) = serde_json::to_vec(&v) {
                    out = Cow::Owned(b);
                }
            } else if let Some(lines) = self.scrub_lines(&out) {
                // A stream (SSE `data:` lines, NDJSON): each line's JSON on its own.
                out = Cow::Owned(lines);
            }
        }
        out
    }

    /// Redacts the JSON on each line of a stream; `None` when no line changed.
    fn scrub_lines(&self, body: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(body.len());
        let mut changed = false;
        for line in body.split_inclusive(|b| *b == b'\n') {
            let end = line
                .iter()
                .rposition(|b| !matches!(b, b'\n' | b'\r'))
                .map_or(0, |i| i + 1);
            let (content, terminator) = line.split_at(end);
            let (prefix, json) = match content.strip_prefix(b"data:") {
                Some(rest) => {
                    let start = usize::from(rest.first() == Some(&b' '));
                    content.split_at(5 + start)
                }
                None => (&b""[..], content),
            };
            let redacted = (json.first() == Some(&b'{') || json.first() == Some(&b'['))
                .then(|| serde_json::from_slice::<Value>(json).ok())
                .flatten()
                .and_then(|mut v| {
                    self.redact_value(&mut v)
                        .then(|| serde_json::to_vec(&v).ok())
                        .flatten()
                });
            out.extend_from_slice(prefix);
            match redacted {
                Some(r) => {
                    changed = true;
                    out.extend_from_slice(&r);
                }
                None => out.extend_from_slice(json),
            }
            out.extend_from_slice(terminator);
        }
        changed.then_some(out)
    }

    pub fn headers(&self, headers: &HeaderMap) -> Value {
        let mut out = Map::new();
        for (name, value) in headers {
            let shown = if secret_header(name.as_str()) {
                REDACTED.to_owned()
            } else {
                self.text(&String::from_utf8_lossy(value.as_bytes()))
            };
            match out.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&shown);
                }
                _ => {
                    out.insert(name.as_str().to_owned(), Value::String(shown));
                }
            }
        }
        Value::Object(out)
    }

    pub fn value(&self, v: &mut Value) {
        self.redact_value(v);
    }

    /// Blanks what `value` blanks; whether it blanked anything.
    fn redact_value(&self, v: &mut Value) -> bool {
        match v {
            Value::String(s) if self.known.iter().any(|k| s.contains(k.as_str())) => {
                *s = self.text(s);
                true
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, i| self.redact_value(i) | changed),
            Value::Object(fields) => fields.iter_mut().fold(false, |changed, (name, field)| {
                if secret_field(name) && !field.is_null() {
                    *field = Value::String(REDACTED.to_owned());
                    true
                } else {
                    self.redact_value(field) | changed
                }
            }),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    #[test]
    fn credential_headers_are_hidden_and_rate_limit_headers_kept() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer sk-client"),
            ("x-api-key", "sk-ant-1"),
            ("x-goog-api-key", "AIza1"),
            ("cookie", "a=b"),
            ("x-amz-security-token", "t"),
            ("anthropic-ratelimit-tokens-remaining", "100"),
            ("x-ratelimit-reset-tokens", "6m0s"),
            ("content-type", "application/json"),
            ("x-echo", "said sk-account-secret-1 here"),
        ] {
            h.append(n, HeaderValue::from_static(v));
        }
        let r = Redactor::new(["sk-account-secret-1".to_owned(), "short".to_owned()]);
        let out = r.headers(&h);
        for n in [
            "authorization",
            "x-api-key",
            "x-goog-api-key",
            "cookie",
            "x-amz-security-token",
        ] {
            assert_eq!(out[n], REDACTED, "{n}");
        }
        assert_eq!(out["anthropic-ratelimit-tokens-remaining"], "100");
        assert_eq!(out["x-ratelimit-reset-tokens"], "6m0s");
        assert_eq!(out["content-type"], "application/json");
        assert_eq!(out["x-echo"], "said [REDACTED] here");
    }

    #[test]
    fn secret_fields_and_known_secrets_are_hidden_anywhere_in_a_body() {
        let r = Redactor::new(["sk-account-secret-1".to_owned()]);
        let mut v = json!({
            "api_key": "x", "refresh_token": "y", "client-secret": "z",
            "max_tokens": 100, "usage": {"input_tokens": 5},
            "messages": [{"content": "my key is sk-account-secret-1!"}],
        });
        r.value(&mut v);
        assert_eq!(v["api_key"], REDACTED);
        assert_eq!(v["refresh_token"], REDACTED);
        assert_eq!(v["client-secret"], REDACTED);
        assert_eq!(v["max_tokens"], 100);
        assert_eq!(v["usage"]["input_tokens"], 5);
        assert_eq!(v["messages"][0]["content"], "my key is [REDACTED]!");
    }

    #[test]
    fn stored_bodies_are_scrubbed_and_clean_ones_not_copied() {
        let r = Redactor::new(["sk-account-secret-1".to_owned()]);
        let clean = br#"{"max_tokens":5,"messages":[]}"#;
        assert!(matches!(r.scrub(clean), Cow::Borrowed(_)));
        let quoted = b"data: {\"text\":\"sk-account-secret-1\"}\n\n";
        assert_eq!(&r.scrub(quoted)[..], b"data: {\"text\":\"[REDACTED]\"}\n\n");
        let named = br#"{"refresh_token":"abc","n":1}"#;
        assert_eq!(
            &r.scrub(named)[..],
            br#"{"refresh_token":"[REDACTED]","n":1}"#
        );
    }

    #[test]
    fn streams_are_redacted_line_by_line() {
        let r = Redactor::new([]);
        let sse = b"event: x\r\ndata: {\"api_key\":\"k1\",\"n\":1}\r\n\r\ndata: [DONE]\n\n";
        assert_eq!(
            &r.scrub(sse)[..],
            &b"event: x\r\ndata: {\"api_key\":\"[REDACTED]\",\"n\":1}\r\n\r\ndata: [DONE]\n\n"[..]
        );
        let ndjson = b"{\"refresh_token\":\"r\"}\n{\"done\":true}\n";
        assert_eq!(
            &r.scrub(ndjson)[..],
            &b"{\"refresh_token\":\"[REDACTED]\"}\n{\"done\":true}\n"[..]
        );
    }

    #[test]
    fn tokens_the_router_issues_are_blanked_wherever_they_appear() {
        let r = Redactor::new([]);
        let body = b"key=sk-nr-AbCdEf123456&x=1 nra-abcdefgh12 but sk-nr- alone, xsk-nr-abcdefghij";
        assert_eq!(
            &r.scrub(body)[..],
            &b"key=[REDACTED]&x=1 [REDACTED] but sk-nr- alone, xsk-nr-abcdefghij"[..]
        );
        assert_eq!(
            r.text("/v1/models?key=sk-nr-0123456789"),
            "/v1/models?key=[REDACTED]"
        );
    }
}
