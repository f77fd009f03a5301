//! Carrying one client request to a provider: walk the resolved targets and their accounts,
//! fail over on the classes that allow it, and hand back the first answer.

mod body;
mod count;
mod direct;
mod endpoints;
mod failure;
mod inbound;
mod probe;
mod relay;
mod stream;
mod upstream;
mod via;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};

pub use crate::net::Reply;
pub use crate::usage::{ByteStream, Meter, Metered, take_raw};
pub use count::{CountRequest, count_tokens};
pub use direct::{Direct, TlsSetupError};
pub use failure::Failure;
pub use inbound::Inbound;
pub use probe::{Probe, probe};
pub use via::{Purpose, ViaProxy};

use crate::catalog::Catalog;
use crate::clock::now_ms;
use crate::events::{Attempt, EngineEvent, EventBus, ServedBy};
use crate::inspector::ProviderSide;
use crate::providers::WireFormat;
use crate::routing::{Action, FailureClass, FailureNote, ResolveError, RoutingState, resolve};
use crate::secrets::SecretString;
use crate::usage::Quotas;

/// What the dispatcher needs besides the catalog snapshot.
#[derive(Clone)]
pub struct ProxyContext {
    /// For clients' requests: bounded by the routing settings' first-byte and idle timeouts,
    /// since a stream may rightly last many minutes.
    pub http: reqwest::Client,
    /// Sends clients' requests for accounts without a proxy, unless the environment or the
    /// system names one (then `http` does).
    pub direct: Option<Arc<Direct>>,
    /// For everything else that goes out (logins, token renewal and minting, quota, connection
    /// tests, token counts): each call bounded in total, so a stalled login server cannot hold
    /// an account's renewal lock.
    pub control: reqwest::Client,
    pub routing: Arc<RoutingState>,
    pub events: EventBus,
    pub quotas: Arc<Quotas>,
    /// Tokens minted from subscription logins (Copilot).
    pub tokens: Arc<crate::auth::TokenKeeper>,
    /// Clients for accounts that go out through their own proxy.
    pub via: Arc<ViaProxy>,
    /// Provider endpoints, parsed once each.
    pub endpoints: Arc<endpoints::Endpoints>,
}

/// The longest any call of the `control` client may take, from connecting to the last byte.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);

impl ProxyContext {
    /// The client for clients' requests.
    pub fn http_client() -> reqwest::Result<reqwest::Client> {
        Self::client_builder().build()
    }

    /// The client for the router's own calls (see `control`).
    pub fn control_client() -> reqwest::Result<reqwest::Client> {
        Self::client_builder().timeout(CONTROL_TIMEOUT).build()
    }

    pub(crate) fn client_builder() -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder()
            .connect_timeout(connection::CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .tcp_keepalive(connection::KEEPALIVE)
            .tcp_keepalive_interval(connection::KEEPALIVE)
            .tcp_keepalive_retries(connection::KEEPALIVE_RETRIES)
            .pool_idle_timeout(connection::POOL_IDLE_TIMEOUT)
            .redirect(same_origin_redirects())
            .user_agent(connection::USER_AGENT);
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        let builder = builder.tcp_user_timeout(connection::USER_TIMEOUT);
        builder
    }
}

/// How every outbound connection is made, by reqwest (`client_builder`) and by the direct
/// client (`direct.rs`) alike.
pub(crate) mod connection {
    use std::time::Duration;

    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// TCP keepalive probes after this much silence, and between probes (reqwest's default).
    pub const KEEPALIVE: Duration = Duration::from_secs(15);
    pub const KEEPALIVE_RETRIES: u32 = 3;
    /// Unacknowledged data fails the connection after this long (reqwest's default on Linux).
    pub const USER_TIMEOUT: Duration = Duration::from_secs(30);
    pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
    pub const USER_AGENT: &str = concat!("NineRouter/", env!("CARGO_PKG_VERSION"));
    /// The most URLs one request visits, its first included: a request follows at most this
    /// many less one redirects.
    pub const URLS_PER_REQUEST: usize = 5;
}

