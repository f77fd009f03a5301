//! Secrets out of what the inspector keeps: headers and JSON fields by name, and any string
//! holding a secret the router knows (account keys), wherever it appears.

use http::HeaderMap;
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
        "apikey" | "xapikey" | "password" | "secret" | "clientsecret" | "authorization"
    ) || n.ends_with("token")
        || n.ends_with("secret")
}

/// Redacts with the secrets known at the time of writing.
pub struct Redactor {
    known: Vec<String>,
}

impl Redactor {
    /// Secrets shorter than 8 characters are not searched for: they would match ordinary text.
    pub fn new(known: impl IntoIterator<Item = String>) -> Self {
        let mut known: Vec<String> = known.into_iter().filter(|s| s.len() >= 8).collect();
        known.sort_unstable_by_key(|s| std::cmp::Reverse(s.len()));
        known.dedup();
        Self { known }
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for secret in &self.known {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
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
        match v {
            Value::String(s) if self.known.iter().any(|k| s.contains(k.as_str())) => {
                *s = self.text(s);
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(fields) => {
                for (name, field) in fields.iter_mut() {
                    if secret_field(name) && !field.is_null() {
                        *field = Value::String(REDACTED.to_owned());
                    } else {
                        self.value(field);
                    }
                }
            }
            _ => {}
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
}
