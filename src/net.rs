//! Reading the answers of outbound calls whole, up to a cap: no server (a provider, a login or
//! account server, a usage endpoint) can make the router hold an unbounded body.

use bytes::Bytes;
use http_body::Body as _;
use http_body_util::BodyExt as _;

/// Login, token and account servers answer with small JSON documents.
pub const SMALL_ANSWER: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// An answer whichever client fetched it: hyper's directly (clients' requests) or reqwest's,
/// whose `Response` converts into it without a copy.
pub type Reply = http::Response<reqwest::Body>;

/// A whole answer, refused once it grows past `cap` bytes.
pub async fn read_capped(response: impl Into<Reply>, cap: usize) -> Result<Bytes, ReadError> {
    let mut answer = response.into().into_body();
    if answer.size_hint().exact().is_some_and(|n| n > cap as u64) {
        return Err(ReadError::TooLarge(cap));
    }
    let mut body = Vec::new();
    while let Some(chunk) = next_chunk(&mut answer).await? {
        if body.len() + chunk.len() > cap {
            return Err(ReadError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

/// The next piece of an answer's body (trailers skipped); `None` at its end.
pub async fn next_chunk(body: &mut reqwest::Body) -> Result<Option<Bytes>, reqwest::Error> {
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            return Ok(Some(data));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server on loopback answering `/sized` with a 2 MiB body (announced) and `/streamed`
    /// with the same in chunks (no length).
    async fn server() -> String {
        let big = || vec![b'x'; 2 << 20];
        let app = axum::Router::new()
            .route("/sized", axum::routing::get(move || async move { big() }))
            .route(
                "/streamed",
                axum::routing::get(|| async {
                    let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 32 << 10]));
                    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
                }),
            )
            .route("/small", axum::routing::get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn an_answer_past_its_cap_is_refused_whether_announced_or_not() {
        let base = server().await;
        let get = |path: &str| reqwest::get(format!("{base}{path}"));
        for path in ["/sized", "/streamed"] {
            let response = get(path).await.unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(
                read_capped(response, SMALL_ANSWER).await,
                Err(ReadError::TooLarge(_))
            ));
        }
        let response = get("/small").await.unwrap_or_else(|e| panic!("{e}"));
        let body = read_capped(response, SMALL_ANSWER).await;
        assert_eq!(body.ok().as_deref(), Some(&b"ok"[..]));
    }
}
