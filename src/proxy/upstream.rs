//! Sending one request to one provider account, in the provider's wire format, and turning
//! its answer into what the client's API expects.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::time::Instant;

use super::failure::Failure;
use super::inbound::Inbound;
use super::via::Sender;
use super::{Answer, ProxyContext, Reply};
use std::sync::Arc;

use crate::auth::{LoginProvider, Minted, NativeCodec};
use crate::catalog::{Account, RoutingSettings};
use crate::clock::now_ms;
use crate::format;
use crate::inspector::{Captured, ProviderSide, RawLog};
use crate::providers::WireFormat;
use crate::quota::{self, QuotaSnapshot, QuotaSource};
use crate::routing::{FailureClass, reset_hint};

/// Error bodies above this are cut: we only need their gist.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A non-streaming answer above this is refused (images in base64 stay well below it).
const MAX_WHOLE_BODY: usize = 64 << 20;

/// Kiro's answers: AWS event-stream frames.
pub(super) const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// The Messages API version we speak when the client did not name one.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The answer and what the translation left out (for the `x-ninerouter-dropped` header).
pub struct Upstreamed {
    pub answer: Answer,
    pub dropped: Vec<String>,
}

/// Characters a path segment keeps as they are: RFC 3986's unreserved ones. Everything else
/// (`/`, `?`, `#`, `%`, `:`, `\`, spaces, controls) is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A client-supplied name as exactly one URL path segment, so that it cannot change the path,
/// the query or the host. `None` for names no segment can carry (empty, `.` and `..`).
pub fn path_segment(name: &str) -> Option<String> {
    if matches!(name, "" | "." | "..") {
        return None;
    }
    Some(utf8_percent_encode(name, SEGMENT).to_string())
}

/// The provider endpoint for a request, from a base URL written the way the API's SDK takes
/// it (OpenAI `…/v1`, Anthropic and Gemini without a version). `None` when the model name
/// cannot be a path segment.
pub fn endpoint(wire: WireFormat, base_url: &str, model: &str, stream: bool) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    Some(match wire {
        WireFormat::OpenaiResponses => format!("{base}/responses"),
        WireFormat::Anthropic => format!("{base}/v1/messages"),
        WireFormat::Gemini if stream => format!(
            "{base}/v1beta/models/{}:streamGenerateContent?alt=sse",
            path_segment(model)?
        ),
        WireFormat::Gemini => format!(
            "{base}/v1beta/models/{}:generateContent",
            path_segment(model)?
        ),
        WireFormat::GeminiCloudcode if stream => {
            format!("{base}/v1internal:streamGenerateContent?alt=sse")
        }
        WireFormat::GeminiCloudcode => format!("{base}/v1internal:generateContent"),
        WireFormat::Kiro => format!("{base}/generateAssistantResponse"),
        _ => format!("{base}/chat/completions"),
    })
}

/// Where the inspector wants the provider side of a request kept, and how much of each body.
pub struct Capture<'a> {
    pub side: &'a mut ProviderSide,
    pub cap: usize,
}

/// Where one attempt goes: the account, the token its login yields (subscription accounts),
/// and the provider's wire format and model.
pub struct Route<'a> {
    pub account: &'a Account,
    pub login: Option<&'a Minted>,
    pub wire: WireFormat,
    pub model: &'a str,
}

/// How an answer is to be read: the wire it comes in, the provider's own protocol if it has
/// one, whether the client speaks it too, and the login whose module reads its error hints.
pub struct Reading<'a> {
    pub wire: WireFormat,
    pub native: Option<&'a dyn NativeCodec>,
    pub passthrough: bool,
    pub login: Option<&'a Arc<dyn LoginProvider>>,
}

/// A request ready for the provider.
pub struct Prepared<'a> {
    pub request: reqwest::Request,
    /// What the translation (and the provider's module) left out.
    pub dropped: Vec<String>,
    pub reading: Reading<'a>,
}

