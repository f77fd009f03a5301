//! Custom nodes: user-defined OpenAI-, Anthropic- or Gemini-compatible endpoints with their own
//! prefix. Base URLs are written the way that API's SDK takes them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum NodeKind {
    OpenaiCompatible,
    /// An OpenAI-style gateway that serves the Responses API (`{base}/responses`).
    OpenaiResponses,
    AnthropicCompatible,
    GeminiCompatible,
}

impl NodeKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai-compatible" => Some(Self::OpenaiCompatible),
            "openai-responses" => Some(Self::OpenaiResponses),
            "anthropic-compatible" => Some(Self::AnthropicCompatible),
            "gemini-compatible" => Some(Self::GeminiCompatible),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenaiCompatible => "openai-compatible",
            Self::OpenaiResponses => "openai-responses",
            Self::AnthropicCompatible => "anthropic-compatible",
            Self::GeminiCompatible => "gemini-compatible",
        }
    }

    pub fn format(self) -> crate::providers::WireFormat {
        match self {
            Self::OpenaiCompatible => crate::providers::WireFormat::OpenaiChat,
            Self::OpenaiResponses => crate::providers::WireFormat::OpenaiResponses,
            Self::AnthropicCompatible => crate::providers::WireFormat::Anthropic,
            Self::GeminiCompatible => crate::providers::WireFormat::Gemini,
        }
    }
}

/// A prefix must not shadow a registry alias: `oa/gpt-4o` has to keep meaning OpenAI.
pub fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("must not be empty".into());
    }
    if prefix.len() > 32
        || !prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("use 1–32 lowercase letters, digits, '-' or '_'".into());
    }
    if crate::providers::find(prefix).is_some() {
        return Err(format!("'{prefix}' is already a built-in provider alias"));
    }
    Ok(())
}

pub fn validate_base_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host_str().is_none() {
        return Err("must name a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not carry a query or fragment".into());
    }
    Ok(())
}

/// An outbound proxy: `http://`, `https://`, `socks5://` or `socks5h://` with a host, and
/// nothing after it.
pub fn validate_proxy_url(raw: &str) -> Result<(), String> {
    // The URL may carry a password: messages never quote it.
    let url = url::Url::parse(raw).map_err(|_| "not a valid URL".to_owned())?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err("must start with http://, https://, socks5:// or socks5h://".into());
    }
    if url.host_str().is_none() {
        return Err("must name a host".into());
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err("must be just a scheme, an optional user:password@, a host and a port".into());
    }
    Ok(())
}

/// A URL fit to show and log: the password of its `user:password@`, if any, replaced (proxy
/// URLs carry one; a base URL may).
pub fn masked_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => "(invalid)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_may_not_shadow_builtin_aliases() {
        assert!(validate_prefix("ma").is_ok());
        assert!(validate_prefix("oa").is_err());
        assert!(validate_prefix("cc").is_err());
        assert!(validate_prefix("Has Space").is_err());
        assert!(validate_prefix("").is_err());
    }

    #[test]
    fn proxy_urls_are_checked_and_shown_without_their_password() {
        assert!(validate_proxy_url("socks5://u:p@127.0.0.1:1080").is_ok());
        assert!(validate_proxy_url("http://proxy.lan:3128").is_ok());
        assert!(validate_proxy_url("ftp://proxy.lan").is_err());
        let bad = validate_proxy_url("http://u:hunter22@proxy/path").unwrap_err();
        assert!(!bad.contains("hunter22"));
        assert_eq!(
            masked_url("http://me:hunter22@proxy.lan:3128"),
            "http://me:***@proxy.lan:3128/"
        );
        // A base URL with a password is masked the same way; one without is left as written.
        assert_eq!(
            masked_url("https://me:base-pass-1@gw.lan/v1"),
            "https://me:***@gw.lan/v1"
        );
        assert_eq!(masked_url("http://127.0.0.1:9/v1"), "http://127.0.0.1:9/v1");
    }

    #[test]
    fn base_urls_must_be_plain_http_urls() {
        assert!(validate_base_url("http://127.0.0.1:9001/v1").is_ok());
        assert!(validate_base_url("ftp://x").is_err());
        assert!(validate_base_url("http://x/v1?key=1").is_err());
        assert!(validate_base_url("nonsense").is_err());
    }
}
