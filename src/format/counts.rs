//! Reading token counts straight into typed fields, from an answer's bytes or from a decoded
//! value alike: each format declares its usage object once, and the recorder reads it out of
//! a body without building a JSON tree (the usage of every request is read this way).
//!
//! Providers are loose about these objects, so neither type here ever fails: a count that is
//! missing, null, negative, fractional or not a number reads as absent, and an object that is
//! something else reads as empty, as a lookup in a decoded value would.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::Usage;

/// A token count: `Some` only for a whole number that fits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub Option<u64>);

impl Count {
    pub fn or_zero(self) -> u64 {
        self.0.unwrap_or(0)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a token count")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Count, E> {
        Ok(Count(Some(n)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Count, E> {
        Ok(Count(u64::try_from(n).ok()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Count, D::Error> {
        Count::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Count, A::Error> {
        IgnoredAny::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Count(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
        IgnoredAny::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Count(None))
    }
}

/// An object of type `T`, or `T::default()` when it is anything but an object.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lenient<T>(pub T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lenient<T>, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Lenient)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Lenient<T>, A::Error> {
        IgnoredAny::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Lenient(T::default()))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Lenient<T>, D::Error> {
        Lenient::deserialize(d)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Lenient<T>, E> {
        Ok(Lenient(T::default()))
    }
}

/// A format's usage object, as it writes it.
pub trait WireUsage: DeserializeOwned + Default {
    fn counts(&self) -> Usage;
}

/// The counts in a decoded usage value (a stream event's, or a decoded answer's).
pub fn usage_of<U: WireUsage>(v: &serde_json::Value) -> Usage {
    Lenient::<U>::deserialize(v).map_or_else(|_| Usage::default(), |u| u.0.counts())
}

/// An answer's usage object alone; serde skips the rest without building it (and without
/// checking it, as it skips the parts of the usage object no format reads).
#[derive(Deserialize)]
#[serde(bound = "U: Deserialize<'de> + Default")]
struct UsageField<U> {
    #[serde(alias = "usageMetadata")]
    usage: Option<Lenient<U>>,
}

/// The counts in a whole answer's bytes, `None` when it has no usage; an error when the
/// bytes are not JSON. One reading both checks the answer and counts it.
pub fn checked_usage_in_bytes<U: WireUsage>(
    body: &[u8],
) -> Result<Option<Usage>, serde_json::Error> {
    match serde_json::from_slice::<UsageField<U>>(body) {
        Ok(field) => Ok(field.usage.map(|u| u.0.counts())),
        // A usage object that repeats a key fails the typed read; read as a value, the last
        // of the repeated keys counts, as it always did.
        Err(_) => match serde_json::from_slice::<UsageField<serde_json::Value>>(body) {
            Ok(field) => Ok(field.usage.map(|u| usage_of::<U>(&u.0))),
            // JSON need not be an object (a bare string, say): none of it is usage.
            Err(_) => serde_json::from_slice::<IgnoredAny>(body).map(|_| None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts in a whole answer's bytes; `None` when it is not JSON or has no usage.
    fn usage_in_bytes<U: WireUsage>(body: &[u8]) -> Option<Usage> {
        checked_usage_in_bytes::<U>(body).ok().flatten()
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Probe {
        a: Count,
        inner: Lenient<Inner>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Inner {
        b: Count,
    }

    impl WireUsage for Probe {
        fn counts(&self) -> Usage {
            Usage {
                input: self.a.or_zero(),
                output: self.inner.0.b.or_zero(),
                cache_read: u64::from(self.a.0.is_none()),
                ..Usage::default()
            }
        }
    }

    /// (input, output, a was absent) read from `{"usage": usage, ...}` both ways.
    fn read(usage: &str) -> Option<(u64, u64, u64)> {
        let body = format!(r#"{{"id":"x","choices":[{{"a":1}}],"usage":{usage},"z":[1,"usage"]}}"#);
        let from_bytes = usage_in_bytes::<Probe>(body.as_bytes());
        let value: serde_json::Value = serde_json::from_str(&body).ok()?;
        let from_value = value
            .get("usage")
            .filter(|u| !u.is_null())
            .map(usage_of::<Probe>);
        assert_eq!(from_bytes, from_value, "{usage}");
        from_bytes.map(|u| (u.input, u.output, u.cache_read))
    }

    #[test]
    fn counts_read_whole_numbers_and_nothing_else() {
        assert_eq!(
            read(r#"{"a":7,"inner":{"b":3,"c":[1]},"d":{"a":9}}"#),
            Some((7, 3, 0))
        );
        for odd in ["null", "-1", "1.5", "\"7\"", "true", "[7]", "{\"a\":7}"] {
            assert_eq!(
                read(&format!(r#"{{"a":{odd},"inner":{{"b":3}}}}"#)),
                Some((0, 3, 1))
            );
        }
        assert_eq!(
            read(r#"{"a":18446744073709551615}"#),
            Some((u64::MAX, 0, 0))
        );
    }

    #[test]
    fn an_object_of_another_shape_reads_as_empty() {
        for odd in ["5", "\"x\"", "[1,{\"a\":2}]", "true", "1.5"] {
            assert_eq!(
                read(&format!(r#"{{"a":2,"inner":{odd}}}"#)),
                Some((2, 0, 0))
            );
            assert_eq!(read(odd), Some((0, 0, 1)), "{odd}");
        }
        assert_eq!(read(r#"{"a":2,"inner":null}"#), Some((2, 0, 0)));
    }

    #[test]
    fn a_repeated_key_counts_its_last_value() {
        assert_eq!(
            read(r#"{"a":1,"a":4,"inner":{"b":2,"b":5}}"#),
            Some((4, 5, 0))
        );
    }

    #[test]
    fn no_usage_or_no_json_reads_as_none() {
        assert_eq!(read("null"), None);
        assert_eq!(usage_in_bytes::<Probe>(br#"{"id":"x"}"#), None);
        assert_eq!(usage_in_bytes::<Probe>(b"not json"), None);
        assert_eq!(usage_in_bytes::<Probe>(br#"{"usage":{"a":1}"#), None);
    }

    /// What the proxy reads of a passed-through answer: not JSON is an error, any JSON is not.
    #[test]
    fn a_checked_read_tells_no_json_from_no_usage() {
        let checked = |body: &str| checked_usage_in_bytes::<Probe>(body.as_bytes());
        for not_json in ["not json", r#"{"usage":{"a":1}"#, r#"{"a":1} {"a":2}"#, ""] {
            assert!(checked(not_json).is_err(), "{not_json}");
        }
        for no_usage in [
            r#""a string""#,
            "[]",
            "null",
            "7",
            r#"{"id":"x","usage":null}"#,
        ] {
            assert_eq!(checked(no_usage).ok(), Some(None), "{no_usage}");
        }
        let counted = |u: Option<Usage>| u.map(|u| (u.input, u.output));
        assert_eq!(
            checked(r#"{"usage":{"a":3,"inner":{"b":4}},"z":[{"usage":9}]}"#)
                .ok()
                .map(counted),
            Some(Some((3, 4)))
        );
        // The typed read refuses a repeated key; the value read takes its last value.
        assert_eq!(
            checked(r#"{"usage":{"a":1,"a":6}}"#).ok().map(counted),
            Some(Some((6, 0)))
        );
    }

    /// Each API's answer, as its providers write it, and the counts it carries.
    #[test]
    fn every_apis_usage_reads_the_same_from_an_answer_and_from_a_value() {
        use crate::format::{Api, usage_in_body};
        let usage = |input, cache_read, cache_write, output, reasoning| Usage {
            input,
            cache_read,
            cache_write,
            output,
            reasoning,
        };
        type ReadValue = fn(&serde_json::Value) -> Usage;
        let cases: [(Api, ReadValue, &str, Usage); 6] = [
            (
                Api::OpenaiChat,
                crate::format::openai_chat::usage_from,
                r#"{"id":"c","choices":[{"message":{"content":"{\"usage\":1}"}}],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,"prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":25}}}"#,
                usage(20, 100, 0, 40, 25),
            ),
            // DeepSeek names the cached part apart; the standard field wins when both are there.
            (
                Api::OpenaiChat,
                crate::format::openai_chat::usage_from,
                r#"{"usage":{"prompt_tokens":50,"completion_tokens":5,"prompt_cache_hit_tokens":30,"prompt_cache_miss_tokens":20}}"#,
                usage(20, 30, 0, 5, 0),
            ),
            (
                Api::OpenaiChat,
                crate::format::openai_chat::usage_from,
                r#"{"usage":{"prompt_tokens":50,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":10},"prompt_cache_hit_tokens":30}}"#,
                usage(40, 10, 0, 5, 0),
            ),
            (
                Api::Responses,
                crate::format::responses::usage_from,
                r#"{"id":"r","output":[],"usage":{"input_tokens":90,"input_tokens_details":{"cached_tokens":60},"output_tokens":30,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":120}}"#,
                usage(30, 60, 0, 30, 12),
            ),
            (
                Api::Anthropic,
                crate::format::anthropic::usage_from,
                r#"{"id":"m","content":[{"type":"tool_use","input":{"usage":{"input_tokens":999}}}],"usage":{"input_tokens":7,"cache_creation_input_tokens":200,"cache_read_input_tokens":300,"output_tokens":9,"service_tier":"standard"}}"#,
                usage(7, 300, 200, 9, 0),
            ),
            (
                Api::Gemini,
                crate::format::gemini::usage_from,
                r#"{"candidates":[],"usageMetadata":{"promptTokenCount":80,"cachedContentTokenCount":50,"candidatesTokenCount":10,"thoughtsTokenCount":6,"totalTokenCount":96}}"#,
                usage(30, 50, 0, 16, 6),
            ),
        ];
        for (api, from_value, body, expected) in cases {
            assert_eq!(
                usage_in_body(api, body.as_bytes()),
                Some(expected),
                "{body}"
            );
            let value: serde_json::Value =
                serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}"));
            let object = value.get("usage").or_else(|| value.get("usageMetadata"));
            assert_eq!(object.map(from_value), Some(expected), "{body}");
        }
    }
}