/// Sends one attempt: prepares the provider's request, calls the provider, and relays its
/// answer in the client's API. The inspector, when it asked, taps the exchange on the way.
pub async fn send(
    ctx: &ProxyContext,
    route: Route<'_>,
    inbound: &Inbound,
    settings: &RoutingSettings,
    capture: Option<Capture<'_>>,
) -> Result<Upstreamed, Failure> {
    let Prepared {
        request,
        dropped,
        reading,
    } = prepare(ctx, &route, inbound)?;
    let sender = ctx.sender_for(route.account)?;
    let mut tap = capture.map(|c| Tap::new(c, &request));
    let deadline = Instant::now() + Duration::from_millis(settings.first_byte_timeout_ms);
    let response = call(sender, request, deadline).await?;
    observe_quota(ctx, route.account, response.headers());
    if let Some(tap) = tap.as_mut() {
        tap.answered(&response);
    }
    let raw_cap = tap.as_ref().map(Tap::cap);
    let relayed =
        super::relay::relay(response, &reading, inbound, settings, deadline, raw_cap).await;
    if let Some(tap) = tap {
        tap.finish(relayed.raw);
    }
    Ok(Upstreamed {
        answer: relayed.answer?,
        dropped,
    })
}

/// The provider's request for an attempt: the body encoded for its wire (or passed through),
/// adapted by its login's module, addressed and authorised.
pub fn prepare<'a>(
    ctx: &'a ProxyContext,
    route: &Route<'_>,
    inbound: &Inbound,
) -> Result<Prepared<'a>, Failure> {
    let &Route {
        account,
        login,
        wire,
        model,
    } = route;
    let passthrough = inbound.api.wire() == Some(wire);
    let provider_login = login.and_then(|_| ctx.tokens.login(&account.provider));
    // A provider with a protocol of its own encodes and decodes it in its module.
    let native = match wire {
        WireFormat::Native => Some(provider_login.and_then(|p| p.native()).ok_or_else(|| {
            Failure::new(
                FailureClass::Unsupported,
                "this account has no login that speaks its provider's protocol",
            )
        })?),
        _ => None,
    };
    let (body, dropped) = if passthrough {
        (inbound.passthrough_body(model), Vec::new())
    } else {
        let decoded = inbound.decoded().map_err(|e| {
            let at = e
                .param
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default();
            Failure::new(FailureClass::BadRequest, format!("{at}{}", e.message))
        })?;
        let cannot = |e: String| {
            Failure::new(
                FailureClass::Unsupported,
                format!("this provider cannot take the request: {e}"),
            )
        };
        let (body, more) = match native {
            Some(codec) => codec.encode(&decoded.request, model).map_err(cannot)?,
            None => {
                // A client that speaks another API gets Anthropic's prompt cache too.
                let encoded = if wire == WireFormat::Anthropic
                    && format::caching::wants_breakpoints(&decoded.request)
                {
                    format::anthropic::encode_request_cached(&decoded.request, model)
                } else {
                    format::encode_request(wire, &decoded.request, model)
                };
                encoded
                    .map(|e| (Bytes::from(e.body), e.dropped))
                    .map_err(|e| cannot(e.to_string()))?
            }
        };
        let mut dropped = decoded.context.dropped.clone();
        dropped.extend(more);
        (body, dropped)
    };
    let (body, dropped) = match (provider_login, login) {
        (Some(provider), Some(minted)) => {
            let adapted = provider
                .adapt(wire, body, model, minted)
                .map_err(|e| Failure::new(FailureClass::BadRequest, e))?;
            let mut dropped = dropped;
            for d in adapted.dropped {
                if !dropped.contains(&d) {
                    dropped.push(d);
                }
            }
            (adapted.body, dropped)
        }
        // Cloud Code's envelope, for an account without a login to name its project.
        _ if wire == WireFormat::GeminiCloudcode => {
            let wrapped = format::cloudcode::wrap_request(&body, model, None, None)
                .map_err(|e| Failure::new(FailureClass::BadRequest, e))?;
            (Bytes::from(wrapped), dropped)
        }
        _ => (body, dropped),
    };
    // Some backends only stream; a client that asked for one answer gets it gathered.
    let upstream_streams = inbound.stream || provider_login.is_some_and(|p| p.always_streams());
    let base = base_url(account, login);
    let url = match native {
        Some(codec) => Some(codec.endpoint(base)),
        None => endpoint(wire, base, model, upstream_streams),
    }
    .ok_or_else(|| {
        Failure::new(
            FailureClass::BadRequest,
            format!("the model name `{model}` cannot be sent to this provider"),
        )
    })?;
    let url = ctx.endpoints.parse(&url).map_err(|e| {
        Failure::new(
            FailureClass::Network,
            format!("could not build the provider request: {e}"),
        )
    })?;
    let mut request = ctx.http.post(url).body(body);
    request = match native {
        Some(codec) => codec.headers(request),
        None => request.header(CONTENT_TYPE, HeaderValue::from_static("application/json")),
    };
    if wire == WireFormat::Anthropic {
        let client_betas = inbound.anthropic_beta.as_ref().filter(|_| passthrough);
        request = anthropic_headers(
            request,
            inbound.anthropic_version.as_ref(),
            client_betas,
            provider_login.and_then(|p| p.anthropic_beta()),
        );
    }
    request = authorize(request, wire, account, provider_login.zip(login));
    if wire == WireFormat::Kiro {
        request = request.header(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
    } else if upstream_streams && native.is_none() {
        request = request.header(ACCEPT, HeaderValue::from_static("text/event-stream"));
    }
    let request = request
        .build()
        .map_err(|e| Failure::from_reqwest(e, "could not build the provider request"))?;
    Ok(Prepared {
        request,
        dropped,
        reading: Reading {
            wire,
            native,
            passthrough,
            login: provider_login,
        },
    })
}

