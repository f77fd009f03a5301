//! The contract between the generic login machinery (device polling, PKCE, the loopback
//! listener, the token keeper, imports) and a subscription provider's own module under
//! `providers/`: everything that differs from one provider to the next is a method here, so
//! adding a provider is one module and one registry row.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::device::DeviceCode;
use super::pkce::Pkce;
use super::tokens::{SavedLogin, TokenSet};
use super::{AuthEndpoints, AuthError};
use crate::format::WireFormat;
use crate::secrets::SecretString;

/// Builds a provider's login from its `[auth.<id>]` section (servers overridable for tests).
pub type LoginCtor = fn(Option<&AuthEndpoints>) -> Arc<dyn LoginProvider>;

/// How the user approves a new login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// A device code entered on the provider's page while the engine polls.
    DeviceCode,
    /// An authorization code (with PKCE and `state`) that comes back on `redirect`.
    AuthorizationCode { redirect: Redirect, webview: bool },
    /// No login of our own: the login the provider's app holds is imported.
    ImportOnly,
}

/// Where a provider sends the browser after approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// A page of the provider's that shows the code to paste.
    Hosted(&'static str),
    /// `http://{host}:{port}{path}`, on one of `ports` (any free port when empty).
    Loopback {
        host: &'static str,
        ports: Vec<u16>,
        path: &'static str,
    },
}

/// One of several ways a provider offers to log in (Kiro: AWS Builder ID, Google, GitHub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LoginMethod {
    pub id: &'static str,
    pub label: &'static str,
}

/// How the token requests carry is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// A refresh-token set renewed this long before it expires (and in the background).
    Refresh { lead_ms: i64 },
    /// A short-lived token minted from the saved grant for each stretch of use (Copilot).
    Mint,
    /// The saved token is used as it is until the provider refuses it.
    Never,
}

/// An authorization code on its way to a token set.
pub struct CodeGrant<'a> {
    pub code: &'a str,
    pub state: &'a str,
    pub verifier: &'a str,
    pub redirect_uri: &'a str,
    pub now_ms: i64,
}

/// What a login start may be told besides the provider.
#[derive(Debug, Clone, Default)]
pub struct StartOptions<'a> {
    /// Which of the provider's `methods` (its first when absent).
    pub method: Option<&'a str>,
    /// An organisation's sign-in address (Kiro with AWS IAM Identity Center) and its region.
    pub start_url: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// A device-code login waiting for the user.
#[async_trait]
pub trait DeviceLogin: Send + Sync {
    fn code(&self) -> &DeviceCode;
    /// Waits for approval; the account's name (if the provider tells one) and the secret to
    /// keep.
    async fn finish(&self, http: &reqwest::Client) -> Result<(String, SecretString), AuthError>;
}

/// The account's request token, minted or renewed only when asked for.
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn token(&self) -> Result<Minted, AuthError>;
}

/// A token a request carries, minted or renewed from the saved login.
#[derive(Clone)]
pub struct Minted {
    pub token: SecretString,
    /// The API host the token is for.
    pub base_url: String,
    /// When to mint or renew again.
    pub renew_at_ms: i64,
    /// The refresh-token set it came from, with the provider's own extras (shared: every
    /// request clones its `Minted`).
    pub set: Option<Arc<TokenSet>>,
}

/// A CLI or IDE whose login can be imported.
#[derive(Debug, Clone, Copy)]
pub struct ImportSource {
    /// Shown to the user ("Codex CLI").
    pub app: &'static str,
    /// Where the app keeps its login on this OS, under the home directory.
    pub file: &'static str,
}

/// What an import preview shows before the user agrees (never the tokens).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Found {
    pub path: String,
    /// Who the login is for, when the file says.
    pub account: Option<String>,
    pub plan: Option<String>,
    #[cfg_attr(test, ts(type = "number"))]
    pub expires_at_ms: i64,
}

/// A request body after the provider's module adapted it, and what that left out.
pub struct Adapted {
    pub body: Bytes,
    pub dropped: Vec<String>,
}

/// A provider that speaks its own protocol rather than one of the shared wire formats: its
/// module encodes requests from the common representation and decodes the answers.
pub trait NativeCodec: Send + Sync {
    /// The endpoint a request goes to.
    fn endpoint(&self, base_url: &str) -> String;
    /// The body for a request, and what it had to leave out.
    fn encode(
        &self,
        request: &crate::format::Request,
        model: &str,
    ) -> Result<(Bytes, Vec<String>), String>;
    /// Cuts the answer's bytes, as they arrive, into events for `decoder`.
    fn framer(&self) -> Box<dyn crate::format::codec::Framer>;
    /// Turns those events into the common stream events.
    fn decoder(&self) -> Box<dyn crate::format::StreamDecoder>;
    /// Headers the protocol needs on every request (content type, protocol version).
    fn headers(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder;
}

#[async_trait]
pub trait LoginProvider: Send + Sync {
    /// The ways to log in the provider offers, when it offers more than one (the first is the
    /// default).
    fn methods(&self) -> &'static [LoginMethod] {
        &[]
    }

