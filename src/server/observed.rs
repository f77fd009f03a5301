//! What a client request leaves behind: its usage record and, when the inspector lists it, its
//! four layers. Built alongside the request and handed to the recording thread when the answer
//! is over (for a stream, when the stream ends).

use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::events::{Attempt, ServedBy};
use crate::format::Api;
use crate::inspector::{Begin, Captured, End, ProviderSide, RawLog};
use crate::providers::WireFormat;
use crate::proxy::{ByteStream, Inbound, Meter};
use crate::state::Core;
use crate::usage::Inspector;
use crate::usage::{self, DetailTail, Recorder, StreamEnd, Tokens, UsageRecord};

use super::client_api::Caller;

/// The path each API is served at, for usage records (aliases such as `/chat/completions`
/// count as their API's main endpoint).
fn endpoint_of(api: Api) -> &'static str {
    match api {
        Api::OpenaiChat => "/v1/chat/completions",
        Api::Responses => "/v1/responses",
        Api::Anthropic => "/v1/messages",
        Api::Gemini => "/v1beta/models",
        Api::Ollama => "/api/chat",
    }
}

pub struct Observed {
    record: UsageRecord,
    recorder: Option<Recorder>,
    /// The inspector's entry so far, and the provider's answer as captured.
    detail: Option<(Begin, Option<Captured>)>,
    inspector: Inspector,
    /// Each body is cut here.
    cap: usize,
    started: Instant,
}

impl Observed {
    /// `side` is what the dispatcher captured of the provider side (the request is listed).
    pub fn new(
        core: &Core,
        catalog: &Catalog,
        inbound: &Inbound,
        caller: Caller,
        request_id: String,
        started: Instant,
        side: Option<ProviderSide>,
    ) -> Self {
        let observe = &catalog.settings.observability;
        // An unlisted request captures nothing.
        let cap = side.as_ref().map_or(0, |side| side.body_cap);
        let api = inbound.api;
        let record = UsageRecord {
            request_id,
            started_ms: now_ms() - i64::try_from(started.elapsed().as_millis()).unwrap_or(0),
            api,
            endpoint: endpoint_of(api),
            key_id: caller.key_id,
            combo: catalog.combo_named(&inbound.model).map(str::to_owned),
            requested_model: inbound.model.clone(),
            provider: None,
            model: None,
            account_id: None,
            attempts: Vec::new(),
            status: 0,
            tokens: Tokens::None,
            streamed: inbound.stream,
            ttft_ms: None,
            latency_ms: 0,
            limited: None,
            listed: side.is_some(),
        };
        let detail = side.map(|mut side| {
            let begin = Begin {
                id: record.request_id.clone(),
                started_ms: record.started_ms,
                api,
                endpoint: record.endpoint,
                requested_model: record.requested_model.clone(),
                key_id: record.key_id.clone(),
                combo: record.combo.clone(),
                provider: None,
                model: None,
                account_id: None,
                attempts: Vec::new(),
                streamed: inbound.stream,
                client_request: Captured {
                    url: None,
                    status: None,
                    headers: caller.headers.unwrap_or_default(),
                    body: RawLog::whole(inbound.raw(), cap),
                },
                provider_request: side.request.take(),
            };
            (begin, side.response)
        });
        Self {
            record,
            recorder: observe.record_usage.then(|| core.usage.clone()),
            detail,
            inspector: core.inspector.clone(),
            cap,
            started,
        }
    }

    /// How much of a body the inspector keeps.
    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn request_id(&self) -> &str {
        &self.record.request_id
    }