/// Calls the provider: its answer, whatever its status, once its headers arrive in time.
async fn call(
    sender: Sender<'_>,
    request: reqwest::Request,
    deadline: Instant,
) -> Result<Reply, Failure> {
    let sent = async {
        match sender {
            Sender::Direct(direct) => direct.send(request).await,
            Sender::Reqwest(http) => http
                .execute(request)
                .await
                .map(Reply::from)
                .map_err(|e| Failure::from_reqwest(e, "could not reach the provider")),
        }
    };
    tokio::time::timeout_at(deadline, sent)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::new(
                FailureClass::Timeout,
                "the provider did not answer in time",
            ))
        })
}

/// The rate-limit headers of an answer, as the account's quota.
fn observe_quota(ctx: &ProxyContext, account: &Account, headers: &http::HeaderMap) {
    if let Some(windows) = quota::from_headers(headers, now_ms()) {
        ctx.quotas.put(QuotaSnapshot {
            account_id: account.id.clone(),
            windows,
            source: QuotaSource::Headers,
            fetched_ms: now_ms(),
            error: None,
        });
    }
}

/// The inspector's tap on one exchange: the request as sent, the answer's status and headers,
/// and its body as far as it was read here (a stream's comes later through its meter).
struct Tap<'a> {
    capture: Capture<'a>,
    answer: Option<Captured>,
}

impl<'a> Tap<'a> {
    fn new(capture: Capture<'a>, request: &reqwest::Request) -> Self {
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(|b| RawLog::whole(b, capture.cap))
            .unwrap_or_default();
        capture.side.request = Some(Captured {
            url: Some(request.url().to_string()),
            status: None,
            headers: request.headers().clone(),
            body,
        });
        capture.side.response = None;
        Self {
            capture,
            answer: None,
        }
    }

    fn cap(&self) -> usize {
        self.capture.cap
    }

    fn answered(&mut self, response: &Reply) {
        self.answer = Some(Captured {
            url: None,
            status: Some(response.status().as_u16()),
            headers: response.headers().clone(),
            body: RawLog::with_cap(self.capture.cap),
        });
    }

    fn finish(self, raw: Option<RawLog>) {
        if let Some(mut answer) = self.answer {
            if let Some(raw) = raw {
                answer.body = raw;
            }
            self.capture.side.response = Some(answer);
        }
    }
}

