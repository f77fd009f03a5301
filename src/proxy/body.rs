//! A client's JSON body, read only as deep as routing needs: the top-level fields stay raw,
//! so forwarding re-emits them byte for byte with just `model` replaced.

use bytes::Bytes;
use indexmap::IndexMap;
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
    fields: IndexMap<String, Box<RawValue>>,
    pub model: String,
    pub stream: bool,
}

impl JsonBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, BodyError> {
        let fields: IndexMap<String, Box<RawValue>> =
            serde_json::from_slice(bytes).map_err(BodyError::NotJson)?;
        let model = match fields.get("model") {
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
        let stream = match fields.get("stream") {
            None => false,
            Some(raw) if raw.get() == "null" => false,
            Some(raw) => {
                serde_json::from_str::<bool>(raw.get()).map_err(|_| BodyError::WrongType {
                    field: "stream",
                    expected: "a boolean",
                })?
            }
        };
        Ok(Self {
            fields,
            model,
            stream,
        })
    }

    /// The body to send upstream: every field as the client wrote it, `model` replaced.
    pub fn with_model(&self, model: &str) -> Bytes {
        let size: usize = self
            .fields
            .iter()
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum();
        let mut out = Vec::with_capacity(size + model.len() + 2);
        out.push(b'{');
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json_string(&mut out, key);
            out.push(b':');
            if key == "model" {
                write_json_string(&mut out, model);
            } else {
                out.extend_from_slice(value.get().as_bytes());
            }
        }
        out.push(b'}');
        Bytes::from(out)
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
        let out = parsed.with_model("gpt-4o");
        assert_eq!(
            std::str::from_utf8(&out).unwrap_or_default(),
            r#"{"stream":true,"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9 \"x\""}],"temperature":0.70}"#
        );
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