    fn elapsed_ms(&self) -> i64 {
        i64::try_from(self.started.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Who answered, after which failed tries, with what status.
    pub fn served(&mut self, by: &ServedBy, attempts: Vec<Attempt>, status: u16) {
        let r = &mut self.record;
        r.provider = Some(by.provider.clone());
        r.model = Some(by.model.clone());
        r.account_id = Some(by.account_id.clone());
        r.attempts = attempts;
        r.status = status;
        if let Some((begin, _)) = self.detail.as_mut() {
            begin.provider.clone_from(&r.provider);
            begin.model.clone_from(&r.model);
            begin.account_id.clone_from(&r.account_id);
            begin.attempts.clone_from(&r.attempts);
        }
    }

    /// The inspector's end of this request, as far as it is known now.
    fn end(
        &self,
        wire: Option<WireFormat>,
        provider_response: Option<Captured>,
        client_response: Captured,
    ) -> End {
        End {
            id: self.record.request_id.clone(),
            api: self.record.api,
            provider_wire: wire,
            status: self.record.status,
            tokens: Tokens::None,
            ttft_ms: self.record.ttft_ms,
            latency_ms: self.record.latency_ms,
            provider_response,
            client_response,
        }
    }

    fn client_response(&self, headers: &HeaderMap, body: RawLog) -> Captured {
        Captured {
            url: None,
            status: Some(self.record.status),
            headers: headers.clone(),
            body,
        }
    }

    /// Records a whole answer; its counts are read from `body` unless `counted` has them.
    pub fn whole(
        mut self,
        wire: WireFormat,
        headers: &HeaderMap,
        body: Bytes,
        counted: Option<crate::format::Usage>,
    ) {
        self.record.latency_ms = self.elapsed_ms();
        self.record.ttft_ms = Some(self.record.latency_ms);
        let tokens = |body: &Bytes| match counted {
            Some(usage) => Tokens::Counted(usage),
            None => Tokens::InBody(body.clone()),
        };
        let detail = self.detail.take().map(|(begin, provider_response)| {
            let client = self.client_response(headers, RawLog::whole(&body, self.cap));
            let mut end = self.end(Some(wire), provider_response, client);
            end.tokens = tokens(&body);
            (begin, end)
        });
        // The usage record goes first: the writer reads the counts once, for both.
        if let Some(recorder) = self.recorder.take() {
            self.record.tokens = tokens(&body);
            recorder.record(self.record);
        }
        if let Some((begin, end)) = detail {
            self.inspector.whole(begin, end);
        }
    }

    /// Lists a stream in the inspector now and returns the stream, recorded when it ends.
    pub fn stream(
        mut self,
        wire: WireFormat,
        headers: &HeaderMap,
        events: ByteStream,
        meter: Meter,
    ) -> ByteStream {
        let detail = self.detail.take().and_then(|(begin, provider_response)| {
            let client = self.client_response(headers, RawLog::with_cap(self.cap));
            let end = self.end(Some(wire), provider_response, client);
            let pending = self.inspector.begin(begin)?;
            Some(DetailTail { pending, end })
        });
        let usage = self.recorder.take().map(|r| (self.record, r));
        if usage.is_none() && detail.is_none() {
            return events;
        }
        usage::tap_stream(events, meter, StreamEnd { usage, detail }, self.started)
    }

    /// Records a request no provider served; `answer` is what the client got.
    pub fn failed(
        mut self,
        attempts: Vec<Attempt>,
        status: u16,
        wire: Option<WireFormat>,
        answer: Captured,
    ) {
        self.record.attempts = attempts;
        self.record.status = status;
        self.record.latency_ms = self.elapsed_ms();
        let detail = self.detail.take().map(|(mut begin, provider_response)| {
            begin.attempts.clone_from(&self.record.attempts);
            (begin, self.end(wire, provider_response, answer))
        });
        if let Some(recorder) = self.recorder.take() {
            recorder.record(self.record);
        }
        if let Some((begin, end)) = detail {
            self.inspector.whole(begin, end);
        }
    }
}

/// Records a request a proxy key's limit refused before it was routed: counted in usage
/// under its key, with the limit's name.
pub fn refused(
    core: &Core,
    catalog: &Catalog,
    api: Api,
    key_id: &str,
    requested_model: &str,
    status: u16,
    limit: &'static str,
) {
    if !catalog.settings.observability.record_usage {
        return;
    }
    core.usage.record(UsageRecord {
        request_id: crate::clock::new_id(),
        started_ms: now_ms(),
        api,
        endpoint: endpoint_of(api),
        key_id: Some(key_id.to_owned()),
        combo: catalog.combo_named(requested_model).map(str::to_owned),
        requested_model: requested_model.to_owned(),
        provider: None,
        model: None,
        account_id: None,
        attempts: Vec::new(),
        status,
        tokens: Tokens::None,
        streamed: false,
        ttft_ms: None,
        latency_ms: 0,
        limited: Some(limit),
        listed: false,
    });
}