/// Redirects are followed only within the origin that was asked: a provider key, a token or a
/// request body never follows a redirect to another host or port (reqwest itself strips only
/// `Authorization` and `Cookie` across hosts, not `x-api-key` or `x-goog-api-key`).
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .last()
            .is_some_and(|from| from.origin() == attempt.url().origin());
        if same_origin && attempt.previous().len() < connection::URLS_PER_REQUEST {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// A provider's answer, ready to send to the client.
pub enum Answer {
    Full {
        status: StatusCode,
        content_type: HeaderValue,
        body: Bytes,
        /// The token counts, when checking the answer read them already (a passed-through
        /// answer); otherwise they are read from `body` off the request path.
        counted: Option<crate::format::Usage>,
    },
    Stream {
        events: ByteStream,
        meter: Meter,
    },
}

pub struct Served {
    pub answer: Answer,
    /// The format the answering provider speaks.
    pub wire: WireFormat,
    pub by: ServedBy,
    pub attempts: Vec<Attempt>,
    /// What the translation omitted by a documented rule.
    pub dropped: Vec<String>,
}

/// Why a request could not be served, in terms the client API layer turns into its format.
#[derive(Debug)]
pub struct ProxyError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    pub retry_after: Option<Duration>,
    /// The provider's own error body, relayed as-is when the client's request was at fault
    /// and the provider speaks the client's API.
    pub upstream_body: Option<(Bytes, HeaderValue)>,
    pub upstream_wire: Option<WireFormat>,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    /// No candidate's context window takes the request.
    ContextLength,
    ModelNotFound,
    RateLimited,
    Authentication,
    Upstream,
}

impl ProxyError {
    fn new(status: StatusCode, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            upstream_body: None,
            upstream_wire: None,
            attempts: Vec::new(),
        }
    }
}

impl From<ResolveError> for ProxyError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::Unknown(_) => ProxyError::new(
                StatusCode::NOT_FOUND,
                ErrorKind::ModelNotFound,
                e.to_string(),
            ),
            ResolveError::Cycle(_) | ResolveError::TooDeep(_) => ProxyError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::InvalidRequest,
                e.to_string(),
            ),
        }
    }
}

/// The soonest moment a cooling candidate frees up, and which one it is.
struct Earliest {
    until_ms: i64,
    what: String,
}

fn note_earliest(slot: &mut Option<Earliest>, until_ms: i64, what: impl FnOnce() -> String) {
    if slot.as_ref().is_none_or(|e| until_ms < e.until_ms) {
        *slot = Some(Earliest {
            until_ms,
            what: what(),
        });
    }
}

/// What was learned about the request's length on the way: the largest window it was
/// found too long for, and the estimate.
#[derive(Default)]
struct TooLong {
    largest: Option<(u64, String)>,
    tokens: Option<usize>,
    failure: Option<Failure>,
}

impl TooLong {
    fn note(&mut self, window: Option<u64>, label: &str, failure: Failure) {
        if let Some(window) = window
            && self.largest.as_ref().is_none_or(|(w, _)| window > *w)
        {
            self.largest = Some((window, label.to_owned()));
        }
        self.failure = Some(failure);
    }

    /// The client's answer when nothing else went wrong: a 400 naming the largest window.
    fn into_error(self, model: &str) -> Option<ProxyError> {
        let failure = self.failure?;
        let size = self
            .tokens
            .map(|t| format!(" (about {t} tokens)"))
            .unwrap_or_default();
        let message = match self.largest {
            Some((window, label)) => format!(
                "The request{size} does not fit the context window of any model `{model}` can use; the largest tried was {window} tokens ({label}). Shorten the conversation or choose a model with a larger window."
            ),
            None => format!(
                "The request{size} does not fit the context window of any model `{model}` can use; last: {}",
                failure.message
            ),
        };
        Some(ProxyError::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::ContextLength,
            message,
        ))
    }
}