    /// How a new login by `method` (one of `methods`, or the default) is approved.
    fn approval(&self, method: Option<&str>) -> Approval;

    /// Whether a login start may name an organisation's sign-in address and region.
    fn takes_start_url(&self) -> bool {
        false
    }

    /// Asks for a device code (`Approval::DeviceCode`).
    async fn device_login(
        &self,
        _http: &reqwest::Client,
        _options: &StartOptions<'_>,
    ) -> Result<Box<dyn DeviceLogin>, AuthError> {
        Err(AuthError::Malformed(
            "this provider has no device login".into(),
        ))
    }

    /// The page the user approves an authorization-code login on.
    fn authorize_url(
        &self,
        _pkce: &Pkce,
        _state: &str,
        _redirect_uri: &str,
        _method: Option<&str>,
    ) -> String {
        String::new()
    }

    /// Trades an authorization code for the login's token set.
    async fn exchange(
        &self,
        _http: &reqwest::Client,
        _grant: &CodeGrant<'_>,
    ) -> Result<TokenSet, AuthError> {
        Err(AuthError::Malformed(
            "this provider has no code login".into(),
        ))
    }

    /// The app whose login can be imported, if any.
    fn import_source(&self) -> Option<ImportSource> {
        None
    }

    /// Reads the app's login file into a token set (still without what needs the network).
    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        Err(ImportError::Missing(path.display().to_string()))
    }

    /// Completes an imported set with what only the provider can tell (a Cloud project).
    async fn complete_import(
        &self,
        _http: &reqwest::Client,
        set: TokenSet,
    ) -> Result<TokenSet, AuthError> {
        Ok(set)
    }

    /// How the token requests carry is kept.
    fn renewal(&self) -> Renewal;

    /// Renews a refresh-token set (`Renewal::Refresh`).
    async fn refresh(
        &self,
        _http: &reqwest::Client,
        _set: &TokenSet,
        _now_ms: i64,
    ) -> Result<TokenSet, AuthError> {
        Err(AuthError::Revoked("this login cannot be renewed".into()))
    }

    /// Mints a request token from the saved grant (`Renewal::Mint`).
    async fn mint(
        &self,
        _http: &reqwest::Client,
        _grant: &SecretString,
        _now_ms: i64,
    ) -> Result<Minted, AuthError> {
        Err(AuthError::Revoked("this login mints no tokens".into()))
    }

    /// The API host a token set's requests go to: the provider's, or the one the set names
    /// (the account's own by default, for providers whose host is the account's).
    fn api_base(&self, _set: &TokenSet, account_base: &str) -> String {
        account_base.to_owned()
    }

    /// What requests carry for a token set: its access token, for its API host.
    fn minted(&self, set: TokenSet, account_base: &str, renew_at_ms: i64) -> Minted {
        Minted {
            token: SecretString::new(set.access_token.clone()),
            base_url: self.api_base(&set, account_base),
            renew_at_ms,
            set: Some(Arc::new(set)),
        }
    }

    /// Adapts a request body already in the provider's wire format (an identity the
    /// subscription requires, fields its backend refuses, an envelope).
    fn adapt(
        &self,
        _wire: WireFormat,
        body: Bytes,
        _model: &str,
        _minted: &Minted,
    ) -> Result<Adapted, String> {
        Ok(Adapted {
            body,
            dropped: Vec::new(),
        })
    }

    /// Whether the backend only streams (a client that wants one answer gets it gathered).
    fn always_streams(&self) -> bool {
        false
    }

    /// Puts the token on a request, with the headers the provider expects of its own clients.
    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        request.bearer_auth(minted.token.expose())
    }

    /// The `anthropic-beta` entry a subscription token needs on the Messages API.
    fn anthropic_beta(&self) -> Option<&'static str> {
        None
    }

    /// When an error body says the account may be used again (a plan's usage limit).
    fn reset_hint(&self, _body: &[u8], _now_ms: i64) -> Option<Duration> {
        None
    }

    /// The account's quota windows from the provider's usage endpoint (`None`: it has none).
    async fn quota(
        &self,
        _http: &reqwest::Client,
        _saved: &SavedLogin,
        _token: &dyn TokenSource,
    ) -> Result<Option<Vec<crate::quota::QuotaWindow>>, String> {
        Ok(None)
    }

    /// The provider's own protocol, when it speaks none of the shared wire formats.
    fn native(&self) -> Option<&dyn NativeCodec> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{provider} has no login to import")]
    Unsupported { provider: String },
    #[error("no login found at {0}")]
    Missing(String),
    #[error("{path} is not a login this version understands: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
}
