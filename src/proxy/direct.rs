//! Clients' requests sent on hyper's pooled client directly, for accounts without a proxy of
//! their own while the environment and the system's settings name none. reqwest, which sends
//! everything else, parses each request's URL twice more (for its redirect layer and for its
//! response) and copies its header maps: a sixth of the router's instructions a request
//! (`make bench-instructions`).
//!
//! What reqwest does for these requests is done here the same way: its default headers, its
//! TLS (rustls on aws-lc-rs, the platform's verifier, ALPN h2 then http/1.1), the connection
//! settings of `connection` (its connect timeout covering the name lookup and the TLS
//! handshake too), redirects within the origin as `same_origin_redirects` allows them (the
//! method and body rules of RFC 9110 as tower-http applies them for reqwest), and its retry of
//! a request an HTTP/2 server refused before reading it. One difference: reqwest names the URL
//! a redirect came from in a `Referer`; this client sends none.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, TRANSFER_ENCODING, USER_AGENT,
};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use reqwest::Url;

use super::connection;
use super::failure::{Failure, causes};
use crate::net::Reply;
use crate::routing::FailureClass;

/// The headers a request's body brings with it, dropped with the body when a redirect turns
/// the request into a GET.
const PAYLOAD_HEADERS: [HeaderName; 4] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    TRANSFER_ENCODING,
];

/// Requests refused unread (HTTP/2 `REFUSED_STREAM`, or a graceful `GOAWAY`) are sent again
/// this many times, as reqwest does.
const RETRIES: usize = 2;