/// Routes `inbound`; with `side`, the last attempt's provider request and response are kept
/// there for the inspector.
pub async fn dispatch(
    ctx: &ProxyContext,
    catalog: &Catalog,
    inbound: &Inbound,
    mut side: Option<&mut ProviderSide>,
) -> Result<Served, ProxyError> {
    let cap = side.as_deref().map_or(0, |side| side.body_cap);
    let targets = resolve(catalog, &ctx.routing, &inbound.model)?;
    let settings = &catalog.settings.routing;
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut earliest: Option<Earliest> = None;
    let mut last: Option<Failure> = None;
    let mut without_accounts: Vec<String> = Vec::new();
    let mut too_long = TooLong::default();

    'targets: for target in &targets {
        let Some(provider) = catalog.provider_by_prefix(&target.provider) else {
            continue;
        };
        let plan = ctx
            .routing
            .plan(catalog, &provider.id, &target.model, now_ms(), || {
                inbound.conversation(|previous| ctx.routing.affinity.conversation_of(previous))
            });
        if let Some(until) = plan.earliest_reset_ms {
            note_earliest(&mut earliest, until, || target.label.clone());
        }
        if plan.accounts.is_empty() && plan.skipped == 0 {
            without_accounts.push(provider.name.clone());
            continue;
        }
        let wire = provider.wire_for(&target.model);
        if !plan.accounts.is_empty() && !wire.is_routable() {
            last = Some(Failure::new(
                FailureClass::Unsupported,
                format!(
                    "{} speaks the {:?} format, which this version cannot route to yet",
                    provider.name, provider.format
                ),
            ));
            continue;
        }
        // Anthropic's 1M-context beta, asked for by the client, lifts Claude's window.
        let one_million = inbound
            .anthropic_beta
            .as_ref()
            .and_then(|b| b.to_str().ok())
            .is_some_and(|b| b.contains("context-1m"));
        let window = catalog
            .context_window(provider, &target.model)
            .map(|w| if one_million { w.max(1_000_000) } else { w });
        if !plan.accounts.is_empty()
            && let Some(window) = window
            && let Some(tokens) = inbound.tokens_over(window).await
        {
            tracing::debug!(target = %target.label, tokens, window, "skipped: too long for its window");
            too_long.tokens = Some(tokens);
            too_long.note(
                Some(window),
                &target.label,
                Failure::new(
                    FailureClass::ContextLength,
                    format!(
                        "about {tokens} tokens exceed the {window}-token window of {}",
                        target.label
                    ),
                ),
            );
            continue;
        }
        for account in plan.accounts {
            let reserve = account
                .quota_reserve_pct
                .unwrap_or(settings.quota_reserve_pct);
            if let Some(until) =
                ctx.quotas
                    .exhausted_until(&account.id, &target.model, reserve, now_ms())
            {
                note_earliest(&mut earliest, until, || {
                    let why = if reserve > 0 {
                        format!("quota used up to its {reserve}% reserve")
                    } else {
                        "quota used up".to_owned()
                    };
                    format!("{} via account '{}' ({why})", target.label, account.name)
                });
                continue;
            }
            // A provider endpoint that is down is not tried until its circuit lets a probe by.
            if let crate::routing::Admission::Wait(until) =
                ctx.routing
                    .circuits
                    .admit(&provider.id, &account.base_url, now_ms())
            {
                note_earliest(&mut earliest, until, || {
                    format!("{} (the provider is down; probing it then)", target.label)
                });
                if last.is_none() {
                    last = Some(Failure::new(
                        FailureClass::Overloaded,
                        format!(
                            "{} is down: it failed several times in a row",
                            provider.name
                        ),
                    ));
                }
                continue;
            }
            let mut refused: Option<SecretString> = None;
            // Whether the request left for the endpoint (a login can fail before it does).
            let mut reached = false;
            let sent = loop {
                // A stalled login server may not hold the request past the first-byte timeout.
                let minted = tokio::time::timeout(
                    Duration::from_millis(settings.first_byte_timeout_ms),
                    login_token(ctx, account, refused.as_ref()),
                )
                .await;
                let minted = match minted {
                    Ok(Ok(m)) => m,
                    Ok(Err(f)) => break Err(f),
                    Err(_) => {
                        break Err(Failure::new(
                            FailureClass::Timeout,
                            "the provider's login server did not answer in time",
                        ));
                    }
                };
                reached = true;
                let sent = upstream::send(
                    ctx,
                    upstream::Route {
                        account,
                        login: minted.as_ref(),
                        wire,
                        model: &target.model,
                    },
                    inbound,
                    settings,
                    side.as_deref_mut()
                        .map(|side| upstream::Capture { side, cap }),
                )
                .await;
                // A refused minted token is minted again once, and the request retried.
                match (&sent, minted) {
                    (Err(f), Some(m)) if f.class == FailureClass::Auth && refused.is_none() => {
                        refused = Some(m.token);
                    }
                    _ => break sent,
                }
            };
            let unwell = match &sent {
                Err(f) if f.class.endpoint_unwell() => {
                    Some(blank_secrets(ctx, account, &f.message))
                }
                _ => None,
            };
            let circuits = &ctx.routing.circuits;
            // The endpoint answered when it sent something back; a failure with no answer
            // from it (the request could not be prepared, or the account's own proxy is the
            // one that failed) says nothing about it.
            let answered = match &sent {
                Ok(_) => true,
                Err(f) => f.status.is_some() || f.class == FailureClass::BadResponse,
            };
            let proxy_failed = account.proxy.is_some() && !answered;
            let change = match &unwell {
                _ if !reached || proxy_failed || (unwell.is_none() && !answered) => {
                    circuits.not_reached(&provider.id, &account.base_url);
                    None
                }
                Some(reason) => {
                    circuits.failed(&provider.id, &account.base_url, reason, settings, now_ms())
                }
                None => circuits.answered(&provider.id, &account.base_url),
            };
            if let Some(change) = change {
                publish_circuit(ctx, &provider.id, &account.base_url, change, unwell);
            }
            match sent {
                Ok(upstreamed) => {
                    ctx.routing
                        .cooldowns
                        .record_success(&account.id, &target.model);
                    ctx.routing.record_served(&account.id);
                    if let Some(conversation) = inbound.known_conversation() {
                        ctx.routing.affinity.served(
                            &provider.id,
                            conversation,
                            &account.id,
                            now_ms(),
                        );
                    }
                    return Ok(Served {
                        wire,
                        answer: upstreamed.answer,
                        dropped: upstreamed.dropped,
                        by: ServedBy {
                            provider: provider.id.clone(),
                            model: target.model.clone(),
                            account_id: account.id.clone(),
                        },
                        attempts,
                    });
                }
                Err(mut failure) => {
                    // Some providers quote the key they refused; it must not reach logs or clients.
                    failure.message = blank_secrets(ctx, account, &failure.message);
                    tracing::info!(
                        target = %target.label,
                        account = %account.name,
                        class = ?failure.class,
                        reason = %failure.message,
                        "upstream attempt failed"
                    );
                    attempts.push(Attempt {
                        target: target.label.clone(),
                        account_id: account.id.clone(),
                        class: failure.class,
                        status: failure.status.map(|s| s.as_u16()),
                    });
                    let action = failure.class.action();
                    if action == Action::ReturnToClient {
                        return Err(client_fault(failure, wire, attempts));
                    }
                    if failure.class == FailureClass::ContextLength {
                        // The model's limit, not the account's: another account of the same
                        // model would refuse it too, and nothing cools.
                        let named = crate::routing::window_in_message(&failure.message);
                        too_long.note(named.or(window), &target.label, failure);
                        continue 'targets;
                    }
                    let until = ctx.routing.cooldowns.record_failure(
                        &account.id,
                        &target.model,
                        &FailureNote {
                            class: failure.class,
                            hint: failure.hint,
                            reason: &failure.message,
                        },
                        settings,
                        now_ms(),
                    );
                    note_earliest(&mut earliest, until, || {
                        format!("{} via account '{}'", target.label, account.name)
                    });
                    last = Some(failure);
                    if action == Action::NextCandidate {
                        continue 'targets;
                    }
                }
            }
        }
    }
    if last.is_none()
        && earliest.is_none()
        && let Some(mut e) = too_long.into_error(&inbound.model)
    {
        e.attempts = attempts;
        return Err(e);
    }
    Err(exhausted(
        &inbound.model,
        last,
        earliest,
        without_accounts,
        attempts,
    ))
}

