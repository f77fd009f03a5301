//! Accepting connections with bounds: at most `max_connections` at once (further ones wait in
//! the listen backlog), a deadline for a request's headers, and an idle limit between the
//! frames of a request body, so that half-sent requests cannot pile up. Addresses outside the
//! allowlist are closed before a byte is read.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower_http::add_extension::AddExtension;

use super::allow::AllowList;
use super::edge::Edge;
use super::slow_body::BodyTimes;

/// How a server's connections are bounded.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// From a connection's first byte (or the end of the previous request) to the end of a
    /// request's headers.
    pub header_timeout: Duration,
    /// The longest pause between pieces of a request body.
    pub body_idle_timeout: Duration,
    /// The longest a whole request body may take to arrive.
    pub body_timeout: Duration,
    pub allow: AllowList,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(300),
            allow: AllowList::default(),
        }
    }
}

/// Serves `app` until `shutdown` turns true, then lets open connections finish their
/// requests (the caller bounds how long).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    on_panic: fn() -> axum::response::Response,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let times = BodyTimes {
        idle: limits.body_idle_timeout,
        total: limits.body_timeout,
    };
    let app = Edge::new(app, times, on_panic);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // HTTP/2 multiplexes: bound the streams per connection and drop peers that stop
    // answering pings, so one connection cannot stand for unbounded work.
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64)
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            () = stopped(&mut shutdown) => break,
        };
        let Ok(permit) = permit else { break };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut shutdown) => break,
        };
        if !limits.allow.admits(remote.ip()) {
            tracing::info!(%remote, "refused a connection from outside server.allow_ips");
            continue;
        }
        // Without TCP_NODELAY, small SSE writes wait on Nagle's algorithm (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
        let (builder, watcher, app) = (builder.clone(), graceful.watcher(), app.clone());
        let first_byte = limits.header_timeout;
        tokio::spawn(async move {
            // Until a client sends its first byte, hyper is only guessing the protocol and
            // keeps no time: a silent connection is closed here instead. (A peek, since
            // `readable` may answer before any byte has come.)
            let mut first = [0u8; 1];
            match tokio::time::timeout(first_byte, tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return,
                Err(_) => {
                    tracing::debug!(%remote, "closed a connection that sent nothing");
                    return;
                }
            }
            let service =
                TowerToHyperService::new(AddExtension::new(app, ConnectInfo::<SocketAddr>(remote)));
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(%remote, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves once `shutdown` turns true (or its sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
