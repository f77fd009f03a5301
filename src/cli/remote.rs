//! A client of the router's management API for the CLI: where the router is, the admin
//! token when one is needed, and its errors turned into sentences.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(clap::Args, Debug, Clone)]
pub struct RouterArgs {
    /// The running router's address
    #[arg(
        long = "router",
        env = "NINEROUTER_URL",
        default_value = "http://127.0.0.1:20128",
        global = true
    )]
    pub url: String,
    /// An admin token (`ninerouter admin create-token`), needed when the dashboard has a password
    #[arg(
        long,
        env = "NINEROUTER_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub admin_token: Option<String>,
}

/// Every call is bounded: a router that does not answer is reported, not waited on (an
/// import of a large setup takes a while, hence minutes)...
const TIMEOUT: Duration = Duration::from_secs(600);
/// ...and so is what it answers (the largest is an exported setup).
const MAX_ANSWER: usize = 128 << 20;

pub struct Remote {
    base: url::Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl Remote {
    pub fn new(args: &RouterArgs) -> anyhow::Result<Self> {
        let base = url::Url::parse(args.url.trim_end_matches('/'))
            .with_context(|| format!("--router {} is not a URL", args.url))?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Self {
            base,
            token: args.admin_token.clone().filter(|t| !t.is_empty()),
            http,
        })
    }

    /// `/api/…` with each path segment encoded (a tool's name is the user's text).
    fn url(&self, segments: &[&str]) -> anyhow::Result<url::Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("{} cannot hold a path", self.base))?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        Ok(url)
    }

    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> anyhow::Result<T> {
        self.send(self.http.get(self.url(segments)?)).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &Value,
    ) -> anyhow::Result<T> {
        self.send(self.http.post(self.url(segments)?).json(body))
            .await
    }

    /// A POST whose answer is a file.
    pub async fn post_bytes(&self, segments: &[&str], body: &Value) -> anyhow::Result<Vec<u8>> {
        let request = self.http.post(self.url(segments)?).json(body);
        Ok(self.exchange(request).await?.to_vec())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<T> {
        let bytes = self.exchange(request).await?;
        serde_json::from_slice(&bytes)
            .context("the router's answer is not what this version expects")
    }

    async fn exchange(&self, mut request: reqwest::RequestBuilder) -> anyhow::Result<bytes::Bytes> {
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                anyhow::anyhow!(
                    "NineRouter is not running at {} (start it with `ninerouter serve` or the desktop app, or name it with --router)",
                    self.base
                )
            } else {
                anyhow::anyhow!("the router at {} did not answer: {e}", self.base)
            }
        })?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER as u64)
        {
            bail!("the router's answer is larger than {MAX_ANSWER} bytes");
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .context("the router's answer was cut off")?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                bail!("the router's answer is larger than {MAX_ANSWER} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        let bytes = bytes::Bytes::from(body);
        if !status.is_success() {
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let message = value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            if value.pointer("/error/code").and_then(Value::as_str) == Some("admin_login_required")
            {
                bail!("{message}: pass --admin-token or set NINEROUTER_ADMIN_TOKEN");
            }
            bail!("{message} ({status})");
        }
        Ok(bytes)
    }
}