/// Tells subscribers that an endpoint went down or came back.
fn publish_circuit(
    ctx: &ProxyContext,
    provider: &str,
    endpoint: &str,
    change: crate::routing::Change,
    reason: Option<String>,
) {
    let (provider, endpoint) = (provider.to_owned(), crate::catalog::masked_url(endpoint));
    let event = match change {
        crate::routing::Change::Down { until_ms } => {
            let reason = reason.unwrap_or_default();
            tracing::warn!(%provider, %endpoint, %reason, "provider down: circuit open");
            EngineEvent::ProviderDown {
                provider,
                endpoint,
                until_ms,
                reason,
            }
        }
        crate::routing::Change::Up => {
            tracing::info!(%provider, %endpoint, "provider back: circuit closed");
            EngineEvent::ProviderUp { provider, endpoint }
        }
    };
    ctx.events.publish(event);
}

/// `text` with every secret of `account` (its key, its login's tokens, tokens minted from it)
/// replaced: some providers quote what they refused.
pub fn blank_secrets(ctx: &ProxyContext, account: &crate::catalog::Account, text: &str) -> String {
    let mut out = text.to_owned();
    let held = ctx.tokens.held_secrets_of(&account.id);
    for secret in account.secrets().iter().chain(&held) {
        if secret.len() >= 8 && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "***");
        }
    }
    out
}

