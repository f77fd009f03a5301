//! Relaying a provider's answer in the client's API: an error status becomes a classified
//! failure; a stream is forwarded as it is (same API on both sides) or translated event by
//! event; a whole answer is passed through, translated, gathered from a stream, or replayed
//! as a stream for a client that asked for one.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use tokio::time::Instant;

use super::Answer;
use super::failure::Failure;
use super::inbound::Inbound;
use super::stream::{self, Mode};
use super::upstream::{EVENT_STREAM, Reading, error_failure, read_whole};
use crate::catalog::RoutingSettings;
use crate::format::{self, Aggregator, WireFormat, codec};
use crate::inspector::RawLog;
use crate::routing::FailureClass;
use crate::usage::Meter;

/// The client's answer, and the provider's body as far as it was read here (kept up to
/// `raw_cap` when the inspector asked; a stream's comes later through its meter).
pub struct Relayed {
    pub answer: Result<Answer, Failure>,
    pub raw: Option<RawLog>,
}

pub async fn relay(
    response: super::Reply,
    reading: &Reading<'_>,
    inbound: &Inbound,
    settings: &RoutingSettings,
    deadline: Instant,
    raw_cap: Option<usize>,
) -> Relayed {
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/json"));
    if !status.is_success() {
        let hint = reading
            .login
            .map(|p| |body: &[u8], now| p.reset_hint(body, now));
        let failure = error_failure(response, status, content_type, deadline, hint).await;
        let raw = raw_cap
            .zip(failure.body.as_ref())
            .map(|(cap, (body, _))| RawLog::whole(body, cap));
        return Relayed {
            answer: Err(failure),
            raw,
        };
    }
    let is_sse = content_type
        .to_str()
        .is_ok_and(|v| v.starts_with("text/event-stream"));
    let framing = if let Some(codec) = reading.native {
        Some(stream::Framing::Frames(codec.framer()))
    } else if is_sse {
        Some(stream::Framing::Sse)
    } else if reading.wire == WireFormat::Kiro
        && content_type
            .to_str()
            .is_ok_and(|v| v.starts_with(EVENT_STREAM))
    {
        Some(stream::Framing::Frames(Box::new(
            format::eventstream::Framer::default(),
        )))
    } else {
        None
    };
    match framing {
        Some(framing) if inbound.stream => {
            relay_stream(
                response, framing, reading, inbound, settings, deadline, raw_cap,
            )
            .await
        }
        _ => {
            let bytes = match read_whole(response, settings).await {
                Ok(bytes) => bytes,
                Err(f) => {
                    return Relayed {
                        answer: Err(f),
                        raw: None,
                    };
                }
            };
            let raw = raw_cap.map(|cap| RawLog::whole(&bytes, cap));
            Relayed {
                answer: whole(bytes, status, content_type, is_sse, reading, inbound),
                raw,
            }
        }
    }
}

/// A stream for a client that asked for one: opened (its first event read, or its failure
/// returned for failover) and handed on.
async fn relay_stream(
    response: super::Reply,
    framing: stream::Framing,
    reading: &Reading<'_>,
    inbound: &Inbound,
    settings: &RoutingSettings,
    deadline: Instant,
    raw_cap: Option<usize>,
) -> Relayed {
    let idle = Duration::from_millis(settings.stream_idle_timeout_ms);
    let api = inbound.api;
    let mode = if reading.passthrough {
        Mode::Passthrough(api)
    } else {
        Mode::Translate(format::stream_encoder(api, &inbound.context()))
    };
    let decoder = reading
        .native
        .map_or_else(|| format::stream_decoder(reading.wire), |c| c.decoder());
    let meter = Meter::default();
    if let Some(cap) = raw_cap {
        crate::usage::log_raw(&meter, RawLog::with_cap(cap));
    }
    let opened = stream::open(
        response,
        framing,
        deadline,
        idle,
        decoder,
        mode,
        meter.clone(),
    )
    .await;
    match opened {
        Ok(events) => Relayed {
            answer: Ok(Answer::Stream { events, meter }),
            raw: None,
        },
        // What was read before the failure.
        Err(f) => Relayed {
            answer: Err(f),
            raw: crate::usage::take_raw(&meter),
        },
    }
}

/// A whole answer in the client's API.
fn whole(
    bytes: Bytes,
    status: StatusCode,
    content_type: HeaderValue,
    is_sse: bool,
    reading: &Reading<'_>,
    inbound: &Inbound,
) -> Result<Answer, Failure> {
    let gathered = |events: Vec<format::Event>| {
        let mut agg = Aggregator::default();
        events.into_iter().for_each(|e| agg.push(e));
        agg.finish()
    };
    let reported = |m: String| Failure::new(FailureClass::from_reported(&m), m);
    let decoded = if let Some(codec) = reading.native {
        let events =
            format::codec::decode_frames(codec.framer().as_mut(), codec.decoder().as_mut(), &bytes)
                .map_err(reported)?;
        Some(gathered(events))
    } else if is_sse {
        let mut decoder = format::stream_decoder(reading.wire);
        let events = format::sse::decode_all(decoder.as_mut(), &bytes).map_err(reported)?;
        Some(gathered(events))
    } else if reading.passthrough && !inbound.stream {
        // Checked and counted in one reading: the recorder need not read it again.
        let counted = format::checked_usage_in_body(inbound.api, &bytes).map_err(|_| {
            Failure::new(
                FailureClass::BadResponse,
                "the provider answered with something that is not JSON",
            )
        })?;
        return Ok(Answer::Full {
            status,
            content_type,
            body: bytes,
            counted: Some(counted.unwrap_or_default()),
        });
    } else {
        Some(format::decode_response(reading.wire, &bytes).map_err(|m| {
            Failure::new(
                FailureClass::from_reported(&m),
                format!("the provider's answer could not be read: {m}"),
            )
        })?)
    };
    let api = inbound.api;
    Ok(match decoded {
        None => Answer::Full {
            status,
            content_type,
            body: bytes,
            counted: None,
        },
        Some(response) if inbound.stream => {
            // The client asked for a stream and the provider sent one answer: replay it.
            let mut encoder = format::stream_encoder(api, &inbound.context());
            let mut out = Vec::new();
            for e in codec::replay(&response) {
                encoder.encode(&e, &mut out);
            }
            encoder.finish(&mut out);
            let once = futures_util::stream::once(async move { Bytes::from(out) });
            Answer::Stream {
                events: Box::pin(once),
                meter: crate::usage::Metered::counted(response.usage),
            }
        }
        Some(response) => Answer::Full {
            status: StatusCode::OK,
            content_type: HeaderValue::from_static("application/json"),
            body: Bytes::from(format::encode_response(api, &response, &inbound.context())),
            counted: None,
        },
    })
}
