//! Provider endpoints, parsed once. Parsing a URL (its host above all) cost more than the
//! rest of a passthrough's addressing; a router sends to a handful of endpoints, so each is
//! parsed on first use and cloned after.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use reqwest::Url;

/// Endpoints kept at most: model names in Gemini's paths come from clients, so the set is
/// bounded and starts over when full.
const KEPT: usize = 256;

#[derive(Default)]
pub struct Endpoints {
    parsed: Mutex<HashMap<String, Url>>,
}

impl Endpoints {
    /// `url` parsed, as `Url::parse` would.
    pub fn parse(&self, url: &str) -> Result<Url, url::ParseError> {
        let lock = || self.parsed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(parsed) = lock().get(url) {
            return Ok(parsed.clone());
        }
        let parsed = Url::parse(url)?;
        let mut kept = lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(url.to_owned(), parsed.clone());
        Ok(parsed)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_url_does_once_per_endpoint_and_stays_bounded() {
        let endpoints = Endpoints::default();
        let url = "https://API.example.com:443/v1/../v1/chat/completions?alt=sse";
        let first = endpoints.parse(url).expect("parses");
        assert_eq!(first, Url::parse(url).expect("parses"));
        assert_eq!(endpoints.parse(url).expect("kept"), first);
        assert_eq!(endpoints.len(), 1);
        assert!(endpoints.parse("/v1/chat/completions").is_err());
        assert!(endpoints.parse("http://[::1/").is_err());
        assert_eq!(endpoints.len(), 1, "failures are not kept");
        for i in 0..KEPT + 10 {
            let model = format!("http://127.0.0.1:1/v1beta/models/m{i}:generateContent");
            assert_eq!(
                endpoints.parse(&model).expect("parses").path(),
                format!("/v1beta/models/m{i}:generateContent")
            );
        }
        assert!(endpoints.len() <= KEPT);
    }
}
