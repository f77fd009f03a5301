//! Small JSON helpers the format modules share.

use serde_json::{Map, Value};

use super::FormatError;

/// Serializes `body` and appends fields that are already JSON text (tool schemas are copied
/// as raw text, never parsed into values and back).
pub fn with_raw_fields(body: &Map<String, Value>, raws: &[(&str, String)]) -> Vec<u8> {
    let mut out = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    for (key, raw) in raws {
        out.pop();
        if out.len() > 1 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, key);
        out.push(b':');
        out.extend_from_slice(raw.as_bytes());
        out.push(b'}');
    }
    out
}

pub fn to_raw<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A JSON body's top-level object, or a 400 saying what it is instead.
pub fn parse_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FormatError> {
    serde_json::from_slice(body).map_err(|e| {
        let what = e.to_string();
        // serde names the field path in its message; keep it for the client.
        FormatError::new(format!(
            "We could not parse the JSON body of your request: {what}"
        ))
    })
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Text from content that is a string or an array of `{type:"text"|…, text}` parts.
pub fn plain_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let mut out = String::new();
            for p in parts {
                if let Some(t) = p.get("text").and_then(Value::as_str) {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(t);
                }
            }
            out
        }
        _ => String::new(),
    }
}

/// [`plain_text`] of content the caller owns: a string is moved, not copied.
pub fn into_plain_text(content: Value) -> String {
    match content {
        Value::String(s) => s,
        other => plain_text(&other),
    }
}

/// Arguments as JSON text, from a value that is either JSON text already or an object.
pub fn arguments_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "{}".into(),
        Some(other) => other.to_string(),
    }
}

/// Arguments as an object, for APIs that carry them parsed; text that is not an object is
/// wrapped so nothing is lost.
pub fn arguments_object(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => serde_json::json!({ "value": other }),
        Err(_) => serde_json::json!({ "raw_arguments": text }),
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh id with an API's prefix (`msg_`, `chatcmpl-`, `resp_`…).
pub fn new_id(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_fields_are_spliced_into_the_object() {
        let mut m = Map::new();
        m.insert("a".into(), Value::from(1));
        let out = with_raw_fields(&m, &[("tools", "[{\"x\":{}}]".into())]);
        assert_eq!(out, br#"{"a":1,"tools":[{"x":{}}]}"#);
        let out = with_raw_fields(&Map::new(), &[("t", "1".into())]);
        assert_eq!(out, br#"{"t":1}"#);
    }

    #[test]
    fn arguments_survive_both_shapes() {
        assert_eq!(arguments_object(r#"{"a":1}"#), serde_json::json!({"a":1}));
        assert_eq!(
            arguments_object("oops"),
            serde_json::json!({"raw_arguments":"oops"})
        );
        assert_eq!(
            arguments_text(Some(&serde_json::json!({"a":1}))),
            r#"{"a":1}"#
        );
    }
}