/// The token a subscription account's requests carry, derived from its login (renewed when
/// due, or when `refused` is the one a provider just turned down); `None` for API-key accounts.
pub async fn login_token(
    ctx: &ProxyContext,
    account: &crate::catalog::Account,
    refused: Option<&SecretString>,
) -> Result<Option<crate::auth::Minted>, Failure> {
    if !ctx.tokens.mints_for(account) {
        return Ok(None);
    }
    // The renewal runs on its own: a caller that stops waiting (a timeout) must not cut it
    // between the provider's answer and the save, or a rotated refresh token would be lost.
    let http = ctx.client_for(account, Purpose::Control)?;
    let (tokens, account) = (ctx.tokens.clone(), account.clone());
    let refused = refused.map(|r| r.expose().to_owned());
    let renewal = tokio::spawn(async move {
        tokens
            .upstream(&http, &account, refused.as_deref(), now_ms())
            .await
    });
    match renewal.await {
        Ok(result) => result.map(Some).map_err(login_failure),
        Err(e) => Err(Failure::new(
            FailureClass::BadResponse,
            format!("the login's renewal failed: {e}"),
        )),
    }
}

/// A login that cannot yield a token: revoked logins cool the account until the user logs in
/// again (a new login clears it); server trouble is a network failure like any other.
fn login_failure(e: crate::auth::AuthError) -> Failure {
    if let Some(reason) = e.needs_login() {
        let mut f = Failure::new(FailureClass::LoginRefused, reason);
        f.hint = Some(crate::auth::NEEDS_LOGIN_COOLDOWN);
        return f;
    }
    match e {
        crate::auth::AuthError::Http(_) => Failure::new(FailureClass::Network, e.to_string()),
        _ => Failure::new(FailureClass::BadResponse, e.to_string()),
    }
}