pub struct Direct {
    client: Client<Bounded<HttpsConnector<HttpConnector>>, Full<Bytes>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the TLS setup for providers failed: {0}")]
pub struct TlsSetupError(#[from] rustls::Error);

impl Direct {
    /// The client, unless the environment or the system's settings name a proxy, read as
    /// reqwest reads them (`HTTP(S)_PROXY`, `ALL_PROXY`, and on macOS and Windows the system's
    /// proxy): then reqwest sends every request, applying the proxy and its exceptions.
    pub fn unless_proxied() -> Result<Option<Self>, TlsSetupError> {
        if proxies_anything(&Matcher::from_system()) {
            return Ok(None);
        }
        Self::new().map(Some)
    }

    pub fn new() -> Result<Self, TlsSetupError> {
        let verifier = rustls_platform_verifier::Verifier::new(crypto_provider())?;
        Self::with_verifier(verifier, connection::CONNECT_TIMEOUT)
    }

    fn with_verifier(
        verifier: rustls_platform_verifier::Verifier,
        connect_timeout: Duration,
    ) -> Result<Self, TlsSetupError> {
        let provider = crypto_provider();
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        tcp.set_keepalive(Some(connection::KEEPALIVE));
        tcp.set_keepalive_interval(Some(connection::KEEPALIVE));
        tcp.set_keepalive_retries(Some(connection::KEEPALIVE_RETRIES));
        #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
        tcp.set_tcp_user_timeout(Some(connection::USER_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(connection::POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(Bounded {
                inner: https,
                limit: connect_timeout,
            });
        Ok(Self { client })
    }

    /// Sends `request` and returns the answer once its headers arrive, having followed the
    /// redirects its origin allows.
    pub async fn send(&self, mut request: reqwest::Request) -> Result<Reply, Failure> {
        let mut url = request.url().clone();
        let mut method = request.method().clone();
        let mut headers = std::mem::take(request.headers_mut());
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(connection::USER_AGENT));
        }
        let mut body = match request.body_mut().take() {
            // A body built from bytes is read at once and without a copy.
            Some(body) => body
                .collect()
                .await
                .map_err(|e| Failure::from_reqwest(e, "could not build the provider request"))?
                .to_bytes(),
            None => Bytes::new(),
        };
        let mut visited = 1;
        let mut retries = 0;
        loop {
            let uri = Uri::try_from(url.as_str()).map_err(|e| {
                Failure::new(
                    FailureClass::Network,
                    format!("could not build the provider request: {e}"),
                )
            })?;
            let mut outgoing = Request::new(Full::new(body.clone()));
            *outgoing.method_mut() = method.clone();
            *outgoing.uri_mut() = uri;
            *outgoing.headers_mut() = headers.clone();
            let answer = match self.client.request(outgoing).await {
                Ok(answer) => answer,
                // Counted per URL, as reqwest's retries sit under its redirects.
                Err(e) if retries < RETRIES && refused_unread(&e) => {
                    retries += 1;
                    continue;
                }
                Err(e) => return Err(Failure::from_error(&e, "could not reach the provider")),
            };
            let next = (visited < connection::URLS_PER_REQUEST)
                .then(|| same_origin_location(&answer, &url))
                .flatten();
            let Some(next) = next else {
                return Ok(answer.map(reqwest::Body::wrap));
            };
            if !redirect_keeps_body(answer.status(), &mut method) {
                body = Bytes::new();
                for name in &PAYLOAD_HEADERS {
                    headers.remove(name);
                }
            }
            url = next;
            visited += 1;
            retries = 0;
        }
    }
}

/// The process's TLS crypto provider if one was installed, else aws-lc-rs (reqwest's choice).
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// Where a redirect points, when it is one and stays within `from`'s origin.
fn same_origin_location<B>(answer: &http::Response<B>, from: &Url) -> Option<Url> {
    if !matches!(
        answer.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    let location = std::str::from_utf8(answer.headers().get(LOCATION)?.as_bytes()).ok()?;
    let next = from.join(location).ok()?;
    (next.origin() == from.origin()).then_some(next)
}

/// Whether the redirected request keeps its method and body (307, 308, and 301 or 302 of
/// anything but a POST); otherwise it becomes a GET (a HEAD stays one after a 303).
fn redirect_keeps_body(status: StatusCode, method: &mut Method) -> bool {
    match status {
        StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => true,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND if *method != Method::POST => true,
        StatusCode::SEE_OTHER if *method == Method::HEAD => false,
        _ => {
            *method = Method::GET;
            false
        }
    }
}

/// Whether an HTTP/2 server refused the request before reading it, so that sending it again
/// is safe.
fn refused_unread(e: &hyper_util::client::legacy::Error) -> bool {
    causes(e).any(|cause| {
        cause.downcast_ref::<h2::Error>().is_some_and(|h2| {
            h2.is_remote()
                && ((h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR))
                    || (h2.is_reset() && h2.reason() == Some(h2::Reason::REFUSED_STREAM)))
        })
    })
}

/// Whether `proxies` sends providers' hosts through a proxy. Two hosts no exception list
/// names in practice (a reserved domain and a documentation address) stand for them.
fn proxies_anything(proxies: &Matcher) -> bool {
    [
        "http://ninerouter-probe.example/",
        "https://ninerouter-probe.example/",
        "http://192.0.2.1/",
        "https://192.0.2.1/",
    ]
    .into_iter()
    .any(|probe| proxies.intercept(&Uri::from_static(probe)).is_some())
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector that gives up on a connection (name lookup, TCP and TLS handshake together)
/// after `limit`, as reqwest's connect timeout does: hyper's own bounds each TCP connect
/// only, and a connection it stops waiting for goes on in the background.
#[derive(Clone)]
struct Bounded<C> {
    inner: C,
    limit: Duration,
}

impl<C> tower_service::Service<Uri> for Bounded<C>
where
    C: tower_service::Service<Uri>,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = tokio::time::timeout(self.limit, self.inner.call(uri));
        Box::pin(async move {
            match connecting.await {
                Ok(connected) => connected.map_err(Into::into),
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connecting to the provider took too long",
                )
                .into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use std::sync::Mutex;

    type Landed = Arc<Mutex<Vec<(Method, String, HeaderMap, Bytes)>>>;

    /// The headers a request's body brings with it that `headers` has.
    fn payload_headers(headers: &HeaderMap) -> Vec<&str> {
        PAYLOAD_HEADERS
            .iter()
            .filter(|name| headers.contains_key(*name))
            .map(http::HeaderName::as_str)
            .collect()
    }

    /// A loopback server that redirects `/307/…`, `/303/…` and `/loop/…` (to itself) within
    /// itself and `/away/…` to `elsewhere`, and answers anything else with the path it was
    /// asked for. What lands is kept, and so is each request to `/loop/…`.
    async fn server(elsewhere: &str) -> (String, Landed) {
        use axum::response::IntoResponse;
        let landed = Landed::default();
        let kept = landed.clone();
        let elsewhere = elsewhere.to_owned();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let kept = kept.clone();
                let elsewhere = elsewhere.clone();
                async move {
                    let path = uri.path().to_owned();
                    let hop =
                        |status: StatusCode, to: String| (status, [(LOCATION, to)]).into_response();
                    if let Some(rest) = path.strip_prefix("/307/") {
                        return hop(StatusCode::TEMPORARY_REDIRECT, format!("/{rest}"));
                    }
                    if let Some(rest) = path.strip_prefix("/303/") {
                        return hop(StatusCode::SEE_OTHER, format!("/{rest}"));
                    }
                    if path.starts_with("/loop/") {
                        kept.lock()
                            .unwrap()
                            .push((method, path.clone(), headers, body));
                        return hop(StatusCode::FOUND, path);
                    }
                    if let Some(rest) = path.strip_prefix("/away/") {
                        return hop(
                            StatusCode::TEMPORARY_REDIRECT,
                            format!("{elsewhere}/{rest}"),
                        );
                    }
                    kept.lock()
                        .unwrap()
                        .push((method, path.clone(), headers, body));
                    path.into_response()
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), landed)
    }

    fn post(url: &str, body: &'static str) -> reqwest::Request {
        let mut request = reqwest::Request::new(Method::POST, Url::parse(url).unwrap());
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        request
            .headers_mut()
            .insert("x-api-key", HeaderValue::from_static("k-secret"));
        *request.body_mut() = Some(body.into());
        request
    }

    async fn text(reply: Reply) -> String {
        let bytes = reply.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// `POST path` with `body` to a server of its own, through the direct client.
    async fn posted(path: &str, body: &'static str) -> (Reply, Landed) {
        let (base, landed) = server("http://127.0.0.1:9").await;
        let direct = Direct::new().unwrap();
        let reply = direct.send(post(&format!("{base}{path}"), body)).await;
        (reply.unwrap(), landed)
    }

    #[tokio::test]
    async fn sends_reqwests_default_headers_and_follows_a_307_with_the_body() {
        let (reply, landed) = posted("/307/v1/chat", "{\"a\":1}").await;
        assert_eq!(reply.status(), 200);
        assert_eq!(text(reply).await, "/v1/chat");
        let (method, _, headers, body) = landed.lock().unwrap().remove(0);
        assert_eq!(method, Method::POST);
        assert_eq!(body, "{\"a\":1}");
        assert_eq!(headers["x-api-key"], "k-secret");
        assert_eq!(headers[ACCEPT], "*/*");
        assert_eq!(headers[USER_AGENT], connection::USER_AGENT);
        assert_eq!(headers[CONTENT_LENGTH], "7");
    }

    #[tokio::test]
    async fn a_303_becomes_a_get_without_the_body_or_its_headers() {
        let (reply, landed) = posted("/303/done", "{}").await;
        assert_eq!(reply.status(), 200);
        let (method, path, headers, body) = landed.lock().unwrap().remove(0);
        assert_eq!((method, path.as_str()), (Method::GET, "/done"));
        assert!(body.is_empty());
        assert_eq!(payload_headers(&headers), Vec::<&str>::new());
        assert_eq!(headers["x-api-key"], "k-secret");
    }

    #[tokio::test]
    async fn a_redirect_to_another_origin_is_answered_not_followed() {
        let (elsewhere, landed_elsewhere) = server("http://127.0.0.1:9").await;
        let (base, landed) = server(&elsewhere).await;
        let reply = Direct::new()
            .unwrap()
            .send(post(&format!("{base}/away/v1"), "{}"))
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::TEMPORARY_REDIRECT);
        assert!(landed_elsewhere.lock().unwrap().is_empty());
        assert!(landed.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_request_visits_at_most_five_urls() {
        let (reply, landed) = posted("/loop/v1", "{}").await;
        assert_eq!(reply.status(), StatusCode::FOUND);
        let visits = landed.lock().unwrap().len();
        assert_eq!(visits, connection::URLS_PER_REQUEST);
        assert_eq!(visits, 5);
    }

    #[test]
    fn redirects_keep_or_drop_the_body_by_rfc_9110s_rules() {
        use StatusCode as S;
        for (status, asked, kept, sent) in [
            (S::TEMPORARY_REDIRECT, Method::POST, true, Method::POST),
            (S::PERMANENT_REDIRECT, Method::PUT, true, Method::PUT),
            (S::MOVED_PERMANENTLY, Method::POST, false, Method::GET),
            (S::FOUND, Method::POST, false, Method::GET),
            (S::MOVED_PERMANENTLY, Method::PUT, true, Method::PUT),
            (S::FOUND, Method::GET, true, Method::GET),
            (S::SEE_OTHER, Method::POST, false, Method::GET),
            (S::SEE_OTHER, Method::HEAD, false, Method::HEAD),
        ] {
            let mut method = asked.clone();
            assert_eq!(
                redirect_keeps_body(status, &mut method),
                kept,
                "{status} {asked}"
            );
            assert_eq!(method, sent, "{status} {asked}");
        }
    }

    #[tokio::test]
    async fn a_connection_that_never_finishes_its_handshake_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts, then never answers the TLS client's hello.
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let verifier = rustls_platform_verifier::Verifier::new(crypto_provider()).unwrap();
        let direct = Direct::with_verifier(verifier, Duration::from_millis(200)).unwrap();
        let sent = direct.send(post(&format!("https://{addr}/v1"), "{}"));
        let failure = tokio::time::timeout(Duration::from_secs(10), sent)
            .await
            .expect("the connect timeout ends the attempt")
            .err()
            .unwrap();
        assert_eq!(failure.class, FailureClass::Timeout, "{}", failure.message);
    }

    /// How a POST to `url` through the direct client (trusting the platform's roots) fails.
    async fn failure_of(url: String) -> Failure {
        let sent = Direct::new().unwrap().send(post(&url, "{}")).await;
        sent.err().unwrap()
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_failure_that_says_so() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let failure = failure_of(format!("http://{addr}/v1")).await;
        assert_eq!(failure.class, FailureClass::Network);
        assert!(
            failure
                .message
                .starts_with("could not reach the provider: ")
                && failure.message.contains("Connection refused"),
            "{}",
            failure.message
        );
    }

    #[test]
    fn any_proxy_in_the_settings_hands_requests_to_reqwest() {
        let proxy = "http://127.0.0.1:3128";
        assert!(!proxies_anything(&Matcher::builder().build()));
        assert!(proxies_anything(&Matcher::builder().http(proxy).build()));
        assert!(proxies_anything(&Matcher::builder().https(proxy).build()));
        let with_exceptions = Matcher::builder()
            .all(proxy)
            .no("127.0.0.1,localhost,.internal,10.0.0.0/8")
            .build();
        assert!(proxies_anything(&with_exceptions));
    }

    /// The client, trusting `root` besides the platform's roots.
    #[cfg(target_os = "linux")]
    fn trusting(root: rustls::pki_types::CertificateDer<'static>) -> Direct {
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots([root], crypto_provider());
        Direct::with_verifier(verifier.unwrap(), connection::CONNECT_TIMEOUT).unwrap()
    }

    /// A TLS server on 127.0.0.1 with a certificate of its own, offering the ALPN protocols
    /// `alpn` and answering each request with the HTTP version it came in.
    #[cfg(target_os = "linux")]
    async fn tls_server(alpn: &[&[u8]]) -> (String, rustls::pki_types::CertificateDer<'static>) {
        let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = issued.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(issued.signing_key.serialize_der()).unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let version = hyper::service::service_fn(
                        |request: http::Request<hyper::body::Incoming>| async move {
                            let version = format!("{:?}", request.version());
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(version),
                            )))
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), version)
                        .await;
                });
            }
        });
        (format!("https://{addr}"), cert)
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn speaks_http2_over_tls_where_the_provider_offers_it_and_http1_where_not() {
        for (alpn, spoken) in [
            (&[&b"h2"[..], b"http/1.1"][..], "HTTP/2.0"),
            (&[&b"http/1.1"[..]][..], "HTTP/1.1"),
        ] {
            let (base, cert) = tls_server(alpn).await;
            let direct = trusting(cert);
            for _ in 0..2 {
                let reply = direct
                    .send(post(&format!("{base}/v1"), "{}"))
                    .await
                    .unwrap();
                assert_eq!(text(reply).await, spoken);
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_certificate_the_platform_does_not_trust_is_refused() {
        let (base, _) = tls_server(&[b"h2", b"http/1.1"]).await;
        let failure = failure_of(format!("{base}/v1")).await;
        assert_eq!(failure.class, FailureClass::Network);
        assert!(
            failure.message.contains("certificate"),
            "{}",
            failure.message
        );
    }
}