/// One `anthropic-beta` header: the client's betas, and the OAuth beta a subscription token
/// needs (Anthropic reads a single comma-separated list).
fn anthropic_betas(client: Option<&str>, login: Option<&str>) -> Option<String> {
    let mut betas: Vec<&str> = client
        .into_iter()
        .flat_map(|b| b.split(','))
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect();
    if let Some(beta) = login
        && !betas.contains(&beta)
    {
        betas.push(beta);
    }
    (!betas.is_empty()).then(|| betas.join(","))
}

/// The Messages API's version and beta headers. A login that needs a beta (Claude's OAuth)
/// adds it to the client's list; otherwise the client's header goes on as it came.
pub fn anthropic_headers(
    mut request: reqwest::RequestBuilder,
    version: Option<&HeaderValue>,
    client_betas: Option<&HeaderValue>,
    login_beta: Option<&str>,
) -> reqwest::RequestBuilder {
    let version = version
        .cloned()
        .unwrap_or(HeaderValue::from_static(ANTHROPIC_VERSION));
    request = request.header(&format::anthropic::VERSION_HEADER, version);
    if login_beta.is_some() {
        let listed = client_betas.and_then(|b| b.to_str().ok());
        if let Some(betas) = anthropic_betas(listed, login_beta) {
            request = request.header(&format::anthropic::BETA_HEADER, betas);
        }
    } else if let Some(betas) = client_betas {
        request = request.header(&format::anthropic::BETA_HEADER, betas.clone());
    }
    request
}

/// Where requests for an account go: the host its login's token is for, else the account's.
pub fn base_url<'a>(account: &'a Account, login: Option<&'a Minted>) -> &'a str {
    login.map_or(account.base_url.as_str(), |m| m.base_url.as_str())
}

/// The one place a request to a provider gets its credential: a token derived from the
/// account's login, put on by its provider's own module, or the account's API key in the
/// provider's key header. A login's saved state is never sent.
pub fn authorize(
    request: reqwest::RequestBuilder,
    wire: WireFormat,
    account: &Account,
    login: Option<(&Arc<dyn LoginProvider>, &Minted)>,
) -> reqwest::RequestBuilder {
    match login {
        Some((provider, minted)) => provider.authorize(request, minted),
        None => with_credentials(request, wire, account),
    }
}

/// The account's API key where the provider's API reads it (nothing for other credentials).
fn with_credentials(
    mut request: reqwest::RequestBuilder,
    wire: WireFormat,
    account: &Account,
) -> reqwest::RequestBuilder {
    let Some(key) = account.credential.api_key().map(|k| k.expose()) else {
        return request;
    };
    match wire {
        WireFormat::Anthropic => {
            request = request.header(&format::anthropic::KEY_HEADER, key);
            // Anthropic-format gateways (GLM, Kimi, MiniMax) read the bearer token.
            if account.provider != "anthropic" {
                request = request.bearer_auth(key);
            }
            request
        }
        WireFormat::Gemini => request.header(&format::gemini::KEY_HEADER, key),
        _ => request.bearer_auth(key),
    }
}

/// The provider's model-list endpoint (what a connection test calls).
pub fn models_endpoint(wire: WireFormat, base_url: &str) -> Option<String> {
    let base = base_url.trim_end_matches('/');
    match wire {
        WireFormat::OpenaiChat | WireFormat::OpenaiResponses => Some(format!("{base}/models")),
        WireFormat::Anthropic => Some(format!("{base}/v1/models")),
        WireFormat::Gemini => Some(format!("{base}/v1beta/models")),
        _ => None,
    }
}

pub(super) async fn read_whole(
    response: Reply,
    settings: &RoutingSettings,
) -> Result<Bytes, Failure> {
    let idle_deadline = Instant::now() + Duration::from_millis(settings.stream_idle_timeout_ms);
    match tokio::time::timeout_at(idle_deadline, read_capped(response, MAX_WHOLE_BODY)).await {
        Err(_) => Err(Failure::new(
            FailureClass::Timeout,
            "the provider's answer did not finish in time",
        )),
        Ok(read) => read,
    }
}

