//! A client's JSON body, read only as deep as routing needs: the body stays as it came, and
//! forwarding copies it byte for byte with just the `model` value replaced.

use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("We could not parse the JSON body of your request: {0}")]
    NotJson(serde_json::Error),
    #[error("you must provide a model parameter")]
    MissingModel,
    #[error("'{field}' has the wrong type: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

impl BodyError {
    pub fn param(&self) -> Option<&'static str> {
        match self {
            BodyError::NotJson(_) => None,
            BodyError::MissingModel => Some("model"),
            BodyError::WrongType { field, .. } => Some(field),
        }
    }
}

#[derive(Debug)]
pub struct JsonBody {
    /// Where each top-level `model` value sits in the body (a repeated key has several).
    model_spans: Vec<Range<usize>>,
    pub model: String,
    pub stream: bool,
}

impl JsonBody {
    /// Reads the top level of `bytes` (which must be one JSON object) for `model` and
    /// `stream`; every other value is checked but neither copied nor kept.
    pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
        let fields: TopLevel = serde_json::from_slice(bytes).map_err(BodyError::NotJson)?;
        // With a repeated key, the last one counts, as in most JSON readers.
        let model = match fields.models.last() {
            None => return Err(BodyError::MissingModel),
            Some(raw) => {
                serde_json::from_str::<String>(raw.get()).map_err(|_| BodyError::WrongType {
                    field: "model",
                    expected: "a string",
                })?
            }
        };
        if model.trim().is_empty() {
            return Err(BodyError::MissingModel);
        }
        let stream = match fields.stream {
            None => false,
            Some(raw) if raw.get() == "null" => false,
            Some(raw) => {
                serde_json::from_str::<bool>(raw.get()).map_err(|_| BodyError::WrongType {
                    field: "stream",
                    expected: "a boolean",
                })?
            }
        };
        let model_spans = fields
            .models
            .iter()
            .map(|raw| span_in(bytes, raw.get()))
            .collect::<Option<Vec<_>>>()
            .ok_or(BodyError::MissingModel)?;
        Ok(Self {
            model_spans,
            model,
            stream,
        })
    }

    /// The body to send upstream: `body` (the one parsed) byte for byte, every `model` value
    /// replaced by `model`.
    pub fn with_model(&self, body: &[u8], model: &str) -> Bytes {
        let mut out = Vec::with_capacity(body.len() + model.len() + 2);
        let mut at = 0;
        for span in &self.model_spans {
            out.extend_from_slice(&body[at..span.start]);
            write_json_string(&mut out, model);
            at = span.end;
        }
        out.extend_from_slice(&body[at..]);
        Bytes::from(out)
    }
}

/// Where `part`, a slice of `whole`, starts and ends in it.
fn span_in(whole: &[u8], part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

/// The fields routing reads from a body's top level, borrowed from it.
struct TopLevel<'a> {
    models: Vec<&'a RawValue>,
    stream: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopLevelVisitor)
    }
}

struct TopLevelVisitor;

impl<'de> Visitor<'de> for TopLevelVisitor {
    type Value = TopLevel<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = TopLevel {
            models: Vec::new(),
            stream: None,
        };
        while let Some(key) = map.next_key::<Key>()? {
            let value: &'de RawValue = map.next_value()?;
            match key {
                Key::Model => fields.models.push(value),
                Key::Stream => fields.stream = Some(value),
                Key::Other => {}
            }
        }
        Ok(fields)
    }
}

/// A top-level key, told apart without allocating (escaped keys are compared unescaped).
enum Key {
    Model,
    Stream,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "model" => Key::Model,
                    "stream" => Key::Stream,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_model_and_keeps_field_order_and_values() {
        let body = br#"{"stream":true,"model":"ma/gpt-4o","messages":[{"role":"user","content":"h\u00e9 \"x\""}],"temperature":0.70}"#;
        let parsed = JsonBody::parse(body).expect("valid");
        assert_eq!(parsed.model, "ma/gpt-4o");
        assert!(parsed.stream);
        let out = parsed.with_model(body, "gpt-4o");
        assert_eq!(
            std::str::from_utf8(&out).unwrap_or_default(),
            r#"{"stream":true,"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9 \"x\""}],"temperature":0.70}"#
        );
    }

    #[test]
    fn forwards_the_body_as_it_came_with_every_top_level_model_replaced() {
        let body = b"{\n  \"model\" : \"ma/a\",\n  \"metadata\": {\"model\": \"keep\"},\n  \"mod\\u0065l\": \"ma/b\",\n  \"stream\": null\n}\n";
        let parsed = JsonBody::parse(body).expect("valid");
        // A repeated key: the last one is the model, as most JSON readers take it.
        assert_eq!(parsed.model, "ma/b");
        assert!(!parsed.stream);
        let out = parsed.with_model(body, "b\"/x");
        assert_eq!(
            std::str::from_utf8(&out).unwrap_or_default(),
            "{\n  \"model\" : \"b\\\"/x\",\n  \"metadata\": {\"model\": \"keep\"},\n  \"mod\\u0065l\": \"b\\\"/x\",\n  \"stream\": null\n}\n"
        );
        let sent: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
        assert_eq!(sent["model"], "b\"/x");
        assert_eq!(sent["metadata"]["model"], "keep");
    }

    #[test]
    fn reports_what_is_wrong_with_a_body() {
        assert!(matches!(
            JsonBody::parse(b"{nope"),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(
            JsonBody::parse(b"[1]"),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(
            JsonBody::parse(b"{}"),
            Err(BodyError::MissingModel)
        ));
        assert!(matches!(
            JsonBody::parse(br#"{"model":"m"} {"model":"n"}"#),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(
            JsonBody::parse(br#"{"model":"m","x":[1,}"#),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(
            JsonBody::parse(br#"{"model":"m","model":" "}"#),
            Err(BodyError::MissingModel)
        ));
        assert!(matches!(
            JsonBody::parse(br#"{"model":3}"#),
            Err(BodyError::WrongType { field: "model", .. })
        ));
        assert!(matches!(
            JsonBody::parse(br#"{"model":"m","stream":"yes"}"#),
            Err(BodyError::WrongType {
                field: "stream",
                ..
            })
        ));
    }
}