fn client_fault(failure: Failure, wire: WireFormat, attempts: Vec<Attempt>) -> ProxyError {
    let mut e = ProxyError::new(
        failure.status.unwrap_or(StatusCode::BAD_REQUEST),
        ErrorKind::InvalidRequest,
        failure.message,
    );
    e.upstream_body = failure.body;
    e.upstream_wire = Some(wire);
    e.attempts = attempts;
    e
}

/// The answer when no candidate served: the last real failure, or why nothing was tried.
fn exhausted(
    model: &str,
    last: Option<Failure>,
    earliest: Option<Earliest>,
    without_accounts: Vec<String>,
    attempts: Vec<Attempt>,
) -> ProxyError {
    let retry_after = earliest.as_ref().map(|e| {
        let ms = (e.until_ms - now_ms()).max(0);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    });
    let cooling_note = earliest.as_ref().map(|e| {
        let secs = retry_after.map_or(0, |d| d.as_secs_f64().ceil() as u64);
        let at =
            std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(e.until_ms).unwrap_or(0));
        format!(
            "the earliest, {}, resets in {secs} s ({})",
            e.what,
            httpdate::fmt_http_date(at)
        )
    });
    let mut err = match last {
        None if cooling_note.is_some() => ProxyError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimited,
            format!(
                "Every account that can serve `{model}` is cooling down; {}.",
                cooling_note.as_deref().unwrap_or_default()
            ),
        ),
        None => ProxyError::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidRequest,
            format!(
                "No enabled account can serve `{model}`: add an account for {}.",
                if without_accounts.is_empty() {
                    "its provider".to_owned()
                } else {
                    without_accounts.join(", ")
                }
            ),
        ),
        Some(f) => {
            let (status, kind) = match f.class {
                FailureClass::RateLimit => (StatusCode::TOO_MANY_REQUESTS, ErrorKind::RateLimited),
                FailureClass::Quota => (
                    f.status.unwrap_or(StatusCode::TOO_MANY_REQUESTS),
                    ErrorKind::RateLimited,
                ),
                FailureClass::Auth | FailureClass::LoginRefused => (
                    f.status.unwrap_or(StatusCode::UNAUTHORIZED),
                    ErrorKind::Authentication,
                ),
                FailureClass::NotFound => (StatusCode::NOT_FOUND, ErrorKind::ModelNotFound),
                FailureClass::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, ErrorKind::Upstream),
                FailureClass::Timeout => (StatusCode::GATEWAY_TIMEOUT, ErrorKind::Upstream),
                FailureClass::Unsupported => (StatusCode::BAD_REQUEST, ErrorKind::InvalidRequest),
                FailureClass::ContextLength => (StatusCode::BAD_REQUEST, ErrorKind::ContextLength),
                FailureClass::Network | FailureClass::BadResponse | FailureClass::BadRequest => {
                    (StatusCode::BAD_GATEWAY, ErrorKind::Upstream)
                }
            };
            let tried = attempts.len();
            let mut message = format!(
                "No provider could serve `{model}` ({tried} attempt{}); last: {}",
                if tried == 1 { "" } else { "s" },
                f.message
            );
            if let Some(note) = &cooling_note {
                message.push_str(&format!("; {note}"));
            }
            ProxyError::new(status, kind, message)
        }
    };
    if err.status == StatusCode::TOO_MANY_REQUESTS {
        err.retry_after = retry_after;
    }
    err.attempts = attempts;
    err
}

/// Publishes how a request was routed (the tray and the dashboard follow fallbacks live).
pub fn publish_routed(
    events: &EventBus,
    requested_model: &str,
    served_by: Option<&ServedBy>,
    attempts: &[Attempt],
    status: StatusCode,
) {
    if !events.has_subscribers() {
        return;
    }
    events.publish(EngineEvent::RequestRouted {
        requested_model: requested_model.to_owned(),
        served_by: served_by.cloned(),
        attempts: attempts.to_vec(),
        status: status.as_u16(),
    });
}