/// A whole answer, refused once it grows past `cap` bytes (a provider cannot make the router
/// hold an unbounded body).
pub async fn read_capped(response: impl Into<Reply>, cap: usize) -> Result<Bytes, Failure> {
    crate::net::read_capped(response, cap)
        .await
        .map_err(|e| match e {
            crate::net::ReadError::TooLarge(cap) => Failure::new(
                FailureClass::BadResponse,
                format!("the provider's answer is larger than {cap} bytes"),
            ),
            crate::net::ReadError::Http(e) => {
                Failure::from_reqwest(e, "reading the provider's answer failed")
            }
        })
}

pub(super) async fn error_failure(
    response: Reply,
    status: StatusCode,
    content_type: HeaderValue,
    deadline: Instant,
    login_hint: Option<impl Fn(&[u8], i64) -> Option<Duration>>,
) -> Failure {
    let header_hint = reset_hint(response.headers());
    let mut answer = response.into_body();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout_at(deadline, crate::net::next_chunk(&mut answer)).await {
            Ok(Ok(Some(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY);
    // A plan's usage limit (the login's module reads it) and Google's RetryInfo say in the body
    // when to come back.
    let now = now_ms();
    let hint = login_hint
        .and_then(|h| h(&body, now))
        .or(header_hint)
        .or_else(|| crate::routing::retry_info(&body));
    let class = FailureClass::from_status(status, &body);
    let message = match format::error_message(&body) {
        Some(d) => format!("the provider answered {status}: {d}"),
        None => format!("the provider answered {status}"),
    };
    Failure {
        class,
        status: Some(status),
        message,
        hint,
        body: Some((body.into(), content_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_base_urls_the_way_each_sdk_does() {
        let at = |wire, base, model, stream| endpoint(wire, base, model, stream).unwrap();
        assert_eq!(
            at(WireFormat::OpenaiChat, "http://h/v1/", "m", false),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            at(WireFormat::OpenaiResponses, "http://h/v1", "m", true),
            "http://h/v1/responses"
        );
        assert_eq!(
            at(
                WireFormat::Anthropic,
                "https://api.anthropic.com",
                "m",
                true
            ),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            at(WireFormat::Gemini, "http://g", "gemini-2.5-pro", true),
            "http://g/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            at(WireFormat::Gemini, "http://g", "gemini-2.5-pro", false),
            "http://g/v1beta/models/gemini-2.5-pro:generateContent"
        );
    }

    #[test]
    fn a_model_name_is_one_path_segment_whatever_it_holds() {
        assert_eq!(
            endpoint(WireFormat::Gemini, "http://g", "x/../../v1/files#", false).unwrap(),
            "http://g/v1beta/models/x%2F..%2F..%2Fv1%2Ffiles%23:generateContent"
        );
        assert_eq!(path_segment("a?b=c&d").unwrap(), "a%3Fb%3Dc%26d");
        assert_eq!(path_segment("%2F..").unwrap(), "%252F..");
        for refused in ["", ".", ".."] {
            assert_eq!(
                endpoint(WireFormat::Gemini, "http://g", refused, true),
                None
            );
        }
    }

    #[test]
    fn subscription_tokens_add_their_beta_to_the_clients_list() {
        let oauth = Some("oauth-2025-04-20");
        assert_eq!(anthropic_betas(None, None), None);
        assert_eq!(anthropic_betas(None, oauth).as_deref(), oauth);
        assert_eq!(
            anthropic_betas(Some("a-1, b-2"), oauth).as_deref(),
            Some("a-1,b-2,oauth-2025-04-20")
        );
        assert_eq!(anthropic_betas(oauth, oauth).as_deref(), oauth);
        assert_eq!(anthropic_betas(Some("a-1"), None).as_deref(), Some("a-1"));
    }

    #[test]
    fn provider_messages_are_extracted_from_every_error_shape() {
        assert_eq!(
            format::error_message(br#"{"error":{"message":"slow down"}}"#).as_deref(),
            Some("slow down")
        );
        assert_eq!(
            format::error_message(br#"{"type":"error","error":{"type":"x","message":"m"}}"#)
                .as_deref(),
            Some("m")
        );
        assert_eq!(
            format::error_message(br#"[{"error":{"code":429,"message":"quota"}}]"#).as_deref(),
            Some("quota")
        );
        assert_eq!(format::error_message(b"<html>"), None);
    }
}
